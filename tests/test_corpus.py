"""The corpus stage: segments + codebook + WordPiece tokenizer -> Parquet shards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from videobert.config import CorpusConfig
from videobert.io import EXIT_SKIPPED
from videobert.sequences.corpus import run_corpus
from videobert.sequences.tokenizer import load_tokenizer
from videobert.vocab import VocabLayout

N_WORDS = 9  # a k=3, depth=2 codebook
WORDS = {"pan": [7, 3, 3, 8, 1], "saw": [2, 2, 0], "silent": [5, 6]}


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def write_codebook(folder: Path, words: dict[str, list[int]], n_words: int = N_WORDS) -> None:
    """A codebook folder by hand: known words per clip, so visual ids can be checked exactly."""
    folder.mkdir(parents=True)
    np.save(folder / "centroids.npy", np.zeros((n_words, 4), np.float32))
    (folder / "meta.json").write_text(json.dumps({"n_words": n_words, "k": 3, "depth": 2}))
    rows = [(vid, clip, w) for vid, ws in words.items() for clip, w in enumerate(ws)]
    rows.reverse()  # the stage must sort by video and clip itself
    table = pa.table(
        {
            "video_id": [r[0] for r in rows],
            "clip": pa.array([r[1] for r in rows], pa.int32()),
            "word": pa.array([r[2] for r in rows], pa.int32()),
        }
    )
    pq.write_table(table, folder / "assignments.parquet")


def write_segments(folder: Path, videos: dict[str, list[tuple]], extra: list[dict]) -> None:
    """``<id>.parquet`` (start, end, text, first_clip, last_clip) + manifest, like ingest."""
    folder.mkdir(parents=True)
    entries = []
    for vid, rows in videos.items():
        table = pa.table(
            {
                "video_id": [vid] * len(rows),
                "start": pa.array([r[0] for r in rows], pa.float64()),
                "end": pa.array([r[1] for r in rows], pa.float64()),
                "text": [r[2] for r in rows],
                "first_clip": pa.array([r[3] for r in rows], pa.int64()),
                "last_clip": pa.array([r[4] for r in rows], pa.int64()),
            }
        )
        pq.write_table(table, folder / f"{vid}.parquet")
        n_clips = len(WORDS.get(vid, []))
        entries.append({"id": vid, "video": f"/videos/{vid}.mp4", "n_clips": n_clips})
    manifest = {"config": {}, "videos": entries + extra, "skipped": []}
    (folder / "manifest.json").write_text(json.dumps(manifest))


SEGMENTS = {
    "pan": [
        (3.0, 7.4, "Add two eggs, then stir!", 2, 4),  # out of time order on purpose
        (0.0, 2.9, "Heat the pan.", 0, 1),
        (7.5, 9.0, "Past the end of the video", 5, 6),  # no clips left: dropped with a note
        (4.5, 14.0, "Keep stirring", 3, 9),  # clamped to clips 3..4
    ],
    "saw": [(0.0, 1.4, "Measure twice", 0, 0), (1.5, 4.0, "", 1, 2)],  # empty text: dropped
    "knit": [(0.0, 1.0, "Cast on", 0, 0)],  # the codebook has no words for it: skipped
    "silent": [],  # no speech: only in videos.parquet
}


@pytest.fixture
def corpus_inputs(tmp_path: Path):
    write_codebook(tmp_path / "codebook", WORDS)
    write_segments(tmp_path / "segments", SEGMENTS, extra=[{"id": "ghost", "video": "g.mp4"}])
    return tmp_path


def read_rows(out: Path) -> list[dict]:
    rows = []
    for shard in sorted(out.glob("shard-*.parquet")):
        rows += pq.read_table(shard).to_pylist()
    return rows


def test_corpus_examples_have_the_right_visual_and_text_ids(corpus_inputs: Path, tokenizer):
    root = corpus_inputs
    out = root / "corpus"
    report = run_corpus(root / "segments", root / "codebook", out, CorpusConfig(shard_size=2))

    skipped = {Path(s.file).name: s.reason for s in report.skipped}
    assert set(skipped) == {"knit.parquet", "ghost.parquet"}
    assert "no visual words" in skipped["knit.parquet"] and "missing" in skipped["ghost.parquet"]
    assert report.exit_code() == EXIT_SKIPPED

    shards = sorted(p.name for p in out.glob("shard-*.parquet"))
    assert shards == ["shard-00000.parquet", "shard-00001.parquet"]  # 4 examples, 2 per shard
    schema = pq.read_schema(out / shards[0])
    assert schema.field("text_ids").type == pa.list_(pa.int32())
    assert schema.field("visual_ids").type == pa.list_(pa.int32())

    rows = read_rows(out)
    keys = ("video_id", "text", "visual_ids", "first_clip", "last_clip")
    got = [tuple(r[k] for k in keys) for r in rows]
    assert got == [
        ("pan", "Heat the pan.", [7, 3], 0, 1),
        ("pan", "Add two eggs, then stir!", [3, 8, 1], 2, 4),
        ("pan", "Keep stirring", [8, 1], 3, 4),
        ("saw", "Measure twice", [2], 0, 0),
    ]
    for row in rows:
        ids = row["text_ids"]
        assert tokenizer.cls_token_id not in ids and tokenizer.sep_token_id not in ids
        # uncased WordPiece: decoding gives the lower-cased text (spacing around punctuation
        # depends on the transformers version, so compare without spaces)
        assert tokenizer.decode(ids).replace(" ", "") == row["text"].lower().replace(" ", "")

    videos = pq.read_table(out / "videos.parquet").to_pydict()
    assert dict(zip(videos["video_id"], videos["visual_ids"], strict=True)) == WORDS

    meta = json.loads((out / "meta.json").read_text())
    layout = VocabLayout.from_dict(meta["layout"])
    assert layout.n_visual == N_WORDS  # read from the codebook
    assert layout.n_text == len(tokenizer.get_vocab()) == 30522
    assert layout.size == meta["vocab_size"] == 30522 + 1 + N_WORDS
    assert meta["counts"]["examples"] == 4 and meta["counts"]["videos"] == 3
    assert meta["counts"]["visual_tokens"] == 2 + 3 + 2 + 1
    assert meta["counts"]["segments_dropped"] == 2
    assert {n["reason"].split(" with ")[1].split(":")[0] for n in meta["notes"]} == {
        "no clips of the video",
        "no text tokens",
    }
    assert meta["codebook"] == str((root / "codebook").resolve())
    # the saved tokenizer copy gives the same ids
    copy = load_tokenizer(str(out / meta["tokenizer_dir"]))
    assert copy("Heat the pan.", add_special_tokens=False)["input_ids"] == rows[0]["text_ids"]


def test_corpus_is_skipped_when_complete_and_rebuilt_when_inputs_change(corpus_inputs: Path):
    root = corpus_inputs
    out = root / "corpus"
    run_corpus(root / "segments", root / "codebook", out, CorpusConfig())
    stamp = (out / "shard-00000.parquet").stat().st_mtime_ns
    again = run_corpus(root / "segments", root / "codebook", out, CorpusConfig())
    assert (out / "shard-00000.parquet").stat().st_mtime_ns == stamp
    assert len(again.skipped) == 2  # the same inputs are reported as skipped again
    run_corpus(root / "segments", root / "codebook", out, CorpusConfig(shard_size=1))
    assert len(list(out.glob("shard-*.parquet"))) == 4


def test_corpus_keeps_only_listed_videos(corpus_inputs: Path):
    root = corpus_inputs
    listed = root / "train_videos.txt"
    listed.write_text("# the train split\nsaw\n\n")
    out = root / "corpus"
    run_corpus(root / "segments", root / "codebook", out, CorpusConfig(videos=str(listed)))
    assert {r["video_id"] for r in read_rows(out)} == {"saw"}
    videos = pq.read_table(out / "videos.parquet").to_pydict()
    assert videos["video_id"] == ["saw"]  # unlisted videos give no video-only examples either
    listed.write_text("saw\npan\n")  # a changed list rebuilds the corpus
    run_corpus(root / "segments", root / "codebook", out, CorpusConfig(videos=str(listed)))
    assert {r["video_id"] for r in read_rows(out)} == {"saw", "pan"}
    with pytest.raises(FileNotFoundError, match="video list not found"):
        run_corpus(root / "segments", root / "codebook", root / "c2",
                   CorpusConfig(videos=str(root / "nope.txt")))


def test_corpus_rejects_an_inconsistent_codebook(corpus_inputs: Path):
    root = corpus_inputs
    (root / "codebook" / "meta.json").write_text(json.dumps({"n_words": 27}))
    with pytest.raises(ValueError, match="27 words"):
        run_corpus(root / "segments", root / "codebook", root / "out", CorpusConfig())
    with pytest.raises(FileNotFoundError, match="complete codebook"):
        run_corpus(root / "segments", root / "nothing", root / "out", CorpusConfig())


def test_tokenizer_default_is_offline_wordpiece_and_bad_names_are_clear(tmp_path: Path):
    tok = load_tokenizer(None)
    assert tok.is_fast and tok.mask_token == "[MASK]"
    ids = tok("unaffable", add_special_tokens=False)["input_ids"]
    assert len(ids) > 1 and tok.convert_ids_to_tokens(ids)[1].startswith("##")  # WordPiece
    long_text = "word " * 300  # no truncation and no padding from tokenizer.json
    assert len(tok(long_text, add_special_tokens=False)["input_ids"]) == 300
    with pytest.raises(ValueError, match="does not exist"):
        load_tokenizer(str(tmp_path / "no-such-tokenizer"))


def test_cli_corpus_with_a_tokenizer_folder(corpus_inputs: Path):
    from videobert.cli import main
    from videobert.resources import minilm_dir

    root = corpus_inputs
    argv = ["corpus", str(root / "segments"), str(root / "codebook"), str(root / "c")]
    assert main(argv + ["--tokenizer", str(minilm_dir()), "--shard-size", "3"]) == EXIT_SKIPPED
    assert len(read_rows(root / "c")) == 4
    assert len(list((root / "c").glob("shard-*.parquet"))) == 2
    assert main(["corpus", str(root / "nothing"), str(root / "codebook"), str(root / "d")]) == 1


def test_codebook_stage_output_feeds_the_corpus(tmp_path: Path):
    """features -> codebook stage -> corpus: the corpus visual ids are the codebook's words."""
    from videobert.config import CodebookConfig
    from videobert.visual_words import Codebook
    from videobert.visual_words.stage import run_codebook

    rng = np.random.default_rng(0)
    features = tmp_path / "features"
    features.mkdir()
    arrays = {"a": rng.standard_normal((12, 8)), "b": rng.standard_normal((7, 8))}
    for vid, x in arrays.items():
        np.save(features / f"{vid}.npy", x.astype(np.float16))
    (features / "manifest.json").write_text(json.dumps({
        "backbone": "npy", "weights": None, "dim": 8, "fps": 20.0, "clip_frames": 30,
        "size": 224, "videos": {v: {"n_clips": len(x)} for v, x in arrays.items()},
    }))
    run_codebook(features, tmp_path / "cb", CodebookConfig(k=2, depth=2, niter=5, exemplars=0))
    write_segments(tmp_path / "segments", {"a": [(0.0, 3.0, "Fold the paper", 1, 4)]}, [])
    run_corpus(tmp_path / "segments", tmp_path / "cb", tmp_path / "corpus", CorpusConfig())
    (row,) = read_rows(tmp_path / "corpus")
    words = Codebook.load(tmp_path / "cb").assign(arrays["a"].astype(np.float16))
    assert row["visual_ids"] == words[1:5].tolist()
    layout = json.loads((tmp_path / "corpus" / "meta.json").read_text())["layout"]
    assert layout["n_visual"] == 4


