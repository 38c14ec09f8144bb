"""The whole pipeline on a few built-in videos: `videobert demo` with a tiny budget.

Real H.264 files, the real I3D backbone (at a small input size), the real tokenizer, the real
trainer and every task; only the sizes are small. `make demo` is the full-size run.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from videobert.cli import main

pytestmark = pytest.mark.slow


def test_demo_runs_every_stage_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo"
    settings = [
        "features.size=32", "codebook.depth=1", "train.steps=6", "train.batch_size=2",
        "train.eval_every=3", "train.eval_batch_size=8", "train.save_every=3",
        "evaluate.caption_epochs=2", "evaluate.finetune_epochs=1", "evaluate.max_queries=8",
    ]
    argv = ["demo", "--out", str(out), "--n-videos", "6", "--workers", "1", "--data-size"]
    for s in settings:
        argv += ["--set", s]
    assert main(argv) == 0

    report = out / "report"
    figures = json.loads((report / "figures.json").read_text())
    from videobert.tasks.registry import TASKS

    for key in (*TASKS, "data_size", "quality_bars", "pretraining"):  # every registered task
        assert key in figures, key
    methods = [r["method"] for r in figures["zero_shot"]["rows"]]
    assert methods[0].startswith("language prior") and methods[1].startswith("cross-modal")
    assert [r["corpus"] for r in figures["data_size"]] == ["full corpus", "half corpus"]
    from videobert.pipeline import side_by_side_possible

    if side_by_side_possible():  # the half-corpus run pretrained in a child process
        assert "model saved to" in (out / "runs" / "half" / "pretrain.log").read_text()
    assert set(figures["captioning"]["metrics"]) == {"clip", "videobert", "videobert+clip"}
    md = (report / "README.md").read_text()
    assert "## Quality bars" in md and "## Zero-shot" in md and "## Captioning" in md
    for png in ("training_curves.png", "confusion_verb.png", "confusion_noun.png"):
        assert (report / png).stat().st_size > 1000
    assert list(report.glob("text2video_*.png")) and list(report.glob("forecast_*.png"))
    # evaluation videos never enter the pretraining corpus
    train_ids = set((out / "train_videos.txt").read_text().split())
    gt = json.loads((out / "data" / "ground_truth.json").read_text())
    corpus_ids = set(pq.read_table(out / "corpus" / "videos.parquet")["video_id"].to_pylist())
    for shard in (out / "corpus").glob("shard-*.parquet"):
        corpus_ids |= set(pq.read_table(shard)["video_id"].to_pylist())
    assert all(gt["videos"][v]["split"] == "train" for v in train_ids)
    assert corpus_ids <= train_ids
    assert "report:" in capsys.readouterr().out

    # The trained model on videos it never saw: prepare them with its recorded settings
    # (clip grid, backbone, 32 px), assign them to its codebook (no re-fit), run the tasks.
    model = out / "runs" / "full" / "model"
    centroids = (model / "codebook" / "centroids.npy").read_bytes()
    # the demo's model reads each clip's feature (I3D and the flow stream) beside its word
    assert json.loads((model / "config.json").read_text())["clip_feature_dim"] == 1024 + 144
    new = tmp_path / "new"
    assert main(["synth", str(new), "--n-videos", "5", "--seed", "11", "--val-fraction", "0.4",
                 "--no-speech"]) == 0
    prepared = tmp_path / "prepared"
    assert main(["prepare", str(model), str(new / "manifest.jsonl"), "--out", str(prepared),
                 "--no-asr", "--no-progress"]) == 0
    recorded = json.loads((prepared / "features" / "manifest.json").read_text())
    assert (recorded["size"], recorded["backbone"]) == (32, "i3d/2+flow")
    assert (model / "codebook" / "centroids.npy").read_bytes() == centroids
    words = pq.read_table(prepared / "words" / "assignments.parquet")
    new_gt = json.loads((new / "ground_truth.json").read_text())
    assert set(words["video_id"].to_pylist()) == set(new_gt["videos"])
    common = ["--model", str(model), "--words", str(prepared / "words"),
              "--ground-truth", str(new / "ground_truth.json")]
    assert main(["zeroshot", *common, "--out", str(tmp_path / "r1")]) == 0
    zero_shot = json.loads((tmp_path / "r1" / "zeroshot.json").read_text())
    n_val_steps = sum(len(v["steps"]) for v in new_gt["videos"].values() if v["split"] == "val")
    assert 0 < zero_shot["n_examples"] <= n_val_steps
    assert any("linear probe" in r["method"] for r in zero_shot["rows"])  # features found
    assert main(["retrieval", *common, "--out", str(tmp_path / "r2")]) == 0
    assert main(["caption", "--model", str(model), "--words", str(prepared / "words"), "--features",
                 str(prepared / "features"), "--ground-truth", str(new / "ground_truth.json"),
                 "--epochs", "1", "--out", str(tmp_path / "r3")]) == 0
    captions = json.loads((tmp_path / "r3" / "caption.json").read_text())
    assert 0 < captions["n_val_steps"] <= n_val_steps

    # ... and from Python: the same words as prepare's, then answers per stretch of video
    from videobert.api import Pipeline

    pipe = Pipeline.from_pretrained(model, device="cpu")
    video_id = sorted(new_gt["videos"])[0]
    prepared_words = words.filter(pq.read_table(prepared / "words" / "assignments.parquet")
                                  .column("video_id").to_numpy(zero_copy_only=False) == video_id)
    mine = pipe.clip_words(new / "videos" / f"{video_id}.mp4")
    assert mine.words.tolist() == prepared_words["word"].to_pylist()
    assert mine.features is not None and mine.features.shape == (len(mine.words), 1024 + 144)
    verbs = (new / "verbs.txt").read_text().split()
    nouns = (new / "nouns.txt").read_text().split()
    predictions = pipe.classify(mine, verbs, nouns, window=3.0)
    assert len(predictions) == -(-len(mine.words) // 2)  # 2 clips of 1.5 s per window
    assert predictions[0].start == 0.0 and predictions[-1].end >= len(mine.words) * 1.5 - 1e-6
    assert all(p.verb in verbs and p.noun in nouns for p in predictions)
    probs = [prob for _, prob in predictions[0].verbs]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    everything = pipe.classify(mine, verbs, nouns, top_k=len(verbs))[0]
    assert abs(sum(prob for _, prob in everything.verbs) - 1) < 1e-5  # a softmax over the list
    import av
    import torch

    path = new / "videos" / f"{video_id}.mp4"
    with av.open(str(path)) as container:  # the other kinds of video the API takes
        assert pipe.clip_words(container).words.tolist() == mine.words.tolist()
    clips = pipe.clips(path)
    assert pipe.clip_words(torch.from_numpy(clips)).words.tolist() == mine.words.tolist()
    with pytest.raises(TypeError, match="a video is a path"):
        pipe.clip_words(3.5)
    # captions from the captioner the demo's evaluate kept beside the model
    assert pipe.can_caption
    captions = pipe.caption(new / "videos" / f"{video_id}.mp4", window=3.0)
    assert len(captions) == len(predictions) and all(isinstance(c.text, str) for c in captions)
    assert captions[0].start == 0.0
    assert len(pipe.caption(mine)) == 1  # the words already read, one caption for it all
    whole = pipe.classify(new / "videos" / f"{video_id}.mp4", verbs, nouns)
    assert len(whole) == 1 and len(whole[0].verbs) == 5
    text, video, both = (pipe.embed(text="cut the tomato"), pipe.embed(video=mine),
                         pipe.embed(text="cut the tomato", video=mine))
    assert text.shape == video.shape == both.shape and abs(float(both @ both) - 1) < 1e-5
    story = pipe.storyboard("cut the tomato")
    assert len(story.words) == 8 and all(0 <= w < pipe.codebook.n_words for w in story.words)

    # ... and a searchable index of the new videos, grown one video at a time
    videos = sorted((new / "videos").glob("*.mp4"))
    index_dir = tmp_path / "index"
    assert main(["index", "add", str(videos[0]), "--model", str(model), "--out",
                 str(index_dir)]) == 0
    from videobert.index import ClipIndex

    first = len(ClipIndex.open(index_dir))
    assert first == len(pipe.clip_words(videos[0]).words) - 1  # windows of 2 clips, stride 1
    assert main(["index", "add", str(new / "videos"), "--model", str(model), "--out",
                 str(index_dir)]) == 0
    index = ClipIndex.open(index_dir)
    assert len(index) > first and index.meta["n_videos"] == len(videos)
    hits = pipe.search("cut the tomato", index_dir, k=3)
    assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score
    assert all(h.video in {str(v.resolve()) for v in videos} and h.end > h.start for h in hits)
    assert index.thumbnail(hits[0].row)[:2] == b"\xff\xd8"  # a JPEG of the window's frame
    capsys.readouterr()
    assert main(["index", "search", str(index_dir), "cut the tomato", "--model", str(model),
                 "-k", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2
    versions = sorted(p.name for p in index_dir.iterdir())
    assert main(["index", "add", str(new / "videos"), "--model", str(model), "--out",
                 str(index_dir)]) == 0  # nothing new: the same version, nothing embedded
    assert sorted(p.name for p in index_dir.iterdir()) == versions

    # ... and the same from one command: raw videos -> every task's figures
    report = tmp_path / "r4"
    assert main(["evaluate", str(out / "runs" / "full"), "--videos", str(new / "manifest.jsonl"),
                 "--ground-truth", str(new / "ground_truth.json"), "--out", str(report),
                 "--caption-epochs", "1", "--max-queries", "8"]) == 0
    figures = json.loads((report / "figures.json").read_text())
    assert figures["words"] == str(report / "prepared" / "words")
    for key in ("zero_shot", "retrieval", "captioning"):
        assert key in figures, key
    assert (model / "codebook" / "centroids.npy").read_bytes() == centroids  # still no re-fit


def test_demo_refuses_an_override_of_no_known_section(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--set", "trian.steps=3"]) == 2
    assert "trian.steps=3" in capsys.readouterr().out
    assert not out.exists()  # nothing was started
