"""Which quantisation keeps the verbs? Bag-of-visual-words probes beside the probe on the
unquantised features they come from, in one run, on a demo work folder (ground truth needed).

Every variant is fit on the train videos' clips (per-video centred + L2, the codebook default)
and scored by the same linear probe as the report's "What the visual words keep" (train steps
-> val steps, top-1 with a 95% bootstrap interval over the val steps):

- flat k-means (k words);
- residual: a second codebook shared by all first-level words, fit on what the first level
  leaves (x - centroid), so its words are not tied to one appearance cluster;
- text-projected: the features mapped by ridge regression onto the bag of narration words of
  the step they lie in (the self-supervision VideoBERT has: speech), then k-means there.

And one probe that sees no labels: trained on the corpus's own sentences (each naming one verb or
noun of the vocabulary, mean-pooled over the clips it spans: the supervision pretraining gets),
then scored on the val steps like the others. It bounds what a linear read-out can learn from the
narration, so a VideoBERT row far below it has room to grow.

    python bench/quantisation.py demo_out          # ~2 min on 2 cores
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from videobert.metrics.bootstrap import bootstrap_mean
from videobert.tasks.steps import Step, load_ground_truth, load_steps
from videobert.tasks.zero_shot import linear_probe
from videobert.visual_words.hkmeans import _kmeans, nearest


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-6)).astype(np.float32)


class Probe:
    def __init__(self, work: Path) -> None:
        self.gt = load_ground_truth(work / "data" / "ground_truth.json")
        raw = {p.stem: np.load(p).astype(np.float32) for p in (work / "features").glob("*.npy")}
        if not raw:
            raise SystemExit(f"{work / 'features'} has no <id>.npy files (run `make demo`)")
        self.clips = {v: unit(f - f.mean(0)) for v, f in raw.items()}
        steps, _ = load_steps(self.gt, {v: np.zeros(len(f), np.int64) for v, f in raw.items()})
        self.train = [s for s in steps if s.split == "train"]
        self.val = [s for s in steps if s.split == "val"]
        train_ids = sorted({s.video_id for s in self.train})
        self.train_clips = np.concatenate([self.clips[v] for v in train_ids])

    def of(self, step: Step) -> np.ndarray:
        return self.clips[step.video_id][step.first_clip : step.last_clip + 1]

    def score(self, represent: Callable[[Step], np.ndarray]) -> dict[str, str]:
        x_train = np.stack([represent(s) for s in self.train])
        x_val = np.stack([represent(s) for s in self.val])
        out = {}
        for label, names in (("verb", self.gt.verbs), ("noun", self.gt.nouns)):
            y_train = [names.index(getattr(s, label)) for s in self.train]
            y_val = np.array([names.index(getattr(s, label)) for s in self.val])
            hits = linear_probe(x_train, y_train, len(names), x_val).argmax(1) == y_val
            out[label] = str(bootstrap_mean(hits.astype(np.float64)))
        return out

    def score_from_narration(self, corpus: Path) -> dict[str, str]:
        import pyarrow.parquet as pq

        train_ids = {s.video_id for s in self.train}
        rows = [r for shard in sorted(corpus.glob("shard-*.parquet"))
                for r in pq.read_table(shard).to_pylist() if r["video_id"] in train_ids]
        out = {}
        for label, names in (("verb", self.gt.verbs), ("noun", self.gt.nouns)):
            x, y = [], []
            for r in rows:
                said = [w for w in re.findall(r"[a-z]+", r["text"].lower()) if w in names]
                if len(said) == 1:
                    x.append(self.clips[r["video_id"]][r["first_clip"]: r["last_clip"] + 1].mean(0))
                    y.append(names.index(said[0]))
            x_val = np.stack([self.of(s).mean(0) for s in self.val])
            y_val = np.array([names.index(getattr(s, label)) for s in self.val])
            hits = linear_probe(np.stack(x), y, len(names), x_val).argmax(1) == y_val
            out[label] = f"{bootstrap_mean(hits.astype(np.float64))} from {len(y)} sentences"
        return out


def bag(words: np.ndarray, n: int) -> np.ndarray:
    counts = np.bincount(words, minlength=n).astype(np.float32)
    return counts / max(counts.sum(), 1.0)


def narration_projection(p: Probe, ridge: float = 1.0) -> np.ndarray:
    """(D, V) ridge map from a clip feature to the bag of narration words of its step."""
    vocab: dict[str, int] = {}
    rows, targets = [], []
    for s in p.train:
        if not s.narration:
            continue
        words = re.findall(r"[a-z]+", s.narration.lower())
        for w in words:
            vocab.setdefault(w, len(vocab))
        for clip in p.of(s):
            rows.append(clip)
            targets.append(words)
    y = np.zeros((len(rows), len(vocab)), np.float32)
    for i, words in enumerate(targets):
        y[i, [vocab[w] for w in words]] = 1.0
    x = np.stack(rows)
    y -= y.mean(0)
    return np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder (demo_out)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    p = Probe(args.work)
    rows: list[tuple[str, dict[str, str]]] = []

    def add(name: str, represent: Callable[[Step], np.ndarray]) -> None:
        rows.append((name, p.score(represent)))
        print(f"{name:55s} verb {rows[-1][1]['verb']}  noun {rows[-1][1]['noun']}", flush=True)

    add("unquantised features, mean-pooled (baseline)", lambda s: p.of(s).mean(0))
    if (args.work / "corpus").is_dir():
        rows.append(("unquantised, trained on the narration (no labels)",
                     p.score_from_narration(args.work / "corpus")))
        print(f"{rows[-1][0]:55s} verb {rows[-1][1]['verb']}  noun {rows[-1][1]['noun']}")
    for k in (12, 144):
        c = _kmeans(p.train_clips, k, args.seed, 20)
        add(f"flat k-means, {k} words", lambda s, c=c, k=k: bag(nearest(p.of(s), c), k))
    first = _kmeans(p.train_clips, 12, args.seed, 20)
    residual = unit(p.train_clips - first[nearest(p.train_clips, first)])
    second = _kmeans(residual, 24, args.seed, 20)

    def residual_words(s: Step) -> np.ndarray:
        x = p.of(s)
        return nearest(unit(x - first[nearest(x, first)]), second)

    add("residual codebook, 24 words (second level only)", lambda s: bag(residual_words(s), 24))
    add("12 first-level + 24 residual words", lambda s: np.concatenate(
        [bag(nearest(p.of(s), first), 12), bag(residual_words(s), 24)]))
    w = narration_projection(p)
    projected = unit(p.train_clips @ w)
    add("narration-projected features (unquantised)", lambda s: unit(p.of(s) @ w).mean(0))
    for k in (48, 144):
        c = _kmeans(projected, k, args.seed, 20)
        add(f"narration-projected k-means, {k} words",
            lambda s, c=c, k=k: bag(nearest(unit(p.of(s) @ w), c), k))
    print(f"\n{len(p.val)} val steps; chance top-1 verb {1 / len(p.gt.verbs):.3f}, "
          f"noun {1 / len(p.gt.nouns):.3f}")


if __name__ == "__main__":
    main()
