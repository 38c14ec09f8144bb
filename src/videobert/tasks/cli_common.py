"""What the task verbs share: model + ground-truth arguments, loading them, writing a report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from videobert.cli_options import add_device_argument, resolve_device
from videobert.io import atomic_path, write_json
from videobert.log import get_logger
from videobert.tasks.steps import GroundTruth, Step, load_ground_truth, load_steps

_LOG = get_logger("tasks")


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True,
                        help="model folder (config.json, model.safetensors, tokenizer, codebook/)")
    add_device_argument(parser)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("report"),
                        help="report folder (default: %(default)s)")


def add_words_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--words", type=Path,
                        help="visual words of the data's videos: a folder with "
                        "assignments.parquet (`videobert prepare MODEL VIDEOS --out D` writes "
                        "D/words; default: the codebook the model was trained with, for the "
                        "videos it was fit on)")


def add_model_data_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser)
    add_words_argument(parser)
    parser.add_argument("--ground-truth", type=Path, required=True,
                        help="ground_truth.json (verbs, nouns, videos with split and steps)")


@dataclasses.dataclass
class TaskData:
    model: Any
    tokenizer: Any
    codebook_dir: Path  # the model's codebook (exemplars, meta)
    words_dir: Path  # the data's visual words
    ground_truth: GroundTruth | None
    video_words: dict[str, np.ndarray]
    steps: list[Step]

    def split(self, name: str) -> list[Step]:
        return [s for s in self.steps if s.split == name]


def load_model(args: argparse.Namespace) -> tuple[Any, Any, Path]:
    from videobert.tasks.inputs import load_model_folder

    return load_model_folder(args.model, resolve_device(args.device))


def load_task_data(
    model_dir: str | Path,
    ground_truth: str | Path,
    words_dir: str | Path | None = None,
    device: str = "cpu",
) -> TaskData:
    """Model, tokenizer, ground truth, and every step's visual words (from ``words_dir``,
    default: the codebook the model was trained with): what each task function takes."""
    args = argparse.Namespace(model=model_dir, ground_truth=ground_truth,
                              words=words_dir, device=device)
    return load(args)


def load(args: argparse.Namespace) -> TaskData:
    """``load_task_data`` from the verbs' arguments (model, ground_truth, words, device)."""
    from videobert.artifacts.words import VisualWords, resolve_words

    model, tokenizer, codebook_dir = load_model(args)
    gt = load_ground_truth(args.ground_truth)
    words = VisualWords.open(resolve_words(getattr(args, "words", None), args.model))
    video_words = words.by_video()
    steps, skipped = load_steps(gt, video_words, words.clip_seconds)
    for what, why in skipped:
        _LOG.info(f"left out {what}: {why}")
    if not steps:
        raise ValueError(
            f"no step of {args.ground_truth} has visual words in {words.folder}: are the video "
            "ids of the ground truth those of the words' assignments?"
        )
    return TaskData(model, tokenizer, codebook_dir, words.folder, gt, video_words, steps)


def write_report(out: str | Path, name: str, figures: dict[str, Any], markdown: str) -> None:
    """``out/<name>.json`` (figures) and ``out/<name>.md`` (the table), printed too."""
    out = Path(out)
    write_json(out / f"{name}.json", figures)
    with atomic_path(out / f"{name}.md") as tmp:
        tmp.write_text(markdown)
    print(markdown)
    print(f"wrote {out / (name + '.json')} and {out / (name + '.md')}")
