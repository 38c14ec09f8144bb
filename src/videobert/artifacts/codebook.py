"""The codebook folder, as the later stages read it: ``meta.json`` (the clip grid, the
features it was fit on, ``normalize``, ``n_words``) and ``centroids.npy``. Fitting, saving and
the tree walk stay in ``visual_words.hkmeans.Codebook``; this is the read side for corpus,
pretraining, ``prepare`` and the tasks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from videobert.artifacts.segments import ClipGrid
from videobert.io import read_json

META_FILE = "meta.json"
CENTROIDS_FILE = "centroids.npy"


@dataclasses.dataclass(frozen=True)
class CodebookFolder:
    folder: Path
    meta: dict[str, Any]

    @classmethod
    def open(cls, folder: str | Path) -> CodebookFolder:
        """A codebook folder with its ``meta.json`` and ``centroids.npy``; a missing or torn
        part is a one-line error naming it."""
        folder = Path(folder)
        for name in (META_FILE, CENTROIDS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder / name}: missing (is {folder} a complete "
                                        "codebook?)")
        try:
            meta = read_json(folder / META_FILE)
        except ValueError as exc:
            raise ValueError(f"{folder / META_FILE} is not valid JSON: {exc}") from exc
        return cls(folder, meta)

    @property
    def n_words(self) -> int:
        """From the centroids (checked against ``meta.json``'s ``n_words``)."""
        n = int(np.load(self.folder / CENTROIDS_FILE, mmap_mode="r").shape[0])
        recorded = self.meta.get("n_words")
        if recorded is not None and int(recorded) != n:
            raise ValueError(f"{self.folder}: meta.json says {recorded} words, centroids {n}")
        return n

    def centroids(self) -> np.ndarray:
        return np.load(self.folder / CENTROIDS_FILE)

    @property
    def clip_grid(self) -> ClipGrid:
        """How the clips it was fit on were cut (ingest defaults for what it did not record)."""
        from videobert.config import IngestConfig

        default = IngestConfig()
        return ClipGrid(float(self.meta.get("fps", default.fps)),
                        int(self.meta.get("clip_frames", default.clip_frames)),
                        float(self.meta.get("min_last_clip") or default.min_last_clip))

    @property
    def normalize(self) -> str:
        """What its clips went through before k-means (older codebooks: none)."""
        return str(self.meta.get("normalize") or (self.meta.get("config") or {}).get("normalize")
                   or "none")

    @property
    def blocks(self) -> list[int] | None:
        """The widths of the streams its features hold, each normalised apart (None: one)."""
        from videobert.visual_words.stage import feature_blocks

        return feature_blocks(self.meta)
