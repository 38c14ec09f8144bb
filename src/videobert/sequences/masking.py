"""BERT masking that respects modalities.

Of the maskable positions (text words and visual words; never ``[CLS]``/``[SEP]``/``[PAD]``/
``[UNK]``/``[MASK]`` or the ``[>]`` between text and video), ``mask_prob`` are chosen; a chosen
token becomes ``[MASK]`` 80% of the time, a random token *of its own modality* 10% of the time,
and stays as it is 10% of the time. Drawing a text replacement from the visual range (or the
reverse) would leak the modality of the hidden token and teach the model nonsense.

Everything works on numpy arrays with an explicit ``numpy.random.Generator`` so that an example
is a pure function of (seed, epoch, index) — see ``dataset.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from videobert.vocab import IGNORE_INDEX, VocabLayout


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
    mask_prob: float = 0.15  # share of maskable positions that get a target
    replace_mask: float = 0.8  # of those: replaced by [MASK]
    replace_random: float = 0.1  # of those: replaced by a random token of the same modality
    min_masks: int = 1  # force at least this many targets per sequence (short sequences)
    whole_word: bool = True  # a word's WordPieces are masked together (no "##" hint left)

    def __post_init__(self) -> None:
        from videobert.config import validate

        validate(self, "data.masking")


def text_replacement_range(layout: VocabLayout) -> tuple[int, int]:
    """[low, high) of text ids used as random replacements: every id above BERT's specials.

    BERT vocabularies put ``[PAD]``, ``[unused*]``, ``[UNK]``, ``[CLS]``, ``[SEP]``, ``[MASK]``
    first, so everything above the largest special id is a real (or unused) WordPiece.
    """
    text_specials = [i for i in layout.special_ids if i < layout.n_text]
    low = max(text_specials) + 1
    if low >= layout.n_text:
        raise ValueError(f"layout {layout} leaves no non-special text ids to sample")
    return low, layout.n_text


def visual_replacement_range(layout: VocabLayout) -> tuple[int, int]:
    """[low, high) of visual-word token ids."""
    return layout.visual_offset, layout.size


def maskable(input_ids: np.ndarray, layout: VocabLayout) -> np.ndarray:
    """Bool mask of positions that may be masked: text words and visual words, no specials."""
    ids = np.asarray(input_ids)
    special = np.isin(ids, np.asarray(layout.special_ids))
    is_word = layout.is_text(ids) | layout.is_visual(ids)
    return is_word & ~special


def word_groups(ids: np.ndarray, continuation: np.ndarray | None) -> np.ndarray:
    """(T,) group id of each position: a WordPiece continuation ("##ing") joins the word before
    it; every other position (visual words included) is a group of its own."""
    joins = np.zeros(ids.shape, bool)
    if continuation is not None and ids.size > 1:
        text = (ids >= 0) & (ids < continuation.size)
        joins[1:] = text[1:] & text[:-1] & continuation[np.where(text, ids, 0)][1:]
    return np.cumsum(~joins) - 1


def mask_tokens(
    input_ids: np.ndarray,
    layout: VocabLayout,
    rng: np.random.Generator,
    config: MaskingConfig | None = None,
    allowed: np.ndarray | None = None,
    continuation: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mask one sequence. Returns ``(masked_ids, labels)``; labels are ``IGNORE_INDEX`` except at
    masked positions, where they hold the original id.

    ``allowed``: bool (T,), the positions that may be masked (e.g. the text side only, so the
    video stays in view); default every maskable position. ``continuation``: bool per text id,
    True for WordPiece continuations; with ``config.whole_word`` a word is masked whole.
    """
    config = config or MaskingConfig()
    ids = np.asarray(input_ids, dtype=np.int64)
    candidates = maskable(ids, layout)
    if allowed is not None:
        candidates &= allowed
    groups = word_groups(ids, continuation if config.whole_word else None)
    n_groups = int(groups[-1]) + 1 if ids.size else 0
    group_ok = np.zeros(n_groups, bool)
    group_ok[groups[candidates]] = True
    pick = group_ok & (rng.random(n_groups) < config.mask_prob)
    short = config.min_masks - int(pick.sum())
    if short > 0:  # short sequences: make sure there is something to predict
        free = np.flatnonzero(group_ok & ~pick)
        if free.size:
            pick[rng.choice(free, size=min(short, free.size), replace=False)] = True
    chosen = candidates & pick[groups]

    labels = np.full_like(ids, IGNORE_INDEX)
    labels[chosen] = ids[chosen]

    action = rng.random(ids.shape)
    to_mask = chosen & (action < config.replace_mask)
    to_random = chosen & ~to_mask & (action < config.replace_mask + config.replace_random)

    masked = ids.copy()
    masked[to_mask] = layout.mask_id
    is_visual = layout.is_visual(ids)
    text_low, text_high = text_replacement_range(layout)
    vis_low, vis_high = visual_replacement_range(layout)
    random_text = to_random & ~is_visual
    random_visual = to_random & is_visual
    masked[random_text] = rng.integers(text_low, text_high, size=int(random_text.sum()))
    masked[random_visual] = rng.integers(vis_low, vis_high, size=int(random_visual.sum()))
    return masked, labels
