"""The clip index: incremental, never half-written, ranked by the model's embeddings.

A stand-in pipeline embeds a window as the mean one-hot of its visual words and a sentence
"wN" as the one-hot of word N, so the right answer to every search is known.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from videobert.api import VideoWords
from videobert.index import ClipIndex
from videobert.index.store import list_videos

N_WORDS = 8


class Stand:
    def __init__(self, folder: Path, words: dict[str, list[int]]) -> None:
        self.model_dir, self.words, self.calls = folder, words, []

    def clip_words(self, path: Path) -> VideoWords:
        self.calls.append(Path(path).name)
        return VideoWords(np.array(self.words[Path(path).stem]), 1.5)

    def embed(self, text: str | None = None, video: VideoWords | None = None) -> np.ndarray:
        v = np.zeros(N_WORDS, np.float32)
        if text is not None:
            v[int(text[1:])] = 1
        else:
            np.add.at(v, video.words, 1.0)
        return v / np.linalg.norm(v)


@pytest.fixture
def videos(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    words = {"a": [0, 0, 1, 1], "b": [2, 3, 3, 4, 4], "c": [5, 6, 7]}
    for name in words:
        (folder / f"{name}.mp4").write_bytes(name.encode() * 10)
    return folder, Stand(tmp_path / "model", words)


def test_search_finds_the_window_of_the_word_asked_for(videos, tmp_path):
    folder, pipe = videos
    index = ClipIndex.open(tmp_path / "index", create=True)
    report = index.add(pipe, list_videos(folder))
    assert len(report["added"]) == 3 and len(index) == 3 + 4 + 2  # windows of 2, stride 1
    hits = ClipIndex.open(tmp_path / "index").search(pipe, "w3", k=2)
    assert [(Path(h.video).stem, h.words) for h in hits] == [("b", [3, 3]), ("b", [2, 3])]
    assert (hits[0].start, hits[0].end) == (1.5, 4.5)
    assert hits[0].row >= 0 and hits[0].words == index.items["words"][hits[0].row]
    assert index.thumbnail(hits[0].row) == b""  # this stand-in keeps no frames


def test_adding_again_embeds_only_what_is_new_or_changed(videos, tmp_path):
    folder, pipe = videos
    index = ClipIndex.open(tmp_path / "index", create=True)
    index.add(pipe, [folder / "a.mp4", folder / "b.mp4"])
    pipe.calls.clear()
    report = index.add(pipe, list_videos(folder))
    assert pipe.calls == ["c.mp4"] and len(report["kept"]) == 2
    pipe.words["a"] = [7, 7]  # a.mp4 is replaced by another video
    (folder / "a.mp4").write_bytes(b"another video")
    os.utime(folder / "a.mp4", ns=(1, 1))
    pipe.calls.clear()
    index.add(pipe, list_videos(folder))
    assert pipe.calls == ["a.mp4"]
    reopened = ClipIndex.open(tmp_path / "index")
    a_words = [w for v, w in zip(reopened.items["video"], reopened.items["words"], strict=True)
               if v.endswith("a.mp4")]
    assert a_words == [[7, 7]] and len(reopened) == 1 + 4 + 2


def test_a_run_killed_during_add_leaves_the_previous_index_searchable(videos, tmp_path,
                                                                      monkeypatch):
    folder, pipe = videos
    index = ClipIndex.open(tmp_path / "index", create=True)
    index.add(pipe, [folder / "a.mp4"])
    before = (tmp_path / "index" / "CURRENT").read_text()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", killed)  # dies while writing the next version
    with pytest.raises(KeyboardInterrupt):
        ClipIndex.open(tmp_path / "index").add(pipe, list_videos(folder))
    monkeypatch.undo()
    assert (tmp_path / "index" / "CURRENT").read_text() == before
    survivor = ClipIndex.open(tmp_path / "index")
    assert len(survivor) == 3 and survivor.search(pipe, "w1", k=1)[0].words == [1, 1]
    survivor.add(pipe, list_videos(folder))  # the next add finishes and clears the debris
    assert len(ClipIndex.open(tmp_path / "index")) == 9
    assert len([p for p in (tmp_path / "index").iterdir() if p.is_dir()]) == 1


def test_an_index_is_refused_for_another_model_and_a_missing_one_is_named(videos, tmp_path):
    folder, pipe = videos
    ClipIndex.open(tmp_path / "index", create=True).add(pipe, [folder / "a.mp4"])
    other = Stand(tmp_path / "other-model", pipe.words)
    with pytest.raises(ValueError, match="built with the model"):
        ClipIndex.open(tmp_path / "index").search(other, "w1")
    with pytest.raises(FileNotFoundError, match="not a clip index"):
        ClipIndex.open(tmp_path / "nowhere")
