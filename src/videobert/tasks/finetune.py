"""Fine-tuning: a classification head on the pretrained encoder, for step-level labels.

A step is read as the video-only sequence ``[CLS] [>] v1 ... vn [SEP]`` of its clips' visual
words (at most ``max_video_words``, evenly spaced). ``VideoBertClassifier`` pools the last hidden
states, either ``cls`` (BERT's pooler, dense + tanh on ``[CLS]``, taken from the pretrained
alignment head, as BERT's sequence classifiers do) or ``mean`` (mean of the visual-word states),
and applies dropout and a linear layer. The whole model is trained (or the head alone with
``freeze_encoder``) with cross-entropy on the train split; figures are top-1/top-5 accuracy on
the val split. The label is a step's ``verb``, ``noun`` or any other key of the ground truth's
step records.

A fine-tuned folder is a VideoBERT model folder (``config.json``, ``model.safetensors``,
tokenizer, ``codebook/``) plus ``classifier.safetensors`` (the head) and ``classifier.json``
(label name, classes, pooling), written last.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from videobert.epochs import run_epochs, steps_per_epoch, warmup_schedule
from videobert.log import get_logger
from videobert.tasks import inputs
from videobert.tasks.steps import GroundTruth, Step

_LOG = get_logger("finetune")

POOLINGS = ("cls", "mean")
HEAD_CONFIG = "classifier.json"
HEAD_WEIGHTS = "classifier.safetensors"
KS = (1, 5)


# ---------------------------------------------------------------------------------------------
# The model


class VideoBertClassifier(nn.Module):
    """Pretrained ``VideoBert`` encoder + pooling + dropout + linear head: logits (B, C)."""

    def __init__(
        self,
        encoder: Any,
        labels: Sequence[str],
        pooling: str = "cls",
        dropout: float = 0.1,
        label_name: str = "label",
        max_video_words: int = 64,
    ) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling={pooling!r}; expected one of {list(POOLINGS)}")
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise ValueError(f"need at least two distinct labels, got {list(labels)}")
        self.encoder = encoder
        self.labels = [str(label) for label in labels]
        self.pooling = pooling
        self.label_name = label_name
        self.max_video_words = max_video_words
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, len(self.labels))
        nn.init.normal_(self.head.weight, std=encoder.config.initializer_range)
        nn.init.zeros_(self.head.bias)

    @property
    def layout(self):
        return self.encoder.layout

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T) long
        token_type_ids: torch.Tensor,  # (B, T) long
        attention_mask: torch.Tensor,  # (B, T) bool, True = real token
        clip_features: torch.Tensor | None = None,  # (B, T, F), zero where none
    ) -> torch.Tensor:
        hidden = self.encoder.encode(input_ids, token_type_ids, attention_mask, clip_features)
        if self.pooling == "cls":
            pooled = torch.tanh(self.encoder.alignment_head.pooler(hidden[:, 0]))  # (B, D)
        else:
            keep = (self.layout.is_visual(input_ids) & attention_mask).to(hidden.dtype)  # (B, T)
            pooled = (hidden * keep[..., None]).sum(1) / keep.sum(1, keepdim=True).clamp_min(1)
        return self.head(self.dropout(pooled))  # (B, C)

    def examples(self, steps: Sequence[Step]) -> list[inputs.Example]:
        """The model input of each step: ``[CLS] [>] v1 ... vn [SEP]``."""
        return [inputs.clips_sequence(self.layout, [], s.clips.subsample(self.max_video_words))
                for s in steps]

    def save_pretrained(
        self, folder: str | Path, tokenizer: Any = None, codebook_dir: str | Path | None = None
    ) -> Path:
        from safetensors.torch import save_file

        from videobert.io import atomic_path, write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / HEAD_CONFIG).unlink(missing_ok=True)  # incomplete until rewritten below
        state = {k: v.detach().contiguous().cpu() for k, v in self.head.state_dict().items()}
        with atomic_path(folder / HEAD_WEIGHTS) as tmp:
            save_file(state, str(tmp), metadata={"format": "pt"})
        self.encoder.save_pretrained(folder, tokenizer=tokenizer, codebook_dir=codebook_dir)
        write_json(folder / HEAD_CONFIG, {
            "label": self.label_name, "labels": self.labels, "pooling": self.pooling,
            "dropout": self.dropout.p, "max_video_words": self.max_video_words,
        })
        return folder

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, map_location: str | torch.device = "cpu"
    ) -> VideoBertClassifier:
        from safetensors.torch import load_file

        from videobert.model import VideoBert

        folder = Path(folder)
        head_config = folder / HEAD_CONFIG
        if not head_config.exists():
            raise FileNotFoundError(
                f"{head_config} is missing: {folder} is not a (complete) fine-tuned folder"
            )
        meta = json.loads(head_config.read_text())
        encoder = VideoBert.from_pretrained(folder, map_location=map_location)
        model = cls(encoder, meta["labels"], meta["pooling"], meta["dropout"], meta["label"],
                    meta["max_video_words"])
        state = load_file(str(folder / HEAD_WEIGHTS), device=str(map_location))
        try:
            model.head.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"{folder / HEAD_WEIGHTS} does not fit {head_config}: {exc}") from exc
        return model.to(map_location).eval()


# ---------------------------------------------------------------------------------------------
# Labels


def step_label(step: Step, ground_truth: GroundTruth | None, label: str) -> str:
    """A step's ``verb``/``noun``, or the value of any other key of its ground-truth record."""
    if label in ("verb", "noun"):
        return getattr(step, label)
    record = None
    if ground_truth is not None and step.video_id in ground_truth.videos:
        steps = ground_truth.videos[step.video_id]["steps"]
        record = steps[step.index] if step.index < len(steps) else None
    if record is None or label not in record:
        where = ground_truth.path if ground_truth is not None else "the ground truth"
        raise ValueError(f"{where}: video {step.video_id!r} step {step.index} has no {label!r}")
    return str(record[label])


