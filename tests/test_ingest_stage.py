"""The ingest stage end to end: folder and manifest input, bad input reported, idempotent re-runs,
and the `videobert ingest` command. Speech recognition is off here (see test_asr.py)."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from ingest_media import (
    grey_frames,
    noise_frames,
    write_audio_only,
    write_video,
    write_with_subtitles,
)
from videobert.artifacts.segments import read_segments
from videobert.cli import main
from videobert.config import IngestConfig
from videobert.ingest.stage import run_ingest
from videobert.io import EXIT_SKIPPED, read_json

NO_ASR = IngestConfig(asr=False)

SRT = """1
00:00:00,500 --> 00:00:01,200
Put the pan on the stove.

2
00:00:01,400 --> 00:00:03,200
Now add the oil.

3
00:00:09,000 --> 00:00:10,000
This is after the end of the video.
"""

# <SPACE> marks the one-space lines YouTube puts inside its cues
YOUTUBE_VTT = """WEBVTT

00:00:00.000 --> 00:00:01.000 align:start position:0%
<SPACE>
so<00:00:00.300><c> first</c><00:00:00.600><c> we</c>

00:00:01.000 --> 00:00:01.010 align:start position:0%
so first we
<SPACE>

00:00:01.010 --> 00:00:02.000 align:start position:0%
so first we
chop<00:00:01.400><c> onions</c>
"""

HOWTO_JSON = {"start": [0.0, 1.6], "end": [1.5, 3.0], "text": ["cut the bread", "and toast it"]}

BAD_CUE_SRT = """1
00:00:00,000 --> 00:00:01,000
Fine cue.

