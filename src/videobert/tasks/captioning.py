"""Video captioning with VideoBERT as a feature extractor (Sun et al. 2019, sec. 4.4).

For every ground-truth step, three input variants (one "row" each, as in the paper's table):

- ``clip``: the step's clip features (S3D/I3D, ``features/<id>.npy``), one vector per clip;
- ``videobert``: the frozen model reads ``[CLS] now let me show you how to [MASK] the [MASK]
  [>] v1 ... vn [SEP]`` (the step's visual words); clip i's vector is the concatenation of
  the hidden state of ``v_i`` and the **mean of the two** ``[MASK]`` **hidden states** (the same
  for every clip of the step): ``[h(v_i) ; (h(mask_verb) + h(mask_noun)) / 2]``, width 2D.
  The paper averages the video-token and masked-token outputs and concatenates the two; we keep
  the per-clip video outputs (a sequence, so the captioner can attend over time) and
  concatenate the averaged masked-template output to each of them. With a motion stream in the
  clip features the two ``[MASK]`` states come from the slots' own views, as zero-shot reads
  them: the verb's from the clips' motion alone, the noun's from their appearance alone;
- ``videobert+clip``: both concatenated along the feature dimension (1024 + 2D).

Each row trains the same captioner (``caption_model.CaptionTransformer``) with the same recipe
and seed on the train split's steps, one (input, caption) pair per reference caption, and is
evaluated on the val split's steps against all of the step's reference captions (``captions``
in the ground truth, else ``caption``) with the COCO caption evaluation code: BLEU-3, BLEU-4,
METEOR, ROUGE-L, CIDEr (0-10 scale), micro (all val steps as one corpus) and macro (the mean
over val videos of each video's own score), the two averages of YouCook2's leaderboard.
Inputs are standardised per dimension with the train split's mean and standard deviation.
Long steps keep at most ``max_clips`` clips, evenly spaced.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from videobert.epochs import run_epochs, seed_everything, steps_per_epoch, warmup_schedule
from videobert.log import get_logger
from videobert.tasks import inputs
from videobert.tasks.caption_model import (
    CaptionModelConfig,
    CaptionTransformer,
    CaptionVocab,
    beam_search,
    caption_loss,
    greedy_decode,
    pad_features,
    pad_targets,
)
from videobert.tasks.steps import GroundTruth, Step
from videobert.vocab import PROMPT

_LOG = get_logger("caption")

ROWS = ("clip", "videobert", "videobert+clip")
ROW_NAMES = {
    "clip": "clip features only",
    "videobert": "VideoBERT features",
    "videobert+clip": "VideoBERT + clip features",
}
DEFAULT_TEMPLATE = PROMPT + " {verb} the {noun}"
SAVED_ROW = "videobert+clip"  # the captioner kept beside the model (evaluate_captioning)


@dataclasses.dataclass
class CaptionTrainConfig:
    """The recipe every row shares."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    label_smoothing: float = 0.1
    clip_grad: float = 1.0
    beam_size: int = 4
    length_alpha: float = 0.6  # GNMT length penalty exponent
    max_caption_tokens: int = 20
    max_clips: int = 32
    d_model: int = 128
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    seed: int = 0


# ---------------------------------------------------------------------------------------------
# Step inputs


@dataclasses.dataclass(frozen=True)
class StepClips:
    """The clips of one step that have a visual word (at most ``max_clips``, evenly spaced)."""

    step: Step
    clips: tuple[int, ...]
    words: tuple[int, ...]
    features: np.ndarray | None = None  # the clips' normalised features (models that read them)


def step_key(step: Step) -> str:
    return f"{step.video_id}#{step.index}"


def select_clips(
    steps: Sequence[Step], max_clips: int, video_words: dict[str, np.ndarray] | None = None
) -> list[StepClips]:
    """Each step's clip indices paired with their words, subsampled to ``max_clips``.

    ``Step.words`` holds the words of the clips ``first_clip..last_clip`` that have one; with
    no gap those are consecutive. Where a clip inside a step has no word (skipped upstream),
    ``video_words`` (from ``steps.load_video_words``) tells which clips the words belong to.
    """
    out = []
    for step in steps:
        clips = list(range(step.first_clip, step.last_clip + 1))
        if len(step.words) != len(clips):
            if video_words is None or step.video_id not in video_words:
                raise ValueError(
                    f"{step_key(step)}: {len(step.words)} visual words for clips "
                    f"{step.first_clip}..{step.last_clip}; pass video_words to locate them"
                )
            clips = [c for c in clips if video_words[step.video_id][c] >= 0]
        keep = inputs.evenly_spaced(len(clips), max_clips)
        features = None if step.features is None else step.features[keep]
        out.append(StepClips(step, tuple(clips[i] for i in keep),
                             tuple(step.words[i] for i in keep), features))
    return out


