"""Decoder: real sample files, resampling by timestamps, rotation, stream choice, bad input."""

from __future__ import annotations

import math
import shutil

import av
import numpy as np
import psutil
import pytest

from conftest import sample
from ingest_media import (
    Track,
    frame_index,
    grey_frames,
    quadrant_frame,
    write_audio_only,
    write_streams,
    write_video,
    write_with_cover,
)
from videobert.ingest.audio import audio_stream_for, decode_audio
from videobert.ingest.video import (
    VideoError,
    count_clips,
    count_frames,
    iter_clips,
    iter_frames,
    n_clips,
    probe,
    read_frame,
)

# --------------------------------------------------------------------------------------------
# Real samples: clip counts follow from duration at 20 fps and 30-frame clips.

REAL = [
    # name, width, height, source fps, seconds of video
    ("mmaction2_demo.mp4", 427, 256, 28.0, 10.0),  # 340x256 stored, non-square pixels
    ("activitynet_v_GGSY1Qvo990.mp4", 320, 240, 981 / 50, 355 / (981 / 50)),
    ("mmaction2_test_speech.avi", 320, 240, 25.0, 6.56),
    ("big_buck_bunny_0_30.webm", 1280, 720, 24.0, 30.0),
    ("ucf101_v_CricketShot_g04_c01_rgb.gif", 224, 224, 25.0, 3.16),
]


@pytest.mark.parametrize(("name", "width", "height", "fps", "seconds"), REAL)
def test_real_samples_probe_count_and_clips(name, width, height, fps, seconds):
    path = sample(name)
    info = probe(path)
    assert (info.width, info.height) == (width, height)
    assert info.fps == pytest.approx(fps, rel=1e-3)
    assert info.rotation == 0
    frames = count_frames(path, 20.0)
    # a stream may start a few milliseconds after the container: one frame of slack
    assert abs(frames - math.ceil(seconds * 20 - 1e-6)) <= 1
    expected = n_clips(frames, 30, 0.5)
    assert count_clips(path) == expected
    clips = list(iter_clips(path, fps=20.0, clip_frames=30, size=32))
    assert len(clips) == expected
    assert all(c.shape == (30, 32, 32, 3) and c.dtype == np.uint8 for c in clips)
    assert clips[0].std() > 5  # real picture content, not a blank buffer


def test_mmaction2_demo_is_seven_clips_at_20fps():
    # 10 s at 20 fps = 200 frames = 6 full clips + 20 frames (>= 15, so a 7th, padded)
    path = sample("mmaction2_demo.mp4")
    assert count_frames(path) == 200
    assert count_clips(path) == 7
    clips = list(iter_clips(path, size=16))
    assert len(clips) == 7
    last = clips[-1]
    assert np.array_equal(last[19], last[29])  # padding repeats the last real frame


def test_activitynet_odd_frame_rate_resamples_to_20fps():
    path = sample("activitynet_v_GGSY1Qvo990.mp4")  # 19.62 fps
    frames = sum(1 for _ in iter_frames(path, fps=20.0, size=16))
    assert frames == count_frames(path, 20.0) == math.ceil(355 / 19.62 * 20)


def test_size_and_crop():
    path = sample("mmaction2_demo.mp4")  # displayed 427x256
    clip = next(iter_clips(path, size=64, crop=False))
    assert clip.shape == (30, 64, 107, 3)
    clip = next(iter_clips(path, size=64, crop=True))
    assert clip.shape == (30, 64, 64, 3)
    full = next(iter_clips(path))
    assert full.shape == (30, 256, 427, 3)


# --------------------------------------------------------------------------------------------
# Resampling by presentation timestamps.


