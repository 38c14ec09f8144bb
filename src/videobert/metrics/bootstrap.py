"""95% bootstrap intervals over examples, for a figure and for a paired difference.

A quality bar compares two figures measured on the same examples (cross-modal vs language
prior, VideoBERT + clip vs clip). Resampling the examples with replacement and recomputing the
figure gives its interval; resampling the *same* indices for both gives the interval of the
difference, which is what decides whether one beats the other (0.945 vs 0.932 on 73 examples
is a tie when the difference's interval contains 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

N_RESAMPLES = 2000


@dataclasses.dataclass(frozen=True)
class Interval:
    value: float  # the figure on all examples
    low: float  # 2.5th percentile of the bootstrap distribution
    high: float  # 97.5th percentile

    def excludes(self, x: float) -> bool:
        return not self.low <= x <= self.high

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    if n < 1:
        raise ValueError("bootstrap needs at least one example")
    return np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))


def bootstrap_mean(
    values: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> Interval:
    """Interval of the mean of per-example values (e.g. 0/1 top-1 hits)."""
    values = np.asarray(values, np.float64)
    means = values[_indices(values.size, n_resamples, seed)].mean(1)
    low, high = np.percentile(means, [2.5, 97.5])
    return Interval(float(values.mean()), float(low), float(high))


def bootstrap_difference(
    a: np.ndarray, b: np.ndarray, scale: float = 1.0, n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Interval of mean(a) - scale * mean(b) for paired per-example values (same examples);
    ``scale`` turns "a beats 3 x b" into "the interval lies above 0"."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values differ in shape: {a.shape} vs {b.shape}")
    idx = _indices(a.size, n_resamples, seed)
    diffs = a[idx].mean(1) - scale * b[idx].mean(1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Interval(float(a.mean() - scale * b.mean()), float(low), float(high))


def bootstrap_statistic(
    n: int, statistic: Callable[[np.ndarray], float], n_resamples: int = 500, seed: int = 0
) -> Interval:
    """Interval of any statistic of a resampled index set (e.g. corpus-level CIDEr); slower,
    so fewer resamples by default."""
    values = np.array([statistic(idx) for idx in _indices(n, n_resamples, seed)])
    low, high = np.percentile(values, [2.5, 97.5])
    return Interval(float(statistic(np.arange(n))), float(low), float(high))


def _ratios(num: np.ndarray, den: np.ndarray, idx: np.ndarray) -> np.ndarray:
    top, bottom = num[idx].sum(-1), den[idx].sum(-1)
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)  # 0/0 -> 0


def bootstrap_ratio(
    numerators: np.ndarray, denominators: np.ndarray, n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Interval of sum(numerators) / sum(denominators), resampling the groups (e.g. videos:
    matches / predicted segments per video is precision; right answers / questions per video
    is accuracy). Groups, not the items inside them, are what is drawn, so items of one video
    that succeed or fail together do not narrow the interval. 0 / 0 counts as 0."""
    num, den = np.asarray(numerators, np.float64), np.asarray(denominators, np.float64)
    if num.shape != den.shape:
        raise ValueError(f"numerators and denominators differ in shape: {num.shape} vs "
                         f"{den.shape}")
    ratios = _ratios(num, den, _indices(num.size, n_resamples, seed))
    low, high = np.percentile(ratios, [2.5, 97.5])
    return Interval(float(_ratios(num, den, np.arange(num.size))), float(low), float(high))


def bootstrap_ratio_difference(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
    n_resamples: int = N_RESAMPLES, seed: int = 0,
) -> Interval:
    """Interval of ratio(a) - ratio(b), two ratios (``(numerators, denominators)``) of the
    same groups, resampled together (paired)."""
    arrays = [np.asarray(x, np.float64) for x in (*a, *b)]
    if len({x.shape for x in arrays}) != 1:
        raise ValueError(f"paired ratios differ in shape: {[x.shape for x in arrays]}")
    idx = _indices(arrays[0].size, n_resamples, seed)
    diffs = _ratios(arrays[0], arrays[1], idx) - _ratios(arrays[2], arrays[3], idx)
    low, high = np.percentile(diffs, [2.5, 97.5])
    every = np.arange(arrays[0].size)
    value = _ratios(arrays[0], arrays[1], every) - _ratios(arrays[2], arrays[3], every)
    return Interval(float(value), float(low), float(high))
