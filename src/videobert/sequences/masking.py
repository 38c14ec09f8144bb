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

from videobert.vocab import VocabLayout

IGNORE_INDEX = -100  # label of positions without an MLM target (PyTorch's cross-entropy default)


@dataclasses.dataclass(frozen=True)
class MaskingConfig:
    mask_prob: float = 0.15  # share of maskable positions that get a target
    replace_mask: float = 0.8  # of those: replaced by [MASK]
    replace_random: float = 0.1  # of those: replaced by a random token of the same modality
    min_masks: int = 1  # force at least this many targets per sequence (short sequences)


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


def mask_tokens(
    input_ids: np.ndarray,
    layout: VocabLayout,
    rng: np.random.Generator,
    config: MaskingConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mask one sequence. Returns ``(masked_ids, labels)``; labels are ``IGNORE_INDEX`` except at
    masked positions, where they hold the original id."""
    config = config or MaskingConfig()
    ids = np.asarray(input_ids, dtype=np.int64)
    candidates = maskable(ids, layout)
    chosen = candidates & (rng.random(ids.shape) < config.mask_prob)
    short = config.min_masks - int(chosen.sum())
    if short > 0:  # short sequences: make sure there is something to predict
        free = np.flatnonzero(candidates & ~chosen)
        if free.size:
            chosen[rng.choice(free, size=min(short, free.size), replace=False)] = True

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
