"""Sentence segmentation of timed text (cues or words), each sentence with start and end.

Punctuated text (subtitles, Whisper) is split after ``. ? !`` and ``…`` (also runs such as
``...`` and ``?!``). ASR-style text without punctuation (YouTube auto-captions, HowTo100M) is
split at pauses and capped in length, so a "sentence" is a short stretch of speech, as
VideoBERT's pairs need. Both also split at long silences and at a hard length cap, so one
sentence never spans minutes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from videobert.ingest.subtitles import Cue, Word

# Words ending in a period that do not end a sentence.
_ABBREVIATIONS = {
    "mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "approx.",
    "no.", "fig.", "jr.", "sr.", "inc.", "ltd.", "co.", "mt.", "oz.", "lb.", "lbs.", "tbsp.",
    "tsp.", "min.", "sec.",
}
_TERMINAL = re.compile(r"[.?!…]+$")
_CLOSERS = "\"'”’)]»"


@dataclasses.dataclass(frozen=True)
class Sentence:
    start: float
    end: float
    text: str


@dataclasses.dataclass(frozen=True)
class SentenceRules:
    pause: float = 1.0  # seconds of silence that end an unpunctuated sentence
    pause_punctuated: float = 2.0  # ... and a punctuated one (punctuation is the main signal)
    max_words: int = 20  # cap for unpunctuated text
    max_seconds: float = 8.0
    max_words_punctuated: int = 60  # safety cap for run-on punctuated text
    max_seconds_punctuated: float = 20.0


def timed_words(cues: Sequence[Cue]) -> list[Word]:
    """Words in time order. Cues without per-word times share their span among their words in
    proportion to word length. Overlapping cues are clamped so times never run backwards."""
    words: list[Word] = []
    for cue in sorted(cues, key=lambda c: c.start):
        if cue.words:
            pieces = list(cue.words)
        else:
            tokens = cue.text.split()
            total = sum(len(t) + 1 for t in tokens) or 1
            span, done = cue.end - cue.start, 0
            pieces = []
            for k, token in enumerate(tokens):
                t0 = cue.start + span * done / total
                done += len(token) + 1
                t1 = cue.end if k == len(tokens) - 1 else cue.start + span * done / total
                pieces.append(Word(t0, t1, token))
        for w in pieces:
            floor = words[-1].start if words else 0.0
            start = max(w.start, floor)
            words.append(Word(start, max(start, w.end), w.text))
    return words


def ends_sentence(word: str) -> bool:
    core = word.rstrip(_CLOSERS)
    if not _TERMINAL.search(core):
        return False
    if core.lower() in _ABBREVIATIONS:
        return False
    # single initials ("J.") and dotted acronyms ("U.S.") are not sentence ends
    return not re.fullmatch(r"(?:[A-Za-z]\.)+", core)


def is_punctuated(words: Sequence[Word]) -> bool:
    """Whether sentence punctuation is present often enough to rely on it."""
    if not words:
        return False
    ends = sum(ends_sentence(w.text) for w in words)
    return ends > 0 and len(words) / ends <= 80


def split_sentences(cues: Sequence[Cue], rules: SentenceRules | None = None) -> list[Sentence]:
    """Sentences of a transcript, each with the time of its first and last word."""
    rules = rules or SentenceRules()
    words = timed_words(cues)
    punctuated = is_punctuated(words)
    pause = rules.pause_punctuated if punctuated else rules.pause
    max_words = rules.max_words_punctuated if punctuated else rules.max_words
    max_seconds = rules.max_seconds_punctuated if punctuated else rules.max_seconds

    sentences: list[Sentence] = []
    current: list[Word] = []

    def flush() -> None:
        if current:
            text = " ".join(w.text for w in current)
            sentences.append(Sentence(current[0].start, max(w.end for w in current), text))
            current.clear()

    for word in words:
        if current and (
            word.start - current[-1].end > pause
            or len(current) >= max_words
            or word.end - current[0].start > max_seconds
        ):
            flush()
        current.append(word)
        if punctuated and ends_sentence(word.text):
            flush()
    flush()
    return sentences
