"""Compose the frames of one video: textured background and the acting object; optionally
(off by default, ``SHOW_DISTRACTORS`` and ``JITTER_PX``) slow distractors and camera jitter.

Everything is drawn on a canvas ``MARGIN`` pixels larger than the frame on each side; the
camera jitter is an integer crop offset into it, so the whole picture (background, distractors
and object) shifts together, as when a hand-held camera wobbles.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np
from PIL import Image, ImageDraw

from videobert.synth.nouns import draw_noun
from videobert.synth.plan import VideoPlan
from videobert.synth.verbs import REST, Pose, pose

MARGIN = 6  # canvas border beyond the frame, in pixels; > the largest jitter
# What the demo's backbone (I3D at 112 px) can see. A larger object and no clutter: with
# 0.35 / 0.28, 1-3 drifting shapes and a 2.5 px camera shake, pretraining read the nouns of
# unseen pairs less well (noun top-1 over six seeds, docs/benchmarks.md "Built-in data").
JITTER_PX = 0.0  # camera shake amplitude, in pixels (0: a still camera)
SHOW_DISTRACTORS = False  # the 1-3 slowly drifting shapes of each video
SPRITE_SCALE = 0.5  # object side as a share of the frame's short side
REACH = 0.35  # travel of translation verbs as a share of the frame's short side


# ---------------------------------------------------------------------------------------------
# Backgrounds: muted, so that every object stays visible on them.


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled bilinearly."""
    grid = rng.random((cells + 1, cells + 1)).astype(np.float32)
    img = Image.fromarray((grid * 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255


def _muted_colour(rng: np.random.Generator, lo: float, hi: float) -> np.ndarray:
    base = rng.uniform(lo, hi)
    return np.clip(base + rng.uniform(-25, 25, size=3), 0, 255).astype(np.float32)


def background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A textured ``(h, w, 3)`` uint8 background: wood, tiles, cloth or a noisy gradient."""
    kind = int(rng.integers(4))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 0:  # wood grain: warped stripes
        warm = np.array([18.0, 4.0, -18.0], np.float32)  # wood tones, still muted
        c0, c1 = _muted_colour(rng, 90, 140) + warm, _muted_colour(rng, 60, 100) + warm
        # Mostly horizontal grain: a gentle large-scale warp plus fine fibres.
        warp = 1.5 * _smooth_noise(rng, h, w, 3) + 0.25 * _smooth_noise(rng, h, w, 30)
        freq = rng.uniform(0.05, 0.1)
        t = 0.5 + 0.5 * np.sin((yy * freq + warp) * np.pi)
    elif kind == 1:  # tiles with grout lines
        c0, c1 = _muted_colour(rng, 120, 170), _muted_colour(rng, 80, 120)
        side = int(rng.integers(14, 26))
        t = 0.5 * (((yy // side) + (xx // side)) % 2).astype(np.float32)  # low contrast
        t = np.where((yy % side < 1.5) | (xx % side < 1.5), 1.0, t)  # grout lines
    elif kind == 2:  # cloth: fine noise over coarse noise
        c0, c1 = _muted_colour(rng, 100, 150), _muted_colour(rng, 60, 110)
        t = 0.6 * _smooth_noise(rng, h, w, 10) + 0.4 * _smooth_noise(rng, h, w, 40)
    else:  # gradient with grain
        c0, c1 = _muted_colour(rng, 110, 170), _muted_colour(rng, 50, 100)
        angle = rng.uniform(0, 2 * np.pi)
        t = (xx * np.cos(angle) + yy * np.sin(angle)) / max(h, w)
        t = (t - t.min()) / max(float(np.ptp(t)), 1e-6)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    img += rng.normal(0, 4, size=img.shape).astype(np.float32)  # sensor grain
    return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Distractors: plain shapes drifting slowly, bouncing off the canvas edges.


@dataclasses.dataclass
class Distractor:
    sprite: np.ndarray  # (s, s, 4) uint8
    x0: float
    y0: float
    vx: float
    vy: float

    def position(self, t: float, w: int, h: int) -> tuple[float, float]:
        """Top-left corner at time ``t``: straight motion folded back at the edges."""
        s = self.sprite.shape[0]

        def fold(p: float, span: float) -> float:
            p = p % (2 * span)
            return p if p <= span else 2 * span - p

        return fold(self.x0 + self.vx * t, w - s), fold(self.y0 + self.vy * t, h - s)


def _distractor(rng: np.random.Generator, h: int, w: int) -> Distractor:
    s = int(rng.uniform(0.08, 0.14) * min(h, w))
    big = s * 4
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    colour = tuple(int(c) for c in _muted_colour(rng, 70, 190)) + (255,)
    shape = int(rng.integers(4))
    if shape == 0:
        d.ellipse([2, 2, big - 3, big - 3], fill=colour)
    elif shape == 1:
        d.rectangle([4, 4, big - 5, big - 5], fill=colour)
    elif shape == 2:
        d.polygon([(big / 2, 2), (big - 3, big - 3), (2, big - 3)], fill=colour)
    else:
        d.ellipse([2, 2, big - 3, big - 3], outline=colour, width=big // 6)
    small = img.convert("RGBa").resize((s, s), Image.Resampling.LANCZOS)
    sprite = np.asarray(small.convert("RGBA"))
    # Start near the left or right border, away from the acting object in the middle.
    x0 = rng.uniform(0, 0.2 * w) if rng.random() < 0.5 else rng.uniform(0.7 * w, w - s)
    speed, heading = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)  # px / s: slow
    return Distractor(
        sprite, x0, rng.uniform(0, h - s), speed * math.cos(heading), speed * math.sin(heading)
    )


# ---------------------------------------------------------------------------------------------
# Compositing.


def paste(canvas: np.ndarray, rgba: np.ndarray, left: int, top: int) -> None:
    """Alpha-blend ``rgba`` (premultiplied is not assumed) onto ``canvas`` in place, clipped."""
    h, w = canvas.shape[:2]
    ph, pw = rgba.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + pw, w), min(top + ph, h)
    if x0 >= x1 or y0 >= y1:
        return
    src = rgba[y0 - top : y1 - top, x0 - left : x1 - left].astype(np.float32)
    alpha = src[..., 3:] / 255.0
    dst = canvas[y0:y1, x0:x1].astype(np.float32)
    canvas[y0:y1, x0:x1] = (dst * (1 - alpha) + src[..., :3] * alpha + 0.5).astype(np.uint8)


def transform_sprite(sprite: np.ndarray, p: Pose) -> tuple[np.ndarray, int, int]:
    """Apply a pose's rotation, scale, split and sub-pixel offset to ``sprite``.

    Returns an RGBA patch twice the sprite's side and the integer offset of its centre from
    the sprite's rest centre, so the caller pastes it at ``rest_centre + offset - side``.
    """
    s = sprite.shape[0]
    side = 2 * s
    ix, iy = math.floor(p.dx), math.floor(p.dy)
    cx, cy = side / 2 + (p.dx - ix), side / 2 + (p.dy - iy)  # output centre, sub-pixel
    sx = math.copysign(max(abs(p.sx), 0.05), p.sx)
    sy = max(p.sy, 0.05)
    c, sn = math.cos(math.radians(p.angle)), math.sin(math.radians(p.angle))
    # Inverse map (output -> sprite pixel): undo rotation (counter-clockwise on screen), then scale.
    a, b = c / sx, -sn / sx
    d, e = sn / sy, c / sy
    coeffs = (a, b, s / 2 - a * cx - b * cy, d, e, s / 2 - d * cx - e * cy)
    img = Image.fromarray(sprite, "RGBA").convert("RGBa")
    out = img.transform((side, side), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
    patch = np.asarray(out.convert("RGBA"))
    if p.split > 0.5:
        half, gap = side // 2, int(round(p.split / 2))
        moved = np.zeros_like(patch)
        moved[:, : half - gap] = patch[:, gap:half]  # left half moves left
        moved[:, half + gap :] = patch[:, half : side - gap]  # right half moves right
        patch = moved
    return patch, ix, iy


@dataclasses.dataclass
class Scene:
    """The fixed parts of one video: canvas background, distractors, camera path, object spot."""

    width: int
    height: int
    fps: float
    canvas: np.ndarray  # (H + 2 MARGIN, W + 2 MARGIN, 3) uint8
    distractors: list[Distractor]
    jitter: np.ndarray  # (n_frames, 2) int crop offsets (x, y) in [0, 2 MARGIN]
    centre: tuple[float, float]  # object rest centre on the canvas
    sprite_side: int
    brightness: float

    @classmethod
    def build(
        cls, rng: np.random.Generator, width: int, height: int, fps: float, n_frames: int
    ) -> Scene:
        ch, cw = height + 2 * MARGIN, width + 2 * MARGIN
        canvas = background(rng, ch, cw)
        # drawn even when hidden, so that hiding them changes nothing else in a video
        drawn = [_distractor(rng, ch, cw) for _ in range(int(rng.integers(1, 4)))]
        distractors = drawn if SHOW_DISTRACTORS else []
        t = np.arange(n_frames) / fps
        path = np.zeros((n_frames, 2))
        if JITTER_PX > 0:  # a still camera draws no path
            for axis in range(2):  # two slow sines per axis: a hand-held wobble
                for amp in (0.6, 0.4):
                    f, ph = rng.uniform(0.2, 0.8), rng.uniform(0, 2 * np.pi)
                    path[:, axis] += amp * JITTER_PX * np.sin(2 * np.pi * f * t + ph)
        jitter = np.clip(np.round(path) + MARGIN, 0, 2 * MARGIN).astype(np.int64)
        short = min(width, height)
        centre = (
            cw / 2 + rng.uniform(-0.04, 0.04) * width,
            ch / 2 + rng.uniform(-0.04, 0.04) * height,
        )
        return cls(
            width,
            height,
            fps,
            canvas,
            distractors,
            jitter,
            centre,
            sprite_side=int(round(SPRITE_SCALE * short * rng.uniform(0.92, 1.08))),
            brightness=float(rng.uniform(0.9, 1.1)),
        )

    @property
    def reach(self) -> float:
        return REACH * min(self.width, self.height)

    def sprite(self, noun: str) -> np.ndarray:
        return draw_noun(noun, self.sprite_side, self.brightness)

    def frame(self, index: int, sprite: np.ndarray, p: Pose) -> np.ndarray:
        """Frame ``index`` (H, W, 3) uint8 with ``sprite`` in pose ``p``."""
        t = index / self.fps
        canvas = self.canvas.copy()
        ch, cw = canvas.shape[:2]
        for d in self.distractors:
            x, y = d.position(t, cw, ch)
            paste(canvas, d.sprite, int(round(x)), int(round(y)))
        patch, ix, iy = transform_sprite(sprite, p)
        half = patch.shape[0] // 2
        paste(
            canvas,
            patch,
            int(round(self.centre[0])) + ix - half,
            int(round(self.centre[1])) + iy - half,
        )
        ox, oy = self.jitter[index]
        return canvas[oy : oy + self.height, ox : ox + self.width]


def render_frames(plan: VideoPlan, width: int, height: int, seed: int) -> Iterator[np.ndarray]:
    """Yield the ``plan.n_frames`` RGB frames of a planned video."""
    rng = np.random.default_rng([seed, plan.index, 1])
    scene = Scene.build(rng, width, height, plan.fps, plan.n_frames)
    sprites = {noun: scene.sprite(noun) for noun in set(plan.rest_noun)}
    k = 0  # the step now on screen (or coming next)
    for i in range(plan.n_frames):
        t = i / plan.fps
        while k + 1 < len(plan.steps) and t >= plan.steps[k].end:
            k += 1
        step = plan.steps[k]
        inside = step.start <= t < step.end
        p = REST
        if inside:
            p = pose(step.verb, t - step.start, step.period, scene.reach, scene.sprite_side)
        yield scene.frame(i, sprites[step.noun], p)