2
00:00:03,000 --> 00:00:02,000
Backwards cue.
"""

ALL_BAD_SRT = "1\n00:00:05,000 --> 00:00:01,000\nNothing usable.\n"


@pytest.fixture()
def folder(tmp_path):
    """One of each: good pairs in three formats, and each kind of bad input."""
    src = tmp_path / "videos"
    src.mkdir()
    write_video(src / "good.mp4", grey_frames(40), fps=10, codec="libx264")  # 4 s, 3 clips
    (src / "good.srt").write_text(SRT)
    write_video(src / "yt.mkv", grey_frames(30), fps=10)  # 3 s, 2 clips
    (src / "yt.en.vtt").write_text(YOUTUBE_VTT.replace("<SPACE>", " "))
    write_video(src / "howto.avi", grey_frames(30), fps=10, codec="mpeg4")
    (src / "howto.json").write_text(json.dumps(HOWTO_JSON))
    write_video(src / "latin.mkv", grey_frames(20), fps=10)
    (src / "latin.srt").write_bytes("1\n00:00:00,000 --> 00:00:01,000\nVoilà, café.\n"
                                    .encode("cp1252"))
    write_video(src / "silent.mkv", grey_frames(20), fps=10)  # no subtitle, no audio
    write_video(src / "badcue.mkv", grey_frames(20), fps=10)
    (src / "badcue.srt").write_text(BAD_CUE_SRT)
    write_video(src / "allbad.mkv", grey_frames(20), fps=10)
    (src / "allbad.srt").write_text(ALL_BAD_SRT)
    write_video(src / "short.mkv", grey_frames(3), fps=10)  # 0.3 s: no clip
    (src / "corrupt.mp4").write_bytes(np.random.default_rng(1).bytes(4096))
    whole = (src / "good.mp4").read_bytes()  # its index ('moov') comes after the media data
    (src / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    write_audio_only(src / "audio_only.mkv")
    (src / "orphan.srt").write_text(SRT)
    (src / "notes.txt").write_text("not media")
    return src


def _entries(out):
    return {e["id"]: e for e in read_json(out / "manifest.json")["videos"]}


def test_folder_ingest(folder, tmp_path, capsys):
    out = tmp_path / "segments"
    report = run_ingest(folder, out, NO_ASR, progress=False)
    manifest = read_json(out / "manifest.json")
    entries = _entries(out)

    assert sorted(entries) == ["allbad", "badcue", "good", "howto", "latin", "silent", "yt"]
    # Paths are absolute so later stages can run from any working directory.
    assert all(os.path.isabs(e["video"]) for e in entries.values())
    skipped = sorted((os.path.basename(s["file"]), s["reason"]) for s in manifest["skipped"])
    assert [name for name, _ in skipped] == [
        "allbad.srt", "allbad.srt", "audio_only.mkv", "badcue.srt", "corrupt.mp4",
        "orphan.srt", "short.mkv", "truncated.mp4"]
    reasons = dict(skipped)
    assert "cue 1: ends before it starts" in skipped[0][1] + skipped[1][1]
    assert "no usable cues" in skipped[0][1] + skipped[1][1]
    assert "corrupt" in reasons["corrupt.mp4"]
    assert reasons["audio_only.mkv"] == "no video stream"
    assert reasons["orphan.srt"] == "subtitle without a video"
    assert "too short" in reasons["short.mkv"]
    assert "cue 2" in reasons["badcue.srt"] and "ends before it starts" in reasons["badcue.srt"]
    assert "corrupt" in reasons["truncated.mp4"]
    assert report.exit_code() == EXIT_SKIPPED and len(report.skipped) == 8
    err = capsys.readouterr().err
    assert "skipped" in err and "corrupt.mp4" in err  # reported on the console too

    good = entries["good"]
    assert good["transcript_source"] == "srt" and good["n_clips"] == 3
    assert good["n_segments"] == 2 and "1 sentences outside the video left out" in good["notes"]
    assert good["duration"] == pytest.approx(4.0, abs=0.05)
    rows = pq.read_table(out / "good.parquet").to_pylist()
    assert rows == [
        {"video_id": "good", "start": 0.5, "end": 1.2, "text": "Put the pan on the stove.",
         "first_clip": 0, "last_clip": 0},
        {"video_id": "good", "start": 1.4, "end": 3.2, "text": "Now add the oil.",
         "first_clip": 0, "last_clip": 2},
    ]
    assert entries["yt"]["transcript_source"] == "vtt"
    (yt,) = read_segments(out / "yt.parquet")
    assert yt.text == "so first we chop onions" and (yt.start, yt.end) == (0.0, 2.0)
    assert (yt.first_clip, yt.last_clip) == (0, 1)
    assert entries["howto"]["transcript_source"] == "json"
    assert [s.text for s in read_segments(out / "howto.parquet")] == ["cut the bread and toast it"]
    assert read_segments(out / "latin.parquet")[0].text == "Voilà, café."
    assert [s.text for s in read_segments(out / "badcue.parquet")] == ["Fine cue."]

    for name in ("silent", "allbad"):  # kept for video-only training, without text
        assert entries[name]["transcript_source"] == "none"
        assert entries[name]["n_segments"] == 0 and entries[name]["n_clips"] == 1
        assert pq.read_table(out / f"{name}.parquet").num_rows == 0
        assert entries[name]["notes"]
    assert "no audio track" in entries["silent"]["notes"][0]
    assert manifest["config"] == {"fps": 20.0, "clip_frames": 30, "min_last_clip": 0.5,
                                  "asr_model": "tiny.en", "asr": False}
    assert not list(out.glob(".*tmp*"))  # no temporary files left behind


def test_rerun_is_idempotent_and_config_change_redoes(folder, tmp_path):
    out = tmp_path / "segments"
    run_ingest(folder, out, NO_ASR, progress=False)
    stamp = (out / "good.parquet").stat().st_mtime_ns
    first = read_json(out / "manifest.json")
    run_ingest(folder, out, NO_ASR, progress=False)
    second = read_json(out / "manifest.json")
    assert (out / "good.parquet").stat().st_mtime_ns == stamp
    assert second["counts"]["reused"] == len(second["videos"]) == 7
    assert second["videos"] == first["videos"]
    assert len(second["skipped"]) == len(first["skipped"])  # bad input is reported again

    (out / "yt.parquet").unlink()  # a lost output is redone
    run_ingest(folder, out, NO_ASR, progress=False)
    assert (out / "yt.parquet").exists()
    assert read_json(out / "manifest.json")["counts"]["reused"] == 6

    ten = IngestConfig(asr=False, fps=10.0, clip_frames=10)
    run_ingest(folder, out, ten, progress=False)
    third = read_json(out / "manifest.json")
    assert third["counts"]["reused"] == 0
    assert _entries(out)["good"]["n_clips"] == 4  # 4 s of 1 s clips


def test_manifest_csv_and_jsonl(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    write_video(media / "a.mkv", grey_frames(20), fps=10)
    (media / "a_subs.srt").write_text(SRT)
    write_video(media / "b.mkv", grey_frames(20), fps=10)
    csv_path = tmp_path / "list.csv"
    csv_path.write_text("video,subtitle,id\nmedia/a.mkv,media/a_subs.srt,first\n"
                        f"{media / 'b.mkv'},,second\nmedia/missing.mkv,,third\n"
                        ",media/a_subs.srt,fourth\n")
    out = tmp_path / "out_csv"
    report = run_ingest(csv_path, out, NO_ASR, progress=False)
    entries = _entries(out)
    assert sorted(entries) == ["first", "second"]
    assert entries["first"]["transcript_source"] == "srt"
    # 2 s of video = 1 clip (the last 0.5 s is under half a clip): both cues that start in
    # it map to clip 0, the one at 9 s is left out
    assert entries["first"]["n_segments"] == 2 and entries["first"]["n_clips"] == 1
    assert read_segments(out / "first.parquet")[0].video_id == "first"
    reasons = {os.path.basename(s.file): s.reason for s in report.skipped}
    assert reasons["missing.mkv"] == "file not found"
    assert reasons["a_subs.srt"] == "subtitle without a video"

    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text(json.dumps({"video": "media/a.mkv", "subtitle": "media/a_subs.srt"}) + "\n"
                     "{broken\n" + json.dumps({"video": "media/b.mkv", "id": "b/../x y"}) + "\n")
    out = tmp_path / "out_jsonl"
    report = run_ingest(jsonl, out, NO_ASR, progress=False)
    assert sorted(_entries(out)) == ["a", "b_.._x_y"]
    assert [s.file for s in report.skipped] == ["list.jsonl:2"]


def test_duplicate_ids_are_reported(tmp_path):
    write_video(tmp_path / "a.mkv", grey_frames(20), fps=10)
    manifest = tmp_path / "m.csv"
    manifest.write_text("video,id\na.mkv,same\na.mkv,same\n")
    report = run_ingest(manifest, tmp_path / "out", NO_ASR, progress=False)
    assert len(report.skipped) == 1 and "duplicate id" in report.skipped[0].reason


def test_command_line(folder, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["ingest", str(folder), str(out), "--no-asr", "--no-progress",
                 "--set", "clip_frames=20", "--fps", "10"])
    assert code == EXIT_SKIPPED
    config = read_json(out / "manifest.json")["config"]
    assert config["clip_frames"] == 20 and config["fps"] == 10.0 and config["asr"] is False
    assert "ingest config" in capsys.readouterr().err

    clean = tmp_path / "clean"
    clean.mkdir()
    write_video(clean / "only.mkv", grey_frames(20), fps=10)
    assert main(["ingest", str(clean), str(tmp_path / "o2"), "--no-asr", "--no-progress"]) == 0
    assert main(["ingest", str(tmp_path / "nowhere"), str(tmp_path / "o3"), "--no-asr"]) == 1
    assert main(["ingest", str(clean), str(tmp_path / "o4"), "--set", "nope=1"]) == 2  # usage


def test_rerun_redoes_exactly_the_videos_whose_inputs_changed(tmp_path, capsys):
    src = tmp_path / "videos"
    src.mkdir()
    for name in ("a", "b", "c"):
        write_video(src / f"{name}.mkv", grey_frames(30), fps=10)
        (src / f"{name}.srt").write_text(SRT)
    out = tmp_path / "segments"
    run_ingest(src, out, NO_ASR, progress=False)
    stamps = {n: (out / f"{n}.parquet").stat().st_mtime_ns for n in "abc"}
    assert _entries(out)["a"]["fingerprint"]["subtitle"]["sha1"]

    # a: new subtitle text with the same size and an mtime set back; b: a longer video;
    # c: touched only (same content): reused
    old = os.stat(src / "a.srt")
    (src / "a.srt").write_text(SRT.replace("Put the pan", "Set the pot"))
    os.utime(src / "a.srt", ns=(old.st_atime_ns, old.st_mtime_ns))
    write_video(src / "b.mkv", grey_frames(50), fps=10)
    os.utime(src / "c.srt")
    run_ingest(src, out, NO_ASR, progress=False)
    entries = _entries(out)
    assert read_json(out / "manifest.json")["counts"]["reused"] == 1
    assert read_segments(out / "a.parquet")[0].text == "Set the pot on the stove."
    assert entries["b"]["n_clips"] == 3 and entries["b"]["duration"] == pytest.approx(5.0)
    assert (out / "c.parquet").stat().st_mtime_ns == stamps["c"]

    # --force redoes everything
    capsys.readouterr()
    assert main(["ingest", str(src), str(out), "--no-asr", "--no-progress", "--force"]) == 0
    assert read_json(out / "manifest.json")["counts"]["reused"] == 0
    assert (out / "c.parquet").stat().st_mtime_ns != stamps["c"]


def test_truncated_faststart_mp4_is_reported_and_clipped_to_what_decodes(tmp_path, capsys):
    from videobert.ingest.video import count_clips, iter_clips

    src = tmp_path / "videos"
    src.mkdir()
    whole = write_video(tmp_path / "whole.mp4", noise_frames(100), fps=10, codec="libx264",
                        options={"movflags": "faststart"})  # 10 s, index ('moov') first
    data = whole.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    cut = src / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    config = IngestConfig(asr=False, fps=10.0, clip_frames=5)
    decodable = sum(1 for _ in iter_clips(cut, fps=10.0, clip_frames=5))  # what features gets
    assert count_clips(cut, 10.0, 5) > decodable  # packets alone promise more than decodes

    report = run_ingest(src, tmp_path / "out", config, progress=False)
    entry = _entries(tmp_path / "out")["cut"]
    assert entry["n_clips"] == decodable
    assert entry["declared_duration"] == pytest.approx(10.0)
    assert 4.0 < entry["duration"] < 5.5
    note = f"truncated: decoded {entry['duration']:.2f} s of 10.00 s"
    assert note in entry["notes"]
    assert report.exit_code() == EXIT_SKIPPED and note in report.skipped[0].reason
    assert note in capsys.readouterr().err


def test_webm_without_a_header_duration_gets_the_decoded_duration(tmp_path):
    src = tmp_path / "videos"
    src.mkdir()
    # a live (streamed) WebM has no duration in its header
    write_video(src / "live.webm", grey_frames(49), fps=10, codec="libvpx",
                options={"live": "1"})
    report = run_ingest(src, tmp_path / "out", NO_ASR, progress=False)
    entry = _entries(tmp_path / "out")["live"]
    assert entry["duration"] == pytest.approx(4.9, abs=0.01)
    assert entry["declared_duration"] is None and entry["n_clips"] == 3
    assert report.exit_code() == 0 and not any("truncated" in n for n in entry["notes"])


def test_sample_webm_duration(tmp_path):
    from conftest import sample
    from videobert.ingest.video import probe

    assert probe(sample("big_buck_bunny_0_30.webm")).duration == pytest.approx(30.0, abs=0.05)


def test_links_subfolders_and_same_named_videos_are_reported(tmp_path, capsys):
    src = tmp_path / "videos"
    (src / "day2").mkdir(parents=True)
    write_video(src / "a.mkv", grey_frames(20), fps=10)
    write_video(src / "a.mp4", grey_frames(20), fps=10, codec="libx264")
    (src / "a.srt").write_text(SRT)
    (src / "gone.mp4").symlink_to(tmp_path / "deleted.mp4")
    write_video(src / "day2" / "a.mkv", grey_frames(20), fps=10)
    write_video(src / "day2" / "b.mkv", grey_frames(20), fps=10)

    out = tmp_path / "out"
    report = run_ingest(src, out, NO_ASR, progress=False)
    manifest = read_json(out / "manifest.json")
    assert sorted(_entries(out)) == ["a"]
    assert _entries(out)["a"]["video"] == str(src / "a.mkv")
    assert "chose a.mkv over a.mp4" in _entries(out)["a"]["notes"][0]
    reasons = {os.path.basename(s["file"]): s["reason"] for s in manifest["skipped"]}
    assert "same name as a.mkv, which was used" in reasons["a.mp4"]
    assert "dangling symbolic link" in reasons["gone.mp4"]
    assert str(tmp_path / "deleted.mp4") in reasons["gone.mp4"]
    assert report.exit_code() == EXIT_SKIPPED
    assert manifest["notes"] == [f"2 videos in subfolders of {src} were not read "
                                 "(use --recursive to include them)"]
    err = capsys.readouterr().err
    assert "gone.mp4" in err and "2 videos in subfolders" in err and "a.mp4" in err

    out = tmp_path / "out_recursive"
    assert main(["ingest", str(src), str(out), "--no-asr", "--no-progress",
                 "--recursive"]) == EXIT_SKIPPED  # a.mp4 and gone.mp4 still
    entries = _entries(out)
    assert sorted(entries) == ["a", "day2_a", "day2_b"]
    assert entries["day2_a"]["video"] == str(src / "day2" / "a.mkv")
    assert read_json(out / "manifest.json")["notes"] == []


def test_a_folder_without_videos_is_an_error_naming_it(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "talk.srt").write_text(SRT)
    assert main(["ingest", str(empty), str(tmp_path / "out"), "--no-asr"]) == 1
    err = capsys.readouterr().err
    assert f"{empty}: no videos found" in err
    assert not (tmp_path / "out" / "manifest.json").exists()
    with pytest.raises(ValueError, match="no videos found"):
        run_ingest(empty, tmp_path / "out", NO_ASR, progress=False)

    (empty / "sub").mkdir()
    write_video(empty / "sub" / "v.mkv", grey_frames(20), fps=10)
    assert main(["ingest", str(empty), str(tmp_path / "out"), "--no-asr"]) == 1
    assert "1 videos in subfolders" in capsys.readouterr().err


def test_manifest_paths_are_normalised(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    write_video(media / "a.mkv", grey_frames(20), fps=10)
    (media / "a.srt").write_text(SRT)
    (tmp_path / "list.csv").write_text("video,subtitle\nmedia/../media/./a.mkv,media//a.srt\n")
    run_ingest(tmp_path / "list.csv", tmp_path / "out", NO_ASR, progress=False)
    entry = _entries(tmp_path / "out")["a"]
    assert entry["video"] == str(media / "a.mkv") and entry["subtitle"] == str(media / "a.srt")
    manifest = read_json(tmp_path / "out" / "manifest.json")
    assert manifest["source"] == str(tmp_path / "list.csv")


def test_a_subtitle_in_a_guessed_encoding_is_warned_about(tmp_path, capsys, monkeypatch):
    from videobert.ingest import subtitles

    # without charset detection (charset-normalizer reads this Cyrillic right when installed,
    # test_ingest_subtitles checks that): the Windows-1252 fallback, and its warning
    monkeypatch.setattr(subtitles, "_detect_encoding", lambda data: (None, 0.0))
    src = tmp_path / "videos"
    src.mkdir()
    write_video(src / "ru.mkv", grey_frames(20), fps=10)
    cue = "1\n00:00:00,000 --> 00:00:01,000\n{}\n"
    (src / "ru.srt").write_bytes(cue.format("Привет, мир. Как дела?").encode("cp1251"))
    write_video(src / "fr.mkv", grey_frames(20), fps=10)  # Windows-1252 French reads fine
    (src / "fr.srt").write_bytes(cue.format("Voilà, c'est un café très chaud.").encode("cp1252"))
    report = run_ingest(src, tmp_path / "out", NO_ASR, progress=False)
    entries = _entries(tmp_path / "out")
    (note,) = [n for n in entries["ru"]["notes"] if "not UTF-8" in n]
    assert str(src / "ru.srt") in note and "read as cp1252, a weak guess" in note
    assert str(src / "ru.srt") in capsys.readouterr().err
    assert not any("UTF-8" in n for n in entries["fr"]["notes"])
    assert read_segments(tmp_path / "out" / "fr.parquet")[0].text.startswith("Voilà")
    assert report.exit_code() == 0  # nothing skipped: the text is kept, with the warning


@pytest.mark.parametrize("codec, suffix", [("mov_text", ".mp4"), ("subrip", ".mkv"),
                                           ("webvtt", ".mkv"), ("ass", ".mkv")])
def test_embedded_subtitles_are_used_without_a_sidecar_file(tmp_path, codec, suffix):
    src = tmp_path / "videos"
    src.mkdir()
    text = "Put the pan on the stove."
    if codec == "ass":  # with override tags and a line break, as ASS files have them
        text = "Put the {\\i1}pan{\\i0} on\\Nthe stove."
    write_with_subtitles(src / f"v{suffix}", grey_frames(40), codec,
                         [(0.5, 1.2, text), (1.4, 3.2, "Now add the oil.")])
    write_with_subtitles(src / f"side{suffix}", grey_frames(40), codec, [(0.5, 1.2, "Inside.")])
    (src / "side.srt").write_text(SRT)  # a sidecar file wins over the embedded stream
    report = run_ingest(src, tmp_path / "out", NO_ASR, progress=False)
    entries = _entries(tmp_path / "out")
    assert entries["v"]["transcript_source"] == "embedded"
    segments = read_segments(tmp_path / "out" / "v.parquet")
    assert [(s.start, s.end, s.text) for s in segments] == [
        (0.5, 1.2, "Put the pan on the stove."), (1.4, 3.2, "Now add the oil.")]
    assert entries["side"]["transcript_source"] == "srt"
    assert report.exit_code() == 0
