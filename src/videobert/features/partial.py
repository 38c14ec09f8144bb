"""Partial features of a video in flight, so that a long video killed at 90% resumes at 90%.

Every ``checkpoint_every`` clips the features stage writes the rows a video has so far to
``features/partial/<id>.npz`` (atomically: a kill leaves the previous checkpoint or the new one,
never half of one), together with the settings that made them. A rerun with the same settings
decodes past those clips without running the network on them and appends the rest; the
finished ``<id>.npy`` is bit-identical to an uninterrupted run's, because batches restart on
the same clip boundaries (checkpoints are taken after whole batches) and float16 rounding is
per element. A checkpoint made with other settings is dropped, not mixed in.
"""

from __future__ import annotations

import contextlib
import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from videobert.io import atomic_path

PARTIAL_DIR = "partial"


def partial_path(out: Path, video_id: str) -> Path:
    return out / PARTIAL_DIR / f"{video_id}.npz"


def save_partial(out: Path, video_id: str, rows: np.ndarray, settings: dict[str, Any]) -> None:
    """Checkpoint ``rows`` (float16 ``[n, D]``, the first ``n`` clips) of ``video_id``."""
    blob = np.frombuffer(json.dumps(settings, sort_keys=True).encode(), dtype=np.uint8)
    with atomic_path(partial_path(out, video_id)) as tmp, tmp.open("wb") as f:
        np.savez(f, rows=rows.astype(np.float16), settings=blob)


def load_partial(out: Path, video_id: str, settings: dict[str, Any]) -> np.ndarray | None:
    """The checkpointed rows of ``video_id`` when they were made with ``settings``, else None
    (a checkpoint of other settings, or an unreadable one, is removed with a note)."""
    path = partial_path(out, video_id)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            rows = data["rows"]
            saved = json.loads(data["settings"].tobytes().decode())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        _drop(path, f"unreadable ({exc})")
        return None
    if saved != json.loads(json.dumps(settings, sort_keys=True)):
        _drop(path, "made with other settings")
        return None
    if rows.ndim != 2 or rows.dtype != np.float16:
        _drop(path, f"not float16 [n, D] rows ({rows.dtype} {rows.shape})")
        return None
    return rows


def drop_partial(out: Path, video_id: str) -> None:
    """Remove the checkpoint of a finished video (and the folder once it is empty)."""
    path = partial_path(out, video_id)
    path.unlink(missing_ok=True)
    for stale in path.parent.glob(f".{path.name}.tmp*"):  # left by a run killed mid-write
        stale.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # other videos' checkpoints are still there
        path.parent.rmdir()


def _drop(path: Path, why: str) -> None:
    print(f"[features] {path}: partial features {why}; recomputing that video",
          file=sys.stderr, flush=True)
    path.unlink(missing_ok=True)