def test_real_ingest_to_codebook_to_corpus(tmp_path: Path, samples: Path):
    """The contracts between stages, on real media: ingest (PyAV + SRT) -> synthetic features
    of the right shape -> codebook stage (exemplars from the real video) -> corpus."""
    from videobert.config import CodebookConfig, IngestConfig
    from videobert.ingest.stage import run_ingest
    from videobert.visual_words.stage import run_codebook

    video, subtitle = samples / "mmaction2_demo.mp4", samples / "moviepy_subtitles.srt"
    for path in (video, subtitle):
        if not path.exists():
            pytest.skip(f"sample {path.name} not found in {samples}")
    listing = tmp_path / "videos.csv"
    listing.write_text(f"id,video,subtitle\ndemo,{video},{subtitle}\n")
    ingest = IngestConfig(asr=False)
    run_ingest(listing, tmp_path / "segments", ingest, progress=False)
    (entry,) = json.loads((tmp_path / "segments" / "manifest.json").read_text())["videos"]
    n_clips = entry["n_clips"]
    assert n_clips == 7  # 10 s at 1.5 s per clip: 6 full clips + a 2/3 one (min_last_clip)

    features = tmp_path / "features"
    features.mkdir()
    x = np.random.default_rng(0).standard_normal((n_clips, 16)).astype(np.float16)
    np.save(features / "demo.npy", x)
    (features / "manifest.json").write_text(json.dumps({
        "backbone": "npy", "weights": None, "dim": 16, "fps": ingest.fps,
        "clip_frames": ingest.clip_frames, "size": 224, "videos": {"demo": {"n_clips": n_clips}},
    }))
    config = CodebookConfig(k=2, depth=2, niter=5, exemplars=1)
    report = run_codebook(features, tmp_path / "cb", config, tmp_path / "segments")
    assert report.skipped == []
    assert len(list((tmp_path / "cb" / "exemplars").glob("word_*.jpg"))) >= 2

    run_corpus(tmp_path / "segments", tmp_path / "cb", tmp_path / "corpus", CorpusConfig())
    words = pq.read_table(tmp_path / "corpus" / "videos.parquet").to_pydict()["visual_ids"][0]
    assert len(words) == n_clips
    segments = pq.read_table(tmp_path / "segments" / "demo.parquet").to_pylist()
    rows = read_rows(tmp_path / "corpus")
    assert [r["text"] for r in rows] == [s["text"] for s in segments]  # all within the video
    tok = load_tokenizer()
    for row in rows:
        assert row["visual_ids"] == words[row["first_clip"] : row["last_clip"] + 1]
        assert tok.decode(row["text_ids"]).replace(" ", "") == row["text"].lower().replace(" ", "")


