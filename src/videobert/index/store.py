"""The clip index on disk, and how it grows without ever being half-written.

Layout of an index folder::

    CURRENT                 the name of the complete version (written last, atomically)
    v000003/index.faiss     inner-product index of unit-length window embeddings
    v000003/items.parquet   one row per window: video_id, video (path), start, end,
                            first_clip, last_clip, words (list<int32>), source (fingerprint),
                            thumbnail (JPEG of the window's middle frame; empty if none)
    v000003/meta.json       model folder, embedding dim, window/stride in clips, counts

An item is a window of ``window`` clips every ``stride`` clips, embedded as the model's
video-only embedding (``Pipeline.embed``); a text query is embedded as text only, and the
ranking is their cosine, the "embedding" score of the retrieval task. ``add`` writes a new
version folder beside the current one and then points ``CURRENT`` at it, so a run killed during
``add`` leaves the previous version untouched and searchable. A video already in the index
with the same file fingerprint is not embedded again.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from videobert.io import atomic_path, read_json, write_json
from videobert.log import get_logger

_LOG = get_logger("index")
CURRENT = "CURRENT"
COLUMNS = ("video_id", "video", "start", "end", "first_clip", "last_clip", "words", "source",
           "thumbnail")


@dataclasses.dataclass(frozen=True)
class Hit:
    score: float  # cosine of text and window embeddings
    video_id: str
    video: str
    start: float  # seconds
    end: float
    words: list[int]
    row: int = -1  # the window's row in the index version searched (its thumbnail: thumbnail())


def _video_id(path: Path, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem) or "video"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def _source(path: Path) -> str:
    from videobert.fingerprint import digest, file_fingerprint

    return digest(file_fingerprint(path))


class ClipIndex:
    def __init__(self, folder: Path, version: str | None, meta: dict[str, Any],
                 items: dict[str, list], vectors: Any) -> None:
        self.folder, self.version, self.meta = folder, version, meta
        self.items = items
        self.faiss = vectors  # the faiss index of the current version (None: empty)

    @property
    def vectors(self) -> np.ndarray:
        """The stored window embeddings, (n_items, dim) float32 (read back for ``add``)."""
        if self.faiss is None or self.faiss.ntotal == 0:
            return np.zeros((0, 0), np.float32)
        return self.faiss.reconstruct_n(0, self.faiss.ntotal)

    # -- reading ------------------------------------------------------------------------------

    @classmethod
    def open(cls, folder: str | Path, create: bool = False) -> ClipIndex:
        """The complete version of an index folder; ``create``: an empty index if none."""
        import faiss
        import pyarrow.parquet as pq

        folder = Path(folder)
        pointer = folder / CURRENT
        if not pointer.is_file():
            if create:
                return cls(folder, None, {}, {c: [] for c in COLUMNS}, None)
            raise FileNotFoundError(f"{folder} is not a clip index (no {CURRENT} file; "
                                    "`videobert index add VIDEOS --model M --out DIR` makes one)")
        version = pointer.read_text().strip()
        part = folder / version
        try:
            meta = read_json(part / "meta.json")
            table = pq.read_table(part / "items.parquet").to_pydict()
            index = faiss.read_index(str(part / "index.faiss"))
        except (OSError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{part}: the index version named by {pointer} is unreadable "
                             f"({exc})") from exc
        n = len(table["video_id"])
        table.setdefault("thumbnail", [b""] * n)  # an index written before thumbnails
        return cls(folder, version, meta, {c: table[c] for c in COLUMNS}, index)

    def thumbnail(self, row: int) -> bytes:
        """The JPEG of window ``row`` (b"" when it has none)."""
        if not 0 <= row < len(self):
            raise IndexError(f"no window {row} in {self.folder} ({len(self)} windows)")
        return self.items["thumbnail"][row] or b""

    def __len__(self) -> int:
        return len(self.items["video_id"])

    def search(self, pipeline: Any, text: str, k: int = 5) -> list[Hit]:
        """The ``k`` windows whose video embedding is closest to the sentence's."""
        if len(self) == 0:
            return []
        self._check_model(pipeline)
        query = pipeline.embed(text=text).astype(np.float32)[None]
        scores, rows = self.faiss.search(query, min(k, len(self)))
        it = self.items
        return [Hit(float(s), it["video_id"][r], it["video"][r], float(it["start"][r]),
                    float(it["end"][r]), list(it["words"][r]), int(r))
                for s, r in zip(scores[0].tolist(), rows[0].tolist(), strict=True) if r >= 0]

    def _check_model(self, pipeline: Any) -> None:
        made_with = self.meta.get("model")
        if made_with and Path(made_with).resolve() != Path(pipeline.model_dir).resolve():
            raise ValueError(f"{self.folder} was built with the model {made_with}, not "
                             f"{pipeline.model_dir}: its embeddings do not compare")

    # -- growing ------------------------------------------------------------------------------

    def add(self, pipeline: Any, videos: Iterable[str | Path], window: int = 2,
            stride: int = 1) -> dict[str, list[str]]:
        """Embed the windows of new videos and write the next version; returns the videos
        ``added``, ``kept`` (already indexed, unchanged) and ``skipped`` (with the reason)."""
        from videobert.ingest.video import VideoError

        if window < 1 or stride < 1:
            raise ValueError(f"window and stride are clips, >= 1 (got {window}, {stride})")
        if len(self):
            self._check_model(pipeline)
            window, stride = int(self.meta["window"]), int(self.meta["stride"])
        items = {c: list(v) for c, v in self.items.items()}
        vectors = [self.vectors] if len(self) else []
        by_path = {p: s for p, s in zip(items["video"], items["source"], strict=True)}
        report: dict[str, list[str]] = {"added": [], "kept": [], "skipped": []}
        for raw in videos:
            path = Path(raw).resolve()
            source = _source(path) if path.is_file() else None
            if source is not None and by_path.get(str(path)) == source:
                report["kept"].append(str(path))
                continue
            if str(path) in by_path:  # changed since it was indexed: its old windows go
                keep = [i for i, v in enumerate(items["video"]) if v != str(path)]
                items = {c: [v[i] for i in keep] for c, v in items.items()}
                vectors = [np.concatenate(vectors)[keep]] if vectors else []
            try:
                clip_words = pipeline.clip_words(path)
            except (VideoError, ValueError, OSError) as exc:
                _LOG.warning(f"skipped {path}: {exc}")
                report["skipped"].append(f"{path}: {exc}")
                continue
            video_id = _video_id(path, set(items["video_id"]))
            n = len(clip_words.words)
            starts = list(range(0, max(1, n - window + 1), stride))
            for first in starts:
                last = min(n, first + window) - 1
                words = clip_words.words[first : last + 1]
                vectors.append(pipeline.embed(video=clip_words.window(first, last)
                                              ).astype(np.float32)[None])
                start, end = clip_words.span(first, last)
                thumb = _jpeg(clip_words, (first + last) // 2)
                for column, value in zip(COLUMNS, (video_id, str(path), start, end, first, last,
                                                   [int(w) for w in words], source, thumb),
                                         strict=True):
                    items[column].append(value)
            by_path[str(path)] = source
            report["added"].append(str(path))
            _LOG.info(f"{path.name}: {len(starts)} windows")
        if not report["added"] and (self.version is not None or not vectors):
            return report  # nothing new: the current version stays as it is
        self._write(pipeline, items, np.concatenate(vectors), window, stride)
        return report

    def _write(self, pipeline: Any, items: dict[str, list], vectors: np.ndarray, window: int,
               stride: int) -> None:
        import faiss
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.folder.mkdir(parents=True, exist_ok=True)
        number = int(self.version[1:]) + 1 if self.version else 1
        version = f"v{number:06d}"
        part = self.folder / version
        shutil.rmtree(part, ignore_errors=True)  # a version left by a killed add
        part.mkdir()
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(index, str(part / "index.faiss"))
        schema = pa.schema([("video_id", pa.string()), ("video", pa.string()),
                            ("start", pa.float64()), ("end", pa.float64()),
                            ("first_clip", pa.int32()), ("last_clip", pa.int32()),
                            ("words", pa.list_(pa.int32())), ("source", pa.string()),
                            ("thumbnail", pa.binary())])
        pq.write_table(pa.table(items, schema=schema), part / "items.parquet")
        meta = {"model": str(Path(pipeline.model_dir).resolve()), "dim": int(vectors.shape[1]),
                "window": window, "stride": stride, "n_items": len(items["video_id"]),
                "n_videos": len(set(items["video"]))}
        write_json(part / "meta.json", meta)
        with atomic_path(self.folder / CURRENT) as tmp:  # the switch: one rename
            tmp.write_text(version + "\n")
        old = self.version
        self.version, self.meta, self.items, self.faiss = version, meta, items, index
        if old:
            shutil.rmtree(self.folder / old, ignore_errors=True)
        for stale in self.folder.glob("v*"):  # versions of killed runs
            if stale.is_dir() and stale.name != version:
                shutil.rmtree(stale, ignore_errors=True)
        _LOG.info(f"{self.folder}: {meta['n_items']} windows of {meta['n_videos']} videos "
                  f"({version})")


def _jpeg(clip_words: Any, clip: int) -> bytes:
    """The middle frame of a clip as a JPEG, when the pipeline kept the frames."""
    frames = getattr(clip_words, "thumbnails", None)
    if frames is None or not 0 <= clip < len(frames):
        return b""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.asarray(frames[clip], np.uint8)).save(out, "JPEG", quality=85)
    return out.getvalue()


def list_videos(source: str | Path) -> list[Path]:
    """A video file, or the videos of a folder or CSV/JSONL manifest (as ingest finds them)."""
    from videobert.ingest.stage import MANIFEST_SUFFIXES, find_inputs
    from videobert.io import StageReport

    source = Path(source)
    if source.is_file() and source.suffix.lower() not in MANIFEST_SUFFIXES:
        return [source]
    return [item.video for item in find_inputs(source, StageReport("index")) if item.video]
