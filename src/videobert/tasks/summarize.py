"""Summarisation: the key steps of a video as (time span, caption, representative frame).

Segments come from the model's own view of each clip: its input embedding, i.e. the clip's
visual-word embedding plus the projection of its feature (``signal="embedding"``), or the last
hidden state of the clip in ``[CLS] now let me show you how to [MASK] the [MASK] [>] video
[SEP]`` (``"contextual"``). The unit-length vectors are cut into consecutive segments by
optimal partitioning (dynamic programming): minimise the within-segment sum of squared
distances to the segment's mean plus ``penalty`` per segment, so a new segment starts where
the clips change more than the penalty is worth. Each segment's representative clip is the
one nearest its mean; its caption comes from the captioner kept beside the model
(``MODEL/captioner``) or, without one, from zero-shot classification ("VERB the NOUN", most
likely verb and noun); ``alignment`` is the alignment head's probability that the caption
belongs with the segment's clips.

Evaluation (``evaluate_summaries``): on the val videos, segment precision / recall / F1 at
IoU >= 0.5 against the ground-truth steps (``metrics.segments``), and BLEU / CIDEr of the
captions of matched segments, beside a uniform baseline (as many segments as ours, evenly
spaced in time, captioned the same way); 95% bootstrap intervals over videos. The penalty is
chosen on the train videos (the F1-best of a grid around the configured one).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from videobert.log import get_logger
from videobert.tasks import inputs
from videobert.tasks.steps import GroundTruth, overlapping_clips

_LOG = get_logger("summarize")

SIGNALS = ("embedding", "contextual")
# Per segment, in squared distance between unit vectors (the F1-best on the demo's train
# videos, 1.5 s clips); ``evaluate`` re-chooses it on the train split of the data it scores.
DEFAULT_PENALTY = 1.15
PENALTY_GRID = tuple(float(x) for x in np.geomspace(0.25, 4.0, 17))  # x the configured one

Spans = list[tuple[int, int]]  # (first clip, last clip), inclusive


@dataclasses.dataclass(frozen=True)
class SummarizeConfig:
    signal: str = "embedding"
    penalty: float = DEFAULT_PENALTY
    max_steps: int | None = None  # at most this many key steps (the best partition into <= K)

    def __post_init__(self) -> None:
        if self.signal not in SIGNALS:
            raise ValueError(f"unknown summary signal {self.signal!r}; signals are "
                             f"{list(SIGNALS)}")
        if self.penalty < 0:
            raise ValueError(f"summary penalty must be >= 0, got {self.penalty}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")


# ---------------------------------------------------------------------------------------------
# The signal and the segmentation


@torch.no_grad()
def clip_vectors(model: Any, tokenizer: Any, clips: inputs.Clips,
                 signal: str = "embedding") -> np.ndarray:
    """One unit-length vector per clip: (n_clips, D) float64."""
    layout = model.layout
    device = inputs.device_of(model)
    if signal == "embedding":  # no position embedding: it would drift along the video
        ids = torch.tensor(inputs.visual_tokens(layout, clips.words), device=device)
        x = model.embeddings.word(ids)  # (n, D)
        if clips.features is not None and model.embeddings.clip is not None:
            x = x + model.embeddings.clip(torch.as_tensor(
                np.asarray(clips.features, np.float32), device=device))
        vectors = x.float().cpu().numpy()
    elif signal == "contextual":
        from videobert.tasks.zero_shot import DEFAULT_TEMPLATE, Template, build_prompt

        template = Template.parse(DEFAULT_TEMPLATE, tokenizer)
        per = max(1, inputs.max_length(model) - 32)  # clips per pass, beside the prompt
        rows = []
        for lo in range(0, len(clips), per):  # a long video in consecutive chunks
            part = inputs.Clips(clips.words[lo : lo + per], None if clips.features is None
                                else clips.features[lo : lo + per])
            example, _, _ = build_prompt(template, layout, 1, 1, part)
            batch = inputs.pad([example], layout.pad_id)
            hidden = model(**inputs.model_inputs(batch, device)).hidden_states[0]  # (T, D)
            rows.append(hidden[layout.is_visual(batch.input_ids[0].to(device))].float().cpu())
        vectors = torch.cat(rows).numpy()
    else:
        raise ValueError(f"unknown summary signal {signal!r}; signals are {list(SIGNALS)}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float64) / np.maximum(norms, 1e-12)


def _segment_costs(x: np.ndarray, j: int, starts: np.ndarray, cum: np.ndarray,
                   cum_sq: np.ndarray) -> np.ndarray:
    """Sum of squared distances to the mean of clips ``starts[k]..j-1``, for every k."""
    sums = cum[j] - cum[starts]  # (k, D)
    n = (j - starts).astype(np.float64)
    return (cum_sq[j] - cum_sq[starts]) - (sums * sums).sum(1) / n


def change_points(x: np.ndarray, penalty: float, max_segments: int | None = None) -> Spans:
    """The partition of the rows of ``x`` (n, D) into consecutive segments that minimises the
    within-segment sum of squared distances to each segment's mean + ``penalty`` per segment
    (optimal partitioning, exact); with ``max_segments``, the best one with at most that many.
    Returns ``(first, last)`` row spans, inclusive, in order."""
    n = len(x)
    if n == 0:
        return []
    cum = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, 0)])
    cum_sq = np.concatenate([[0.0], np.cumsum((x * x).sum(1))])
    # cost[j]: best cost of the first j rows; start[j]: where their last segment begins
    cost, start = np.zeros(n + 1), np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        total = cost[:j] + _segment_costs(x, j, np.arange(j), cum, cum_sq) + penalty
        start[j] = int(np.argmin(total))
        cost[j] = total[start[j]]
    spans = _trace(start, n)
    if max_segments is None or len(spans) <= max_segments:
        return spans
    return _at_most(x, max_segments, penalty, cum, cum_sq)


def _trace(start: np.ndarray, n: int) -> Spans:
    spans, j = [], n
    while j > 0:
        spans.append((int(start[j]), j - 1))
        j = int(start[j])
    return spans[::-1]


def _at_most(x: np.ndarray, k_max: int, penalty: float, cum: np.ndarray,
             cum_sq: np.ndarray) -> Spans:
    """The least penalised partition into at most ``k_max`` segments: the least-cost one
    into exactly k segments for each k <= k_max (O(k n) vector steps), then the best k."""
    n = len(x)
    cost = np.array([np.inf] + [_segment_costs(x, j, np.array([0]), cum, cum_sq)[0]
                                for j in range(1, n + 1)])  # one segment
    starts, at_n = [np.zeros(n + 1, dtype=np.int64)], [cost[n]]
    for _ in range(1, k_max):
        new, arg = np.full(n + 1, np.inf), np.zeros(n + 1, dtype=np.int64)
        for j in range(2, n + 1):
            total = cost[1:j] + _segment_costs(x, j, np.arange(1, j), cum, cum_sq)
            arg[j] = 1 + int(np.argmin(total))
            new[j] = total[arg[j] - 1]
        cost = new
        starts.append(arg)
        at_n.append(cost[n])
    k = int(np.argmin(np.asarray(at_n) + penalty * np.arange(1, k_max + 1)))
    spans, j = [], n
    for level in range(k, -1, -1):
        i = int(starts[level][j])
        spans.append((i, j - 1))
        j = i
    return spans[::-1]


def representative(x: np.ndarray, first: int, last: int) -> int:
    """The clip of ``first..last`` nearest the segment's mean vector."""
    part = x[first : last + 1]
    return first + int(np.argmin(((part - part.mean(0)) ** 2).sum(1)))