def _other_dataset(root: Path, n: int = 10) -> Path:
    """Segments of another dataset: ten videos the codebook has never seen."""
    videos = {f"other{i}": [(0.0, 1.0, "Fold the paper", 0, 0)] for i in range(n)}
    write_segments(root / "other_segments", videos, extra=[])
    return root / "other_segments"


def test_corpus_refuses_the_codebook_of_another_dataset(corpus_inputs: Path, capsys):
    """It used to write an empty corpus and say '10 skipped'; now it names both folders."""
    from videobert.cli import main

    root = corpus_inputs
    segments = _other_dataset(root)
    (root / "out").mkdir()
    (root / "out" / "meta.json").write_text("{}")  # an earlier corpus must survive the refusal
    code = main(["corpus", str(segments), str(root / "codebook"), str(root / "out")])
    assert code == 1
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert "Traceback" not in err and "skipped" not in err
    assert line.startswith(f"videobert corpus: error: codebook {root / 'codebook'} does not "
                           f"match segments {segments}: only 0 of the 10 videos")
    assert "other0" in line and "pan" in line  # examples of each side's video ids
    assert (root / "out" / "meta.json").read_text() == "{}"
    assert not list((root / "out").glob("shard-*"))


def test_corpus_with_few_matching_videos_needs_a_codebook_made_for_these_segments(
        corpus_inputs: Path):
    root = corpus_inputs
    write_segments(root / "mixed", {"pan": SEGMENTS["pan"],
                                    **{f"other{i}": [(0.0, 1.0, "Fold", 0, 0)] for i in range(5)}},
                   extra=[])
    with pytest.raises(ValueError, match="only 1 of the 6 videos"):
        run_corpus(root / "mixed", root / "codebook", root / "c1", CorpusConfig())
    # the same codebook, recorded as made for these segments (its features skipped 5 videos)
    meta = json.loads((root / "codebook" / "meta.json").read_text())
    meta["segments"] = str((root / "mixed").resolve())
    (root / "codebook" / "meta.json").write_text(json.dumps(meta))
    report = run_corpus(root / "mixed", root / "codebook", root / "c2", CorpusConfig())
    assert report.exit_code() == EXIT_SKIPPED and len(report.skipped) == 5
    assert {r["video_id"] for r in read_rows(root / "c2")} == {"pan"}


