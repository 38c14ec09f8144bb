"""The flow stream (features.motion=flow): what the descriptor measures, and the blocks it
makes every normalisation treat apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videobert.features.backbones import build_backbone
from videobert.features.extract import forward_clips
from videobert.features.motion import (
    BINS,
    FLOW_DIM,
    FLOW_SIZE,
    WithMotion,
    flow_descriptor,
    optical_flow,
)
from videobert.visual_words.stage import normalize_features

SIDE = 56  # FLOW_SIZE: the descriptor sees these clips as they are


def _clip(dx: int = 0, dy: int = 0, grow: int = 0, frames: int = 12) -> np.ndarray:
    """A textured square on a dark background, moving (dx, dy) px or growing per frame."""
    rng = np.random.default_rng(0)
    texture = rng.integers(120, 255, (SIDE, SIDE, 3), dtype=np.uint8)
    clip = np.zeros((frames, SIDE, SIDE, 3), np.uint8)
    for t in range(frames):
        half = 8 + grow * t
        cy, cx = SIDE // 2 + dy * (t - frames // 2), SIDE // 2 + dx * (t - frames // 2)
        clip[t, cy - half: cy + half, cx - half: cx + half] = texture[: 2 * half, : 2 * half]
    return clip


def test_the_descriptor_is_a_non_negative_vector_of_fixed_width():
    d = flow_descriptor(_clip(dx=1))
    assert d.shape == (FLOW_DIM,) and d.dtype == np.float32
    assert np.isfinite(d).all() and (d >= 0).all()


def _heading(descriptor: np.ndarray) -> float:
    """Degrees of the mean direction of the first part's whole-frame histogram."""
    centres = (np.arange(BINS) + 0.5) * 2 * np.pi / BINS
    h = descriptor[:BINS] ** 2  # undo the square root: magnitude sums
    return float(np.degrees(np.arctan2((h * np.sin(centres)).sum(),
                                       (h * np.cos(centres)).sum())) % 360)


def _near(angle: float, target: float, tolerance: float = 30.0) -> bool:
    return abs((angle - target + 180) % 360 - 180) < tolerance


def test_a_still_clip_has_no_motion():
    assert np.allclose(flow_descriptor(_clip()), 0.0, atol=1e-2)


def test_the_direction_histogram_follows_the_motion():
    right, left = flow_descriptor(_clip(dx=2)), flow_descriptor(_clip(dx=-2))
    down = flow_descriptor(_clip(dy=2))
    assert _near(_heading(right), 0)  # +x
    assert _near(_heading(left), 180)
    assert _near(_heading(down), 90)  # +y: image rows grow downwards


def test_the_stretch_sums_tell_growing_from_sliding():
    """|dfx/dx| and |dfy/dy|: a growing object stretches the flow both ways, one sliding
    sideways only along x (its edges move, its top and bottom do not)."""
    per_part = FLOW_DIM // 3
    stretch = slice(per_part - 4, per_part - 2)  # of the first part's 8 sums
    grow_x, grow_y = flow_descriptor(_clip(grow=1))[stretch]
    slide_x, slide_y = flow_descriptor(_clip(dx=2))[stretch]
    assert slide_y < 0.1 * slide_x
    assert 0.5 < grow_y / grow_x < 2.0


def test_bad_clips_are_refused():
    with pytest.raises(ValueError, match="uint8 clip"):
        flow_descriptor(np.zeros((4, 8, 8), np.uint8))
    assert np.all(flow_descriptor(np.zeros((1, 8, 8, 3), np.uint8)) == 0)


def test_each_block_is_normalised_apart_and_weighs_the_same():
    rng = np.random.default_rng(1)
    x = np.concatenate([100 * rng.normal(size=(5, 6)), rng.normal(size=(5, 3))], 1)
    x = x.astype(np.float32)
    mean = x.mean(0)
    out = normalize_features(x, "center_l2", mean, blocks=[6, 3])
    np.testing.assert_allclose(np.linalg.norm(out[:, :6], axis=1), 0.5 ** 0.5, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out[:, 6:], axis=1), 0.5 ** 0.5, rtol=1e-5)
    # one block: as before
    np.testing.assert_allclose(normalize_features(x, "l2", blocks=[9]),
                               normalize_features(x, "l2"))
    with pytest.raises(ValueError, match="do not add up"):
        normalize_features(x, "l2", blocks=[6, 4])


def test_the_backbone_with_motion_appends_the_flow_to_the_network_rows():
    network = build_backbone("i3d", weights="random", size=SIDE)
    both = WithMotion(network)
    assert both.name == "i3d+flow" and both.dim == network.dim + FLOW_DIM
    assert both.blocks == [network.dim, FLOW_DIM]
    clips = np.stack([_clip(dx=2, frames=8), _clip(grow=1, frames=8)])
    cpu = torch.device("cpu")
    with torch.inference_mode():  # as the stage and the API run it
        rows = forward_clips(both, torch.from_numpy(clips), cpu, "fp32")
        alone = forward_clips(network, torch.from_numpy(clips), cpu, "fp32")
    np.testing.assert_allclose(rows[:, : network.dim], alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rows[:, network.dim:], np.stack([flow_descriptor(c)
                                                                for c in clips]), rtol=1e-6)
    assert both.frame_stride == network.frame_stride == 1
    with pytest.raises(ValueError, match="unknown motion"):
        build_backbone("i3d", weights="random", size=SIDE, motion="optical")


def test_the_network_can_see_every_other_frame_while_the_flow_sees_all():
    torch.manual_seed(0)
    every = build_backbone("i3d", weights="random", size=SIDE)
    torch.manual_seed(0)
    both = build_backbone("i3d", weights="random", size=SIDE, motion="flow", frame_stride=2)
    assert both.name == "i3d/2+flow" and both.frame_stride == 2
    clips = np.stack([_clip(dx=2, frames=8), _clip(grow=1, frames=8)])
    cpu = torch.device("cpu")
    with torch.inference_mode():
        rows = forward_clips(both, torch.from_numpy(clips), cpu, "fp32")
        alternate = forward_clips(every, torch.from_numpy(clips[:, ::2].copy()), cpu, "fp32")
    np.testing.assert_allclose(rows[:, : every.dim], alternate, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rows[:, every.dim:], np.stack([flow_descriptor(c)
                                                              for c in clips]), rtol=1e-6)
    with pytest.raises(ValueError, match="frame_stride"):
        build_backbone("i3d", weights="random", size=SIDE, frame_stride=0)


def test_the_flow_is_computed_at_a_fixed_small_size():
    """Frames above FLOW_SIZE are shrunk first: a larger copy of a clip moves the same way."""
    clip = _clip(dx=2)
    big = np.repeat(np.repeat(clip, 2, axis=1), 2, axis=2)  # 112 px, same content
    assert optical_flow(big).shape[1:3] == (FLOW_SIZE, FLOW_SIZE)
    assert _near(_heading(flow_descriptor(big)), 0)
    assert optical_flow(big, size=None).shape[1:3] == (2 * SIDE, 2 * SIDE)
