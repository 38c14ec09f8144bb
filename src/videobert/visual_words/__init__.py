"""Visual words: hierarchical k-means over clip features, codebook I/O, exemplar thumbnails.

``Codebook`` is imported lazily so that ``import videobert.visual_words`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Codebook", "run_codebook"]


def __getattr__(name: str) -> Any:
    if name == "Codebook":
        from videobert.visual_words.hkmeans import Codebook

        return Codebook
    if name == "run_codebook":
        from videobert.visual_words.stage import run_codebook

        return run_codebook
    raise AttributeError(f"module 'videobert.visual_words' has no attribute {name!r}")