# ---------------------------------------------------------------------------------------------
# Key steps


@dataclasses.dataclass(frozen=True)
class KeyStep:
    start: float  # seconds
    end: float
    first_clip: int
    last_clip: int  # inclusive
    frame_clip: int  # the representative clip (its middle frame is the thumbnail)
    caption: str
    alignment: float  # the alignment head's probability that caption and clips belong together


CaptionFn = Callable[[Spans], list[str]]  # clip spans of one video -> a sentence each


def segment_video(model: Any, tokenizer: Any, clips: inputs.Clips,
                  config: SummarizeConfig) -> tuple[Spans, np.ndarray]:
    """The key steps' clip spans and the per-clip vectors they were cut from."""
    x = clip_vectors(model, tokenizer, clips, config.signal)
    return change_points(x, config.penalty, config.max_steps), x


def clip_span_times(spans: Spans, clip_seconds: float, duration: float | None
                    ) -> list[tuple[float, float]]:
    """Seconds of each clip span; the last ends at ``duration`` when that comes first."""
    out = []
    for first, last in spans:
        end = (last + 1) * clip_seconds
        out.append((first * clip_seconds, min(end, duration) if duration else end))
    return out


def summarize_clips(model: Any, tokenizer: Any, clips: inputs.Clips, clip_seconds: float,
                    caption: CaptionFn, config: SummarizeConfig | None = None,
                    duration: float | None = None) -> list[KeyStep]:
    """The key steps of one video given as its clips (visual words and features)."""
    config = config or SummarizeConfig()
    spans, x = segment_video(model, tokenizer, clips, config)
    captions = caption(spans)
    aligned = alignment_probabilities(model, tokenizer, clips, spans, captions)
    times = clip_span_times(spans, clip_seconds, duration)
    return [KeyStep(start, end, lo, hi, representative(x, lo, hi), text, p)
            for (lo, hi), (start, end), text, p in zip(spans, times, captions, aligned,
                                                       strict=True)]