def references_of(step: Step, ground_truth: GroundTruth | None) -> list[str]:
    """The step's reference captions: ``captions`` from the ground truth, else ``[caption]``."""
    if ground_truth is not None:
        video = ground_truth.videos.get(step.video_id)
        if video is not None and step.index < len(video["steps"]):
            caps = video["steps"][step.index].get("captions")
            if caps:
                return [str(c) for c in caps]
    return [step.caption]


# ---------------------------------------------------------------------------------------------
# The three feature variants


def clip_feature_sequences(
    items: Sequence[StepClips], features_dir: str | Path
) -> list[np.ndarray]:
    """Each step's clip features: (n_clips, F) float32."""
    from videobert.artifacts.features import ClipFeatures

    features = ClipFeatures(features_dir)
    out = []
    for item in items:
        vid = item.step.video_id
        features.clips(vid, 0, max(item.clips), f"step {item.step.index}")  # checks the length
        out.append(features(vid)[list(item.clips)])
    return out


@torch.no_grad()
def videobert_feature_sequences(
    model: Any,
    tokenizer: Any,
    items: Sequence[StepClips],
    template: str = DEFAULT_TEMPLATE,
    batch_size: int = 64,
    progress: bool = True,
    appearance_width: int = 0,
) -> list[np.ndarray]:
    """Each step's VideoBERT features: (n_clips, 2D) = [h(v_i) ; mean of the [MASK] states].

    ``appearance_width`` > 0 (clip features with a motion stream after the appearance block):
    the verb slot's state comes from the clips' motion view and the noun slot's from their
    appearance view, as zero-shot reads them (``zero_shot.appearance_block_width``); the clip
    states from the whole clips."""
    from videobert.tasks.zero_shot import Template

    tmpl = Template.parse(template, tokenizer)
    whole = [inputs.Clips(item.words, item.features) for item in items]
    read = functools.partial(_prompt_states, model, tmpl, batch_size=batch_size,
                             progress=progress)
    states = read(whole, "whole clips")
    verb_states = noun_states = states
    if appearance_width > 0:
        verb_states = read([inputs.motion_view(c, appearance_width) for c in whole], "motion")
        noun_states = read([inputs.appearance_view(c, appearance_width) for c in whole],
                           "appearance")
    out: list[np.ndarray] = []
    for (hidden, ids, _), (verb_h, _, verb_at), (noun_h, _, noun_at) in zip(
            states, verb_states, noun_states, strict=True):
        video = hidden[model.layout.is_visual(ids)]  # (n, D)
        template_state = (verb_h[verb_at["verb"]].mean(0) + noun_h[noun_at["noun"]].mean(0)) / 2
        out.append(torch.cat([video, template_state.expand_as(video)], 1).numpy())
    return out


def _prompt_states(model: Any, template: Any, clips: Sequence[inputs.Clips], what: str,
                   batch_size: int, progress: bool) -> list[tuple]:
    """Last hidden states of the one-piece-slot prompt over each clip run: (hidden (T, D),
    ids (T,), {"verb": positions, "noun": positions}) per run."""
    from videobert.tasks.zero_shot import build_prompt

    layout = model.layout
    prompts = [build_prompt(template, layout, 1, 1, c) for c in clips]
    limit = inputs.max_length(model)
    if max(len(e.ids) for e, _, _ in prompts) > limit:
        raise ValueError(f"a step's prompt is longer than the model's {limit} positions; "
                         "lower max_clips")
    device = inputs.device_of(model)
    model.eval()
    out: list[tuple] = []
    starts = range(0, len(prompts), batch_size)
    for start in tqdm(starts, desc=f"VideoBERT features ({what})", unit="batch",
                      disable=not progress):
        part = prompts[start : start + batch_size]
        batch = inputs.pad([e for e, _, _ in part], layout.pad_id)
        hidden = model(**inputs.model_inputs(batch, device)).hidden_states.float().cpu()
        for b, (example, verb_pos, noun_pos) in enumerate(part):
            out.append((hidden[b, : len(example.ids)], torch.tensor(example.ids),
                        {"verb": verb_pos, "noun": noun_pos}))
    return out


