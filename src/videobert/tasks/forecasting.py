"""Forecasting: from a step's visual words, predict the words of the clips that come next.

The model reads ``[CLS] [>] v_1 ... v_t [MASK] x h [SEP]`` (a video-only input) and scores every
visual word at each of the h slots in one pass (the logits are restricted to the visual-word
columns, so text can never be forecast). A slot counts as a top-k hit when the word the codebook
gave that future clip is among the k best. Slots past the end of the video are left out.

Baselines, scored the same way:
- **most frequent**: the words ranked by how many training clips they label;
- **repeat last**: the context's last word first, then its other words from the most recent
  back, then the rest by frequency (a strong baseline: consecutive clips often share a word).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videobert.tasks import inputs
from videobert.tasks.steps import Step
from videobert.tasks.storyboard import StoryRow, render_storyboard

KS = (1, 5, 10)
IGNORE = -100  # target of a slot past the end of the video


@dataclasses.dataclass
class ForecastExample:
    video_id: str
    step_index: int
    context: list[int]  # visual words of the step's clips (the last ``max_context``)
    target: list[int]  # the next ``horizon`` clips' words; IGNORE past the video's end
    features: np.ndarray | None = None  # the context clips' features (models that read them)

    @property
    def clips(self) -> inputs.Clips:
        return inputs.Clips(tuple(self.context), self.features)


def forecast_examples(
    steps: Iterable[Step],
    video_words: dict[str, np.ndarray],
    horizon: int = 3,
    max_context: int = 16,
) -> list[ForecastExample]:
    """One example per step that has at least one clip after it."""
    out = []
    for step in steps:
        words = video_words[step.video_id]
        after = [int(w) for w in words[step.last_clip + 1 : step.last_clip + 1 + horizon]]
        target = [w if w >= 0 else IGNORE for w in after] + [IGNORE] * (horizon - len(after))
        if all(t == IGNORE for t in target):
            continue
        features = None if step.features is None else step.features[-max_context:]
        out.append(ForecastExample(step.video_id, step.index, list(step.words[-max_context:]),
                                   target, features))
    return out


def forecast_scores(
    model: Any, contexts: Sequence[Sequence[int] | inputs.Clips], horizon: int,
    batch_size: int = 64,
) -> torch.Tensor:
    """Log-probs over the visual words at each of the ``horizon`` slots: (E, h, n_visual)."""
    layout = model.layout
    examples = []
    for given in contexts:
        context = inputs.as_clips(given)
        video = [*inputs.visual_tokens(layout, context.words), *[layout.mask_id] * horizon]
        features = None
        if context.features is not None:  # nothing is known of the clips to come
            features = np.concatenate([context.features, np.zeros(
                (horizon, context.features.shape[1]), context.features.dtype)])
        example = inputs.video_sequence(layout, video, features)
        first = 2 + len(context)  # after [CLS] [>] context
        example.slots = list(range(first, first + horizon))
        examples.append(example)
    model.eval()
    logits = inputs.slot_logits(model, examples, batch_size)[..., inputs.visual_slice(layout)]
    return torch.log_softmax(logits, dim=-1)


def word_counts(words: Iterable[np.ndarray], n_visual: int) -> np.ndarray:
    """How many clips each visual word labels (missing clips, -1, are not counted)."""
    counts = np.zeros(n_visual, dtype=np.int64)
    for w in words:
        w = np.asarray(w)
        counts += np.bincount(w[w >= 0], minlength=n_visual)[:n_visual]
    return counts


def frequency_scores(counts: np.ndarray) -> np.ndarray:
    """Scores in [0, 1) that rank words by count; equal counts go to the lower word id."""
    order = np.lexsort((np.arange(len(counts)), -counts))  # by count desc, then id asc
    scores = np.empty(len(counts))
    scores[order] = 1.0 - (np.arange(len(counts)) + 1) / (len(counts) + 1)
    return scores


def most_frequent_scores(counts: np.ndarray, n_examples: int, horizon: int) -> np.ndarray:
    """(E, h, n_visual): every slot ranks the words by training frequency."""
    return np.broadcast_to(frequency_scores(counts), (n_examples, horizon, len(counts))).copy()


def repeat_last_scores(
    contexts: Sequence[Sequence[int]], counts: np.ndarray, horizon: int
) -> np.ndarray:
    """(E, h, n_visual): the context's words from the most recent back, then by frequency."""
    base = frequency_scores(counts)
    out = np.empty((len(contexts), horizon, len(counts)))
    for e, context in enumerate(contexts):
        scores = base.copy()
        recent = list(dict.fromkeys(reversed(list(context))))  # distinct, most recent first
        for r, word in enumerate(recent):
            scores[word] = 1.0 + len(recent) - r  # > every frequency score, last word highest
        out[e] = scores
    return out


