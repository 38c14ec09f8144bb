"""Ground-truth steps with their clips' visual words: the examples every task evaluates on.

A ground-truth file (the synthetic dataset's ``ground_truth.json``, or any file of that shape) is
``{"verbs": [...], "nouns": [...], "videos": {id: {"split": "train"|"val", "steps": [{"verb",
"noun", "start", "end", "caption", "narrated"}]}}}``, or YouCook2's own annotation file
(``formats.youcook2``: its splits, a step per segment, verb and noun read from the sentence).
A step's clips are those whose time span
``[i * clip_s, (i + 1) * clip_s)`` overlaps the step's ``[start, end)``; their visual words come
from the codebook's ``assignments.parquet`` (``video_id``, ``clip``, ``word``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from videobert.artifacts.words import DEFAULT_CLIP_SECONDS
from videobert.formats import FormatError, youcook2


@dataclasses.dataclass(frozen=True)
class Step:
    """One ground-truth step of one video, with the visual words of the clips it covers."""

    video_id: str
    split: str
    index: int  # position of the step in its video
    verb: str
    noun: str
    start: float
    end: float
    caption: str
    narrated: bool
    first_clip: int
    last_clip: int  # inclusive
    words: tuple[int, ...]  # codebook word of each clip first_clip..last_clip
    narration: str | None = None  # what the narrator said about the step, if anything
    # (len(words), F) normalised clip features, for a model that reads them beside the words
    features: np.ndarray | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def clips(self):  # -> inputs.Clips
        from videobert.tasks.inputs import Clips

        return Clips(self.words, self.features)


@dataclasses.dataclass
class GroundTruth:
    verbs: list[str]
    nouns: list[str]
    videos: dict[str, dict]
    path: Path | None = None
    # What makes a retrieval gallery item correct for a query: "action" (the query step's verb
    # and noun: synthetic steps of one action share one caption, no score can tell them apart)
    # or "caption" (its own clip, or one with the very same sentence: YouCook2's protocol).
    relevance: str = "action"
    # How the verb and noun lists were made when the file did not give them (YouCook2): the
    # method, the sizes, and the steps outside them per split (``formats.youcook2``).
    vocabulary: dict | None = None


def read_word_list(path: str | Path) -> list[str]:
    """One word (or phrase) per line; blank lines and ``#`` comments are ignored."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"word list {path} does not exist")
    words = [line.strip() for line in path.read_text().splitlines()]
    words = [w for w in words if w and not w.startswith("#")]
    if not words:
        raise ValueError(f"word list {path} is empty")
    if len(set(words)) != len(words):
        dupes = sorted({w for w in words if words.count(w) > 1})
        raise ValueError(f"word list {path} repeats {dupes}")
    return words


