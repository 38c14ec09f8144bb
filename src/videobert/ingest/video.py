"""Video decoding with PyAV: probe, resample to a fixed frame rate, cut into clips, read one frame.

Everything streams: frames are decoded one at a time and only the frames that are sampled are
converted to RGB (at the reduced size, which is most of the cost), so memory does not grow with
the length of the video.

Time: output frame ``j`` shows the source frame *displayed* at ``j / fps`` seconds after the
container's start, chosen by presentation timestamps, so variable-frame-rate video resamples
correctly. Clip ``i`` holds output frames ``[i * clip_frames, (i + 1) * clip_frames)``.

Rotation: phones store upright-ness as a display matrix (or an old ``rotate`` tag); frames are
rotated so they come out upright. ``VideoInfo.rotation`` follows FFmpeg's display-matrix
convention: degrees counter-clockwise the stored frame must turn to display (0/90/180/270).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

EPS = 1e-6  # seconds; absorbs float error when an output time falls exactly on a frame's pts


class VideoError(ValueError):
    """A video that cannot be used: unreadable, no video stream, no frames. Names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    path: str
    stream_index: int  # index of the chosen video stream in the container
    width: int  # display size: after sample aspect ratio and rotation
    height: int
    fps: float  # average frame rate of the source
    duration: float  # seconds: the header's, else measured from packet timestamps
    rotation: int  # counter-clockwise degrees applied for display: 0, 90, 180 or 270
    has_audio: bool
    n_frames_estimate: int  # source frames (header count, or duration * fps)
    declared_duration: float | None = None  # the video stream's (else container's) header


# ---------------------------------------------------------------------------------------------
# Opening and probing.


