"""Augmented views of clips, for feature extraction: crop-and-scale, speed jitter, flip.

View ``k >= 1`` of clip ``i`` of a video is a pure function of ``(k, video id, i)``, so a killed
extraction resumes with the same views and two runs agree. A view keeps what a clip shows and
does (a random square crop of at least ``min_scale`` of the side, resized back; the clip played
up to ``speed`` faster or slower about its middle frame) and changes how it looks, so the same
action can map to several visual words. Horizontal flips are off by default: they turn the
built-in data's "push" into "pull" (and left into right in most kitchens' narration).
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import torch
import torch.nn.functional as F


@dataclasses.dataclass(frozen=True)
class ViewSpec:
    index: int  # >= 1
    min_scale: float = 0.7
    speed: float = 0.2
    flip: bool = False

    def rng(self, video_id: str, clip: int) -> np.random.Generator:
        return np.random.default_rng([self.index, zlib.crc32(video_id.encode()), clip])

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def speed_indices(n_frames: int, factor: float) -> np.ndarray:
    """Frame indices that play ``n_frames`` at ``factor`` x speed about the middle frame (edge
    frames repeat where the faster clip runs out)."""
    middle = (n_frames - 1) / 2
    return np.clip(np.round(middle + (np.arange(n_frames) - middle) * factor), 0,
                   n_frames - 1).astype(np.int64)


def augment_clip(clip: np.ndarray, spec: ViewSpec, video_id: str, index: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> the same shape: ``spec``'s view of clip ``index`` of ``video_id``."""
    rng = spec.rng(video_id, index)
    t, h, w, _ = clip.shape
    factor = float(rng.uniform(1 - spec.speed, 1 + spec.speed))
    scale = float(rng.uniform(spec.min_scale, 1.0))
    side_h, side_w = max(1, round(h * scale)), max(1, round(w * scale))
    top = int(rng.integers(0, h - side_h + 1))
    left = int(rng.integers(0, w - side_w + 1))
    flip = spec.flip and bool(rng.random() < 0.5)
    frames = clip[speed_indices(t, factor), top:top + side_h, left:left + side_w]
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    if (side_h, side_w) != (h, w):
        x = F.interpolate(x, (h, w), mode="bilinear", antialias=True, align_corners=False)
    if flip:
        x = x.flip(-1)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
