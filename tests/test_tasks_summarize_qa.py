"""Summarisation and video QA: the segment metric against hand-worked cases and a brute-force
matching, the change-point search against brute force, the QA set's rules, and both on a real
video through the API and the CLI (a tiny trained model: its answers are noise, so only what
must hold of any answer is checked)."""

from __future__ import annotations

import itertools
import json
from types import SimpleNamespace

import numpy as np
import pytest

from videobert.metrics.bootstrap import bootstrap_ratio, bootstrap_ratio_difference
from videobert.metrics.segments import match_segments, segment_counts, temporal_iou
from videobert.tasks.qa import (
    KINDS,
    base_verb,
    make_questions,
    parse_question,
    participle,
    question_text,
)
from videobert.tasks.summarize import change_points, uniform_spans

# ---------------------------------------------------------------------------------------------
# Segment matching


def test_temporal_iou_by_hand():
    assert temporal_iou((0, 4), (2, 6)) == pytest.approx(2 / 6)
    assert temporal_iou((0, 4), (0, 4)) == 1.0
    assert temporal_iou((0, 2), (2, 4)) == 0.0  # touching is not overlapping
    assert temporal_iou((0, 10), (4, 5)) == pytest.approx(0.1)
    assert temporal_iou((1, 1), (1, 1)) == 0.0


def test_segment_f1_by_hand():
    true = [(0.5, 4.0), (4.5, 8.0), (8.5, 12.0)]
    # (0, 4.5) IoU 3.5/4.5 ok; (4.5, 6) IoU 1.5/3.5 < 0.5; (6, 12) IoU 3.5/6 with the last
    predicted = [(0.0, 4.5), (4.5, 6.0), (6.0, 12.0)]
    assert match_segments(predicted, true) == [(0, 0), (2, 2)]
    counts = segment_counts(predicted, true)
    assert (counts.matched, counts.predicted, counts.true) == (2, 3, 3)
    assert counts.precision == counts.recall == counts.f1 == pytest.approx(2 / 3)
    # two predictions over one step: only one of them may take it
    assert match_segments([(0, 4), (0.2, 4)], [(0, 4)]) == [(0, 0)]
    assert segment_counts([], true).f1 == 0.0 and segment_counts([], []).f1 == 0.0
    with pytest.raises(ValueError, match="ends before it starts"):
        match_segments([(3, 1)], true)


def _brute_max_matching(predicted, true, threshold=0.5) -> int:
    ok = [[temporal_iou(p, t) >= threshold for t in true] for p in predicted]
    best = 0
    for perm in itertools.permutations(range(len(true)), min(len(true), len(predicted))):
        for chosen in itertools.combinations(range(len(predicted)), len(perm)):
            best = max(best, sum(ok[i][j] for i, j in zip(chosen, perm, strict=True)))
    return best


def _random_partition(rng, duration, n):
    cuts = np.sort(rng.uniform(0, duration, n - 1))
    edges = [0.0, *cuts, duration]
    return [(float(a), float(b)) for a, b in zip(edges, edges[1:], strict=False)]


def test_greedy_matching_is_a_maximum_matching_for_segmentations():
    rng = np.random.default_rng(0)
    for _ in range(150):
        predicted = _random_partition(rng, 12.0, int(rng.integers(1, 6)))
        true = [(a + 0.3, b - 0.3) for a, b in _random_partition(rng, 12.0, int(rng.integers(1, 5)))
                if b - a > 0.6]  # steps with gaps between them, as the ground truth has
        pairs = match_segments(predicted, true)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        assert all(temporal_iou(predicted[i], true[j]) >= 0.5 for i, j in pairs)
        assert len(pairs) == _brute_max_matching(predicted, true)


