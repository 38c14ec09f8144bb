"""Atomic writes and stage reports: every stage writes to a temporary name and renames when done,
and records what it skipped (file + reason) in its manifest and on the console."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXIT_FAILED = 1  # failed outright: bad input, output that cannot be written
EXIT_USAGE = 2  # bad arguments or config values (like argparse's usage errors)
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
    except OSError as exc:
        if exc.filename not in (None, str(tmp), tmp):
            raise
        # a failed write() names no file (and the temporary name means nothing to a user):
        # name the output it was for, so the message can say which file could not be written
        why = exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))
        raise OSError(exc.errno, why, str(path)) from exc
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


class StageReport:
    """Collects skipped inputs and notes; prints each as it happens and a summary at the end."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.skipped: list[Skip] = []
        self.notes: list[str] = []  # about the run as a whole (nothing skipped)

    def skip(self, file: str | Path, reason: str) -> None:
        from videobert.log import get_logger

        item = Skip(str(file), reason)
        self.skipped.append(item)
        get_logger(self.stage).warning(f"skipped {item.file}: {item.reason}")

    def note(self, message: str) -> None:
        from videobert.log import get_logger

        self.notes.append(message)
        get_logger(self.stage).warning(message)

    def to_list(self) -> list[dict[str, str]]:
        return [dataclasses.asdict(s) for s in self.skipped]

    def exit_code(self) -> int:
        return EXIT_SKIPPED if self.skipped else 0

    def summary(self, done: int, what: str = "videos", record: str = "manifest.json") -> str:
        line = f"{done} {what} done, {len(self.skipped)} skipped"
        return line + ("" if not self.skipped else f" (see {record} for reasons)")

    def finish(self, done: int, what: str = "videos", record: str = "manifest.json") -> None:
        """Log the summary line (``[stage] N videos done, M skipped ...``)."""
        from videobert.log import get_logger

        get_logger(self.stage).info(self.summary(done, what, record))


# ---------------------------------------------------------------------------------------------
# Output that cannot be written: one message for every verb (``videobert.cli`` uses these).


class OutputError(OSError):
    """An output folder that cannot be used; the message says why and what to do."""


def check_output_dir(path: str | Path) -> None:
    """Refuse, before any work, an output folder that is a file, lies under a file, or cannot
    be written (read-only folder or file system)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is an existing file, not a folder: choose another output "
                          "path (or remove the file)")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{path} cannot be created: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == path else f" (its nearest existing folder {existing} is not)"
        raise OutputError(f"{path} is not writable{where}: read-only folder or file system, or "
                          "no permission; choose another output folder")


_WHY = {
    errno.ENOSPC: "no space left on device (ENOSPC): the disk is full; free some space",
    errno.EDQUOT: "disk quota exceeded (EDQUOT); free some space",
    errno.EFBIG: "file too large (EFBIG): a file size limit is set (ulimit -f) or the file "
                 "system cannot hold a file this big",
    errno.EACCES: "permission denied (EACCES): choose a folder you can write to",
    errno.EPERM: "operation not permitted (EPERM): choose a folder you can write to",
    errno.EROFS: "read-only file system (EROFS): choose a writable output folder",
    errno.EEXIST: "a file is in the way (EEXIST)",
    errno.ENOTDIR: "a file is in the way where a folder is needed (ENOTDIR)",
    errno.EISDIR: "a folder is in the way where a file is needed (EISDIR)",
}


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: the file, what went wrong, what to do; for a full disk or a
    size limit also that finished work is kept (every stage writes to a temporary name and
    renames when done, so a rerun continues)."""
    if isinstance(exc, OutputError):
        return str(exc)
    if isinstance(exc, FileNotFoundError) and exc.errno is None:
        return str(exc)  # our own "X not found: do Y" messages
    why = _WHY.get(exc.errno or -1) or exc.strerror or str(exc)
    if exc.errno is None and "written" in why:  # numpy's short write: "N requested and M written"
        why += " (a short write: the disk is full, or a file size limit is set: ulimit -f)"
    name = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
    if exc.errno in _FULL or exc.errno is None:
        what = f"cannot write {name}" if exc.filename else "cannot write the output"
        return f"{what}: {why}. Finished outputs are kept; rerun to continue"
    return f"{name}: {why}" if exc.filename else why
