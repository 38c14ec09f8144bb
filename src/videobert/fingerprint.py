"""Input fingerprints: what a stage's output was made from, so a re-run redoes exactly the outputs
whose input changed (and reuses the rest).

A video is fingerprinted by size and modification time (hashing gigabytes on every run would
cost more than the work it saves); a subtitle, small and often edited in place or copied with
its old time, also by a hash of its content. ``digest`` turns any such record into one short
string that a later stage stores beside its output and compares on the next run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from videobert.io import read_json


def file_fingerprint(path: str | Path, content: bool = False) -> dict[str, Any] | None:
    """``{size, mtime_ns}`` of a file (plus ``sha1`` of its bytes with ``content``); None when
    it does not exist."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        return None
    record: dict[str, Any] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if content:
        record["sha1"] = hashlib.sha1(path.read_bytes()).hexdigest()
    return record


def input_fingerprint(video: str | Path, subtitle: str | Path | None,
                      text: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ingest stage's record of one video's inputs. ``text``: the ``{size, sha1}`` of the
    video's own entry when its text comes from a dataset-wide file (hashing that whole file
    for every video would be slow, and an edit to one entry would redo them all)."""
    if text is not None:
        return {"video": file_fingerprint(video), "subtitle": text}
    return {
        "video": file_fingerprint(video),
        "subtitle": file_fingerprint(subtitle, content=True) if subtitle else None,
    }


def same_input(old: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """Whether two ``input_fingerprint`` records describe the same input: the video by size and
    mtime, the subtitle by size and content (touching a subtitle file is not a change)."""
    if not old or old.get("video") != new["video"] or new["video"] is None:
        return False
    a, b = old.get("subtitle"), new["subtitle"]
    if a is None or b is None:
        return a is b
    return (a.get("size"), a.get("sha1")) == (b["size"], b["sha1"])


def digest(record: Any) -> str:
    """A short stable hash of a JSON-able record (key order does not matter)."""
    return hashlib.sha1(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def recorded_sources(manifests: Iterable[Path]) -> dict[str, str]:
    """``{id: source}`` recorded by earlier runs in ``manifests`` (``videos: {id: {source}}``);
    unreadable manifests and entries without a source are left out."""
    sources: dict[str, str] = {}
    for path in manifests:
        try:
            videos = read_json(path).get("videos") or {}
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(videos, dict):
            sources.update({k: v["source"] for k, v in videos.items()
                            if isinstance(v, dict) and v.get("source")})
    return sources


def stale_outputs(out: Path, jobs: Iterable[tuple[str, str, str]], suffix: str,
                  manifests: Iterable[Path]) -> list[str]:
    """Ids whose ``out/<id><suffix>`` exists but was made from another input.

    ``jobs``: ``(id, source, input path)``. An output whose earlier run recorded a different
    source is stale; one with no record (a run killed before its manifest, or an older
    version) is stale when its input file is newer than it.
    """
    recorded = recorded_sources(manifests)
    stale = []
    for video_id, source, path in jobs:
        output = out / f"{video_id}{suffix}"
        if not output.exists():
            continue
        old = recorded.get(video_id)
        if old is not None:
            if old != source:
                stale.append(video_id)
            continue
        made, used = file_fingerprint(output), file_fingerprint(path)
        if made and used and used["mtime_ns"] > made["mtime_ns"]:
            stale.append(video_id)
    return stale


def video_source(video: str | Path, n_clips: int) -> str:
    """What a video's features are made from: the file as it is now (size, mtime) and the clip
    count the segments manifest gives it. Its subtitle is not part of it: new text does not
    change the clips."""
    return digest([file_fingerprint(video), int(n_clips)])
