"""Atomic writes and stage reports: every stage writes to a temporary name and renames when done,
and records what it skipped (file + reason) in its manifest and on the console."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

EXIT_SKIPPED = 3  # exit status of a stage that completed but skipped some input


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_json(path: str | Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


@dataclasses.dataclass
class Skip:
    file: str
    reason: str


def console(message: str) -> None:
    """Print a line on stderr without breaking an active tqdm progress bar (``tqdm.write``
    clears the bar, prints, and redraws it; without a bar it is a plain print)."""
    tqdm.write(message, file=sys.stderr)
    sys.stderr.flush()


class StageReport:
    """Collects skipped inputs and notes; prints each as it happens and a summary at the end."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.skipped: list[Skip] = []
        self.notes: list[str] = []  # about the run as a whole (nothing skipped)

    def skip(self, file: str | Path, reason: str) -> None:
        item = Skip(str(file), reason)
        self.skipped.append(item)
        console(f"[{self.stage}] skipped {item.file}: {item.reason}")

    def note(self, message: str) -> None:
        self.notes.append(message)
        console(f"[{self.stage}] {message}")

    def to_list(self) -> list[dict[str, str]]:
        return [dataclasses.asdict(s) for s in self.skipped]

    def exit_code(self) -> int:
        return EXIT_SKIPPED if self.skipped else 0

    def summary(self, done: int, what: str = "videos") -> str:
        line = f"[{self.stage}] {done} {what} done, {len(self.skipped)} skipped"
        return line + ("" if not self.skipped else " (see manifest.json for reasons)")
