"""Transcripts (SRT, WebVTT, YouTube auto-captions, JSON), sentences, and clip alignment."""

from __future__ import annotations

import json
import warnings

import pytest

from conftest import sample
from videobert.ingest import subtitles
from videobert.ingest.align import align, clip_range
from videobert.ingest.sentences import Sentence, SentenceRules, split_sentences, timed_words
from videobert.ingest.subtitles import (
    Cue,
    TranscriptError,
    TranscriptWarning,
    Word,
    decode_text,
    parse_time,
    read_transcript,
)


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# SRT


def test_real_srt_samples():
    cues = read_transcript(sample("moviepy_subtitles.srt"))  # has "00:00:5,000"
    assert [c.text for c in cues] == ["Red!", "More Red!", "Green!", "Blue", "More Blue!"]
    assert [(c.start, c.end) for c in cues][2] == (5.0, 6.0)
    (cue,) = read_transcript(sample("moviepy_subtitles_unicode.srt"))
    assert (cue.start, cue.end, cue.text) == (0.0, 5.0, "ÁÉíöÙ")


def test_parse_time_variants():
    assert parse_time("01:02:03,456") == pytest.approx(3723.456)
    assert parse_time("0:00:5,000") == 5.0
    assert parse_time("02:03.5") == 123.5
    for bad in ("1:2:3:4", "aa:bb:cc", "00:61:00,000", "12", ""):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_srt_multiline_tags_crlf_bom(tmp_path):
    text = ("1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> &amp;\r\nworld.\r\n\r\n"
            "2\r\n00:00:03,000 --> 00:00:04,000\r\n<font color=\"red\">Bye</font>\r\n")
    path = write(tmp_path, "a.srt", b"\xef\xbb\xbf" + text.encode())
    cues = read_transcript(path)
    assert cues == [Cue(1.0, 2.5, "Hello & world."), Cue(3.0, 4.0, "Bye")]


def test_srt_non_utf8_encoding(tmp_path, monkeypatch):
    text = "1\n00:00:01,000 --> 00:00:02,000\nCrème brûlée, naïve café\n"
    path = write(tmp_path, "latin.srt", text.encode("cp1252"))
    (cue,) = read_transcript(path)
    assert cue.text == "Crème brûlée, naïve café"
    # without charset detection: Windows-1252, then Latin-1
    monkeypatch.setattr(subtitles, "_detect_encoding", lambda data: (None, 0.0))
    assert decode_text("é".encode("cp1252")) == ("é", "cp1252")
    assert decode_text(b"\x81\x8d")[1] == "latin-1"  # undefined in cp1252: latin-1 takes all
    assert decode_text("ü".encode("utf-16"))[0] == "ü"
    # detection (charset-normalizer, when installed) for what does not read as Western text
    monkeypatch.setattr(subtitles, "_detect_encoding", lambda data: ("cp1251", 0.0))
    assert decode_text("Привет".encode("cp1251")) == ("Привет", "cp1251")
    assert subtitles.decode_text_checked("Привет".encode("cp1251"))[2] is None  # confident
    monkeypatch.setattr(subtitles, "_detect_encoding", lambda data: ("cp1251", 0.4))
    assert "unsure" in subtitles.decode_text_checked("Привет".encode("cp1251"))[2]
    monkeypatch.setattr(subtitles, "_detect_encoding", lambda data: ("no-such-codec", 0.0))
    assert decode_text("é".encode("cp1252")) == ("é", "cp1252")


def test_srt_empty_cues_dropped_and_missing_numbers(tmp_path):
    text = ("00:00:01,000 --> 00:00:02,000\nfirst\n\n"
            "2\n00:00:02,000 --> 00:00:03,000\n   \n\n"
            "3\n00:00:03,000 --> 00:00:04,000\n\n\n"
            "00:00:04,000 --> 00:00:05,000\nlast\n")
    assert [c.text for c in read_transcript(write(tmp_path, "e.srt", text))] == ["first", "last"]


def test_srt_bad_timestamps_are_dropped_with_a_warning(tmp_path):
    text = ("1\n00:00:01,000 --> 00:00:02,000\ngood one\n\n"
            "2\n00:00:05,000 --> 00:00:03,000\nbackwards\n\n"
            "3\n00:0x:05,000 --> 00:00:06,000\nunreadable\n\n"
            "4\n00:00:07,000 --> 00:00:08,000\ngood two\n")
    path = write(tmp_path, "bad.srt", text)
    with pytest.warns(TranscriptWarning) as caught:
        cues = read_transcript(path)
    assert [c.text for c in cues] == ["good one", "good two"]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2 and all("bad.srt" in m for m in messages)
    assert "cue 2" in messages[0] and "ends before it starts" in messages[0]
    assert "cue 3" in messages[1]


