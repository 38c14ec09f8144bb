"""Spoken narration with the offline ``espeak-ng`` engine, laid on a silent track at cue times.

espeak-ng is a system package (``apt-get install espeak-ng``; ``scripts/system-deps.sh`` does it
when run as root). Without it the dataset has no audio track, which the caller reports once.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from videobert.synth.narration import Cue

SAMPLE_RATE = 22050  # espeak-ng's native rate; downstream ASR resamples anyway
NOISE_LEVEL = 0.003  # room-noise floor so silence is not digital zero
FADE_S = 0.03  # fade applied where speech is cut short by the next cue


class SpeechUnavailable(RuntimeError):
    """Spoken narration was required but espeak-ng is not installed."""


def espeak_path() -> str | None:
    return shutil.which("espeak-ng")


@functools.lru_cache(maxsize=512)
def speak(text: str, speed: int = 175, pitch: int = 50, voice: str = "en-us") -> np.ndarray:
    """``text`` spoken by espeak-ng: float32 mono samples at ``SAMPLE_RATE`` (cached)."""
    exe = espeak_path()
    if exe is None:
        raise SpeechUnavailable("espeak-ng is not installed (apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory(prefix="videobert-tts-") as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = [exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or not wav.exists():
            raise RuntimeError(f"espeak-ng failed on {text!r}: {result.stderr.strip()}")
        with wave.open(str(wav)) as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise RuntimeError(f"espeak-ng wrote an unexpected WAV format for {text!r}")
            rate = w.getframerate()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    samples = pcm.astype(np.float32) / 32768.0
    if rate != SAMPLE_RATE:  # not expected with espeak-ng, but keep the track's rate fixed
        n = round(len(samples) * SAMPLE_RATE / rate)
        grid = np.linspace(0, len(samples) - 1, n)
        samples = np.interp(grid, np.arange(len(samples)), samples).astype(np.float32)
    samples.setflags(write=False)  # cached and shared between calls
    return samples


def narration_track(cues: Sequence[Cue], duration: float, rng: np.random.Generator) -> np.ndarray:
    """A mono float32 track of ``duration`` seconds with each cue spoken from its start time.

    Speech that would run into the next cue is cut there (with a short fade), as an ASR
    segmenter would have split it; the voice (speed, pitch) varies per video.
    """
    n = round(duration * SAMPLE_RATE)
    track = rng.normal(0.0, NOISE_LEVEL, size=n).astype(np.float32)
    speed, pitch = int(rng.integers(160, 196)), int(rng.integers(35, 66))
    starts = [round(c.start * SAMPLE_RATE) for c in cues] + [n]
    fade = round(FADE_S * SAMPLE_RATE)
    for cue, s0, s_next in zip(cues, starts, starts[1:], strict=False):
        speech = speak(cue.text, speed, pitch)
        speech = 0.6 * speech / max(float(np.abs(speech).max()), 1e-6)
        room = max(0, min(len(speech), s_next - s0, n - s0))
        clip = speech[:room].copy()
        if room < len(speech) and room > fade:
            clip[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        track[s0 : s0 + room] += clip
    return np.clip(track, -1.0, 1.0)
