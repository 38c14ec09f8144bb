"""`codebook assign`: an existing codebook applied to new features, with no re-fit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from test_visual_words import CLIP_FRAMES, DIM, FPS, write_features
from videobert.artifacts.words import VisualWords
from videobert.cli import main
from videobert.config import CodebookConfig
from videobert.visual_words.assign import run_assign
from videobert.visual_words.stage import run_codebook


@pytest.fixture
def fitted(tmp_path: Path):
    write_features(tmp_path / "features", {"cook": 12, "saw": 40, "knit": 25})
    config = CodebookConfig(k=3, depth=2, exemplars=0)
    run_codebook(tmp_path / "features", tmp_path / "codebook", config)
    return tmp_path


def centroids_bytes(folder: Path) -> bytes:
    return (folder / "centroids.npy").read_bytes()


def test_assigning_the_fit_features_gives_the_codebook_s_own_words(fitted):
    before = centroids_bytes(fitted / "codebook")
    report = run_assign(fitted / "codebook", fitted / "features", fitted / "words")
    assert report.exit_code() == 0
    own = VisualWords.open(fitted / "codebook").by_video()
    new = VisualWords.open(fitted / "words").by_video()
    assert own.keys() == new.keys()
    for vid in own:  # the same normalisation (per-video centring + L2) and the same tree walk
        np.testing.assert_array_equal(own[vid], new[vid])
    assert centroids_bytes(fitted / "codebook") == before  # nothing re-fit
    meta = json.loads((fitted / "words" / "meta.json").read_text())
    assert meta["normalize"] == "center_l2" and meta["n_clips"] == 77
    assert VisualWords.open(fitted / "words").clip_seconds == pytest.approx(CLIP_FRAMES / FPS)


def test_new_videos_get_words_and_a_second_run_does_nothing(fitted, capsys):
    write_features(fitted / "new", {"fresh": 9, "other": 5}, seed=7)
    argv = ["codebook", "assign", str(fitted / "codebook"), str(fitted / "new"),
            "--out", str(fitted / "words")]
    assert main(argv) == 0
    words = VisualWords.open(fitted / "words").by_video()
    assert {v: len(w) for v, w in words.items()} == {"fresh": 9, "other": 5}
    assert all(((w >= 0) & (w < 9)).all() for w in words.values())
    stamp = (fitted / "words" / "assignments.parquet").stat().st_mtime_ns
    assert main(argv) == 0
    assert "nothing to do" in capsys.readouterr().err
    assert (fitted / "words" / "assignments.parquet").stat().st_mtime_ns == stamp


@pytest.mark.parametrize("key, value", [("size", 112), ("backbone", "s3d"), ("fps", 10),
                                        ("clip_frames", 16)])
def test_features_made_otherwise_are_refused_naming_both_settings(fitted, key, value, capsys):
    write_features(fitted / "other", {"x": 4}, seed=3)
    manifest = json.loads((fitted / "other" / "manifest.json").read_text())
    manifest[key] = value
    (fitted / "other" / "manifest.json").write_text(json.dumps(manifest))
    code = main(["codebook", "assign", str(fitted / "codebook"), str(fitted / "other"),
                 "--out", str(fitted / "words")])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"{key}={value!r}" in err and str(fitted / "codebook") in err
    assert not (fitted / "words" / "meta.json").exists()


def test_a_wrong_dimension_and_a_missing_codebook_are_one_line_errors(fitted, capsys):
    write_features(fitted / "other", {"x": 4}, seed=3)
    np.save(fitted / "other" / "x.npy", np.zeros((4, DIM + 2), np.float16))
    manifest = json.loads((fitted / "other" / "manifest.json").read_text())
    manifest["dim"] = DIM + 2
    (fitted / "other" / "manifest.json").write_text(json.dumps(manifest))
    assert main(["codebook", "assign", str(fitted / "codebook"), str(fitted / "other"),
                 "--out", str(fitted / "w")]) == 1
    assert f"dim={DIM + 2}" in capsys.readouterr().err
    assert main(["codebook", "assign", str(fitted / "nope"), str(fitted / "features"),
                 "--out", str(fitted / "w")]) == 1
    assert "a complete codebook?" in capsys.readouterr().err


def test_a_model_folder_keeps_the_codebook_but_not_its_training_words(fitted):
    from test_tasks_fixtures import make_layout, make_model, make_tokenizer

    tok = make_tokenizer()
    folder = make_model(make_layout(tok)).save_pretrained(
        fitted / "model", tokenizer=tok, codebook_dir=fitted / "codebook")
    copied = folder / "codebook"
    assert (copied / "centroids.npy").exists() and (copied / "tree.npz").exists()
    assert not (copied / "assignments.parquet").exists()
    meta = json.loads((copied / "meta.json").read_text())
    assert meta["fit_folder"] == str((fitted / "codebook").resolve())
    run_assign(copied, fitted / "features", fitted / "words")  # the copy assigns as well
    own = VisualWords.open(fitted / "codebook").by_video()
    for vid, words in VisualWords.open(fitted / "words").by_video().items():
        np.testing.assert_array_equal(words, own[vid])


def test_prepare_reads_the_settings_the_codebook_recorded(tmp_path, capsys):
    from videobert.prepare import recorded_settings

    codebook = tmp_path / "model" / "codebook"
    codebook.mkdir(parents=True)
    np.save(codebook / "centroids.npy", np.zeros((4, DIM), np.float32))
    meta = {"n_words": 4, "backbone": "i3d", "weights": str(tmp_path / "gone.ckpt"),
            "size": 112, "fps": 10, "clip_frames": 16, "min_last_clip": 0.25}
    (codebook / "meta.json").write_text(json.dumps(meta))
    ingest, features = recorded_settings(tmp_path / "model")
    assert (ingest.fps, ingest.clip_frames, ingest.min_last_clip) == (10.0, 16, 0.25)
    assert (features.backbone, features.size) == ("i3d", 112)
    assert features.weights is None  # the recorded file is not here: the backbone's default
    assert "not on this machine" in capsys.readouterr().err
    (codebook / "meta.json").write_text(json.dumps({**meta, "backbone": "npy"}))
    with pytest.raises(ValueError, match="imported features.*codebook assign"):
        recorded_settings(tmp_path / "model")


Labels = dict[str, np.ndarray]


def _two_streams(folder: Path, seed: int = 0) -> tuple[Labels, Labels]:
    """Rows of two blocks (4 + 3 columns) whose clusters are independent: which of two centres
    a clip's first block is drawn around, and which of two its second block is."""
    rng = np.random.default_rng(seed)
    first, second = rng.standard_normal((2, 4)) * 6, rng.standard_normal((2, 3)) * 6
    folder.mkdir(parents=True, exist_ok=True)
    labels_a, labels_b, videos = {}, {}, {}
    for vid in ("v0", "v1", "v2", "v3"):
        a, b = rng.integers(0, 2, 30), rng.integers(0, 2, 30)
        rows = np.concatenate([first[a], second[b]], 1) + 0.1 * rng.standard_normal((30, 7))
        np.save(folder / f"{vid}.npy", rows.astype(np.float16))
        labels_a[vid], labels_b[vid], videos[vid] = a, b, {"n_clips": 30}
    (folder / "manifest.json").write_text(json.dumps({
        "backbone": "i3d+flow", "weights": "w", "dim": 7, "blocks": [4, 3], "fps": FPS,
        "clip_frames": CLIP_FRAMES, "size": 112, "videos": videos, "skipped": []}))
    return labels_a, labels_b


