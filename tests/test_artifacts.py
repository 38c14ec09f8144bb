"""The artifacts layer: one reader per stage folder, one completeness check."""

from __future__ import annotations

import json

import numpy as np
import pytest

from videobert.artifacts.complete import is_complete
from videobert.artifacts.segments import read_segment_table, read_segments, write_segments
from videobert.artifacts.words import VisualWords, write_assignments
from videobert.ingest.align import Segment


def test_is_complete_needs_the_marker_the_same_inputs_and_every_file(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"sha1": "abc", "shards": ["s0.parquet"]}))
    (tmp_path / "data.bin").write_bytes(b"x")
    assert is_complete(tmp_path, {"sha1": "abc"}, ["data.bin"]) is None  # shard s0 missing
    (tmp_path / "s0.parquet").write_bytes(b"x")
    assert is_complete(tmp_path, {"sha1": "abc"}, ["data.bin"])["sha1"] == "abc"
    assert is_complete(tmp_path, {"sha1": "other"}, ["data.bin"]) is None
    (tmp_path / "meta.json").write_text('{"sha1": ')  # torn
    assert is_complete(tmp_path, {"sha1": "abc"}) is None
    assert is_complete(tmp_path / "nowhere", {}) is None


def test_visual_words_read_leniently_or_strictly(tmp_path):
    write_assignments(tmp_path / "assignments.parquet", np.array([0, 0, 1]), np.array([0, 2, 0]),
                      np.array([5, 6, 7]), ["a", "b"])
    words = VisualWords.open(tmp_path)
    assert words.by_video()["a"].tolist() == [5, -1, 6]  # clip 1 missing: -1
    with pytest.raises(ValueError, match="video a has missing or repeated clips"):
        words.strict_by_video(10)
    with pytest.raises(ValueError, match=r"words outside \[0, 6\)"):
        words.strict_by_video(6)
    with pytest.raises(FileNotFoundError, match="not a visual-words folder"):
        VisualWords.open(tmp_path / "..")


def test_segments_round_trip_and_a_bad_file_says_why(tmp_path):
    rows = [Segment("v", 0.0, 1.5, "cut the bread", 0, 0), Segment("v", 1.5, 4.0, "fry it", 1, 2)]
    write_segments(tmp_path / "v.parquet", rows)
    assert read_segments(tmp_path / "v.parquet") == rows
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="not a readable Parquet file"):
        read_segment_table(tmp_path / "bad.parquet")


def test_normalized_clip_features_follow_the_codebook_and_check_the_clip_counts(tmp_path):
    import numpy as np
    import pytest

    from videobert.artifacts.features import normalized_clip_features

    rng = np.random.default_rng(0)
    raw = {"a": rng.normal(size=(5, 8)).astype(np.float16),
           "b": rng.normal(size=(3, 8)).astype(np.float16)}
    for vid, array in raw.items():
        np.save(tmp_path / f"{vid}.npy", array)
    out = normalized_clip_features(tmp_path, "center_l2", {"a": 5, "b": 3})
    for vid, array in raw.items():
        x = array.astype(np.float32)
        x = x - x.astype(np.float64).mean(0).astype(np.float32)
        expected = x / np.linalg.norm(x, axis=1, keepdims=True)
        assert out[vid].dtype == np.float16
        np.testing.assert_allclose(out[vid].astype(np.float32), expected, atol=2e-3)
    with pytest.raises(ValueError, match=r"a\.npy has 5 clips but its visual words have 4"):
        normalized_clip_features(tmp_path, "center_l2", {"a": 4})
    with pytest.raises(FileNotFoundError, match=r"c\.npy"):
        normalized_clip_features(tmp_path, "l2", {"c": 1})
