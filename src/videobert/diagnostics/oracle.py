"""An oracle codebook: visual words read off the ground truth instead of the clip features.

A diagnostic, not a model input for real use. With perfect visual words the pretraining recipe
alone decides whether the model learns to read the video: if zero-shot stays at the language
prior with the oracle, the recipe (or the corpus) is at fault, not the features or the
clustering. It needs only step labels (``ground_truth.json``) and the clip grid of the segments
folder, so users can run it on any labelled data of their own.

The code is *factored*, so that verb-noun pairs never seen in training still get known words:
inside a step, even clips (counted from the step's first clip) get the word of its verb and odd
clips the word of its noun; every clip outside a step gets the "rest" word. Words: 0 = rest,
``1 .. n_verbs`` = verbs, then the nouns.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from videobert.io import atomic_path, write_json
from videobert.log import get_logger
from videobert.tasks.steps import GroundTruth, load_ground_truth, overlapping_clips
from videobert.visual_words.hkmeans import CENTROIDS_FILE, META_FILE

_LOG = get_logger("codebook")

REST_WORD = 0


def oracle_vocabulary(ground_truth: GroundTruth) -> list[str]:
    """The label of each oracle word, index = word id."""
    return ["(rest)", *(f"verb:{v}" for v in ground_truth.verbs),
            *(f"noun:{n}" for n in ground_truth.nouns)]


def oracle_words(
    ground_truth: GroundTruth, n_clips: dict[str, int], clip_s: float
) -> dict[str, np.ndarray]:
    """Each video's oracle word per clip, for the videos of ``n_clips`` with ground truth."""
    verb_word = {v: 1 + i for i, v in enumerate(ground_truth.verbs)}
    noun_word = {n: 1 + len(verb_word) + i for i, n in enumerate(ground_truth.nouns)}
    out: dict[str, np.ndarray] = {}
    for video_id, count in n_clips.items():
        video = ground_truth.videos.get(video_id)
        if video is None:
            continue
        words = np.full(count, REST_WORD, np.int64)
        for step in video["steps"]:
            clips = overlapping_clips(step["start"], step["end"], clip_s, count)
            for k, clip in enumerate(clips):
                words[clip] = verb_word[step["verb"]] if k % 2 == 0 else noun_word[step["noun"]]
        out[video_id] = words
    return out


def _segments_grid(segments_dir: Path) -> tuple[dict[str, int], float, dict[str, Any]]:
    from videobert.artifacts.segments import clip_counts, clip_grid, read_manifest

    manifest = read_manifest(segments_dir)
    grid = clip_grid(manifest)
    return clip_counts(manifest), grid.clip_seconds, {"fps": grid.fps,
                                                      "clip_frames": grid.clip_frames}


def write_oracle_codebook(
    ground_truth: str | Path, segments_dir: str | Path, out: str | Path
) -> dict[str, Any]:
    """Write an oracle codebook folder in the codebook format (docs/formats.md); returns its
    meta. ``centroids.npy`` is the identity (one row per word), so a model initialised from it
    starts with orthogonal visual words; there is no tree, so it cannot assign new features."""
    gt = load_ground_truth(ground_truth)
    segments_dir, out = Path(segments_dir), Path(out)
    n_clips, clip_s, grid = _segments_grid(segments_dir)
    words = oracle_words(gt, n_clips, clip_s)
    if not words:
        raise ValueError(
            f"no video of {segments_dir} is in {ground_truth}: the ground truth does not "
            "describe these segments"
        )
    vocabulary = oracle_vocabulary(gt)
    n_words = len(vocabulary)
    out.mkdir(parents=True, exist_ok=True)
    ids = sorted(words)
    table = pa.table({
        "video_id": pa.array([v for v in ids for _ in range(words[v].size)], pa.string()),
        "clip": pa.array(np.concatenate([np.arange(words[v].size) for v in ids]), pa.int32()),
        "word": pa.array(np.concatenate([words[v] for v in ids]), pa.int32()),
    })
    with atomic_path(out / "assignments.parquet") as tmp:
        pq.write_table(table, tmp)
    counts = np.bincount(table.column("word").to_numpy(), minlength=n_words)
    write_json(out / "usage.json", {
        "counts": counts.tolist(), "n_clips": int(counts.sum()),
        "used_words": int((counts > 0).sum()), "vocabulary": vocabulary,
    })
    with atomic_path(out / CENTROIDS_FILE) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.eye(n_words, dtype=np.float32))
    meta = {
        "oracle": True, "backbone": "oracle (ground-truth step labels)", **grid,
        "n_words": n_words, "dim": n_words, "k": None, "depth": None,
        "ground_truth": str(Path(ground_truth).resolve()),
        "segments": str(segments_dir.resolve()), "n_videos": len(words),
        "n_clips": int(counts.sum()), "used_words": int((counts > 0).sum()),
        "vocabulary": vocabulary,
    }
    write_json(out / META_FILE, meta)  # last: a folder with meta.json is complete
    _LOG.info(f"oracle: {n_words} words ({len(gt.verbs)} verbs, {len(gt.nouns)} nouns, "
              f"rest) over {meta['n_clips']} clips of {len(words)} videos -> {out}")
    return meta


# ---------------------------------------------------------------------------------------------
# CLI: videobert oracle-codebook


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ground_truth", type=Path, help="ground_truth.json with step labels")
    parser.add_argument("segments", type=Path, help="segments folder (its manifest: clip grid)")
    parser.add_argument("out", type=Path, help="codebook folder to write")


def run(args: argparse.Namespace) -> int:
    try:
        write_oracle_codebook(args.ground_truth, args.segments, args.out)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        print(f"videobert oracle-codebook: error: {exc}", file=sys.stderr)
        return 1
    return 0
