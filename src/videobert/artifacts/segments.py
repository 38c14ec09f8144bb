"""The segments folder (the ingest stage's output): ``<id>.parquet`` per video and
``manifest.json`` (``config``: the clip grid and ASR settings; ``videos``: one entry per video).
Readers of the manifest for the later stages; the ingest stage writes it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from videobert.config import IngestConfig, to_dict
from videobert.fingerprint import video_source
from videobert.io import atomic_path, read_json

MANIFEST = "manifest.json"
COLUMNS = ("video_id", "start", "end", "text", "first_clip", "last_clip")


def _schema():
    import pyarrow as pa

    return pa.schema([("video_id", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
                      ("text", pa.string()), ("first_clip", pa.int64()),
                      ("last_clip", pa.int64())])


def write_segments(path: Path, segments: list[Any]) -> None:
    """``<id>.parquet``: one row per sentence (``ingest.align.Segment``), written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    columns = {name: [getattr(s, name) for s in segments] for name in schema.names}
    with atomic_path(path) as tmp:
        pq.write_table(pa.table(columns, schema=schema), tmp)


def read_segment_table(path: str | Path) -> dict[str, list]:
    """Columns of one ``<id>.parquet``; a ``ValueError`` saying why when it is not one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise ValueError(f"not a readable Parquet file ({exc})") from exc
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"missing columns {missing}")
    return {c: table.column(c).to_pylist() for c in COLUMNS}


def read_segments(path: str | Path) -> list[Any]:
    """The ``ingest.align.Segment`` rows of one ``<id>.parquet``."""
    from videobert.ingest.align import Segment

    columns = read_segment_table(path)
    return [Segment(**{k: columns[k][i] for k in COLUMNS}) for i in range(len(columns["text"]))]


@dataclasses.dataclass(frozen=True)
class VideoJob:
    id: str
    path: str
    n_clips: int  # as counted by the ingest stage
    source: str = ""  # fingerprint.video_source: a changed video is redone


@dataclasses.dataclass(frozen=True)
class ClipGrid:
    """How videos were cut into clips by the ingest stage; features must use the same."""

    fps: float
    clip_frames: int
    min_last_clip: float

    @property
    def clip_seconds(self) -> float:
        return self.clip_frames / self.fps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def read_manifest(segments_dir: str | Path) -> dict[str, Any]:
    path = Path(segments_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run `videobert ingest` first (its manifest lists the videos)"
        )
    return read_json(path)


def clip_grid(manifest: dict[str, Any]) -> ClipGrid:
    """The clip grid a manifest was cut with (ingest defaults for keys it lacks)."""
    ingest = {**to_dict(IngestConfig()), **(manifest.get("config") or {})}
    return ClipGrid(float(ingest["fps"]), int(ingest["clip_frames"]),
                    float(ingest["min_last_clip"]))


def video_path(segments_dir: Path, entry: dict[str, Any]) -> Path:
    video = Path(entry["video"])
    if not video.is_absolute() and not video.exists():
        video = segments_dir / video  # relative to the segments folder
    return video


def read_segments_manifest(segments_dir: str | Path) -> tuple[list[VideoJob], ClipGrid]:
    """The videos listed in ``segments/manifest.json`` (sorted by id) and their clip grid."""
    segments_dir = Path(segments_dir)
    path = segments_dir / MANIFEST
    manifest = read_manifest(segments_dir)
    try:
        grid = clip_grid(manifest)
        jobs = []
        for entry in manifest["videos"]:
            video = video_path(segments_dir, entry)
            n = int(entry["n_clips"])
            jobs.append(VideoJob(str(entry["id"]), str(video), n, video_source(video, n)))
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a segments manifest ({exc!r})") from exc
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{path}: duplicate video ids")
    return sorted(jobs, key=lambda j: j.id), grid


def video_files(segments_dir: str | Path) -> dict[str, Path]:
    """Video file of each id the manifest lists with one."""
    segments_dir = Path(segments_dir)
    return {str(e["id"]): video_path(segments_dir, e)
            for e in read_manifest(segments_dir).get("videos", [])
            if "id" in e and e.get("video")}


def clip_counts(manifest: dict[str, Any]) -> dict[str, int]:
    """Clips of each complete video with at least one clip."""
    return {str(e["id"]): int(e["n_clips"]) for e in manifest.get("videos", [])
            if e.get("complete", True) and int(e.get("n_clips", 0)) > 0}
