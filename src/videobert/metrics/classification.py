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



def precision_recall_f1(predictions: Any, targets: Any, n_classes: int,
                        labels: Sequence[str] | None = None) -> dict[str, Any]:
    """Precision, recall and F1 of top-1 predictions, per class and macro-averaged.

    predictions: (N,) predicted class indices, or (N, C) scores (their argmax is taken).
    targets: (N,) true class indices. Macro averages are over the classes that occur in
    ``targets`` (a class never asked about has no recall), and a class never predicted has
    precision 0 — scikit-learn's ``precision_recall_fscore_support(..., labels=<those classes>,
    zero_division=0, average="macro")``. Returns ``{"macro_precision", "macro_recall",
    "macro_f1", "per_class": {name: {precision, recall, f1, support}}}``.
    """
    p = to_numpy(predictions, "predictions")
    if p.ndim == 2:
        p = p.argmax(1)
    t = to_numpy(targets, "targets").astype(np.int64)
    p = p.astype(np.int64)
    if p.shape != t.shape or t.ndim != 1 or t.size == 0:
        raise ValueError(f"predictions {p.shape} and targets {t.shape} must be the same (N,) "
                         "shape, N >= 1")
    cm = confusion_matrix(p, t, n_classes).astype(np.float64)
    support = cm.sum(1)
    predicted = cm.sum(0)
    tp = np.diag(cm)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    present = support > 0
    names = list(labels) if labels is not None else [str(i) for i in range(n_classes)]
    return {
        "macro_precision": float(precision[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
        "per_class": {names[c]: {"precision": float(precision[c]), "recall": float(recall[c]),
                                 "f1": float(f1[c]), "support": int(support[c])}
                      for c in range(n_classes) if present[c] or predicted[c] > 0},
    }
