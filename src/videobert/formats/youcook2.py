"""YouCook2's ``youcookii_annotations_trainval.json``, read as distributed.

``{"database": {VIDEO_ID: {"duration": s, "subset": "training"|"validation"|"testing",
"recipe_type": str, "video_url": str, "annotations": [{"segment": [start, end], "id": int,
"sentence": str}]}}}``, times in seconds, ``VIDEO_ID`` the YouTube id (the videos' file stems).

Two uses: each annotation is a sentence of its video for ingest (``sentences``), and the file
is a ground truth for the tasks (``ground_truth``): split from ``subset`` (training -> train,
validation -> val, testing -> test), one step per segment with the sentence as its caption and
the verb and noun that ``verb_noun`` reads from it. The verb and noun vocabularies are the 45
and 100 most common of the **training** split (the paper's sizes; the val labels are not used to
choose them); a step whose verb or noun is outside them keeps its words (captioning and
retrieval use every step) but is left out of classification, and the counts are in
``GroundTruth.vocabulary``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from videobert.formats import FormatError
from videobert.formats.verb_noun import DEFAULT_NOUNS, DEFAULT_VERBS, top_k, verb_noun

SPLITS = {"training": "train", "validation": "val", "testing": "test"}


@dataclasses.dataclass(frozen=True)
class Annotation:
    start: float
    end: float
    sentence: str
    id: int | None = None


@dataclasses.dataclass(frozen=True)
class Video:
    id: str
    split: str  # train | val | test
    duration: float | None
    recipe_type: str | None
    annotations: tuple[Annotation, ...]


def is_annotation_file(data: Any) -> bool:
    """Whether parsed JSON has YouCook2's top-level shape (a ``database`` object)."""
    return isinstance(data, dict) and isinstance(data.get("database"), dict)


def is_annotation_path(path: str | Path) -> bool:
    """Whether a file is a YouCook2 annotation file (False when it is not JSON at all)."""
    try:
        return is_annotation_file(json.loads(Path(path).read_text(encoding="utf-8-sig")))
    except (OSError, UnicodeDecodeError, ValueError):
        return False


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def parse(data: Any, path: str | Path) -> dict[str, Video]:
    """The videos of parsed annotation JSON; a ``FormatError`` names the key that is wrong."""
    if not isinstance(data, dict) or "database" not in data:
        raise FormatError(path, "", "not a YouCook2 annotation file (no 'database' key)")
    database = data["database"]
    if not isinstance(database, dict):
        raise FormatError(path, "'database'", "must be an object {video_id: {...}}")
    videos = {}
    for video_id, entry in database.items():
        where = f"database[{video_id!r}]"
        if not isinstance(entry, dict):
            raise FormatError(path, where, "must be an object with 'subset' and 'annotations'")
        subset = entry.get("subset")
        if subset not in SPLITS:
            raise FormatError(path, f"{where}.subset", f"must be one of {sorted(SPLITS)}, not "
                              f"{subset!r}")
        notes = entry.get("annotations", [])  # the test split is published without them
        if not isinstance(notes, list):
            raise FormatError(path, f"{where}.annotations", "must be a list")
        annotations = [_annotation(a, f"{where}.annotations[{i}]", path)
                       for i, a in enumerate(notes)]
        recipe = entry.get("recipe_type")
        videos[str(video_id)] = Video(
            str(video_id), SPLITS[subset], _seconds(entry.get("duration")),
            None if recipe is None else str(recipe), tuple(annotations))
    return videos


def _annotation(item: Any, where: str, path: str | Path) -> Annotation:
    if not isinstance(item, dict):
        raise FormatError(path, where, "must be an object with 'segment' and 'sentence'")
    segment = item.get("segment")
    times = [_seconds(t) for t in segment] if isinstance(segment, list) else []
    if len(times) != 2 or None in times:
        raise FormatError(path, f"{where}.segment", f"must be [start, end] in seconds, not "
                          f"{segment!r}")
    start, end = times
    if end < start or start < 0:
        raise FormatError(path, f"{where}.segment", f"must have 0 <= start <= end, not "
                          f"{segment!r}")
    sentence = item.get("sentence")
    if not isinstance(sentence, str):
        raise FormatError(path, f"{where}.sentence", f"must be a string, not {sentence!r}")
    ident = item.get("id")
    return Annotation(start, end, " ".join(sentence.split()),
                      ident if isinstance(ident, int) else None)


def sentences(video: Video) -> list[tuple[float, float, str]]:
    """``(start, end, sentence)`` of each annotation, in time order: what ingest aligns."""
    return sorted((a.start, a.end, a.sentence) for a in video.annotations if a.sentence)


def ground_truth(data: Any, path: str | Path, n_verbs: int = DEFAULT_VERBS,
                 n_nouns: int = DEFAULT_NOUNS) -> dict[str, Any]:
    """The tasks' ground-truth dict (``tasks.steps``' shape) of parsed annotation JSON, plus a
    ``vocabulary`` record: how the labels were made and how many steps fall outside them."""
    videos = parse(data, path)
    labelled = {vid: [(a, *verb_noun(a.sentence)) for a in v.annotations]
                for vid, v in videos.items()}
    train = [step for vid, steps in labelled.items() if videos[vid].split == "train"
             for step in steps]
    verbs = top_k(Counter(verb for _, verb, _ in train if verb), n_verbs)
    nouns = top_k(Counter(noun for _, _, noun in train if noun), n_nouns)
    if not verbs or not nouns:
        raise FormatError(path, "", "no training-split annotation has a verb and a noun to "
                          "label the steps with (are the training videos' annotations there?)")
    verb_set, noun_set = set(verbs), set(nouns)
    outside: Counter[str] = Counter()
    no_words: Counter[str] = Counter()
    steps_per_split: Counter[str] = Counter()
    out_videos: dict[str, Any] = {}
    for vid, steps in labelled.items():
        split = videos[vid].split
        rows = []
        for a, verb, noun in steps:
            steps_per_split[split] += 1
            if verb is None or noun is None:
                no_words[split] += 1
            elif verb not in verb_set or noun not in noun_set:
                outside[split] += 1
            rows.append({"verb": verb or "", "noun": noun or "", "start": a.start,
                         "end": a.end, "caption": a.sentence})
        out_videos[vid] = {"split": split, "steps": rows}
    vocabulary = {
        "source": "youcook2",
        "method": "rule-based (videobert.formats.verb_noun): verb = first word of the "
                  "instruction, noun = head of the first noun phrase after it",
        "from_split": "train",
        "n_verbs": len(verbs), "n_nouns": len(nouns),
        "max_verbs": n_verbs, "max_nouns": n_nouns,
        "steps": dict(steps_per_split),
        "no_verb_or_noun": dict(no_words),
        "outside_vocabulary": dict(outside),
    }
    return {"verbs": verbs, "nouns": nouns, "videos": out_videos, "vocabulary": vocabulary}
