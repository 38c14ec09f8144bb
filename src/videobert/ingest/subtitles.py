"""Transcripts: SRT, WebVTT (YouTube auto-captions included) and HowTo100M-style JSON.

``read_transcript(path)`` returns cues in time order. Parsing is lenient where real files are
sloppy (times like ``0:00:5,000``, a BOM, CRLF, Windows-1252 text, cue numbers missing) and
strict where a guess would corrupt the data: a cue whose timestamps are unreadable or run
backwards is dropped with a warning naming the file and the cue, and a file with no usable cue
raises ``TranscriptError``.

YouTube's auto-captions repeat each line in the next cue ("rolling" captions) and time every
word inline (``word<00:00:01.234><c> next</c>``); the repeats are removed and the inline times
kept as ``Cue.words``.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import html
import json
import re
import warnings
from pathlib import Path
from typing import Any

SUBTITLE_SUFFIXES = (".srt", ".vtt", ".json")
ROLLING_GAP = 1.0  # seconds: a repeated line this close to the previous cue is a rolling repeat


class TranscriptError(ValueError):
    """A transcript with nothing usable in it (or an unknown format). Names the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class TranscriptWarning(UserWarning):
    """A cue that was dropped (bad timestamps); the message names the file and the cue."""


class CharsetWarning(UserWarning):
    """A transcript that is not UTF-8 and whose encoding was guessed with little confidence:
    its accented letters may be wrong (mojibake). The message names the file and the guess."""


@dataclasses.dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str


@dataclasses.dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str  # one line: line breaks inside a cue become spaces
    words: tuple[Word, ...] = ()  # per-word times when the source has them (YouTube, ASR)


# ---------------------------------------------------------------------------------------------
# Reading bytes as text.


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: a BOM wins, then strict UTF-8, then Windows-1252 when the text
    reads as a Western language, then charset detection if charset-normalizer is installed
    (e.g. Windows-1251 Cyrillic), then Windows-1252 anyway, then Latin-1 (which accepts any
    bytes). Subtitles found in the wild are mostly one of these. Detection comes after
    Windows-1252 because on a short Western text it guesses Central European code pages."""
    text, encoding, _doubt = decode_text_checked(data)
    return text, encoding


def decode_text_checked(data: bytes) -> tuple[str, str, str | None]:
    """``decode_text`` plus why the encoding is doubtful (None when it is not a guess, or a
    guess the text bears out)."""
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(enc), enc, None
    try:
        return data.decode("utf-8"), "utf-8", None
    except UnicodeDecodeError:
        pass
    try:
        western: str | None = data.decode("cp1252")
    except UnicodeDecodeError:
        western = None
    doubt = None if western is None else _latin_doubt(western)
    if western is not None and doubt is None:
        return western, "cp1252", None
    guess, chaos = _detect_encoding(data)
    if guess:
        try:
            text = data.decode(guess)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            unsure = (f"charset detection is unsure ({chaos:.0%} of the text looks garbled)"
                      if chaos > MAX_CHAOS else None)
            return text, guess, unsure
    if western is not None:
        return western, "cp1252", doubt
    return data.decode("latin-1"), "latin-1", "no encoding fits; read byte by byte as Latin-1"


MAX_CHAOS = 0.1  # charset-normalizer's "mess ratio" above which its guess is doubtful
# Latin-1 symbols that real text does not put inside words; a word like "Ïðè¸" is another
# script read with the wrong code page.
_SYMBOLS = set("¤¦¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ƒˆ‰Š‹ŒŽ˜™š›œžŸ")


def _latin_doubt(text: str) -> str | None:
    """Why ``text``, decoded with a Latin code page as a fallback, looks like mojibake: in
    Western languages accented letters are a small share of the letters (French ~4 %), while
    Cyrillic or Greek read as Windows-1252 is almost all accented letters and symbols."""
    letters = [c for c in text if c.isalpha()]
    accented = sum(ord(c) > 127 for c in letters)
    inside = sum(1 for a, b, c in zip(text, text[1:], text[2:], strict=False)
                 if b in _SYMBOLS and a.isalpha() and c.isalpha())
    if letters and accented / len(letters) > 0.3:
        return f"{accented / len(letters):.0%} of the letters are accented"
    if inside:
        return f"{inside} symbols inside words"
    return None


def _detect_encoding(data: bytes) -> tuple[str | None, float]:
    """charset-normalizer's guess and its mess ratio when that package is installed (it tells
    e.g. Windows-1251 Cyrillic from Windows-1252); ``(None, 0)`` otherwise."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return None, 0.0
    best = from_bytes(data).best()
    return (best.encoding, float(best.chaos)) if best is not None else (None, 0.0)


