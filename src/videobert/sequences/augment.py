"""Text augmentation for pretraining examples: word dropout and random word replacement.

Applied after masking, to the text words that are *not* prediction targets, so the labels stay
exactly what masking chose; a word's WordPieces are dropped or replaced together, and a
sentence keeps at least one word. Both are off by default (``data.augment``); their measured
effect on the built-in data is in docs/benchmarks.md, "Augmentation".
"""

from __future__ import annotations

import dataclasses

import numpy as np

from videobert.sequences.masking import IGNORE_INDEX, maskable, text_replacement_range, word_groups
from videobert.vocab import VocabLayout


@dataclasses.dataclass(frozen=True)
class TextAugmentConfig:
    word_dropout: float = 0.0  # share of the unmasked text words removed from the input
    word_replace: float = 0.0  # share of them replaced by random WordPieces

    def __post_init__(self) -> None:
        from videobert.config import validate

        validate(self, "data.augment")

    @property
    def active(self) -> bool:
        return self.word_dropout > 0 or self.word_replace > 0


def augment_text(
    ids: np.ndarray,
    types: np.ndarray,
    labels: np.ndarray,
    layout: VocabLayout,
    rng: np.random.Generator,
    config: TextAugmentConfig,
    continuation: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids, types, labels)`` with some unmasked text words dropped or replaced.

    Draws from ``rng`` only when ``config`` is active, so turning it off leaves every other
    random choice of an example as it was.
    """
    if not config.active:
        return ids, types, labels
    groups = word_groups(ids, continuation)
    n_groups = int(groups[-1]) + 1 if ids.size else 0
    text_groups = np.zeros(n_groups, bool)
    text_groups[groups[maskable(ids, layout) & (types == 0)]] = True
    eligible = text_groups.copy()
    eligible[groups[labels != IGNORE_INDEX]] = False  # targets and their pieces stay as masked
    draw = rng.random(n_groups)
    drop = eligible & (draw < config.word_dropout)
    if text_groups.any() and not (text_groups & ~drop).any():  # keep a word: still a sentence
        drop[int(np.flatnonzero(text_groups)[0])] = False
    replace = eligible & ~drop & (draw < config.word_dropout + config.word_replace)
    out = ids.copy()
    swap = replace[groups]
    low, high = text_replacement_range(layout)
    out[swap] = rng.integers(low, high, size=int(swap.sum()))
    kept = ~drop[groups]
    return out[kept], types[kept], labels[kept]
