"""Model inputs for the tasks: the three sequence layouts, padding, and batched inference.

Layouts (segment ids in brackets): joint ``[CLS] text [>]`` (0) ``video [SEP]`` (1); text-only
``[CLS] text [SEP]`` (0); video-only ``[CLS] [>]`` (0) ``video [SEP]`` (1). Visual words are
codebook indices here; they become token ids through the ``VocabLayout`` only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videobert.sequences.dataset import pad_clip_rows
from videobert.vocab import IGNORE_INDEX, VocabLayout

QUERY_LABEL = 0  # any real id: marks a position whose logits we want (the label is not used)


@dataclasses.dataclass
class Example:
    """One example before padding: token ids, segment ids, and the positions we query."""

    ids: list[int]
    types: list[int]
    slots: list[int] = dataclasses.field(default_factory=list)
    # (T, F): each video token's clip feature, zero rows elsewhere and for [MASK]ed clips
    # (``VocabLayout.clip_rows``); None for a model that reads visual words only
    clip_features: np.ndarray | None = None


@dataclasses.dataclass(frozen=True)
class Clips:
    """Visual words (codebook indices) of consecutive clips, with the clips' normalised
    features when the model reads them too (``VideoBertConfig.clip_feature_dim``)."""

    words: tuple[int, ...]
    features: np.ndarray | None = None  # (len(words), F)
    # True: each clip is shown as [MASK] with its feature (its word is not given); see
    # ``motion_view``
    hide_words: bool = False

    def __len__(self) -> int:
        return len(self.words)

    def subsample(self, limit: int) -> Clips:
        """At most ``limit`` clips, evenly spaced over the run (keeps its whole time span)."""
        if limit <= 0 or len(self.words) <= limit:
            return self
        idx = evenly_spaced(len(self.words), limit)
        features = None if self.features is None else self.features[idx]
        return Clips(tuple(self.words[i] for i in idx), features, self.hide_words)


def motion_view(clips: Clips, appearance_width: int) -> Clips:
    """The clips as their motion stream alone: each clip's word hidden (``[MASK]``, not a
    target) and the first ``appearance_width`` columns of its feature, the appearance block,
    zeroed. What the model then reads is what moves, not which object it is, so a verb is not
    recognised as part of an object–verb pair seen in pretraining (docs/benchmarks.md, "Verbs
    from the motion stream, nouns from the appearance")."""
    features = _features_to_split(clips, appearance_width, "a motion view")
    features[:, :appearance_width] = 0
    return Clips(clips.words, features, hide_words=True)


def appearance_view(clips: Clips, appearance_width: int) -> Clips:
    """The clips as their appearance alone: the words (fit on the appearance block) and the
    first ``appearance_width`` feature columns; the motion columns zeroed. The object is then
    not guessed from how it moves (``motion_view``'s counterpart)."""
    features = _features_to_split(clips, appearance_width, "an appearance view")
    features[:, appearance_width:] = 0
    return Clips(clips.words, features, clips.hide_words)


def _features_to_split(clips: Clips, appearance_width: int, view: str) -> np.ndarray:
    """A copy of the clips' features, once they are known to hold an appearance block of
    ``appearance_width`` columns with motion columns after it."""
    if clips.features is None:
        raise ValueError(f"{view} needs clip features with an appearance block before the "
                         "motion block (features.motion)")
    width = clips.features.shape[1]
    if not 0 < appearance_width < width:
        raise ValueError(f"{view}: an appearance block of {appearance_width} columns in clip "
                         f"features of width {width} leaves no appearance or no motion columns")
    return np.array(clips.features, copy=True)


def evenly_spaced(n: int, limit: int) -> np.ndarray:
    """Indices of at most ``limit`` of ``n`` items, evenly spaced from the first to the last
    (all of them when ``n <= limit`` or ``limit <= 0``)."""
    if limit <= 0 or n <= limit:
        return np.arange(n)
    return np.linspace(0, n - 1, limit).round().astype(int)


def as_clips(video: Sequence[int] | Clips) -> Clips:
    return video if isinstance(video, Clips) else Clips(tuple(int(w) for w in video))


@dataclasses.dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T) long
    token_type_ids: torch.Tensor  # (B, T) long
    attention_mask: torch.Tensor  # (B, T) bool, True = real token
    slots: torch.Tensor  # (B, T) bool, True = position whose logits we want
    clip_features: torch.Tensor | None = None  # (B, T, F) float, zero where none