def test_nothing_usable_raises(tmp_path):
    for name, text in [("empty.srt", ""), ("blank.vtt", "WEBVTT\n\n"),
                       ("allbad.srt", "1\n00:00:05,000 --> 00:00:01,000\nx\n"),
                       ("junk.srt", "this is not a subtitle file\n")]:
        path = write(tmp_path, name, text)
        with warnings.catch_warnings(record=True), pytest.raises(TranscriptError) as info:
            warnings.simplefilter("always")
            read_transcript(path)
        assert name in str(info.value)
    with pytest.raises(TranscriptError, match="unknown transcript format"):
        read_transcript(write(tmp_path, "a.txt", "hi"))
    with pytest.raises(TranscriptError, match="not found"):
        read_transcript(tmp_path / "missing.srt")


def test_overlapping_cues_are_sorted_and_kept(tmp_path):
    text = ("2\n00:00:02,000 --> 00:00:05,000\nsecond line\n\n"
            "1\n00:00:01,000 --> 00:00:04,000\nfirst line\n")
    cues = read_transcript(write(tmp_path, "o.srt", text))
    assert [c.text for c in cues] == ["first line", "second line"]
    words = timed_words(cues)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))


# --------------------------------------------------------------------------------------------
# WebVTT


def test_vtt_header_notes_ids_and_settings(tmp_path):
    text = ("WEBVTT - some title\nKind: captions\n\nNOTE a comment\nspanning lines\n\n"
            "STYLE\n::cue { color: red }\n\n"
            "intro\n00:01.000 --> 00:02.000 align:start position:0%\n<v Roger>Hi there.\n\n"
            "00:00:02.500 --> 00:00:04.000\nSecond cue\n")
    cues = read_transcript(write(tmp_path, "a.vtt", text))
    assert cues == [Cue(1.0, 2.0, "Hi there."), Cue(2.5, 4.0, "Second cue")]


YOUTUBE = """WEBVTT
Kind: captions
Language: en

00:00:00.000 --> 00:00:02.350 align:start position:0%
<SPACE>
so<00:00:00.480><c> today</c><00:00:00.840><c> we're</c><00:00:01.079><c> going</c>

00:00:02.350 --> 00:00:02.360 align:start position:0%
so today we're going
<SPACE>

00:00:02.360 --> 00:00:05.120 align:start position:0%
so today we're going
to<00:00:02.919><c> make</c><00:00:03.240><c> a</c><00:00:03.360><c> cake</c>

00:00:05.120 --> 00:00:05.130 align:start position:0%
to make a cake
<SPACE>

00:00:05.130 --> 00:00:08.000 align:start position:0%
to make a cake
first<00:00:05.600><c> crack</c><00:00:06.000><c> two</c><00:00:06.400><c> eggs</c>
""".replace("<SPACE>", " ")  # YouTube writes a line of one space inside its cues


def test_youtube_auto_captions_are_deduplicated_into_timed_words(tmp_path):
    cues = read_transcript(write(tmp_path, "yt.en.vtt", YOUTUBE))
    words = [w for c in cues for w in c.words]
    text = " ".join(w.text for w in words)
    assert text == "so today we're going to make a cake first crack two eggs"
    assert " ".join(c.text for c in cues) == text  # cue text has no repeats either
    by_word = {w.text: w for w in words}
    assert by_word["so"].start == 0.0 and by_word["so"].end == pytest.approx(0.48)
    assert by_word["today"].start == pytest.approx(0.48)
    assert by_word["to"].start == pytest.approx(2.36)
    assert by_word["make"].start == pytest.approx(2.919)
    assert by_word["cake"].end == pytest.approx(5.12)  # the last word ends with its cue
    assert by_word["eggs"].start == pytest.approx(6.4)


def test_rolling_repeats_far_apart_are_real_speech(tmp_path):
    text = ("00:00:01.000 --> 00:00:02.000\nstir well\n\n"
            "00:00:30.000 --> 00:00:31.000\nstir well\n")
    cues = read_transcript(write(tmp_path, "r.vtt", text))
    assert len(cues) == 2


# --------------------------------------------------------------------------------------------
# JSON (HowTo100M captions)


def test_json_howto100m_style(tmp_path):
    data = {"start": [0.5, 3.1, 6.0, 7.0], "end": [3.4, 6.2, 9.0, 6.0],
            "text": ["first put the pan", "on the stove ", "", "bad times"]}
    with pytest.warns(TranscriptWarning, match="cue 4"):
        cues = read_transcript(write(tmp_path, "h.json", json.dumps(data)))
    assert cues == [Cue(0.5, 3.4, "first put the pan"), Cue(3.1, 6.2, "on the stove")]
    # the whole-file form {video_id: {...}} and a list of objects are read too
    with pytest.warns(TranscriptWarning):
        wrapped = read_transcript(write(tmp_path, "w.json", json.dumps({"abc123": data})))
    assert wrapped == cues
    listed = [{"start": 1, "end": 2, "text": "hi"}, {"start": "x", "end": 3, "text": "no"}]
    with pytest.warns(TranscriptWarning):
        assert read_transcript(write(tmp_path, "l.json", json.dumps(listed))) == [
            Cue(1.0, 2.0, "hi")]


