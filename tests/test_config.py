import dataclasses

import pytest

from videobert.config import ConfigError, IngestConfig, build, load_section, parse_overrides
from videobert.vocab import VocabLayout


def test_overrides_are_typed_and_scoped():
    cfg = load_section(IngestConfig, "ingest", None, ["fps=10", "ingest.clip_frames=16"])
    assert cfg.fps == 10.0 and isinstance(cfg.fps, float)
    assert cfg.clip_frames == 16 and isinstance(cfg.clip_frames, int)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.fps = 1  # type: ignore[misc]


def test_unknown_keys_are_errors():
    with pytest.raises(ConfigError, match="unknown keys"):
        build(IngestConfig, {"fsp": 3})
    with pytest.raises(ConfigError, match="not key=value"):
        parse_overrides(["fps"])
    with pytest.raises(ConfigError, match="not a boolean"):
        build(IngestConfig, {"asr": "maybe"})


def test_vocab_layout_partitions_ids():
    layout = VocabLayout(n_text=100, n_visual=12, cls_id=1, sep_id=2, mask_id=3, pad_id=0)
    assert layout.video_sep_id == 100
    assert layout.visual_to_token(0) == 101
    assert layout.size == 113
    assert layout.token_to_visual(112) == 11
    assert not layout.is_visual(100) and not layout.is_text(100)
