"""Visual words: hierarchical k-means fit/assign, codebook I/O, and the codebook stage."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import av
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from PIL import Image

from videobert.config import CodebookConfig
from videobert.io import EXIT_SKIPPED
from videobert.visual_words.exemplars import GREY
from videobert.visual_words.hkmeans import Codebook, fit_levels, walk, walk_naive


def random_tree(rng: np.random.Generator, k: int, depth: int, dim: int) -> list[np.ndarray]:
    return [rng.standard_normal((k**lv, k, dim)).astype(np.float32) for lv in range(depth)]


# ---------------------------------------------------------------------------------------------
# The tree: fit and assign.


def test_batched_walk_equals_naive_walk_on_a_fitted_tree():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1500, 24)).astype(np.float32)
    codebook = Codebook.fit(x, k=4, depth=3, seed=1, niter=10, progress=False)
    expected = codebook.assign_naive(x)
    assert np.array_equal(codebook.assign(x), expected)
    assert np.array_equal(codebook.assign(x, batch_size=97), expected)  # several chunks
    assert codebook.assign(x).dtype == np.int64
    assert len(np.unique(expected)) > 40  # a real spread over the 64 words, not a constant
    words, distances = codebook.assign(x, batch_size=500, return_distances=True)
    exact = ((x.astype(np.float64) - codebook.leaf_centroids[words]) ** 2).sum(1)
    assert distances.dtype == np.float32
    np.testing.assert_allclose(distances, exact, rtol=1e-4, atol=1e-3)


def test_batched_walk_equals_naive_when_many_vectors_share_a_node():
    # Vectors concentrated around one leaf: one node holds more than a 256-row tile, so the
    # walk must split a node across several tiles and still agree with the reference.
    rng = np.random.default_rng(1)
    levels = random_tree(rng, k=3, depth=3, dim=8)
    centre = levels[2][4, 1]
    near = centre + 0.3 * rng.standard_normal((900, 8)).astype(np.float32)
    spread = rng.standard_normal((300, 8)).astype(np.float32) * 2
    x = np.concatenate([near, spread])
    words = walk(levels, x)
    assert np.array_equal(words, walk_naive(levels, x))
    assert np.bincount(words).max() > 256


def test_walk_accepts_float16_and_rejects_a_wrong_dim():
    rng = np.random.default_rng(2)
    levels = random_tree(rng, k=3, depth=2, dim=8)
    x = rng.standard_normal((50, 8)).astype(np.float16)
    assert np.array_equal(walk(levels, x), walk_naive(levels, x.astype(np.float32)))
    with pytest.raises(ValueError, match="dim 5"):
        walk(levels, np.zeros((3, 5), np.float32))


def hierarchical_clusters(rng: np.random.Generator, per_cluster: int = 60):
    """9 tight clusters in 3 well-separated groups of 3: the shape a k=3, depth=2 tree has."""
    groups = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0]], dtype=np.float32)
    subs = np.array([[10, 0, 0], [0, 10, 0], [0, 0, 10]], dtype=np.float32)
    points, labels = [], []
    for g in range(3):
        for s in range(3):
            centre = groups[g] + subs[s]
            points.append(centre + 0.5 * rng.standard_normal((per_cluster, 3)))
            labels += [g * 3 + s] * per_cluster
    return np.concatenate(points).astype(np.float32), np.array(labels)


def test_three_by_two_tree_recovers_hierarchical_clusters():
    x, labels = hierarchical_clusters(np.random.default_rng(3))
    codebook = Codebook.fit(x, k=3, depth=2, seed=0, progress=False)
    words = codebook.assign(x)
    # each true cluster is exactly one word, and the nine words are distinct
    for cluster in range(9):
        assert len(np.unique(words[labels == cluster])) == 1
    assert len(np.unique(words)) == 9
    # and the top level groups them: words // k is the super-cluster
    for group in range(3):
        assert len(np.unique(words[labels // 3 == group] // 3)) == 1


def test_fit_is_reproducible_and_the_seed_matters():
    x = np.random.default_rng(4).standard_normal((400, 6)).astype(np.float32)
    a = fit_levels(x, k=3, depth=2, seed=5, progress=False)
    b = fit_levels(x, k=3, depth=2, seed=5, progress=False)
    c = fit_levels(x, k=3, depth=2, seed=6, progress=False)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c, strict=True))


def test_nodes_with_fewer_than_k_points_keep_the_tree_full():
    x = np.random.default_rng(5).standard_normal((5, 4)).astype(np.float32)
    codebook = Codebook.fit(x, k=3, depth=3, seed=0, progress=False)
    assert codebook.n_words == 27
    assert [lv.shape for lv in codebook.levels] == [(1, 3, 4), (3, 3, 4), (9, 3, 4)]
    assert all(np.isfinite(lv).all() for lv in codebook.levels)
    words = codebook.assign(x)
    # five distinct points end in five distinct leaves whose centroids are the points
    assert len(np.unique(words)) == 5
    np.testing.assert_allclose(codebook.leaf_centroids[words], x, atol=1e-5)
    assert np.array_equal(words, codebook.assign_naive(x))
    with pytest.raises(ValueError, match="zero vectors"):
        Codebook.fit(np.zeros((0, 4), np.float32), k=3, depth=2, progress=False)


def test_save_load_roundtrip(tmp_path: Path):
    x = np.random.default_rng(6).standard_normal((300, 10)).astype(np.float32)
    codebook = Codebook.fit(x, k=3, depth=2, seed=2, progress=False)
    codebook.meta["backbone"] = "test"
    codebook.save(tmp_path / "cb")
    loaded = Codebook.load(tmp_path / "cb")
    assert (loaded.k, loaded.depth, loaded.dim, loaded.n_words) == (3, 2, 10, 9)
    assert all(np.array_equal(p, q) for p, q in zip(codebook.levels, loaded.levels, strict=True))
    assert np.array_equal(loaded.assign(x), codebook.assign(x))
    centroids = np.load(tmp_path / "cb" / "centroids.npy")
    assert centroids.dtype == np.float32 and centroids.shape == (9, 10)
    assert np.array_equal(centroids, codebook.leaf_centroids)
    meta = json.loads((tmp_path / "cb" / "meta.json").read_text())
    assert meta["backbone"] == "test" and meta["n_words"] == 9 and meta["seed"] == 2
    with pytest.raises(FileNotFoundError, match="no codebook"):
        Codebook.load(tmp_path / "nothing")


# ---------------------------------------------------------------------------------------------
# The stage, on synthetic artifacts.

DIM = 16
FPS = 20.0
CLIP_FRAMES = 10  # 0.5 s clips: the 3 s test video has 6 of them


def write_tiny_mp4(path: Path, n_frames: int = 60) -> None:
    """A real 64x48 MPEG-4 video at 20 fps whose colour changes every frame."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=int(FPS))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(n_frames):
            image = np.zeros((48, 64, 3), np.uint8)
            image[:] = (i * 4, 255 - i * 4, (i * 37) % 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def write_features(folder: Path, clips: dict[str, int], seed: int = 0) -> dict[str, np.ndarray]:
    """``<id>.npy`` float16 features drawn around 6 centres, and the features manifest."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((6, DIM)) * 4
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for vid, n in clips.items():
        x = centres[rng.integers(0, 6, n)] + rng.standard_normal((n, DIM))
        arrays[vid] = x.astype(np.float16)
        np.save(folder / f"{vid}.npy", arrays[vid])
    manifest = {
        "backbone": "i3d",
        "weights": "test-weights",
        "dim": DIM,
        "fps": FPS,
        "clip_frames": CLIP_FRAMES,
        "size": 224,
        "videos": {vid: {"n_clips": n} for vid, n in clips.items()},
        "skipped": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return arrays


@pytest.fixture
def pipeline(tmp_path: Path):
    """features/ with three good videos and one broken file; segments/ naming the videos."""
    arrays = write_features(tmp_path / "features", {"cook": 6, "saw": 40, "knit": 25})
    np.save(tmp_path / "features" / "broken.npy", np.zeros((3, DIM + 1), np.float16))
    manifest = json.loads((tmp_path / "features" / "manifest.json").read_text())
    manifest["videos"]["broken"] = {"n_clips": 3}
    (tmp_path / "features" / "manifest.json").write_text(json.dumps(manifest))
    write_tiny_mp4(tmp_path / "cook.mp4")
    segments = tmp_path / "segments"
    segments.mkdir()
    videos = [
        {"id": "cook", "video": str(tmp_path / "cook.mp4"), "n_clips": 6},
        {"id": "saw", "video": str(tmp_path / "missing.mp4"), "n_clips": 40},
        # knit has no video file entry: its clips are never exemplar candidates
    ]
    (segments / "manifest.json").write_text(json.dumps({"videos": videos, "skipped": []}))
    return tmp_path, arrays


def test_codebook_stage_writes_a_complete_folder(pipeline, monkeypatch):
    from videobert.visual_words import stage
    from videobert.visual_words.stage import run_codebook

    # 30-row walks: cook (6) and knit (25) are pooled into one batch, saw (40) streams in two
    # chunks, so both assignment paths are checked against Codebook.assign below
    monkeypatch.setattr(stage, "CHUNK_ROWS", 30)
    root, arrays = pipeline
    config = CodebookConfig(k=3, depth=2, sample_size=50, seed=0, niter=10, exemplars=2,
                            normalize="none")  # checked against Codebook.assign on raw rows
    out = root / "codebook"
    report = run_codebook(root / "features", out, config, segments_dir=root / "segments")

    skipped = {Path(s.file).name: s.reason for s in report.skipped}
    assert "broken.npy" in skipped and "[n_clips, 16]" in skipped["broken.npy"]
    assert "missing.mp4" in skipped and "exemplar" in skipped["missing.mp4"]
    assert report.exit_code() == EXIT_SKIPPED

    centroids = np.load(out / "centroids.npy")
    assert centroids.dtype == np.float32 and centroids.shape == (9, DIM)
    with np.load(out / "tree.npz") as tree:
        assert tree["level_0"].shape == (1, 3, DIM) and tree["level_1"].shape == (3, 3, DIM)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["backbone"] == "i3d" and meta["weights"] == "test-weights"
    assert (meta["fps"], meta["clip_frames"], meta["size"]) == (FPS, CLIP_FRAMES, 224)
    assert (meta["k"], meta["depth"], meta["n_words"], meta["seed"]) == (3, 2, 9, 0)
    assert meta["sample_size"] == 50  # 71 clips available, 50 sampled
    assert meta["features"] == str((root / "features").resolve())
    assert len(meta["skipped"]) == 2

    table = pq.read_table(out / "assignments.parquet")
    assert table.schema.field("word").type == "int32" and table.num_rows == 6 + 40 + 25
    codebook = Codebook.load(out)
    for vid, x in arrays.items():
        rows = table.filter(pc.equal(table["video_id"], vid)).to_pydict()
        assert rows["clip"] == list(range(len(x)))
        assert rows["word"] == codebook.assign(x).tolist()

    usage = json.loads((out / "usage.json").read_text())
    assert len(usage["counts"]) == 9 and sum(usage["counts"]) == 71
    assert usage["used_words"] == sum(c > 0 for c in usage["counts"]) >= 3
    assert 1.0 < usage["perplexity"] <= 9.0

    # exemplars: an image for every word used by a video with a file (cook; saw's is missing,
    # so its tiles are grey); knit has no video entry, so its clips are never candidates
    cook_words = set(codebook.assign(arrays["cook"]).tolist())
    saw_words = set(codebook.assign(arrays["saw"]).tolist())
    images = {p.name for p in (out / "exemplars").glob("word_*.jpg")}
    assert images == {f"word_{w:05d}.jpg" for w in cook_words | saw_words}
    assert meta["exemplar_images"] == len(images) + 1  # + overview.jpg
    # each tile is the middle frame of one of the word's 2 nearest clips (grey for saw's)
    leaf = codebook.leaf_centroids
    candidates = []  # (word, distance, video, clip)
    for vid in ("cook", "saw"):
        x = arrays[vid].astype(np.float32)
        for clip, word in enumerate(codebook.assign(x)):
            candidates.append((int(word), float(((x[clip] - leaf[word]) ** 2).sum()), vid, clip))
    for word in cook_words:
        nearest = sorted(c for c in candidates if c[0] == word)[:2]
        with Image.open(out / "exemplars" / f"word_{word:05d}.jpg") as image:
            tiles = np.asarray(image.convert("RGB"), dtype=np.float64)
        assert tiles.shape == (96, 96 * len(nearest), 3)
        for slot, (_, _, vid, clip) in enumerate(nearest):
            frame = clip * CLIP_FRAMES + CLIP_FRAMES // 2  # the clip's middle frame
            colour = (frame * 4, 255 - frame * 4, (frame * 37) % 255) if vid == "cook" else GREY
            mean = tiles[:, slot * 96 : (slot + 1) * 96].mean((0, 1))
            assert np.abs(mean - colour).max() < 12, (word, slot, vid, clip, mean)
    with Image.open(out / "exemplars" / "overview.jpg") as overview:
        overview.load()
        assert overview.size[0] % 96 == 0


def test_codebook_stage_skips_a_complete_folder(pipeline):
    from videobert.visual_words.stage import run_codebook

    root, _ = pipeline
    config = CodebookConfig(k=3, depth=2, sample_size=50, niter=5, exemplars=0)
    run_codebook(root / "features", root / "cb", config)
    stamp = (root / "cb" / "tree.npz").stat().st_mtime_ns
    again = run_codebook(root / "features", root / "cb", config)
    assert (root / "cb" / "tree.npz").stat().st_mtime_ns == stamp
    assert [s.file for s in again.skipped] == [str(root / "features" / "broken.npy")]
    run_codebook(root / "features", root / "cb", CodebookConfig(k=2, depth=2, niter=5))
    assert Codebook.load(root / "cb").n_words == 4  # a new config refits


def test_cli_with_fewer_clips_than_words_warns_once_and_works(tmp_path: Path, capfd):
    from videobert.cli import main

    write_features(tmp_path / "features", {"a": 12, "b": 8})
    argv = ["codebook", str(tmp_path / "features"), str(tmp_path / "cb"), "--k", "4"]
    argv += ["--depth", "3", "--set", "niter=5"]
    with warnings.catch_warnings():
        # as on the command line, where a Python warning is printed to stderr (pytest would
        # otherwise collect it instead)
        warnings.simplefilter("default")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: \
            sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))
        assert main(argv) == 0
    err = capfd.readouterr().err
    assert err.count("20 clips for 64 words") == 1, err
    usage = json.loads((tmp_path / "cb" / "usage.json").read_text())
    assert len(usage["counts"]) == 64 and sum(usage["counts"]) == 20
    assert json.loads((tmp_path / "cb" / "meta.json").read_text())["sample_size"] == 20
    assert main(["codebook", str(tmp_path / "nope"), str(tmp_path / "cb2")]) == 1


def test_exemplars_from_real_videos(tmp_path: Path, samples: Path):
    """Exemplar tiles decoded from real files (H.264 mp4, VP8 webm) match read_frame."""
    from videobert.ingest.video import read_frame
    from videobert.visual_words.exemplars import thumbnail
    from videobert.visual_words.stage import run_codebook

    videos = {"demo": samples / "mmaction2_demo.mp4", "bunny": samples / "big_buck_bunny_0_30.webm"}
    for path in videos.values():
        if not path.exists():
            pytest.skip(f"sample {path.name} not found in {samples}")
    clips = {"demo": 6, "bunny": 8}
    arrays = write_features(tmp_path / "features", clips, seed=3)
    (tmp_path / "segments").mkdir()
    entries = [{"id": vid, "video": str(path)} for vid, path in videos.items()]
    (tmp_path / "segments" / "manifest.json").write_text(json.dumps({"videos": entries}))
    config = CodebookConfig(k=2, depth=2, niter=5, exemplars=1, normalize="none")
    report = run_codebook(tmp_path / "features", tmp_path / "cb", config, tmp_path / "segments")
    assert report.skipped == []

    codebook = Codebook.load(tmp_path / "cb")
    leaf = codebook.leaf_centroids
    best: dict[int, tuple[float, str, int]] = {}  # word -> nearest (distance, video, clip)
    for vid, x in arrays.items():
        x = x.astype(np.float32)
        for clip, word in enumerate(codebook.assign(x)):
            d = float(((x[clip] - leaf[word]) ** 2).sum())
            best[int(word)] = min(best.get(int(word), (np.inf, "", 0)), (d, vid, clip))
    for word, (_, vid, clip) in best.items():
        t = (clip + 0.5) * CLIP_FRAMES / FPS
        expected = np.asarray(thumbnail(read_frame(videos[vid], t)), dtype=np.float64)
        with Image.open(tmp_path / "cb" / "exemplars" / f"word_{word:05d}.jpg") as image:
            tile = np.asarray(image.convert("RGB"), dtype=np.float64)
        assert tile.shape == (96, 96, 3)
        assert tile.std() > 10  # real picture content, not a flat grey tile
        assert np.abs(tile - expected).mean() < 8  # the right frame (up to JPEG loss)


@pytest.mark.parametrize(("normalize", "follows"), [("none", "video"), ("center_l2", "action")])
def test_per_video_centring_makes_words_follow_the_action(tmp_path: Path, normalize, follows):
    """Two videos whose backgrounds differ far more than their two actions do: raw features
    cluster by video, per-video centred + L2 features by action."""
    from videobert.visual_words.stage import run_codebook

    rng = np.random.default_rng(0)
    background = {"kitchen": np.r_[40.0, np.zeros(DIM - 1)],
                  "garden": np.r_[-40.0, np.zeros(DIM - 1)]}
    action = np.zeros((2, DIM))
    action[0, 1], action[1, 2] = 3.0, 3.0
    clips, labels = {}, {}
    features = tmp_path / "features"
    features.mkdir()
    for vid, bg in background.items():
        which = np.arange(40) % 2
        clips[vid] = (bg + action[which] + 0.1 * rng.standard_normal((40, DIM))).astype(np.float16)
        labels[vid] = which
        np.save(features / f"{vid}.npy", clips[vid])
    (features / "manifest.json").write_text(json.dumps({
        "backbone": "i3d", "dim": DIM, "fps": FPS, "clip_frames": CLIP_FRAMES,
        "videos": {vid: {"n_clips": 40} for vid in clips}, "skipped": []}))
    out = tmp_path / "cb"
    run_codebook(features, out, CodebookConfig(k=2, depth=1, niter=10, exemplars=0,
                                               normalize=normalize))
    table = pq.read_table(out / "assignments.parquet").to_pydict()
    words = {vid: np.array([w for v, w in zip(table["video_id"], table["word"], strict=True)
                            if v == vid]) for vid in clips}
    by_video = len(set(words["kitchen"])) == 1 and len(set(words["garden"])) == 1
    by_action = all(len(set(words[v][labels[v] == a])) == 1 and
                    words[v][labels[v] == 0][0] != words[v][labels[v] == 1][0]
                    for v in clips for a in (0, 1))
    assert (by_video, by_action) == ((True, False) if follows == "video" else (False, True))
    assert json.loads((out / "meta.json").read_text())["normalize"] == normalize
