"""Metrics: top-k on hand-made cases, fast R@k == naive R@k (random + ties), COCO caption
metrics against pycocoevalcap's own scorers. The Java-based tests share one METEOR process."""

from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest
import torch

from videobert.metrics import (
    METRIC_NAMES,
    CaptionScorer,
    JavaNotFoundError,
    caption_metrics,
    captioning,
    chance_mean_rank,
    chance_median_rank,
    chance_recall_at_k,
    confusion_matrix,
    forecast_topk_accuracy,
    mean_class_accuracy,
    per_class_accuracy,
    ranking,
    retrieval_metrics,
    retrieval_metrics_naive,
    retrieval_ranks,
    target_ranks,
    topk_accuracy,
)
from videobert.vocab import VocabLayout

# ---------------------------------------------------------------- top-k accuracy


def test_topk_hand_made():
    scores = np.array(
        [
            [0.1, 0.9, 0.0, 0.3],  # target 1 is best            -> rank 1
            [0.5, 0.2, 0.4, 0.3],  # target 3: 0.5, 0.4 above    -> rank 3
            [0.2, 0.1, 0.3, 0.4],  # target 1 is worst           -> rank 4
        ]
    )
    targets = np.array([1, 3, 1])
    assert target_ranks(scores, targets).tolist() == [1, 3, 4]
    acc = topk_accuracy(scores, targets, ks=(1, 2, 3, 4))
    assert acc == pytest.approx({"top1": 1 / 3, "top2": 1 / 3, "top3": 2 / 3, "top4": 1.0})
    # k beyond the class count: the true class is always in the top C
    assert topk_accuracy(scores, targets, ks=(5,)) == {"top5": 1.0}


def test_topk_ties_are_deterministic():
    scores = np.zeros((4, 3))  # every class ties with the true one
    targets = np.array([0, 1, 2, 1])
    assert topk_accuracy(scores, targets, ks=(1,)) == {"top1": 1.0}
    assert topk_accuracy(scores, targets, ks=(1, 2, 3), ties="pessimistic") == {
        "top1": 0.0,
        "top2": 0.0,
        "top3": 1.0,
    }
    # a partial tie: [2, 5, 5] with target 1 -> optimistic rank 1, pessimistic rank 2
    row = np.array([[2.0, 5.0, 5.0]])
    assert target_ranks(row, [1]).tolist() == [1]
    assert target_ranks(row, [1], ties="pessimistic").tolist() == [2]


def test_topk_matches_torch_topk_and_accepts_tensors():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(200, 37, generator=gen)  # continuous: no ties
    targets = torch.randint(0, 37, (200,), generator=gen)
    top5 = logits.topk(5, dim=1).indices
    expected = {
        "top1": (top5[:, 0] == targets).float().mean().item(),
        "top5": (top5 == targets[:, None]).any(dim=1).float().mean().item(),
    }
    assert topk_accuracy(logits, targets) == pytest.approx(expected)
    assert topk_accuracy(logits.numpy(), targets.numpy()) == pytest.approx(expected)
    # bfloat16 logits (numpy has no bf16) go through float32 exactly
    half = logits.to(torch.bfloat16)
    assert topk_accuracy(half, targets) == topk_accuracy(half.float().numpy(), targets.numpy())


def test_topk_ignore_index_and_bad_input():
    scores = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 0.0]])
    assert topk_accuracy(scores, [0, 0, -100], ks=(1,), ignore_index=-100) == {"top1": 0.5}
    with pytest.raises(ValueError, match="at least one"):
        topk_accuracy(scores, [-100, -100, -100], ignore_index=-100)
    with pytest.raises(ValueError, match="out of range"):
        topk_accuracy(scores, [0, 2, 1])
    with pytest.raises(ValueError, match="NaN"):
        topk_accuracy(np.array([[np.nan, 1.0]]), [0])
    with pytest.raises(ValueError, match="2-D"):
        topk_accuracy(np.zeros(3), [0, 0, 0])
    with pytest.raises(ValueError, match="positive"):
        topk_accuracy(scores, [0, 0, 0], ks=(0,))
    with pytest.raises(TypeError, match="integers"):
        topk_accuracy(scores, [0.5, 0, 0])


