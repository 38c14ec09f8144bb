"""HowTo100M's ``caption.json`` and ``HowTo100M_v1.csv``, read as distributed.

- ``caption.json``: ``{VIDEO_ID: {"start": [s, ...], "end": [s, ...], "text": [str, ...]}}``,
  the YouTube ASR captions of every video (unpunctuated lines of a few seconds each);
- ``HowTo100M_v1.csv``: ``video_id,category_1,category_2,rank,task_id``, one row per video.

Pretraining data only: there are no labels to evaluate on.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from videobert.formats import FormatError

CAPTION_KEYS = ("start", "end", "text")


def is_caption_file(data: Any) -> bool:
    """Whether parsed JSON has caption.json's shape (judged on its first entry)."""
    if not isinstance(data, dict) or not data:
        return False
    first = next(iter(data.values()))
    return isinstance(first, dict) and set(CAPTION_KEYS) <= set(first)


def check_captions(data: Any, path: str | Path) -> dict[str, dict[str, list]]:
    """``data`` itself, once every entry is checked to be ``{start, end, text}`` lists of one
    length; a ``FormatError`` names the video and the key. (Bad single cues are the ingest
    stage's to drop and report, as for any transcript.)"""
    if not isinstance(data, dict):
        raise FormatError(path, "the top level", "must be an object {video_id: {start, end, "
                          "text}}")
    for video_id, entry in data.items():
        where = f"[{video_id!r}]"
        if not isinstance(entry, dict):
            raise FormatError(path, where, "must be an object with start, end, text lists")
        for key in CAPTION_KEYS:
            if not isinstance(entry.get(key), list):
                raise FormatError(path, f"{where}.{key}", "must be a list")
        lengths = {key: len(entry[key]) for key in CAPTION_KEYS}
        if len(set(lengths.values())) != 1:
            raise FormatError(path, where, f"has lists of different lengths {lengths}")
    return data


def read_captions(path: str | Path) -> dict[str, dict[str, list]]:
    """caption.json, checked (``check_captions``)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(path, "", f"cannot be read as JSON ({exc})") from exc
    return check_captions(data, path)


def read_video_list(path: str | Path) -> list[str]:
    """The video ids of a list: a CSV with a ``video_id`` column (``HowTo100M_v1.csv``), or a
    text file of one id per line. Order kept, repeats dropped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video list {path} does not exist")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        columns = [c.strip() for c in reader.fieldnames or []]
        reader.fieldnames = columns
        if "video_id" not in columns:
            raise FormatError(path, "", f"a video list needs a 'video_id' column (found "
                              f"{columns})")
        ids = [(row.get("video_id") or "").strip() for row in reader]
    else:
        ids = [line.strip() for line in text.splitlines()]
    ids = [i for i in ids if i and not i.startswith("#")]
    if not ids:
        raise FormatError(path, "", "lists no video ids")
    return list(dict.fromkeys(ids))
