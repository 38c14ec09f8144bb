"""`videobert evaluate RUN`: every downstream task on a dataset with ground truth -> `report/`.

The report (rendered by ``videobert.report``) holds the paper's tables (zero-shot
classification, captioning, retrieval, forecasting, fine-tuning, pretraining data size), PNG
plots (training curves, confusion matrices, storyboards, codebook exemplars), the quality bars
with pass/miss, and a JSON of every figure. Like every task, this depends on ``model/`` and
``tasks/``, never on ``train/``.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from videobert.io import atomic_path, read_json, write_json
from videobert.log import get_logger
from videobert.report import (
    diagnostics_markdown,
    plot_training_curves,
    pretraining_summary,
    render_markdown,
    summary_tables,
)
from videobert.tasks.registry import TaskConfig

EvalConfig = TaskConfig  # the preset's evaluate section: every task's settings


@dataclasses.dataclass
class Bar:
    name: str
    ours: float
    target: float
    passed: bool
    detail: str


_LOG = get_logger("evaluate")



class EvaluateInputError(ValueError):
    """A run folder, ground truth or features folder that evaluate cannot use (exit 1)."""


def check_run_folder(run_dir: Path, what: str = "run folder") -> None:
    """A run folder must hold a finished model (``model/config.json`` is written last) with
    its codebook; say which part is missing before any work starts."""
    hint = "(`videobert pretrain CORPUS --out RUN` writes RUN/model when training finishes)"
    if not run_dir.exists():
        raise EvaluateInputError(f"{what} {run_dir} does not exist")
    if not run_dir.is_dir():
        raise EvaluateInputError(f"{what} {run_dir} is a file, not a run folder")
    model = run_dir / "model"
    if not (model / "config.json").is_file():
        raise EvaluateInputError(f"{what} {run_dir} has no finished model ({model}/config.json "
                                 f"is missing): pretraining did not finish, or this is not a "
                                 f"run folder {hint}")
    for name in ("model.safetensors", "codebook/meta.json"):
        if not (model / name).is_file():
            raise EvaluateInputError(f"{what} {run_dir}: the model folder lacks {model / name}; "
                                     f"it is incomplete {hint}")


def check_inputs(run_dir: Path, ground_truth: Path, features_dir: Path | None,
                 extra_runs: dict[str, Path], words_dir: Path | None = None) -> Path:
    """Every input of ``run_evaluate``, checked up front: a bad one is a one-line error,
    not a traceback an hour into the evaluation."""
    from videobert.tasks.steps import load_ground_truth

    check_run_folder(run_dir)
    for label, run in extra_runs.items():
        check_run_folder(Path(run), f"--compare {label}: run folder")
    try:
        load_ground_truth(ground_truth)
    except FileNotFoundError as exc:
        raise EvaluateInputError(str(exc)) from exc
    from videobert.artifacts.features import is_features_folder

    if features_dir is not None and not is_features_folder(features_dir):
        raise EvaluateInputError(f"features folder {features_dir} has no manifest.json (is it "
                                 "a finished `videobert features` folder?)")
    meta = run_dir / "model" / "codebook" / "meta.json"  # exemplars and settings need it
    try:
        read_json(meta)
    except ValueError as exc:
        raise EvaluateInputError(f"{meta} is not valid JSON: {exc}") from exc
    from videobert.artifacts.words import resolve_words

    try:
        return resolve_words(words_dir, run_dir / "model")
    except FileNotFoundError as exc:
        raise EvaluateInputError(str(exc)) from exc


def _data_size_rows(extra_runs: dict[str, Path], main_label: str, main_zero_shot, gt, val,
                    cfg: EvalConfig) -> list[dict[str, Any]]:
    """Zero-shot cross-modal figures of models pretrained on other corpus sizes (with each
    row's per-step hits, for the paired comparison)."""
    from videobert.tasks.inputs import load_model_folder
    from videobert.tasks.zero_shot import appearance_block_width, evaluate_zero_shot

    def row(label: str, result) -> dict[str, Any]:
        cross = result.rows[1]
        return {"corpus": label, **dataclasses.asdict(cross), "hits": result.hits[cross.method]}

    rows = [row(main_label, main_zero_shot)]
    for label, run in extra_runs.items():
        model, tokenizer, codebook = load_model_folder(Path(run) / "model", cfg.device)
        rows.append(row(label, evaluate_zero_shot(
            model, tokenizer, val, gt.verbs, gt.nouns, main_zero_shot.templates,
            batch_size=cfg.batch_size, appearance_width=appearance_block_width(model, codebook))))
    return rows


# ---------------------------------------------------------------------------------------------
# Quality bars (the issue's), judged on the figures as measured: a bar is met only when the
# 95% paired bootstrap interval of (ours - factor x baseline) lies above 0, so a tie is a miss.


def _interval_bar(name: str, ours: Sequence[float], baseline: Sequence[float], factor: float,
                  what: str, base_what: str) -> Bar:
    from videobert.metrics.bootstrap import bootstrap_difference, bootstrap_mean

    ours_ci, base_ci = bootstrap_mean(np.asarray(ours)), bootstrap_mean(np.asarray(baseline))
    gap = bootstrap_difference(np.asarray(ours), np.asarray(baseline), factor)
    return Bar(name, ours_ci.value, factor * base_ci.value, gap.low > 0,
               f"{what} {ours_ci}, {base_what} {base_ci}; ours - {factor:g} x baseline {gap}")


def quality_bars(zero_shot, captioning, retrieval, data_size, text_to_video=None) -> list[Bar]:
    bars = []
    cross, prior = zero_shot.rows[1], zero_shot.rows[0]
    probe = zero_shot.probe_row()
    hits = zero_shot.hits
    for what in ("verb", "noun"):
        top1 = f"{what}_top1"
        bars.append(_interval_bar(
            f"zero-shot {what} top-1 >= 3 x language prior", hits[cross.method][top1],
            hits[prior.method][top1], 3.0, "cross-modal", "prior"))
        if probe is not None:
            bars.append(_interval_bar(
                f"zero-shot {what} top-1 >= 0.6 x linear probe", hits[cross.method][top1],
                hits[probe.method][top1], 0.6, "cross-modal", "probe"))
            top5 = f"{what}_top5"
            bars.append(_interval_bar(
                f"zero-shot {what} top-5 >= 0.9 x linear probe", hits[cross.method][top5],
                hits[probe.method][top5], 0.9, "cross-modal", "probe"))
    if captioning is not None and captioning.per_step_cider:
        bars.append(_interval_bar(
            "captioning CIDEr: VideoBERT + clip above clip alone",
            captioning.per_step_cider["videobert+clip"], captioning.per_step_cider["clip"],
            1.0, "VideoBERT + clip", "clip alone"))
    if retrieval.hits_at_5:
        best = max(retrieval.hits_at_5, key=lambda k: np.mean(retrieval.hits_at_5[k]))
        bars.append(_interval_bar(
            f"text->video R@5 >= 3 x chance ({best} score)", retrieval.hits_at_5[best],
            retrieval.chance_at_5, 3.0, best, "chance"))
    if text_to_video is not None and text_to_video.hits:
        hits = text_to_video.hits
        bars.append(_interval_bar(
            "text->video storyboards show the named noun more often than chance (noun probe)",
            hits, [text_to_video.chance] * len(hits), 1.0, "generated words", "chance"))
    if len(data_size) >= 2:
        small, large = data_size[-1], data_size[0]  # main run (full corpus) first

        def both(row):
            return np.add(row["hits"]["verb_top5"], row["hits"]["noun_top5"]) / 2

        bars.append(_interval_bar(
            "larger pretraining corpus does better (zero-shot top-5, mean of verb and noun)",
            both(large), both(small), 1.0, large["corpus"], small["corpus"]))
    return bars


# ---------------------------------------------------------------------------------------------
# The whole evaluation


def run_evaluate(
    run_dir: str | Path,
    ground_truth: str | Path,
    out: str | Path | None = None,
    features_dir: str | Path | None = None,
    extra_runs: dict[str, Path] | None = None,
    config: EvalConfig | None = None,
    main_label: str = "full corpus",
    words_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``run_dir/model`` on the ground truth's val split, with the videos' visual
    words from ``words_dir`` (default: the codebook the model was trained with); write ``out``
    (default ``run_dir/report``) and return every figure."""
    from videobert.artifacts.words import VisualWords
    from videobert.tasks.cli_common import words_features
    from videobert.tasks.inputs import load_model_folder
    from videobert.tasks.registry import TASKS, TaskData
    from videobert.tasks.steps import load_ground_truth, load_steps

    cfg = config or EvalConfig()
    run_dir = Path(run_dir)
    words = VisualWords.open(check_inputs(run_dir, Path(ground_truth), features_dir,
                                          extra_runs or {}, words_dir))
    out = Path(out) if out is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()

    model, tokenizer, codebook_dir = load_model_folder(run_dir / "model", cfg.device)
    features = Path(features_dir) if features_dir else words.features_dir
    gt = load_ground_truth(ground_truth)
    video_words = words.by_video()
    clip_inputs = words_features(model.config.clip_feature_dim, codebook_dir, words,
                                 video_words, features)
    steps, left_out = load_steps(gt, video_words, words.clip_seconds, clip_features=clip_inputs)
    train = [s for s in steps if s.split == "train"]
    val = [s for s in steps if s.split == "val"]
    if not val or not train:
        raise ValueError(f"{ground_truth}: need train and val steps with visual words "
                         f"(got {len(train)} train, {len(val)} val)")
    _LOG.info(f"{len(train)} train / {len(val)} val steps; {len(left_out)} left out; "
              f"features {features}")

    figures: dict[str, Any] = {"run": str(run_dir), "ground_truth": str(ground_truth),
                               "words": str(words.folder), "vocabulary": gt.vocabulary}
    timings: dict[str, float] = {}

    def timed(name, fn):
        _LOG.info(f"{name} ...")
        t = time.perf_counter()
        result = fn()
        timings[name] = round(time.perf_counter() - t, 1)
        _LOG.info(f"{name} done in {timings[name]} s")
        return result

    data = TaskData(run_dir / "model", model, tokenizer, codebook_dir, gt, train, val,
                    video_words, features, out, words.clip_seconds, clip_inputs)
    outcomes = {}
    for task in TASKS.values():
        if task.needs_features and features is None:
            _LOG.info(f"no features folder: {task.title} skipped (pass features_dir)")
            continue
        outcomes[task.name] = timed(task.title, lambda task=task: task.run(data, cfg))
        figures[task.name] = outcomes[task.name].figures
    pretraining = pretraining_summary(run_dir / "metrics.jsonl")
    figures["pretraining"] = pretraining
    zero_shot = outcomes["zero_shot"].result
    captioning = outcomes["captioning"].result if "captioning" in outcomes else None
    noun_probe = outcomes["text_to_video"].result

    data_size = timed("data size", lambda: _data_size_rows(
        extra_runs or {}, main_label, zero_shot, gt, val, cfg))
    figures["data_size"] = data_size

    curves = plot_training_curves(run_dir / "metrics.jsonl", out / "training_curves.png")
    overview = codebook_dir / "exemplars" / "overview.jpg"
    if overview.exists():
        shutil.copyfile(overview, out / "codebook_exemplars.jpg")

    retrieval = outcomes["retrieval"].result
    bars = quality_bars(zero_shot, captioning, retrieval, data_size, noun_probe)
    figures["quality_bars"] = [dataclasses.asdict(b) for b in bars]
    figures["timings_s"] = timings
    write_json(out / "figures.json", figures)

    md = render_markdown(
        figures, zero_shot, retrieval, outcomes["forecasting"].result, captioning, data_size,
        bars, curves is not None, overview.exists(),
        [p.name for p in outcomes["zero_shot"].pictures], figures["text_to_video"]["generations"],
        diagnostics_markdown(zero_shot, outcomes["modality_reliance"].result,
                             outcomes["codebook_information"].result, pretraining),
        noun_probe, outcomes["summarisation"].result, outcomes["video_qa"].result)
    with atomic_path(out / "README.md") as tmp:
        tmp.write_text(md)
    _LOG.info(f"report written to {out} in {time.perf_counter() - began:.0f} s")
    return figures


# ---------------------------------------------------------------------------------------------
# CLI: videobert evaluate RUN --ground-truth FILE


def add_arguments(parser) -> None:
    from videobert.cli_options import add_device_argument

    parser.add_argument("run", type=Path, help="run folder (with model/ and metrics.jsonl)")
    parser.add_argument("--ground-truth", type=Path, required=True,
                        help="ground_truth.json (verbs, nouns, videos with split and steps)")
    parser.add_argument("--features", type=Path,
                        help="clip features folder (default: the one the words come from)")
    parser.add_argument("--words", type=Path,
                        help="visual words of the ground truth's videos (default: the codebook "
                        "the model was trained with)")
    parser.add_argument("--videos", type=Path,
                        help="new videos (a folder or a manifest): prepared first with the "
                        "model's settings (ingest, features, codebook assign; no re-fit) into "
                        "--work, then evaluated there")
    parser.add_argument("--work", type=Path,
                        help="with --videos: the work folder (default: OUT/prepared)")
    parser.add_argument("--out", type=Path, help="report folder (default: RUN/report)")
    parser.add_argument("--compare", action="append", default=[], metavar="LABEL=RUN",
                        help="another run (e.g. a smaller corpus) for the data-size table")
    add_device_argument(parser)
    parser.add_argument("--max-queries", type=int, default=EvalConfig.max_queries)
    parser.add_argument("--caption-epochs", type=int, default=EvalConfig.caption_epochs)
    parser.add_argument("--save-captioner", action="store_true",
                        help="keep the VideoBERT + clip captioner in RUN/model/captioner "
                        "(Pipeline.caption uses it; replaces one that is there)")
    parser.add_argument("--templates-from", type=Path, metavar="CORPUS",
                        help="zero-shot: average the prompts mined from this corpus folder's "
                        "narration (e.g. the one the run was pretrained on) instead of the "
                        "paper's one template")


def run(args) -> int:
    """Exit status: 0 done; 1 a run folder, ground truth or features folder it cannot use
    (one line on stderr says which and why); 2 bad arguments."""
    import sys

    from videobert.cli_options import resolve_device
    from videobert.io import EXIT_FAILED, EXIT_USAGE

    extra = {}
    for item in args.compare:
        label, _, path = item.partition("=")
        if not path:
            print(f"videobert evaluate: error: --compare {item!r} is not LABEL=RUN",
                  file=sys.stderr)
            return EXIT_USAGE
        extra[label] = Path(path)
    for name in ("max_queries", "caption_epochs"):
        if getattr(args, name) < 1:
            print(f"videobert evaluate: error: --{name.replace('_', '-')} "
                  f"{getattr(args, name)}: must be >= 1", file=sys.stderr)
            return EXIT_USAGE
    cfg = EvalConfig(device=resolve_device(args.device), max_queries=args.max_queries,
                     caption_epochs=args.caption_epochs, save_captioner=args.save_captioner,
                     templates_from=None if args.templates_from is None
                     else str(args.templates_from))
    out = args.out or args.run / "report"
    features, words = args.features, args.words
    try:
        if args.videos is not None:  # one command from raw video to the report
            from videobert.pipeline import PipelinePaths
            from videobert.prepare import run_prepare

            if words is not None or features is not None:
                print("videobert evaluate: error: --videos prepares its own --words and "
                      "--features; give one or the other", file=sys.stderr)
                return EXIT_USAGE
            work = PipelinePaths(args.work or out / "prepared")
            from videobert.formats.youcook2 import is_annotation_path

            # a YouCook2 ground truth is also the videos' text: no speech recognition needed
            transcripts = args.ground_truth if is_annotation_path(args.ground_truth) else None
            run_prepare(args.run / "model", args.videos, work.work, device=cfg.device,
                        transcripts=transcripts)
            features, words = work.features, work.words
        run_evaluate(args.run, args.ground_truth, out, features, extra, cfg, words_dir=words)
    except (EvaluateInputError, FileNotFoundError, ValueError) as exc:
        print(f"videobert evaluate: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(summary_tables(out))
    print(f"\nreport: {out / 'README.md'}")
    return 0
