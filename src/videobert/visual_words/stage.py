"""The ``codebook`` stage: features folder -> codebook folder (docs/formats.md, "codebook").

1. Check every ``<id>.npy`` of the features manifest (header only, memory-mapped).
2. Sample up to ``sample_size`` clips across all videos (seeded), reading only those rows.
3. Fit the hierarchical k-means tree on the sample.
4. Assign every clip of every video, streaming each file in chunks.
5. Write ``assignments.parquet``, ``usage.json``, exemplar thumbnails, then ``centroids.npy``,
   ``tree.npz`` and ``meta.json`` last: a folder with ``meta.json`` is complete.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videobert.artifacts.features import (
    FeatureFile,
    check_feature_files,
    manifest_sha1,
    read_features_manifest,
)
from videobert.artifacts.words import ASSIGNMENTS_FILE
from videobert.config import CodebookConfig, to_dict
from videobert.io import Skip, StageReport, write_json
from videobert.log import get_logger
from videobert.visual_words.exemplars import VideoSource, write_exemplars
from videobert.visual_words.hkmeans import CENTROIDS_FILE, META_FILE, TREE_FILE, Codebook

USAGE_FILE = "usage.json"
CHUNK_ROWS = 32768  # rows assigned per tree walk (128 MiB of float32 at D=1024)


@dataclasses.dataclass
class Assignments:
    """Every assigned clip: parallel arrays, in video then clip order."""

    video: np.ndarray  # int32 index into ``ids``
    clip: np.ndarray  # int32
    word: np.ndarray  # int64
    distance: np.ndarray  # float32 squared distance to the word's centroid
    ids: list[str]


_LOG = get_logger("codebook")



NORMALIZATIONS = ("none", "l2", "center_l2")


def video_mean(f: FeatureFile) -> np.ndarray:
    """Mean clip feature of one video, streamed in chunks (float64 accumulation)."""
    array = f.array()
    total = np.zeros(array.shape[1], np.float64)
    for start in range(0, f.n_clips, CHUNK_ROWS):
        total += np.asarray(array[start : start + CHUNK_ROWS], np.float64).sum(0)
    return (total / max(f.n_clips, 1)).astype(np.float32)


def normalize_features(x: np.ndarray, how: str, mean: np.ndarray | None = None,
                       blocks: Sequence[int] | None = None) -> np.ndarray:
    """The features the codebook sees (``CodebookConfig.normalize``); ``mean``: the video's
    mean clip, needed by ``center_l2``. ``blocks``: the widths of the streams a row holds (the
    features manifest's ``blocks``, e.g. appearance and motion); each is normalised on its own
    and the row divided by sqrt(number of blocks), so every stream weighs the same and the row
    still has unit norm."""
    if how == "none":
        return x
    if how not in NORMALIZATIONS:
        raise ValueError(f"codebook.normalize {how!r}: one of {NORMALIZATIONS}")
    if how == "center_l2":
        if mean is None:
            raise ValueError("center_l2 needs the video's mean clip feature")
        x = x - mean
    if blocks is not None and len(blocks) > 1:
        if sum(blocks) != x.shape[-1]:
            raise ValueError(f"feature blocks {list(blocks)} do not add up to the feature "
                             f"width {x.shape[-1]}")
        edges = np.cumsum([0, *blocks])
        parts = [_unit_rows(x[:, lo:hi]) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
        return (np.concatenate(parts, 1) / np.sqrt(len(blocks))).astype(np.float32)
    return _unit_rows(x)


def feature_blocks(meta: dict[str, Any]) -> list[int] | None:
    """The stream widths recorded in a features manifest or codebook meta (None: one stream)."""
    blocks = meta.get("blocks")
    return [int(b) for b in blocks] if blocks else None


def word_columns(blocks: Sequence[int] | None, word_block: int | None,
                 features_dir: Path) -> list[int] | None:
    """``[lo, hi)`` of block ``word_block`` in rows of ``blocks`` (``codebook.word_block``);
    None for the whole row."""
    if word_block is None:
        return None
    if not blocks or word_block >= len(blocks):
        raise ValueError(f"codebook.word_block = {word_block}, but the rows of {features_dir} "
                         f"hold {len(blocks) if blocks else 1} block(s) "
                         f"({list(blocks) if blocks else 'one stream'}); extract them with "
                         "features.motion to get several")
    edges = np.cumsum([0, *blocks])
    return [int(edges[word_block]), int(edges[word_block + 1])]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-6)).astype(np.float32)


def sample_features(
    files: list[FeatureFile], sample_size: int, seed: int, dim: int, report: StageReport,
    normalize: str = "none", means: dict[str, np.ndarray] | None = None,
    blocks: Sequence[int] | None = None,
) -> tuple[np.ndarray, list[FeatureFile]]:
    """Up to ``sample_size`` clips drawn uniformly over all clips (float32), reading only those
    rows of each memory-mapped file. Videos with non-finite values are reported and dropped."""
    from tqdm.auto import tqdm

    total = sum(f.n_clips for f in files)
    n = min(sample_size, total)
    chosen = np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))
    offsets = np.cumsum([0] + [f.n_clips for f in files])
    bounds = np.searchsorted(chosen, offsets)
    sample = np.empty((n, dim), dtype=np.float32)
    keep = np.ones(n, dtype=bool)
    good = []
    for i, f in enumerate(tqdm(files, desc="sampling clips", unit="video")):
        lo, hi = bounds[i], bounds[i + 1]
        if hi > lo:
            rows = f.array()[chosen[lo:hi] - offsets[i]]
            sample[lo:hi] = rows
            if not np.isfinite(sample[lo:hi]).all():
                report.skip(f.path, "contains NaN or infinite values")
                keep[lo:hi] = False
                continue
            sample[lo:hi] = normalize_features(sample[lo:hi], normalize,
                                               (means or {}).get(f.id), blocks)
        good.append(f)
    return (sample if keep.all() else sample[keep]), good


def assign_all(
    codebook: Codebook, files: list[FeatureFile], report: StageReport,
    normalize: str = "none", means: dict[str, np.ndarray] | None = None,
    blocks: Sequence[int] | None = None,
) -> Assignments:
    """Assign every clip of every file. Short videos are pooled into batches of about
    ``CHUNK_ROWS`` rows (one tree walk per batch, not per video); long ones stream in chunks."""
    from tqdm.auto import tqdm

    parts: list[tuple[int, np.ndarray, np.ndarray]] = []  # (video index, words, distances)
    pool: list[tuple[int, np.ndarray]] = []  # short videos waiting for a batch

    def words_and_distances(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return codebook.assign(x, return_distances=True)

    def flush() -> None:
        if not pool:
            return
        w, d = words_and_distances(np.concatenate([x for _, x in pool]))
        bounds = np.cumsum([0] + [len(x) for _, x in pool])
        for (index, _), lo, hi in zip(pool, bounds[:-1], bounds[1:], strict=True):
            parts.append((index, w[lo:hi], d[lo:hi]))
        pool.clear()

    bar = tqdm(total=sum(f.n_clips for f in files), desc="assigning clips", unit="clip")
    pooled = 0
    for index, f in enumerate(files):
        array = f.array()
        if f.n_clips <= CHUNK_ROWS:
            x = np.asarray(array, dtype=np.float32)
            if not np.isfinite(x).all():
                report.skip(f.path, "contains NaN or infinite values")
                continue
            pool.append((index, normalize_features(x, normalize, (means or {}).get(f.id),
                                                   blocks)))
            pooled += len(x)
            if pooled >= CHUNK_ROWS:
                flush()
                pooled = 0
            bar.update(len(x))
            continue
        words, dists = [], []
        for start in range(0, f.n_clips, CHUNK_ROWS):
            x = np.asarray(array[start : start + CHUNK_ROWS], dtype=np.float32)
            if not np.isfinite(x).all():
                report.skip(f.path, f"contains NaN or infinite values (clips from {start})")
                words = []
                break
            w, d = words_and_distances(normalize_features(x, normalize,
                                                          (means or {}).get(f.id), blocks))
            words.append(w)
            dists.append(d)
            bar.update(len(x))
        if words:
            parts.append((index, np.concatenate(words), np.concatenate(dists)))
    flush()
    bar.close()
    parts.sort(key=lambda p: p[0])  # video order, whatever path each video took
    ids = [f.id for f in files]
    if not parts:
        none = np.zeros(0, dtype=np.int32)
        return Assignments(none, none, none.astype(np.int64), none.astype(np.float32), ids)
    return Assignments(
        video=np.concatenate([np.full(len(p[1]), p[0], dtype=np.int32) for p in parts]),
        clip=np.concatenate([np.arange(len(p[1]), dtype=np.int32) for p in parts]),
        word=np.concatenate([p[1] for p in parts]),
        distance=np.concatenate([p[2] for p in parts]),
        ids=ids,
    )


def usage_summary(words: np.ndarray, n_words: int) -> dict[str, Any]:
    """Clips per word, plus how evenly the words are used (entropy in bits, perplexity)."""
    counts = np.bincount(words, minlength=n_words)
    total = int(counts.sum())
    p = counts[counts > 0] / max(total, 1)
    entropy = float(-(p * np.log2(p)).sum()) if total else 0.0
    top = np.argsort(-counts, kind="stable")[: min(20, n_words)]
    return {
        "n_clips": total,
        "n_words": n_words,
        "used_words": int((counts > 0).sum()),
        "entropy_bits": round(entropy, 4),
        "perplexity": round(2.0**entropy, 2),
        "max_entropy_bits": round(math.log2(n_words), 4),
        "top_words": [[int(w), int(counts[w])] for w in top if counts[w] > 0],
        "counts": counts.tolist(),
    }


def write_assignments(path: Path, a: Assignments) -> None:
    from videobert.artifacts.words import write_assignments as write

    write(path, a.video, a.clip, a.word, a.ids)


def video_sources(segments_dir: Path | None) -> dict[str, VideoSource]:
    """Video file of each id, from the segments manifest (for exemplar frames)."""
    from videobert.artifacts.segments import video_files

    if segments_dir is None:
        return {}
    return {vid: VideoSource(vid, path) for vid, path in video_files(segments_dir).items()}


def _min_last_clip(segments_dir: str | Path | None) -> float | None:
    from videobert.artifacts.segments import clip_grid, read_manifest

    return clip_grid(read_manifest(segments_dir)).min_last_clip if segments_dir else None


def _fingerprint(features_dir: Path) -> str:
    return manifest_sha1(features_dir)


def _already_done(
    out_dir: Path, features_dir: Path, segments: str | None, config: CodebookConfig
) -> dict | None:
    """The previous meta.json if ``out_dir`` holds a complete codebook for these inputs."""
    from videobert.artifacts.complete import is_complete

    fingerprint = {"config": to_dict(config), "features": str(features_dir.resolve()),
                   "features_manifest_sha1": _fingerprint(features_dir), "segments": segments}
    return is_complete(out_dir, fingerprint,
                       files=[CENTROIDS_FILE, TREE_FILE, USAGE_FILE, ASSIGNMENTS_FILE],
                       marker=META_FILE)


def run_codebook(
    features_dir: str | Path,
    out_dir: str | Path,
    config: CodebookConfig,
    segments_dir: str | Path | None = None,
    force: bool = False,
) -> StageReport:
    """Fit the visual-word codebook on ``features_dir`` and write it to ``out_dir``."""
    features_dir, out_dir = Path(features_dir), Path(out_dir)
    report = StageReport("codebook")
    manifest = read_features_manifest(features_dir)
    if segments_dir is None and manifest.get("segments"):
        segments_dir = manifest["segments"]  # features stage may record where its segments are
    segments = str(Path(segments_dir).resolve()) if segments_dir else None
    previous = None if force else _already_done(out_dir, features_dir, segments, config)
    if previous is not None:
        _LOG.info(f"{out_dir} already holds a complete codebook for these features; nothing to do")
        # the same inputs were skipped last time: keep the exit status honest
        report.skipped.extend(Skip(**item) for item in previous.get("skipped", []))
        return report
    dim = int(manifest["dim"])
    n_words = config.k**config.depth
    sources = video_sources(Path(segments_dir) if segments_dir else None)  # fail before fitting

    files = check_feature_files(features_dir, manifest, report)
    if not files:
        raise ValueError(f"{features_dir}: no usable feature files (see the skipped list above)")
    if config.normalize not in NORMALIZATIONS:
        raise ValueError(f"codebook.normalize {config.normalize!r}: one of {NORMALIZATIONS}")
    means = ({f.id: video_mean(f) for f in files} if config.normalize == "center_l2" else None)
    blocks = feature_blocks(manifest)
    columns = word_columns(blocks, config.word_block, features_dir)
    sample, files = sample_features(files, config.sample_size, config.seed, dim, report,
                                    config.normalize, means, blocks)
    if len(sample) == 0:
        raise ValueError(f"{features_dir}: no usable clips to fit a codebook on")
    if columns is not None:
        sample = sample[:, columns[0]: columns[1]]
    total_clips = sum(f.n_clips for f in files)
    if total_clips < n_words:
        message = (
            f"only {total_clips} clips for {n_words} words (k={config.k}, depth={config.depth}): "
            "most words will be unused; consider a smaller k or depth"
        )
        _LOG.warning(message)  # once, on the console (a warnings.warn as well printed it twice)

    _LOG.info(f"fitting k={config.k} depth={config.depth} ({n_words} words) on {len(sample)} clips")
    codebook = Codebook.fit(sample, config.k, config.depth, config.seed, config.niter)
    if columns is not None:  # assign() then reads the block from whole rows, wherever called
        codebook.meta.update(word_columns=columns, dim=dim)
    sample_size = len(sample)
    del sample

    started = time.perf_counter()
    assignments = assign_all(codebook, files, report, config.normalize, means, blocks)
    assign_seconds = time.perf_counter() - started

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / META_FILE).unlink(missing_ok=True)  # the folder is incomplete until meta.json
    write_assignments(out_dir / ASSIGNMENTS_FILE, assignments)
    usage = usage_summary(assignments.word, codebook.n_words)
    write_json(out_dir / USAGE_FILE, usage)

    images = 0
    if config.exemplars > 0 and sources:
        images = write_exemplars(
            out_dir / "exemplars",
            assignments,
            sources,
            fps=float(manifest["fps"]),
            clip_frames=int(manifest["clip_frames"]),
            per_word=config.exemplars,
            report=report,
        )
    else:
        for stale in (out_dir / "exemplars").glob("*.jpg"):  # from an earlier run
            stale.unlink()
        if config.exemplars > 0:
            _LOG.info("no segments folder given: exemplar thumbnails need the video files; "
                      "none made")

    codebook.meta.update(
        backbone=manifest.get("backbone"),
        weights=manifest.get("weights"),
        fps=manifest["fps"],
        clip_frames=manifest["clip_frames"],
        size=manifest.get("size"),
        min_last_clip=_min_last_clip(segments_dir),  # with fps, clip_frames: the clip grid
        normalize=config.normalize,  # what assigning new videos must apply first
        blocks=blocks,  # and stream by stream, when the rows hold several (features.motion)
        sample_size=sample_size,
        features=str(features_dir.resolve()),
        features_manifest_sha1=_fingerprint(features_dir),
        segments=segments,
        n_videos=len({int(v) for v in np.unique(assignments.video)}),
        n_clips=int(len(assignments.word)),
        used_words=usage["used_words"],
        perplexity=usage["perplexity"],
        exemplar_images=images,
        assign_seconds=round(assign_seconds, 3),
        config=to_dict(config),
        skipped=report.to_list(),
    )
    codebook.save(out_dir)  # centroids.npy, tree.npz, then meta.json last
    report.finish(codebook.meta["n_videos"], record="meta.json")
    _LOG.info(f"{usage['used_words']}/{codebook.n_words} words used, "
              f"perplexity {usage['perplexity']}")
    return report
