"""Does a motion stream beside I3D let pretraining read the verbs? On a `make demo` folder, the
demo's features (I3D at 112 px) against the same rows with the flow stream appended
(``features.motion=flow``: histograms of Farneback optical flow, features/motion.py), each
through the codebook (144 words, center_l2, each stream normalised apart), the corpus and the
tiny preset's pretraining over several seeds; zero-shot top-1 on the val split (unseen
verb-noun pairs) side by side, the per-seed difference with a 95% bootstrap interval over the
seeds, and the linear probes on both feature sets (what the features know).

    videobert demo --preset tiny --out demo_out_tiny  # I3D alone (the demo's preset has flow)
    python bench/motion.py demo_out_tiny               # seeds 0-3, ~12 min on 2 cores
    python bench/motion.py demo_out_tiny --seeds 0     # one seed
    python bench/motion.py demo_out_tiny --set model.size=small   # both arms at the small size

The I3D rows are the demo's own (``WORK/features``); only the flow stream is computed, with the
function the features stage calls, so the rows equal `videobert features --motion flow`'s
(tests/test_motion.py). The I3D runs are `bench/learning.py`'s default runs (reused when there).
Everything resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from learning import corpus_for, measure, run_dir  # noqa: E402


def flow_features(work: Path, out: Path) -> float:
    """``out``: the demo's feature rows with the flow stream appended (a features folder);
    returns the seconds the flow took for the videos done now."""
    from videobert.features.extract import save_npy
    from videobert.features.motion import FLOW_DIM, flow_descriptor
    from videobert.ingest.video import iter_clips
    from videobert.io import write_json

    manifest = json.loads((work / "features" / "manifest.json").read_text())
    if manifest.get("blocks"):
        raise SystemExit(f"{work / 'features'} already holds a motion stream: this bench adds "
                         "it to a demo folder of I3D alone (videobert demo --preset tiny)")
    segments = json.loads((work / "segments" / "manifest.json").read_text())
    videos = {v["id"]: v["video"] for v in segments["videos"]}
    out.mkdir(parents=True, exist_ok=True)
    seconds = 0.0
    for video_id in sorted(manifest["videos"]):
        target = out / f"{video_id}.npy"
        if target.exists():
            continue
        appearance = np.load(work / "features" / f"{video_id}.npy")
        began = time.perf_counter()
        motion = np.stack([flow_descriptor(c) for c in iter_clips(
            videos[video_id], fps=manifest["fps"], clip_frames=manifest["clip_frames"],
            size=manifest["size"], crop=True)])
        seconds += time.perf_counter() - began
        if len(motion) != len(appearance):
            raise SystemExit(f"{video_id}: {len(motion)} clips decoded, features have "
                             f"{len(appearance)}")
        save_npy(target, np.concatenate([appearance, motion], 1).astype(np.float16))
    dim = int(manifest["dim"])
    write_json(out / "manifest.json", {
        **manifest, "backbone": f"{manifest['backbone']}+flow", "dim": dim + FLOW_DIM,
        "blocks": [dim, FLOW_DIM], "config": {**manifest["config"], "motion": "flow"}})
    return seconds


def motion_corpus(work: Path, out: Path) -> Path:
    from videobert.config import CorpusConfig
    from videobert.sequences.corpus import run_corpus
    from videobert.settings import load_settings
    from videobert.visual_words.stage import run_codebook

    run_codebook(out / "features", out / "codebook", load_settings("tiny", []).codebook,
                 work / "segments")
    run_corpus(work / "segments", out / "codebook", out / "corpus",
               CorpusConfig(videos=str(work / "train_videos.txt")))
    return out / "corpus"


def probes(work: Path, features: Path, blocks: list[int] | None) -> dict[str, str]:
    """Linear probes (train steps -> val steps) on the features as the codebook sees them."""
    from quantisation import Probe
    from videobert.artifacts.features import normalize_video

    probe = Probe(work)
    probe.clips = {v: normalize_video(np.load(features / f"{v}.npy").astype(np.float32),
                                      "center_l2", blocks) for v in probe.clips}
    supervised = probe.score(lambda s: probe.of(s).mean(0))
    narration = probe.score_from_narration(work / "corpus")
    return {f"{k} {w}": v for k, table in (("supervised", supervised),
                                           ("narration", narration)) for w, v in table.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a `make demo` work folder")
    parser.add_argument("--out", type=Path, help="default: WORK/bench_motion")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--threads", type=int, default=int(os.environ.get("THREADS", "2")))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="a pretraining override for both arms")
    args = parser.parse_args()
    import torch

    from videobert.metrics.bootstrap import bootstrap_mean

    torch.set_num_threads(args.threads)
    work, out = args.work, args.out or args.work / "bench_motion"
    n_cpu = os.cpu_count()
    print(f"load average {os.getloadavg()[0]:.2f} on {n_cpu} CPUs at the start", flush=True)
    seconds = flow_features(work, out / "features")
    if seconds:
        print(f"flow stream: {seconds:.0f} s for the videos done now (load "
              f"{os.getloadavg()[0]:.2f})", flush=True)
    corpora = {"i3d": corpus_for(work, "real", work / "bench_learning"),
               "i3d+flow": motion_corpus(work, out)}
    recipe = " ".join(["default", *args.overrides])  # bench/learning.py's run names
    runs = {"i3d": lambda seed: run_dir(work / "bench_learning", "real", recipe, seed),
            "i3d+flow": lambda seed: run_dir(out, "real", recipe, seed)}
    top1: dict[str, dict[str, list[float]]] = {}
    for name, corpus in corpora.items():
        top1[name] = {"verb": [], "noun": []}
        for seed in args.seeds:
            m = measure(corpus, runs[name](seed), work / "data" / "ground_truth.json",
                        [f"train.seed={seed}", *args.overrides])
            for what in ("verb", "noun"):
                top1[name][what].append(m[f"cross_{what}"].value)
            print(f"{name} seed {seed}: verb {m['cross_verb']} (prior {m['prior_verb']}), "
                  f"noun {m['cross_noun']} (prior {m['prior_noun']}), {m['seconds']:.0f} s",
                  flush=True)
    print("\n| zero-shot top-1, cross-modal | per seed, i3d+flow | per seed, i3d | "
          "i3d+flow - i3d (95% interval over seeds) | higher on |")
    print("|---|---|---|---|---|")
    for what in ("verb", "noun"):
        new, old = np.array(top1["i3d+flow"][what]), np.array(top1["i3d"][what])
        print(f"| {what} | {' '.join(f'{x:.3f}' for x in new)} ({new.mean():.3f}) | "
              f"{' '.join(f'{x:.3f}' for x in old)} ({old.mean():.3f}) | "
              f"{bootstrap_mean(new - old)} | {int((new > old).sum())}/{len(new)} |")
    print("\n| linear probe, val top-1 | i3d+flow | i3d |\n|---|---|---|")
    blocks = json.loads((out / "features" / "manifest.json").read_text())["blocks"]
    with_flow = probes(work, out / "features", blocks)
    alone = probes(work, work / "features", None)
    for key in with_flow:
        print(f"| {key} | {with_flow[key]} | {alone[key]} |")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
