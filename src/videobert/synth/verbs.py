"""The verbs of the synthetic dataset: each is a motion of the object over time.

A step repeats its verb's action in cycles of ``period`` seconds (1.2-1.6 s, so every 1.5 s clip
holds most of a cycle whatever its phase). Every cycle starts from the rest pose, and the
translation verbs snap back to rest between cycles ("the hand puts it back"), so the first frame
of a step looks the same for every verb: only motion over time tells the verbs apart.

A pose is relative to the object's rest position: offsets in pixels, rotation in degrees
(counter-clockwise on screen), scale per axis (negative ``sx`` = mirrored), and ``split``: the
gap in pixels between the two halves of a cut object.
"""

from __future__ import annotations

import dataclasses
import math

VERBS: tuple[str, ...] = (
    "lift",  # rises smoothly, slowing at the top
    "drop",  # rests, then falls fast (accelerating) and bounces a little
    "push",  # slides to the right
    "pull",  # slides to the left
    "roll",  # travels right while rotating like a wheel
    "spin",  # rotates in place
    "shake",  # oscillates left-right quickly, with a wobble
    "squeeze",  # flattens and widens, then springs back
    "flip",  # turns over about the vertical axis (mirror image), with a small hop
    "cut",  # splits into two halves that move apart
)


@dataclasses.dataclass(frozen=True)
class Pose:
    dx: float = 0.0
    dy: float = 0.0
    angle: float = 0.0
    sx: float = 1.0
    sy: float = 1.0
    split: float = 0.0


REST = Pose()


def _ramp(u: float, start: float, end: float) -> float:
    """0 before ``start``, 1 after ``end``, linear in between."""
    return min(max((u - start) / (end - start), 0.0), 1.0)


def _smooth(x: float) -> float:
    return x * x * (3 - 2 * x)


def pose(verb: str, t: float, period: float, reach: float, size: float) -> Pose:
    """Pose of the object ``t`` seconds into a ``verb`` step.

    ``reach`` is the travel of the translation verbs in pixels; ``size`` the sprite side in pixels.
    """
    if t < 0:
        return REST
    u = (t % period) / period  # phase within the current cycle
    if verb == "lift":
        x = _ramp(u, 0.0, 0.7)
        return Pose(dy=-reach * (1 - (1 - x) ** 2))
    if verb == "drop":
        x = _ramp(u, 0.3, 0.62)
        dy = reach * x * x
        if u > 0.62:  # a small bounce after landing
            dy -= 0.12 * reach * math.sin(math.pi * _ramp(u, 0.62, 0.8))
        return Pose(dy=dy)
    if verb == "push":
        return Pose(dx=reach * _smooth(_ramp(u, 0.0, 0.75)))
    if verb == "pull":
        return Pose(dx=-reach * _smooth(_ramp(u, 0.0, 0.75)))
    if verb == "roll":
        dx = reach * _ramp(u, 0.0, 0.8)
        return Pose(dx=dx, angle=-math.degrees(dx / (0.45 * size)))  # clockwise, as it rolls
    if verb == "spin":
        return Pose(angle=360.0 * t / period)
    if verb == "shake":
        w = 2 * math.pi * 3.0 * t  # 3 Hz
        return Pose(dx=0.2 * reach * math.sin(w), angle=10.0 * math.sin(w))
    if verb == "squeeze":
        s = 0.5 * (1 - math.cos(2 * math.pi * u))
        sy = 1 - 0.5 * s
        return Pose(sx=1 + 0.4 * s, sy=sy, dy=(1 - sy) * size / 2)  # bottom stays on the table
    if verb == "flip":
        return Pose(sx=math.cos(math.pi * t / period), dy=-0.25 * reach * math.sin(math.pi * u))
    if verb == "cut":
        return Pose(split=0.5 * size * _smooth(_ramp(u, 0.2, 0.7)))
    raise ValueError(f"unknown verb {verb!r}; known: {', '.join(VERBS)}")