def test_upsampling_repeats_frames_in_display_order(tmp_path):
    path = write_video(tmp_path / "ten.mkv", grey_frames(10), fps=10)
    shown = [frame_index(f) for f in iter_frames(path, fps=20.0)]
    assert shown == [j // 2 for j in range(20)]


def test_downsampling_keeps_the_frame_on_screen(tmp_path):
    path = write_video(tmp_path / "forty.mkv", grey_frames(12), fps=40)  # 0.3 s
    shown = [frame_index(f) for f in iter_frames(path, fps=20.0)]
    assert shown == [0, 2, 4, 6, 8, 10]


def test_variable_frame_rate_follows_timestamps(tmp_path):
    times = [0.0, 0.1, 0.15, 0.5, 0.55, 1.0]
    path = write_video(tmp_path / "vfr.mkv", grey_frames(6), fps=20, times=times)
    shown = [frame_index(f) for f in iter_frames(path, fps=20.0)]
    expected = [max(i for i, t in enumerate(times) if t <= j / 20 + 1e-9) for j in range(21)]
    assert shown == expected  # e.g. frame 2 stays on screen from 0.15 s to 0.5 s
    assert count_frames(path, 20.0) == len(shown) == 21  # last frame lasts 1/20 s


def test_trailing_partial_clip_rule(tmp_path):
    assert n_clips(44, 30, 0.5) == 1  # 14 left over < 15
    assert n_clips(45, 30, 0.5) == 2
    assert n_clips(30, 30, 0.5) == 1
    assert n_clips(0, 30, 0.5) == 0
    path = write_video(tmp_path / "short.mkv", grey_frames(7), fps=10)  # 0.7 s = 14 frames
    assert count_clips(path, 20.0, 30, 0.5) == 0
    assert list(iter_clips(path, 20.0, 30, min_last_clip=0.5)) == []
    clips = list(iter_clips(path, 20.0, 30, min_last_clip=0.4))  # 14 >= 12
    assert len(clips) == 1 == count_clips(path, 20.0, 30, 0.4)
    assert [frame_index(f) for f in clips[0][13:]] == [6] * 17  # padded with the last frame


def test_clips_are_fresh_buffers(tmp_path):
    path = write_video(tmp_path / "v.mkv", grey_frames(12), fps=4)  # 3 s -> 60 frames
    clips = list(iter_clips(path, fps=20.0, clip_frames=10))
    # output frame j shows source frame j * 4 // 20; kept clips are not overwritten later
    assert [frame_index(c[0]) for c in clips] == [0, 2, 4, 6, 8, 10]
    assert [frame_index(f) for f in clips[0]] == [0] * 5 + [1] * 5


def test_read_frame_seeks_to_the_displayed_frame(tmp_path):
    path = write_video(tmp_path / "ten.mkv", grey_frames(10), fps=10)
    assert frame_index(read_frame(path, 0.0)) == 0
    assert frame_index(read_frame(path, 0.55)) == 5
    assert frame_index(read_frame(path, 0.3)) == 3
    assert frame_index(read_frame(path, 99.0)) == 9  # past the end: the last frame
    assert read_frame(path, 0.2, size=12).shape == (12, 16, 3)
    assert read_frame(sample("mmaction2_demo.mp4"), 5.0, size=64).shape == (64, 107, 3)


# --------------------------------------------------------------------------------------------
# Codecs, frame sizes, rotation, several streams.


@pytest.mark.parametrize(("codec", "suffix"), [("libx264", ".mp4"), ("mpeg4", ".avi"),
                                               ("ffv1", ".mkv"), ("libvpx", ".webm")])
def test_codecs_and_containers(tmp_path, codec, suffix):
    path = write_video(tmp_path / f"v{suffix}", grey_frames(10, 64, 48), fps=10, codec=codec)
    info = probe(path)
    assert (info.width, info.height) == (64, 48)
    clips = list(iter_clips(path, size=16))
    assert len(clips) == count_clips(path) == 1
    assert frame_index(clips[0][10]) == 5  # even lossy codecs keep flat grey levels


def test_tiny_frames(tmp_path):
    path = write_video(tmp_path / "tiny.mp4", grey_frames(10, 2, 2), fps=10, codec="libx264")
    assert (probe(path).width, probe(path).height) == (2, 2)
    (clip,) = list(iter_clips(path))
    assert clip.shape == (30, 2, 2, 3)
    (clip,) = list(iter_clips(path, size=8))
    assert clip.shape == (30, 8, 8, 3)


def test_huge_frames(tmp_path):
    frames = [np.full((3000, 4000, 3), v, np.uint8) for v in (40, 200)]
    path = write_video(tmp_path / "huge.mp4", frames, fps=2, codec="mpeg4")  # 1 s
    info = probe(path)
    assert (info.width, info.height) == (4000, 3000)
    (clip,) = list(iter_clips(path, size=32, crop=False))
    assert clip.shape == (30, 32, 43, 3)
    assert abs(int(clip[0].mean()) - 40) < 8 and abs(int(clip[19].mean()) - 200) < 8


@pytest.mark.parametrize(
    ("how", "suffix"), [("display matrix", ".mp4"), ("rotate tag", ".mkv")]
)
def test_rotation_metadata_gives_upright_frames(tmp_path, how, suffix):
    # a phone filming in portrait: stored landscape, displayed turned 90 degrees clockwise
    frames = [quadrant_frame(64, 48)] * 10
    if how == "display matrix":
        path = write_video(tmp_path / f"r{suffix}", frames, codec="mpeg4", rotation=-90)
    else:
        path = write_video(tmp_path / f"r{suffix}", frames, metadata={"rotate": "90"})
    info = probe(path)
    assert info.rotation == 270  # counter-clockwise, i.e. 90 clockwise
    assert (info.width, info.height) == (48, 64)
    for rgb in (next(iter_frames(path)), read_frame(path, 0.5)):
        assert rgb.shape == (64, 48, 3)
        red = rgb[..., 0] > 128
        assert red[:32, 24:].mean() > 0.9  # the red corner is now top-right
        assert red[:32, :24].mean() < 0.1 and red[32:].mean() < 0.1


def test_rotation_180(tmp_path):
    path = write_video(tmp_path / "r.mkv", [quadrant_frame(64, 48)] * 10, rotation=180)
    rgb = next(iter_frames(path))
    assert probe(path).rotation == 180 and rgb.shape == (48, 64, 3)
    assert (rgb[24:, 32:, 0] > 128).mean() > 0.9  # bottom-right


def test_several_video_streams_pick_the_largest(tmp_path):
    small = grey_frames(10, 32, 24)
    large = [np.full((48, 64, 3), 200, np.uint8)] * 10
    path = write_video(tmp_path / "two.mkv", small, extra_stream=large)
    info = probe(path)
    assert info.stream_index == 1 and (info.width, info.height) == (64, 48)
    # the large stream's grey 200, not the small one's 0; the exact level goes through
    # FFmpeg's RGB <-> YUV conversion, whose rounding is not ours to pin down
    assert abs(float(next(iter_frames(path)).mean()) - 200) < 8


SMALL, LARGE = Track("video"), Track("video", width=64, height=48)  # ingest picks LARGE
TONE = np.sin(np.arange(32000) / 16000 * 2 * np.pi * 440).astype(np.float32) * 0.5


def _audio(default: bool | None = None, language: str | None = None, tone: bool = False):
    return Track("audio", samples=TONE if tone else None, default=default, language=language)


@pytest.mark.parametrize(
    ("name", "tracks", "expected"),
    [
        # no dispositions, no tags: nearest index, the tie (1 and 3 are both one away from 2)
        # going to the stream after the video
        ("pairs.mkv", [SMALL, _audio(), LARGE, _audio(tone=True)], 3),
        ("grouped.mkv", [LARGE, SMALL, _audio(tone=True), _audio()], 2),
        # MP4 marks the first stream of each type default: that audio goes with the small
        # video, so the chosen (non-default) video gets the non-default audio
        ("auto_default.mp4", [SMALL, _audio(), LARGE, _audio(tone=True)], 3),
        # the default audio, although another is nearer the chosen (default) video
        ("default.mkv", [Track("video", 64, 48, default=True), SMALL, _audio(default=False),
                         _audio(default=True, tone=True)], 3),
        # the chosen video's language, although another audio stream is nearer
        ("language.mkv", [Track("video", 64, 48, language="eng"), Track("video", language="fra"),
                          _audio(language="fra"), _audio(language="eng", tone=True)], 3),
    ],
)
def test_the_audio_stream_of_the_chosen_video_is_used(tmp_path, name, tracks, expected):
    path = write_streams(tmp_path / name, tracks)
    info = probe(path)
    assert (info.width, info.height) == (64, 48)
    assert audio_stream_for(path, info.stream_index) == audio_stream_for(path) == expected
    samples, offset = decode_audio(path, expected)  # the tone, not the other (silent) stream
    assert samples.dtype == np.float32 and abs(len(samples) - 32000) < 2048 and offset == 0.0
    assert float(np.sqrt(np.mean(samples**2))) > 0.2


def test_audio_stream_without_video_or_audio(tmp_path):
    assert audio_stream_for(write_audio_only(tmp_path / "a.flac")) == 0
    assert audio_stream_for(write_video(tmp_path / "v.mkv", grey_frames(5))) is None
    assert audio_stream_for(tmp_path / "missing.mkv") is None


def test_cover_art_is_not_the_video(tmp_path):
    path = write_with_cover(tmp_path / "cover.mp4", grey_frames(10, 32, 24))
    info = probe(path)
    assert info.stream_index == 0 and (info.width, info.height) == (32, 24)
    assert len(list(iter_clips(path))) == 1


# --------------------------------------------------------------------------------------------
# Bad input: clear errors that name the file.


def _error(path) -> VideoError:
    with pytest.raises(VideoError) as info:
        probe(path)
    assert str(path) in str(info.value)
    return info.value


def test_missing_and_empty_files(tmp_path):
    assert "not found" in _error(tmp_path / "nope.mp4").reason
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert "empty" in _error(tmp_path / "empty.mp4").reason


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    _error(path)
    with pytest.raises(VideoError):
        count_clips(path)


def test_truncated_mp4_with_index_at_the_end(tmp_path):
    real = sample("mmaction2_demo.mp4")  # 'moov' index after the media data
    path = tmp_path / "cut.mp4"
    path.write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    assert "corrupt" in _error(path).reason


def test_truncated_stream_keeps_the_readable_part(tmp_path):
    full = write_video(tmp_path / "full.mkv", grey_frames(12, 64, 48), fps=4)  # 3 s, 2 clips
    cut = tmp_path / "cut.mkv"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    assert probe(cut).width == 64
    clips = list(iter_clips(cut, clip_frames=10))  # no exception: what is there is used
    assert 1 <= len(clips) < 6
    assert len(clips) == count_clips(cut, clip_frames=10)


def test_no_video_stream(tmp_path):
    path = write_audio_only(tmp_path / "speech.mka")
    assert _error(path).reason == "no video stream"
    renamed = tmp_path / "audio.mp4"
    shutil.copy(path, renamed)  # an audio file with a video name is still no video
    assert _error(renamed).reason == "no video stream"


def test_zero_length_video(tmp_path):
    path = tmp_path / "zero.mkv"  # a header with a video stream and not one frame
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=10)
        stream.width, stream.height = 32, 24
        container.start_encoding()
    _error(path)
    with pytest.raises(VideoError):
        list(iter_clips(path))


# --------------------------------------------------------------------------------------------
# Memory stays flat however long the video.


def test_memory_does_not_grow_with_video_length(tmp_path):
    # 60 s of 320x240 at 20 fps: 1200 frames, 276 MB if they were all kept as RGB
    frames = [np.full((240, 320, 3), v, np.uint8) for v in range(0, 240, 8)]
    path = write_video(tmp_path / "long.mp4", frames * 40, fps=20, codec="mpeg4")
    process = psutil.Process()
    clips = iter_clips(path, fps=20.0)
    for _ in range(3):
        next(clips)
    rss_early = process.memory_info().rss
    n = 3 + sum(1 for _ in clips)
    growth = process.memory_info().rss - rss_early
    assert n == 40
    assert growth < 40 * 2**20, f"RSS grew by {growth / 2**20:.0f} MiB while decoding"
