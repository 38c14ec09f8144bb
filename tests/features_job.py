"""A features run with a tiny deterministic network, as its own process (for kill tests).

``python features_job.py SEGMENTS OUT [--slow SECONDS] [--checkpoint-every N]``: the network
is a seeded 3D convolution, the same in every process, so two runs give the same bytes; prints
``clips seen: N``, the clips the network ran on.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from videobert.config import FeaturesConfig
from videobert.features.backbones import VideoCNN
from videobert.features.extract import run_features

SIZE = 32


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(3, 16, kernel_size=3, stride=2)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3, 4))  # (B, 16)


class Counting(VideoCNN):
    def __init__(self, slow: float) -> None:
        super().__init__("tiny", TinyNet(), "tiny-seed-0", SIZE, (0.5,) * 3, (0.5,) * 3)
        self.dim, self.slow, self.clips_seen = 16, slow, 0

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.slow)  # gives the test time to kill the run mid-video
        self.clips_seen += len(x)
        return super().forward_features(x)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("segments")
    parser.add_argument("out")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--checkpoint-every", type=int, default=4)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    net = Counting(args.slow)
    config = FeaturesConfig(weights=net.weights, size=SIZE, batch_size=2, workers=args.workers,
                            checkpoint_every=args.checkpoint_every)
    run_features(args.segments, args.out, config, backbone=net, progress=False)
    print(f"clips seen: {net.clips_seen}", flush=True)


if __name__ == "__main__":
    main()
