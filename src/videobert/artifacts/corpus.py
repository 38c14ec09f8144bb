"""The corpus folder (the corpus stage's output), read back for pretraining: ``meta.json``
(the vocabulary layout, the tokenizer, the codebook it was built from), ``shard-*.parquet``
(one row per sentence: text ids, visual words, clip span) and ``videos.parquet`` (every clip's
word per video). The corpus stage (``sequences.corpus``) writes it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from videobert.io import read_json
from videobert.vocab import VocabLayout


class CorpusError(ValueError):
    """A corpus folder that does not follow docs/formats.md."""


@dataclasses.dataclass
class Segment:
    video_id: str
    text_ids: np.ndarray  # (L_t,) WordPiece ids
    visual_ids: np.ndarray  # (L_v,) codebook word indices (not token ids)
    first_clip: int
    last_clip: int


@dataclasses.dataclass
class ClipView:
    """One augmented view of every video's clips: its visual words and normalised features."""

    folder: Path
    words: dict[str, np.ndarray]  # video_id -> every clip's word index
    features: dict[str, np.ndarray]  # video_id -> (n_clips, D) float16


@dataclasses.dataclass
class Corpus:
    folder: Path
    layout: VocabLayout
    meta: dict
    segments: list[Segment]  # grouped by video, in time order
    videos: dict[str, np.ndarray]  # video_id -> every clip's word index

    @classmethod
    def load(cls, folder: str | Path) -> Corpus:
        folder = Path(folder)
        meta_path = folder / "meta.json"
        if not meta_path.exists():
            raise CorpusError(f"{meta_path}: missing (is {folder} a corpus folder?)")
        meta = read_json(meta_path)
        if "layout" not in meta:
            raise CorpusError(f"{meta_path}: no 'layout' entry")
        layout = VocabLayout.from_dict(meta["layout"])
        shards = sorted(folder.glob("shard-*.parquet"))
        if not shards:
            raise CorpusError(f"{folder}: no shard-*.parquet files")
        needed = ["video_id", "start", "text_ids", "visual_ids", "first_clip", "last_clip"]
        rows: list[tuple] = []
        for shard in shards:
            table = pq.read_table(shard)
            missing = [c for c in needed if c not in table.column_names]
            if missing:
                raise CorpusError(f"{shard}: missing columns {missing}")
            cols = {c: table.column(c).to_pylist() for c in needed}
            rows.extend(zip(*(cols[c] for c in needed), strict=True))
        rows.sort(key=lambda r: (r[0], r[1], r[4]))
        segments = [
            Segment(vid, np.asarray(t, np.int64), np.asarray(v, np.int64), int(a), int(b))
            for vid, _start, t, v, a, b in rows
        ]
        videos: dict[str, np.ndarray] = {}
        videos_path = folder / "videos.parquet"
        if videos_path.exists():
            table = pq.read_table(videos_path)
            for vid, words in zip(
                table.column("video_id").to_pylist(),
                table.column("visual_ids").to_pylist(),
                strict=True,
            ):
                videos[vid] = np.asarray(words, np.int64)
        corpus = cls(folder, layout, meta, segments, videos)
        corpus._check_ids()
        return corpus

    def _check_ids(self) -> None:
        for seg in self.segments:
            text = seg.text_ids
            if text.size and (text.min() < 0 or text.max() >= self.layout.n_text):
                raise CorpusError(f"{self.folder}: video {seg.video_id} has text ids outside "
                                  f"[0, {self.layout.n_text})")
            if seg.visual_ids.size and (
                seg.visual_ids.min() < 0 or seg.visual_ids.max() >= self.layout.n_visual
            ):
                raise CorpusError(f"{self.folder}: video {seg.video_id} has visual words outside "
                                  f"[0, {self.layout.n_visual}) (codebook size)")

    @property
    def video_ids(self) -> list[str]:
        return sorted({s.video_id for s in self.segments})

    def split(self, val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
        """(train, held-out) video ids: a seeded shuffle, at least one held-out video when the
        fraction is positive and there are two videos or more."""
        ids = self.video_ids
        order = np.random.default_rng(seed).permutation(len(ids))
        n_val = math.ceil(val_fraction * len(ids)) if val_fraction > 0 and len(ids) > 1 else 0
        n_val = min(n_val, len(ids) - 1) if len(ids) > 1 else 0
        val = sorted(ids[i] for i in order[:n_val])
        train = sorted(ids[i] for i in order[n_val:])
        return train, val

    def codebook_dir(self) -> Path | None:
        """The codebook folder named in meta.json (absolute, or relative to the corpus)."""
        for key in ("codebook", "codebook_dir", "codebook_folder"):
            if self.meta.get(key):
                path = Path(self.meta[key])
                path = path if path.is_absolute() else (self.folder / path)
                return path if path.exists() else None
        return None

    def _features_source(self) -> tuple[Path, dict, Path] | None:
        """(codebook folder, its meta, the features folder it was fit on), or None when the
        codebook or its features are gone or the corpus cannot place its clips."""
        codebook = self.codebook_dir()
        if codebook is None or not (codebook / "meta.json").is_file() or not self.videos:
            return None
        meta = read_json(codebook / "meta.json")
        features = meta.get("features")
        if not features or not Path(features).is_dir():
            return None
        return codebook, meta, Path(features)

    def _clip_counts(self) -> dict[str, int]:
        return {vid: int(words.size) for vid, words in self.videos.items()}

    def clip_features(self) -> dict[str, np.ndarray] | None:
        """Every video's clip features, normalised as the corpus's codebook recorded (for a
        model that reads them beside the words); None when they cannot be had: the codebook
        or its features folder is gone, or the corpus cannot place its clips (no
        ``videos.parquet``)."""
        source = self._features_source()
        if source is None:
            return None
        from videobert.artifacts.features import normalized_clip_features
        from videobert.visual_words.stage import feature_blocks

        _, meta, features = source
        return normalized_clip_features(features, meta.get("normalize", "none"),
                                        self._clip_counts(), feature_blocks(meta))

    def clip_views(self) -> list[ClipView]:
        """The augmented views of the corpus's clips (``features.views``): each complete view
        folder's features, normalised as the codebook saw the plain ones, and the words the
        codebook gives them. [] when there are none."""
        source = self._features_source()
        if source is None or not (source[2] / "views").is_dir():
            return []
        from videobert.artifacts.features import normalized_clip_features
        from videobert.visual_words.hkmeans import Codebook
        from videobert.visual_words.stage import feature_blocks

        codebook, meta, features = source
        tree = Codebook.load(codebook)
        counts, blocks = self._clip_counts(), feature_blocks(meta)
        views = []
        done = [d for d in (features / "views").iterdir() if (d / "manifest.json").is_file()]
        for folder in sorted(done, key=lambda d: (len(d.name), d.name)):  # 2 before 10
            table = normalized_clip_features(folder, meta.get("normalize", "none"), counts,
                                             blocks)
            words = {vid: tree.assign(x.astype(np.float32)).astype(np.int64)
                     for vid, x in table.items()}
            views.append(ClipView(folder, words, table))
        return views

    def tokenizer_source(self) -> str | None:
        """The corpus's own tokenizer copy (``tokenizer_dir``), else the source it names."""
        copy = self.meta.get("tokenizer_dir")
        if copy and (self.folder / copy).is_dir():
            return str(self.folder / copy)
        value = self.meta.get("tokenizer")
        if isinstance(value, dict):  # {"name": ..., "path": ...}
            value = value.get("path") or value.get("name")
        return str(value) if value else None