def test_ratio_intervals_resample_groups():
    matched, predicted = np.array([2, 3, 0, 4]), np.array([3, 3, 2, 4])
    ci = bootstrap_ratio(matched, predicted)
    assert ci.value == pytest.approx(9 / 12) and ci.low <= ci.value <= ci.high
    same = bootstrap_ratio(np.array([1, 2, 3]), np.array([2, 4, 6]))
    assert same.low == same.high == pytest.approx(0.5)  # every video at 0.5: no spread
    zero = bootstrap_ratio_difference((matched, predicted), (matched, predicted))
    assert zero.value == zero.low == zero.high == 0.0


# ---------------------------------------------------------------------------------------------
# Change points


def _brute_partition(x, penalty, k_max=None):
    n, best = len(x), None
    for k in range(n):
        if k_max is not None and k + 1 > k_max:
            break
        for cuts in itertools.combinations(range(1, n), k):
            edges = [0, *cuts, n]
            cost = penalty * (k + 1) + sum(((x[a:b] - x[a:b].mean(0)) ** 2).sum()
                                           for a, b in zip(edges, edges[1:], strict=False))
            if best is None or cost < best[0] - 1e-12:
                best = (cost, [(a, b - 1) for a, b in zip(edges, edges[1:], strict=False)])
    return best[1]


def test_change_points_are_the_optimal_partition():
    rng = np.random.default_rng(1)
    for t in range(120):
        n = int(rng.integers(1, 8))
        x, penalty = rng.normal(size=(n, 3)), float(rng.uniform(0, 3))
        k_max = int(rng.integers(1, n + 1)) if t % 2 else None
        assert change_points(x, penalty, k_max) == _brute_partition(x, penalty, k_max)
    steps = np.repeat(np.eye(3), [4, 2, 5], axis=0)  # three plain steps
    assert change_points(steps, 0.5) == [(0, 3), (4, 5), (6, 10)]
    assert change_points(steps, 0.5, max_segments=2) in ([(0, 3), (4, 10)], [(0, 5), (6, 10)])
    assert change_points(np.zeros((0, 3)), 1.0) == []


def test_uniform_baseline_tiles_the_video():
    assert uniform_spans(9.0, 3) == [(0.0, 3.0), (3.0, 6.0), (6.0, 9.0)]


# ---------------------------------------------------------------------------------------------
# Questions


@pytest.mark.parametrize("verb,past", [
    ("cut", "cut"), ("drop", "dropped"), ("squeeze", "squeezed"), ("push", "pushed"),
    ("fry", "fried"), ("shake", "shaken"), ("spin", "spun"), ("roll", "rolled"),
    ("flip", "flipped"), ("pour", "poured"), ("stir", "stirred"), ("open", "opened"),
    ("mix", "mixed"),
])
def test_participles_and_back(verb, past):
    from transformers import BertTokenizer

    assert participle(verb) == past
    assert base_verb(past, verbs=["lift", verb]) == verb
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", verb]
    assert base_verb(past, tokenizer=BertTokenizer(vocab={w: i for i, w in enumerate(vocab)})
                     ) == verb


def test_questions_read_back_as_asked():
    for kind in KINDS:
        text = question_text(kind, "drop", "green pepper")
        q = parse_question(text, verbs=["drop", "cut"])
        assert q.kind == kind and q.text == text
        assert q.verb == (None if kind == "verb" else "drop")
        assert q.noun == (None if kind == "noun" else "green pepper")
    assert parse_question("What is being cut?").verb == "cut"
    assert parse_question("what do you do to the egg").kind == "verb"
    with pytest.raises(ValueError, match="what is being cut"):
        parse_question("why is the sky blue?")


def _video(vid, steps):
    return SimpleNamespace(video_id=vid, steps=[{"verb": v, "noun": n} for v, n in steps])


VERBS = ["cut", "drop", "flip", "spin", "roll", "push"]
NOUNS = ["egg", "fish", "apple", "onion", "lemon", "cheese"]


