"""How much of the step labels the visual words keep (needs ground truth).

For the clips inside labelled steps: *purity* (each word votes for its most frequent verb, or
noun; the share of clips that agree with their word's vote) and *normalised mutual
information* between word and label; and a linear probe on each step's bag of visual words,
to set beside the probe on the raw clip features. If the bag-of-words probe is far below the
feature probe, the quantisation (not the model) loses the information.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from videobert.tasks.steps import Step


@dataclasses.dataclass
class CodebookInfo:
    n_clips: int  # in-step clips counted
    n_words_used: int
    purity: dict[str, float]  # label -> purity of words vs that label
    nmi: dict[str, float]  # label -> normalised mutual information (arithmetic mean norm)
    bow_probe_top1: dict[str, float]  # val top-1 of a linear probe on bags of words
    chance_top1: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_markdown(self, feature_probe_top1: dict[str, float] | None = None) -> str:
        lines = [
            f"Visual words of the {self.n_clips} clips inside labelled steps "
            f"({self.n_words_used} words used):",
            "",
            "| label | purity | NMI | probe on bags of words (val top-1) |"
            + (" probe on clip features |" if feature_probe_top1 else ""),
            "|---|---:|---:|---:|" + ("---:|" if feature_probe_top1 else ""),
        ]
        for label in ("verb", "noun"):
            row = (f"| {label} | {self.purity[label]:.3f} | {self.nmi[label]:.3f} | "
                   f"{self.bow_probe_top1[label]:.3f} |")
            if feature_probe_top1:
                row += f" {feature_probe_top1[label]:.3f} |"
            lines.append(row)
        lines.append(f"\nChance top-1: verb {self.chance_top1['verb']:.3f}, noun "
                     f"{self.chance_top1['noun']:.3f}.")
        return "\n".join(lines) + "\n"


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def purity(words: np.ndarray, labels: np.ndarray) -> float:
    """Share of items whose label is the most frequent label of their word."""
    table = contingency(words, labels)
    return float(table.max(1).sum() / table.sum())


def contingency(words: np.ndarray, labels: np.ndarray) -> np.ndarray:
    _, w = np.unique(words, return_inverse=True)
    _, y = np.unique(labels, return_inverse=True)
    table = np.zeros((w.max() + 1, y.max() + 1), np.int64)
    np.add.at(table, (w, y), 1)
    return table


def normalized_mutual_information(words: np.ndarray, labels: np.ndarray) -> float:
    """I(W; Y) / mean(H(W), H(Y)) (scikit-learn's default normalisation); 1 = identical
    partitions, 0 = independent."""
    table = contingency(words, labels).astype(np.float64)
    n = table.sum()
    pw, py = table.sum(1) / n, table.sum(0) / n
    nz = table > 0
    pxy = table[nz] / n
    mi = float((pxy * np.log(pxy / np.outer(pw, py)[nz])).sum())
    norm = (_entropy(table.sum(1)) + _entropy(table.sum(0))) / 2
    return mi / norm if norm > 0 else 1.0


def bag_of_words(steps: Sequence[Step], n_words: int) -> np.ndarray:
    """(n_steps, n_words) float32: each step's word histogram, normalised to sum 1."""
    bags = np.zeros((len(steps), n_words), np.float32)
    for i, step in enumerate(steps):
        np.add.at(bags[i], np.asarray(step.words, np.int64), 1.0)
    return bags / np.maximum(bags.sum(1, keepdims=True), 1.0)


def codebook_information(
    train: Sequence[Step], val: Sequence[Step], verbs: Sequence[str], nouns: Sequence[str],
    n_words: int,
) -> CodebookInfo:
    from videobert.tasks.zero_shot import linear_probe

    every = [*train, *val]
    words = np.concatenate([np.asarray(s.words, np.int64) for s in every])
    vocab = {"verb": list(verbs), "noun": list(nouns)}
    per_clip = {label: np.concatenate([np.full(len(s.words), vocab[label].index(getattr(s, label)))
                                       for s in every]) for label in vocab}
    train_x, val_x = bag_of_words(train, n_words), bag_of_words(val, n_words)
    probe = {}
    for label, names in vocab.items():
        y_train = [names.index(getattr(s, label)) for s in train]
        y_val = np.array([names.index(getattr(s, label)) for s in val])
        logits = linear_probe(train_x, y_train, len(names), val_x)
        probe[label] = float((logits.argmax(1) == y_val).mean())
    return CodebookInfo(
        n_clips=int(words.size), n_words_used=int(np.unique(words).size),
        purity={k: purity(words, v) for k, v in per_clip.items()},
        nmi={k: normalized_mutual_information(words, v) for k, v in per_clip.items()},
        bow_probe_top1=probe,
        chance_top1={k: 1 / len(v) for k, v in vocab.items()},
    )
