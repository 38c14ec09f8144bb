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


def test_presets_ship_inside_the_package():
    import importlib.resources

    shipped = importlib.resources.files("videobert") / "configs"
    names = {p.name for p in shipped.iterdir()}
    assert {"tiny.yaml", "small.yaml", "demo.yaml", "base.yaml", "paper.yaml"} <= names


def test_a_wheel_carries_the_presets(tmp_path):
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(root)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("videobert-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "videobert/configs/tiny.yaml" in names


def test_a_preset_extends_another(tmp_path):
    from videobert.config import FeaturesConfig, load_section

    child = tmp_path / "child.yaml"
    child.write_text("extends: tiny\nfeatures:\n  batch_size: 3\n")
    features = load_section(FeaturesConfig, "features", child)
    tiny = load_section(FeaturesConfig, "features", "tiny")
    assert features.batch_size == 3
    assert features.size == tiny.size == 112  # inherited from tiny

    grandchild = tmp_path / "grandchild.yaml"
    grandchild.write_text("extends: child.yaml\nfeatures:\n  size: 64\n")
    features = load_section(FeaturesConfig, "features", grandchild)
    assert (features.batch_size, features.size) == (3, 64)


def test_a_preset_that_extends_itself_is_an_error(tmp_path):
    from videobert.config import ConfigError, read_preset

    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("extends: b.yaml\n")
    b.write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="extends itself"):
        read_preset(a)


def test_one_settings_tree_reads_every_section_and_checks_it_up_front(tmp_path):
    from videobert.settings import SECTIONS, load_settings

    settings = load_settings("tiny", ["train.lr=3e-4", "features.size=64", "evaluate.seed=2"])
    assert (settings.train.lr, settings.features.size, settings.evaluate.seed) == (3e-4, 64, 2)
    assert settings.codebook.k == 12 and settings.pretrain().train.lr == 3e-4
    assert set(SECTIONS) == {"ingest", "features", "codebook", "corpus", "model", "data",
                             "train", "evaluate"}
    typo = tmp_path / "typo.yaml"
    typo.write_text("extends: tiny\ncodebok:\n  k: 4\n")  # a preset section nobody would read
    with pytest.raises(ConfigError, match="unknown section"):
        load_settings(typo)
    with pytest.raises(ConfigError, match="codebook.k = 1"):
        load_settings("tiny", ["codebook.k=1"])
    with pytest.raises(ConfigError, match="model.size"):
        load_settings("tiny", ["model.size=huge"])


def test_demo_refuses_a_bad_value_before_any_work(tmp_path, capsys):
    from videobert.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--set", "train.steps=0"]) == 2
    assert "train.steps" in capsys.readouterr().out
    assert not out.exists()
