"""The VideoBERT model (``videobert.py``) and the BERT -> VideoBERT converter (``convert.py``)."""

from videobert.model.videobert import (
    PRESETS,
    VideoBert,
    VideoBertConfig,
    VideoBertOutput,
    base_config,
    large_config,
    minilm_l6_config,
    small_config,
    tiny_config,
)

__all__ = [
    "PRESETS",
    "VideoBert",
    "VideoBertConfig",
    "VideoBertOutput",
    "base_config",
    "large_config",
    "minilm_l6_config",
    "small_config",
    "tiny_config",
]
