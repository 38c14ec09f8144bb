"""Likelihood retrieval with and without normalising each video's scores over the queries.

For each pretrained run, the masked-LM likelihood of every (query sentence, gallery video)
pair is computed once per split, then ranked three ways: the raw IDF-weighted sum, each
video's column centred over the distinct query sentences, and z-scored (``per_video_z``, what
`videobert retrieval` reports). The train split's steps (seen verb-noun pairs, a fixed subset
of 200) are the development set the choice was made on; the val split (unseen pairs) is read
after. Each row: R@5 with a 95% bootstrap interval over the queries; the last lines give the
mean paired difference over the runs with a 95% bootstrap interval over the runs.

    python bench/retrieval_norm.py demo_out runs/base-s0 runs/base-s1 ...

``demo_out`` is a `make demo` work folder (data/ground_truth.json); each run has model/.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from videobert.metrics.bootstrap import bootstrap_mean
from videobert.metrics.retrieval import retrieval_ranks
from videobert.tasks.cli_common import load_task_data
from videobert.tasks.retrieval import (
    distinct_rows,
    likelihood_similarity,
    per_video_z,
    relevance_of,
    retrieval_queries,
)

SPLITS = ("train", "val")  # development set, then the held-out one


def centred(similarity: np.ndarray, texts: list[list[int]]) -> np.ndarray:
    """Each video's column minus its mean over the distinct sentences (no scaling)."""
    return similarity - similarity[distinct_rows(texts)].mean(0, keepdims=True)


def hits_at_5(model, tokenizer, steps, max_queries: int, seed: int) -> dict[str, np.ndarray]:
    if len(steps) > max_queries:
        keep = np.sort(np.random.default_rng(seed).choice(len(steps), max_queries, replace=False))
        steps = [steps[i] for i in keep]
    texts, videos = retrieval_queries(tokenizer, steps)
    raw = likelihood_similarity(model, tokenizer, texts, videos, progress=False)
    correct = relevance_of(steps, "action")
    scores = {"raw sum": raw, "centred per video": centred(raw, texts),
              "z per video (ours)": per_video_z(raw, texts)}
    return {name: (retrieval_ranks(s, correct) <= 5).astype(float) for name, s in scores.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder (demo_out)")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (with model/)")
    parser.add_argument("--max-queries", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    gt_path = args.work / "data" / "ground_truth.json"
    means: dict[tuple[str, str], list[float]] = {}
    for run in args.runs:
        data = load_task_data(run / "model", gt_path)
        data.model.eval()
        for split in SPLITS:
            hits = hits_at_5(data.model, data.tokenizer, data.split(split), args.max_queries, 0)
            for name, h in hits.items():
                means.setdefault((split, name), []).append(float(h.mean()))
                print(f"{run.name:16s} {split:5s} {name:20s} R@5 {bootstrap_mean(h)}",
                      flush=True)
    for split in SPLITS:
        raw = np.asarray(means[(split, "raw sum")])
        print(f"\n{split}: mean R@5 over {len(raw)} runs; difference to the raw sum (95% "
              "bootstrap interval over the runs)")
        for name in ("raw sum", "centred per video", "z per video (ours)"):
            m = np.asarray(means[(split, name)])
            line = f"  {name:20s} {m.mean():.3f}"
            if name != "raw sum":
                d = m - raw
                line += (f"  {bootstrap_mean(d)}; higher in {int((d > 0).sum())}, "
                         f"lower in {int((d < 0).sum())}")
            print(line)


if __name__ == "__main__":
    main()
