"""Narration that looks like an ASR transcript of a cooking video, and its subtitle files.

The noise is the kind real how-to transcripts have: lower case without punctuation, sentence
times off by up to ``JITTER`` seconds from the action they describe, filler sentences about
nothing on screen, and some steps never mentioned at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videobert.io import atomic_path

if TYPE_CHECKING:
    from videobert.synth.plan import Step

JITTER = 1.5  # seconds: a cue boundary lies within this of its step's boundary
MIN_CUE = 1.5  # seconds: shortest narrated cue (a sentence takes time to say)
FILLER_LEN = (1.4, 2.2)  # seconds
PAUSE_P = 0.75  # share of neighbouring sentences with a pause between them
PAUSE = (1.1, 1.6)  # seconds of that pause
FILLERS_PER_VIDEO = (1, 2)  # attempts; a filler goes only where nobody is speaking

TEMPLATES: tuple[str, ...] = (
    "now let me show you how to {verb} the {noun}",
    "next you {verb} the {noun}",
    "then {verb} the {noun} like this",
    "ok we {verb} the {noun}",
    "and now we {verb} the {noun}",
    "you want to {verb} the {noun} slowly",
)

# Unrelated to the picture; none contains a verb or noun of the dataset (checked in the tests).
FILLERS: tuple[str, ...] = (
    "dont forget to subscribe",
    "this recipe is from my grandmother",
    "hi everyone welcome back to my kitchen",
    "let me know in the comments what you think",
    "my kids really love this one",
    "it smells so good already",
    "thanks for watching see you next time",
    "make sure your hands are clean",
    "i usually do this on sunday mornings",
    "you can find the full list below",
)


@dataclasses.dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    step: int | None  # index of the step it narrates; None for a filler


def _place_fillers(cues: list[Cue], duration: float, rng: np.random.Generator) -> list[Cue]:
    fillers = []
    for _ in range(int(rng.integers(FILLERS_PER_VIDEO[0], FILLERS_PER_VIDEO[1] + 1))):
        taken = sorted([(c.start, c.end) for c in cues + fillers])
        free, t = [], 0.0
        for s, e in taken + [(duration, duration)]:
            if s - t >= FILLER_LEN[0] + 0.2:
                free.append((t + 0.1, s - 0.1))
            t = max(t, e)
        if not free:
            break
        lo, hi = free[int(rng.integers(len(free)))]
        length = min(float(rng.uniform(*FILLER_LEN)), hi - lo)
        start = float(rng.uniform(lo, hi - length))
        text = FILLERS[int(rng.integers(len(FILLERS)))]
        fillers.append(Cue(round(start, 3), round(start + length, 3), text, None))
    return fillers


def plan_cues(steps: Sequence[Step], duration: float, rng: np.random.Generator) -> list[Cue]:
    """Narration cues for the narrated steps, plus fillers in silent stretches; sorted and
    never overlapping; every step cue's start and end lie within ``JITTER`` of its step's."""
    spans: list[list[float]] = []
    owners: list[int] = []
    texts: list[str] = []
    for i, step in enumerate(steps):
        template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
        start = step.start + rng.uniform(-JITTER, JITTER)
        # Never shorter than MIN_CUE; this keeps end <= step.end + JITTER as steps last >= 3 s.
        end = max(step.end + rng.uniform(-JITTER, JITTER), start + MIN_CUE)
        if not step.narrated:
            continue
        spans.append([max(0.0, start), min(duration, end)])
        owners.append(i)
        texts.append(template.format(verb=step.verb, noun=step.noun))
    # Overlapping neighbours meet at a point inside the overlap: any such point is within
    # JITTER of both steps' boundaries, since both cues' bounds were.
    for k in range(len(spans) - 1):
        a, b = spans[k], spans[k + 1]
        if a[1] > b[0]:
            meet = min(max((a[0] + b[1]) / 2, b[0]), a[1])
            a[1] = b[0] = meet
    # Speakers usually pause between instructions: open a silence between neighbours, keeping
    # every boundary within its JITTER bound and every cue at least MIN_CUE long.
    for k in range(len(spans) - 1):
        a, b = spans[k], spans[k + 1]
        want = float(rng.uniform(*PAUSE)) if rng.random() < PAUSE_P else 0.0
        earliest_end = max(steps[owners[k]].end - JITTER, a[0] + MIN_CUE)
        latest_start = min(steps[owners[k + 1]].start + JITTER, b[1] - MIN_CUE)
        want = min(want, latest_start - earliest_end)
        if want > b[0] - a[1]:
            cut = min(max((a[1] + b[0] - want) / 2, earliest_end), latest_start - want)
            a[1], b[0] = min(a[1], cut), max(b[0], cut + want)
    cues = [
        Cue(round(s, 3), round(e, 3), text, owner)
        for (s, e), text, owner in zip(spans, texts, owners, strict=True)
    ]
    cues += _place_fillers(cues, duration, rng)
    return sorted(cues, key=lambda c: c.start)


def _timestamp(seconds: float, sep: str) -> str:
    ms = round(seconds * 1000)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def srt_text(cues: Sequence[Cue]) -> str:
    blocks = [
        f"{i}\n{_timestamp(c.start, ',')} --> {_timestamp(c.end, ',')}\n{c.text}\n"
        for i, c in enumerate(cues, 1)
    ]
    return "\n".join(blocks)


def vtt_text(cues: Sequence[Cue]) -> str:
    blocks = [f"{_timestamp(c.start, '.')} --> {_timestamp(c.end, '.')}\n{c.text}\n" for c in cues]
    return "WEBVTT\n\n" + "\n".join(blocks)


def write_subtitles(path: str | Path, cues: Sequence[Cue]) -> Path:
    """Write ``cues`` as SRT or WebVTT, chosen by the suffix of ``path``."""
    path = Path(path)
    if path.suffix == ".srt":
        text = srt_text(cues)
    elif path.suffix == ".vtt":
        text = vtt_text(cues)
    else:
        raise ValueError(f"{path}: subtitle suffix must be .srt or .vtt")
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
