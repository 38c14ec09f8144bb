"""Storyboards: rows of visual words drawn as their exemplar frames, with labels and a title.

A word's tile is ``codebook/exemplars/word_NNNNN.jpg``: that file is a strip of square frames
(the clips nearest to the word's centroid, nearest first), so the tile is its first square, the
nearest clip's middle frame, undistorted. A word without an exemplar is a grey tile showing its
id, so a storyboard never fails for a missing thumbnail.
Layout: a title band, then one band per row (row label on the left, tiles, each tile's word id
under it). ``storyboard_size`` gives the exact image size for a set of rows.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from videobert.io import atomic_path

TITLE_H = 40  # pixels of the title band
LABEL_W = 120  # pixels of the row-label column
CAPTION_H = 16  # pixels under each tile for the word id
GAP = 4  # pixels between tiles and around the board
BACKGROUND = (255, 255, 255)
MISSING = (150, 150, 150)


@dataclasses.dataclass
class StoryRow:
    label: str  # e.g. "context", "forecast", "ground truth"
    words: Sequence[int]  # codebook word ids, left to right


def exemplar_path(exemplars_dir: str | Path, word: int) -> Path:
    return Path(exemplars_dir) / f"word_{int(word):05d}.jpg"


def tile(exemplars_dir: str | Path | None, word: int, size: int) -> Image.Image:
    """The first frame of the word's exemplar strip at ``size``², or a grey tile with its id."""
    if exemplars_dir is not None:
        path = exemplar_path(exemplars_dir, word)
        if path.exists():
            try:
                with Image.open(path) as img:
                    side = min(img.size)
                    first = img.crop((0, 0, side, side))  # the first frame of a strip
                    return first.convert("RGB").resize((size, size))
            except OSError:
                pass  # unreadable thumbnail: fall through to the placeholder
    img = Image.new("RGB", (size, size), MISSING)
    draw = ImageDraw.Draw(img)
    draw.text((size // 2, size // 2), str(word), fill=(255, 255, 255), anchor="mm",
              font=_font(max(10, size // 6)))
    return img


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at ``size`` px (Pillow >= 10.1 with FreeType), else its bitmap."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # old Pillow or no FreeType
        return ImageFont.load_default()


def storyboard_size(rows: Sequence[StoryRow], tile_size: int = 96) -> tuple[int, int]:
    """(width, height) in pixels of the storyboard of ``rows``."""
    n = max((len(r.words) for r in rows), default=0)
    width = GAP + LABEL_W + n * (tile_size + GAP)
    height = TITLE_H + len(rows) * (tile_size + CAPTION_H + GAP) + GAP
    return width, height


def render_storyboard(
    rows: Sequence[StoryRow],
    path: str | Path,
    exemplars_dir: str | Path | None,
    title: str = "",
    tile_size: int = 96,
) -> Path:
    """Draw ``rows`` of visual words as exemplar tiles and save a PNG at ``path``."""
    if not rows:
        raise ValueError("a storyboard needs at least one row")
    width, height = storyboard_size(rows, tile_size)
    board = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(board)
    font, title_font = _font(11), _font(13)
    chars = max(20, (width - 2 * GAP) // 7)  # rough characters per line at 13 px
    draw.multiline_text((GAP, GAP), "\n".join(textwrap.wrap(title, chars)[:2]), fill=(0, 0, 0),
                        font=title_font, spacing=2)
    y = TITLE_H
    for row in rows:
        label_lines = "\n".join(textwrap.wrap(row.label, 18)[:3])
        draw.multiline_text((GAP, y + tile_size // 2), label_lines, fill=(0, 0, 0), font=font,
                            anchor="lm")
        x = GAP + LABEL_W
        for word in row.words:
            board.paste(tile(exemplars_dir, int(word), tile_size), (x, y))
            draw.text((x + tile_size // 2, y + tile_size + 2), f"#{int(word)}", fill=(60, 60, 60),
                      font=font, anchor="mt")
            x += tile_size + GAP
        y += tile_size + CAPTION_H + GAP
    path = Path(path)
    with atomic_path(path) as tmp:
        board.save(tmp, format="PNG")
    return path
