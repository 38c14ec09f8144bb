"""Public datasets' files read as distributed: YouCook2's annotations, HowTo100M's caption.json
and video list. The tests write small files in those formats (never committed) and run them
through ingest and, for YouCook2, through features, a codebook and evaluate, unconverted.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from ingest_media import noise_frames, write_video
from videobert.cli import main
from videobert.formats import FormatError, howto100m, youcook2
from videobert.formats.verb_noun import singular, top_k, verb_noun
from videobert.ingest.stage import run_ingest, safe_id
from videobert.tasks.steps import load_ground_truth

# YouTube ids (file stems); one starts with "_" and one has a "-", as real ones do
TRAIN_A, TRAIN_B, VAL = "_xZ3k9Qm1aB", "Ab-4c5d6e7F", "Gh1jK2lM3nO"


def annotation(start: float, end: float, sentence: str, ident: int) -> dict:
    return {"segment": [start, end], "id": ident, "sentence": sentence}


def youcook2_file(path: Path) -> Path:
    """Three videos of 12 s: two training, one validation, one of testing (no annotations).
    Only words of the task tests' tiny tokenizer, so the labels can be scored."""
    database = {
        TRAIN_A: {"duration": 12.0, "subset": "training", "recipe_type": "113",
                  "video_url": f"https://www.youtube.com/watch?v={TRAIN_A}", "annotations": [
                      annotation(0.5, 3.5, "Cut the tomato.", 0),
                      annotation(4.0, 7.0, "then fry the onion slowly", 1),
                      annotation(7.5, 11.0, "pour the milk into the pan", 2)]},
        TRAIN_B: {"duration": 12.0, "subset": "training", "recipe_type": "113",
                  "video_url": f"https://www.youtube.com/watch?v={TRAIN_B}", "annotations": [
                      annotation(0.0, 3.0, "whisk the egg into a bowl", 0),
                      annotation(3.0, 6.5, "cut the onion with a knife", 1),
                      annotation(6.5, 11.5, "fry the egg", 2)]},
        VAL: {"duration": 12.0, "subset": "validation", "recipe_type": "201",
              "video_url": f"https://www.youtube.com/watch?v={VAL}", "annotations": [
                  annotation(0.0, 3.0, "cut the egg", 0),
                  annotation(3.0, 6.0, "pour the milk into a bowl", 1),
                  annotation(6.0, 8.5, "cut it with a knife", 2),  # knife: no train step's noun
                  annotation(8.5, 11.0, "this is good", 3)]},  # no instruction: no verb
        "testvideo01": {"duration": 30.0, "subset": "testing", "recipe_type": "201",
                        "video_url": "https://www.youtube.com/watch?v=testvideo01"},
    }
    path.write_text(json.dumps({"database": database}))
    return path


def write_videos(folder: Path, ids: list[str], seconds: float = 12.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k, vid in enumerate(ids):
        write_video(folder / f"{vid}.mp4", noise_frames(int(seconds * 5), 32, 24, seed=k), fps=5,
                    codec="mpeg4")
    return folder


# ---------------------------------------------------------------------------------------------
# Verb and noun of a step description


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Add the chopped onions to the pan.", ("add", "onion")),
    ("Then add 2 cups of flour and mix", ("add", "flour")),
    ("add a pinch of salt and pepper", ("add", "salt")),
    ("Gently fold in the whipped cream", ("fold", "cream")),
    ("heat some olive oil in a pan", ("heat", "oil")),
    ("place slices of bread on the plate", ("place", "bread")),
    ("cut the potatoes into small pieces", ("cut", "potato")),
    ("mix well", ("mix", None)),
    ("the chicken is fried", (None, None)),  # not an instruction: no verb
])
def test_verb_and_noun_of_an_instruction(sentence, expected):
    assert verb_noun(sentence) == expected


def test_plurals_and_ties():
    assert [singular(w) for w in ("tomatoes", "berries", "cookies", "leaves", "dishes",
                                  "slices", "glass", "hummus", "egg")] == [
        "tomato", "berry", "cookie", "leaf", "dish", "slice", "glass", "hummus", "egg"]
    from collections import Counter

    assert top_k(Counter({"cut": 2, "add": 2, "fry": 1, "mix": 3}), 3) == ["mix", "add", "cut"]


# ---------------------------------------------------------------------------------------------
# YouCook2's annotation file as the ground truth


