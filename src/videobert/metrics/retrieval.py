"""Text -> video retrieval figures: R@1, R@5, R@10, median and mean rank.

``similarity[q, g]`` scores gallery item ``g`` (a video) for query ``q`` (a sentence); higher
is better. The correct item(s) of each query are given either as one gallery index per query
or as a boolean relevance matrix (several correct videos per query).

rank = 1 + number of wrong gallery items scored strictly above the best correct one
(``ties="optimistic"``, the usual convention; ``"pessimistic"`` counts ties against the query).
See :mod:`videobert.metrics.ranking`. Recalls are fractions in [0, 1]; ranks are 1-based.

:func:`retrieval_metrics` is vectorised; :func:`retrieval_metrics_naive` sorts each query's
gallery in a Python loop and exists to check the fast path (the tests compare them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from videobert.metrics.ranking import (
    check_ks,
    check_ties,
    relevance_mask,
    scores_matrix,
    target_indices,
    target_ranks,
    to_numpy,
)

DEFAULT_KS = (1, 5, 10)


def recall_key(k: int) -> str:
    """Name of the recall-at-k figure in result dicts: ``R@1``, ``R@5``..."""
    return f"R@{k}"


def retrieval_ranks(similarity: Any, gt: Any, *, ties: str = "optimistic") -> np.ndarray:
    """(Q,) int64 1-based rank of each query's (best) correct gallery item.

    similarity: (Q, G) scores. gt: (Q,) correct gallery index per query, or a (Q, G) boolean
    relevance matrix with at least one True per row.
    """
    return target_ranks(similarity, gt, ties=ties)


def summarize_ranks(ranks: Any, ks: Sequence[int] = DEFAULT_KS) -> dict[str, float]:
    """R@k (fraction of queries with rank <= k), ``median_rank`` and ``mean_rank``."""
    ks = check_ks(ks)
    r = to_numpy(ranks, "ranks")
    if r.ndim != 1 or r.size == 0:
        raise ValueError(f"ranks must be a non-empty 1-D array, got shape {r.shape}")
    out = {recall_key(k): float(np.mean(r <= k)) for k in ks}
    out["median_rank"] = float(np.median(r))
    out["mean_rank"] = float(np.mean(r))
    return out


def retrieval_metrics(
    similarity: Any, gt: Any, *, ks: Sequence[int] = DEFAULT_KS, ties: str = "optimistic"
) -> dict[str, float]:
    """``{"R@1", "R@5", "R@10", "median_rank", "mean_rank"}`` for a (Q, G) similarity matrix."""
    ks = check_ks(ks)
    return summarize_ranks(retrieval_ranks(similarity, gt, ties=ties), ks)


def retrieval_metrics_naive(
    similarity: Any, gt: Any, *, ks: Sequence[int] = DEFAULT_KS, ties: str = "optimistic"
) -> dict[str, float]:
    """Reference implementation: per query, sort the gallery and find the first correct item.

    The sort key breaks score ties the way ``ties`` says: correct items before wrong ones
    (optimistic) or after them (pessimistic). Slow; for tests and small checks only.
    """
    ks, _ = check_ks(ks), check_ties(ties)
    sim = scores_matrix(similarity, "similarity")
    q, g = sim.shape
    t = to_numpy(gt, "gt")
    if t.ndim == 2:
        relevant = relevance_mask(t, q, g)
    else:
        relevant = np.zeros((q, g), dtype=bool)
        relevant[np.arange(q), target_indices(t, q, g)] = True
    correct_first = ties == "optimistic"
    ranks = []
    for row, rel in zip(sim.tolist(), relevant.tolist(), strict=True):
        order = sorted(range(g), key=lambda j: (-row[j], not rel[j] if correct_first else rel[j]))
        ranks.append(next(pos for pos, j in enumerate(order, start=1) if rel[j]))
    return summarize_ranks(np.asarray(ranks), ks)


def chance_recall_at_k(n_gallery: int, k: int, n_relevant: int = 1) -> float:
    """Expected R@k of a random ranking: P(a random top-k holds >= 1 of the relevant items).

    ``1 - C(G - r, k) / C(G, k)``, which is ``k / G`` for one relevant item.
    """
    _check_chance(n_gallery, k, n_relevant)
    if k >= n_gallery:
        return 1.0
    return 1.0 - math.comb(n_gallery - n_relevant, k) / math.comb(n_gallery, k)


def chance_median_rank(n_gallery: int, n_relevant: int = 1) -> float:
    """Median rank of the best relevant item under a random ranking; ``(G + 1) / 2`` for one.

    The rank distribution is ``P(rank <= k) = chance_recall_at_k(G, k, r)``; when the CDF hits
    exactly 1/2 at some k the median is ``k + 0.5`` (the ``np.median`` convention).
    """
    _check_chance(n_gallery, 1, n_relevant)
    survive = 1.0  # P(rank > k): none of the top k is relevant
    for k in range(1, n_gallery + 1):
        survive *= max(n_gallery - n_relevant - (k - 1), 0) / (n_gallery - (k - 1))
        cdf = 1.0 - survive
        if math.isclose(cdf, 0.5, rel_tol=1e-12, abs_tol=1e-12):
            return k + 0.5
        if cdf > 0.5:
            return float(k)
    return float(n_gallery)  # not reached: the CDF is 1 at k = G - r + 1


def chance_mean_rank(n_gallery: int, n_relevant: int = 1) -> float:
    """Mean rank of the best relevant item under a random ranking: ``(G + 1) / (r + 1)``."""
    _check_chance(n_gallery, 1, n_relevant)
    return (n_gallery + 1) / (n_relevant + 1)


def _check_chance(n_gallery: int, k: int, n_relevant: int) -> None:
    if n_gallery < 1 or k < 1 or not 1 <= n_relevant <= n_gallery:
        raise ValueError(
            f"need n_gallery >= 1, k >= 1, 1 <= n_relevant <= n_gallery; "
            f"got n_gallery={n_gallery}, k={k}, n_relevant={n_relevant}"
        )
