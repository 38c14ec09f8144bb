"""The audio stream that belongs to the chosen video stream, decoded for speech recognition.

A file can carry several video and audio streams (camera angles, dubbed languages, a
commentary track). FFmpeg groups streams into programs only in MPEG-TS-like containers, and
PyAV does not expose them, so the audio that goes with the video stream ingest chose
(``video._pick_stream``) is inferred from what every container has, narrowing the audio
streams one rule at a time (a rule that would leave none, or that every stream passes, changes
nothing):

1. **Default disposition.** The default audio plays with the default video. So when the chosen
   video stream is the default one (or no video stream is marked default), keep the default
   audio streams; when *another* video stream is the default, its default audio belongs to
   that one, so keep the others. (MP4 muxers mark the first stream of each type default.)
2. **Language, then title.** Keep the audio streams whose ``language`` (``und`` is no
   language) and then ``title`` tag equal the chosen video stream's.
3. **Nearest index.** The stream whose index is nearest the video's; a tie goes to the one
   after the video, since muxers write a video's audio after it (``-map 0:v:0 -map 0:a:0
   -map 0:v:1 -map 0:a:1``).

A file without video (audio only) gets the default audio stream, else the first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import av
import numpy as np

from videobert.ingest.video import VideoError, _origin, _pick_stream, decoded_frames

SAMPLE_RATE = 16000  # what Whisper models take
_DEFAULT = int(av.stream.Disposition.default)
_ATTACHED_PIC = int(av.stream.Disposition.attached_pic)
_NO_LANGUAGE = ("", "und")  # ISO 639-2 "undetermined", what muxers write when none is set


def _is_default(stream: av.stream.Stream) -> bool:
    return bool(int(stream.disposition) & _DEFAULT)


def _tag(stream: av.stream.Stream, key: str) -> str:
    value = (stream.metadata.get(key) or "").strip().lower()
    return "" if key == "language" and value in _NO_LANGUAGE else value


def _narrow(candidates: list, keep: Callable[[av.stream.Stream], bool]) -> list:
    kept = [s for s in candidates if keep(s)]
    return kept or candidates


def pick_audio_stream(
    audio: Sequence[av.AudioStream],
    video: av.VideoStream | None,
    videos: Sequence[av.VideoStream] = (),
) -> av.AudioStream | None:
    """The audio stream of ``audio`` that goes with the chosen ``video`` stream (the rule is
    in the module docstring); ``videos``: all video streams of the file. None: no audio."""
    candidates = list(audio)
    if not candidates:
        return None
    if video is None:
        return _narrow(candidates, _is_default)[0]
    moving = [v for v in videos if not int(v.disposition) & _ATTACHED_PIC]
    other_default = any(_is_default(v) for v in moving if v.index != video.index)
    if _is_default(video) or not other_default:
        candidates = _narrow(candidates, _is_default)
    else:
        candidates = _narrow(candidates, lambda s: not _is_default(s))
    for key in ("language", "title"):
        wanted = _tag(video, key)
        if wanted:
            candidates = _narrow(candidates, lambda s, k=key, w=wanted: _tag(s, k) == w)
    # False (after the video) sorts first, so a tie goes to the stream after the video
    return min(candidates, key=lambda s: (abs(s.index - video.index), s.index < video.index))


def audio_stream_for(path: str | Path, video_index: int | None = None) -> int | None:
    """Index of the audio stream that goes with video stream ``video_index`` (default: the
    stream ingest chooses); None when the file has no audio stream or cannot be read."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError):
        return None
    with container:
        videos = list(container.streams.video)
        if video_index is not None:
            video = next((v for v in videos if v.index == video_index), None)
        else:
            try:
                video = _pick_stream(container, path) if videos else None
            except VideoError:  # only cover art: pair with nothing, as an audio-only file
                video = None
        chosen = pick_audio_stream(list(container.streams.audio), video, videos)
        return None if chosen is None else chosen.index


def decode_audio(path: str | Path, index: int,
                 rate: int = SAMPLE_RATE) -> tuple[np.ndarray, float]:
    """Audio stream ``index`` as mono float32 samples at ``rate`` Hz, and the time of its first
    sample in seconds after the container's start (the clip grid's time zero).

    Decoded as faster-whisper decodes a file (FFmpeg's resampler to signed 16-bit, then
    scaled), so passing the array instead of the path changes nothing but the stream. Damage
    is handled as for video (``video.decoded_frames``): a damaged packet is skipped and a
    stream that breaks off keeps what was decoded, each with a warning.
    """
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = next((s for s in container.streams.audio if s.index == index), None)
        if stream is None:
            raise ValueError(f"{path}: stream {index} is not an audio stream")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
        chunks: list[np.ndarray] = []
        first: float | None = None
        for frame in decoded_frames(container, stream, path):
            if first is None and frame.time is not None:
                first = float(frame.time)
            chunks += [f.to_ndarray() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
        # Encoder priming can put the first sample a little before zero; a delayed track
        # (positive start) must shift its words, or they land early on the clip grid.
        offset = max(0.0, (first or 0.0) - _origin(container))
    if not chunks:
        return np.zeros(0, np.float32), offset
    samples = np.concatenate([c.reshape(-1) for c in chunks])
    return samples.astype(np.float32) / 32768.0, offset
