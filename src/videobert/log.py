"""Progress and diagnostic messages, through ``logging``, in one place.

Every module logs to ``videobert.<stage>`` (``get_logger("codebook")``); the ``videobert``
logger writes ``[stage] message`` lines to stderr through ``tqdm.write`` (so an active progress
bar is redrawn, not broken), and under ``torchrun`` only rank 0 writes below WARNING: the
rank-0 gating lives here, not at each call. It is set up on first use and can be reconfigured
like any logger (``logging.getLogger("videobert").setLevel(logging.WARNING)`` silences the
progress lines). The one-line errors of the CLI verbs and the tables they print are output, not
logs, and stay ``print``.
"""

from __future__ import annotations

import logging
import os
import sys

ROOT = "videobert"


class _TqdmStderr(logging.Handler):
    """Looks ``sys.stderr`` up at each record (so redirected or captured stderr is honoured)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


class _RankZero(logging.Filter):
    """Below WARNING, only the main process (``RANK`` 0 or unset) speaks."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or os.environ.get("RANK", "0") == "0"


class _StageFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stage = record.name[len(ROOT) + 1:] if record.name.startswith(ROOT + ".") else ""
        message = record.getMessage()
        return f"[{stage}] {message}" if stage else message


def _configure() -> logging.Logger:
    root = logging.getLogger(ROOT)
    if not any(isinstance(h, _TqdmStderr) for h in root.handlers):
        handler = _TqdmStderr()
        handler.setFormatter(_StageFormatter())
        handler.addFilter(_RankZero())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False  # our lines once, not again through an application's root logger
    return root


def get_logger(stage: str) -> logging.Logger:
    """The logger of one stage or task (``[stage]`` prefixes its lines)."""
    _configure()
    return logging.getLogger(f"{ROOT}.{stage}")