def visual_tokens(layout: VocabLayout, words: Sequence[int]) -> list[int]:
    words = np.asarray(words, dtype=np.int64)
    if words.size and (words.min() < 0 or words.max() >= layout.n_visual):
        raise ValueError(
            f"visual word ids must be in [0, {layout.n_visual}); got {words.min()}..{words.max()}"
        )
    return [int(t) for t in layout.visual_to_token(words)]


def joint_sequence(
    layout: VocabLayout, text_ids: Sequence[int], video_tokens: Sequence[int],
    clip_features: np.ndarray | None = None,
) -> Example:
    """``[CLS] text [>] video [SEP]``; ``video_tokens`` are token ids (visual or ``[MASK]``),
    ``clip_features`` one row per video token (zero for a ``[MASK]``)."""
    if clip_features is not None and len(clip_features) != len(video_tokens):
        raise ValueError(f"{len(clip_features)} clip features for {len(video_tokens)} video "
                         "tokens")
    ids, types = layout.sequence(text_ids, video_tokens)
    rows = None if clip_features is None else layout.clip_rows(
        types, np.asarray(clip_features, np.float32))
    return Example(ids.tolist(), types.tolist(), clip_features=rows)


def clips_sequence(layout: VocabLayout, text_ids: Sequence[int], clips: Clips) -> Example:
    """``[CLS] text [>] video [SEP]`` of visual words and their features."""
    tokens = ([layout.mask_id] * len(clips.words) if clips.hide_words
              else visual_tokens(layout, clips.words))
    return joint_sequence(layout, text_ids, tokens, clips.features)


def text_sequence(layout: VocabLayout, text_ids: Sequence[int]) -> Example:
    """``[CLS] text [SEP]``, all segment 0."""
    ids, types = layout.sequence(text_ids, None)
    return Example(ids.tolist(), types.tolist())


def video_sequence(layout: VocabLayout, video_tokens: Sequence[int],
                   clip_features: np.ndarray | None = None) -> Example:
    """``[CLS] [>] video [SEP]``."""
    return joint_sequence(layout, [], video_tokens, clip_features)


def pad(sequences: Sequence[Example], pad_id: int) -> Batch:
    T = max(len(s.ids) for s in sequences)
    B = len(sequences)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.bool)
    slots = torch.zeros((B, T), dtype=torch.bool)
    for b, s in enumerate(sequences):
        n = len(s.ids)
        ids[b, :n] = torch.tensor(s.ids)
        types[b, :n] = torch.tensor(s.types)
        mask[b, :n] = True
        slots[b, s.slots] = True
    return Batch(ids, types, mask, slots,
                 pad_clip_rows([s.clip_features for s in sequences], T, torch.float32))


def model_inputs(batch: Batch, device: torch.device) -> dict[str, torch.Tensor]:
    """The batch as the model's keyword arguments (``clip_features`` only when there are
    some, so a model that reads words only is called as before)."""
    out = {"input_ids": batch.input_ids.to(device),
           "token_type_ids": batch.token_type_ids.to(device),
           "attention_mask": batch.attention_mask.to(device)}
    if batch.clip_features is not None:
        out["clip_features"] = batch.clip_features.to(device)
    return out


def device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def max_length(model: Any) -> int:
    return int(getattr(model.config, "max_position_embeddings", 512))


def _chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


