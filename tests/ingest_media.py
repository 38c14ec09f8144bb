"""Tiny real media made with PyAV for the ingest tests (encoded into tmp_path, never committed).

Frames are uniform grey levels ``level(i)`` so a decoded frame tells which source frame it was;
lossless FFV1 keeps the levels exact, H.264 / MPEG-4 are used where the codec is the point.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

STEP = 20  # grey-level step between consecutive source frames


def level(i: int) -> int:
    return (i * STEP) % 256


def frame_index(rgb: np.ndarray) -> int:
    """Which source frame (by grey level) a decoded frame shows."""
    return int(round(float(rgb.mean()) / STEP))


def noise_frames(n: int, width: int = 64, height: int = 48, seed: int = 0) -> list[np.ndarray]:
    """Random frames: they compress badly, so a file's bytes grow evenly with its length."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def grey_frames(n: int, width: int = 32, height: int = 24) -> list[np.ndarray]:
    return [np.full((height, width, 3), level(i), np.uint8) for i in range(n)]


def quadrant_frame(width: int = 64, height: int = 48) -> np.ndarray:
    """Black with a red top-left quadrant: shows which way a frame was rotated."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[: height // 2, : width // 2, 0] = 255
    return rgb


def write_video(
    path: Path,
    frames: Sequence[np.ndarray],
    fps: float = 10,
    codec: str = "ffv1",
    times: Sequence[float] | None = None,
    rotation: int | None = None,
    metadata: dict[str, str] | None = None,
    extra_stream: Sequence[np.ndarray] | None = None,
    audio_seconds: float = 0.0,
    options: dict[str, str] | None = None,
) -> Path:
    """Encode ``frames`` (RGB uint8) into ``path``. ``times``: presentation time of each frame
    (variable frame rate); ``rotation``: display-matrix rotation, counter-clockwise degrees;
    ``extra_stream``: frames of a second video stream; ``audio_seconds``: a silent track;
    ``options``: muxer options (``{"movflags": "faststart"}``, ``{"live": "1"}``)."""
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(path), "w", options=options or {}) as container:
        streams = []
        for stack in [frames] + ([extra_stream] if extra_stream is not None else []):
            stream = container.add_stream(codec, rate=rate)
            stream.height, stream.width = stack[0].shape[:2]
            stream.pix_fmt = "yuv420p"
            if times is not None:
                stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
            if rotation is not None:
                stream.set_display_rotation(rotation)
            if metadata:
                stream.metadata.update(metadata)
            streams.append((stream, stack))
        audio = None
        if audio_seconds:
            audio = container.add_stream("flac" if path.suffix == ".mkv" else "aac", rate=16000)
            audio.layout = "mono"
        for stream, stack in streams:
            for i, rgb in enumerate(stack):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                if times is not None:
                    frame.pts, frame.time_base = round(times[i] * 1000), Fraction(1, 1000)
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
        if audio is not None:
            samples = int(audio_seconds * 16000)
            for start in range(0, samples, 1600):
                chunk = np.zeros((1, min(1600, samples - start)), np.float32)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 16000, start
                container.mux(audio.encode(frame))
            container.mux(audio.encode())
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    with av.open(str(path), "w") as container:
        audio = container.add_stream("flac", rate=16000)
        audio.layout = "mono"
        tone = np.sin(np.arange(int(seconds * 16000)) / 16000 * 2 * np.pi * 440)
        frame = av.AudioFrame.from_ndarray(tone[None].astype(np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return path


def write_with_cover(path: Path, frames: Sequence[np.ndarray], fps: float = 10) -> Path:
    """An MP4 whose video comes with a larger cover-art picture (an attached_pic stream)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        cover = container.add_stream("mjpeg", rate=1)
        cover.width = cover.height = 256
        cover.pix_fmt = "yuvj420p"
        cover.disposition = av.stream.Disposition.attached_pic
        art = av.VideoFrame.from_ndarray(np.zeros((256, 256, 3), np.uint8), format="rgb24")
        container.mux(cover.encode(art) + cover.encode())
        for rgb in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode())
    return path