def test_confusion_matrix_against_sklearn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(300, 6))
    targets = rng.integers(0, 6, size=300)
    targets[targets == 4] = 0  # class 4 never occurs as a true class
    predictions = scores.argmax(axis=1)
    expected = skm.confusion_matrix(targets, predictions, labels=range(6))
    np.testing.assert_array_equal(confusion_matrix(predictions, targets, 6), expected)
    np.testing.assert_array_equal(confusion_matrix(torch.from_numpy(scores), targets, 6), expected)
    acc = per_class_accuracy(expected)
    assert np.isnan(acc[4]) and not np.isnan(acc[[0, 1, 2, 3, 5]]).any()
    assert mean_class_accuracy(expected) == pytest.approx(
        skm.balanced_accuracy_score(targets, predictions)
    )
    with pytest.raises(ValueError, match="columns"):
        confusion_matrix(scores, targets, 5)


# ---------------------------------------------------------------- forecasting


def test_forecast_topk_over_the_joint_vocabulary():
    layout = VocabLayout(n_text=6, n_visual=4, cls_id=1, sep_id=2, mask_id=3, pad_id=0, unk_id=4)
    assert layout.size == 11 and layout.visual_offset == 7
    scores = np.zeros((2, 3, layout.size))  # (N, horizon, vocab)
    scores[..., 5] = 100.0  # a text token the model loves must not count as a forecast
    targets = np.full((2, 3), -100)
    scores[0, 0, 7 + 2], targets[0, 0] = 9.0, 7 + 2  # right: word 2 is the best visual word
    scores[0, 1, 7 + 0], targets[0, 1] = 9.0, 7 + 1  # wrong: word 0 beats word 1
    scores[1, 2, 7 + 3], targets[1, 2] = 1.0, 7 + 3  # right
    scores[0, 1, 7 + 1] = 8.0  # ...but word 1 is second: top-2 hit
    acc = forecast_topk_accuracy(scores, targets, ks=(1, 2), layout=layout)
    assert acc == pytest.approx({"top1": 2 / 3, "top2": 1.0})
    # the same figures from visual-word-only scores and codebook indices
    visual = scores[..., layout.visual_offset :]
    words = np.where(targets >= 0, targets - layout.visual_offset, -100)
    assert forecast_topk_accuracy(torch.from_numpy(visual), words, ks=(1, 2)) == acc
    with pytest.raises(ValueError, match="not visual-word"):
        forecast_topk_accuracy(scores, np.full((2, 3), 5), layout=layout)
    with pytest.raises(ValueError, match="leading dims"):
        forecast_topk_accuracy(scores, targets[:, :2], layout=layout)


# ---------------------------------------------------------------- retrieval


def test_retrieval_hand_computed():
    sim = np.array(
        [
            [0.9, 0.1, 0.2, 0.3],  # gt 0: best                 -> rank 1
            [0.8, 0.5, 0.7, 0.1],  # gt 1: 0.8, 0.7 above       -> rank 3
            [0.4, 0.4, 0.4, 0.2],  # gt 3: three above          -> rank 4
        ]
    )
    gt = np.array([0, 1, 3])
    assert retrieval_ranks(sim, gt).tolist() == [1, 3, 4]
    expected = {"R@1": 1 / 3, "R@5": 1.0, "R@10": 1.0, "median_rank": 3.0, "mean_rank": 8 / 3}
    assert retrieval_metrics(sim, gt) == pytest.approx(expected)
    assert retrieval_metrics_naive(sim, gt) == pytest.approx(expected)
    # relevance matrix: query 1 is also matched by item 2 (0.7) -> rank 2
    rel = np.zeros((3, 4), dtype=bool)
    rel[np.arange(3), gt] = True
    rel[1, 2] = True
    assert retrieval_ranks(sim, rel).tolist() == [1, 2, 4]
    assert retrieval_metrics(sim, rel, ks=(1, 2)) == pytest.approx(
        {"R@1": 1 / 3, "R@2": 2 / 3, "median_rank": 2.0, "mean_rank": 7 / 3}
    )


