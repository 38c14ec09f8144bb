"""The features stage on tiny real H.264 files: outputs, resume, bad input, shards, npy import."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from videobert import cli
from videobert.config import FeaturesConfig
from videobert.features import backbones, extract
from videobert.features.extract import parse_shard, run_features
from videobert.ingest.video import count_clips
from videobert.io import EXIT_SKIPPED

GRID = {"fps": 10.0, "clip_frames": 8, "min_last_clip": 0.5}  # tiny clips keep the test fast
SIZE = 64
SECONDS = {"a": 2.5, "b": 1.6, "c": 4.0}  # -> 3, 2 and 5 clips


def _encode(path: Path, seconds: float, seed: int, fps: int = 10) -> Path:
    """A real H.264 file: a bright square moving over a coloured background."""
    rng = np.random.default_rng(seed)
    background = rng.integers(0, 200, 3, dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 96, 72, "yuv420p"
        for i in range(round(seconds * fps)):
            rgb = np.empty((72, 96, 3), np.uint8)
            rgb[:] = background
            x = (i * 7 + seed * 11) % 72
            rgb[20:44, x : x + 24] = 255
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("videos")
    for seed, (name, seconds) in enumerate(SECONDS.items()):
        _encode(folder / f"{name}.mp4", seconds, seed)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    return folder


def _segments(tmp_path: Path, media: Path, names=tuple(SECONDS), extra=()) -> Path:
    """A segments manifest as the ingest stage writes it (only the fields features reads)."""
    videos = []
    for name in names:
        path = media / f"{name}.mp4"
        n = count_clips(path, GRID["fps"], GRID["clip_frames"], GRID["min_last_clip"])
        videos.append({"id": name, "video": str(path), "n_clips": n})
    for name, n in extra:  # listed by ingest, but unreadable now
        videos.append({"id": name, "video": str(media / f"{name}.mp4"), "n_clips": n})
    seg = tmp_path / "segments"
    seg.mkdir()
    (seg / "manifest.json").write_text(json.dumps({"config": GRID, "videos": videos,
                                                   "skipped": []}))
    return seg


def _config(**kw) -> FeaturesConfig:
    return FeaturesConfig(**{"size": SIZE, "batch_size": 2, "workers": 0, **kw})


def test_clip_counts_of_the_generated_media(media):
    counts = {n: count_clips(media / f"{n}.mp4", **GRID) for n in SECONDS}
    assert counts == {"a": 3, "b": 2, "c": 5}


def test_extraction_writes_float16_features_and_the_manifest_last(tmp_path, media):
    seg, out = _segments(tmp_path, media), tmp_path / "features"
    report = run_features(seg, out, _config(workers=1), progress=False)  # decoding in a worker
    assert report.exit_code() == 0
    arrays = {n: np.load(out / f"{n}.npy") for n in SECONDS}
    for name, array in arrays.items():
        assert array.dtype == np.float16
        assert array.shape == ({"a": 3, "b": 2, "c": 5}[name], 1024)
        assert np.isfinite(array).all() and (array >= 0).all()  # pooled ReLU activations
    # different videos, different features; clips of one video differ too (the square moves)
    assert not np.allclose(arrays["a"][0], arrays["b"][0], atol=1e-3)
    assert not np.allclose(arrays["c"][0], arrays["c"][-1], atol=1e-3)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backbone"] == "i3d" and manifest["dim"] == 1024
    assert manifest["weights"].endswith("i3d-kinetics-400.ckpt")
    assert (manifest["fps"], manifest["clip_frames"], manifest["size"]) == (10.0, 8, SIZE)
    assert manifest["videos"] == {"a": {"n_clips": 3}, "b": {"n_clips": 2}, "c": {"n_clips": 5}}
    assert manifest["skipped"] == []
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind


def test_features_equal_a_direct_forward_pass_in_batches(tmp_path, media):
    """The stage's batching (2 clips per pass, video after video) changes nothing."""
    from videobert.ingest.video import iter_clips

    seg, out = _segments(tmp_path, media, names=("c",)), tmp_path / "features"
    run_features(seg, out, _config(batch_size=2), progress=False)
    backbone = backbones.build_backbone("i3d", size=SIZE)
    clips = np.stack(list(iter_clips(media / "c.mp4", size=SIZE, **GRID)))
    with torch.inference_mode():
        direct = backbone.forward_features(backbone.preprocess(clips)).numpy()
    np.testing.assert_allclose(np.load(out / "c.npy"), direct, atol=2e-3, rtol=1e-2)


def test_rerun_recomputes_only_missing_videos(tmp_path, media):
    seg, out = _segments(tmp_path, media), tmp_path / "features"
    run_features(seg, out, _config(), progress=False)
    before = {n: (out / f"{n}.npy").stat().st_mtime_ns for n in SECONDS}
    b_before = np.load(out / "b.npy")
    (out / "b.npy").unlink()
    (out / "manifest.json").unlink()
    report = run_features(seg, out, _config(), progress=False)
    after = {n: (out / f"{n}.npy").stat().st_mtime_ns for n in SECONDS}
    assert after["a"] == before["a"] and after["c"] == before["c"]  # untouched
    assert after["b"] != before["b"]  # recomputed...
    np.testing.assert_array_equal(np.load(out / "b.npy"), b_before)  # ...to the same values
    assert report.exit_code() == 0
    assert set(json.loads((out / "manifest.json").read_text())["videos"]) == set(SECONDS)