ASS_HEADER = (
    b"[Script Info]\r\nScriptType: v4.00+\r\n\r\n[V4+ Styles]\r\nFormat: Name, Fontname, Fontsize, "
    b"PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, "
    b"StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
    b"MarginL, MarginR, MarginV, Encoding\r\nStyle: Default,Arial,16,&Hffffff,&Hffffff,&H0,&H0,"
    b"0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\r\n\r\n[Events]\r\nFormat: Layer, Start, End, "
    b"Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n")


def write_with_subtitles(path: Path, frames: Sequence[np.ndarray], codec: str,
                         cues: Sequence[tuple[float, float, str]], fps: float = 10) -> Path:
    """A video with one embedded text subtitle stream (``mov_text`` in .mp4; ``subrip``,
    ``webvtt`` or ``ass`` in .mkv); packets are written as each muxer stores them."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4" if path.suffix == ".mp4" else "ffv1", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        subs = container.add_stream(codec)
        subs.codec_context.subtitle_header = ASS_HEADER  # mov_text and ass need one to open
        subs.time_base = Fraction(1, 1000)
        for rgb in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(video.encode())
        for n, (start, end, text) in enumerate(cues):
            if codec == "mov_text":
                payload = len(text.encode()).to_bytes(2, "big") + text.encode()
            elif codec == "ass":
                payload = f"{n},0,Default,,0,0,0,,{text}".encode()
            else:
                payload = text.encode()
            packet = av.Packet(payload)
            packet.stream, packet.time_base = subs, Fraction(1, 1000)
            packet.pts = packet.dts = round(start * 1000)
            packet.duration = round((end - start) * 1000)
            container.mux(packet)
    return path


@dataclasses.dataclass(frozen=True)
class Track:
    """One stream of ``write_streams``: a video of grey frames ``width`` x ``height``, or
    mono 16 kHz audio (``samples``: float32; None: silence)."""

    kind: str  # "video" or "audio"
    width: int = 32
    height: int = 24
    samples: np.ndarray | None = None
    language: str | None = None
    default: bool | None = None  # None: whatever the muxer does (MP4: first of each type)


def write_streams(path: Path, tracks: Sequence[Track], seconds: float = 2.0,
                  fps: float = 10) -> Path:
    """A file with the given streams in that order (index = position): MPEG-4 video, and AAC
    (.mp4) or FLAC (.mkv) audio."""
    n_samples = int(seconds * 16000)
    with av.open(str(path), "w") as container:
        streams = []
        for track in tracks:
            if track.kind == "video":
                stream = container.add_stream("mpeg4", rate=Fraction(fps).limit_denominator(1000))
                stream.width, stream.height, stream.pix_fmt = track.width, track.height, "yuv420p"
            else:
                stream = container.add_stream("aac" if path.suffix == ".mp4" else "flac",
                                              rate=16000)
                stream.layout = "mono"
            if track.language:
                stream.metadata["language"] = track.language
            if track.default is not None:
                stream.disposition = (av.stream.Disposition.default if track.default
                                      else av.stream.Disposition(0))
            streams.append((stream, track))
        for stream, track in streams:
            if track.kind == "video":
                grey = np.full((track.height, track.width, 3), 128, np.uint8)
                for _ in range(round(seconds * fps)):
                    container.mux(stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")))
            else:
                audio = (np.zeros(n_samples, np.float32) if track.samples is None
                         else np.asarray(track.samples, np.float32)[:n_samples])
                for start in range(0, len(audio), 1024):
                    chunk = np.ascontiguousarray(audio[None, start : start + 1024])
                    frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                    frame.sample_rate, frame.pts = 16000, start
                    container.mux(stream.encode(frame))
            container.mux(stream.encode())
    return path


def speech_samples(path: Path) -> np.ndarray:
    """The audio of a real file as mono float32 at 16 kHz (to mux into a made-up file)."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000)
    chunks = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            chunks += [f.to_ndarray()[0] for f in resampler.resample(frame)]
    chunks += [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(chunks)
