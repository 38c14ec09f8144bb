""""Is this stage folder already complete for these inputs?" -- asked once, the same way, by
every stage that writes a ``meta.json`` last (codebook, codebook assign, corpus)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from videobert.io import read_json


def is_complete(folder: str | Path, fingerprint: dict[str, Any], files: Iterable[str] = (),
                marker: str = "meta.json") -> dict[str, Any] | None:
    """The previous ``marker`` record when ``folder`` holds a finished output whose recorded
    inputs equal ``fingerprint`` (key by key) and every one of ``files`` (plus any listed in
    the record's ``shards``) exists; else ``None`` (do the work again)."""
    folder = Path(folder)
    path = folder / marker
    if not path.is_file():
        return None
    try:
        record = read_json(path)
    except ValueError:  # a torn or foreign file: not complete
        return None
    if any(record.get(key) != value for key, value in fingerprint.items()):
        return None
    needed = [*files, *record.get("shards", [])]
    return record if all((folder / name).exists() for name in needed) else None
