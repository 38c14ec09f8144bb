"""Forecasting: examples and targets, baselines on a hand-worked case, visual-only forecasts,
the evaluation with storyboards, the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from test_tasks_fixtures import (
    N_VISUAL,
    Rigged,
    make_layout,
    make_model,
    make_tokenizer,
)
from videobert.metrics import forecast_topk_accuracy
from videobert.tasks.forecasting import (
    IGNORE,
    ForecastExample,
    evaluate_forecasting,
    forecast_examples,
    forecast_scores,
    most_frequent_scores,
    repeat_last_scores,
    word_counts,
)
from videobert.tasks.steps import Step
from videobert.tasks.storyboard import StoryRow, storyboard_size

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _step(video, first, last, words):
    return Step(video, "val", 0, "cut", "egg", 0, 1, "cut the egg", True, first, last,
                tuple(words))


def test_examples_take_the_next_clips_and_pad_past_the_end():
    video_words = {"a": np.array([0, 1, 2, 3, 4]), "b": np.array([5, 6, -1, 7])}
    steps = [_step("a", 1, 2, [1, 2]), _step("a", 3, 4, [3, 4]), _step("b", 0, 1, [5, 6])]
    examples = forecast_examples(steps, video_words, horizon=3)
    assert [ex.target for ex in examples] == [[3, 4, IGNORE], [IGNORE, 7, IGNORE]]
    assert examples[0].context == [1, 2]  # the step at the video's end has no example


def test_baselines_on_a_hand_case():
    counts = word_counts([np.array([0, 0, 0, 2, 2, 1, -1]), np.array([0, 0, 2])], 4)
    assert counts.tolist() == [5, 1, 3, 0]
    contexts = [[1, 3]]  # most recent word: 3, then 1
    targets = np.array([[3, 0]])
    frequent = most_frequent_scores(counts, 1, 2)  # ranking 0, 2, 1, 3
    repeat = repeat_last_scores(contexts, counts, 2)  # ranking 3, 1, 0, 2
    assert np.argsort(-frequent[0, 0]).tolist() == [0, 2, 1, 3]
    assert np.argsort(-repeat[0, 1]).tolist() == [3, 1, 0, 2]
    assert forecast_topk_accuracy(frequent, targets, (1, 2, 3)) == {
        "top1": 0.5, "top2": 0.5, "top3": 0.5}  # slot 2 (word 0) is hit, word 3 never
    assert forecast_topk_accuracy(repeat, targets, (1, 2, 3)) == {
        "top1": 0.5, "top2": 0.5, "top3": 1.0}  # word 3 first, word 0 third


def test_equal_counts_rank_the_lower_word_first():
    scores = most_frequent_scores(np.array([2, 5, 2, 5]), 1, 1)[0, 0]
    assert np.argsort(-scores).tolist() == [1, 3, 0, 2]


def test_forecasts_are_visual_words_at_the_right_slots():
    layout = make_layout()

    def logits_fn(ids):  # slot at position p predicts visual word p; text gets more
        out = torch.zeros(*ids.shape, layout.size)
        out[..., 5] = 100.0
        pos = torch.arange(ids.shape[1]) % layout.n_visual
        out[:, torch.arange(ids.shape[1]), layout.visual_offset + pos] = 10.0
        return out

    scores = forecast_scores(Rigged(layout, logits_fn), [[3, 4], [1, 2, 3, 4, 5]], horizon=2)
    assert scores.shape == (2, 2, N_VISUAL)
    # [CLS] [>] ctx [MASK] [MASK] [SEP]: the masks are at positions 2 + len(ctx), +1
    assert scores.argmax(-1).tolist() == [[4, 5], [7, 8]]
    torch.testing.assert_close(scores.exp().sum(-1), torch.ones(2, 2))


def test_evaluation_rows_and_storyboards(world, tmp_path):
    model = make_model(make_layout())
    train_videos = ["vid0", "vid1"]
    counts = word_counts([world.video_words[v] for v in train_videos], N_VISUAL)
    val = [s for s in world.steps if s.split == "val"]
    examples = forecast_examples(val, world.video_words, horizon=2)
    assert len(examples) == 6  # every step has clips after it (the videos run on to clip 11)
    result = evaluate_forecasting(model, examples, counts, storyboard_dir=tmp_path,
                                  exemplars_dir=world.codebook / "exemplars", n_storyboards=2)
    assert [r.method for r in result.rows] == ["VideoBERT", "most frequent word",
                                               "repeat last word"]
    assert result.n_slots == 12
    for row in result.rows:
        assert 0 <= row.accuracy["top1"] <= row.accuracy["top5"] <= row.accuracy["top10"] <= 1
    # the baselines by hand: top-1 of "most frequent" is the most common training word
    top_word = int(np.argmax(counts))
    targets = np.array([ex.target for ex in examples])
    assert result.row("most frequent word").accuracy["top1"] == pytest.approx(
        np.mean(targets == top_word))
    last = np.array([ex.context[-1] for ex in examples])[:, None]
    assert result.row("repeat last word").accuracy["top1"] == pytest.approx(
        np.mean(targets == last))
    assert len(result.storyboards) == 2
    ex = examples[0]
    rows = [StoryRow("c", ex.context), StoryRow("f", [0, 0]), StoryRow("g", ex.target)]
    assert Image.open(result.storyboards[0]).size == storyboard_size(rows)
    assert "| repeat last word |" in result.to_markdown()
    with pytest.raises(ValueError, match="no forecasting example"):
        evaluate_forecasting(model, [], counts)


def test_cli_writes_the_report(world, tmp_path):
    from videobert.cli import main

    tok = make_tokenizer()
    folder = make_model(make_layout(tok)).save_pretrained(
        tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook
    )
    out = tmp_path / "report"
    assert main(["forecast", "--model", str(folder), "--ground-truth", str(world.ground_truth),
                 "--out", str(out), "--horizon", "2", "--storyboards", "1"]) == 0
    figures = json.loads((out / "forecast.json").read_text())
    assert figures["n_examples"] == 6 and len(figures["rows"]) == 3
    assert len(list(out.glob("forecast_00_*.png"))) == 1


def test_task_data_loads_a_model_folder_and_its_codebook(world, tmp_path, capsys):
    from videobert.tasks.cli_common import load_task_data

    tok = make_tokenizer()
    folder = make_model(make_layout(tok)).save_pretrained(
        tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook
    )
    data = load_task_data(folder, world.ground_truth)
    assert data.codebook_dir == folder / "codebook"
    assert len(data.split("train")) == len(data.split("val")) == 6
    assert data.tokenizer.encode("onion", add_special_tokens=False) == tok.encode(
        "onion", add_special_tokens=False)
    assert data.model.layout == make_layout(tok) and not data.model.training
    # the model keeps its codebook, not its training clips' words: those come from the
    # codebook folder it was trained with, or from an explicit words folder
    assert not (folder / "codebook" / "assignments.parquet").exists()
    assert data.words_dir == world.codebook
    words = tmp_path / "words"
    shutil.copytree(world.codebook, words)
    (world.codebook / "assignments.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="give --words"):
        load_task_data(folder, world.ground_truth)
    from videobert.cli import main

    capsys.readouterr()  # only what the verb itself writes below
    assert main(["forecast", "--model", str(folder), "--ground-truth",
                 str(world.ground_truth), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "give --words" in err[0]
    assert load_task_data(folder, world.ground_truth, words).words_dir == words


def test_forecast_example_targets_must_fit_the_codebook():
    layout = make_layout()
    with pytest.raises(ValueError, match="visual word ids"):
        forecast_scores(make_model(layout), [[N_VISUAL + 1]], horizon=1)
    assert ForecastExample("a", 0, [1], [2]).target == [2]