def load_ground_truth(path: str | Path) -> GroundTruth:
    """Read and check a ground-truth file; every problem is a one-line ``ValueError`` (or
    ``FileNotFoundError``) naming the file and the place in it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"ground truth {path} does not exist")
    if not path.is_file():
        raise ValueError(f"ground truth {path} is a folder, not a JSON file")
    try:
        data = json.loads(path.read_text())
    except UnicodeDecodeError as exc:
        raise ValueError(f"ground truth {path} is not a text (JSON) file: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"ground truth {path} is not valid JSON: {exc}") from exc
    relevance = "action"
    if youcook2.is_annotation_file(data):
        try:
            data = youcook2.ground_truth(data, path)
        except FormatError as exc:
            raise ValueError(f"ground truth {exc}") from exc
        relevance = "caption"
    check_ground_truth(data, path)
    return GroundTruth(list(data["verbs"]), list(data["nouns"]), dict(data["videos"]), path,
                       relevance, data.get("vocabulary"))


def check_ground_truth(data: object, path: str | Path) -> None:
    """The shape the tasks rely on (see docs/formats.md), checked before any work is done."""

    def fail(where: str, what: str) -> None:
        raise ValueError(f"ground truth {path}: {where} {what}")

    if not isinstance(data, dict):
        fail("the top level", f"must be an object with verbs, nouns, videos, not "
             f"{type(data).__name__}")
    for key in ("verbs", "nouns", "videos"):
        if key not in data:
            raise ValueError(f"ground truth {path} has no {key!r} key")
    for key in ("verbs", "nouns"):
        labels = data[key]
        if not isinstance(labels, list) or not labels or not all(
                isinstance(x, str) for x in labels):
            fail(f"{key!r}", "must be a non-empty list of strings")
    if not isinstance(data["videos"], dict):
        fail("'videos'", "must be an object {video_id: {split, steps}}")
    for video_id, video in data["videos"].items():
        where = f"video {video_id!r}"
        if not isinstance(video, dict):
            fail(where, "must be an object with 'split' and 'steps'")
        if "steps" not in video or "split" not in video:
            raise ValueError(f"ground truth {path}: video {video_id!r} needs 'split' and 'steps'")
        if not isinstance(video["split"], str):
            fail(where, f"'split' must be a string (train or val), not {video['split']!r}")
        if not isinstance(video["steps"], list):
            fail(where, "'steps' must be a list")
        for i, step in enumerate(video["steps"]):
            if not isinstance(step, dict):
                fail(f"{where} step {i}", "must be an object")
            missing = {"verb", "noun", "start", "end"} - set(step)
            if missing:
                raise ValueError(
                    f"ground truth {path}: video {video_id!r} step {i} lacks {sorted(missing)}"
                )
            for key in ("start", "end"):
                value = step[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or not (
                        math.isfinite(value)):
                    fail(f"{where} step {i}", f"{key!r} must be a number of seconds, "
                         f"not {value!r}")
            if step["end"] < step["start"]:
                fail(f"{where} step {i}", f"ends ({step['end']}) before it starts "
                     f"({step['start']})")
            for key in ("verb", "noun"):
                if not isinstance(step[key], str):
                    fail(f"{where} step {i}", f"{key!r} must be a string, not {step[key]!r}")


def load_video_words(assignments: str | Path) -> dict[str, np.ndarray]:
    """``assignments.parquet`` (or the words folder holding it) -> {video_id: int64 array of
    each clip's word, in clip order}; a clip missing from the file gets -1."""
    from videobert.artifacts.words import VisualWords

    path = Path(assignments)
    folder = path if path.is_dir() else path.parent
    if not path.is_dir() and not path.exists():
        raise FileNotFoundError(f"clip assignments {path} do not exist (run `codebook` or "
                                "`codebook assign`)")
    return VisualWords.open(folder).by_video()


def clip_seconds(words_dir: str | Path | None) -> float:
    """Clip length from a words or codebook folder's ``meta.json``; ingest defaults else."""
    from videobert.artifacts.words import META_FILE, VisualWords

    if words_dir is None:
        return DEFAULT_CLIP_SECONDS
    meta_path = Path(words_dir) / META_FILE
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return VisualWords(Path(words_dir), meta).clip_seconds


def overlapping_clips(start: float, end: float, clip_s: float, n_clips: int) -> range:
    """Clips ``i`` with ``[i*clip_s, (i+1)*clip_s)`` overlapping ``[start, end)``."""
    first = max(0, math.floor(start / clip_s + 1e-9))
    last = min(n_clips - 1, math.ceil(end / clip_s - 1e-9) - 1)
    return range(first, max(first, last + 1))


def load_steps(
    ground_truth: GroundTruth,
    video_words: dict[str, np.ndarray],
    clip_s: float = DEFAULT_CLIP_SECONDS,
    splits: Iterable[str] | None = None,
    clip_features: dict[str, np.ndarray] | None = None,
) -> tuple[list[Step], list[tuple[str, str]]]:
    """Steps with visual words (and their clips' features, when given), and (what, why) for
    each step left out (no clips, no video)."""
    wanted = None if splits is None else set(splits)
    steps: list[Step] = []
    skipped: list[tuple[str, str]] = []
    for video_id, video in ground_truth.videos.items():
        if wanted is not None and video["split"] not in wanted:
            continue
        words = video_words.get(video_id)
        if words is None:
            skipped.append((video_id, "no visual words in the assignments"))
            continue
        for i, s in enumerate(video["steps"]):
            clips = [c for c in overlapping_clips(s["start"], s["end"], clip_s, len(words))
                     if words[c] >= 0]
            if not clips:
                skipped.append((f"{video_id} step {i}", "no clip overlaps the step"))
                continue
            steps.append(Step(
                video_id=video_id, split=video["split"], index=i, verb=s["verb"],
                noun=s["noun"], start=float(s["start"]), end=float(s["end"]),
                caption=s.get("caption") or f"{s['verb']} the {s['noun']}",
                narrated=bool(s.get("narrated", True)), first_clip=clips[0], last_clip=clips[-1],
                words=tuple(int(words[c]) for c in clips), narration=s.get("narration"),
                features=None if clip_features is None else clip_features[video_id][clips],
            ))
    return steps, skipped