def alignment_probabilities(model: Any, tokenizer: Any, clips: inputs.Clips, spans: Spans,
                            captions: Sequence[str]) -> list[float]:
    """sigmoid(alignment logit) of ``[CLS] caption [>] span's clips [SEP]`` per span."""
    limit = inputs.max_length(model) - 48
    examples = [inputs.clips_sequence(model.layout, inputs.encode_text(tokenizer, text)[:40],
                                      span_clips(clips, lo, hi).subsample(limit))
                for (lo, hi), text in zip(spans, captions, strict=True)]
    if not examples:
        return []
    logits = inputs.alignment_scores(model, examples)
    return [float(p) for p in 1 / (1 + np.exp(-logits))]


def span_clips(clips: inputs.Clips, first: int, last: int) -> inputs.Clips:
    """Clips ``first..last`` (inclusive) of a video's clips."""
    features = None if clips.features is None else clips.features[first : last + 1]
    return inputs.Clips(clips.words[first : last + 1], features)


def zero_shot_captioner(model: Any, tokenizer: Any, clips: inputs.Clips,
                        verbs: Sequence[str], nouns: Sequence[str]) -> CaptionFn:
    """Captions "VERB the NOUN": each span's most likely verb and noun (zero-shot)."""
    from videobert.tasks.zero_shot import (
        DEFAULT_TEMPLATE,
        Template,
        candidate_pieces,
        score_candidates,
    )

    template = Template.parse(DEFAULT_TEMPLATE, tokenizer)
    verb_p = candidate_pieces(tokenizer, verbs, "verb")
    noun_p = candidate_pieces(tokenizer, nouns, "noun")

    def caption(spans: Spans) -> list[str]:
        if not spans:
            return []
        verb_s, noun_s = score_candidates(model, template, verb_p, noun_p,
                                          [span_clips(clips, lo, hi) for lo, hi in spans])
        return [f"{verbs[int(v.argmax())]} the {nouns[int(n.argmax())]}"
                for v, n in zip(verb_s, noun_s, strict=True)]

    return caption


def uniform_spans(duration: float, n: int) -> list[tuple[float, float]]:
    """``n`` segments of equal length covering ``[0, duration)``: the baseline."""
    return [(duration * k / n, duration * (k + 1) / n) for k in range(n)]


# ---------------------------------------------------------------------------------------------
# Evaluation on videos with ground-truth steps


@dataclasses.dataclass
class VideoData:
    """One video of the ground truth with every clip's inputs (what summaries and QA read)."""

    video_id: str
    clips: inputs.Clips  # every clip, in order
    duration: float  # seconds
    steps: list[dict]  # the ground truth's steps (verb, noun, start, end, caption(s))
    raw_features: np.ndarray | None = None  # (n_clips, F) as stored: the captioner's input

    @property
    def true_spans(self) -> list[tuple[float, float]]:
        return [(float(s["start"]), float(s["end"])) for s in self.steps]

    def references(self, index: int) -> list[str]:
        step = self.steps[index]
        return [str(c) for c in step.get("captions") or [
            step.get("caption") or f"{step['verb']} the {step['noun']}"]]


