"""Each slot from its own stream, or both from the whole clips? Zero-shot verbs and nouns of
each pretrained run read both ways on the val split: verbs from the motion stream alone (every
clip's visual word hidden, its appearance block zeroed) and nouns from the appearance alone
(words and appearance block, the motion block zeroed), which `videobert evaluate` reports as
the cross-modal row when the features have a motion stream; and both from the whole clips (its
last row). The language prior and the linear probe of the same report are printed beside them.

Each run is read both ways, so the difference is paired per run: per run with a 95% bootstrap
interval over the val steps, and the mean over the runs with one over the runs (pretraining
seeds: the larger noise).

    python bench/slot_views.py demo_out runs/small-s0 runs/small-s1 ...

``demo_out`` is a `make demo` work folder (data/ground_truth.json, corpus/ the runs were
pretrained on, features/); each run folder has model/ and reads clip features with a motion
stream (`features.motion`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from videobert.metrics.bootstrap import bootstrap_difference, bootstrap_mean
from videobert.tasks.cli_common import load_task_data
from videobert.tasks.zero_shot import (
    PROBE_ROW,
    WHOLE_CLIPS_ROW,
    appearance_block_width,
    chosen_templates,
    evaluate_zero_shot,
)

CROSS = "cross-modal (VideoBERT)"
FIGURES = ("verb_top1", "verb_top5", "noun_top1", "noun_top5")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder (demo_out)")
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (with model/)")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gt_path = args.work / "data" / "ground_truth.json"
    diffs = []
    for run in args.runs:
        data = load_task_data(run / "model", gt_path)
        width = appearance_block_width(data.model, data.codebook_dir)
        if not width:
            raise SystemExit(f"{run}: the model's clip features have no motion stream "
                             "(features.motion): nothing to compare")
        gt = data.ground_truth
        templates = chosen_templates(None, args.work / "corpus", gt.verbs, gt.nouns)
        result = evaluate_zero_shot(data.model, data.tokenizer, data.split("val"), gt.verbs,
                                    gt.nouns, templates, train_steps=data.split("train"),
                                    features_dir=args.work / "features", appearance_width=width)
        for key in FIGURES:
            own, whole = (np.asarray(result.hits[m][key]) for m in (CROSS, WHOLE_CLIPS_ROW))
            stream = "motion" if key.startswith("verb") else "appearance"
            print(f"{run.name:16s} {key}: {stream} {bootstrap_mean(own)}, whole clips "
                  f"{bootstrap_mean(whole)}, difference {bootstrap_difference(own, whole, 1)}"
                  f"; prior {result.row('language prior (no video)').__dict__[key]:.3f}, "
                  f"probe {result.row(PROBE_ROW).__dict__[key]:.3f}", flush=True)
        diffs.append([result.row(CROSS).__dict__[k] - result.row(WHOLE_CLIPS_ROW).__dict__[k]
                      for k in FIGURES])
    d = np.asarray(diffs)
    print(f"\nown stream - whole clips, mean over {len(d)} runs (95% bootstrap interval "
          "over the runs):")
    for i, key in enumerate(FIGURES):
        print(f"  {key}: {bootstrap_mean(d[:, i])}; higher in {int((d[:, i] > 0).sum())}, "
              f"lower in {int((d[:, i] < 0).sum())}")


if __name__ == "__main__":
    main()
