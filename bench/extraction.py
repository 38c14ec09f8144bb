"""Feature extraction: end to end from mp4 files vs the backbone's forward pass alone.

1. Throughput. H.264 640x360 30 fps videos (moving texture, made here with PyAV) go through the
   whole features stage (``run_features``: DataLoader workers decode, resample to 20 fps, cut
   30-frame clips, resize; the main process runs I3D). The baseline is the same backbone, batch
   size and precision on the same clips decoded beforehand into memory (forward only), measured
   before and after the end-to-end run (their mean, as other processes may share the CPU).
   ratio = end-to-end clips/s / forward-only clips/s; 1.0 means decoding is fully hidden.
2. Memory. Peak RSS of the stage on a 1-minute and a 10-minute video, each in a fresh
   subprocess (main process and decoding worker reported separately). Streaming decode means
   the two should be about equal.
3. ``--table``: I3D forward clips/s at 112 and 224 px, fp32 and bf16 (batch of 4 clips).

    python bench/extraction.py                  # 112 px, 60 s of video, 1 vs 10 min RSS
    python bench/extraction.py --size 224 --seconds 30
    python bench/extraction.py --quick          # smaller everything (make bench)
    python bench/extraction.py --table          # adds the precision/size table
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch

from videobert.config import FeaturesConfig
from videobert.features.backbones import build_backbone
from videobert.features.extract import _autocast, resolve_precision, run_features
from videobert.ingest.video import count_clips, iter_clips

FPS, CLIP_FRAMES = 20.0, 30  # the stage's defaults (1.5 s clips)


def make_video(path: Path, seconds: float, width: int = 640, height: int = 360,
               fps: int = 30) -> Path:
    """Smooth coloured blobs drifting across the frame, with grain (a camera-like bitrate)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    blobs = rng.integers(0, 256, (18, 32, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(blobs).resize((width * 2, height * 2), Image.BICUBIC))
    grain = rng.integers(-8, 9, texture.shape)
    texture = np.clip(texture.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23"}
        for i in range(int(seconds * fps)):
            y, x = (i * 3) % height, (i * 5) % width
            rgb = np.ascontiguousarray(texture[y : y + height, x : x + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


def write_segments(folder: Path, videos: list[Path]) -> Path:
    """The part of an ingest manifest the features stage reads."""
    entries = [{"id": v.stem, "video": str(v), "n_clips": count_clips(v, FPS, CLIP_FRAMES)}
               for v in videos]
    folder.mkdir(parents=True, exist_ok=True)
    config = {"fps": FPS, "clip_frames": CLIP_FRAMES, "min_last_clip": 0.5}
    (folder / "manifest.json").write_text(json.dumps({"config": config, "videos": entries}))
    return folder


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Clock:
    """Wall time and CPU time (this process + its finished children, e.g. DataLoader workers):
    CPU seconds per clip do not change when other programs share the machine, wall time does."""

    def __enter__(self) -> Clock:
        self.wall = time.perf_counter()
        self.cpu = self._cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = self._cpu() - self.cpu

    @staticmethod
    def _cpu() -> float:
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def forward_only(backbone, config: FeaturesConfig, clips: torch.Tensor,
                 device: torch.device) -> Clock:
    """Preprocess + forward on clips already decoded (the stage's batch size), including the
    copy of the uint8 clips to the device and of the features back."""
    precision = resolve_precision(config.precision, device, config.size)
    with torch.inference_mode(), _autocast(device, precision):
        backbone.forward_features(backbone.preprocess(clips[: config.batch_size]))  # warm up
        _sync(device)
        with Clock() as clock:
            for i in range(0, len(clips), config.batch_size):
                x = backbone.preprocess(clips[i : i + config.batch_size])
                backbone.forward_features(x).float().cpu()
            _sync(device)
    return clock


def throughput(work: Path, config: FeaturesConfig, seconds: float, n_videos: int,
               device: torch.device) -> None:
    videos = [make_video(work / f"tp{i}.mp4", seconds / n_videos) for i in range(n_videos)]
    segments = write_segments(work / "segments_tp", videos)
    with Clock() as decode:
        clips = [c for v in videos for c in iter_clips(v, FPS, CLIP_FRAMES, size=config.size)]
    clips = torch.from_numpy(np.stack(clips))
    n = len(clips)
    backbone = build_backbone(config.backbone, config.weights, config.size, str(device))
    before = forward_only(backbone, config, clips, device)
    with Clock() as stage:
        report = run_features(segments, work / "features_tp", config, shard=(0, 1),
                              device=str(device), backbone=backbone, progress=False)
    after = forward_only(backbone, config, clips, device)
    assert not report.skipped, report.to_list()
    fwd_wall = 2 * n / (before.wall + after.wall)
    fwd_cpu = (before.cpu + after.cpu) / (2 * n)
    load = os.getloadavg()[0]
    print(f"\n{n} clips ({seconds:.0f} s of 640x360 H.264 in {n_videos} files), {config.backbone} "
          f"{config.size}px, batch {config.batch_size}, {config.workers} decoding worker(s), "
          f"{resolve_precision(config.precision, device, config.size)} on {device}, "
          f"{torch.get_num_threads()} torch threads; load average {load:.1f}")
    print(f"  decode only (iter_clips, 1 process):  {n / decode.wall:7.2f} clips/s   "
          f"{decode.cpu / n:6.3f} CPU s/clip")
    print(f"  forward only (pre-decoded tensors):   {fwd_wall:7.2f} clips/s   "
          f"{fwd_cpu:6.3f} CPU s/clip  (before {n / before.wall:.2f}, after {n / after.wall:.2f})")
    print(f"  end to end from mp4 files (stage):    {n / stage.wall:7.2f} clips/s   "
          f"{stage.cpu / n:6.3f} CPU s/clip (main + workers)")
    print(f"  ratio end-to-end / forward-only:      {n / stage.wall / fwd_wall:7.3f}   "
          "(wall clock; target >= 0.9)")
    print(f"  CPU per clip, forward-only / e2e:     {fwd_cpu / (stage.cpu / n):7.3f}   "
          "(the share of the stage's CPU that is the network)")


def _child_extract(video: str, out: str, size: int, workers: int, weights: str) -> None:
    """Run in a fresh subprocess: the stage on one video, sampling the resident memory of this
    process and its decoding workers every 20 ms; prints the peaks (MiB) as JSON.

    (Sampled rather than ``ru_maxrss``: Linux carries the parent's high-water mark across
    fork+exec, so a child's ``ru_maxrss`` starts at the size of the benchmark process.)"""
    import threading

    import psutil

    me = psutil.Process()
    peaks = {"main_mib": 0.0, "workers_mib": 0.0, "total_mib": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            main = me.memory_info().rss / 2**20
            kids = 0.0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    kids += child.memory_info().rss / 2**20
            for key, value in (("main_mib", main), ("workers_mib", kids),
                               ("total_mib", main + kids)):
                peaks[key] = max(peaks[key], value)
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    segments = write_segments(Path(out) / "segments", [Path(video)])
    config = FeaturesConfig(size=size, batch_size=8, workers=workers,
                            weights=weights if weights != "default" else None)
    run_features(segments, Path(out) / "features", config, shard=(0, 1), progress=False)
    stop.set()
    sampler.join()
    print(json.dumps(peaks))


def memory(work: Path, size: int, minutes: tuple[float, ...], workers: int,
           weights: str | None) -> None:
    print(f"\npeak RSS of the features stage on one video ({size}px, batch 8, "
          f"{workers} worker(s)):")
    results = []
    for m in minutes:
        video = make_video(work / f"long_{m:g}min.mp4", m * 60, width=320, height=180)
        out = work / f"mem_{m:g}"
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(video), str(out), str(size), str(workers),
             weights or "default"],
            capture_output=True, text=True, check=True,
        )
        peak = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(peak["total_mib"])
        clips = count_clips(video, FPS, CLIP_FRAMES)
        print(f"  {m:4g} min ({clips:4d} clips): peak RSS main {peak['main_mib']:6.1f} MiB, "
              f"workers {peak['workers_mib']:6.1f} MiB, together {peak['total_mib']:6.1f} MiB "
              f"({time.perf_counter() - start:.0f} s)")
    print(f"  ratio longest / shortest: {results[-1] / results[0]:.3f}   (target <= 1.2; a "
          "worker's RSS counts pages it shares with the main process, so 'together' is high)")


def table(weights: str | None) -> None:
    print("\nI3D forward only, batch of 4 clips x 30 frames, clips/s (wall) and CPU s/clip "
          f"({torch.get_num_threads()} torch threads, load average {os.getloadavg()[0]:.1f}):")
    for size in (112, 224):
        x = torch.randn(4, 3, CLIP_FRAMES, size, size)
        backbone = build_backbone("i3d", weights=weights, size=size)
        row, outputs = [], []
        for precision in ("fp32", "bf16"):
            with torch.inference_mode(), _autocast(torch.device("cpu"), precision):
                outputs.append(backbone.forward_features(x).float())
                n, start = 0, time.perf_counter()
                with Clock() as clock:
                    while n < 8 or time.perf_counter() - start < 10:
                        backbone.forward_features(x)
                        n += len(x)
                row.append((n / clock.wall, clock.cpu / n))
        (w32, c32), (w16, c16) = row
        cosine = torch.nn.functional.cosine_similarity(*outputs, dim=1).min().item()
        print(f"  {size} px: fp32 {w32:5.2f} clips/s {c32:6.3f} CPU s/clip   bf16 {w16:5.2f} "
              f"clips/s {c16:6.3f} CPU s/clip   bf16 speed-up (CPU time) {c32 / c16:.2f}   "
              f"features' cosine bf16 vs fp32 (min) {cosine:.5f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        video, out, size, workers, weights = sys.argv[2:7]
        _child_extract(video, out, int(size), int(workers), weights)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="i3d")
    parser.add_argument("--weights", help="backbone weights ('random': untrained, same speed)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--seconds", type=float, default=60.0, help="video for the throughput")
    parser.add_argument("--videos", type=int, default=3, help="files the seconds are split into")
    parser.add_argument("--minutes", default="1,10", help="video lengths for the RSS test")
    parser.add_argument("--mem-size", type=int, default=64, help="input size for the RSS test")
    parser.add_argument("--quick", action="store_true", help="20 s throughput, 0.5 vs 3 min RSS")
    parser.add_argument("--table", action="store_true", help="also fp32/bf16 x 112/224 table")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.minutes = 20.0, "0.5,3"
    config = FeaturesConfig(backbone=args.backbone, weights=args.weights, size=args.size,
                            batch_size=args.batch_size, workers=args.workers,
                            precision=args.precision)
    device = torch.device(args.device)
    print(f"CPU: {os.cpu_count()} cores; torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="bench_extraction_") as tmp:
        work = Path(tmp)
        throughput(work, config, args.seconds, args.videos, device)
        minutes = tuple(float(m) for m in args.minutes.split(","))
        if device.type == "cpu":
            memory(work, args.mem_size, minutes, args.workers, args.weights)
    if args.table:
        table(args.weights)


if __name__ == "__main__":
    main()
