"""Rank of the correct item among scored candidates: the core of top-k accuracy and R@k.

One definition serves classification, forecasting and retrieval, so their numbers agree:

    rank = 1 + (number of *wrong* candidates that beat the best correct candidate)

Ties are resolved deterministically (``ties=``):

- ``"optimistic"`` (default): a wrong candidate beats the correct one only when its score is
  strictly greater, i.e. ``rank = 1 + #{wrong j : s_j > s_correct}``. This is the usual
  convention of retrieval code (rank = count of gallery scores strictly above the ground
  truth, + 1). Beware that a collapsed model whose scores are all equal then ranks everything
  first; use ``"pessimistic"`` as a cross-check when scores may be degenerate.
- ``"pessimistic"``: ties count against the correct item,
  ``rank = 1 + #{wrong j : s_j >= s_correct}``.

With several correct candidates (a relevance mask) the rank is that of the best-scored correct
one; correct candidates never push each other down. Inputs may be numpy arrays or torch tensors
(any device, any float dtype); computation is vectorised numpy, in row blocks so the temporary
comparison matrix stays small.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TIES = ("optimistic", "pessimistic")
_BLOCK_ELEMENTS = 1 << 24  # rows per block are chosen so one block's comparison is ~16 M cells


def to_numpy(x: Any, name: str = "array") -> np.ndarray:
    """numpy view of an array-like or a torch tensor (detached, on CPU; half/bf16 -> float32)."""
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach()
        if x.is_floating_point() and x.dtype.itemsize < 4:
            x = x.float()  # numpy has no bfloat16; float32 holds half/bf16 exactly
        x = x.cpu().numpy()
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: cannot convert {type(x).__name__} to an array: {err}") from None


def check_ks(ks: Any) -> tuple[int, ...]:
    """Validate the k values of top-k / R@k: a non-empty sequence of positive integers."""
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    return ks


def check_ties(ties: str) -> None:
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")


def scores_matrix(scores: Any, name: str = "scores") -> np.ndarray:
    """Validate a (N, C) score matrix: 2-D, real numbers, no NaN."""
    arr = to_numpy(scores, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, C), got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        bad = np.unique(np.nonzero(np.isnan(arr))[0])[:10].tolist()
        raise ValueError(f"{name} contains NaN (rows {bad}); ranks would be meaningless")
    return arr


def target_ranks(scores: Any, targets: Any, *, ties: str = "optimistic") -> np.ndarray:
    """1-based rank of the correct candidate in each row of ``scores``.

    scores: (N, C) numbers, higher = better.
    targets: (N,) integer index of the correct candidate, or an (N, C) boolean mask marking
        every correct candidate (each row needs at least one).
    Returns (N,) int64 ranks in ``1 .. C``.
    """
    check_ties(ties)
    s = scores_matrix(scores)
    n, c = s.shape
    t = to_numpy(targets, "targets")
    mask = relevance_mask(t, n, c) if t.ndim == 2 else None
    index = None if mask is not None else target_indices(t, n, c)
    ranks = np.empty(n, dtype=np.int64)
    rows = max(1, _BLOCK_ELEMENTS // max(c, 1))
    for start in range(0, n, rows):
        block = s[start : start + rows]
        if mask is not None:
            rel = mask[start : start + rows]
            # best correct score per row (wrong candidates masked out)
            best = np.where(rel, block, -np.inf).max(axis=1, keepdims=True)
            beats = block > best if ties == "optimistic" else block >= best
            ranks[start : start + rows] = 1 + (beats & ~rel).sum(axis=1)
        else:
            idx = index[start : start + rows]
            best = block[np.arange(len(idx)), idx][:, None]
            if ties == "optimistic":  # the correct item is never > itself
                ranks[start : start + rows] = 1 + (block > best).sum(axis=1)
            else:  # the correct item is >= itself: it is counted once, as the "1 +"
                ranks[start : start + rows] = (block >= best).sum(axis=1)
    return ranks


def relevance_mask(targets: Any, n: int, c: int) -> np.ndarray:
    """Validate an (N, C) boolean relevance mask: right shape, 0/1 only, >= 1 True per row."""
    t = to_numpy(targets, "targets")
    if t.shape != (n, c):
        raise ValueError(f"relevance mask shape {t.shape} does not match scores {(n, c)}")
    if t.dtype != bool:
        if not np.isin(t, (0, 1)).all():
            raise ValueError("a 2-D targets array must be a boolean (0/1) relevance mask")
        t = t.astype(bool)
    empty = np.nonzero(~t.any(axis=1))[0]
    if empty.size:
        raise ValueError(
            f"{empty.size} row(s) have no relevant candidate (first: {empty[:10].tolist()})"
        )
    return t


def target_indices(targets: Any, n: int, c: int) -> np.ndarray:
    """Validate (N,) integer target indices in ``0 .. C-1``; returns int64."""
    t = to_numpy(targets, "targets")
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"targets must have shape ({n},) or ({n}, {c}), got {t.shape}")
    integral_floats = np.issubdtype(t.dtype, np.floating) and bool(np.all(t == np.round(t)))
    if not (np.issubdtype(t.dtype, np.integer) or integral_floats):  # bool is not integer here
        raise TypeError(f"target indices must be integers, got dtype {t.dtype}")
    t = t.astype(np.int64)
    bad = np.nonzero((t < 0) | (t >= c))[0]
    if bad.size:
        raise ValueError(
            f"target index out of range 0..{c - 1}: rows {bad[:10].tolist()} "
            f"(values {t[bad[:10]].tolist()})"
        )
    return t