def test_the_qa_set_has_one_right_answer_per_question():
    videos = [_video("a", [("cut", "egg"), ("drop", "fish"), ("cut", "apple"), ("spin", "egg")]),
              _video("b", [("roll", "lemon"), ("push", "onion"), ("flip", "cheese")])]
    items = make_questions(videos, VERBS, NOUNS, n_choices=4, seed=3)
    assert items == make_questions(videos, VERBS, NOUNS, n_choices=4, seed=3)  # seeded
    asked = {(it.video_id, it.question.kind, it.question.verb, it.question.noun) for it in items}
    # "what is being cut?" in video a has two answers (egg, apple): not asked; nor "what is
    # done to the egg?" (cut, spin)
    assert ("a", "noun", "cut", None) not in asked and ("a", "verb", None, "egg") not in asked
    assert ("a", "noun", "drop", None) in asked and ("b", "next", "roll", "lemon") in asked
    for it in items:
        steps = [(s["verb"], s["noun"]) for s in next(v for v in videos
                                                      if v.video_id == it.video_id).steps]
        q, right = it.question, it.choices[it.answer]
        assert len(it.choices) == 4 and len(set(it.choices)) == 4
        if q.kind == "noun":
            valid = {n for v, n in steps if v == q.verb}
        elif q.kind == "verb":
            valid = {v for v, n in steps if n == q.noun}
        else:
            at = steps.index((q.verb, q.noun))
            valid = {f"{v} the {n}" for v, n in steps[at + 1 : at + 2]}
            assert f"{q.verb} the {q.noun}" in it.choices  # the named step: a distractor
        assert valid == {right}
        assert not (set(it.choices) - {right}) & valid


# ---------------------------------------------------------------------------------------------
# On a real video: the API and the CLI


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from tiny_trained import train_tiny_model
    from videobert.api import Pipeline

    model_dir, data = train_tiny_model(tmp_path_factory.mktemp("sumqa"), n_videos=3)
    gt = json.loads((data / "ground_truth.json").read_text())
    return SimpleNamespace(model=model_dir, data=data, gt=gt,
                           pipe=Pipeline.from_pretrained(model_dir, device="cpu"),
                           verbs=gt["verbs"], nouns=gt["nouns"],
                           video=sorted((data / "videos").glob("*.mp4"))[0])