@pytest.mark.parametrize("ties", ["optimistic", "pessimistic"])
@pytest.mark.parametrize("seed", range(6))
def test_retrieval_fast_equals_naive(seed, ties, monkeypatch):
    rng = np.random.default_rng(seed)
    q, g = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    if seed % 2:  # few distinct values: many ties, including with the gt
        sim = rng.integers(0, 3, size=(q, g)).astype(np.float32)
    else:
        sim = rng.normal(size=(q, g))
    gt = rng.integers(0, g, size=q)
    rel = rng.random((q, g)) < 0.15
    rel[np.arange(q), gt] = True
    if seed == 5:  # several row blocks in the fast path
        monkeypatch.setattr(ranking, "_BLOCK_ELEMENTS", 7)
    for target in (gt, rel):
        fast = retrieval_metrics(sim, target, ks=(1, 3, 5, 10), ties=ties)
        naive = retrieval_metrics_naive(sim, target, ks=(1, 3, 5, 10), ties=ties)
        assert fast == pytest.approx(naive)
    assert retrieval_metrics(torch.from_numpy(sim), torch.from_numpy(gt), ties=ties) == (
        pytest.approx(retrieval_metrics_naive(sim, gt, ties=ties))
    )


def test_retrieval_all_tied_scores():
    sim = np.ones((5, 5))
    gt = np.arange(5)
    assert retrieval_metrics(sim, gt)["R@1"] == 1.0  # optimistic: ties never push gt down
    pess = retrieval_metrics(sim, gt, ties="pessimistic")
    assert pess["R@1"] == 0.0 and pess["median_rank"] == 5.0
    assert retrieval_metrics_naive(sim, gt, ties="pessimistic") == pess


def test_retrieval_bad_input():
    sim = np.zeros((2, 3))
    with pytest.raises(ValueError, match="no relevant"):
        retrieval_metrics(sim, np.array([[True, False, False], [False, False, False]]))
    with pytest.raises(ValueError, match="out of range"):
        retrieval_metrics(sim, [0, 3])
    with pytest.raises(ValueError, match="shape"):
        retrieval_metrics(sim, [0, 1, 2])
    with pytest.raises(ValueError, match="ties"):
        retrieval_metrics(sim, [0, 1], ties="random")


def test_chance_levels():
    assert chance_recall_at_k(100, 1) == pytest.approx(0.01)
    assert chance_recall_at_k(100, 10) == pytest.approx(0.1)
    assert chance_recall_at_k(5, 10) == 1.0
    # several relevant items: exact enumeration of every possible top-k set
    g, k, r = 8, 3, 2
    hits = [any(i < r for i in top) for top in itertools.combinations(range(g), k)]
    assert chance_recall_at_k(g, k, n_relevant=r) == pytest.approx(np.mean(hits))
    assert chance_median_rank(1000) == 500.5 and chance_median_rank(7) == 4.0
    assert chance_mean_rank(1000) == 500.5
    # the best relevant item's rank over every ordering of a small gallery
    for g, r in [(6, 1), (6, 2), (7, 3), (5, 5)]:
        best = [min(p.index(i) for i in range(r)) + 1 for p in itertools.permutations(range(g))]
        assert chance_median_rank(g, r) == np.median(best), (g, r)
        assert chance_mean_rank(g, r) == pytest.approx(np.mean(best))
    # a random similarity matrix lands near chance (loose bound, fixed seed)
    rng = np.random.default_rng(0)
    m = retrieval_metrics(rng.normal(size=(2000, 50)), rng.integers(0, 50, size=2000))
    assert m["R@5"] == pytest.approx(chance_recall_at_k(50, 5), abs=0.03)
    with pytest.raises(ValueError):
        chance_recall_at_k(10, 1, n_relevant=11)


# ---------------------------------------------------------------- captioning (Java)

requires_java = pytest.mark.skipif(
    shutil.which("java") is None, reason="java not on PATH (pycocoevalcap needs it)"
)

REFS = {
    "v1": ["A man cuts an onion.", "Someone is slicing an onion on a board."],
    "v2": ["Pour the water into the pot.", "He pours water in a pot."],
    "v3": ["Stir the soup with a wooden spoon."],
    "v4": ["Add some salt and pepper, then mix it."],
}
CANDS = {
    "v1": "a man slices an onion",
    "v2": "pour water into the pot",
    "v3": "stir the soup",
    "v4": "add salt and pepper then mix",
}


