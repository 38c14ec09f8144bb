"""Temporal segment matching: how many predicted segments find a true step, at IoU >= 0.5.

A predicted ``(start, end)`` matches a true step when their temporal IoU (intersection over
union of the two intervals) is at least the threshold; each predicted segment matches at most
one true step and each step at most one segment. Pairs are taken greedily by IoU, highest
first (ties: earlier prediction, then earlier step), as detection benchmarks do. For the
segmentations we score (neither the predictions nor the steps overlap among themselves) at
most one step can have IoU > 0.5 with a segment, so greedy is also a maximum matching; the
tests check it against a brute-force search.

Precision = matches / predicted segments, recall = matches / true steps,
F1 = 2 matches / (predicted + true). Summed over videos these are micro averages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

Span = tuple[float, float]


def temporal_iou(a: Span, b: Span) -> float:
    """Intersection over union of two intervals ``(start, end)``; 0 for two empty ones."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def match_segments(
    predicted: Sequence[Span], true: Sequence[Span], threshold: float = 0.5
) -> list[tuple[int, int]]:
    """One-to-one ``(predicted index, true index)`` pairs with IoU >= ``threshold``."""
    for name, spans in (("predicted", predicted), ("true", true)):
        for s in spans:
            if s[1] < s[0]:
                raise ValueError(f"{name} segment {s} ends before it starts")
    candidates = sorted(
        ((temporal_iou(p, t), i, j) for i, p in enumerate(predicted)
         for j, t in enumerate(true)),
        key=lambda c: (-c[0], c[1], c[2]),
    )
    used_p, used_t, pairs = set(), set(), []
    for iou, i, j in candidates:
        if iou < threshold:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            pairs.append((i, j))
    return sorted(pairs)


@dataclasses.dataclass(frozen=True)
class SegmentCounts:
    matched: int
    predicted: int
    true: int

    def __add__(self, other: SegmentCounts) -> SegmentCounts:
        return SegmentCounts(self.matched + other.matched, self.predicted + other.predicted,
                             self.true + other.true)

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else 0.0

    @property
    def f1(self) -> float:
        total = self.predicted + self.true
        return 2 * self.matched / total if total else 0.0


def segment_counts(
    predicted: Sequence[Span], true: Sequence[Span], threshold: float = 0.5
) -> SegmentCounts:
    return SegmentCounts(len(match_segments(predicted, true, threshold)), len(predicted),
                         len(true))
