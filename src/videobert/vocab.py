"""The joint vocabulary: WordPiece text ids, then ``[>]``, then one id per visual word.

This is the one source of truth for where modalities live in the id space; nothing else adds
offsets by hand. The visual-word count is read from the codebook, never typed in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

VIDEO_SEP_TOKEN = "[>]"
# mlm_labels value of positions without a target (PyTorch's and Hugging Face's cross-entropy
# default); pretraining, the model and the tasks all read it from here
IGNORE_INDEX = -100
# the paper's prompt before a step's words: zero-shot, captioning and text-to-video use it
PROMPT = "now let me show you how to"


@dataclasses.dataclass(frozen=True)
class VocabLayout:
    n_text: int  # WordPiece vocabulary size (ids 0 .. n_text-1)
    n_visual: int  # visual words in the codebook
    cls_id: int
    sep_id: int
    mask_id: int
    pad_id: int
    unk_id: int = 100

    @property
    def video_sep_id(self) -> int:
        """Id of ``[>]``, the token between text and video."""
        return self.n_text

    @property
    def visual_offset(self) -> int:
        return self.n_text + 1

    @property
    def size(self) -> int:
        return self.n_text + 1 + self.n_visual

    @property
    def special_ids(self) -> tuple[int, ...]:
        return (self.cls_id, self.sep_id, self.mask_id, self.pad_id, self.unk_id, self.video_sep_id)

    def visual_to_token(self, words: np.ndarray | int) -> np.ndarray | int:
        """Codebook word index -> token id."""
        return np.asarray(words) + self.visual_offset if not isinstance(words, int) else (
            words + self.visual_offset
        )

    def token_to_visual(self, tokens: np.ndarray | int) -> np.ndarray | int:
        """Token id -> codebook word index (only meaningful where ``is_visual``)."""
        return np.asarray(tokens) - self.visual_offset if not isinstance(tokens, int) else (
            tokens - self.visual_offset
        )

    def is_visual(self, tokens):  # works on numpy arrays and torch tensors alike
        return tokens >= self.visual_offset

    def is_text(self, tokens):
        return tokens < self.n_text

    def sequence(
        self, text_ids: Sequence[int] | np.ndarray, video_tokens: Sequence[int] | np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The input layout, the one place it is built (pretraining and every task use it):
        ``[CLS] text [>] video [SEP]`` with segment ids 0 up to and including ``[>]`` and 1
        after it; ``video_tokens=None`` gives text only, ``[CLS] text [SEP]`` (all 0); empty
        text gives video only, ``[CLS] [>] video [SEP]``. Returns int64 (ids, segment ids)."""
        text = np.asarray(text_ids, np.int64)
        if video_tokens is None:
            ids = np.concatenate([[self.cls_id], text, [self.sep_id]]).astype(np.int64)
            return ids, np.zeros(ids.size, np.int64)
        video = np.asarray(video_tokens, np.int64)
        ids = np.concatenate([[self.cls_id], text, [self.video_sep_id], video,
                              [self.sep_id]]).astype(np.int64)
        types = np.zeros(ids.size, np.int64)
        types[text.size + 2:] = 1
        return ids, types

    def clip_rows(self, types: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(T, F) clip features for a sequence built by ``sequence`` (``types`` its segment
        ids): row i of ``features`` on the i-th video token, zeros on text and specials. A
        ``features`` shorter than the video part leaves the rest zero."""
        types = np.asarray(types)
        out = np.zeros((types.size, features.shape[1]), features.dtype)
        at = np.flatnonzero(types == 1)[:-1]  # the video tokens: segment 1 but the final [SEP]
        if len(features) > at.size:
            raise ValueError(f"{len(features)} clip features for {at.size} video tokens")
        out[at[: len(features)]] = features
        return out

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> VocabLayout:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    @classmethod
    def from_tokenizer(cls, tokenizer, n_visual: int) -> VocabLayout:
        """From a HF (fast) BERT tokenizer and the codebook's word count."""
        return cls(
            n_text=len(tokenizer.get_vocab()),
            n_visual=int(n_visual),
            cls_id=tokenizer.cls_token_id,
            sep_id=tokenizer.sep_token_id,
            mask_id=tokenizer.mask_token_id,
            pad_id=tokenizer.pad_token_id,
            unk_id=tokenizer.unk_token_id,
        )
