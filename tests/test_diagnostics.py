"""Diagnostics: bootstrap intervals, codebook information (against scikit-learn), the oracle
codebook, and modality reliance on the tiny task world."""

from __future__ import annotations

import json

import numpy as np
import pytest

from videobert.diagnostics.codebook_info import (
    bag_of_words,
    codebook_information,
    normalized_mutual_information,
    purity,
)
from videobert.diagnostics.oracle import REST_WORD, oracle_words, write_oracle_codebook
from videobert.diagnostics.reliance import modality_reliance, swap_partner
from videobert.metrics.bootstrap import bootstrap_difference, bootstrap_mean
from videobert.tasks.steps import load_ground_truth, load_steps, load_video_words


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_examples():
    rng = np.random.default_rng(0)
    small, large = rng.random(50) < 0.3, rng.random(5000) < 0.3
    a, b = bootstrap_mean(small), bootstrap_mean(large)
    assert a.low <= a.value <= a.high and b.low <= b.value <= b.high
    assert (b.high - b.low) < (a.high - a.low) / 5
    assert b.low < 0.3 < b.high


def test_paired_difference_calls_a_tie_a_tie_and_a_win_a_win():
    rng = np.random.default_rng(1)
    base = (rng.random(73) < 0.93).astype(float)
    noisy = base.copy()
    noisy[rng.choice(73, 2, replace=False)] = 1.0  # 0.945 vs 0.932-ish: a tie
    assert not bootstrap_difference(noisy, base).low > 0
    better = (rng.random(200) < 0.6).astype(float)
    worse = (rng.random(200) < 0.1).astype(float)
    assert bootstrap_difference(better, worse, scale=3.0).low > 0  # 0.6 vs 3 x 0.1
    assert not bootstrap_difference(better, worse, scale=8.0).low > 0


def test_purity_and_nmi_match_scikit_learn():
    from sklearn.metrics import normalized_mutual_info_score

    rng = np.random.default_rng(2)
    labels = rng.integers(0, 5, 400)
    words = np.where(rng.random(400) < 0.7, labels * 3 + rng.integers(0, 3, 400),
                     rng.integers(0, 15, 400))
    assert normalized_mutual_information(words, labels) == pytest.approx(
        normalized_mutual_info_score(labels, words), abs=1e-9)
    assert normalized_mutual_information(labels * 2, labels) == pytest.approx(1.0)
    assert purity(labels * 2, labels) == 1.0
    assert purity(np.zeros(4, int), np.array([0, 0, 0, 1])) == 0.75


def test_codebook_information_separates_good_words_from_noise(world):
    from test_tasks_fixtures import N_VISUAL, NOUNS, VERBS

    train = [s for s in world.steps if s.split == "train"]
    val = [s for s in world.steps if s.split == "val"]
    info = codebook_information(train, val, VERBS, NOUNS, N_VISUAL)
    assert info.n_clips == sum(len(s.words) for s in world.steps)
    assert 0 < info.nmi["verb"] <= 1 and 0 < info.purity["verb"] <= 1
    bags = bag_of_words(world.steps, N_VISUAL)
    assert np.allclose(bags.sum(1), 1.0)
    md = info.to_markdown({"verb": 0.5, "noun": 0.5})
    assert "purity" in md and "probe on clip features" in md


def test_oracle_words_are_factored_verb_and_noun_words(world):
    gt = load_ground_truth(world.ground_truth)
    words = oracle_words(gt, {"vid0": 12, "elsewhere": 3}, 1.5)
    assert set(words) == {"vid0"}  # a video without ground truth gets no words
    w = words["vid0"]
    # vid0 step 0: cut the egg, [0.1, 2.9) s -> clips 0, 1: verb word then noun word
    assert w[0] == 1 + gt.verbs.index("cut")
    assert w[1] == 1 + len(gt.verbs) + gt.nouns.index("egg")
    assert REST_WORD in w  # clips after the last step


def test_oracle_codebook_is_a_codebook_the_corpus_reads(world, tmp_path):
    from videobert.sequences.corpus import codebook_words

    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "manifest.json").write_text(json.dumps({
        "config": {"fps": 20.0, "clip_frames": 30},
        "videos": [{"id": f"vid{v}", "n_clips": 12, "complete": True} for v in range(4)]
        + [{"id": "broken", "n_clips": 0, "complete": False}],
    }))
    out = tmp_path / "oracle"
    meta = write_oracle_codebook(world.ground_truth, segments, out)
    gt = load_ground_truth(world.ground_truth)
    assert meta["oracle"] and meta["n_words"] == 1 + len(gt.verbs) + len(gt.nouns)
    n_words, per_video = codebook_words(out)
    assert n_words == meta["n_words"] and sorted(per_video) == [f"vid{v}" for v in range(4)]
    steps, skipped = load_steps(gt, load_video_words(out / "assignments.parquet"), 1.5)
    assert not skipped
    for s in steps:  # every step shows its own verb word first
        assert s.words[0] == 1 + gt.verbs.index(s.verb)


def test_oracle_codebook_refuses_unrelated_ground_truth(world, tmp_path):
    segments = tmp_path / "segments"
    segments.mkdir()
    (segments / "manifest.json").write_text(json.dumps({
        "config": {}, "videos": [{"id": "other", "n_clips": 5}]}))
    with pytest.raises(ValueError, match="does not describe these segments"):
        write_oracle_codebook(world.ground_truth, segments, tmp_path / "out")


def test_swap_partners_differ_in_verb_and_noun(world):
    partner = swap_partner(world.steps, seed=0)
    for i, j in enumerate(partner):
        assert j != i
        a, b = world.steps[i], world.steps[j]
        assert a.verb != b.verb and a.noun != b.noun


