"""The nouns of the synthetic dataset: kitchen objects told apart by appearance alone.

Each noun is drawn with PIL at 4x its final size and downsampled (cheap anti-aliasing) into an
RGBA sprite. Every sprite has something asymmetric (a stem, a leaf, a tail, a wedge) so that
rotations and mirror flips are visible, and a dark outline so it stands out from any background.
All names are single WordPiece tokens of the uncased BERT vocabulary (checked in the tests),
which zero-shot classification needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

NOUNS: tuple[str, ...] = (
    "tomato",
    "lemon",
    "egg",
    "bread",
    "cheese",
    "carrot",
    "onion",
    "potato",
    "apple",
    "banana",
    "fish",
    "mushroom",
)

SUPERSAMPLE = 4
OUTLINE = (40, 30, 25, 255)

Point = tuple[float, float]


class _Pen:
    """ImageDraw in unit coordinates (0..1 across the square canvas), outline width in sprite px."""

    def __init__(self, draw: ImageDraw.ImageDraw, side: int) -> None:
        self.draw = draw
        self.side = side
        self.line_w = max(1, round(SUPERSAMPLE * 1.0))

    def _xy(self, pts: list[Point]) -> list[tuple[float, float]]:
        return [(x * self.side, y * self.side) for x, y in pts]

    def _box(self, x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [x0 * self.side, y0 * self.side, x1 * self.side, y1 * self.side]

    def ellipse(self, box: tuple[float, float, float, float], fill, outline: bool = True) -> None:
        self.draw.ellipse(
            self._box(*box),
            fill=fill,
            outline=OUTLINE if outline else None,
            width=self.line_w if outline else 0,
        )

    def polygon(self, pts: list[Point], fill, outline: bool = True) -> None:
        self.draw.polygon(
            self._xy(pts),
            fill=fill,
            outline=OUTLINE if outline else None,
            width=self.line_w if outline else 0,
        )

    def line(self, pts: list[Point], fill, width: float = 1.0) -> None:
        self.draw.line(self._xy(pts), fill=fill, width=max(1, round(SUPERSAMPLE * width)))

    def pieslice(self, box, start: float, end: float, fill) -> None:
        self.draw.pieslice(
            self._box(*box), start, end, fill=fill, outline=OUTLINE, width=self.line_w
        )


def _blob(
    cx: float, cy: float, rx: float, ry: float, wobble: list[float], n: int = 48
) -> list[Point]:
    """A closed outline of an ellipse whose radius is modulated by low harmonics (lumpy shapes)."""
    pts = []
    for i in range(n):
        a = 2 * math.pi * i / n
        r = 1.0 + sum(w * math.sin((k + 2) * a + k) for k, w in enumerate(wobble))
        pts.append((cx + rx * r * math.cos(a), cy + ry * r * math.sin(a)))
    return pts


def _tomato(p: _Pen) -> None:
    p.ellipse((0.08, 0.16, 0.92, 0.92), (205, 35, 30, 255))
    p.line([(0.30, 0.30), (0.26, 0.62)], (160, 20, 20, 255), 1.0)  # lobe creases
    p.line([(0.70, 0.30), (0.74, 0.62)], (160, 20, 20, 255), 1.0)
    star = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        r = 0.20 if i % 2 == 0 else 0.07
        star.append((0.5 + r * math.cos(a), 0.22 + 0.8 * r * math.sin(a)))
    p.polygon(star, (40, 140, 40, 255))
    p.line([(0.5, 0.20), (0.56, 0.04)], (40, 120, 35, 255), 1.5)  # stem, leaning right
    p.ellipse((0.22, 0.34, 0.36, 0.50), (255, 170, 160, 255), outline=False)  # highlight


def _lemon(p: _Pen) -> None:
    p.ellipse((0.04, 0.42, 0.20, 0.60), (235, 200, 30, 255))  # pointed ends
    p.ellipse((0.82, 0.40, 0.97, 0.56), (235, 200, 30, 255))
    p.ellipse((0.10, 0.24, 0.90, 0.78), (250, 220, 45, 255))
    rng = np.random.default_rng(7)
    for _ in range(14):
        x, y = rng.uniform(0.22, 0.78), rng.uniform(0.34, 0.68)
        p.ellipse((x - 0.012, y - 0.012, x + 0.012, y + 0.012), (215, 180, 20, 255), outline=False)
    p.ellipse((0.92, 0.44, 0.99, 0.52), (90, 140, 40, 255), outline=False)  # green nub, one end
    p.ellipse((0.28, 0.32, 0.44, 0.40), (255, 245, 170, 255), outline=False)


def _egg(p: _Pen) -> None:
    pts = []
    for i in range(64):
        a = 2 * math.pi * i / 64
        x = 0.5 + 0.32 * math.sin(a) * (1.0 - 0.16 * math.cos(a))  # narrower at the top
        y = 0.52 - 0.42 * math.cos(a)
        pts.append((x, y))
    p.polygon(pts, (246, 238, 218, 255))
    for x, y in [(0.40, 0.40), (0.58, 0.52), (0.46, 0.70), (0.62, 0.33), (0.36, 0.60)]:
        p.ellipse((x - 0.018, y - 0.018, x + 0.018, y + 0.018), (170, 130, 90, 255), outline=False)
    p.ellipse((0.33, 0.26, 0.43, 0.40), (255, 255, 255, 255), outline=False)


def _bread(p: _Pen) -> None:
    p.polygon([(0.05, 0.42), (0.95, 0.42), (0.92, 0.86), (0.08, 0.86)], (215, 165, 95, 255))
    p.ellipse((0.05, 0.18, 0.95, 0.62), (170, 105, 45, 255))  # domed crust
    for x in (0.25, 0.45, 0.65):
        p.line([(x, 0.36), (x + 0.12, 0.26)], (235, 200, 140, 255), 2.0)  # scores
    p.line([(0.10, 0.76), (0.90, 0.76)], (190, 140, 75, 255), 1.0)


def _cheese(p: _Pen) -> None:
    p.polygon([(0.06, 0.84), (0.94, 0.84), (0.94, 0.22)], (250, 200, 60, 255))  # wedge
    p.polygon([(0.94, 0.22), (0.94, 0.84), (0.98, 0.80), (0.98, 0.26)], (220, 165, 40, 255))
    for x, y, r in [(0.70, 0.62, 0.07), (0.84, 0.44, 0.05), (0.50, 0.74, 0.05), (0.80, 0.74, 0.04)]:
        p.ellipse((x - r, y - r, x + r, y + r), (205, 150, 35, 255), outline=False)


def _carrot(p: _Pen) -> None:
    for dx, tilt in [(-0.08, -0.10), (0.0, 0.0), (0.08, 0.10)]:
        cx = 0.5 + dx
        p.polygon(
            [
                (cx - 0.04, 0.30),
                (cx + 0.04, 0.30),
                (cx + tilt + 0.02, 0.03),
                (cx + tilt - 0.02, 0.03),
            ],
            (60, 160, 50, 255),
        )
    p.polygon([(0.32, 0.27), (0.68, 0.27), (0.53, 0.97), (0.49, 0.97)], (240, 120, 20, 255))
    for y, w in [(0.42, 0.13), (0.58, 0.10), (0.74, 0.06)]:
        p.line([(0.5 - w, y), (0.5 + w * 0.4, y + 0.02)], (190, 85, 10, 255), 1.0)


def _onion(p: _Pen) -> None:
    p.polygon([(0.38, 0.42), (0.62, 0.42), (0.52, 0.06), (0.48, 0.06)], (175, 95, 145, 255))
    p.ellipse((0.13, 0.30, 0.87, 0.92), (175, 95, 145, 255))
    for x0, x1 in [(0.30, 0.24), (0.42, 0.40), (0.58, 0.60), (0.70, 0.76)]:
        p.line([(0.5, 0.32), (x1, 0.60), (x0 + 0.05, 0.88)], (125, 55, 100, 255), 1.0)
    for x in (0.44, 0.50, 0.56):
        p.line([(0.5, 0.92), (x, 0.99)], (225, 205, 160, 255), 1.0)  # roots


def _potato(p: _Pen) -> None:
    p.polygon(_blob(0.5, 0.54, 0.42, 0.30, [0.05, 0.04, 0.03]), (165, 120, 70, 255))
    for x, y in [(0.30, 0.46), (0.55, 0.40), (0.70, 0.60), (0.42, 0.66), (0.78, 0.46)]:
        p.ellipse((x - 0.025, y - 0.02, x + 0.025, y + 0.02), (95, 65, 35, 255), outline=False)
    p.ellipse((0.26, 0.34, 0.40, 0.40), (195, 155, 100, 255), outline=False)


def _apple(p: _Pen) -> None:
    p.ellipse((0.10, 0.22, 0.62, 0.90), (125, 195, 60, 255))
    p.ellipse((0.38, 0.22, 0.90, 0.90), (125, 195, 60, 255))
    p.ellipse((0.14, 0.26, 0.86, 0.88), (125, 195, 60, 255), outline=False)
    p.line([(0.50, 0.30), (0.47, 0.08)], (100, 65, 30, 255), 2.0)  # stem
    p.polygon([(0.50, 0.16), (0.66, 0.06), (0.80, 0.12), (0.64, 0.20)], (40, 130, 40, 255))
    p.ellipse((0.22, 0.36, 0.34, 0.50), (200, 240, 150, 255), outline=False)


def _banana(p: _Pen) -> None:
    outer, inner = [], []
    for i in range(33):
        a = math.radians(30 + 120 * i / 32)  # a crescent: two arcs, thick in the middle
        outer.append((0.5 + 0.48 * math.cos(a), 0.04 + 0.86 * math.sin(a)))
        inner.append((0.5 + 0.40 * math.cos(a), 0.04 + 0.62 * math.sin(a)))
    p.polygon(outer + inner[::-1], (250, 220, 60, 255))
    p.ellipse(
        (outer[0][0] - 0.05, outer[0][1] - 0.04, outer[0][0] + 0.03, outer[0][1] + 0.06),
        (90, 70, 30, 255),
        outline=False,
    )  # dark stalk end at one tip only
    p.line(outer[8:26], (215, 180, 40, 255), 1.0)


def _fish(p: _Pen) -> None:
    p.polygon([(0.70, 0.50), (0.96, 0.26), (0.90, 0.50), (0.96, 0.74)], (70, 105, 150, 255))
    p.ellipse((0.06, 0.28, 0.78, 0.72), (95, 140, 180, 255))
    p.ellipse((0.14, 0.50, 0.70, 0.70), (185, 205, 220, 255), outline=False)  # pale belly
    p.polygon([(0.36, 0.30), (0.52, 0.14), (0.58, 0.31)], (70, 105, 150, 255))  # dorsal fin
    p.ellipse((0.17, 0.38, 0.27, 0.48), (255, 255, 255, 255))
    p.ellipse((0.20, 0.41, 0.25, 0.46), (10, 10, 10, 255), outline=False)
    p.line([(0.36, 0.36), (0.33, 0.50), (0.36, 0.64)], (60, 90, 130, 255), 1.0)  # gill


def _mushroom(p: _Pen) -> None:
    p.polygon([(0.38, 0.46), (0.62, 0.46), (0.65, 0.92), (0.35, 0.92)], (238, 225, 198, 255))
    p.pieslice((0.06, 0.12, 0.94, 0.80), 180, 360, (150, 85, 50, 255))
    for x, y, r in [(0.30, 0.34, 0.05), (0.56, 0.24, 0.04), (0.72, 0.38, 0.035)]:
        p.ellipse((x - r, y - r, x + r, y + r), (235, 210, 180, 255), outline=False)
    p.line([(0.10, 0.46), (0.90, 0.46)], (95, 55, 30, 255), 1.5)


_DRAWERS: dict[str, Callable[[_Pen], None]] = {
    "tomato": _tomato,
    "lemon": _lemon,
    "egg": _egg,
    "bread": _bread,
    "cheese": _cheese,
    "carrot": _carrot,
    "onion": _onion,
    "potato": _potato,
    "apple": _apple,
    "banana": _banana,
    "fish": _fish,
    "mushroom": _mushroom,
}


def draw_noun(noun: str, size: int, brightness: float = 1.0) -> np.ndarray:
    """RGBA uint8 sprite ``(size, size, 4)`` of ``noun``; ``brightness`` scales its colours."""
    if noun not in _DRAWERS:
        raise ValueError(f"unknown noun {noun!r}; known: {', '.join(NOUNS)}")
    side = size * SUPERSAMPLE
    img = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    _DRAWERS[noun](_Pen(ImageDraw.Draw(img), side))
    # Premultiplied downsampling so transparent (black) pixels do not darken the edges.
    small = img.convert("RGBa").resize((size, size), Image.Resampling.LANCZOS).convert("RGBA")
    out = np.asarray(small).copy()
    if brightness != 1.0:
        rgb = out[..., :3].astype(np.float32) * brightness
        out[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    return out