def label_classes(
    steps: Sequence[Step], ground_truth: GroundTruth | None, label: str
) -> list[str]:
    """The class list: the ground truth's verb/noun lists, else the sorted values in ``steps``."""
    if ground_truth is not None and label == "verb":
        return list(ground_truth.verbs)
    if ground_truth is not None and label == "noun":
        return list(ground_truth.nouns)
    return sorted({step_label(s, ground_truth, label) for s in steps})


# ---------------------------------------------------------------------------------------------
# Training and prediction


@dataclasses.dataclass
class FinetuneConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-5  # encoder
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    clip_grad: float = 1.0
    freeze_encoder: bool = False
    pooling: str = "cls"
    dropout: float = 0.1
    max_video_words: int = 64
    seed: int = 0


def _batches(n: int, size: int, order: Sequence[int] | None = None):
    order = list(range(n)) if order is None else list(order)
    for start in range(0, n, size):
        yield order[start : start + size]


def train_classifier(
    classifier: VideoBertClassifier,
    examples: Sequence[inputs.Example],
    targets: Sequence[int],
    config: FinetuneConfig,
    progress: bool = True,
) -> list[float]:
    """Cross-entropy training; returns the mean loss of each epoch (the model ends in eval)."""
    if len(examples) != len(targets) or not examples:
        raise ValueError(f"need as many examples as targets, at least one (got {len(examples)} "
                         f"and {len(targets)})")
    gen = torch.Generator().manual_seed(config.seed)
    device = inputs.device_of(classifier)
    encoder_params = [p for p in classifier.encoder.parameters() if p.requires_grad]
    for p in encoder_params:
        p.requires_grad_(not config.freeze_encoder)
    groups = [{"params": list(classifier.head.parameters()), "lr": config.head_lr}]
    if not config.freeze_encoder:
        groups.append({"params": encoder_params, "lr": config.lr})
    opt = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    total = max(1, config.epochs * steps_per_epoch(len(examples), config.batch_size))
    sched = warmup_schedule(opt, max(1, int(config.warmup_fraction * total)), total)
    y_all = torch.as_tensor(np.asarray(targets), dtype=torch.long)

    def batch_loss(idx: Sequence[int]) -> torch.Tensor:
        batch = inputs.pad([examples[i] for i in idx], classifier.layout.pad_id)
        logits = classifier(**inputs.model_inputs(batch, device))
        return nn.functional.cross_entropy(logits, y_all[idx].to(device))

    def train_mode() -> None:
        classifier.train()
        if config.freeze_encoder:
            classifier.encoder.eval()  # no dropout in a frozen encoder

    losses = run_epochs(classifier, len(examples), config.batch_size, config.epochs,
                        batch_loss, opt, sched, gen, config.clip_grad, progress, "fine-tune",
                        train_mode)
    classifier.eval()
    return losses