def test_reliance_is_zero_for_a_model_that_ignores_the_video(world):
    from test_tasks_fixtures import NOUNS, VERBS, Rigged, make_layout, make_tokenizer

    tokenizer = make_tokenizer()
    deaf = Rigged(make_layout(tokenizer))  # the same logits whatever the input
    result = modality_reliance(deaf, tokenizer, world.steps, VERBS, NOUNS)
    assert result.changed_when_swapped == {"verb": 0.0, "noun": 0.0}
    assert result.changed_when_removed == {"verb": 0.0, "noun": 0.0}
    assert "changed when swapped" in result.to_markdown()


def test_reliance_sees_a_model_that_reads_the_video(world):
    import torch

    from test_tasks_fixtures import NOUNS, VERBS, Rigged, make_layout, make_tokenizer

    tokenizer = make_tokenizer()
    layout = make_layout(tokenizer)

    def reads_first_visual_word(ids: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*ids.shape, layout.size)
        for b, row in enumerate(ids):
            visual = row[row >= layout.visual_offset]
            if visual.numel():
                w = int(visual[0]) - layout.visual_offset
                for word in (VERBS[w % 4], NOUNS[(w // 4) % 4]):
                    logits[b, :, tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))] = 5.0
        return logits

    reader = Rigged(layout, reads_first_visual_word)
    result = modality_reliance(reader, tokenizer, world.steps, VERBS, NOUNS)
    assert result.changed_when_removed["verb"] > 0.5
    assert result.changed_when_swapped["verb"] > 0.3


def test_reliance_measures_seen_pairs_on_the_steps_given(world):
    """Top-1 on the seen-pair (train) steps is the model's own accuracy there, for verb and
    noun each: here a model whose answer is a function of the first visual word."""
    import torch

    from test_tasks_fixtures import NOUNS, VERBS, Rigged, make_layout, make_tokenizer

    tokenizer = make_tokenizer()
    layout = make_layout(tokenizer)

    def answer(word: int) -> tuple[str, str]:
        return VERBS[word % 4], NOUNS[(word // 4) % 4]

    def reads_first_visual_word(ids: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*ids.shape, layout.size)
        for b, row in enumerate(ids):
            visual = row[row >= layout.visual_offset]
            if visual.numel():
                for word in answer(int(visual[0]) - layout.visual_offset):
                    logits[b, :, tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))] = 5.0
        return logits

    seen, unseen = world.steps[: len(world.steps) // 2], world.steps[len(world.steps) // 2 :]
    result = modality_reliance(Rigged(layout, reads_first_visual_word), tokenizer, unseen,
                               VERBS, NOUNS, seen_steps=seen)
    assert result.n_seen_steps == len(seen)
    for k, label in enumerate(("verb", "noun")):
        expected = np.mean([answer(s.words[0])[k] == getattr(s, label) for s in seen])
        assert result.top1_seen_pairs[label] == pytest.approx(expected)
    assert "train-split steps" in result.to_markdown()
    pairs = {(s.verb, s.noun) for s in seen}
    verb_pairs = [(answer(s.words[0])[0], s.noun) in pairs for s in unseen]
    noun_pairs = [(s.verb, answer(s.words[0])[1]) in pairs for s in unseen]
    assert result.answer_makes_seen_pair == pytest.approx(
        {"verb": np.mean(verb_pairs), "noun": np.mean(noun_pairs)})
    assert result.candidates_make_seen_pair["verb"] == pytest.approx(
        np.mean([np.mean([(v, s.noun) in pairs for v in VERBS]) for s in unseen]))
    assert "make a pair seen in pretraining" in result.to_markdown()
    alone = modality_reliance(Rigged(layout, reads_first_visual_word), tokenizer, unseen,
                              VERBS, NOUNS)
    assert alone.top1_seen_pairs == {} and "train-split" not in alone.to_markdown()
    assert alone.answer_makes_seen_pair == {}


def test_an_answer_of_the_true_unseen_pair_never_counts_as_a_seen_pair(world):
    """A model that answers every step's own verb and noun, on steps whose pairs pretraining
    never saw, makes no seen pair: the share is 0 however many candidates would."""
    import torch

    from test_tasks_fixtures import NOUNS, VERBS, Rigged, make_layout, make_tokenizer

    tokenizer = make_tokenizer()
    layout = make_layout(tokenizer)
    seen, unseen = world.steps[: len(world.steps) // 2], world.steps[len(world.steps) // 2 :]
    unseen = [s for s in unseen if (s.verb, s.noun) not in {(o.verb, o.noun) for o in seen}]

    def key(words) -> tuple[int, ...]:
        return tuple(np.asarray(words).tolist())

    keys = [key(s.words) for s in unseen]
    unseen = [s for s, k in zip(unseen, keys, strict=True) if keys.count(k) == 1]  # told apart
    truth = {key(s.words): (s.verb, s.noun) for s in unseen}

    def knows_the_step(ids: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*ids.shape, layout.size)
        for b, row in enumerate(ids):
            for word in truth.get(key(row[row >= layout.visual_offset] - layout.visual_offset),
                                  ()):
                logits[b, :, tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word))] = 5.0
        return logits

    if len(unseen) < 2:
        pytest.skip("the fixture world has fewer than two steps of pairs not in its first half")
    result = modality_reliance(Rigged(layout, knows_the_step), tokenizer, unseen, VERBS, NOUNS,
                               seen_steps=seen)
    assert result.top1_own == {"verb": 1.0, "noun": 1.0}
    assert result.answer_makes_seen_pair == {"verb": 0.0, "noun": 0.0}