def test_youcook2_file_is_a_ground_truth_with_its_splits_and_train_vocabulary(tmp_path):
    gt = load_ground_truth(youcook2_file(tmp_path / "youcookii_annotations_trainval.json"))
    assert {v: gt.videos[v]["split"] for v in gt.videos} == {
        TRAIN_A: "train", TRAIN_B: "train", VAL: "val", "testvideo01": "test"}
    assert gt.videos["testvideo01"]["steps"] == []
    # the vocabularies come from the training split only, most common first
    assert gt.verbs == ["cut", "fry", "pour", "whisk"]
    assert gt.nouns == ["egg", "onion", "milk", "tomato"]
    steps = gt.videos[VAL]["steps"]
    assert [(s["verb"], s["noun"]) for s in steps] == [
        ("cut", "egg"), ("pour", "milk"), ("cut", "knife"), ("", "")]
    assert steps[0] == {"verb": "cut", "noun": "egg", "start": 0.0, "end": 3.0,
                        "caption": "cut the egg"}
    assert gt.relevance == "caption"
    vocabulary = gt.vocabulary
    assert vocabulary["steps"] == {"train": 6, "val": 4}
    assert vocabulary["outside_vocabulary"] == {"val": 1}  # "cut it with a knife"
    assert vocabulary["no_verb_or_noun"] == {"val": 1}  # "this is good"
    assert vocabulary["max_verbs"] == 45 and vocabulary["max_nouns"] == 100


def test_youcook2_vocabulary_is_the_top_k_of_training(tmp_path):
    data = json.loads(youcook2_file(tmp_path / "yc2.json").read_text())
    small = youcook2.ground_truth(data, "yc2.json", n_verbs=2, n_nouns=1)
    assert small["verbs"] == ["cut", "fry"] and small["nouns"] == ["egg"]
    # train: 6 steps, of which only "fry the egg" has both in the lists
    assert small["vocabulary"]["outside_vocabulary"] == {"train": 5, "val": 2}


@pytest.mark.parametrize(("change", "message"), [
    (lambda db: db[VAL].update(subset="dev"), f"database['{VAL}'].subset must be one of"),
    (lambda db: db[VAL]["annotations"][1].update(segment=[3.0]),
     f"database['{VAL}'].annotations[1].segment must be [start, end] in seconds"),
    (lambda db: db[VAL]["annotations"][0].update(segment=[5.0, 2.0]),
     "must have 0 <= start <= end"),
    (lambda db: db[VAL]["annotations"][2].pop("sentence"),
     f"database['{VAL}'].annotations[2].sentence must be a string"),
    (lambda db: db.update({VAL: []}), f"database['{VAL}'] must be an object"),
])
def test_a_malformed_youcook2_file_names_the_file_and_key(tmp_path, change, message):
    path = youcook2_file(tmp_path / "yc2.json")
    data = json.loads(path.read_text())
    change(data["database"])
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="yc2.json") as caught:
        load_ground_truth(path)
    assert message in str(caught.value)


