"""Does the built-in data's look decide what pretraining reads? The same 100 videos (same plan,
narration and seed) rendered two ways, each through the demo's data stages (I3D at 112 px,
144 visual words) and the tiny preset's pretraining over several seeds; zero-shot top-1 on the
val split (unseen verb-noun pairs) side by side, and the per-seed difference with a 95%
bootstrap interval over the seeds.

- ``default``: the look `videobert synth` renders now (object half the frame's height, travel
  0.35 of it, no drifting shapes, still camera);
- ``before``: the look before 2026-12-07 (object 0.35, travel 0.28, 1-3 drifting shapes, a
  2.5 px camera shake).

    python bench/synth_look.py --out bench_synth_look                 # ~45 min on 2 cores
    python bench/synth_look.py --out bench_synth_look --seeds 0 1     # fewer seeds

Each look's folder has the layout of a `make demo` folder, so `bench/learning.py` and
`bench/quantisation.py` run on it too; everything resumes (finished stages and runs are kept).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from learning import corpus_for, measure, run_dir  # noqa: E402

LOOKS: dict[str, dict[str, object]] = {
    "default": {},
    "before": {"SPRITE_SCALE": 0.35, "REACH": 0.28, "SHOW_DISTRACTORS": True, "JITTER_PX": 2.5},
}


@contextlib.contextmanager
def look(overrides: dict[str, object]) -> Iterator[None]:
    """The synth scene's constants set to ``overrides`` while rendering (one process)."""
    from videobert.synth import scene

    saved = {k: getattr(scene, k) for k in overrides}
    for k, v in overrides.items():
        setattr(scene, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(scene, k, v)


def build(work: Path, overrides: dict[str, object], n_videos: int) -> None:
    """A demo-layout folder: synth in this look, then ingest -> features -> codebook -> corpus
    with the tiny preset (the corpus on the train split, as the demo)."""
    import dataclasses

    from videobert.demo import split_lists
    from videobert.pipeline import PipelinePaths, Stopwatch, run_data_stages
    from videobert.settings import load_settings
    from videobert.synth import generate

    data = work / "data"
    with look(overrides):  # one worker: the constants are set in this process only
        generate(data, n_videos=n_videos, seed=0, workers=1)
    train_list, _ = split_lists(data / "ground_truth.json", work, 0)
    settings = load_settings("tiny", [])
    settings = dataclasses.replace(
        settings, corpus=dataclasses.replace(settings.corpus, videos=str(train_list)))
    watch = Stopwatch()
    run_data_stages(data / "manifest.jsonl", PipelinePaths(work), settings, watch)
    print(watch.table(), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench_synth_look"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--n-videos", type=int, default=100)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "2")))
    args = parser.parse_args()
    import torch

    from videobert.metrics.bootstrap import bootstrap_mean

    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start")
    top1: dict[str, dict[str, list[float]]] = {}
    for name, overrides in LOOKS.items():
        work = args.out / name
        build(work, overrides, args.n_videos)
        out = work / "bench_learning"  # bench/learning.py's folder: its default runs count
        corpus = corpus_for(work, "real", out)
        top1[name] = {"verb": [], "noun": []}
        for seed in args.seeds:
            m = measure(corpus, run_dir(out, "real", "default", seed),
                        work / "data" / "ground_truth.json", [f"train.seed={seed}"])
            for what in ("verb", "noun"):
                top1[name][what].append(m[f"cross_{what}"].value)
            print(f"{name} seed {seed}: verb {m['cross_verb']}, noun {m['cross_noun']} "
                  f"(prior {m['prior_noun']}), {m['seconds']:.0f} s", flush=True)
    print("\n| zero-shot top-1, cross-modal | seeds | default look | before | default - before "
          "(95% interval over seeds) | higher on |")
    print("|---|---|---:|---:|---|---|")
    for what in ("verb", "noun"):
        new, old = np.array(top1["default"][what]), np.array(top1["before"][what])
        gap = bootstrap_mean(new - old)
        print(f"| {what} | {' '.join(map(str, args.seeds))} | {new.mean():.3f} | "
              f"{old.mean():.3f} | {gap} | {int((new > old).sum())}/{len(new)} |")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