def _agree(words: dict[str, np.ndarray], labels: dict[str, np.ndarray]) -> float:
    """Share of clip pairs that the words and the labels both put together or both apart."""
    w = np.concatenate([words[v] for v in sorted(labels)])
    y = np.concatenate([labels[v] for v in sorted(labels)])
    return float(((w[:, None] == w[None]) == (y[:, None] == y[None])).mean())


@pytest.mark.parametrize("block", [0, 1])
def test_words_can_be_fit_on_one_block_of_the_rows(tmp_path, block):
    """codebook.word_block: the words follow that block's clusters alone, assigning new rows
    reads the same block, and the recorded width stays the rows' (the model's clip features)."""
    labels = _two_streams(tmp_path / "features")
    config = CodebookConfig(k=2, depth=1, exemplars=0, normalize="l2", word_block=block)
    run_codebook(tmp_path / "features", tmp_path / "codebook", config)
    words = VisualWords.open(tmp_path / "codebook").by_video()
    assert _agree(words, labels[block]) == 1.0
    assert _agree(words, labels[1 - block]) < 0.75
    meta = json.loads((tmp_path / "codebook" / "meta.json").read_text())
    assert meta["dim"] == 7 and meta["word_columns"] == [[0, 4], [4, 7]][block]
    assert np.load(tmp_path / "codebook" / "centroids.npy").shape == (2, [4, 3][block])
    from videobert.visual_words.hkmeans import Codebook

    tree = Codebook.load(tmp_path / "codebook")  # both tree walks read the block from whole rows
    rows = np.load(tmp_path / "features" / "v0.npy").astype(np.float32)
    np.testing.assert_array_equal(tree.assign(rows), tree.assign_naive(rows))

    assert run_assign(tmp_path / "codebook", tmp_path / "features",
                      tmp_path / "words").exit_code() == 0
    again = VisualWords.open(tmp_path / "words").by_video()
    for vid in words:
        np.testing.assert_array_equal(words[vid], again[vid])


def test_a_word_block_the_rows_do_not_have_is_refused(tmp_path):
    _two_streams(tmp_path / "two")
    with pytest.raises(ValueError, match=r"word_block = 2.*2 block"):
        run_codebook(tmp_path / "two", tmp_path / "cb", CodebookConfig(k=2, depth=1,
                                                                       word_block=2))
    write_features(tmp_path / "one", {"a": 12})
    with pytest.raises(ValueError, match="one stream"):
        run_codebook(tmp_path / "one", tmp_path / "cb", CodebookConfig(k=2, depth=1,
                                                                       word_block=0))
