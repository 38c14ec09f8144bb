"""Text subtitle streams inside a video file (mov_text in MP4, SubRip / WebVTT / ASS in MKV):
the transcript of a video that comes without a sidecar subtitle file, before speech recognition.

FFmpeg decodes every text subtitle codec to ASS dialogue, so one reader serves them all: the
packet's timestamps give the cue's span, the dialogue its text (override tags such as
``{\\i1}`` removed, ``\\N`` line breaks made spaces).
"""

from __future__ import annotations

import re
from pathlib import Path

import av

from videobert.ingest.subtitles import Cue

TEXT_CODECS = ("mov_text", "subrip", "srt", "webvtt", "ass", "ssa", "text")
_OVERRIDE = re.compile(r"\{[^}]*\}")
_TAG = re.compile(r"</?[^>]*>")


def _text(dialogue: bytes) -> str:
    text = dialogue.decode("utf-8", errors="replace")
    text = _OVERRIDE.sub("", text).replace("\\N", " ").replace("\\n", " ")
    return " ".join(_TAG.sub("", text).split())


def read_embedded(path: str | Path) -> tuple[list[Cue], str] | None:
    """Cues of the first text subtitle stream (the default-disposition one first) and its
    codec name; None when the file has no text subtitle stream or it holds no text."""
    try:
        container = av.open(str(path))
    except av.error.FFmpegError:
        return None
    with container:
        streams = [s for s in container.streams.subtitles if s.codec_context.name in TEXT_CODECS]
        if not streams:
            return None
        default = av.stream.Disposition.default
        stream = sorted(streams, key=lambda s: (not (s.disposition & default), s.index))[0]
        cues = []
        try:
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue
                start = float(packet.pts * packet.time_base)
                end = start + float((packet.duration or 0) * packet.time_base)
                for sub in stream.decode(packet):
                    text = _text(bytes(getattr(sub, "dialogue", b"") or b""))
                    if text:
                        cues.append(Cue(start, max(start, end), text))
        except av.error.FFmpegError:
            pass  # a damaged stream: keep the cues read so far
        if not cues:
            return None
        return sorted(cues, key=lambda c: (c.start, c.end)), stream.codec_context.name
