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
    clip_features: dict[str, np.ndarray] | None = None  # when the model reads them

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
    model, tokenizer, codebook_dir = load_model(args)
    gt = load_ground_truth(args.ground_truth)
    data = ground_truth_steps(gt, getattr(args, "words", None), args.model,
                              model.config.clip_feature_dim)
    return TaskData(model, tokenizer, codebook_dir, data.words.folder, gt, data.video_words,
                    data.steps, data.clip_features)


@dataclasses.dataclass
class WordsSteps:
    words: Any  # artifacts.words.VisualWords
    video_words: dict[str, np.ndarray]
    clip_features: dict[str, np.ndarray] | None
    steps: list[Step]


def ground_truth_steps(gt: GroundTruth, words_dir: str | Path | None, model_dir: str | Path,
                       clip_feature_dim: int = 0) -> WordsSteps:
    """The ground truth's steps with their visual words (``words_dir``, default: the codebook
    the model was trained with) and, for a model that reads them, their clips' features."""
    from videobert.artifacts.words import VisualWords, resolve_words

    words = VisualWords.open(resolve_words(words_dir, model_dir))
    video_words = words.by_video()
    features = words_features(clip_feature_dim, Path(model_dir) / "codebook", words, video_words)
    steps, skipped = load_steps(gt, video_words, words.clip_seconds, clip_features=features)
    for what, why in skipped:
        _LOG.info(f"left out {what}: {why}")
    if not steps:
        raise ValueError(
            f"no step of {gt.path} has visual words in {words.folder}: are the video "
            "ids of the ground truth those of the words' assignments?"
        )
    return WordsSteps(words, video_words, features, steps)


def words_features(clip_feature_dim: int, codebook_dir: Path, words: Any,
                   video_words: dict[str, np.ndarray], features_dir: Path | None = None,
                   ) -> dict[str, np.ndarray] | None:
    """The clip features of a words folder's videos (from ``features_dir``, default the one
    the words were assigned from), normalised as the model's codebook does, when the model
    reads them (``clip_feature_dim`` > 0; None otherwise)."""
    if not clip_feature_dim:
        return None
    from videobert.artifacts.codebook import CodebookFolder
    from videobert.artifacts.features import normalized_clip_features

    features_dir = features_dir or words.features_dir
    if features_dir is None:
        raise FileNotFoundError(f"{words.folder}: its meta.json names no features folder, and "
                                "this model reads clip features beside the visual words")
    counts = {vid: int(w.size) for vid, w in video_words.items()}
    folder = CodebookFolder.open(codebook_dir)
    return normalized_clip_features(features_dir, folder.normalize, counts, folder.blocks)


def write_report(out: str | Path, name: str, figures: dict[str, Any], markdown: str) -> None:
    """``out/<name>.json`` (figures) and ``out/<name>.md`` (the table), printed too."""
    out = Path(out)
    write_json(out / f"{name}.json", figures)
    with atomic_path(out / f"{name}.md") as tmp:
        tmp.write_text(markdown)
    print(markdown)
    print(f"wrote {out / (name + '.json')} and {out / (name + '.md')}")