def _open(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise VideoError(path, "file not found")
    if path.stat().st_size == 0:
        raise VideoError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(path, f"unreadable or corrupt container ({exc})") from exc


def _pick_stream(container: av.container.InputContainer, path: str | Path) -> av.VideoStream:
    """The largest video stream that is not cover art (an attached picture)."""
    streams = list(container.streams.video)
    if not streams:
        raise VideoError(path, "no video stream")
    attached = 0x400  # AV_DISPOSITION_ATTACHED_PIC: cover art, a still picture
    moving = [s for s in streams if not (int(getattr(s, "disposition", 0)) & attached)]
    if not moving:
        raise VideoError(path, "no video stream (only cover art / attached pictures)")
    return max(moving, key=lambda s: (s.codec_context.width * s.codec_context.height, -s.index))


def _origin(container: av.container.InputContainer) -> float:
    """Time zero of the clip grid: the container's start (what a player's clock and subtitle
    times are relative to)."""
    start = container.start_time  # microseconds; None when unknown
    return start / av.time_base if start is not None and start > 0 else 0.0


def _avg_rate(stream: av.VideoStream) -> float:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and float(rate) > 0 and float(rate) < 1000:
            return float(rate)
    return 25.0  # unknown rate: only used as the duration of a frame that states none


def _rotation_of(frame: av.VideoFrame | None, stream: av.VideoStream) -> int:
    """Counter-clockwise display rotation snapped to a multiple of 90 degrees."""
    ccw = 0.0
    if frame is not None:
        try:
            ccw = float(frame.rotation or 0)
        except (AttributeError, ValueError):
            ccw = 0.0
    if not ccw:
        tag = stream.metadata.get("rotate") or stream.metadata.get("ROTATE")
        if tag:
            try:
                ccw = -float(tag)  # the old tag is clockwise
            except ValueError:
                ccw = 0.0
    return int(round(ccw / 90.0)) * 90 % 360


def decoded_frames(
    container: av.container.InputContainer, stream: av.stream.Stream, path: str | Path
) -> Iterator[av.frame.Frame]:
    """Decode ``stream`` (video or audio) frame by frame; a file that breaks off mid-way ends
    the stream with a warning instead of an exception (its readable part is still useful), and
    a damaged packet is skipped with a warning. Nothing readable at all raises ``VideoError``."""
    n = 0
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except av.error.FFmpegError as exc:
            if n == 0:
                raise VideoError(path, f"cannot read {stream.type} data ({exc})") from exc
            warnings.warn(f"{path}: stopped after {n} frames: {exc}", stacklevel=2)
            return
        try:
            frames = packet.decode()
        except av.error.FFmpegError as exc:
            # A damaged packet: skip it, as a player would.
            warnings.warn(f"{path}: skipped an undecodable packet ({exc})", stacklevel=2)
            continue
        for frame in frames:
            n += 1
            yield frame


def probe(path: str | Path) -> VideoInfo:
    """Read the header and decode the first frame (to check it decodes and read its rotation).

    Raises ``VideoError`` for a missing, unreadable or corrupt file, a file with no video
    stream, or a video with no frames.
    """
    container = _open(path)
    with container:
        stream = _pick_stream(container, path)
        stream.thread_type = "AUTO"
        first = next(decoded_frames(container, stream, path), None)
        if first is None:
            raise VideoError(path, "zero-length video: no decodable frames")
        rotation = _rotation_of(first, stream)
        fps = _avg_rate(stream)
        declared = _declared_duration(container, stream)
        if container.duration and container.duration > 0:
            duration = container.duration / av.time_base
        elif declared:
            duration = declared
        else:
            # No duration in the header (live/streamed WebM, some MKV): one frame's worth
            # would be wildly wrong, so measure it from the packets instead.
            duration = stream_end(path)
        width, height = _display_size(first.width, first.height, stream, rotation)
        return VideoInfo(
            path=str(path),
            stream_index=stream.index,
            width=width,
            height=height,
            fps=fps,
            duration=duration,
            rotation=rotation,
            has_audio=bool(container.streams.audio),
            n_frames_estimate=int(stream.frames or round(duration * fps)),
            declared_duration=declared,
        )


def _declared_duration(container: av.container.InputContainer,
                       stream: av.VideoStream) -> float | None:
    """The video stream's duration from the header (the container's when the stream states
    none; that one may include a longer audio track); None when the header has neither."""
    if stream.duration and stream.time_base and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _display_size(w: int, h: int, stream: av.VideoStream, rotation: int) -> tuple[int, int]:
    sar = stream.sample_aspect_ratio or stream.codec_context.sample_aspect_ratio
    if sar and sar > 0 and sar != 1:
        w = max(1, round(w * float(sar)))
    return (h, w) if rotation in (90, 270) else (w, h)


# ---------------------------------------------------------------------------------------------
# Clip counting: demux only (no decoding), the same end-of-stream rule as ``iter_clips``.


def n_clips(n_frames: int, clip_frames: int = 30, min_last_clip: float = 0.5) -> int:
    """Clips from ``n_frames`` resampled frames: full clips, plus a trailing partial clip only if
    it holds at least ``min_last_clip`` of a clip's frames."""
    full, rest = divmod(max(0, n_frames), clip_frames)
    return full + int(rest > 0 and rest >= min_last_clip * clip_frames)


def _n_output_frames(end: float, fps: float) -> int:
    """Output frames ``j`` with ``j / fps`` before the end of the last source frame."""
    return max(0, math.ceil((end - EPS) * fps))


def _frame_span(
    pts: int, duration: int | None, time_base: Fraction, default: float
) -> tuple[float, float]:
    start = float(pts * time_base)
    length = float(duration * time_base) if duration else default
    return start, start + length


def stream_end(path: str | Path) -> float:
    """Seconds from the container's start to the end of the chosen stream's last frame,
    read from packet timestamps (demuxing only, fast)."""
    container = _open(path)
    with container:
        stream = _pick_stream(container, path)
        origin, default = _origin(container), 1.0 / _avg_rate(stream)
        end = None
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                _, stop = _frame_span(packet.pts, packet.duration, packet.time_base, default)
                end = stop if end is None else max(end, stop)
        except av.error.FFmpegError as exc:
            if end is None:
                raise VideoError(path, f"cannot read video data ({exc})") from exc
        if end is None:
            raise VideoError(path, "zero-length video: no frames")
        return end - origin


def decoded_end(path: str | Path) -> float:
    """Like ``stream_end`` but from the frames that actually decode (the same timing rule as
    ``iter_frames``): slower, for files whose packets promise more than they hold (a truncated
    file whose index is at the front)."""
    container = _open(path)
    with container:
        stream = _pick_stream(container, path)
        stream.thread_type = "AUTO"
        origin, default = _origin(container), 1.0 / _avg_rate(stream)
        prev_start, end = -math.inf, -math.inf
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the damage is what is being measured
            for frame in decoded_frames(container, stream, path):
                if frame.pts is None:
                    start = prev_start + default if prev_start > -math.inf else 0.0
                    stop = start + default
                else:
                    duration = getattr(frame, "duration", None)
                    start, stop = _frame_span(frame.pts, duration, frame.time_base, default)
                    start, stop = start - origin, stop - origin
                if start < prev_start:
                    continue
                prev_start, end = start, max(end, stop)
        if end == -math.inf:
            raise VideoError(path, "zero-length video: no decodable frames")
        return end


def clips_in(seconds: float, fps: float = 20.0, clip_frames: int = 30,
             min_last_clip: float = 0.5) -> int:
    """Clips ``iter_clips`` cuts from a stream that ends ``seconds`` after its start."""
    return n_clips(_n_output_frames(seconds, fps), clip_frames, min_last_clip)


def count_frames(path: str | Path, fps: float = 20.0) -> int:
    """Frames that ``iter_clips`` resamples the video to (before cutting into clips)."""
    return _n_output_frames(stream_end(path), fps)


def count_clips(
    path: str | Path, fps: float = 20.0, clip_frames: int = 30, min_last_clip: float = 0.5
) -> int:
    """Number of clips ``iter_clips`` yields for this video, without decoding it."""
    return n_clips(count_frames(path, fps), clip_frames, min_last_clip)


# ---------------------------------------------------------------------------------------------
# Decoding to RGB.


class _Converter:
    """Frame -> upright uint8 RGB array at the output size. Scaling happens inside the RGB
    conversion (cheap); rotation and cropping are numpy views."""

    def __init__(self, frame: av.VideoFrame, stream: av.VideoStream, rotation: int,
                 size: int | None, crop: bool) -> None:
        self.rotation = rotation
        self.size = size if size else None
        self.crop = crop and bool(size)
        dw, dh = _display_size(frame.width, frame.height, stream, 0)  # before rotation
        if self.size:
            scale = self.size / min(dw, dh)
            dw, dh = max(self.size, round(dw * scale)), max(self.size, round(dh * scale))
        self.width, self.height = dw, dh

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = frame.to_ndarray(width=self.width, height=self.height, format="rgb24")
        if self.rotation:
            rgb = np.rot90(rgb, k=self.rotation // 90)  # k > 0 turns counter-clockwise
        if self.crop:
            h, w = rgb.shape[:2]
            top, left = (h - self.size) // 2, (w - self.size) // 2
            rgb = rgb[top : top + self.size, left : left + self.size]
        return np.ascontiguousarray(rgb)


def iter_frames(
    path: str | Path, fps: float = 20.0, size: int | None = None, crop: bool = True
) -> Iterator[np.ndarray]:
    """Upright RGB frames ``(H, W, 3)`` resampled to ``fps``: frame ``j`` is the source frame
    displayed at ``j / fps`` seconds. Streams; converts only the frames it yields. A source
    frame shown at several output times is yielded as the same array: copy before changing it
    (``iter_clips`` copies)."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    container = _open(path)
    with container:
        stream = _pick_stream(container, path)
        stream.thread_type = "AUTO"
        origin, default = _origin(container), 1.0 / _avg_rate(stream)
        convert: _Converter | None = None
        prev: av.VideoFrame | None = None
        prev_rgb: np.ndarray | None = None  # prev converted once, reused when it repeats
        prev_start, end = -math.inf, -math.inf
        j = 0
        for frame in decoded_frames(container, stream, path):
            if frame.pts is None:
                start = prev_start + default if prev is not None else 0.0
                stop = start + default
            else:
                duration = getattr(frame, "duration", None)  # PyAV >= 13
                start, stop = _frame_span(frame.pts, duration, frame.time_base, default)
                start, stop = start - origin, stop - origin
            if start < prev_start:
                continue  # out-of-order timestamp in a damaged file: keep the earlier frame
            if prev is None:
                convert = _Converter(frame, stream, _rotation_of(frame, stream), size, crop)
            else:
                while j / fps < start - EPS:  # output times at which `prev` is on screen
                    if prev_rgb is None:
                        prev_rgb = convert(prev)
                    yield prev_rgb
                    j += 1
                prev_rgb = None
            prev, prev_start, end = frame, start, max(end, stop)
        if prev is None:
            raise VideoError(path, "zero-length video: no decodable frames")
        for _ in range(j, _n_output_frames(end, fps)):
            if prev_rgb is None:
                prev_rgb = convert(prev)
            yield prev_rgb


def iter_clips(
    path: str | Path,
    fps: float = 20.0,
    clip_frames: int = 30,
    size: int | None = None,
    crop: bool = True,
    min_last_clip: float = 0.5,
) -> Iterator[np.ndarray]:
    """Clips ``(clip_frames, H, W, 3)`` uint8 RGB of the video resampled to ``fps``.

    ``size`` resizes so the short side is ``size`` (``crop`` then centre-crops to a square).
    A trailing partial clip is padded by repeating its last frame, and kept only if it has at
    least ``min_last_clip`` of the frames. Memory holds one clip, whatever the video's length.
    """
    if clip_frames < 1:
        raise ValueError(f"clip_frames must be >= 1, got {clip_frames}")
    clip: np.ndarray | None = None
    k = 0
    for rgb in iter_frames(path, fps=fps, size=size, crop=crop):
        if clip is None:
            clip = np.empty((clip_frames, *rgb.shape), dtype=np.uint8)
        clip[k] = rgb
        k += 1
        if k == clip_frames:
            yield clip
            clip, k = None, 0  # a fresh buffer: the caller may keep the one it got
    if clip is not None and k > 0 and k >= min_last_clip * clip_frames:
        clip[k:] = clip[k - 1]
        yield clip


def read_frame(
    path: str | Path, t_seconds: float, size: int | None = None, crop: bool = False
) -> np.ndarray:
    """The upright RGB frame ``(H, W, 3)`` displayed at ``t_seconds`` (seek, then decode from
    the preceding key frame). Times past the end give the last frame."""
    container = _open(path)
    with container:
        stream = _pick_stream(container, path)
        origin = _origin(container)
        target = max(0.0, t_seconds) + origin
        if target > 0 and stream.time_base:
            try:
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
            except av.error.FFmpegError:
                container.seek(0, stream=stream)
        chosen: av.VideoFrame | None = None
        for frame in decoded_frames(container, stream, path):
            start = float(frame.pts * frame.time_base) if frame.pts is not None else None
            if chosen is not None and start is not None and start > target + EPS:
                break
            chosen = frame
        if chosen is None:
            raise VideoError(path, f"no frame at {t_seconds:.3f}s")
        return _Converter(chosen, stream, _rotation_of(chosen, stream), size, crop)(chosen)
