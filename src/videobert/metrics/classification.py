"""Top-k accuracy and confusion matrices (zero-shot verb/noun classification, forecasting).

Accuracies are fractions in [0, 1]. Top-k is decided by the rank of the true class
(:func:`videobert.metrics.ranking.target_ranks`), so ties are deterministic: by default a class
that scores the same as the true class does not push it down (``ties="optimistic"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from videobert.metrics.ranking import (
    check_ks,
    scores_matrix,
    target_indices,
    target_ranks,
    to_numpy,
)


def topk_key(k: int) -> str:
    """Name of the top-k figure in result dicts: ``top1``, ``top5``..."""
    return f"top{k}"


def topk_accuracy(
    scores: Any,
    targets: Any,
    ks: Sequence[int] = (1, 5),
    *,
    ignore_index: int | None = None,
    ties: str = "optimistic",
) -> dict[str, float]:
    """Fraction of rows whose true class is among the k best-scored classes, for each k.

    scores: (N, C) logits, probabilities or similarities (higher = better).
    targets: (N,) true class indices.
    ks: the k values; ``k >= C`` is allowed and gives 1.0 (the true class is always there).
    ignore_index: rows whose target equals it are left out (e.g. padding, -100).
    Returns ``{"top1": ..., "top5": ...}``.
    """
    ks = check_ks(ks)
    s = scores_matrix(scores)
    t = to_numpy(targets, "targets")
    if ignore_index is not None:
        if t.ndim != 1 or t.shape[0] != s.shape[0]:
            raise ValueError(f"targets must have shape ({s.shape[0]},), got {t.shape}")
        keep = t != ignore_index
        s, t = s[keep], t[keep]
    if s.shape[0] == 0:
        raise ValueError("topk_accuracy needs at least one (non-ignored) row; got none")
    ranks = target_ranks(s, t, ties=ties)
    return {topk_key(k): float(np.mean(ranks <= k)) for k in ks}


def confusion_matrix(predictions: Any, targets: Any, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts; row = true class, column = predicted class.

    predictions: (N,) predicted class indices, or (N, C) scores whose argmax is the prediction
        (on equal scores the lowest class index wins, as ``np.argmax`` does).
    """
    if n_classes < 1:
        raise ValueError(f"n_classes must be >= 1, got {n_classes}")
    p = to_numpy(predictions, "predictions")
    if p.ndim == 2:
        if p.shape[1] != n_classes:
            raise ValueError(f"scores have {p.shape[1]} columns but n_classes={n_classes}")
        p = scores_matrix(p, "predictions").argmax(axis=1)
    t = target_indices(targets, len(p), n_classes)
    p = target_indices(p, len(t), n_classes)
    counts = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(np.int64)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix; NaN for classes with no true example."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(confusion) / totals, np.nan)


def mean_class_accuracy(confusion: np.ndarray) -> float:
    """Mean of per-class accuracies over the classes that occur (balanced accuracy)."""
    acc = per_class_accuracy(confusion)
    if np.isnan(acc).all():
        raise ValueError("confusion matrix is empty: no class has a true example")
    return float(np.nanmean(acc))

