"""What the cheaper feature settings cost in what the features know: I3D on every frame of a
clip against every 2nd frame (``features.frame_stride=2``), and the flow stream at the network's
112 px against ``FLOW_SIZE`` (56 px), timed in one run on a demo folder's clips, with the
linear probes (train steps -> val steps of unseen verb-noun pairs, top-1 with a 95% bootstrap
interval over the val steps) on each and on the two combinations.

    python bench/cheap_features.py demo_out              # ~10 min on 2 cores
    python bench/cheap_features.py demo_out --videos 12  # timing only, on 12 videos

Clips are decoded once per video, outside the timings. Rows go to WORK/bench_cheap_features/
and a rerun reuses them (the timings then cover only the videos computed in that run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from quantisation import Probe, unit  # noqa: E402

ARMS = ("i3d every frame", "i3d every 2nd frame", "flow at 112 px", "flow at 56 px")


def compute(work: Path, out: Path, videos: int | None) -> dict[str, float]:
    from videobert.features.backbones import build_backbone
    from videobert.features.motion import FLOW_SIZE, flow_descriptor
    from videobert.ingest.video import iter_clips

    manifest = json.loads((work / "segments" / "manifest.json").read_text())
    grid = json.loads((work / "features" / "manifest.json").read_text())  # the clip grid
    size = 112
    every, alternate = (build_backbone("i3d", size=size, frame_stride=k) for k in (1, 2))
    run = {
        ARMS[0]: lambda c: _network(every, c),
        ARMS[1]: lambda c: _network(alternate, c),
        ARMS[2]: lambda c: np.stack([flow_descriptor(x, size=None) for x in c]),
        ARMS[3]: lambda c: np.stack([flow_descriptor(x, size=FLOW_SIZE) for x in c]),
    }
    seconds = dict.fromkeys(ARMS, 0.0)
    for v in manifest["videos"][:videos]:
        targets = {arm: out / arm.replace(" ", "_") / f"{v['id']}.npy" for arm in ARMS}
        if all(t.exists() for t in targets.values()):
            continue
        clips = np.stack(list(iter_clips(v["video"], fps=grid["fps"],
                                         clip_frames=grid["clip_frames"], size=size,
                                         crop=True)))
        for arm, fn in run.items():
            began = time.perf_counter()
            rows = fn(clips)
            seconds[arm] += time.perf_counter() - began
            targets[arm].parent.mkdir(parents=True, exist_ok=True)
            np.save(targets[arm], rows.astype(np.float32))
    return seconds


def _network(backbone, clips: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return np.concatenate([
            backbone.forward_features(backbone.preprocess(clips[b: b + 8])).float().numpy()
            for b in range(0, len(clips), 8)])


def probes(work: Path, out: Path) -> dict[str, dict[str, str]]:
    probe = Probe(work)  # the demo's steps, split and linear probe; the arms' rows below
    rows = {arm: {p.stem: np.load(p) for p in (out / arm.replace(" ", "_")).glob("*.npy")}
            for arm in ARMS}
    # per-video centred + L2 per stream, as the codebook's default normalisation
    clips = {arm: {v: unit(x - x.mean(0)) for v, x in r.items()} for arm, r in rows.items()}

    def feature(arms: tuple[str, ...]):
        return lambda s: np.concatenate([
            clips[a][s.video_id][s.first_clip: s.last_clip + 1].mean(0) for a in arms])

    variants = {arm: (arm,) for arm in ARMS}
    variants["i3d every frame + flow at 112 px"] = (ARMS[0], ARMS[2])
    variants["i3d every 2nd frame + flow at 56 px"] = (ARMS[1], ARMS[3])
    return {name: probe.score(feature(arms)) for name, arms in variants.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="a finished `videobert demo` folder")
    parser.add_argument("--videos", type=int, help="only the first N videos (timing only)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = args.work / "bench_cheap_features"
    seconds = compute(args.work, out, args.videos)
    print("| arm | seconds in this run |\n|---|---:|")
    for arm in ARMS:
        print(f"| {arm} | {seconds[arm]:.1f} |")
    if args.videos is None:
        print("\n| features | verb probe top-1 | noun probe top-1 |\n|---|---|---|")
        for name, row in probes(args.work, out).items():
            print(f"| {name} | {row['verb']} | {row['noun']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