def test_json_errors(tmp_path):
    with pytest.raises(TranscriptError, match="invalid JSON"):
        read_transcript(write(tmp_path, "a.json", "{nope"))
    bad = {"start": [1, 2], "end": [3], "text": ["a", "b"]}
    with pytest.raises(TranscriptError, match="differ in length"):
        read_transcript(write(tmp_path, "b.json", json.dumps(bad)))
    with pytest.raises(TranscriptError):
        read_transcript(write(tmp_path, "c.json", json.dumps({"a": 1, "b": 2})))


# --------------------------------------------------------------------------------------------
# Sentences


def test_punctuated_text_splits_at_sentence_ends():
    cues = [Cue(0.0, 4.0, "Heat the oven. Dr. Smith says mix it!"),
            Cue(4.0, 6.0, "Then bake"), Cue(6.0, 8.0, "for ten minutes. Done?")]
    sentences = split_sentences(cues)
    assert [s.text for s in sentences] == [
        "Heat the oven.", "Dr. Smith says mix it!", "Then bake for ten minutes.", "Done?"]
    assert sentences[0].start == 0.0 and 0.5 < sentences[0].end < 2.0
    assert sentences[2].start < 4.0 + 1e-9 and sentences[2].end > 6.0
    assert sentences[-1].end == 8.0
    assert all(a.end <= b.start + 1e-9 for a, b in zip(sentences, sentences[1:], strict=False))


def test_unpunctuated_text_splits_at_pauses_and_length():
    words = [Word(i * 0.3, i * 0.3 + 0.25, f"w{i}") for i in range(5)]
    words += [Word(5.0 + i * 0.3, 5.25 + i * 0.3, f"x{i}") for i in range(45)]
    sentences = split_sentences([Cue(0, 20, "", tuple(words))])
    assert sentences[0].text == "w0 w1 w2 w3 w4"  # the 3.8 s pause ends it
    assert sentences[0].end == pytest.approx(1.45)
    rules = SentenceRules()
    assert all(len(s.text.split()) <= rules.max_words for s in sentences)
    assert all(s.end - s.start <= rules.max_seconds for s in sentences)
    assert " ".join(s.text for s in sentences).split() == [w.text for w in words]


def test_youtube_words_make_sentences(tmp_path):
    cues = read_transcript(write(tmp_path, "yt.vtt", YOUTUBE))
    sentences = split_sentences(cues)
    assert " ".join(s.text for s in sentences).startswith("so today we're going to make")
    assert sentences[0].start == 0.0 and sentences[-1].end == 8.0


# --------------------------------------------------------------------------------------------
# Alignment to the clip grid (clip i = [1.5 i, 1.5 (i + 1)) at 20 fps, 30 frames)


def test_clip_range_by_overlap():
    assert clip_range(0.0, 1.0, n_clips=10) == (0, 0)
    assert clip_range(0.0, 1.5, n_clips=10) == (0, 0)  # ends exactly on the boundary
    assert clip_range(1.4, 1.6, n_clips=10) == (0, 1)
    assert clip_range(3.0, 4.5, n_clips=10) == (2, 2)
    assert clip_range(2.0, 2.0, n_clips=10) == (1, 1)  # an instant still has a clip
    assert clip_range(6.0, 100.0, n_clips=5) == (4, 4)  # clamped to the last clip
    assert clip_range(-1.0, 0.5, n_clips=5) == (0, 0)
    assert clip_range(7.5, 9.0, n_clips=5) is None  # starts after the video's clips
    assert clip_range(0.0, 1.0, n_clips=0) is None
    assert clip_range(1.0, 2.0, n_clips=10, fps=10.0, clip_frames=10) == (1, 1)


def test_align_drops_sentences_after_the_video():
    sentences = [Sentence(0.2, 2.0, "a"), Sentence(4.0, 5.0, "b"), Sentence(20.0, 21.0, "c")]
    segments = align(sentences, "vid", n_clips=4)
    assert [(s.text, s.first_clip, s.last_clip) for s in segments] == [("a", 0, 1), ("b", 2, 3)]
    assert all(s.video_id == "vid" for s in segments)


def test_a_weak_charset_guess_is_flagged():
    from videobert.ingest.subtitles import decode_text_checked

    assert decode_text_checked("café".encode())[2] is None  # UTF-8: no guess
    text, encoding, doubt = decode_text_checked("Ελληνικά κείμενα".encode("cp1253"))
    # Greek is read right by charset detection (when installed), else flagged as Western
    assert text == "Ελληνικά κείμενα" or (encoding in ("cp1252", "latin-1") and doubt)
    assert decode_text_checked("Größe und Straße".encode("cp1252"))[2] is None
    assert decode_text_checked("naïve façade, déjà vu".encode("cp1252"))[2] is None
    import importlib.util

    if importlib.util.find_spec("charset_normalizer"):  # detection reads other scripts right
        assert decode_text_checked("Привет, мир. Как дела?".encode("cp1251"))[:2] == (
            "Привет, мир. Как дела?", "cp1251")


def test_an_ellipsis_ends_a_sentence_as_documented():
    cues = [Cue(0.0, 4.0, "Wait for it… Now stir. Done?! Yes...")]
    assert [s.text for s in split_sentences(cues)] == ["Wait for it…", "Now stir.", "Done?!",
                                                       "Yes..."]
