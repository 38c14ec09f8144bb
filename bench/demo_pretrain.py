"""The demo's pretraining time: what the fused AdamW step and the side-by-side runs save.

On a demo folder (``make demo`` or ``videobert demo --out W``), with the tiny preset and a
short run of ``--steps``, in one process, one measurement after the other:

1. one pretraining with the per-tensor AdamW loop (the baseline) against the fused AdamW
   step (the default), all CPU threads;
2. the demo's two pretrainings (full corpus, half corpus) one after the other on all threads
   (the baseline) against side by side, each on half the threads (what the demo does on CPU).

    python bench/demo_pretrain.py demo_out            # 750 steps, about 6 min on 2 cores

Each figure is wall-clock seconds including each run's start-up; the load average is printed
beside them (a shared machine: compare only the ratios of one run).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

import torch

import videobert.train.loop as loop
from videobert.pipeline import Stopwatch, run_pretrains_side_by_side
from videobert.settings import load_settings
from videobert.visual_words.hkmeans import usable_cpus


def _config(steps: int):
    settings = load_settings("tiny", [f"train.steps={steps}", "train.eval_every=100000",
                                      "train.save_every=100000"])
    return settings.pretrain()


def _timed(fn) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("work", type=Path, help="a demo folder (corpus/ and corpus_half/)")
    parser.add_argument("--steps", type=int, default=750)
    args = parser.parse_args()
    full, half = args.work / "corpus", args.work / "corpus_half"
    for corpus in (full, half):
        if not (corpus / "meta.json").is_file():
            raise SystemExit(f"{corpus} is not a corpus folder: run `make demo` (or "
                             f"`videobert demo --out {args.work}`) first")
    config = _config(args.steps)
    tmp = Path(tempfile.mkdtemp(prefix="bench_demo_pretrain_"))
    print(f"{args.steps} steps, tiny preset, {usable_cpus()} CPUs, torch threads "
          f"{torch.get_num_threads()}, load {os.getloadavg()[0]:.2f}")
    try:  # a short untimed run first: the first run in a process pays one-time start-up
        _timed(lambda: loop.pretrain(full, tmp / "warm-up", _config(5)))
        fused = loop.build_optimizer
        loop.build_optimizer = functools.partial(fused, fused=False)  # the per-tensor loop
        t_loop = _timed(lambda: loop.pretrain(full, tmp / "loop", config))
        loop.build_optimizer = fused
        t_fused = _timed(lambda: loop.pretrain(full, tmp / "fused", config))
        print("\n| one pretraining | seconds |\n|---|---:|")
        print(f"| AdamW per-tensor loop (baseline) | {t_loop:.1f} |")
        print(f"| AdamW fused (default) | {t_fused:.1f} ({t_loop / t_fused:.2f}x) |")

        t_seq = (_timed(lambda: loop.pretrain(full, tmp / "seq_full", config))
                 + _timed(lambda: loop.pretrain(half, tmp / "seq_half", config)))
        t_side = _timed(lambda: run_pretrains_side_by_side(
            (full, tmp / "side_full"), (half, tmp / "side_half"), config, Stopwatch(),
            "side by side"))
        print("\n| the demo's two pretrainings | seconds |\n|---|---:|")
        print(f"| one after the other, {torch.get_num_threads()} threads each (baseline) "
              f"| {t_seq:.1f} |")
        print(f"| side by side, {max(1, usable_cpus() // 2)} thread(s) each (the demo) "
              f"| {t_side:.1f} ({t_seq / t_side:.2f}x) |")
        print(f"\nload at the end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
