"""Two configurations compared over pretraining seeds, from their `videobert evaluate` reports:
each quality-bar row's figure per seed, the mean, the per-seed difference with a 95% bootstrap
interval over the seeds, and how many seeds meet each bar. Reports are paired by position (the
same seed first in both lists).

    python bench/compare_reports.py --a R_small_s0 R_small_s1 --b R_tiny_s0 R_tiny_s1 \\
        --names small tiny

Each report folder is one `videobert evaluate RUN --out R --templates-from CORPUS` (what
`videobert demo` runs) on one pretraining seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def read(report: Path) -> dict[str, tuple[float, bool]]:
    figures = json.loads((report / "figures.json").read_text())
    return {bar["name"]: (float(bar["ours"]), bool(bar["passed"]))
            for bar in figures["quality_bars"]}


def main() -> int:
    from videobert.metrics.bootstrap import bootstrap_mean

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", type=Path, nargs="+", required=True, help="reports, one per seed")
    parser.add_argument("--b", type=Path, nargs="+", required=True, help="the same seeds")
    parser.add_argument("--names", nargs=2, default=["a", "b"])
    args = parser.parse_args()
    if len(args.a) != len(args.b):
        raise SystemExit(f"{len(args.a)} reports against {len(args.b)}: pair them by seed")
    a, b = [read(r) for r in args.a], [read(r) for r in args.b]
    name_a, name_b = args.names
    print(f"| bar | per seed, {name_a} | per seed, {name_b} | {name_a} - {name_b} (95% interval "
          f"over seeds) | met, {name_a} | met, {name_b} |")
    print("|---|---|---|---|---|---|")
    for bar in a[0]:
        if not all(bar in r for r in a + b):
            continue
        x = np.array([r[bar][0] for r in a])
        y = np.array([r[bar][0] for r in b])
        met_a, met_b = sum(r[bar][1] for r in a), sum(r[bar][1] for r in b)
        print(f"| {bar} | {' '.join(f'{v:.3f}' for v in x)} ({x.mean():.3f}) | "
              f"{' '.join(f'{v:.3f}' for v in y)} ({y.mean():.3f}) | {bootstrap_mean(x - y)} | "
              f"{met_a}/{len(x)} | {met_b}/{len(y)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
