"""Exemplar thumbnails: what a visual word looks like (VideoBERT, Fig. 2 of the paper).

A word's image tiles the middle frames of the clips nearest to its centroid; ``overview.jpg``
shows the most-used words. Frames come from the original videos through
``videobert.ingest.video.read_frame``, several videos at a time; a video that can't be read is
reported and its tiles stay grey, the stage goes on.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from videobert.io import StageReport, atomic_path
from videobert.visual_words.hkmeans import usable_cpus

if TYPE_CHECKING:
    from videobert.visual_words.stage import Assignments

THUMB = 96  # pixels, side of one square tile
OVERVIEW_WORDS = 64  # most-used words shown in overview.jpg
OVERVIEW_COLUMNS = 8
GREY = (128, 128, 128)


@dataclasses.dataclass(frozen=True)
class VideoSource:
    id: str
    path: Path


def nearest_clips(a: Assignments, allowed_videos: np.ndarray, per_word: int) -> np.ndarray:
    """Indices into ``a`` of up to ``per_word`` clips per word, nearest first, ordered by word.

    Only clips of ``allowed_videos`` (bool per video index) are candidates.
    """
    candidates = np.flatnonzero(allowed_videos[a.video]) if len(a.video) else np.zeros(0, int)
    order = candidates[np.lexsort((a.distance[candidates], a.word[candidates]))]
    words = a.word[order]
    first = np.searchsorted(words, words, side="left")  # start of each clip's word group
    rank = np.arange(len(order)) - first
    return order[rank < per_word]


def thumbnail(frame: np.ndarray, side: int = THUMB) -> Image.Image:
    """Centre square crop of an RGB frame ``(H, W, 3)``, resized to ``side``."""
    image = Image.fromarray(np.ascontiguousarray(frame[..., :3]).astype(np.uint8))
    w, h = image.size
    s = min(w, h)
    box = ((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)
    return image.crop(box).resize((side, side), Image.BILINEAR)


def _tile_row(tiles: list[Image.Image | None], side: int = THUMB) -> Image.Image:
    row = Image.new("RGB", (side * len(tiles), side), GREY)
    for i, tile in enumerate(tiles):
        if tile is not None:
            row.paste(tile, (i * side, 0))
    return row


def _save_jpeg(image: Image.Image, path: Path) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, format="JPEG", quality=85)


def write_overview(
    path: Path, firsts: dict[int, Image.Image | None], counts: np.ndarray, side: int = THUMB
) -> None:
    """Grid of the most-used words: one tile each, labelled ``word (clips)``."""
    words = [w for w in np.argsort(-counts, kind="stable")[:OVERVIEW_WORDS] if counts[w] > 0]
    columns = min(OVERVIEW_COLUMNS, max(1, len(words)))
    rows = max(1, -(-len(words) // columns))
    grid = Image.new("RGB", (columns * side, rows * side), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for i, word in enumerate(words):
        x, y = (i % columns) * side, (i // columns) * side
        tile = firsts.get(int(word))
        grid.paste(tile if tile is not None else Image.new("RGB", (side, side), GREY), (x, y))
        label = f"{int(word)} ({int(counts[word])})"
        draw.rectangle((x, y + side - 12, x + side - 1, y + side - 1), fill=(0, 0, 0))
        draw.text((x + 2, y + side - 12), label, fill=(255, 255, 255))
    _save_jpeg(grid, path)


def _read_tiles(path: Path, times: list[float]) -> tuple[list[Image.Image | None], str | None]:
    """Thumbnails of the frames at ``times`` of one video (in a worker thread; PyAV releases
    the GIL while decoding). On the first failure the rest stay None and the error is returned.
    """
    from videobert.ingest.video import read_frame

    tiles: list[Image.Image | None] = [None] * len(times)
    for n, t in enumerate(times):
        try:
            tiles[n] = thumbnail(read_frame(path, t))
        except Exception as exc:  # any decoder failure: report the video, keep going
            return tiles, str(exc)
    return tiles, None


def write_exemplars(
    folder: Path,
    a: Assignments,
    sources: dict[str, VideoSource],
    fps: float,
    clip_frames: int,
    per_word: int,
    report: StageReport,
    workers: int | None = None,
) -> int:
    """``word_NNNNN.jpg`` for every used word and ``overview.jpg``; returns images written.

    Videos are read in parallel (``workers`` threads, default one per CPU, at most 8), each
    front to back; a word's image is written as soon as its last tile is in, so only the tiles
    of unfinished words are held in memory.
    """
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("word_*.jpg"):
        stale.unlink()
    allowed = np.array([vid in sources for vid in a.ids], dtype=bool)
    picked = nearest_clips(a, allowed, per_word)
    if len(picked) == 0:
        return 0
    words = a.word[picked]
    first = np.searchsorted(words, words, side="left")
    slot = np.arange(len(picked)) - first  # tile position inside its word's image
    words_used, per_word_counts = np.unique(words, return_counts=True)
    pending = dict(zip(words_used.tolist(), per_word_counts.tolist(), strict=True))
    tiles: dict[int, list[Image.Image | None]] = {w: [None] * n for w, n in pending.items()}
    firsts: dict[int, Image.Image | None] = {}
    counts = np.bincount(a.word, minlength=int(a.word.max()) + 1)
    overview_words = set(np.argsort(-counts, kind="stable")[:OVERVIEW_WORDS].tolist())
    written = 0

    # requests grouped by video, each video's in time order
    by_video = np.lexsort((a.clip[picked], a.video[picked]))
    videos = a.video[picked][by_video]
    groups = np.split(by_video, np.flatnonzero(np.diff(videos)) + 1)
    jobs = []
    for group in groups:
        video = int(a.video[picked[group[0]]])
        times = [(int(a.clip[picked[j]]) + 0.5) * clip_frames / fps for j in group]  # mid-clip
        jobs.append((group, sources[a.ids[video]].path, times))
    n_workers = workers or min(8, usable_cpus())
    bar = tqdm(total=len(picked), desc="exemplar frames", unit="frame")
    with ThreadPoolExecutor(max(1, n_workers)) as pool:
        results = pool.map(lambda job: _read_tiles(job[1], job[2]), jobs)
        for (group, path, _times), (video_tiles, error) in zip(jobs, results, strict=True):
            if error is not None:
                report.skip(path, f"cannot read frames for exemplar thumbnails ({error})")
            for j, tile in zip(group, video_tiles, strict=True):
                word = int(words[j])
                tiles[word][int(slot[j])] = tile
                pending[word] -= 1
                if pending[word] == 0:
                    done = tiles.pop(word)
                    if word in overview_words:
                        firsts[word] = done[0]
                    _save_jpeg(_tile_row(done), folder / f"word_{word:05d}.jpg")
                    written += 1
            bar.update(len(group))
    bar.close()
    write_overview(folder / "overview.jpg", firsts, counts)
    return written + 1