def test_missing_java_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no java anywhere
    captioning.java_version.cache_clear()
    try:
        with pytest.raises(JavaNotFoundError, match="java"):
            caption_metrics(REFS, CANDS)
    finally:
        captioning.java_version.cache_clear()


def test_caption_inputs_are_checked_before_java_runs():
    with pytest.raises(ValueError, match="same ids"):
        caption_metrics(REFS, {"v1": "a man"})
    with pytest.raises(ValueError, match="one string"):
        caption_metrics({"v1": ["x"]}, {"v1": ["a", "b"]})
    with pytest.raises(ValueError, match="non-empty list"):
        caption_metrics({"v1": []}, {"v1": "a"})


@requires_java
def test_ptb_tokenize_matches_pycocoevalcap():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    captions = {
        1: ["He doesn't cut the ONION -- yet!", "line\nbreak, (parens) \"quotes\""],
        2: ["café au lait; 3.5 cups...", ""],
        3: ["a\x0bb\u2028c"],  # characters Java would treat as line breaks
    }
    ours = captioning.ptb_tokenize(captions)
    theirs = PTBTokenizer().tokenize(
        {k: [{"caption": " ".join(c.split())} for c in v] for k, v in captions.items()}
    )
    assert ours == theirs
    assert ours[1][0] == "he does n't cut the onion yet"
    assert ours[3] == ["a b c"]


@pytest.fixture(scope="module")
def scorer():
    with CaptionScorer() as s:
        yield s


@requires_java
def test_caption_metrics_match_pycocoevalcap_direct(scorer):
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    result = scorer.evaluate(REFS, CANDS)
    assert tuple(result.corpus) == METRIC_NAMES

    tok = PTBTokenizer()  # the COCOEvalCap recipe, step by step
    gts = tok.tokenize({k: [{"caption": c} for c in v] for k, v in REFS.items()})
    res = tok.tokenize({k: [{"caption": v}] for k, v in CANDS.items()})
    bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    # pycocoevalcap's Meteor object, fed the official recipe's tokens (reusing the scorer's
    # process: a second JVM start would double this test's time)
    assert isinstance(scorer._meteor, Meteor)
    meteor, meteor_items = scorer._meteor.compute_score(gts, res)
    rouge, _ = Rouge().compute_score(gts, res)
    cider, cider_items = Cider().compute_score(gts, res)
    expected = {"BLEU-3": bleu[2], "BLEU-4": bleu[3], "METEOR": meteor, "ROUGE-L": rouge,
                "CIDEr": cider}  # fmt: skip
    assert result.corpus == pytest.approx(expected, abs=1e-12)
    assert [result.per_item[k]["METEOR"] for k in gts] == pytest.approx(meteor_items)
    assert [result.per_item[k]["CIDEr"] for k in gts] == pytest.approx(list(cider_items))
    assert 0.2 < result.corpus["BLEU-3"] < 1.0  # a partly right caption set, not a degenerate one