def test_a_killed_run_loses_only_the_video_in_flight(tmp_path, media, monkeypatch):
    seg, out = _segments(tmp_path, media), tmp_path / "features"
    real_build = backbones.build_backbone
    calls = {"n": 0}

    def build_then_die(*args, **kwargs):
        backbone = real_build(*args, **kwargs)
        forward = backbone.forward_features

        def dying_forward(x):
            calls["n"] += 1
            if calls["n"] == 4:  # a: 2 batches; b: 1 batch; dies in c's first batch
                raise KeyboardInterrupt
            return forward(x)

        backbone.forward_features = dying_forward
        return backbone

    monkeypatch.setattr(backbones, "build_backbone", build_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_features(seg, out, _config(), progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "b.npy"]  # no manifest, no tmp
    monkeypatch.setattr(backbones, "build_backbone", real_build)
    run_features(seg, out, _config(), progress=False)
    assert (out / "c.npy").exists() and (out / "manifest.json").exists()


def test_corrupt_video_is_skipped_reported_and_sets_the_exit_code(tmp_path, media, capsys):
    seg = _segments(tmp_path, media, names=("a",), extra=[("broken", 2), ("gone", 1)])
    out = tmp_path / "features"
    code = cli.main(["features", str(seg), str(out), "--size", str(SIZE), "--workers", "0",
                     "--no-progress"])
    assert code == EXIT_SKIPPED
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["videos"]) == ["a"]
    reasons = {Path(s["file"]).name: s["reason"] for s in manifest["skipped"]}
    assert set(reasons) == {"broken.mp4", "gone.mp4"}
    assert "corrupt" in reasons["broken.mp4"] or "cannot read" in reasons["broken.mp4"]
    assert "not found" in reasons["gone.mp4"]
    assert "skipped" in capsys.readouterr().err


def test_two_shards_cover_every_video_once_and_merge_the_manifest(tmp_path, media):
    seg, out = _segments(tmp_path, media), tmp_path / "features"
    run_features(seg, out, _config(), shard=(1, 2), progress=False)
    assert not (out / "manifest.json").exists()  # shard 0 has not run yet
    first = json.loads((out / "manifest.shard-1-of-2.json").read_text())
    run_features(seg, out, _config(), shard=(0, 2), progress=False)
    second = json.loads((out / "manifest.shard-0-of-2.json").read_text())
    assert set(first["videos"]).isdisjoint(second["videos"])
    assert set(first["videos"]) | set(second["videos"]) == set(SECONDS)
    merged = json.loads((out / "manifest.json").read_text())
    assert merged["videos"] == {"a": {"n_clips": 3}, "b": {"n_clips": 2}, "c": {"n_clips": 5}}
    assert merged["shards"] == 2 and merged["skipped"] == []


def test_shard_from_text_or_torchrun_environment(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert parse_shard(None) == (0, 1)
    assert parse_shard("2/4") == (2, 4)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert parse_shard(None) == (1, 3)
    for bad in ("4/4", "x", "1/0"):
        with pytest.raises(ValueError, match="shard"):
            parse_shard(bad)


def test_precomputed_npy_features_are_checked_and_stored_as_float16(tmp_path, media):
    seg = _segments(tmp_path, media)
    npy_dir, out = tmp_path / "precomputed", tmp_path / "features"
    npy_dir.mkdir()
    rng = np.random.default_rng(0)
    np.save(npy_dir / "a.npy", rng.normal(size=(3, 16)).astype(np.float32))
    np.save(npy_dir / "b.npy", rng.normal(size=(2, 16, 2)))  # not [n_clips, D]
    np.save(npy_dir / "c.npy", rng.normal(size=(4, 16)))  # 4 rows for 5 clips
    report = run_features(seg, out, _config(backbone="npy"), npy_dir=npy_dir, progress=False)
    assert report.exit_code() == EXIT_SKIPPED
    stored = np.load(out / "a.npy")
    assert stored.dtype == np.float16 and stored.shape == (3, 16)
    np.testing.assert_allclose(stored, np.load(npy_dir / "a.npy"), atol=1e-2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backbone"] == "npy" and manifest["dim"] == 16
    assert list(manifest["videos"]) == ["a"]
    reasons = {Path(s["file"]).name: s["reason"] for s in manifest["skipped"]}
    assert "shape (2, 16, 2)" in reasons["b.npy"]
    assert "4 rows" in reasons["c.npy"] and "5 clips" in reasons["c.npy"]


def test_npy_with_another_dimension_is_reported(tmp_path, media):
    seg = _segments(tmp_path, media, names=("a", "b"))
    npy_dir, out = tmp_path / "precomputed", tmp_path / "features"
    npy_dir.mkdir()
    np.save(npy_dir / "a.npy", np.ones((3, 16), np.float32))
    np.save(npy_dir / "b.npy", np.ones((2, 8), np.float32))
    run_features(seg, out, _config(backbone="npy"), npy_dir=npy_dir, progress=False)
    skipped = json.loads((out / "manifest.json").read_text())["skipped"]
    assert [Path(s["file"]).name for s in skipped] == ["b.npy"]
    assert "dimension 8, other videos have 16" in skipped[0]["reason"]


def test_an_output_folder_of_another_backbone_is_refused(tmp_path, media):
    seg, out = _segments(tmp_path, media, names=("b",)), tmp_path / "features"
    run_features(seg, out, _config(), progress=False)
    npy_dir = tmp_path / "precomputed"
    npy_dir.mkdir()
    with pytest.raises(ValueError, match="another setting"):
        run_features(seg, out, _config(backbone="npy"), npy_dir=npy_dir, progress=False)


def test_missing_segments_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="videobert ingest"):
        run_features(tmp_path, tmp_path / "out", _config(), progress=False)
    assert extract.resolve_precision("auto", torch.device("cpu")) == "fp32"
    with pytest.raises(ValueError, match="precision"):
        extract.resolve_precision("fp8", torch.device("cpu"))
