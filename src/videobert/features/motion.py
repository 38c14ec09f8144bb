"""A motion stream beside the appearance network: histograms of dense optical flow per clip.

Why: an RGB network's clip feature ties the motion to the object that moves. On the built-in
data a linear probe reads the verbs of verb-noun pairs never seen in training from I3D at 0.45,
and from these flow histograms at 0.97 (docs/benchmarks.md, "A motion stream"): what an object
does is then readable apart from what it is, as in two-stream networks and the HOF descriptors
of dense trajectories.

``features.motion = "flow"`` appends ``FLOW_DIM`` numbers to each clip's row: Farnebäck flow
(OpenCV) between consecutive frames of the clip, at ``FLOW_SIZE`` pixels, summarised in
``SEGMENTS`` equal parts of the clip by (a) a histogram of flow directions weighted by flow
magnitude over the whole frame, (b) the same in each cell of a 2 x 2 grid, and (c) sums of
positive and negative divergence and curl (growing, shrinking, turning), of the two stretch
components and of the magnitude. The result is square-rooted (power normalisation, as HOF was
used), so that no one large motion dominates. The features manifest records the split as
``blocks`` (e.g. ``[1024, 144]``), and every normalisation treats the blocks apart
(``visual_words.stage.normalize_features``).
"""

from __future__ import annotations

import numpy as np
import torch

SEGMENTS = 3  # equal parts of a clip, so the descriptor keeps the order of what happens
GRID = 2  # cells per side
BINS = 8  # flow directions
_PER_SEGMENT = BINS + GRID * GRID * BINS + 8
FLOW_DIM = SEGMENTS * _PER_SEGMENT  # 144
# Side in pixels the flow is computed at, whatever the network's: on the built-in data the flow
# at 56 px reads the verbs as well as at 112 (probe 0.863 both) in a fifth of the time (23 s
# against 107 s for 1,107 clips; bench/cheap_features.py, docs/benchmarks.md).
FLOW_SIZE = 56


def _cv2():
    try:
        import cv2
    except ImportError as exc:  # pragma: no cover - the lock installs it
        raise ImportError(
            "features.motion=flow needs OpenCV: pip install 'videobert[motion]' "
            "(opencv-python-headless)"
        ) from exc
    return cv2


def optical_flow(clip: np.ndarray, size: int | None = FLOW_SIZE) -> np.ndarray:
    """Farnebäck flow between consecutive frames: uint8 (T, H, W, 3) RGB -> (T-1, h, w, 2),
    frames larger than ``size`` x ``size`` shrunk to it first (None: as they are)."""
    cv2 = _cv2()
    gray = [cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY) for f in clip]
    if size is not None and max(clip.shape[1:3]) > size:
        gray = [cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in gray]
    return np.stack([
        cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
        for a, b in zip(gray[:-1], gray[1:], strict=True)
    ])


def flow_descriptor(clip: np.ndarray, size: int | None = FLOW_SIZE) -> np.ndarray:
    """The motion stream of one clip: uint8 (T, H, W, 3) RGB -> float32 (FLOW_DIM,), the flow
    computed at ``size`` px (``optical_flow``)."""
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
        raise ValueError(f"expected a uint8 clip (T, H, W, 3), got {clip.dtype} {clip.shape}")
    if len(clip) < 2:
        return np.zeros(FLOW_DIM, np.float32)
    flow = optical_flow(clip, size).astype(np.float64)  # (P, H, W, 2), P frame pairs
    fx, fy = flow[..., 0], flow[..., 1]
    mag = np.hypot(fx, fy)
    direction = np.floor(np.arctan2(fy, fx) % (2 * np.pi) / (2 * np.pi) * BINS).astype(np.int64)
    direction %= BINS
    P, H, W = mag.shape
    cell = ((np.arange(H) * GRID // H)[:, None] * GRID + (np.arange(W) * GRID // W)[None, :])
    dfx_dx, dfx_dy = np.gradient(fx, axis=2), np.gradient(fx, axis=1)
    dfy_dx, dfy_dy = np.gradient(fy, axis=2), np.gradient(fy, axis=1)
    div, curl = dfx_dx + dfy_dy, dfy_dx - dfx_dy
    per_pair = np.stack([  # (P, 8) sums over each frame pair
        div.clip(0).sum((1, 2)), (-div).clip(0).sum((1, 2)),
        curl.clip(0).sum((1, 2)), (-curl).clip(0).sum((1, 2)),
        np.abs(dfx_dx).sum((1, 2)), np.abs(dfy_dy).sum((1, 2)),
        mag.sum((1, 2)), np.sqrt((mag ** 2).sum((1, 2))),
    ], 1)
    parts = []
    for pairs in np.array_split(np.arange(P), SEGMENTS):
        d, m = direction[pairs], mag[pairs]
        whole = np.bincount(d.ravel(), weights=m.ravel(), minlength=BINS)
        cells = np.bincount((cell[None] * BINS + d).ravel(), weights=m.ravel(),
                            minlength=GRID * GRID * BINS)
        parts += [whole, cells, per_pair[pairs].sum(0)]
    return np.sqrt(np.maximum(np.concatenate(parts), 0.0)).astype(np.float32)


class WithMotion:
    """A network backbone plus the flow stream; implements ``Backbone``. Its rows are the
    network's feature followed by ``flow_descriptor`` (``blocks``: the two widths)."""

    def __init__(self, network) -> None:
        self.network = network
        self.name = f"{network.name}+flow"
        self.weights, self.size = network.weights, network.size
        self.frame_stride = network.frame_stride
        self.dim = network.dim + FLOW_DIM
        self.blocks = [network.dim, FLOW_DIM]

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Keeps the uint8 clips: the flow is computed on them, the network's input from them."""
        from videobert.features.backbones import uint8_clips

        return uint8_clips(clips)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        appearance = self.network.forward_features(self.network.preprocess(x))
        motion = torch.from_numpy(np.stack([flow_descriptor(c) for c in x.cpu().numpy()]))
        return torch.cat([appearance.float(), motion.to(appearance.device)], 1)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.network.logits(self.network.preprocess(x))
