"""The built-in synthetic dataset: files decode, ground truth and split hold, narration is
noisy but bounded, verbs are motions (not poses), generation is deterministic and resumable."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest

from videobert.ingest.subtitles import read_transcript
from videobert.ingest.video import iter_clips, probe
from videobert.synth import NOUNS, VERBS, SynthError, generate, plan_dataset
from videobert.synth import audio as synth_audio
from videobert.synth import dataset as synth_dataset
from videobert.synth.mp4 import write_mp4
from videobert.synth.narration import FILLERS, JITTER, TEMPLATES
from videobert.synth.scene import Scene, render_frames
from videobert.synth.verbs import pose

HAS_ESPEAK = synth_audio.espeak_path() is not None


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "a", n_videos=4, seed=3, progress=False)


@pytest.fixture(scope="module")
def gt(dataset: Path) -> dict:
    return json.loads((dataset / "ground_truth.json").read_text())


@pytest.fixture(scope="module")
def big_plan():
    return plan_dataset(100, seed=0)


def test_words_are_single_wordpieces():
    transformers = pytest.importorskip("transformers")
    from videobert.resources import ResourceMissing, minilm_dir

    try:
        folder = minilm_dir()
    except ResourceMissing as exc:
        pytest.skip(str(exc))
    tok = transformers.AutoTokenizer.from_pretrained(str(folder))
    assert len(VERBS) >= 8 and len(NOUNS) >= 10
    for word in VERBS + NOUNS:
        assert tok.tokenize(word) == [word], word


def test_layout_and_manifest(dataset: Path, gt: dict):
    assert (dataset / "verbs.txt").read_text().split() == list(VERBS)
    assert (dataset / "nouns.txt").read_text().split() == list(NOUNS)
    assert (
        "held out" in (dataset / "README.md").read_text()
        or "held_out" in (dataset / "README.md").read_text()
    )
    rows = [json.loads(line) for line in (dataset / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == sorted(gt["videos"])
    suffixes = set()
    for r in rows:
        assert (dataset / r["video"]).is_file() and (dataset / r["subtitle"]).is_file()
        assert Path(r["video"]).stem == Path(r["subtitle"]).stem == r["id"]
        suffixes.add(Path(r["subtitle"]).suffix)
    assert suffixes == {".srt", ".vtt"}


def test_videos_decode_at_intended_fps_size_duration(dataset: Path, gt: dict):
    for vid, v in gt["videos"].items():
        path = dataset / "videos" / f"{vid}.mp4"
        info = probe(path)
        assert (info.width, info.height) == (160, 128)
        assert info.fps == pytest.approx(25.0)
        assert info.duration == pytest.approx(v["duration"], abs=0.05)
        frames = decode(path)
        assert frames.shape == (v["n_frames"], 128, 160, 3)
        assert 9.0 <= v["duration"] <= 25.0
    # The pipeline's resampling to 20 fps and 1.5 s clips works on them.
    vid, v = next(iter(gt["videos"].items()))
    clips = list(iter_clips(dataset / "videos" / f"{vid}.mp4", fps=20.0, clip_frames=30))
    assert clips[0].shape == (30, 128, 160, 3)
    assert abs(len(clips) - v["duration"] / 1.5) <= 1


def test_ground_truth_consistent(gt: dict):
    held_out = {tuple(c) for c in gt["held_out"]}
    assert gt["fps"] == 25.0 and gt["verbs"] == list(VERBS) and gt["nouns"] == list(NOUNS)
    assert {v["split"] for v in gt["videos"].values()} == {"train", "val"}
    for v in gt["videos"].values():
        steps = v["steps"]
        assert 3 <= len(steps) <= 5
        assert steps[0]["start"] > 0 and steps[-1]["end"] < v["duration"]
        for a, b in itertools.pairwise(steps):
            assert a["end"] <= b["start"]
        for s in steps:
            assert s["end"] - s["start"] >= 3.0 - 1e-6
            assert s["verb"] in VERBS and s["noun"] in NOUNS
            assert s["caption"] == f"{s['verb']} the {s['noun']}" == s["captions"][0]
            assert ((s["verb"], s["noun"]) in held_out) == (v["split"] == "val")
            assert (s["narration"] is not None) == s["narrated"]


def test_split_plan_covers_everything(big_plan):
    train, val = big_plan.combos("train"), big_plan.combos("val")
    assert not train & val
    assert val == set(big_plan.held_out)  # every held-out combination is tested
    assert sum(v.split == "val" for v in big_plan.videos) == 20
    for split in (train, val):
        assert {verb for verb, _ in split} == set(VERBS)
        assert {noun for _, noun in split} == set(NOUNS)
    durations = [v.duration for v in big_plan.videos]
    assert 12.0 <= np.mean(durations) <= 20.0
    steps = [s for v in big_plan.videos for s in v.steps]
    assert 0.7 < np.mean([s.narrated for s in steps]) < 0.9  # some steps are never narrated
    assert sum(c.step is None for v in big_plan.videos for c in v.cues) >= 50  # fillers


def test_plan_is_deterministic_by_seed():
    a, b, c = plan_dataset(10, seed=1), plan_dataset(10, seed=1), plan_dataset(10, seed=2)
    assert a == b
    assert a.videos != c.videos and a.held_out != c.held_out


def test_narration_is_noisy_but_bounded(big_plan):
    filler_words = set(" ".join(FILLERS).split())
    assert not filler_words & (set(VERBS) | set(NOUNS))  # fillers say nothing about the picture
    shifts = []
    for v in big_plan.videos:
        cues = v.cues
        for a, b in itertools.pairwise(cues):
            assert a.end <= b.start + 1e-9, v.video_id  # sorted, no overlaps
        for c in cues:
            assert 0 <= c.start < c.end <= v.duration + 1e-9
            assert re.fullmatch(r"[a-z ]+", c.text)
            if c.step is not None:
                s = v.steps[c.step]
                assert s.narrated and s.verb in c.text.split() and s.noun in c.text.split()
                assert abs(c.start - s.start) <= JITTER + 1e-3
                assert abs(c.end - s.end) <= JITTER + 1e-3
                shifts.append(c.start - s.start)
        assert sorted(c.step for c in cues if c.step is not None) == [
            i for i, s in enumerate(v.steps) if s.narrated
        ]
    assert max(np.abs(shifts)) > 1.0  # the jitter is really there
    pauses = [
        b.start - a.end
        for v in big_plan.videos
        for a, b in itertools.pairwise([c for c in v.cues if c.step is not None])
    ]
    assert 0.6 < np.mean(np.array(pauses) >= 1.0) < 0.98  # mostly pauses between sentences
    assert len({c.text.split(" ")[0] for v in big_plan.videos for c in v.cues}) >= len(TEMPLATES)


def test_subtitle_files_parse(dataset: Path, gt: dict):
    for vid, v in gt["videos"].items():
        path = dataset / "videos" / f"{vid}.{v['subtitle']}"
        assert path.suffix == (".srt" if int(vid[-4:]) % 2 == 0 else ".vtt")
        cues = read_transcript(path)
        narrated = [s for s in v["steps"] if s["narrated"]]
        texts = [c.text for c in cues]
        for s in narrated:
            cue = cues[texts.index(s["narration"])]
            assert abs(cue.start - s["start"]) <= JITTER + 1e-3
            assert abs(cue.end - s["end"]) <= JITTER + 1e-3
        assert len(cues) >= len(narrated)
        assert all(c.text == c.text.lower() and re.fullmatch(r"[a-z ]+", c.text) for c in cues)


def test_verbs_differ_over_time_not_in_the_first_frame():
    scene = Scene.build(np.random.default_rng(0), 160, 128, 25.0, 50)
    sprite = scene.sprite("tomato")
    period = 1.4
    clips = {}
    for verb in VERBS:
        ts = np.arange(0, period, 1 / 25)
        clips[verb] = np.stack(
            [
                scene.frame(0, sprite, pose(verb, t, period, scene.reach, scene.sprite_side))
                for t in ts
            ]
        ).astype(np.float32)
    for a, b in itertools.combinations(VERBS, 2):
        first = np.abs(clips[a][0] - clips[b][0]).mean()
        over_time = np.abs(clips[a] - clips[b]).mean()
        assert first < 0.5, (a, b, first)  # the same rest pose
        assert over_time > 1.0, (a, b, over_time)  # different motions
    for verb, clip in clips.items():  # and every verb moves within a cycle
        assert np.abs(clip - clip[0]).mean(axis=(1, 2, 3)).max() > 1.0, verb


def test_same_seed_same_frames_other_seed_different(tmp_path: Path):
    runs = {  # "b" renders in two processes: parallel output must equal serial output
        name: generate(
            tmp_path / name, n_videos=2, seed=seed, speech=False, workers=w, progress=False
        )
        for name, seed, w in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1))
    }
    gts = {k: (p / "ground_truth.json").read_text() for k, p in runs.items()}
    assert gts["a"] == gts["b"] != gts["c"]
    for vid in ("synth_0000", "synth_0001"):
        fa, fb, fc = (decode(runs[k] / "videos" / f"{vid}.mp4") for k in "abc")
        assert np.array_equal(fa, fb)
        assert fa.shape != fc.shape or np.abs(fa.astype(int) - fc).mean() > 5
    for sub in ("synth_0000.srt", "synth_0001.vtt"):
        assert (runs["a"] / "videos" / sub).read_text() == (runs["b"] / "videos" / sub).read_text()
    with av.open(str(runs["a"] / "videos" / "synth_0000.mp4")) as c:
        assert not c.streams.audio  # speech=False: no audio track


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng not installed (sh scripts/system-deps.sh)")
def test_narration_is_spoken_in_the_audio_track(dataset: Path, gt: dict):
    assert gt["speech"] is True
    vid = "synth_0000"
    with av.open(str(dataset / "videos" / f"{vid}.mp4")) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac" and stream.rate == synth_audio.SAMPLE_RATE
        samples = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    rate = synth_audio.SAMPLE_RATE
    assert len(samples) / rate == pytest.approx(gt["videos"][vid]["duration"], abs=0.1)
    cues = read_transcript(dataset / "videos" / f"{vid}.srt")
    speaking = np.zeros(len(samples), bool)
    for cue in cues:
        speaking[int(cue.start * rate) : int(cue.end * rate)] = True
    quiet = ~np.convolve(speaking, np.ones(rate // 5), mode="same").astype(bool)
    rms_speech = np.sqrt(np.mean(samples[speaking] ** 2))
    rms_quiet = np.sqrt(np.mean(samples[quiet] ** 2))
    assert quiet.mean() > 0.05 and rms_speech > 5 * rms_quiet
    for cue in cues:  # every cue really has speech at its start
        head = samples[int(cue.start * rate) : int((cue.start + 1.0) * rate)]
        assert np.sqrt(np.mean(head**2)) > 3 * rms_quiet, cue.text


def test_speech_auto_without_espeak_writes_no_audio(monkeypatch, capsys):
    monkeypatch.setattr(synth_audio, "espeak_path", lambda: None)
    assert synth_dataset._resolve_speech("auto") is False
    assert "espeak-ng not found" in capsys.readouterr().err
    with pytest.raises(synth_audio.SpeechUnavailable):
        synth_dataset._resolve_speech(True)


def test_resume_skips_complete_videos_and_refuses_other_params(tmp_path: Path):
    out = generate(tmp_path / "r", n_videos=2, seed=1, speech=False, progress=False)
    first, second = out / "videos" / "synth_0000.mp4", out / "videos" / "synth_0001.mp4"
    frames = decode(second)
    stamp = first.stat().st_mtime_ns
    second.unlink()
    generate(out, n_videos=2, seed=1, speech=False, progress=False)
    assert first.stat().st_mtime_ns == stamp  # complete video left alone
    assert np.array_equal(decode(second), frames)  # missing one re-made identically
    with pytest.raises(SynthError, match="already holds"):
        generate(out, n_videos=2, seed=2, speech=False, progress=False)


def test_cli(tmp_path: Path, capsys):
    from videobert.cli import main

    out = tmp_path / "cli"
    assert main(["synth", str(out), "--n-videos", "1", "--no-speech", "--size", "128x112"]) == 0
    assert probe(out / "videos" / "synth_0000.mp4").width == 128
    assert json.loads((out / "ground_truth.json").read_text())["height"] == 112
    assert main(["synth", str(out), "--n-videos", "1", "--seed", "9", "--no-speech"]) == 1
    assert "already holds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["synth", str(out), "--size", "big"])
    with pytest.raises(SynthError, match="even"):
        generate(tmp_path / "odd", n_videos=1, size=(161, 128), speech=False, progress=False)


def _video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def test_mp4_bytes_repeat_and_the_audio_track_leaves_the_video_alone(tmp_path: Path):
    plan = plan_dataset(100, seed=0, fps=25.0, val_fraction=0.2).videos[18]
    frames = list(render_frames(plan, 160, 128, 0))
    noise = np.random.default_rng(0).standard_normal(int(plan.duration * 22050))
    sound = (0.1 * noise).astype(np.float32)
    silent, spoken = set(), set()
    for i in range(4):  # with x264's mb-tree on, 8 such encodes gave 4 or more streams
        silent.add(write_mp4(tmp_path / f"s{i}.mp4", frames, 25.0, 160, 128).read_bytes())
        spoken.add(
            write_mp4(tmp_path / f"a{i}.mp4", frames, 25.0, 160, 128, audio=sound).read_bytes()
        )
    assert len(silent) == len(spoken) == 1
    assert _video_packets(tmp_path / "a0.mp4") == _video_packets(tmp_path / "s0.mp4")
    with av.open(
        str(tmp_path / "a0.mp4")
    ) as c:  # interleaved by time, not one track then the other
        kinds = [p.stream.type for p in c.demux() if p.size]
    first_audio, last_video = kinds.index("audio"), len(kinds) - 1 - kinds[::-1].index("video")
    assert first_audio < len(kinds) // 10 and last_video > len(kinds) * 9 // 10