@pytest.mark.usefixtures("one_torch_thread")
def test_summarize_and_qa_a_real_video(tiny, tmp_path, capsys):
    from videobert.cli import main

    words = tiny.pipe.clip_words(tiny.video)
    length = len(words.words) * words.clip_seconds
    with pytest.raises(ValueError, match="no captioner"):  # none saved, no words to name
        tiny.pipe.summarize(words)
    summary = tiny.pipe.summarize(words, verbs=tiny.verbs, nouns=tiny.nouns)
    steps = summary.steps
    assert steps and steps[0].start == 0.0 and steps[-1].end == pytest.approx(length)
    for a, b in zip(steps, steps[1:], strict=False):
        assert a.end == pytest.approx(b.start)  # consecutive, no overlap
    for s in steps:
        assert 0 <= s.start < s.end <= length + 1e-6
        assert s.first_clip <= s.frame_clip <= s.last_clip
        verb, _, noun = s.caption.partition(" the ")
        assert verb in tiny.verbs and noun in tiny.nouns and 0 <= s.alignment <= 1
    assert len(summary.thumbnails) == len(steps) and summary.thumbnails[0].ndim == 3
    assert len(tiny.pipe.summarize(words, max_steps=1, verbs=tiny.verbs,
                                   nouns=tiny.nouns).steps) == 1

    out = tmp_path / "summary"
    verbs_file, nouns_file = tiny.data / "verbs.txt", tiny.data / "nouns.txt"
    assert main(["summarize", str(tiny.model), str(tiny.video), "--out", str(out),
                 "--verbs", str(verbs_file), "--nouns", str(nouns_file)]) == 0
    written = json.loads((out / "summary.json").read_text())
    assert written["steps"] and all((out / s["frame"]).stat().st_size > 100
                                    for s in written["steps"])
    assert "frames/step_01.jpg" in (out / "summary.md").read_text()

    step = tiny.gt["videos"][tiny.video.stem]["steps"][0]
    choices = [step["noun"], *[n for n in tiny.nouns if n != step["noun"]][:3]]
    answer = tiny.pipe.qa(words, f"what is being {participle(step['verb'])}?", choices,
                          verbs=tiny.verbs)
    assert answer.kind == "noun" and answer.answer in choices
    assert sum(p for _, p in answer.answers) == pytest.approx(1.0)
    assert (answer.start, answer.end) == (0.0, pytest.approx(length))
    fill = tiny.pipe.qa(words, f"what is done to the {step['noun']}?", top_k=3)
    assert fill.kind == "verb" and len(fill.answers) == 3
    assert all(w.isalpha() and w not in ("the", "to") for w, _ in fill.answers)
    nxt = tiny.pipe.qa(words, f"what comes after you {step['verb']} the {step['noun']}?",
                       ["cut the egg", "drop the fish"])
    assert nxt.answer in ("cut the egg", "drop the fish") and 0 <= nxt.start < nxt.end
    with pytest.raises(ValueError, match="VERB the NOUN"):
        tiny.pipe.qa(words, "what comes after you cut the egg?", ["egg"])

    capsys.readouterr()
    assert main(["qa", str(tiny.model), str(tiny.video), "what is done to the egg?",
                 "--choices", "cut", "drop"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("what is done to the egg?") and len(printed) == 3
    assert main(["qa", str(tiny.model), str(tiny.video), "why?"]) == 1
    assert "cannot read the question" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The evaluate tasks on the tiny task world (random model: only the bookkeeping is checked)


@pytest.mark.usefixtures("one_torch_thread")
def test_the_evaluate_tasks_report_ours_beside_the_baselines(world, tmp_path):
    from test_tasks_fixtures import CLIP_S, make_layout, make_model, make_tokenizer
    from videobert.tasks.registry import TaskConfig, TaskData, summarisation, video_qa
    from videobert.tasks.steps import load_ground_truth

    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    gt = load_ground_truth(world.ground_truth)
    train = [s for s in world.steps if s.split == "train"]
    val = [s for s in world.steps if s.split == "val"]
    data = TaskData(tmp_path / "model", model, tok, world.codebook, gt, train, val,
                    world.video_words, None, tmp_path, CLIP_S)
    summary = summarisation(data, TaskConfig())
    figures = summary.figures
    assert figures["n_videos"] == 2 and figures["n_steps"] == 6
    for method in ("ours", "uniform"):
        rows = figures["per_video"][method]
        assert rows["predicted"] == figures["per_video"]["ours"]["predicted"]  # as many
        assert all(m <= min(p, t) for m, p, t in zip(rows["matched"], rows["predicted"],
                                                     rows["true"], strict=True))
        f1 = figures["figures"][method]["f1"]
        assert 0 <= f1["low"] <= f1["value"] <= f1["high"] <= 1
    assert "uniform (as many, evenly spaced)" in summary.result.to_markdown()

    qa = video_qa(data, TaskConfig(qa_choices=3))
    rows = qa.figures["rows"]
    assert rows and {r["kind"] for r in rows} == set(KINDS)
    for r in rows:
        assert r["answer"] in r["choices"] and len(r["choices"]) == 3
        assert r["video_choice"] in r["choices"] and r["text_choice"] in r["choices"]
    accuracy = qa.figures["accuracy"]["all"]
    assert accuracy["chance"] == pytest.approx(1 / 3) and accuracy["n"] == len(rows)
    assert 0 <= accuracy["video"]["value"] <= 1
    assert "text only (video removed)" in qa.result.to_markdown()