def build_row_features(
    row: str,
    clip_feats: Sequence[np.ndarray] | None,
    videobert_feats: Sequence[np.ndarray] | None,
) -> list[np.ndarray]:
    """The input sequences of one row from the two feature kinds."""
    if row == "clip":
        return list(clip_feats)
    if row == "videobert":
        return list(videobert_feats)
    if row == "videobert+clip":
        return [np.concatenate([v, c], axis=1)
                for v, c in zip(videobert_feats, clip_feats, strict=True)]
    raise ValueError(f"unknown row {row!r}; rows are {list(ROWS)}")


class Standardiser:
    """Per-dimension (x - mean) / std with statistics of the training inputs."""

    def __init__(self, train: Sequence[np.ndarray]) -> None:
        rows = np.concatenate(train, axis=0)
        self.mean = rows.mean(0)
        self.std = np.maximum(rows.std(0), 1e-6)

    def __call__(self, sequences: Sequence[np.ndarray]) -> list[np.ndarray]:
        return [((s - self.mean) / self.std).astype(np.float32) for s in sequences]


# ---------------------------------------------------------------------------------------------
# Training and decoding


def train_captioner(
    features: Sequence[np.ndarray],
    captions: Sequence[Sequence[int]],
    vocab_size: int,
    config: CaptionTrainConfig,
    device: str | torch.device = "cpu",
    progress: bool = True,
    desc: str = "captioner",
) -> tuple[CaptionTransformer, list[float]]:
    """Teacher-forced training on (features[i], captions[i]) pairs (captions: output indices).

    Returns the model (eval mode) and the mean loss of each epoch.
    """
    if len(features) != len(captions) or not features:
        raise ValueError(f"need as many feature sequences as captions (got {len(features)} and "
                         f"{len(captions)}), at least one")
    gen = seed_everything(config.seed)
    model = CaptionTransformer(CaptionModelConfig(
        feature_dim=features[0].shape[1], vocab_size=vocab_size, d_model=config.d_model,
        nhead=config.nhead, num_encoder_layers=config.num_encoder_layers,
        num_decoder_layers=config.num_decoder_layers, dim_feedforward=config.dim_feedforward,
        dropout=config.dropout,
    )).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = max(1, config.epochs * steps_per_epoch(len(features), config.batch_size))
    # linear warm-up, then cosine decay to 10%
    sched = warmup_schedule(opt, max(1, int(config.warmup_fraction * total)), total, "cosine",
                            floor=0.1)

    def batch_loss(idx: Sequence[int]) -> torch.Tensor:
        src, mask = pad_features([features[i] for i in idx])
        tgt = pad_targets([captions[i] for i in idx])
        return caption_loss(model, src.to(device), mask.to(device), tgt.to(device),
                            config.label_smoothing)

    losses = run_epochs(model, len(features), config.batch_size, config.epochs, batch_loss,
                        opt, sched, gen, config.clip_grad, progress, desc)
    return model.eval(), losses