@dataclasses.dataclass
class ForecastRow:
    method: str
    accuracy: dict[str, float]  # top1, top5, top10


@dataclasses.dataclass
class ForecastResult:
    rows: list[ForecastRow]
    n_examples: int
    n_slots: int  # forecast slots with a target
    horizon: int
    n_visual: int
    storyboards: list[str] = dataclasses.field(default_factory=list)

    def row(self, method: str) -> ForecastRow:
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(f"no {method!r} row; rows are {[r.method for r in self.rows]}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        head = " | ".join(f"top-{k}" for k in KS)
        lines = [
            f"Forecasting the next {self.horizon} clips' visual words ({self.n_examples} "
            f"examples, {self.n_slots} slots, {self.n_visual} words)",
            "",
            f"| method | {head} |",
            "|---|" + "---|" * len(KS),
        ]
        for r in self.rows:
            cells = " | ".join(f"{r.accuracy[f'top{k}']:.3f}" for k in KS)
            lines.append(f"| {r.method} | {cells} |")
        return "\n".join(lines) + "\n"


def evaluate_forecasting(
    model: Any,
    examples: Sequence[ForecastExample],
    train_counts: np.ndarray,
    batch_size: int = 64,
    storyboard_dir: str | Path | None = None,
    exemplars_dir: str | Path | None = None,
    n_storyboards: int = 3,
) -> ForecastResult:
    """Top-k accuracy of the model and of both baselines; optional storyboards of the first
    ``n_storyboards`` examples (context, forecast, ground truth)."""
    from videobert.metrics import forecast_topk_accuracy

    if not examples:
        raise ValueError("no forecasting example: no step has a clip after it")
    horizon = len(examples[0].target)
    contexts = [ex.context for ex in examples]
    targets = np.array([ex.target for ex in examples])  # (E, h)
    model_scores = forecast_scores(model, [ex.clips for ex in examples], horizon,
                                   batch_size)  # (E, h, n_visual)
    candidates = {
        "VideoBERT": model_scores.numpy(),
        "most frequent word": most_frequent_scores(train_counts, len(examples), horizon),
        "repeat last word": repeat_last_scores(contexts, train_counts, horizon),
    }
    rows = [ForecastRow(name, forecast_topk_accuracy(s, targets, KS, ignore_index=IGNORE))
            for name, s in candidates.items()]
    result = ForecastResult(rows, len(examples), int((targets != IGNORE).sum()), horizon,
                            len(train_counts))
    if storyboard_dir is not None:
        best = model_scores.argmax(-1)  # (E, h)
        for i, ex in enumerate(examples[:n_storyboards]):
            path = Path(storyboard_dir) / f"forecast_{i:02d}_{ex.video_id}_{ex.step_index}.png"
            render_forecast(ex, best[i].tolist(), path, exemplars_dir)
            result.storyboards.append(str(path))
    return result


def render_forecast(
    example: ForecastExample, forecast: Sequence[int], path: str | Path,
    exemplars_dir: str | Path | None, tile_size: int = 96,
) -> Path:
    rows = [
        StoryRow("context", example.context),
        StoryRow("forecast", list(forecast)),
        StoryRow("ground truth", [w for w in example.target if w != IGNORE]),
    ]
    title = f"{example.video_id}, step {example.step_index}: next {len(forecast)} clips"
    return render_storyboard(rows, path, exemplars_dir, title, tile_size)


# ---------------------------------------------------------------------------------------------
# CLI: videobert forecast


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.tasks import cli_common

    cli_common.add_model_data_arguments(parser)
    parser.add_argument("--split", default="val", help="ground-truth split (default: val)")
    parser.add_argument("--horizon", type=int, default=3, help="future clips to predict")
    parser.add_argument("--max-context", type=int, default=16, help="context clips kept")
    parser.add_argument("--storyboards", type=int, default=3, help="storyboard PNGs to draw")


def run(args: argparse.Namespace) -> int:
    from videobert.tasks import cli_common

    data = cli_common.load(args)
    train_videos = {s.video_id for s in data.split("train")}
    counts = word_counts((data.video_words[v] for v in sorted(train_videos)),
                         data.model.layout.n_visual)
    examples = forecast_examples(data.split(args.split), data.video_words, args.horizon,
                                 args.max_context)
    result = evaluate_forecasting(
        data.model, examples, counts, args.batch_size, storyboard_dir=args.out,
        exemplars_dir=data.codebook_dir / "exemplars", n_storyboards=args.storyboards,
    )
    cli_common.write_report(args.out, "forecast", result.to_dict(), result.to_markdown())
    return 0
