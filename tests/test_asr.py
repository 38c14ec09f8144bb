"""Speech recognition with the bundled faster-whisper tiny.en (offline): real speech gives
timed English words; music, shouting and silence give no text at all."""

from __future__ import annotations

import shutil

import pytest

from conftest import sample
from ingest_media import Track, grey_frames, speech_samples, write_streams, write_video
from videobert.artifacts.segments import read_segments
from videobert.config import IngestConfig
from videobert.ingest.sentences import split_sentences
from videobert.ingest.stage import run_ingest
from videobert.ingest.subtitles import Cue, Word
from videobert.io import read_json

pytest.importorskip("faster_whisper", reason="needs the [asr] extra: faster-whisper")


@pytest.fixture(scope="module")
def transcribe():
    from videobert.ingest.asr import transcribe
    from videobert.resources import ResourceMissing, whisper_tiny_en_dir

    try:
        whisper_tiny_en_dir()
    except ResourceMissing as exc:
        pytest.skip(str(exc))
    return transcribe


def test_real_speech_gives_timed_english_words(transcribe):
    path = sample("mmaction2_test_speech.avi")  # 6.6 s: make-up tutorial, eyebrow strokes
    cues = transcribe(path)
    text = " ".join(c.text for c in cues).lower()
    # What must hold whatever the model version: timed words, in order, inside the 6.6 s clip,
    # with the tutorial's content words ("I started the outer corner, I swirl, and I move in").
    # Punctuation and sentence count vary between faster-whisper/ctranslate2 releases; how
    # timed words become sentences is tested on fixed word lists below.
    assert sum(w in text for w in ("outer", "corner", "swirl", "move", "keep")) >= 3, text
    words = [w for c in cues for w in c.words]
    assert len(words) >= 10
    assert all(0.0 <= w.start <= w.end <= 6.7 for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    sentences = split_sentences(cues)
    assert sentences and " ".join(s.text for s in sentences) == " ".join(w.text for w in words)
    assert all(a.end <= b.start for a, b in zip(sentences, sentences[1:], strict=False))


def _two_pairs(path, speech_with_chosen: bool):
    """Two video streams, each followed by its audio stream; ingest chooses the larger second
    video (stream 2), whose audio is stream 3. Only one audio stream holds the tutorial's
    speech, the other is silent."""
    speech = speech_samples(sample("mmaction2_test_speech.avi"))
    small, large = Track("video"), Track("video", width=64, height=48)
    first, second = (None, speech) if speech_with_chosen else (speech, None)
    return write_streams(path, [small, Track("audio", samples=first), large,
                                Track("audio", samples=second)], seconds=6.6)


def test_speech_is_read_from_the_audio_of_the_chosen_video(transcribe, tmp_path):
    # MP4 marks the first video and audio default: they go together, not with stream 2
    path = _two_pairs(tmp_path / "pairs.mp4", speech_with_chosen=True)
    cues = transcribe(path)
    text = " ".join(c.text for c in cues).lower()
    assert sum(w in text for w in ("outer", "corner", "swirl", "move")) >= 3, text
    words = [w for c in cues for w in c.words]
    assert len(words) >= 10
    assert all(0.0 <= w.start <= w.end <= 6.7 for w in words)
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    assert transcribe(path, audio_stream=1) == []  # the silent one, when asked for


def test_speech_on_another_videos_audio_is_not_used(transcribe, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _two_pairs(src / "pairs.mkv", speech_with_chosen=False)  # speech on stream 1, of video 0
    out = tmp_path / "out"
    assert run_ingest(src, out, IngestConfig(), progress=False).exit_code() == 0
    [entry] = read_json(out / "manifest.json")["videos"]
    assert entry["transcript_source"] == "none"
    assert (entry["stream_index"], entry["audio_stream_index"]) == (2, 3)
    assert entry["notes"] == ["no subtitles and no speech found"]
    assert read_segments(out / "pairs.parquet") == []


def _whisper_words(text: str, step: float = 0.35) -> list[Word]:
    return [Word(i * step, i * step + 0.3, t) for i, t in enumerate(text.split())]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a full stop mid-stream ends a sentence; the open end is kept as its own sentence
        (
            "I started the outer corner. I swirl and I move in until",
            ["I started the outer corner.", "I swirl and I move in until"],
        ),
        ("Keep going? Yes! Now the brow.", ["Keep going?", "Yes!", "Now the brow."]),
        ("Then… we blend it out.", ["Then…", "we blend it out."]),
        ("Use approx. two strokes.", ["Use approx. two strokes."]),
    ],
)
def test_timed_words_from_speech_split_into_sentences(text, expected):
    cues = [Cue(0.0, 10.0, text, tuple(_whisper_words(text)))]
    assert [s.text for s in split_sentences(cues)] == expected


def test_music_only_gives_no_text(transcribe):
    assert transcribe(sample("big_buck_bunny_0_30.webm")) == []


def test_shouting_without_words_gives_no_text(transcribe):
    assert transcribe(sample("activitynet_v_GGSY1Qvo990.mp4")) == []


def test_no_audio_track_gives_no_text(transcribe, tmp_path):
    assert transcribe(sample("mmaction2_demo.mp4")) == []
    silent = write_video(tmp_path / "silent.mkv", grey_frames(20), fps=10, audio_seconds=2.0)
    assert transcribe(silent) == []  # an all-zero audio track


def test_stage_falls_back_to_speech(transcribe, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample("mmaction2_test_speech.avi"), src / "speech.avi")
    write_video(src / "quiet.mkv", grey_frames(20), fps=10, audio_seconds=2.0)
    out = tmp_path / "out"
    report = run_ingest(src, out, IngestConfig(), progress=False)
    assert report.exit_code() == 0
    entries = {e["id"]: e for e in read_json(out / "manifest.json")["videos"]}
    assert entries["speech"]["transcript_source"] == "asr"
    segments = read_segments(out / "speech.parquet")
    assert segments and segments[0].first_clip == 0
    assert segments[-1].last_clip == entries["speech"]["n_clips"] - 1  # speech to the end
    assert entries["quiet"]["transcript_source"] == "none"
    assert entries["quiet"]["notes"] == ["no subtitles and no speech found"]


def test_unloadable_model_is_reported_once_and_videos_kept(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        write_video(src / f"{name}.mkv", grey_frames(20), fps=10, audio_seconds=2.0)
    empty_model = tmp_path / "not_a_model"
    empty_model.mkdir()
    out = tmp_path / "out"
    run_ingest(src, out, IngestConfig(asr_model=str(empty_model)), progress=False)
    manifest = read_json(out / "manifest.json")
    assert "speech recognition unavailable" in manifest["asr_error"]
    assert [e["transcript_source"] for e in manifest["videos"]] == ["none", "none"]
    assert all("speech recognition unavailable" in e["notes"][0] for e in manifest["videos"])