def train_rows(
    features: dict[str, Sequence[np.ndarray]],
    captions: Sequence[Sequence[int]],
    vocab_size: int,
    config: CaptionTrainConfig,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> dict[str, tuple[CaptionTransformer, list[float]]]:
    """``train_captioner`` for each row's features. On a CPU with two cores or more, the first
    row trains in a second process beside the others, one thread each: a captioner this small
    trains as fast on one thread as on two (demo, clip row: 35.7 s on 1 thread, 32.7-35.9 s on
    2), so two at once take about half the time. Each result is the same as a one-thread run."""
    from videobert.pipeline import side_by_side_possible

    rows = list(features)
    if len(rows) < 2 or torch.device(device).type != "cpu" or not side_by_side_possible():
        return {row: train_captioner(features[row], captions, vocab_size, config, device,
                                     progress, desc=f"captioner ({row})") for row in rows}
    import concurrent.futures
    import multiprocessing

    before = torch.get_num_threads()
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        first = pool.submit(_train_on_one_thread, features[rows[0]], captions, vocab_size,
                            config)
        torch.set_num_threads(1)
        try:
            out = {row: train_captioner(features[row], captions, vocab_size, config, "cpu",
                                        progress, desc=f"captioner ({row})")
                   for row in rows[1:]}
        finally:
            torch.set_num_threads(before)
        return {rows[0]: first.result(), **out}


def _train_on_one_thread(features, captions, vocab_size, config):
    torch.set_num_threads(1)
    return train_captioner(features, captions, vocab_size, config, "cpu", progress=False)


def generate(
    model: CaptionTransformer,
    features: Sequence[np.ndarray],
    beam_size: int = 4,
    max_len: int = 20,
    alpha: float = 0.6,
    batch_size: int = 64,
) -> list[list[int]]:
    """Output-index captions for each feature sequence; ``beam_size=0`` means greedy."""
    device = next(model.parameters()).device
    out: list[list[int]] = []
    for start in range(0, len(features), batch_size):
        src, mask = pad_features(features[start : start + batch_size])
        src, mask = src.to(device), mask.to(device)
        if beam_size == 0:
            out.extend(greedy_decode(model, src, mask, max_len))
        else:
            out.extend(beam_search(model, src, mask, beam_size, max_len, alpha))
    return out


def to_text(tokenizer: Any, vocab: CaptionVocab, indices: Sequence[int]) -> str:
    return tokenizer.decode(vocab.decode(indices), skip_special_tokens=True).strip()


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclasses.dataclass
class CaptionResult:
    """Figures per row (beam search, and greedy for reference) and example captions."""

    metrics: dict[str, dict[str, float]]  # row -> {"BLEU-3", "BLEU-4", "METEOR", ...}: micro
    greedy_metrics: dict[str, dict[str, float]]
    examples: list[dict[str, Any]]  # {"step", "references", row: caption, ...}
    n_train_steps: int
    n_train_pairs: int
    n_val_steps: int
    vocab_size: int
    config: dict[str, Any]
    losses: dict[str, list[float]]
    seconds: float
    per_step_cider: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # row -> val
    # row -> the same figures, macro: each val video's segments scored alone, then averaged
    macro_metrics: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    n_val_videos: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cider_gain(self, row: str = "videobert+clip", baseline: str = "clip"):
        """95% paired bootstrap interval of mean per-step CIDEr, ``row`` minus ``baseline``
        (the IDF weights are fixed by the references, so the corpus CIDEr is that mean)."""
        from videobert.metrics.bootstrap import bootstrap_difference

        return bootstrap_difference(np.asarray(self.per_step_cider[row]),
                                    np.asarray(self.per_step_cider[baseline]))

    def to_markdown(self) -> str:
        from videobert.metrics import METRIC_NAMES

        lines = [
            f"Captioning on {self.n_val_steps} val steps (captioner trained on "
            f"{self.n_train_pairs} captions of {self.n_train_steps} train steps, "
            f"{self.config['epochs']} epochs, beam {self.config['beam_size']}, "
            f"seed {self.config['seed']}); CIDEr on the 0-10 scale. Micro: every val step "
            "in one corpus; macro: each val video's steps scored alone, the mean over its "
            f"{self.n_val_videos} videos (as YouCook2's leaderboard)",
            "",
            "| input | average | " + " | ".join(METRIC_NAMES) + " | CIDEr (greedy) |",
            "|---" * (len(METRIC_NAMES) + 3) + "|",
        ]
        for row, figures in self.metrics.items():
            averages = [("micro", figures, f"{self.greedy_metrics[row]['CIDEr']:.3f}")]
            if row in self.macro_metrics:
                averages.append(("macro", self.macro_metrics[row], "–"))
            for average, values, greedy in averages:
                cells = " | ".join(f"{values[m]:.3f}" for m in METRIC_NAMES)
                lines.append(f"| {ROW_NAMES[row]} | {average} | {cells} | {greedy} |")
        if self.examples:
            lines += ["", "Examples (val):", "",
                      "| step | reference | " + " | ".join(ROW_NAMES[r] for r in self.metrics)
                      + " |", "|---" * (len(self.metrics) + 2) + "|"]
            for ex in self.examples:
                lines.append(f"| {ex['step']} | {ex['references'][0]} | "
                             + " | ".join(ex[r] for r in self.metrics) + " |")
        return "\n".join(lines) + "\n"


def evaluate_captioning(
    model: Any,
    tokenizer: Any,
    train_steps: Sequence[Step],
    val_steps: Sequence[Step],
    features_dir: str | Path | None,
    ground_truth: GroundTruth | None = None,
    rows: Sequence[str] = ROWS,
    config: CaptionTrainConfig | None = None,
    template: str = DEFAULT_TEMPLATE,
    device: str = "cpu",
    n_examples: int = 8,
    batch_size: int = 64,
    progress: bool = True,
    video_words: dict[str, np.ndarray] | None = None,
    save_dir: str | Path | None = None,
    appearance_width: int = 0,
) -> CaptionResult:
    """Train one captioner per row on ``train_steps`` and score it on ``val_steps``; with
    ``save_dir``, the ``videobert+clip`` row's captioner is saved there
    (``tasks.captioner.SavedCaptioner``: what ``Pipeline.caption`` uses).

    ``model`` is the frozen VideoBERT (not needed, may be None, for the ``clip`` row alone);
    ``features_dir`` holds the clip features (not needed for the ``videobert`` row alone).
    """
    from videobert.metrics import CaptionScorer

    config = config or CaptionTrainConfig()
    began = time.perf_counter()
    rows = list(rows)
    for row in rows:
        if row not in ROWS:
            raise ValueError(f"unknown row {row!r}; rows are {list(ROWS)}")
    if not train_steps or not val_steps:
        raise ValueError(f"captioning needs train and val steps (got {len(train_steps)} train, "
                         f"{len(val_steps)} val)")
    train_items = select_clips(train_steps, config.max_clips, video_words)
    val_items = select_clips(val_steps, config.max_clips, video_words)
    items = train_items + val_items
    n_train = len(train_items)

    clip_feats = vb_feats = None
    if any("clip" in r for r in rows):
        if features_dir is None:
            raise ValueError("the clip-feature rows need a features folder")
        clip_feats = clip_feature_sequences(items, features_dir)
    if any("videobert" in r for r in rows):
        if model is None:
            raise ValueError("the VideoBERT rows need a model")
        vb_feats = videobert_feature_sequences(model, tokenizer, items, template, batch_size,
                                               progress, appearance_width)

    # Targets: every reference caption of every train step is one training pair.
    train_refs = [references_of(it.step, ground_truth) for it in train_items]
    pieces = [[inputs.encode_text(tokenizer, c)[: config.max_caption_tokens] for c in refs]
              for refs in train_refs]
    vocab = CaptionVocab.from_captions(p for caps in pieces for p in caps)
    pair_step = [i for i, caps in enumerate(pieces) for _ in caps]
    pair_caption = [vocab.encode(p) for caps in pieces for p in caps]

    references = {step_key(it.step): references_of(it.step, ground_truth) for it in val_items}
    keys = list(references)
    videos = {step_key(it.step): it.step.video_id for it in val_items}
    metrics, greedy_metrics, losses, captions, per_step, macro = {}, {}, {}, {}, {}, {}
    standardised = {}
    for row in rows:
        feats = build_row_features(row, clip_feats, vb_feats)
        standardise = Standardiser(feats[:n_train])
        standardised[row] = (standardise, standardise(feats[:n_train]),
                             standardise(feats[n_train:]))
    trained = train_rows(
        {row: [x[i] for i in pair_step] for row, (_, x, _) in standardised.items()},
        pair_caption, len(vocab), config, device, progress)
    with CaptionScorer() as scorer:
        for row in rows:
            standardise, _, val_x = standardised[row]
            captioner, losses[row] = trained[row]
            if save_dir is not None and row == SAVED_ROW:
                from videobert.tasks.captioner import SavedCaptioner

                settings = {k: getattr(config, k) for k in (
                    "beam_size", "length_alpha", "max_caption_tokens", "max_clips")}
                settings["appearance_width"] = appearance_width  # the slots' views
                SavedCaptioner(captioner, vocab, standardise.mean, standardise.std, row,
                               template, settings).save(save_dir)
            beam = generate(captioner, val_x, config.beam_size, config.max_caption_tokens,
                            config.length_alpha)
            greedy = generate(captioner, val_x, 0, config.max_caption_tokens)
            captions[row] = [to_text(tokenizer, vocab, c) for c in beam]
            grouped = scorer.evaluate_grouped(
                references, dict(zip(keys, captions[row], strict=True)), videos)
            metrics[row], macro[row] = grouped.micro.corpus, grouped.macro
            per_step[row] = [grouped.micro.per_item[k]["CIDEr"] for k in keys]
            greedy_metrics[row] = scorer.evaluate(references, {
                k: to_text(tokenizer, vocab, c) for k, c in zip(keys, greedy, strict=True)
            }).corpus
    examples = [
        {"step": key, "references": references[key], **{r: captions[r][i] for r in rows}}
        for i, key in enumerate(keys[:n_examples])
    ]
    return CaptionResult(
        metrics, greedy_metrics, examples, n_train, len(pair_caption), len(val_items),
        len(vocab), dataclasses.asdict(config), losses, time.perf_counter() - began, per_step,
        macro, len(set(videos.values())),
    )


def run_captioning(
    model_dir: str | Path,
    features_dir: str | Path,
    words_dir: str | Path | None,
    ground_truth: str | Path,
    rows: Sequence[str] = ROWS,
    epochs: int | None = None,
    seed: int | None = None,
    config: CaptionTrainConfig | None = None,
    device: str = "cpu",
    n_examples: int = 8,
    progress: bool = True,
    template: str = DEFAULT_TEMPLATE,
) -> CaptionResult:
    """Load a model folder, the ground truth and the data's visual words, and evaluate the
    three rows; ``result.metrics`` is ``{row: {metric: value}}``.

    ``words_dir`` defaults to the codebook the model was trained with
    (``artifacts.words.resolve_words``); ``epochs``/``seed`` override the config's.
    """
    from videobert.tasks.cli_common import ground_truth_steps
    from videobert.tasks.steps import load_ground_truth

    config = dataclasses.replace(config or CaptionTrainConfig())
    if epochs is not None:
        config.epochs = epochs
    if seed is not None:
        config.seed = seed
    model = tokenizer = None
    width = 0
    if any("videobert" in r for r in rows):
        from videobert.tasks.zero_shot import appearance_block_width

        model, tokenizer, codebook = inputs.load_model_folder(model_dir, device)
        width = appearance_block_width(model, codebook)
    if tokenizer is None:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    gt = load_ground_truth(ground_truth)
    data = ground_truth_steps(gt, words_dir, model_dir,
                              model.config.clip_feature_dim if model is not None else 0)
    steps, video_words = data.steps, data.video_words
    train = [s for s in steps if s.split == "train"]
    val = [s for s in steps if s.split == "val"]
    return evaluate_captioning(
        model, tokenizer, train, val, features_dir, gt, rows, config, template, device=device,
        n_examples=n_examples, progress=progress, video_words=video_words,
        appearance_width=width,
    )


# ---------------------------------------------------------------------------------------------
# CLI: videobert caption


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.cli_options import add_device_argument
    from videobert.tasks.cli_common import add_words_argument

    defaults = CaptionTrainConfig()
    parser.add_argument("--model", type=Path, required=True,
                        help="model folder (config.json, model.safetensors, tokenizer, codebook/)")
    parser.add_argument("--features", type=Path, required=True, help="clip features folder")
    add_words_argument(parser)
    parser.add_argument("--ground-truth", type=Path, required=True,
                        help="ground_truth.json (videos with split and steps with captions)")
    parser.add_argument("--out", type=Path, default=Path("report"),
                        help="report folder (default: %(default)s)")
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--beam", type=int, default=defaults.beam_size,
                        help="beam size (default: %(default)s)")
    parser.add_argument("--template", default=DEFAULT_TEMPLATE,
                        help="prompt for the VideoBERT features, with {verb} and {noun} slots "
                        "(default: %(default)r)")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    from videobert.cli_options import resolve_device
    from videobert.tasks.cli_common import write_report

    config = CaptionTrainConfig(epochs=args.epochs, seed=args.seed, beam_size=args.beam)
    result = run_captioning(args.model, args.features, args.words, args.ground_truth,
                            rows=args.rows, config=config, device=resolve_device(args.device),
                            template=args.template)
    write_report(args.out, "caption", result.to_dict(), result.to_markdown())
    _LOG.info(f"{result.seconds:.1f} s")
    return 0