def load_videos(ground_truth: GroundTruth, video_words: dict[str, np.ndarray],
                clip_seconds: float, split: str,
                clip_features: dict[str, np.ndarray] | None = None,
                features_dir: str | Path | None = None) -> list[VideoData]:
    """The split's videos that have a visual word for every clip (others are left out, with
    a log line: a gap would shift every later clip's time)."""
    raw = None
    if features_dir is not None:
        from videobert.artifacts.features import ClipFeatures

        raw = ClipFeatures(features_dir)
    out = []
    for video_id, video in ground_truth.videos.items():
        if video["split"] != split or not video["steps"]:
            continue
        words = video_words.get(video_id)
        if words is None or len(words) == 0 or (words < 0).any():
            _LOG.info(f"{video_id}: left out, not every clip has a visual word")
            continue
        features = None if clip_features is None else clip_features[video_id]
        duration = float(video.get("duration") or len(words) * clip_seconds)
        out.append(VideoData(video_id, inputs.Clips(tuple(int(w) for w in words), features),
                             duration, list(video["steps"]),
                             None if raw is None else np.asarray(raw(video_id), np.float32)))
    return out


def tune_penalty(vectors: Sequence[np.ndarray], videos: Sequence[VideoData],
                 clip_seconds: float, grid: Sequence[float]) -> tuple[float, float]:
    """The grid's penalty with the best segment F1 on ``videos`` (the first of equals), and
    that F1."""
    from videobert.metrics.segments import SegmentCounts, segment_counts

    best = (grid[0], -1.0)
    for penalty in grid:
        total = SegmentCounts(0, 0, 0)
        for x, video in zip(vectors, videos, strict=True):
            times = clip_span_times(change_points(x, penalty), clip_seconds, video.duration)
            total = total + segment_counts(times, video.true_spans)
        if total.f1 > best[1]:
            best = (float(penalty), total.f1)
    return best


METHODS = {"ours": "VideoBERT change points", "uniform": "uniform (as many, evenly spaced)"}


