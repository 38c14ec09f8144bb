"""The pretraining config: three sections of a preset (``model``, ``data``, ``train``).

``load_pretrain_config("tiny", ["train.lr=3e-4", "data.max_len=64"])`` reads
``videobert/configs/tiny.yaml`` and applies dotted overrides; each override names its section.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from videobert.config import (
    ConfigError,
    _merge,
    build,
    parse_overrides,
    read_preset,
    validate,
)
from videobert.model.videobert import PRESETS
from videobert.sequences.dataset import SequenceConfig

MODEL_SIZES = tuple(PRESETS)  # tiny | small | minilm | base | large | paper (= large)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    size: str = "tiny"  # tiny | small | minilm | base | large (videobert.model.videobert)
    init: str | None = None  # None = random; "minilm" = bundled MiniLM; else BERT folder/hub id
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    freeze_input_embeddings: bool = False  # the paper kept the word embeddings frozen
    # add each clip's feature to its visual token's input (VideoBertConfig.clip_feature_dim),
    # when the corpus's codebook still has its features folder (else words only, with a
    # warning); false = visual words only, as the paper
    clip_features: bool = True


@dataclasses.dataclass(frozen=True)
class LossWeights:
    text: float = 1.0  # text-only masked language modelling
    video: float = 1.0  # video-only masked visual-word prediction
    joint: float = 1.0  # masked prediction over text and video together
    alignment: float = 1.0  # text-video alignment (binary, on [CLS])


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000  # optimizer steps
    batch_size: int = 32  # examples per optimizer step, all ranks and micro-batches together
    grad_accum: int = 1  # micro-batches per optimizer step and rank
    lr: float = 1e-4
    weight_decay: float = 0.01
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-6
    warmup_steps: int = 100  # linear warmup, then linear decay to 0 at ``steps``
    clip_grad: float = 1.0  # max global grad norm (0 = no clipping)
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16
    workers: int = 0  # DataLoader processes building batches ahead (0 = in the main process)
    seed: int = 0
    log_every: int = 10
    eval_every: int = 100  # 0 = only at the start and the end
    eval_batch_size: int = 64
    eval_max_examples: int = 2048  # held-out examples per evaluation (0 = all)
    save_every: int = 200  # checkpoint interval in steps (0 = only at the end)
    keep_last: int = 3  # checkpoints kept
    tensorboard: bool = False  # also write TensorBoard events when it is installed
    stop_after: int = 0  # stop (as if killed) after this step, for resume drills; 0 = never
    loss_weights: LossWeights = dataclasses.field(default_factory=LossWeights)


SECTIONS = ("model", "data", "train")


@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    model: ModelSpec = dataclasses.field(default_factory=ModelSpec)
    data: SequenceConfig = dataclasses.field(default_factory=SequenceConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.model.size not in MODEL_SIZES:
            raise ConfigError(f"model.size {self.model.size!r} is not one of {MODEL_SIZES}")
        if self.train.precision not in ("auto", "fp32", "bf16"):
            raise ConfigError(f"train.precision {self.train.precision!r}: auto | fp32 | bf16")
        for section in SECTIONS:
            validate(getattr(self, section), section)  # ranges of every value, by key

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PretrainConfig:
        return build(cls, data)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)




def load_pretrain_config(
    preset: str | Path | None = "tiny", overrides: list[str] | None = None
) -> PretrainConfig:
    """The ``model``/``data``/``train`` sections of a preset with dotted overrides applied."""
    data = {k: v for k, v in read_preset(preset).items() if k in SECTIONS}
    tree = parse_overrides(overrides)
    stray = sorted(set(tree) - set(SECTIONS))
    if stray:
        raise ConfigError(
            f"overrides must name a section ({', '.join(SECTIONS)}), e.g. train.lr=1e-4; "
            f"got {stray}"
        )
    return build(PretrainConfig, _merge(data, tree))


def load_saved_config(path: str | Path) -> PretrainConfig:
    return PretrainConfig.from_dict(yaml.safe_load(Path(path).read_text()) or {})
