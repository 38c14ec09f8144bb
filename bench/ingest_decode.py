"""Ingest decoding speed: our streaming resample+clip path against plain PyAV decoding.

A 640x360 H.264 video at 30 fps (moving texture, made here with PyAV) is decoded three ways:
- decode only: every frame decoded, none converted (PyAV's ceiling on this machine);
- naive: every frame converted to full-size RGB, then resized to 224 with Pillow;
- ours: ``iter_clips(fps=20, clip_frames=30, size=224)``: only sampled frames are converted,
  at the reduced size, inside the RGB conversion.
Figures are source frames per second (higher is better). The issue's reference on its machine:
~1240 frames/s decode only, ~620 frames/s sampled to 20 fps and resized to 224.

    python bench/ingest_decode.py            # 20 s video
    python bench/ingest_decode.py --seconds 60
    python bench/ingest_decode.py --video ../shared/samples/big_buck_bunny_0_30.webm
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from videobert.ingest.video import iter_clips


def make_video(path: Path, seconds: float, fps: int = 30, width: int = 640,
               height: int = 360) -> int:
    # smooth blobs with a little grain: closer to camera footage (and its bitrate) than noise
    rng = np.random.default_rng(0)
    blobs = rng.integers(0, 256, (18, 32, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(blobs).resize((width * 2, height * 2), Image.BICUBIC))
    grain = rng.integers(-8, 9, texture.shape)
    texture = np.clip(texture.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    n = int(seconds * fps)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "23"}
        for i in range(n):
            y, x = (i * 3) % height, (i * 5) % width
            rgb = np.ascontiguousarray(texture[y : y + height, x : x + width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return n


def decode_only(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def naive(path: Path) -> int:
    n = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            rgb = frame.to_ndarray(format="rgb24")
            Image.fromarray(rgb).resize((398, 224), Image.BILINEAR)
            n += 1
    return n


def ours(path: Path) -> int:
    for _clip in iter_clips(path, fps=20.0, clip_frames=30, size=224):
        pass
    return 0


def timed(fn, path: Path) -> float:
    start = time.perf_counter()
    fn(path)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the test video")
    parser.add_argument("--quick", action="store_true", help="a 10 s video")
    parser.add_argument("--video", type=Path, help="time this file instead of a generated one")
    args, _unknown = parser.parse_known_args()
    seconds = 10.0 if args.quick else args.seconds
    with tempfile.TemporaryDirectory() as tmp:
        if args.video:
            path, n = args.video, decode_only(args.video)
            with av.open(str(path)) as c:
                v = c.streams.video[0]
                print(f"{path.name}: {v.codec_context.name} {v.width}x{v.height}, "
                      f"{float(v.average_rate):.2f} fps, {n} source frames")
        else:
            path = Path(tmp) / "bench.mp4"
            n = make_video(path, seconds)
            kbps = path.stat().st_size * 8 / seconds / 1000
            print(f"640x360 H.264, 30 fps, {kbps:.0f} kb/s, {seconds:g} s = {n} source frames")
        print(f"{os.cpu_count()} CPU cores; PyAV {av.__version__}")
        rows = [("decode only (no RGB)", decode_only, "~1240"),
                ("naive: all frames -> RGB -> resize 224", naive, "-"),
                ("ours: iter_clips(fps=20, size=224)", ours, "~620")]
        print(f"{'method':42s} {'frames/s':>9s} {'reference':>10s}")
        for name, fn, reference in rows:
            fn(path)  # warm caches
            seconds_taken = min(timed(fn, path) for _ in range(2))
            print(f"{name:42s} {n / seconds_taken:9.0f} {reference:>10s}")

if __name__ == "__main__":
    main()
