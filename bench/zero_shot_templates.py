"""One prompt or the narration's own? Zero-shot with the paper's template beside the average
over the templates mined from the pretraining corpus, for each of some pretrained runs.

Each run is scored both ways on the val split of the same ground truth, so the difference is
paired per run; the last lines give the mean difference over the runs with a 95% bootstrap
interval over the runs (pretraining seeds: the larger noise).

    python bench/zero_shot_templates.py demo_out runs/base-s0 runs/base-s1 ...

``demo_out`` is a `make demo` work folder (data/ground_truth.json, corpus/ the runs were
pretrained on); each run folder has model/.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from videobert.metrics.bootstrap import bootstrap_mean
from videobert.tasks.cli_common import load_task_data
from videobert.tasks.zero_shot import DEFAULT_TEMPLATE, chosen_templates, evaluate_zero_shot

FIGURES = ("verb_top1", "verb_top5", "noun_top1", "noun_top5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder (demo_out)")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (with model/)")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    gt_path = args.work / "data" / "ground_truth.json"
    diffs = []
    for run in args.runs:
        data = load_task_data(run / "model", gt_path)
        gt, val = data.ground_truth, data.split("val")
        mined = chosen_templates(None, args.work / "corpus", gt.verbs, gt.nouns)
        rows = {}
        for name, templates in (("one template", DEFAULT_TEMPLATE),
                                (f"{len(mined)} mined", mined)):
            result = evaluate_zero_shot(data.model, data.tokenizer, val, gt.verbs, gt.nouns,
                                        templates)
            rows[name] = result.row("cross-modal (VideoBERT)")
        one, many = rows.values()
        diffs.append([getattr(many, k) - getattr(one, k) for k in FIGURES])
        for name, row in rows.items():
            cells = "  ".join(f"{k} {getattr(row, k):.3f}" for k in FIGURES)
            print(f"{run.name:16s} {name:14s} {cells}", flush=True)
    d = np.asarray(diffs)
    print(f"\nmined - one, mean over {len(d)} runs (95% bootstrap interval over the runs):")
    for i, key in enumerate(FIGURES):
        print(f"  {key}: {bootstrap_mean(d[:, i])}; higher in {int((d[:, i] > 0).sum())}, "
              f"lower in {int((d[:, i] < 0).sum())}")


if __name__ == "__main__":
    main()