@dataclasses.dataclass
class SummaryResult:
    n_videos: int
    n_steps: int
    signal: str
    penalty: float  # the one used on the val videos
    train_f1: float | None  # F1 of that penalty on the train videos it was chosen on
    caption_source: str
    # method -> per val video: matched, predicted, true segments; and the summed per-caption
    # BLEU-4 and CIDEr of its matched segments
    per_video: dict[str, dict[str, list[float]]]
    corpus: dict[str, dict[str, float]]  # method -> corpus BLEU-4, CIDEr of matched segments
    examples: list[dict[str, Any]]  # a few val videos: true steps and our key steps

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["figures"] = {m: {k: dataclasses.asdict(v) for k, v in self.figures(m).items()}
                          for m in self.per_video}
        out["f1_gain"] = dataclasses.asdict(self.gain("f1"))
        return out

    def _ratio(self, method: str, what: str):
        v = {k: np.asarray(x) for k, x in self.per_video[method].items()}
        return {"precision": (v["matched"], v["predicted"]),
                "recall": (v["matched"], v["true"]),
                "f1": (2 * v["matched"], v["predicted"] + v["true"]),
                "segments_per_video": (v["predicted"], np.ones_like(v["predicted"])),
                "BLEU-4": (v["bleu4"], v["matched"]),
                "CIDEr": (v["cider"], v["matched"])}[what]

    def figures(self, method: str) -> dict[str, Any]:
        """Each figure with its 95% bootstrap interval over the val videos."""
        from videobert.metrics.bootstrap import bootstrap_ratio

        return {what: bootstrap_ratio(*self._ratio(method, what)) for what in (
            "segments_per_video", "precision", "recall", "f1", "BLEU-4", "CIDEr")}

    def gain(self, what: str = "f1"):
        """Ours minus uniform, paired over videos."""
        from videobert.metrics.bootstrap import bootstrap_ratio_difference

        return bootstrap_ratio_difference(self._ratio("ours", what), self._ratio("uniform", what))

    def to_markdown(self) -> str:
        from videobert.report import interval_cell, verdict

        lines = [
            f"Key steps of {self.n_videos} val videos ({self.n_steps} ground-truth steps): "
            f"segments cut where the model's clip {self.signal} changes (penalty "
            f"{self.penalty:.3g}, chosen on the train videos"
            + (f", where its F1 is {self.train_f1:.3f}" if self.train_f1 is not None else "")
            + f"); captions from {self.caption_source}. Each predicted segment matches at most "
            "one true step.", "",
            "| segments | per video | precision | recall | F1 (IoU >= 0.5) | BLEU-4 | CIDEr |"
            " BLEU-4 (corpus) | CIDEr (corpus) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for method, name in METHODS.items():
            f = self.figures(method)
            cells = [f"{f['segments_per_video'].value:.2f}"] + [
                interval_cell(f[k]) for k in ("precision", "recall", "f1", "BLEU-4", "CIDEr")]
            corpus = self.corpus.get(method, {})
            cells += [f"{corpus[k]:.3f}" if k in corpus else "–" for k in ("BLEU-4", "CIDEr")]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        true_per_video = self.n_steps / max(1, self.n_videos)
        gain = self.gain("f1")
        lines += ["", f"Ground truth: {true_per_video:.2f} steps per video. BLEU-4 and CIDEr "
                  "(0-10) are means over the matched segments (each caption against its "
                  "step's references); in brackets: 95% bootstrap interval over videos.",
                  f"F1, ours - uniform: {gain} (paired over videos): ours is {verdict(gain)} "
                  "the uniform baseline."]
        for ex in self.examples:
            lines += ["", f"`{ex['video']}`:", "", "| ground truth | ours |", "|---|---|"]
            true, ours = ex["true"], ex["ours"]
            for i in range(max(len(true), len(ours))):
                lines.append(f"| {_step_cell(true, i)} | {_step_cell(ours, i)} |")
        return "\n".join(lines) + "\n"


def _step_cell(steps: list[dict], i: int) -> str:
    if i >= len(steps):
        return ""
    s = steps[i]
    return f"{s['start']:.1f}-{s['end']:.1f} s {s['caption']}"


def evaluate_summaries(
    model: Any,
    tokenizer: Any,
    train: Sequence[VideoData],
    val: Sequence[VideoData],
    clip_seconds: float,
    captioner_for: Callable[[VideoData], CaptionFn],
    caption_source: str,
    config: SummarizeConfig | None = None,
    tune: bool = True,
    n_examples: int = 2,
    progress: bool = True,
) -> SummaryResult:
    """Our key steps and the uniform baseline's on ``val`` against the ground truth (see the
    module docstring); with ``tune``, the penalty is the F1-best on ``train`` of
    ``PENALTY_GRID`` x the configured one."""
    from videobert.metrics import CaptionScorer
    from videobert.metrics.segments import match_segments

    config = config or SummarizeConfig()
    if not val:
        raise ValueError("summary evaluation needs val videos with every clip's visual word")
    model.eval()
    train_f1 = None
    if tune and train:
        vectors = [clip_vectors(model, tokenizer, v.clips, config.signal) for v in train]
        penalty, train_f1 = tune_penalty(vectors, train, clip_seconds,
                                         [config.penalty * g for g in PENALTY_GRID])
        config = dataclasses.replace(config, penalty=penalty)
    per_video = {m: {k: [] for k in ("matched", "predicted", "true", "bleu4", "cider")}
                 for m in METHODS}
    references: dict[str, dict[str, list[str]]] = {m: {} for m in METHODS}
    candidates: dict[str, dict[str, str]] = {m: {} for m in METHODS}
    matched_of: dict[str, dict[str, list[str]]] = {m: {} for m in METHODS}
    examples = []
    for video in tqdm(val, desc="summaries", unit="video", disable=not progress):
        spans, _ = segment_video(model, tokenizer, video.clips, config)
        n_clips = len(video.clips)
        uniform = uniform_spans(video.duration, len(spans))
        segments = {
            "ours": (clip_span_times(spans, clip_seconds, video.duration), spans),
            "uniform": (uniform, [_clip_range(s, clip_seconds, n_clips) for s in uniform]),
        }
        caption = _memo(captioner_for(video))
        for method, (times, clip_spans) in segments.items():
            pairs = match_segments(times, video.true_spans)
            texts = caption([clip_spans[i] for i, _ in pairs])
            keys = []
            for (i, j), text in zip(pairs, texts, strict=True):
                key = f"{video.video_id}#{i}"
                references[method][key] = video.references(j)
                candidates[method][key] = text
                keys.append(key)
            matched_of[method][video.video_id] = keys
            row = per_video[method]
            row["matched"].append(len(pairs))
            row["predicted"].append(len(times))
            row["true"].append(len(video.steps))
        if len(examples) < n_examples:
            ours = segments["ours"][0]
            texts = caption(spans)
            examples.append({
                "video": video.video_id,
                "true": [{"start": s["start"], "end": s["end"],
                          "caption": video.references(i)[0]} for i, s in
                         enumerate(video.steps)],
                "ours": [{"start": a, "end": b, "caption": t}
                         for (a, b), t in zip(ours, texts, strict=True)]})
    corpus = {}
    with CaptionScorer() as scorer:
        for method in METHODS:
            scores = {}
            if candidates[method]:
                scored = scorer.evaluate(references[method], candidates[method], meteor=False)
                corpus[method] = {k: scored.corpus[k] for k in ("BLEU-4", "CIDEr")}
                scores = scored.per_item
            for video in val:
                keys = matched_of[method][video.video_id]
                per_video[method]["bleu4"].append(sum(scores[k]["BLEU-4"] for k in keys))
                per_video[method]["cider"].append(sum(scores[k]["CIDEr"] for k in keys))
    return SummaryResult(len(val), sum(len(v.steps) for v in val), config.signal,
                         config.penalty, train_f1, caption_source, per_video, corpus, examples)


def _memo(caption: CaptionFn) -> CaptionFn:
    """``caption`` that captions each span once (ours and uniform share some)."""
    seen: dict[tuple[int, int], str] = {}

    def cached(spans: Spans) -> list[str]:
        todo = [s for s in dict.fromkeys(spans) if s not in seen]
        if todo:
            seen.update(zip(todo, caption(todo), strict=True))
        return [seen[s] for s in spans]

    return cached


def _clip_range(span: tuple[float, float], clip_seconds: float, n_clips: int) -> tuple[int, int]:
    clips = overlapping_clips(span[0], span[1], clip_seconds, n_clips)
    return clips.start, max(clips.start, clips.stop - 1)


# ---------------------------------------------------------------------------------------------
# CLI: videobert summarize MODEL VIDEO


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.cli_options import add_device_argument

    parser.add_argument("model", type=Path, help="model folder")
    parser.add_argument("video", type=Path, help="a video file")
    parser.add_argument("--out", type=Path, default=Path("summary"),
                        help="folder for summary.md, summary.json and frames/ "
                        "(default: %(default)s)")
    parser.add_argument("--max-steps", type=int, help="at most this many key steps")
    parser.add_argument("--penalty", type=float, default=DEFAULT_PENALTY,
                        help="cost of one more step: higher, fewer steps (default: %(default)s)")
    parser.add_argument("--verbs", type=Path, help="verb list, one per line: without "
                        "MODEL/captioner, steps are captioned 'VERB the NOUN' (zero-shot)")
    parser.add_argument("--nouns", type=Path, help="noun list (with --verbs)")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    import sys

    from videobert.api import Pipeline
    from videobert.io import EXIT_FAILED, EXIT_USAGE
    from videobert.report import write_summary
    from videobert.tasks.steps import read_word_list

    if not args.video.is_file():
        raise FileNotFoundError(f"video {args.video} does not exist")
    if (args.max_steps is not None and args.max_steps < 1) or args.penalty < 0:
        print("videobert summarize: error: --max-steps must be >= 1 and --penalty >= 0",
              file=sys.stderr)
        return EXIT_USAGE
    verbs = read_word_list(args.verbs) if args.verbs else None
    nouns = read_word_list(args.nouns) if args.nouns else None
    try:
        pipe = Pipeline.from_pretrained(args.model, args.device)
        summary = pipe.summarize(args.video, args.max_steps, args.penalty, verbs, nouns)
    except ValueError as exc:
        print(f"videobert summarize: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    page = write_summary(summary, args.out, args.video.name)
    print(page.read_text())
    print(f"wrote {page}")
    return 0
