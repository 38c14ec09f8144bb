"""Captioning's three rows trained one after the other on every core, against the first row in
a second process beside the other two (one thread each; ``captioning.train_rows``), in one run
on a demo folder. Prints each wall time and every row's CIDEr, which only the threads' float
rounding may move.

    python bench/caption_rows.py demo_out            # ~2.5 min on 2 cores

``demo_out`` is a `make demo` work folder (runs/full/model, features/, data/ground_truth.json).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import videobert.pipeline
from videobert.tasks.captioning import run_captioning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder (demo_out)")
    args = parser.parse_args()
    w = args.work
    seconds = {}
    for label, beside in (("one after the other", False), ("side by side", True)):
        videobert.pipeline.side_by_side_possible = lambda beside=beside: beside
        began = time.perf_counter()
        result = run_captioning(w / "runs" / "full" / "model", w / "features", w / "codebook",
                                w / "data" / "ground_truth.json", progress=False)
        seconds[label] = time.perf_counter() - began
        cider = ", ".join(f"{row} {m['CIDEr']:.3f}" for row, m in result.metrics.items())
        print(f"{label:20s} {seconds[label]:6.1f} s   CIDEr: {cider}", flush=True)
    ratio = seconds["one after the other"] / seconds["side by side"]
    print(f"\nside by side is {ratio:.2f}x faster")


if __name__ == "__main__":
    main()