@torch.no_grad()
def predict_logits(
    classifier: VideoBertClassifier, examples: Sequence[inputs.Example], batch_size: int = 64
) -> np.ndarray:
    """(E, C) logits, float32."""
    classifier.eval()
    device = inputs.device_of(classifier)
    out = []
    for idx in _batches(len(examples), batch_size):
        batch = inputs.pad([examples[i] for i in idx], classifier.layout.pad_id)
        out.append(classifier(**inputs.model_inputs(batch, device)).float().cpu().numpy())
    return np.concatenate(out)


def labelled(
    classifier: VideoBertClassifier, steps: Sequence[Step], ground_truth: GroundTruth | None
) -> tuple[list[Step], np.ndarray, int]:
    """Steps whose label is one of the classifier's classes, their class indices, and how many
    steps were left out (a label the classifier has no class for)."""
    index = {label: i for i, label in enumerate(classifier.labels)}
    kept, targets = [], []
    for s in steps:
        value = step_label(s, ground_truth, classifier.label_name)
        if value in index:
            kept.append(s)
            targets.append(index[value])
    return kept, np.asarray(targets, dtype=np.int64), len(steps) - len(kept)


def evaluate_classifier(
    classifier: VideoBertClassifier,
    steps: Sequence[Step],
    ground_truth: GroundTruth | None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Top-1/top-5 accuracy, mean class accuracy and chance on ``steps``."""
    from videobert.metrics import (
        confusion_matrix,
        mean_class_accuracy,
        precision_recall_f1,
        topk_accuracy,
    )

    kept, targets, n_left_out = labelled(classifier, steps, ground_truth)
    if not kept:
        raise ValueError(f"no step has a {classifier.label_name!r} among the classifier's "
                         f"classes {classifier.labels}")
    logits = predict_logits(classifier, classifier.examples(kept), batch_size)
    C = len(classifier.labels)
    return {
        "label": classifier.label_name,
        "n_steps": len(kept),
        "n_left_out": n_left_out,
        "n_classes": C,
        **topk_accuracy(logits, targets, KS),
        "mean_class_accuracy": mean_class_accuracy(confusion_matrix(logits, targets, C)),
        **precision_recall_f1(logits, targets, C, classifier.labels),
        "chance_top1": 1.0 / C,
        "chance_top5": min(1.0, 5.0 / C),
    }


# ---------------------------------------------------------------------------------------------
# Folder-level API


@dataclasses.dataclass
class FinetuneResult:
    folder: str
    label: str
    labels: list[str]
    n_train_steps: int
    losses: list[float]
    train: dict[str, Any]
    val: dict[str, Any] | None
    config: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        lines = [
            f"Fine-tuned {self.label} classifier ({len(self.labels)} classes, "
            f"{self.config['pooling']} pooling, {self.config['epochs']} epochs on "
            f"{self.n_train_steps} train steps), saved in {self.folder}",
            "", "| split | steps | top-1 | top-5 | mean class acc. | macro F1 | chance top-1 |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, m in (("train", self.train), ("val", self.val)):
            if m is not None:
                lines.append(f"| {name} | {m['n_steps']} | {m['top1']:.3f} | {m['top5']:.3f} | "
                             f"{m['mean_class_accuracy']:.3f} | {m['macro_f1']:.3f} | "
                             f"{m['chance_top1']:.3f} |")
        return "\n".join(lines) + "\n"


def _load_steps(
    ground_truth: str | Path, words_dir: str | Path | None, model_dir: str | Path,
    clip_feature_dim: int = 0,
) -> tuple[GroundTruth, list[Step]]:
    from videobert.tasks.cli_common import ground_truth_steps
    from videobert.tasks.steps import load_ground_truth

    gt = load_ground_truth(ground_truth)
    return gt, ground_truth_steps(gt, words_dir, model_dir, clip_feature_dim).steps


def finetune_train(
    model_dir: str | Path,
    ground_truth: str | Path,
    out_dir: str | Path,
    words_dir: str | Path | None = None,
    label: str = "verb",
    config: FinetuneConfig | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> FinetuneResult:
    """Fine-tune the model folder's encoder + a head on the train split's steps, save the
    classifier to ``out_dir`` and report train (and val, if any) accuracy."""
    config = config or FinetuneConfig()
    began = time.perf_counter()
    encoder, tokenizer, codebook_dir = inputs.load_model_folder(model_dir, device)
    gt, steps = _load_steps(ground_truth, words_dir, model_dir,
                            encoder.config.clip_feature_dim)
    train = [s for s in steps if s.split == "train"]
    val = [s for s in steps if s.split == "val"]
    if not train:
        raise ValueError(f"{ground_truth} has no train-split step with visual words")
    torch.manual_seed(config.seed)
    classifier = VideoBertClassifier(
        encoder, label_classes(train, gt, label), config.pooling, config.dropout, label,
        config.max_video_words,
    ).to(device)
    kept, targets, _ = labelled(classifier, train, gt)
    losses = train_classifier(classifier, classifier.examples(kept), targets, config, progress)
    classifier.save_pretrained(out_dir, tokenizer=tokenizer, codebook_dir=codebook_dir)
    return FinetuneResult(
        str(out_dir), label, classifier.labels, len(kept), losses,
        evaluate_classifier(classifier, kept, gt),
        evaluate_classifier(classifier, val, gt) if val else None,
        dataclasses.asdict(config), time.perf_counter() - began,
    )


def finetune_eval(
    classifier_dir: str | Path,
    ground_truth: str | Path,
    words_dir: str | Path | None = None,
    split: str = "val",
    device: str = "cpu",
    batch_size: int = 64,
) -> dict[str, Any]:
    """Accuracy of a saved classifier on one split (``all`` for every step)."""
    classifier = VideoBertClassifier.from_pretrained(classifier_dir, device)
    gt, steps = _load_steps(ground_truth, words_dir, classifier_dir,
                            classifier.encoder.config.clip_feature_dim)
    chosen = steps if split == "all" else [s for s in steps if s.split == split]
    if not chosen:
        raise ValueError(f"{ground_truth} has no {split!r}-split step with visual words")
    return {"split": split, **evaluate_classifier(classifier, chosen, gt, batch_size)}


# ---------------------------------------------------------------------------------------------
# CLI: videobert finetune train | eval


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.cli_options import add_device_argument
    from videobert.tasks.cli_common import add_words_argument

    sub = parser.add_subparsers(dest="action", required=True, metavar="{train,eval}")
    train = sub.add_parser("train", help="fine-tune a model folder + head on the train split")
    train.add_argument("--model", type=Path, required=True, help="pretrained model folder")
    train.add_argument("--out", type=Path, required=True, help="folder for the fine-tuned model")
    defaults = FinetuneConfig()
    train.add_argument("--label", default="verb",
                       help="step field to predict: verb, noun, or any key of the step records")
    train.add_argument("--pooling", choices=POOLINGS, default=defaults.pooling)
    train.add_argument("--epochs", type=int, default=defaults.epochs)
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--lr", type=float, default=defaults.lr, help="encoder learning rate")
    train.add_argument("--head-lr", type=float, default=defaults.head_lr)
    train.add_argument("--freeze-encoder", action="store_true", help="train the head only")
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument("--report", type=Path, help="also write finetune.json/.md here")
    evaluate = sub.add_parser("eval", help="accuracy of a fine-tuned folder on a split")
    evaluate.add_argument("--model", type=Path, required=True,
                          help="fine-tuned folder (finetune train --out)")
    evaluate.add_argument("--split", default="val", help="train, val or all (default: val)")
    evaluate.add_argument("--report", type=Path, help="also write finetune_eval.json/.md here")
    for p in (train, evaluate):
        p.add_argument("--ground-truth", type=Path, required=True, help="ground_truth.json")
        add_words_argument(p)
        add_device_argument(p)


def run(args: argparse.Namespace) -> int:
    from videobert.cli_options import resolve_device
    from videobert.tasks.cli_common import write_report

    if args.action == "train":
        config = FinetuneConfig(
            epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, head_lr=args.head_lr,
            freeze_encoder=args.freeze_encoder, pooling=args.pooling, seed=args.seed,
        )
        result = finetune_train(args.model, args.ground_truth, args.out, args.words,
                                args.label, config, resolve_device(args.device))
        markdown = result.to_markdown()
        if args.report:
            write_report(args.report, "finetune", result.to_dict(), markdown)
        else:
            print(markdown)
        return 0
    figures = finetune_eval(args.model, args.ground_truth, args.words, args.split,
                            resolve_device(args.device))
    markdown = (
        f"| label | split | steps | top-1 | top-5 | chance top-1 |\n|---|---|---|---|---|---|\n"
        f"| {figures['label']} | {figures['split']} | {figures['n_steps']} | "
        f"{figures['top1']:.3f} | {figures['top5']:.3f} | {figures['chance_top1']:.3f} |\n"
    )
    if args.report:
        write_report(args.report, "finetune_eval", figures, markdown)
    else:
        print(markdown)
        print(json.dumps(figures, indent=1))
    return 0