# ---------------------------------------------------------------------------------------------
# Timestamps.

# h:mm:ss,mmm / mm:ss.mmm / h:m:s (unpadded) — fractions with ',' or '.', of any length.
_TIME = r"(?:\d+:)?\d{1,2}:\d{1,2}(?:[.,]\d+)?"
_ARROW = re.compile(rf"^\s*({_TIME})\s*-->\s*({_TIME})(.*)$")
_INLINE = re.compile(r"<(\d+:\d{2}:\d{2}[.,]\d+|\d{2}:\d{2}[.,]\d+)>")
_TAG = re.compile(r"</?[^>]*>")


def parse_time(text: str) -> float:
    """``"01:02:03,456"`` / ``"2:03.5"`` / ``"0:00:5,000"`` -> seconds. Raises ValueError."""
    parts = text.strip().replace(",", ".").split(":")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise ValueError(f"not a timestamp: {text!r}")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[0]) if len(parts) == 3 else 0
    if seconds >= 60 or minutes >= 60 or min(seconds, minutes, hours) < 0:
        raise ValueError(f"not a timestamp: {text!r}")
    return hours * 3600 + minutes * 60 + seconds


# ---------------------------------------------------------------------------------------------
# SRT and WebVTT: blocks of "times" line + text lines, separated by blank lines.


@dataclasses.dataclass
class _Block:
    number: int  # position in the file (1-based), for messages
    start: float
    end: float
    lines: list[str]


def _blocks(text: str, path: Path) -> list[_Block]:
    """Split SRT/VTT text into timed blocks; report blocks whose times are unusable.

    Line by line rather than on blank lines: YouTube puts whitespace-only lines inside cues,
    and sloppy SRT files leave out the blank line or the cue number. A timing line opens a
    cue, the line just before it (a cue number or WebVTT id) is not text, and an empty line
    closes the cue (so NOTE/STYLE blocks and headers are never text).
    """
    blocks: list[_Block] = []
    current: _Block | None = None
    number = 0
    previous = ""
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if "-->" in line:
            if current is not None and previous.strip() and current.lines \
                    and current.lines[-1] == previous:
                current.lines.pop()  # the id / number of this new cue
            number += 1
            current = _timed_block(line, number, path)
            if current is not None:
                blocks.append(current)
        elif line == "":
            current = None
        elif current is not None:
            current.lines.append(line)
        previous = line
    return blocks


def _timed_block(line: str, number: int, path: Path) -> _Block | None:
    where = f"{path.name} cue {number}"
    match = _ARROW.match(line)
    if not match:
        _warn(f"{where}: unreadable timestamps {line.strip()!r}; cue dropped")
        return None
    try:
        start, end = parse_time(match.group(1)), parse_time(match.group(2))
    except ValueError as exc:
        _warn(f"{where}: {exc}; cue dropped")
        return None
    if end < start:
        _warn(f"{where}: ends before it starts ({start:.3f}s > {end:.3f}s); cue dropped")
        return None
    return _Block(number, start, end, [])


def _warn(message: str) -> None:
    warnings.warn(message, TranscriptWarning, stacklevel=4)


def _clean(line: str) -> str:
    """Visible text of a caption line: tags and inline times removed, entities decoded."""
    return " ".join(html.unescape(_TAG.sub("", line)).split())


def _timed_words(line: str, start: float, end: float) -> list[Word]:
    """Words of a YouTube line ``first<00:00:01.2><c> second</c>...``: each word starts at the
    inline time before it (the first at the cue start) and ends where the next one starts."""
    pieces = _INLINE.split(line)  # text, time, text, time, text ...
    timed: list[tuple[float, str]] = []
    t = start
    for i, piece in enumerate(pieces):
        if i % 2:
            with contextlib.suppress(ValueError):  # a garbled inline time: keep the last one
                t = max(t, parse_time(piece))
            continue
        for word in _clean(piece).split():
            timed.append((t, word))
    words = []
    for k, (t0, word) in enumerate(timed):
        t1 = timed[k + 1][0] if k + 1 < len(timed) else max(end, t0)
        words.append(Word(t0, max(t0, t1), word))
    return words


