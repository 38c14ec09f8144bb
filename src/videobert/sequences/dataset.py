"""Pretraining examples from a corpus folder, typed batches, and a length-bucketing sampler.

An example is a pure function of ``(seed, epoch, index)``: the task, the neighbour-sentence
concatenation, the visual stride, the negative and the masks all come from one
``numpy.random.Generator`` seeded with those three numbers. So the data never depends on worker
count, process count or on where a run was resumed, and two ranks that each build half of a
global batch build exactly the examples that one process would.

Sequence layouts (segment ids: text part 0, video part 1):

- text-only (task 0):  ``[CLS] text [SEP]``
- video-only (task 1): ``[CLS] [>] video [SEP]``
- joint (task 2):      ``[CLS] text [>] video [SEP]`` — aligned (label 1, masked) or an
  alignment negative (label 0: the text with the clips of another segment of the same video or
  of another video). A negative is masked as an aligned pair is, so the presence of ``[MASK]``
  does not tell the alignment head "aligned" (unmasked negatives let it reach held-out
  accuracy 1.0 while ranking captions at chance), but it has no cloze targets: predicting words
  from a mismatched video teaches nothing.

An aligned joint example masks one side while the other stays whole: only the text (share
``joint_text_side``; the video is all the model has to recover the missing words — the
zero-shot query), only the visual words (``joint_video_side``; all of them by default, the
text -> video query), or, for the rest, both sides as BERT would. Masking both sides at once
lets a small corpus be solved by memorising the narration, so the video is never needed
(measured: docs/benchmarks.md, "learning from video").
Words are masked whole (all their WordPieces).

The paper's remedies for ASR misalignment are applied to text-only and joint examples: a random
number of neighbouring sentences is concatenated, and the visual words are subsampled with a
random stride of 1..``max_stride`` (at most half the span, so a short span keeps two words).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from videobert.artifacts.corpus import ClipView, Corpus, Segment
from videobert.sequences.augment import TextAugmentConfig, augment_text
from videobert.sequences.masking import IGNORE_INDEX, MaskingConfig, mask_tokens
from videobert.vocab import VocabLayout

TEXT_ONLY, VIDEO_ONLY, JOINT = 0, 1, 2
TASK_NAMES = ("text", "video", "joint")
NO_ALIGNMENT = -1.0  # alignment label of examples that are not text-video pairs


@dataclasses.dataclass(frozen=True)
class SequenceConfig:
    max_len: int = 128  # tokens per sequence, specials included
    # Task mix of training examples (normalised). Joint examples only by default: their
    # one-side masking trains text and visual-word prediction too, and on a corpus of a few
    # hundred sentences even 10% text-only + 10% video-only examples kept the model from ever
    # reading the video (docs/benchmarks.md, "learning from video").
    text_prob: float = 0.0
    video_prob: float = 0.0
    joint_prob: float = 1.0
    negative_prob: float = 0.3  # joint examples that are alignment negatives
    # share of the training steps before negatives start: the masked prediction first learns to
    # read the video (negatives from the start slow that down or stop it; docs/benchmarks.md)
    negative_start: float = 0.5
    same_video_negative_prob: float = 0.5  # negatives drawn from another segment of the same video
    concat_prob: float = 0.0  # chance to concatenate neighbouring sentences (hurt: see above)
    max_sentences: int = 3  # at most this many sentences per example
    max_stride: int = 5  # visual words subsampled with a stride drawn from 1..max_stride
    min_video_window: int = 4  # visual words in a video-only window, at least
    val_fraction: float = 0.1  # share of videos held out for evaluation
    bucket_multiplier: int = 50  # sort by length within chunks of this many global batches
    joint_text_side: float = 0.5  # aligned joint examples masking only their text (video whole)
    joint_video_side: float = 0.25  # ... only their visual words (text whole); the rest: both
    # Words masked in a text-side example: high, so the sentence's own words cannot give the
    # missing ones away (a small corpus is memorised) and the video has to.
    text_side_mask_prob: float = 0.5
    # Visual words masked in a video-side example: all of them, so the text is all the model
    # has, as in the text -> video query (storyboards). At BERT's 15% the other clips give the
    # masked ones away and the storyboards barely follow the sentence (docs/benchmarks.md).
    video_side_mask_prob: float = 1.0
    # share of training examples whose clips come from a random augmented view (visual words and
    # features; features.views extracts them); 0 = the plain clips only
    view_prob: float = 0.0
    # share of the visible visual words of joint examples shown as [MASK] with their clip
    # feature kept (not targets): the model then has to read the feature, not the word's id
    # (only when the model reads clip features; without them it would hide the video)
    visual_word_dropout: float = 0.0
    masking: MaskingConfig = dataclasses.field(default_factory=MaskingConfig)
    # word dropout / replacement of the text words that are not targets (off by default)
    augment: TextAugmentConfig = dataclasses.field(default_factory=TextAugmentConfig)

    def __post_init__(self) -> None:
        from videobert.config import validate

        validate(self, "data")  # ranges by key (videobert.config.RULES), so the API checks too


# ---------------------------------------------------------------------------------------------
# Examples and batches.


@dataclasses.dataclass
class Example:
    input_ids: np.ndarray  # (T,) after masking
    token_type_ids: np.ndarray  # (T,) 0 text part, 1 video part
    mlm_labels: np.ndarray  # (T,) original id at masked positions, IGNORE_INDEX elsewhere
    alignment_label: float  # 1 aligned, 0 misaligned, NO_ALIGNMENT otherwise
    task: int  # TEXT_ONLY | VIDEO_ONLY | JOINT
    # (T, F) float16: each visible visual token's clip feature, zero elsewhere (masked visual
    # tokens too: their feature would give the word away). None: the model reads words only.
    clip_features: np.ndarray | None = None


def _no_clip_in_view(ids: np.ndarray, types: np.ndarray, labels: np.ndarray,
                     layout: VocabLayout) -> bool:
    """True when every visual word of the example is a masked target."""
    targets = labels != IGNORE_INDEX
    visual = (types == 1) & layout.is_visual(np.where(targets, labels, ids))
    return bool(visual.any() and targets[visual].all())


@dataclasses.dataclass(frozen=True)
class ClipRun:
    """Visual words of some clips of one video and the clips' positions in it (None when the
    corpus cannot place them: then no clip features either). Sliced like an array."""

    video_id: str
    words: np.ndarray
    positions: np.ndarray | None = None

    @property
    def size(self) -> int:
        return int(self.words.size)

    def __getitem__(self, index: slice) -> ClipRun:
        positions = None if self.positions is None else self.positions[index]
        return ClipRun(self.video_id, self.words[index], positions)


@dataclasses.dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T) long
    token_type_ids: torch.Tensor  # (B, T) long
    attention_mask: torch.Tensor  # (B, T) bool, True = real token
    mlm_labels: torch.Tensor  # (B, T) long, IGNORE_INDEX = no target
    alignment_labels: torch.Tensor  # (B,) float, NO_ALIGNMENT = no target
    task: torch.Tensor  # (B,) long
    clip_features: torch.Tensor | None = None  # (B, T, F) float16, zero where none

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    @property
    def num_tokens(self) -> int:
        return int(self.attention_mask.sum())

    def to(self, device: torch.device | str) -> Batch:
        return Batch(*(None if t is None else t.to(device, non_blocking=True)
                       for t in self._tensors()))

    def pin_memory(self) -> Batch:  # called by DataLoader(pin_memory=True)
        return Batch(*(None if t is None else t.pin_memory() for t in self._tensors()))

    def _tensors(self) -> list[torch.Tensor | None]:
        return [getattr(self, f.name) for f in dataclasses.fields(self)]


def collate(examples: Sequence[Example], pad_id: int) -> Batch:
    """Pad to the longest example of the batch."""
    if not examples:
        raise ValueError("collate: empty list of examples")
    batch, length = len(examples), max(len(e.input_ids) for e in examples)
    input_ids = torch.full((batch, length), pad_id, dtype=torch.long)
    token_type_ids = torch.zeros((batch, length), dtype=torch.long)
    attention_mask = torch.zeros((batch, length), dtype=torch.bool)
    mlm_labels = torch.full((batch, length), IGNORE_INDEX, dtype=torch.long)
    for row, ex in enumerate(examples):
        n = len(ex.input_ids)
        input_ids[row, :n] = torch.from_numpy(ex.input_ids)
        token_type_ids[row, :n] = torch.from_numpy(ex.token_type_ids)
        attention_mask[row, :n] = True
        mlm_labels[row, :n] = torch.from_numpy(ex.mlm_labels)
    alignment = torch.tensor([e.alignment_label for e in examples], dtype=torch.float32)
    task = torch.tensor([e.task for e in examples], dtype=torch.long)
    return Batch(input_ids, token_type_ids, attention_mask, mlm_labels, alignment, task,
                 pad_clip_rows([e.clip_features for e in examples], length, torch.float16))


def pad_clip_rows(rows: Sequence[np.ndarray | None], length: int,
                  dtype: torch.dtype) -> torch.Tensor | None:
    """(B, length, F) from each example's (T_b, F) clip rows (``VocabLayout.clip_rows``),
    zero where an example has none or is shorter; None when no example has any."""
    dims = {r.shape[1] for r in rows if r is not None}
    if not dims:
        return None
    if len(dims) > 1:
        raise ValueError(f"clip features of different sizes {sorted(dims)} in one batch")
    out = torch.zeros((len(rows), length, dims.pop()), dtype=dtype)
    for b, r in enumerate(rows):
        if r is not None:
            out[b, : len(r)] = torch.from_numpy(np.ascontiguousarray(r))
    return out


def fit_budget(n_text: int, n_video: int, budget: int) -> tuple[int, int]:
    """How many text and video tokens to keep so that both modalities survive truncation."""
    if n_text + n_video <= budget:
        return n_text, n_video
    half = budget // 2
    if n_text <= half:
        return n_text, budget - n_text
    if n_video <= budget - half:
        return budget - n_video, n_video
    return half, budget - half


def continuation_table(corpus: Corpus) -> np.ndarray | None:
    """Bool per text id: True for WordPiece continuations ("##ing"), from the corpus's own
    tokenizer; None when it has none (then every piece is masked on its own)."""
    source = corpus.tokenizer_source()
    return None if source is None else _continuations(source, corpus.layout.n_text)


@functools.lru_cache(maxsize=4)
def _continuations(source: str, n_text: int) -> np.ndarray | None:
    # cached: the train and held-out datasets of a run read the same tokenizer
    try:
        from videobert.sequences.tokenizer import load_tokenizer

        table = tokenizer_continuations(load_tokenizer(source), n_text)
    except (OSError, ValueError):
        return None
    table.flags.writeable = False  # shared between datasets
    return table


def tokenizer_continuations(tokenizer, n_text: int) -> np.ndarray:
    """Bool per text id below ``n_text``: True for WordPiece continuations ("##ing")."""
    tokens = tokenizer.convert_ids_to_tokens(list(range(n_text)))
    return np.array([str(t).startswith("##") for t in tokens], bool)


class PretrainDataset:
    """Examples of one split. ``mode="train"``: one example per segment, its task drawn from
    the task mix anew every epoch. ``mode="eval"``: four examples per segment (text-only,
    video-only, aligned pair, misaligned pair), so held-out losses cover every objective."""

    EVAL_KINDS = 4

    def __init__(
        self,
        corpus: Corpus,
        video_ids: Sequence[str],
        config: SequenceConfig,
        seed: int,
        mode: str = "train",
        clip_features: dict[str, np.ndarray] | None = None,
        views: Sequence[ClipView] = (),
    ) -> None:
        """``clip_features``: each video's normalised clip features (row = clip), for a model
        that adds them to its visual tokens; None for visual words only. ``views``: augmented
        views of the clips, drawn for ``config.view_prob`` of the training examples."""
        if mode not in ("train", "eval"):
            raise ValueError(f"mode must be 'train' or 'eval', not {mode!r}")
        if config.max_len < 8:
            raise ValueError(f"max_len {config.max_len} is too short (at least 8)")
        self.corpus, self.config, self.seed, self.mode = corpus, config, seed, mode
        self.clip_features = clip_features
        self.views = list(views)
        self.layout = corpus.layout
        keep = set(video_ids)
        self.segment_ids = [i for i, s in enumerate(corpus.segments) if s.video_id in keep]
        self.by_video: dict[str, list[int]] = {}
        for i in self.segment_ids:
            self.by_video.setdefault(corpus.segments[i].video_id, []).append(i)
        self.position_in_video = {i: k for ids in self.by_video.values() for k, i in enumerate(ids)}
        self.video_list = sorted(self.by_video)
        self.video_index = {v: k for k, v in enumerate(self.video_list)}
        probs = np.array([config.text_prob, config.video_prob, config.joint_prob], np.float64)
        if probs.min() < 0 or probs.sum() <= 0:
            raise ValueError(f"task probabilities must be >= 0 and not all 0: {probs}")
        self.task_probs = probs / probs.sum()
        self.continuation = continuation_table(corpus)
        self.negatives_from_epoch = 0  # the trainer sets it from data.negative_start
        self.text_side_masking = dataclasses.replace(
            config.masking, mask_prob=config.text_side_mask_prob)
        self.video_side_masking = dataclasses.replace(
            config.masking, mask_prob=config.video_side_mask_prob)

    def __len__(self) -> int:
        n = len(self.segment_ids)
        return n * self.EVAL_KINDS if self.mode == "eval" else n

    def lengths(self) -> np.ndarray:
        """Approximate sequence lengths (for length bucketing)."""
        per_segment = np.array(
            [
                min(self.config.max_len, 3 + s.text_ids.size + s.visual_ids.size)
                for s in (self.corpus.segments[i] for i in self.segment_ids)
            ],
            dtype=np.int64,
        )
        return np.repeat(per_segment, self.EVAL_KINDS) if self.mode == "eval" else per_segment

    # -- building blocks --------------------------------------------------------------------

    def _span(self, seg_index: int, rng: np.random.Generator) -> tuple[np.ndarray, ClipRun]:
        """Text ids and clips of a segment plus maybe some following sentences."""
        cfg = self.config
        vid = self.corpus.segments[seg_index].video_id
        siblings = self.by_video[vid]
        k = self.position_in_video[seg_index]
        n = 1
        if cfg.max_sentences > 1 and rng.random() < cfg.concat_prob:
            n = int(rng.integers(2, cfg.max_sentences + 1))
        chosen = [self.corpus.segments[i] for i in siblings[k : k + n]]
        text = np.concatenate([s.text_ids for s in chosen])
        return text, self._clips(chosen)

    def _clips(self, segments: list[Segment]) -> ClipRun:
        vid, first, last = segments[0].video_id, segments[0].first_clip, segments[-1].last_clip
        whole = self.corpus.videos.get(vid)
        if whole is not None and 0 <= first <= last < whole.size:
            return ClipRun(vid, whole[first : last + 1], np.arange(first, last + 1))
        return ClipRun(vid, np.concatenate([s.visual_ids for s in segments]))

    def _subsample(self, words: ClipRun, rng: np.random.Generator) -> ClipRun:
        # A stride of 5 over a 3-clip span would leave one visual word: at most half the span.
        stride = int(rng.integers(1, max(1, min(self.config.max_stride, words.size // 2)) + 1))
        if words.size == 0:
            return words
        offset = int(rng.integers(0, min(stride, words.size)))
        return words[offset::stride]

    def _negative_clips(self, seg_index: int, rng: np.random.Generator) -> ClipRun:
        vid = self.corpus.segments[seg_index].video_id
        siblings = self.by_video[vid]
        n_videos = len(self.video_list)
        same_video = n_videos == 1 or rng.random() < self.config.same_video_negative_prob
        if len(siblings) > 1 and same_video:
            k = int(rng.integers(len(siblings) - 1))  # any sibling but this segment
            k += k >= self.position_in_video[seg_index]
            j = siblings[k]
        elif n_videos > 1:
            k = int(rng.integers(n_videos - 1))  # any video but this one, O(1)
            k += k >= self.video_index[vid]
            other = self.by_video[self.video_list[k]]
            j = other[int(rng.integers(len(other)))]
        else:  # a single one-segment video: nothing to contrast with
            return ClipRun(vid, np.zeros(0, np.int64))
        seg = self.corpus.segments[j]
        whole = self.corpus.videos.get(seg.video_id)
        positions = np.arange(seg.first_clip, seg.last_clip + 1)
        placed = (whole is not None and positions.size == seg.visual_ids.size
                  and seg.last_clip < whole.size)
        return ClipRun(seg.video_id, seg.visual_ids, positions if placed else None)

    def _video_window(self, seg_index: int, rng: np.random.Generator) -> ClipRun:
        seg = self.corpus.segments[seg_index]
        whole = self.corpus.videos.get(seg.video_id)
        words = (ClipRun(seg.video_id, seg.visual_ids) if whole is None
                 else ClipRun(seg.video_id, whole, np.arange(whole.size)))
        words = self._subsample(words, rng)
        budget = self.config.max_len - 3
        low = min(self.config.min_video_window, budget, words.size)
        if words.size == 0:
            return words
        length = int(rng.integers(max(low, 1), min(budget, words.size) + 1))
        start = int(rng.integers(0, words.size - length + 1))
        return words[start : start + length]

    def _assemble(
        self, text: np.ndarray, clips: ClipRun, task: int, label: float,
        rng: np.random.Generator, mask: bool = True, view: ClipView | None = None,
    ) -> Example:
        L = self.layout
        if view is not None and clips.positions is not None:
            clips = dataclasses.replace(clips, words=view.words[clips.video_id][clips.positions])
        visual = np.asarray(L.visual_to_token(clips.words), np.int64)
        budget = self.config.max_len - (2 if task == TEXT_ONLY else 3)
        if task == TEXT_ONLY:
            n_text, n_video = min(text.size, budget), 0
        elif task == VIDEO_ONLY:
            n_text, n_video = 0, min(visual.size, budget)
        else:
            n_text, n_video = fit_budget(text.size, visual.size, budget)
        ids, types = L.sequence(text[:n_text], None if task == TEXT_ONLY else visual[:n_video])
        if mask:
            allowed, masking = None, self.config.masking
            if task == JOINT:
                side = rng.random()
                if side < self.config.joint_text_side:
                    allowed, masking = types == 0, self.text_side_masking
                elif side < self.config.joint_text_side + self.config.joint_video_side:
                    allowed, masking = types == 1, self.video_side_masking
            ids, labels = mask_tokens(ids, L, rng, masking, allowed, self.continuation)
        else:
            labels = np.full_like(ids, IGNORE_INDEX)
        if task != VIDEO_ONLY and self.mode == "train":
            ids, types, labels = augment_text(ids, types, labels, L, rng, self.config.augment,
                                              self.continuation)
        if task == JOINT and label != NO_ALIGNMENT and _no_clip_in_view(ids, types, labels, L):
            label = NO_ALIGNMENT  # a whole-video-masked pair: nothing to align the text with
        if (task == JOINT and self.mode == "train" and self.clip_features is not None
                and self.config.visual_word_dropout > 0):  # after: a hidden clip is in view
            hide = (types == 1) & L.is_visual(ids) & (labels == IGNORE_INDEX)
            hide &= rng.random(ids.size) < self.config.visual_word_dropout
            ids = np.where(hide, L.mask_id, ids)
        features = None
        if self.clip_features is not None and task != TEXT_ONLY:
            table = (self.clip_features if view is None else view.features)[clips.video_id]
            features = self._features(table, clips, n_video, types, labels)
        return Example(ids, types, labels, label, task, features)

    def _features(self, table: np.ndarray, clips: ClipRun, n_video: int, types: np.ndarray,
                  labels: np.ndarray) -> np.ndarray:
        placed = table[:0] if clips.positions is None else table[clips.positions[:n_video]]
        out = self.layout.clip_rows(types, placed.astype(np.float16))
        out[labels != IGNORE_INDEX] = 0
        return out

    # -- the examples -----------------------------------------------------------------------

    def example(self, index: int, epoch: int = 0) -> Example:
        if not 0 <= index < len(self):
            raise IndexError(f"example {index} out of range [0, {len(self)})")
        rng = np.random.default_rng([self.seed, epoch, index])
        if self.mode == "eval":
            seg_index = self.segment_ids[index // self.EVAL_KINDS]
            kind = index % self.EVAL_KINDS  # 0 text, 1 video, 2 aligned, 3 misaligned
            task, negative = min(kind, JOINT), kind == 3
        else:
            seg_index = self.segment_ids[index]
            task = int(rng.choice(3, p=self.task_probs))
            negative = task == JOINT and rng.random() < self.config.negative_prob
            negative = negative and epoch >= self.negatives_from_epoch
        return self._build(seg_index, task, negative, rng)

    def _pick_view(self, rng: np.random.Generator) -> ClipView | None:
        """An augmented view for ``view_prob`` of the training examples, else None (the plain
        clips). Draws from ``rng`` only when there are views to draw, so examples without them
        stay as they were."""
        if not self.views or self.mode != "train" or self.config.view_prob <= 0:
            return None
        if rng.random() >= self.config.view_prob:
            return None
        return self.views[int(rng.integers(len(self.views)))]

    def _build(self, seg_index: int, task: int, negative: bool, rng) -> Example:
        seg = self.corpus.segments[seg_index]
        assemble = functools.partial(self._assemble, view=self._pick_view(rng))
        # Segments without words or without clips fall back to the modality they do have.
        if task == VIDEO_ONLY or seg.text_ids.size == 0:
            window = self._video_window(seg_index, rng)
            if window.size:
                return assemble(np.zeros(0, np.int64), window, VIDEO_ONLY, NO_ALIGNMENT, rng)
            task = TEXT_ONLY
        text, clips = self._span(seg_index, rng)
        if task == TEXT_ONLY:
            return assemble(text, clips, TEXT_ONLY, NO_ALIGNMENT, rng)
        if negative:
            other = self._subsample(self._negative_clips(seg_index, rng), rng)
            if other.size:  # masked like a positive (see the module docstring), no targets
                negative_example = assemble(text, other, JOINT, 0.0, rng)
                negative_example.mlm_labels = np.full_like(negative_example.mlm_labels,
                                                           IGNORE_INDEX)
                return negative_example
        words = self._subsample(clips, rng)
        if words.size == 0:
            return assemble(text, words, TEXT_ONLY, NO_ALIGNMENT, rng)
        return assemble(text, words, JOINT, 1.0, rng)

    def examples(self, indices: Sequence[int], epoch: int = 0) -> list[Example]:
        return [self.example(int(i), epoch) for i in indices]


# ---------------------------------------------------------------------------------------------
# Sampling: global batches by length bucket, then split over ranks and accumulation steps.


@dataclasses.dataclass
class DataPosition:
    """Where the training stream is: the next global batch is ``batch`` of ``epoch``."""

    epoch: int = 0
    batch: int = 0


class GlobalBatchSampler:
    """Deterministic global batches of ``batch_size`` indices per optimizer step.

    Per epoch: a seeded permutation, chunks of ``bucket_multiplier`` batches sorted by length
    (so a batch holds examples of similar length and little padding), batches shuffled. The
    remainder that does not fill a batch is dropped (different examples every epoch). Every
    rank computes the same global batches and takes its own slice (``rank_slice``), which is
    the DistributedSampler contract with the batch composition independent of world size.
    """

    def __init__(
        self, lengths: np.ndarray, batch_size: int, seed: int, bucket_multiplier: int = 50
    ) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.bucket_multiplier = max(1, int(bucket_multiplier))
        if len(self) == 0:
            raise ValueError(
                f"{self.lengths.size} training examples cannot fill one global batch of "
                f"{self.batch_size}; lower train.batch_size or use a bigger corpus"
            )

    def __len__(self) -> int:
        return self.lengths.size // self.batch_size

    def batches(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch, 0xB0C])
        n = len(self) * self.batch_size
        order = rng.permutation(self.lengths.size)[:n]
        chunk = self.batch_size * self.bucket_multiplier
        out: list[np.ndarray] = []
        for start in range(0, n, chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            out.extend(np.split(part, part.size // self.batch_size))
        return [out[i] for i in rng.permutation(len(out))]

    def stream(self, start: DataPosition) -> Iterator[tuple[DataPosition, np.ndarray]]:
        """Global batches forever from ``start``; yields (position of this batch, indices)."""
        epoch, index = start.epoch, start.batch
        while True:
            batches = self.batches(epoch)
            for b in range(index, len(batches)):
                yield DataPosition(epoch, b), batches[b]
            epoch, index = epoch + 1, 0


def rank_slice(indices: np.ndarray, rank: int, world_size: int) -> np.ndarray:
    """This rank's contiguous share of a global batch (the batch size must divide evenly)."""
    if len(indices) % world_size:
        raise ValueError(f"global batch {len(indices)} is not divisible by {world_size} ranks")
    share = len(indices) // world_size
    return indices[rank * share : (rank + 1) * share]


def micro_batches(indices: np.ndarray, accumulation: int) -> list[np.ndarray]:
    if len(indices) % accumulation:
        raise ValueError(f"{len(indices)} examples do not split into {accumulation} micro-batches")
    return np.split(np.asarray(indices), accumulation)
