"""Multi-task pretraining: config, objectives, checkpoints and the loop (1 process or torchrun).

``videobert pretrain CORPUS --out runs/NAME --preset tiny`` is the command line; in Python::

    from videobert.train import load_pretrain_config, pretrain
    pretrain("corpus", "runs/tiny", load_pretrain_config("tiny", ["train.steps=100"]))
"""

from videobert.train.config import (
    LossWeights,
    ModelSpec,
    PretrainConfig,
    TrainConfig,
    load_pretrain_config,
)
from videobert.train.loop import PretrainResult, pretrain

__all__ = [
    "LossWeights",
    "ModelSpec",
    "PretrainConfig",
    "PretrainResult",
    "TrainConfig",
    "load_pretrain_config",
    "pretrain",
]