def test_evaluate_names_a_malformed_youcook2_file_in_one_line(world, tmp_path, capsys):
    from test_tasks_fixtures import make_layout, make_model, make_tokenizer

    make_model(make_layout()).save_pretrained(tmp_path / "run" / "model",
                                              tokenizer=make_tokenizer(),
                                              codebook_dir=world.codebook)
    path = youcook2_file(tmp_path / "yc2.json")
    data = json.loads(path.read_text())
    data["database"][TRAIN_A]["annotations"][0]["segment"] = "0-3"
    path.write_text(json.dumps(data))
    assert main(["evaluate", str(tmp_path / "run"), "--ground-truth", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and (
        f"database['{TRAIN_A}'].annotations[0].segment" in err)


# ---------------------------------------------------------------------------------------------
# HowTo100M's files


def howto100m_files(root: Path, ids: list[str]) -> tuple[Path, Path]:
    captions = {vid: {"start": [0.0, 2.1, 4.4, 9.0], "end": [2.0, 4.3, 6.0, 11.0],
                      "text": ["so now we take the", "onion and cut it", float("nan"),
                               "and that is it"]} for vid in ids}
    captions[ids[0]]["start"][3] = -5.0  # a cue with a bad time: dropped and reported
    caption_json = root / "caption.json"
    caption_json.write_text(json.dumps(captions))  # NaN as the real file has it
    video_list = root / "HowTo100M_v1.csv"
    with video_list.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["video_id", "category_1", "category_2", "rank", "task_id"])
        for rank, vid in enumerate([*ids, "notDownload"], 1):
            writer.writerow([vid, "Food and Entertaining", "Recipes", rank, 11967])
    return caption_json, video_list


def test_howto100m_video_list_and_caption_checks(tmp_path):
    _, video_list = howto100m_files(tmp_path, ["aaa", "bbb"])
    assert howto100m.read_video_list(video_list) == ["aaa", "bbb", "notDownload"]
    (tmp_path / "ids.txt").write_text("aaa\n\n# a comment\nbbb\naaa\n")
    assert howto100m.read_video_list(tmp_path / "ids.txt") == ["aaa", "bbb"]
    (tmp_path / "bad.csv").write_text("id,rank\naaa,1\n")
    with pytest.raises(FormatError, match=r"bad\.csv: a video list needs a 'video_id' column"):
        howto100m.read_video_list(tmp_path / "bad.csv")
    with pytest.raises(FormatError, match=r"c\.json: \['v'\] has lists of different lengths"):
        howto100m.check_captions({"v": {"start": [0], "end": [1, 2], "text": ["a"]}}, "c.json")


def test_ingest_reads_howto100m_captions_for_the_listed_videos(tmp_path):
    videos = write_videos(tmp_path / "videos", ["hw1", "hw2", "other"], seconds=12.0)
    caption_json, video_list = howto100m_files(tmp_path, ["hw1", "hw2"])
    out = tmp_path / "segments"
    report = run_ingest(videos, out, progress=False, transcripts=caption_json,
                        video_list=video_list)
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(e["id"] for e in manifest["videos"]) == ["hw1", "hw2"]  # "other": not listed
    assert {e["transcript_source"] for e in manifest["videos"]} == {"howto100m"}
    assert manifest["transcripts"]["format"] == "howto100m"
    # the listed video that is not there is reported, not fatal
    assert (out / "missing.txt").read_text().split() == ["notDownload"]
    assert any("1 of the 3 videos in HowTo100M_v1.csv are not in the input" in n
               for n in manifest["notes"])
    assert any("1 videos of the input are not in HowTo100M_v1.csv" in n for n in manifest["notes"])
    # hw1's bad cue is dropped and reported by file, video and cue; hw2's text is all there
    assert [s["file"] for s in manifest["skipped"]] == [str(caption_json)]
    assert "caption.json['hw1'] cue 4" in manifest["skipped"][0]["reason"]
    assert report.exit_code() == 3
    text = " ".join(pq.read_table(out / "hw2.parquet")["text"].to_pylist())
    assert text == "so now we take the onion and cut it and that is it"

    # a re-run reuses both; an edit to hw2's entry redoes hw2 alone
    run_ingest(videos, out, progress=False, transcripts=caption_json, video_list=video_list)
    assert json.loads((out / "manifest.json").read_text())["counts"]["reused"] == 2
    captions = json.loads(caption_json.read_text())
    captions["hw2"]["text"][3] = "and that is all"
    caption_json.write_text(json.dumps(captions))
    run_ingest(videos, out, progress=False, transcripts=caption_json, video_list=video_list)
    assert json.loads((out / "manifest.json").read_text())["counts"]["reused"] == 1
    assert pq.read_table(out / "hw2.parquet")["text"].to_pylist()[-1] == "and that is all"


# ---------------------------------------------------------------------------------------------
# YouCook2: ingest -> features -> codebook -> evaluate, on the annotation file as it is


def test_youcook2_file_goes_through_ingest_and_evaluate_unconverted(tmp_path, one_torch_thread):
    from test_tasks_fixtures import make_tokenizer
    from videobert.model import VideoBert, tiny_config
    from videobert.vocab import VocabLayout

    annotations = youcook2_file(tmp_path / "youcookii_annotations_trainval.json")
    videos = write_videos(tmp_path / "videos", [TRAIN_A, TRAIN_B, VAL])
    assert safe_id(TRAIN_A) == TRAIN_A  # a YouTube id's own "_" is kept
    seg, feats, codebook = tmp_path / "segments", tmp_path / "features", tmp_path / "codebook"
    assert main(["ingest", str(videos), str(seg), "--transcripts", str(annotations),
                 "--no-asr", "--no-progress"]) == 0
    manifest = json.loads((seg / "manifest.json").read_text())
    assert {e["id"]: e["transcript_source"] for e in manifest["videos"]} == dict.fromkeys(
        [TRAIN_A, TRAIN_B, VAL], "youcook2")
    # every annotation is one sentence, on the clips it overlaps (1.5 s clips)
    rows = pq.read_table(seg / f"{TRAIN_A}.parquet").to_pylist()
    assert [(r["text"], r["start"], r["end"], r["first_clip"], r["last_clip"]) for r in rows] == [
        ("Cut the tomato.", 0.5, 3.5, 0, 2), ("then fry the onion slowly", 4.0, 7.0, 2, 4),
        ("pour the milk into the pan", 7.5, 11.0, 5, 7)]

    assert main(["features", str(seg), str(feats), "--weights", "random", "--size", "32",
                 "--workers", "0", "--no-progress"]) == 0
    assert main(["codebook", str(feats), str(codebook), "--k", "3", "--depth", "1"]) == 0
    tokenizer = make_tokenizer()
    layout = VocabLayout.from_tokenizer(tokenizer, 3)
    VideoBert(tiny_config(layout)).save_pretrained(tmp_path / "run" / "model", tokenizer=tokenizer,
                                                   codebook_dir=codebook)
    # evaluate prepares the videos itself (ingest, features, codebook assign), the annotation
    # file serving as their transcripts (no speech recognition) and as the ground truth
    report = tmp_path / "report"
    assert main(["evaluate", str(tmp_path / "run"), "--ground-truth", str(annotations), "--out",
                 str(report), "--videos", str(videos), "--caption-epochs", "1",
                 "--max-queries", "8"]) == 0
    prepared = json.loads((report / "prepared" / "segments" / "manifest.json").read_text())
    assert {e["transcript_source"] for e in prepared["videos"]} == {"youcook2"}
    figures = json.loads((report / "figures.json").read_text())
    assert figures["words"] == str(report / "prepared" / "words")
    assert figures["vocabulary"]["outside_vocabulary"] == {"val": 1}
    zero_shot = figures["zero_shot"]
    assert zero_shot["n_verbs"] == 4 and zero_shot["n_nouns"] == 4
    assert zero_shot["n_examples"] == 2 and zero_shot["n_left_out"] == 2  # knife, no verb
    retrieval = figures["retrieval"]
    assert retrieval["relevance"] == "caption" and retrieval["n_queries"] == 4  # every val clip
    assert retrieval["chance"]["R@1"] == pytest.approx(1 / 4)  # one correct clip per query
    captioning = figures["captioning"]
    assert captioning["n_val_steps"] == 4 and captioning["n_val_videos"] == 1
    for row, micro in captioning["metrics"].items():  # one val video: macro is micro
        assert captioning["macro_metrics"][row] == pytest.approx(micro)
    md = (report / "README.md").read_text()
    assert "youcook2: its splits" in md and "2 steps left out" in md
    assert np.isfinite(figures["zero_shot"]["rows"][1]["verb_top1"])

    # the task verbs take the file too: its own label lists (none beside it), its protocol
    common = ["--model", str(tmp_path / "run" / "model"), "--ground-truth", str(annotations)]
    assert main(["zeroshot", *common, "--out", str(tmp_path / "r1")]) == 0
    assert json.loads((tmp_path / "r1" / "zeroshot.json").read_text())["n_verbs"] == 4
    assert main(["retrieval", *common, "--out", str(tmp_path / "r2")]) == 0
    assert json.loads((tmp_path / "r2" / "retrieval.json").read_text())["relevance"] == "caption"


def test_ingest_names_an_unusable_transcripts_file_in_one_line(tmp_path, capsys):
    videos = write_videos(tmp_path / "videos", [VAL], seconds=3.0)
    path = youcook2_file(tmp_path / "yc2.json")
    data = json.loads(path.read_text())
    data["database"][VAL]["annotations"][1]["segment"] = [3.0]
    path.write_text(json.dumps(data))
    (tmp_path / "other.json").write_text(json.dumps({"videos": [1, 2]}))
    for bad, message in ((path, f"database['{VAL}'].annotations[1].segment must be"),
                         (tmp_path / "other.json", "is neither a YouCook2 annotation file"),
                         (tmp_path / "none.json", "does not exist")):
        assert main(["ingest", str(videos), str(tmp_path / "out"), "--transcripts", str(bad),
                     "--no-asr", "--no-progress"]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("videobert ingest: ") and message in err[-1], err[-1]
        assert str(bad) in err[-1]
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_an_unusable_video_list_leaves_no_output_folder(tmp_path, capsys):
    videos = write_videos(tmp_path / "videos", ["hw1"], seconds=3.0)
    (tmp_path / "bad.csv").write_text("id,rank\nhw1,1\n")
    out = tmp_path / "out"
    assert main(["ingest", str(videos), str(out), "--list", str(tmp_path / "bad.csv"),
                 "--no-asr", "--no-progress"]) == 1
    assert "a video list needs a 'video_id' column" in capsys.readouterr().err
    assert not out.exists()
