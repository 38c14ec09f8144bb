"""Sentence -> clip range on the clip grid of ``docs/formats.md``.

Clip ``i`` covers ``[i * clip_frames / fps, (i + 1) * clip_frames / fps)`` seconds; a sentence
maps to every clip it overlaps, clamped to the video's clips.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from videobert.ingest.sentences import Sentence

_EPS = 1e-9


@dataclasses.dataclass(frozen=True)
class Segment:
    video_id: str
    start: float
    end: float
    text: str
    first_clip: int  # inclusive
    last_clip: int  # inclusive


def clip_range(
    start: float, end: float, n_clips: int, fps: float = 20.0, clip_frames: int = 30
) -> tuple[int, int] | None:
    """``(first_clip, last_clip)`` inclusive for a span of seconds, or None when the span lies
    outside the video's clips (starts at or after the end of the last clip, or ends before 0)."""
    seconds = clip_frames / fps
    if n_clips <= 0 or end < 0 or start >= n_clips * seconds - _EPS:
        return None
    first = min(n_clips - 1, max(0, math.floor(start / seconds + _EPS)))
    last = min(n_clips - 1, max(0, math.ceil(end / seconds - _EPS) - 1))
    return first, max(first, last)


def align(
    sentences: Sequence[Sentence], video_id: str, n_clips: int, fps: float = 20.0,
    clip_frames: int = 30,
) -> list[Segment]:
    """Segments for the sentences that fall inside the video; others are left out."""
    segments = []
    for s in sentences:
        span = clip_range(s.start, s.end, n_clips, fps, clip_frames)
        if span is not None:
            segments.append(Segment(video_id, s.start, s.end, s.text, *span))
    return segments