def _cues_from_blocks(blocks: list[_Block]) -> list[Cue]:
    """Drop rolling repeats (lines that the previous cue already showed) and empty cues."""
    cues: list[Cue] = []
    shown: list[str] = []  # visible lines of the previous cue
    shown_until = -1.0
    for block in blocks:
        lines = [line for line in block.lines if _clean(line)]
        visible = [_clean(line) for line in lines]
        new = 0
        # Rolling captions follow on without a gap; the same words much later are speech.
        while (new < len(lines) and visible[new] in shown
               and block.start <= shown_until + ROLLING_GAP):
            new += 1
        if visible:
            shown, shown_until = visible, block.end
        fresh = lines[new:]
        if not fresh:
            continue  # empty cue, or one that only repeats what is on screen
        words: list[Word] = []
        if any(_INLINE.search(line) for line in fresh):
            for line in fresh:
                words.extend(_timed_words(line, block.start, block.end))
        text = " ".join(_clean(line) for line in fresh)
        cues.append(Cue(block.start, block.end, text, tuple(words)))
    return cues


# ---------------------------------------------------------------------------------------------
# JSON: {"start": [...], "end": [...], "text": [...]} (HowTo100M), or a list of cue objects,
# or HowTo100M's whole-file form {video_id: {"start": ..., ...}} with a single video.


def json_cues(data: Any, path: Path) -> list[Cue]:
    """Cues of parsed transcript JSON (the forms above); ``path`` names it in messages."""
    if isinstance(data, dict) and "start" not in data and len(data) == 1:
        data = next(iter(data.values()))
    if isinstance(data, dict) and {"start", "end", "text"} <= set(data):
        starts, ends, texts = data["start"], data["end"], data["text"]
        if not (isinstance(starts, list) and isinstance(ends, list) and isinstance(texts, list)):
            raise TranscriptError(path, "JSON start/end/text must be lists")
        if not len(starts) == len(ends) == len(texts):
            raise TranscriptError(
                path, f"JSON lists differ in length: start {len(starts)}, end {len(ends)}, "
                f"text {len(texts)}")
        rows = zip(starts, ends, texts, strict=True)
        items = [{"start": s, "end": e, "text": t} for s, e, t in rows]
    elif isinstance(data, list):
        items = data
    else:
        raise TranscriptError(path, "JSON is neither {start: [], end: [], text: []} nor a list")
    cues = []
    for number, item in enumerate(items, 1):
        where = f"{path.name} cue {number}"
        try:
            start, end = float(item["start"]), float(item["end"])
            text = item["text"]
            # HowTo100M's caption.json has NaN (a float) for some empty lines
            text = "" if text is None or isinstance(text, float) else str(text)
        except (KeyError, TypeError, ValueError) as exc:
            _warn(f"{where}: missing or unreadable start/end/text ({exc!r}); cue dropped")
            continue
        if not (start >= 0 and end >= start):  # also rejects NaN
            _warn(f"{where}: bad timestamps ({start}, {end}); cue dropped")
            continue
        text = " ".join(text.split())
        if text:
            cues.append(Cue(start, end, text))
    return cues


# ---------------------------------------------------------------------------------------------


def read_transcript(path: str | Path) -> list[Cue]:
    """Cues of an ``.srt``, ``.vtt`` or ``.json`` transcript, sorted by start time."""
    path = Path(path)
    if not path.is_file():
        raise TranscriptError(path, "file not found")
    text, encoding, doubt = decode_text_checked(path.read_bytes())
    if doubt:
        warnings.warn(f"{path}: not UTF-8; read as {encoding}, a weak guess ({doubt}): its "
                      "text may be garbled; save it as UTF-8 to be sure", CharsetWarning,
                      stacklevel=2)
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TranscriptError(path, f"invalid JSON ({exc})") from exc
        cues = json_cues(data, path)
    elif suffix in (".srt", ".vtt"):
        cues = _cues_from_blocks(_blocks(text, path))
    else:
        raise TranscriptError(path, f"unknown transcript format {suffix!r} "
                              f"(expected one of {', '.join(SUBTITLE_SUFFIXES)})")
    if not cues:
        raise TranscriptError(path, "no usable cues (empty, or every cue had bad timestamps)")
    return sorted(cues, key=lambda c: (c.start, c.end))