@torch.no_grad()
def slot_logits(
    model: Any, sequences: Sequence[Example], batch_size: int = 64
) -> torch.Tensor:
    """Logits over the whole vocabulary at every example's slots: (E, S, V), float32 on CPU.

    Every example must have the same number of slots S; slots are returned left to right. The
    model is asked only for those positions (``mlm_labels`` set there, -100 elsewhere).
    """
    counts = {len(s.slots) for s in sequences}
    if len(counts) != 1:
        raise ValueError(f"every example needs the same number of slots, got {sorted(counts)}")
    S = counts.pop()
    device = device_of(model)
    out = []
    for part in _chunks(len(sequences), batch_size):
        batch = pad(sequences[part], model.layout.pad_id)
        labels = torch.where(batch.slots, QUERY_LABEL, IGNORE_INDEX)
        result = model(**model_inputs(batch, device), mlm_labels=labels.to(device))
        # Put the N gathered rows back in (batch, position) order whatever order they came in.
        pos = result.mlm_positions.cpu()
        order = torch.argsort(pos[:, 0] * batch.input_ids.shape[1] + pos[:, 1])
        logits = result.mlm_logits.float().cpu()[order]  # (N, V), N = B * S
        out.append(logits.view(batch.input_ids.shape[0], S, -1))
    return torch.cat(out)


@torch.no_grad()
def alignment_scores(
    model: Any, sequences: Sequence[Example], batch_size: int = 64
) -> np.ndarray:
    """The alignment head's logit for each joint sequence: (E,)."""
    device = device_of(model)
    out = []
    for part in _chunks(len(sequences), batch_size):
        batch = pad(sequences[part], model.layout.pad_id)
        result = model(**model_inputs(batch, device))
        out.append(result.alignment_logits.float().cpu().numpy())
    return np.concatenate(out)


@torch.no_grad()
def pooled_states(
    model: Any, sequences: Sequence[Example], batch_size: int = 64
) -> np.ndarray:
    """Mean of the last hidden states over each example's content tokens: (E, D).

    Content = text and visual tokens; ``[CLS]``, ``[SEP]``, ``[>]`` and padding are left out so
    text-only and video-only embeddings are averages of what they describe.
    """
    layout = model.layout
    device = device_of(model)
    out = []
    for part in _chunks(len(sequences), batch_size):
        batch = pad(sequences[part], layout.pad_id)
        result = model(**model_inputs(batch, device))
        ids = batch.input_ids
        special = torch.zeros_like(ids, dtype=torch.bool)
        for sid in (layout.cls_id, layout.sep_id, layout.video_sep_id, layout.pad_id):
            special |= ids == sid
        keep = (batch.attention_mask & ~special).float()  # (B, T)
        keep = torch.where(keep.sum(1, keepdim=True) > 0, keep, batch.attention_mask.float())
        hidden = result.hidden_states.float().cpu()  # (B, T, D)
        out.append(((hidden * keep[..., None]).sum(1) / keep.sum(1, keepdim=True)).numpy())
    return np.concatenate(out)


def visual_slice(layout: VocabLayout) -> slice:
    """Columns of the logits that are visual words (column j = codebook word j)."""
    return slice(layout.visual_offset, layout.visual_offset + layout.n_visual)


def encode_text(tokenizer: Any, text: str) -> list[int]:
    """WordPiece ids of ``text`` without ``[CLS]``/``[SEP]``."""
    return list(tokenizer.encode(text, add_special_tokens=False))


def load_model_folder(folder: str | Path, device: str = "cpu") -> tuple[Any, Any, Path]:
    """A model folder -> (VideoBert in eval mode, its tokenizer, its codebook folder)."""
    from transformers import AutoTokenizer

    from videobert.model import VideoBert

    folder = Path(folder)
    if not (folder / "config.json").exists():
        raise FileNotFoundError(f"{folder} is not a model folder (no config.json)")
    model = VideoBert.from_pretrained(folder, map_location=device).eval()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise FileNotFoundError(f"{folder} has no readable tokenizer files: {exc}") from exc
    return model, tokenizer, folder / "codebook"
