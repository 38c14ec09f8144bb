"""A visual-words folder: the codebook word of every clip of a set of videos.

Written by the ``codebook`` stage (for the clips it was fit on) and by ``codebook assign`` (an
existing codebook applied to new features). Files: ``assignments.parquet`` (``video_id`` str,
``clip`` int32, ``word`` int32; every assigned clip) and ``meta.json`` (written last: ``fps``,
``clip_frames``, ``n_words``, ``features`` folder and the sha1 of its manifest, ...).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from videobert.io import atomic_path, read_json

ASSIGNMENTS_FILE = "assignments.parquet"
META_FILE = "meta.json"
DEFAULT_CLIP_SECONDS = 30 / 20.0  # ingest defaults: 30 frames at 20 fps


def file_sha1(path: str | Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


@dataclasses.dataclass(frozen=True)
class VisualWords:
    folder: Path
    meta: dict[str, Any]

    @classmethod
    def open(cls, folder: str | Path) -> VisualWords:
        """A complete words folder; a missing part is a one-line ``FileNotFoundError``."""
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"visual-words folder {folder} does not exist "
                                    "(`videobert codebook` or `codebook assign` writes one)")
        if not (folder / ASSIGNMENTS_FILE).is_file():
            raise FileNotFoundError(f"{folder} has no {ASSIGNMENTS_FILE}: not a visual-words "
                                    "folder (run `videobert codebook assign CODEBOOK FEATURES "
                                    "--out DIR` for new videos)")
        meta_path = folder / META_FILE
        meta = read_json(meta_path) if meta_path.is_file() else {}
        return cls(folder, meta)

    @staticmethod
    def exists(folder: str | Path) -> bool:
        return (Path(folder) / ASSIGNMENTS_FILE).is_file()

    @property
    def path(self) -> Path:
        return self.folder / ASSIGNMENTS_FILE

    @property
    def clip_seconds(self) -> float:
        """Clip length from ``meta.json`` (fps, clip_frames); the ingest defaults without it."""
        if "fps" in self.meta and "clip_frames" in self.meta:
            return float(self.meta["clip_frames"]) / float(self.meta["fps"])
        return DEFAULT_CLIP_SECONDS

    @property
    def features_dir(self) -> Path | None:
        folder = self.meta.get("features")
        return Path(folder) if folder and Path(folder).is_dir() else None

    def table(self) -> Any:
        """The assignments as a ``pyarrow.Table`` (video_id, clip, word)."""
        import pyarrow.parquet as pq

        try:
            return pq.read_table(self.path, columns=["video_id", "clip", "word"])
        except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for bad files
            raise ValueError(f"{self.path}: not a readable assignments file ({exc})") from exc

    def by_video(self) -> dict[str, np.ndarray]:
        """{video_id: int64 word of each clip, in clip order}; a clip missing from the file
        (skipped upstream) gets -1, so indices stay clip numbers."""
        table = self.table().to_pydict()
        by_video: dict[str, dict[int, int]] = {}
        for vid, clip, word in zip(table["video_id"], table["clip"], table["word"], strict=True):
            by_video.setdefault(str(vid), {})[int(clip)] = int(word)
        out = {}
        for vid, clips in by_video.items():
            words = np.full(max(clips) + 1, -1, dtype=np.int64)
            for clip, word in clips.items():
                words[clip] = word
            out[vid] = words
        return out

    def strict_by_video(self, n_words: int) -> dict[str, np.ndarray]:
        """{video_id: word of each clip}, for consumers that need every clip: a word outside
        ``[0, n_words)`` or a missing or repeated clip is a ``ValueError`` naming the file."""
        table = self.table()
        # integer codes per video (no Python string per clip), then one sort by (video, clip)
        encoded = table.column("video_id").combine_chunks().dictionary_encode()
        names = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        clips = table.column("clip").to_numpy().astype(np.int64)
        words = table.column("word").to_numpy().astype(np.int64)
        if len(words) and (words.min() < 0 or words.max() >= n_words):
            raise ValueError(f"{self.path}: words outside [0, {n_words})")
        order = np.lexsort((clips, codes))
        codes, clips, words = codes[order], clips[order], words[order]
        bounds = np.r_[0, np.flatnonzero(np.diff(codes)) + 1, len(codes)] if len(codes) else [0]
        per_video: dict[str, np.ndarray] = {}
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            if not np.array_equal(clips[lo:hi], np.arange(hi - lo)):
                raise ValueError(
                    f"{self.path}: video {names[codes[lo]]} has missing or repeated clips"
                )
            per_video[names[codes[lo]]] = words[lo:hi]
        return per_video


def write_assignments(path: Path, video: np.ndarray, clip: np.ndarray, word: np.ndarray,
                      ids: list[str]) -> None:
    """``assignments.parquet`` from parallel arrays (``video`` indexes ``ids``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    # video index -> id through a dictionary array: no Python string per clip
    video_id = pa.DictionaryArray.from_arrays(
        pa.array(video, type=pa.int32()), pa.array(ids, type=pa.string())
    ).cast(pa.string())
    table = pa.table({
        "video_id": video_id,
        "clip": pa.array(clip, type=pa.int32()),
        "word": pa.array(word.astype(np.int32), type=pa.int32()),
    })
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


FIT_FOLDER_KEY = "fit_folder"  # in a model's codebook/meta.json: where the codebook was fit


def resolve_words(words: str | Path | None, model_dir: str | Path) -> Path:
    """The visual-words folder a task reads: ``words`` when given; else the codebook folder the
    model was trained from (recorded in ``MODEL/codebook/meta.json``), whose words cover the
    videos it was fit on. A model folder never holds its training clips' words itself."""
    if words is not None:
        VisualWords.open(words)  # fail now, naming the folder
        return Path(words)
    codebook = Path(model_dir) / "codebook"
    if VisualWords.exists(codebook):  # a model folder written before the words left it
        return codebook
    meta_path = codebook / META_FILE
    fit = read_json(meta_path).get(FIT_FOLDER_KEY) if meta_path.is_file() else None
    if fit and VisualWords.exists(fit):
        from videobert.log import get_logger

        get_logger("tasks").info(f"visual words from {fit}, the codebook this model was "
                                 "trained with (--words DIR for other videos)")
        return Path(fit)
    raise FileNotFoundError(
        f"no visual words for the data: give --words DIR (`videobert prepare {model_dir} "
        f"VIDEOS --out D` writes D/words; the training codebook {fit or '(unrecorded)'} is "
        "not there)"
    )
