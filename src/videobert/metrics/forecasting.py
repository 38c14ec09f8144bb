"""Top-k accuracy of predicted next visual words (video forecasting).

The model scores candidates for each future clip; the target is the visual word the codebook
assigned to that clip. Scores may cover only the visual words (``V = n_visual`` columns, targets
are codebook word indices) or the whole joint vocabulary (pass the ``VocabLayout``; targets are
then token ids). In the joint case only visual-word columns compete: a forecast is a visual word,
so text tokens the model happens to rate highly must not push the true word out of the top k.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from videobert.metrics.classification import topk_accuracy
from videobert.metrics.ranking import to_numpy
from videobert.vocab import VocabLayout


def forecast_topk_accuracy(
    scores: Any,
    targets: Any,
    ks: Sequence[int] = (1, 5),
    *,
    layout: VocabLayout | None = None,
    ignore_index: int | None = -100,
    ties: str = "optimistic",
) -> dict[str, float]:
    """``{"top1": ..., "top5": ...}`` over every forecast step that has a target.

    scores: (..., V) scores for each forecast step, e.g. (N, horizon, V); higher = better.
    targets: (...) the true next visual word of each step, same leading shape as ``scores``.
    layout: when given, ``scores`` covers the joint vocabulary (``layout.size`` columns) and
        ``targets`` are token ids; both are mapped to codebook word indices first.
    ignore_index: steps whose target equals it are left out (padding past a video's end).
    """
    s = to_numpy(scores, "scores")
    t = to_numpy(targets, "targets")
    if s.ndim < 2 or s.shape[:-1] != t.shape:
        raise ValueError(
            f"scores (..., V) and targets (...) must share leading dims; got {s.shape}, {t.shape}"
        )
    s = s.reshape(-1, s.shape[-1])
    t = t.reshape(-1)
    if ignore_index is not None:
        keep = t != ignore_index
        s, t = s[keep], t[keep]
    if layout is not None:
        if s.shape[1] != layout.size:
            raise ValueError(
                f"scores have {s.shape[1]} columns but the vocabulary layout has {layout.size}"
            )
        not_visual = np.nonzero(~layout.is_visual(t))[0]
        if not_visual.size:
            raise ValueError(
                f"{not_visual.size} target(s) are not visual-word token ids "
                f"(first: {t[not_visual[:5]].tolist()}; visual ids start at {layout.visual_offset})"
            )
        s = s[:, layout.visual_offset :]
        t = np.asarray(layout.token_to_visual(t))
    return topk_accuracy(s, t, ks, ties=ties)