@requires_java
def test_caption_metrics_identical_and_unrelated(scorer):
    same = scorer.evaluate(REFS, {k: v[0] for k, v in REFS.items()}).corpus
    assert same["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    assert same["BLEU-3"] == pytest.approx(1.0, abs=1e-6)
    assert same["ROUGE-L"] == pytest.approx(1.0)
    assert same["METEOR"] > 0.95
    assert same["CIDEr"] > 3.0

    unrelated = {
        "v1": "the quarterly budget report was late",
        "v2": "violins played during the wedding",
        "v3": "my neighbour paints old bicycles",
        "v4": "clouds drifted over quiet mountains",
    }
    far = scorer.evaluate(REFS, unrelated)
    assert far.corpus["BLEU-4"] < 1e-3 and far.corpus["BLEU-3"] < 1e-3
    assert far.corpus["CIDEr"] < 0.05
    assert far.corpus["ROUGE-L"] < 0.2
    assert far.corpus["METEOR"] < 0.1
    assert set(far.per_item) == set(REFS)

    # an empty caption is a legitimate (bad) output: scored 0, not a crash
    empty = scorer.evaluate(REFS, {**CANDS, "v3": ""})
    assert empty.per_item["v3"]["BLEU-4"] == 0.0 and empty.per_item["v3"]["CIDEr"] == 0.0


@requires_java
def test_macro_is_the_mean_of_each_videos_own_score_and_micro_the_whole_set(scorer):
    videos = {"v1": "video a", "v2": "video a", "v3": "video b", "v4": "video b"}
    grouped = scorer.evaluate_grouped(REFS, CANDS, videos)
    assert grouped.micro.corpus == pytest.approx(scorer.evaluate(REFS, CANDS).corpus)
    alone = {}
    for video in ("video a", "video b"):
        keys = [k for k, v in videos.items() if v == video]
        alone[video] = scorer.evaluate({k: REFS[k] for k in keys},
                                       {k: CANDS[k] for k in keys}).corpus
    for video, figures in alone.items():
        assert grouped.per_group[video] == pytest.approx(figures)
    for name in METRIC_NAMES:
        assert grouped.macro[name] == pytest.approx((alone["video a"][name]
                                                     + alone["video b"][name]) / 2)
    # CIDEr's document frequencies come from each video alone: the averages differ
    assert grouped.macro["CIDEr"] != pytest.approx(grouped.micro.corpus["CIDEr"])
    with pytest.raises(ValueError, match="no group"):
        scorer.evaluate_grouped(REFS, CANDS, {"v1": "video a"})


@requires_java
def test_scorer_close_ends_the_meteor_process(scorer):
    # runs last in this file: reuses the module's METEOR process, then ends it (a later
    # evaluate would simply start a new one)
    scorer.evaluate({"a": ["a red apple"]}, {"a": "a red apple"})
    proc = scorer._meteor.meteor_p
    assert proc.poll() is None  # kept alive between evaluations
    scorer.close()
    assert proc.poll() is not None and scorer._meteor is None
    scorer.close()  # idempotent


@requires_java
def test_a_dead_meteor_process_is_a_clear_error_and_cleaned_up():
    scorer = CaptionScorer()
    scorer._start_meteor()  # no wait for the JVM: it is killed straight away
    meteor = scorer._meteor
    meteor.meteor_p.kill()
    meteor.meteor_p.wait()
    with pytest.raises(RuntimeError, match="METEOR"):
        scorer.evaluate({"a": ["a red apple"]}, {"a": "a red apple"})
    assert scorer._meteor is None and not meteor.lock.locked()
    assert meteor.meteor_p.stdout.closed


def test_precision_recall_f1_match_scikit_learn():
    from sklearn.metrics import precision_recall_fscore_support

    from videobert.metrics import precision_recall_f1

    rng = np.random.default_rng(0)
    for _ in range(20):
        n_classes = int(rng.integers(2, 9))
        targets = rng.integers(0, n_classes, size=int(rng.integers(1, 60)))
        scores = rng.normal(size=(len(targets), n_classes))
        predicted = scores.argmax(1)
        ours = precision_recall_f1(scores, targets, n_classes)
        present = sorted(set(targets.tolist()))
        p, r, f, _ = precision_recall_fscore_support(targets, predicted, labels=present,
                                                     average="macro", zero_division=0)
        assert ours["macro_precision"] == pytest.approx(p)
        assert ours["macro_recall"] == pytest.approx(r)
        assert ours["macro_f1"] == pytest.approx(f)
        p_c, r_c, f_c, s_c = precision_recall_fscore_support(
            targets, predicted, labels=list(range(n_classes)), zero_division=0)
        for c, row in ours["per_class"].items():
            c = int(c)
            assert (row["precision"], row["recall"], row["f1"], row["support"]) == pytest.approx(
                (p_c[c], r_c[c], f_c[c], s_c[c]))
    named = precision_recall_f1(np.array([0, 1, 1]), np.array([0, 1, 0]), 3, ["a", "b", "c"])
    assert set(named["per_class"]) == {"a", "b"}  # "c" neither asked about nor predicted
    with pytest.raises(ValueError, match="same"):
        precision_recall_f1(np.array([0, 1]), np.array([0]), 2)