def test_corpus_reads_the_augmented_views_of_its_features(tmp_path: Path):
    """features/views/K (features.views) -> Corpus.clip_views: each view's clips normalised as
    the codebook saw the plain ones and assigned to its words; unfinished views are left out."""
    from videobert.artifacts.corpus import Corpus
    from videobert.artifacts.features import normalize_video
    from videobert.config import CodebookConfig
    from videobert.visual_words import Codebook
    from videobert.visual_words.stage import run_codebook

    rng = np.random.default_rng(0)
    arrays = {"a": rng.standard_normal((12, 8)), "b": rng.standard_normal((7, 8))}

    def write_features(folder: Path, scale: float, finished: bool = True) -> None:
        folder.mkdir(parents=True)
        for vid, x in arrays.items():
            np.save(folder / f"{vid}.npy", (x * scale + 0.1).astype(np.float16))
        if finished:
            (folder / "manifest.json").write_text(json.dumps({
                "backbone": "npy", "weights": None, "dim": 8, "fps": 20.0, "clip_frames": 30,
                "size": 224, "videos": {v: {"n_clips": len(x)} for v, x in arrays.items()}}))

    features = tmp_path / "features"
    write_features(features, 1.0)
    write_features(features / "views" / "1", -1.0)
    write_features(features / "views" / "2", 0.5, finished=False)  # still being extracted
    run_codebook(features, tmp_path / "cb", CodebookConfig(k=2, depth=2, niter=5, exemplars=0))
    write_segments(tmp_path / "segments", {"a": [(0.0, 3.0, "Fold the paper", 1, 4)],
                                           "b": [(0.0, 3.0, "Cut it", 0, 2)]}, [])
    run_corpus(tmp_path / "segments", tmp_path / "cb", tmp_path / "corpus", CorpusConfig())
    corpus = Corpus.load(tmp_path / "corpus")
    (view,) = corpus.clip_views()
    assert view.folder.name == "1"
    codebook = Codebook.load(tmp_path / "cb")
    for vid in arrays:
        seen = normalize_video(np.load(features / "views" / "1" / f"{vid}.npy")
                               .astype(np.float32), codebook.meta.get("normalize", "none"))
        assert np.allclose(view.features[vid], seen, atol=1e-2)
        assert np.array_equal(view.words[vid], codebook.assign(
            view.features[vid].astype(np.float32)))
    assert any(not np.array_equal(view.words[v], corpus.videos[v]) for v in arrays)
