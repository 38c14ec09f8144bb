"""Every task behind one interface: ``run(data, config) -> Outcome``, and the registry that
``evaluate`` (and later the API and the server) compose.

``TaskData`` is what a task reads: a loaded model, the data's train and val steps with their
visual words, the clip features (``None``: tasks that need them are left out), and the report
folder for pictures. ``TaskConfig`` (the preset's ``evaluate`` section) holds every task's
settings. Each entry's ``run`` returns an ``Outcome``: the task's result object, the JSON
figures and the pictures it wrote.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from videobert.artifacts.words import DEFAULT_CLIP_SECONDS
from videobert.tasks.steps import GroundTruth, Step
from videobert.vocab import PROMPT


@dataclasses.dataclass(frozen=True)
class TaskConfig:
    device: str = "cpu"
    batch_size: int = 64
    max_queries: int = 100  # retrieval: queries = gallery = this many val steps
    forecast_horizon: int = 3
    n_storyboards: int = 3
    # text->video: distinct val captions generated and scored (only n_storyboards are drawn);
    # a few sentences x 8 words is too few for the noun-probe figure to have a usable interval
    max_generations: int = 30
    caption_epochs: int = 30
    finetune_epochs: int = 10
    finetune_label: str = "verb"
    seed: int = 0
    # keep the captioning task's VideoBERT + clip captioner in MODEL/captioner, for
    # Pipeline.caption (replaces one that is there)
    save_captioner: bool = False
    # summaries: penalty per segment, re-chosen on the train videos unless tune is off
    summary_penalty: float = 1.15
    summary_tune: bool = True
    qa_choices: int = 4
    # zero-shot: a corpus folder whose narration gives the prompts to average (mine_templates);
    # None: the paper's one template
    templates_from: str | None = None


@dataclasses.dataclass
class TaskData:
    model_dir: Path
    model: Any
    tokenizer: Any
    codebook_dir: Path  # the model's codebook (exemplars)
    ground_truth: GroundTruth
    train: list[Step]
    val: list[Step]
    video_words: dict[str, np.ndarray]
    features_dir: Path | None
    out: Path  # where pictures go
    clip_seconds: float = DEFAULT_CLIP_SECONDS
    # each video's normalised clip features, for a model that reads them (None otherwise)
    clip_features: dict[str, np.ndarray] | None = None


@dataclasses.dataclass
class Outcome:
    result: Any
    figures: dict[str, Any]
    pictures: list[Path] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Task:
    name: str  # the key of its figures in figures.json
    title: str
    run: Callable[[TaskData, TaskConfig], Outcome]
    needs_features: bool = False


def labelled_steps(steps: list[Step], gt: GroundTruth) -> list[Step]:
    """The steps whose verb and noun are in the ground truth's lists: those that classification
    scores (YouCook2's lists hold only the most common; zero-shot counts the others)."""
    verbs, nouns = set(gt.verbs), set(gt.nouns)
    return [s for s in steps if s.verb in verbs and s.noun in nouns]


def zero_shot(data: TaskData, cfg: TaskConfig) -> Outcome:
    from videobert.report import plot_confusion
    from videobert.tasks.zero_shot import (
        appearance_block_width,
        chosen_templates,
        evaluate_zero_shot,
    )

    gt = data.ground_truth
    templates = chosen_templates(None, cfg.templates_from, gt.verbs, gt.nouns)
    width = appearance_block_width(data.model, data.codebook_dir)
    result = evaluate_zero_shot(data.model, data.tokenizer, data.val, gt.verbs, gt.nouns,
                                templates, train_steps=data.train,
                                features_dir=data.features_dir, batch_size=cfg.batch_size,
                                appearance_width=width)
    plots = [
        plot_confusion(np.asarray(result.cross_modal_confusion[what]), list(labels),
                       f"zero-shot {what}s (cross-modal), val", data.out / f"confusion_{what}.png")
        for what, labels in (("verb", gt.verbs), ("noun", gt.nouns))
    ]
    return Outcome(result, result.to_dict(), plots)


def modality_reliance(data: TaskData, cfg: TaskConfig) -> Outcome:
    from videobert.diagnostics.reliance import modality_reliance as measure

    gt = data.ground_truth
    result = measure(data.model, data.tokenizer, data.val, gt.verbs, gt.nouns,
                     batch_size=cfg.batch_size, seed=cfg.seed, seen_steps=data.train)
    return Outcome(result, result.to_dict())


def codebook_information(data: TaskData, cfg: TaskConfig) -> Outcome:
    from videobert.diagnostics.codebook_info import codebook_information as measure

    gt = data.ground_truth
    result = measure(labelled_steps(data.train, gt), labelled_steps(data.val, gt), gt.verbs,
                     gt.nouns, data.model.layout.n_visual)
    return Outcome(result, result.to_dict())


def retrieval(data: TaskData, cfg: TaskConfig) -> Outcome:
    from videobert.tasks.retrieval import evaluate_retrieval

    result = evaluate_retrieval(data.model, data.tokenizer, data.val, cfg.max_queries,
                                cfg.batch_size, seed=cfg.seed,
                                relevance=data.ground_truth.relevance)
    return Outcome(result, result.to_dict())


def text_to_video(data: TaskData, cfg: TaskConfig) -> Outcome:
    """Generations for the distinct val captions (each with the noun of its first step), the
    first ``n_storyboards`` drawn, and their noun-probe score (``None`` without features)."""
    from videobert.tasks.text_to_video import (
        generate_visual_words,
        render_generation,
        score_noun_probe,
    )

    gt = data.ground_truth
    named: dict[str, str] = {}
    for step in data.val:
        named.setdefault(step.caption, step.noun)
    sentences = list(named)[: cfg.max_generations]
    generations, rows, pictures = [], [], []
    for i, sentence in enumerate(sentences):
        g = generate_visual_words(data.model, data.tokenizer, f"{PROMPT} {sentence}")
        row = {**g.to_dict(), "noun": named[sentence]}
        if i < cfg.n_storyboards:
            path = render_generation(g, data.out / f"text2video_{i:02d}.png",
                                     data.codebook_dir / "exemplars")
            row["storyboard"] = str(path)
            pictures.append(Path(path))
        generations.append(g)
        rows.append(row)
    score = None
    scored = [(g, named[s]) for g, s in zip(generations, sentences, strict=True)
              if named[s] in gt.nouns]  # a noun outside the list has no probe class
    if data.features_dir is not None and scored:
        score = score_noun_probe([g for g, _ in scored], [n for _, n in scored], data.train,
                                 data.video_words, data.features_dir, gt.nouns, seed=cfg.seed)
    figures = {"generations": rows, "noun_probe": score.to_dict() if score is not None else None}
    return Outcome(score, figures, pictures)


def forecasting(data: TaskData, cfg: TaskConfig) -> Outcome:
    from videobert.tasks.forecasting import evaluate_forecasting, forecast_examples, word_counts

    n_visual = data.model.layout.n_visual
    train_videos = {s.video_id for s in data.train}
    counts = word_counts((data.video_words[v] for v in train_videos), n_visual)
    examples = forecast_examples(data.val, data.video_words, horizon=cfg.forecast_horizon)
    result = evaluate_forecasting(data.model, examples, counts, cfg.batch_size, data.out,
                                  data.codebook_dir / "exemplars", cfg.n_storyboards)
    return Outcome(result, result.to_dict(), [Path(p) for p in result.storyboards])


def captioning(data: TaskData, cfg: TaskConfig) -> Outcome:
    from videobert.tasks.captioner import CAPTIONER_DIR
    from videobert.tasks.captioning import CaptionTrainConfig, evaluate_captioning
    from videobert.tasks.zero_shot import appearance_block_width

    result = evaluate_captioning(
        data.model, data.tokenizer, data.train, data.val, data.features_dir, data.ground_truth,
        config=CaptionTrainConfig(epochs=cfg.caption_epochs, seed=cfg.seed), device=cfg.device,
        progress=True, video_words=data.video_words,
        save_dir=data.model_dir / CAPTIONER_DIR if cfg.save_captioner else None,
        appearance_width=appearance_block_width(data.model, data.codebook_dir))
    return Outcome(result, result.to_dict())


def finetune(data: TaskData, cfg: TaskConfig) -> Outcome:
    """A fresh copy of the encoder + a head on the train steps (the loaded model is shared by
    the other tasks and must stay as pretrained)."""
    from videobert.tasks.finetune import (
        FinetuneConfig,
        VideoBertClassifier,
        evaluate_classifier,
        label_classes,
        labelled,
        train_classifier,
    )
    from videobert.tasks.inputs import load_model_folder

    gt = data.ground_truth
    ft_cfg = FinetuneConfig(epochs=cfg.finetune_epochs, seed=cfg.seed, pooling="mean")
    labels = label_classes(data.train, gt, cfg.finetune_label)
    encoder, _, _ = load_model_folder(data.model_dir, cfg.device)
    classifier = VideoBertClassifier(encoder, labels, pooling=ft_cfg.pooling,
                                     dropout=ft_cfg.dropout, label_name=cfg.finetune_label)
    kept, targets, _ = labelled(classifier, data.train, gt)
    losses = train_classifier(classifier, classifier.examples(kept), targets.tolist(), ft_cfg,
                              progress=True)
    figures = {"label": cfg.finetune_label, "losses": losses,
               "train": evaluate_classifier(classifier, data.train, gt, cfg.batch_size),
               "val": evaluate_classifier(classifier, data.val, gt, cfg.batch_size)}
    return Outcome(classifier, figures)


def _videos(data: TaskData, split: str) -> list:
    from videobert.tasks.summarize import load_videos

    return load_videos(data.ground_truth, data.video_words, data.clip_seconds, split,
                       data.clip_features, data.features_dir)


def summarisation(data: TaskData, cfg: TaskConfig) -> Outcome:
    """Key steps of the val videos against their steps, beside evenly spaced segments;
    captions from MODEL/captioner when the captioning task kept one, else zero-shot."""
    from videobert.tasks.captioner import CAPTIONER_DIR, SavedCaptioner, caption_spans
    from videobert.tasks.summarize import (
        SummarizeConfig,
        evaluate_summaries,
        zero_shot_captioner,
    )

    train, val = _videos(data, "train"), _videos(data, "val")
    saved = data.model_dir / CAPTIONER_DIR
    gt = data.ground_truth
    if (saved / "config.json").is_file() and data.features_dir is not None:
        captioner = SavedCaptioner.load(saved, cfg.device)
        source = f"the captioner in {CAPTIONER_DIR}/"

        def captions_of(video):
            return lambda spans: caption_spans(captioner, data.model, data.tokenizer,
                                               np.asarray(video.clips.words),
                                               video.clips.features, video.raw_features, spans)
    else:
        source = "zero-shot classification (\"VERB the NOUN\")"

        def captions_of(video):
            return zero_shot_captioner(data.model, data.tokenizer, video.clips, gt.verbs,
                                       gt.nouns)
    result = evaluate_summaries(data.model, data.tokenizer, train, val, data.clip_seconds,
                                captions_of, source, SummarizeConfig(penalty=cfg.summary_penalty),
                                tune=cfg.summary_tune)
    return Outcome(result, result.to_dict())


def video_qa(data: TaskData, cfg: TaskConfig) -> Outcome:
    """Generated questions about the val videos, with and without the video."""
    from videobert.tasks.qa import evaluate_qa, make_questions
    from videobert.tasks.summarize import SummarizeConfig

    gt = data.ground_truth
    val = _videos(data, "val")
    items = make_questions(val, gt.verbs, gt.nouns, cfg.qa_choices, cfg.seed)
    result = evaluate_qa(data.model, data.tokenizer, val, items,
                         SummarizeConfig(penalty=cfg.summary_penalty), cfg.qa_choices,
                         cfg.seed, cfg.batch_size)
    return Outcome(result, result.to_dict())


# In the order evaluate runs them (and the report lists them).
TASKS: dict[str, Task] = {t.name: t for t in (
    Task("zero_shot", "zero-shot", zero_shot),
    Task("modality_reliance", "modality reliance", modality_reliance),
    Task("codebook_information", "codebook information", codebook_information),
    Task("retrieval", "retrieval", retrieval),
    Task("text_to_video", "text->video", text_to_video),
    Task("forecasting", "forecasting", forecasting),
    Task("captioning", "captioning", captioning, needs_features=True),
    Task("summarisation", "summarisation", summarisation),
    Task("video_qa", "video QA", video_qa),
    Task("finetune", "fine-tuning", finetune),
)}
