"""Text -> video retrieval: batched alignment equals the naive loop, a rigged model is perfect,
embeddings are pooled over content tokens, the CLI writes its report."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from test_tasks_fixtures import (
    NOUNS,
    VERBS,
    WORDS,
    Rigged,
    make_layout,
    make_model,
    make_tokenizer,
)
from videobert.sequences.dataset import tokenizer_continuations
from videobert.sequences.masking import word_groups
from videobert.tasks import inputs
from videobert.tasks.retrieval import (
    action_relevance,
    alignment_similarity,
    alignment_similarity_naive,
    chance_figures,
    embedding_similarity,
    evaluate_retrieval,
    idf_weights,
    likelihood_similarity,
    masked_halves,
    per_video_z,
    query_text,
)
from videobert.tasks.steps import Step

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ID = {w: i for i, w in enumerate(WORDS)}


def _steps(n: int) -> list[Step]:
    """n steps of distinct actions; action a = verb * 4 + noun is shown by visual word a."""
    steps = []
    for a in range(n):
        verb, noun = VERBS[a // 4], NOUNS[a % 4]
        steps.append(Step("v", "val", a, verb, noun, 0.0, 3.0, f"{verb} the {noun}", True,
                          0, 1 + a % 3, (a, *[(a + 5) % 12] * (1 + a % 3))))
    return steps


def test_batched_alignment_equals_one_pair_at_a_time():
    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    texts = [tok.encode(t, add_special_tokens=False)
             for t in ("cut the onion", "whisk", "then pour the milk into a bowl slowly",
                       "whisk")]  # a repeated sentence is scored once and copied
    videos = [[1], [4, 4, 9, 2, 0], [11, 3]]
    fast = alignment_similarity(model, texts, videos, batch_size=2, progress=False)
    slow = alignment_similarity_naive(model, texts, videos)
    assert fast.shape == (4, 3)
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    assert np.ptp(fast) > 0  # the scores do depend on the pair


def test_rigged_alignment_retrieves_perfectly_and_chance_is_reported():
    tok = make_tokenizer()
    layout = make_layout(tok)
    first_piece = {tok.encode(w, add_special_tokens=False)[0]: i for i, w in enumerate(VERBS)}
    noun_piece = {tok.encode(w, add_special_tokens=False)[0]: i for i, w in enumerate(NOUNS)}

    def align_fn(ids):  # ids: [CLS] verb the noun... [>] video [SEP]
        scores = []
        for row in ids.tolist():
            if row[1] not in first_piece:  # a video-only input (the embedding path)
                scores.append(0.0)
                continue
            action = first_piece[row[1]] * 4 + noun_piece[row[3]]
            first_visual = next((t for t in row if t >= layout.visual_offset), -1)
            scores.append(10.0 if first_visual - layout.visual_offset == action else 0.0)
        return torch.tensor(scores)

    steps = _steps(10)
    result = evaluate_retrieval(Rigged(layout, align_fn=align_fn), tok, steps, batch_size=4)
    assert result.alignment["R@1"] == 1.0 and result.alignment["median_rank"] == 1.0
    assert result.n_queries == result.n_gallery == 10
    assert result.chance["R@1"] == pytest.approx(0.1) and result.chance["R@5"] == 0.5
    assert result.chance["median_rank"] == pytest.approx(5.5)
    # the same model, scored the wrong way round, is far from perfect
    wrong = Rigged(layout, align_fn=lambda ids: -align_fn(ids))
    assert evaluate_retrieval(wrong, tok, steps).alignment["R@1"] == 0.0
    assert "| alignment head | 1.000 |" in result.to_markdown()


def test_sentences_are_masked_in_two_halves_of_whole_words():
    assert masked_halves([0, 1, 1, 2]) == [[0, 3], [1, 2]]
    assert masked_halves([0, 0]) == [[0, 1]]  # one word: one pass
    assert masked_halves([]) == []
    tok = make_tokenizer()
    ids = tok.encode("cut the onion", add_special_tokens=False)
    assert tok.convert_ids_to_tokens(ids) == ["cut", "the", "on", "##ion"]
    groups = word_groups(np.array(ids), tokenizer_continuations(tok, make_layout(tok).n_text))
    assert masked_halves(groups) == [[0, 2, 3], [1]]  # "on ##ion" together


def test_likelihood_equals_one_pair_at_a_time():
    tok = make_tokenizer()
    layout = make_layout(tok)
    model = make_model(layout).eval()
    texts = [tok.encode(t, add_special_tokens=False) for t in ("cut the onion", "whisk the")]
    videos = [[1], [4, 4, 9, 2, 0], [11, 3]]
    fast = likelihood_similarity(model, tok, texts, videos, batch_size=2, progress=False)
    slow = np.zeros((len(texts), len(videos)))
    # "the" is in both sentences: weight log(2/2) = 0; every other token log(2/1)
    weight = {t: 0.0 if t == ID["the"] else np.log(2) for text in texts for t in text}
    with torch.no_grad():
        for q, text in enumerate(texts):
            for g, video in enumerate(videos):
                continuation = tokenizer_continuations(tok, layout.n_text)
                for half in masked_halves(word_groups(np.array(text), continuation)):
                    masked = [layout.mask_id if i in half else t for i, t in enumerate(text)]
                    ex = inputs.joint_sequence(layout, masked, inputs.visual_tokens(layout, video))
                    hidden = model(torch.tensor([ex.ids]), torch.tensor([ex.types])).hidden_states
                    logp = torch.log_softmax(model.token_logits(hidden)[0, :, :layout.n_text], -1)
                    slow[q, g] += sum(weight[text[i]] * float(logp[1 + i, text[i]])
                                      for i in half)
    np.testing.assert_allclose(fast, slow, atol=1e-4)
    assert np.ptp(fast[0]) > 0  # the score does depend on the video


def test_idf_weights_leave_out_the_tokens_every_sentence_has():
    w = idf_weights([[1, 2], [1, 3], [1, 3]])
    np.testing.assert_allclose(w[0], [0.0, np.log(3)])
    np.testing.assert_allclose(w[1], [0.0, np.log(3 / 2)])
    assert idf_weights([[5, 6], [5, 6]])[0].tolist() == [1.0, 1.0]  # nothing tells them apart


def test_rigged_likelihood_retrieves_perfectly():
    tok = make_tokenizer()
    layout = make_layout(tok)
    piece = {w: tok.encode(w, add_special_tokens=False)[0] for w in (*VERBS, *NOUNS)}

    def logits_fn(ids):  # the video's first word a names the action: its verb and noun likely
        out = torch.zeros(*ids.shape, layout.size)
        for b, row in enumerate(ids.tolist()):
            visual = [t - layout.visual_offset for t in row if t >= layout.visual_offset]
            if visual and visual[0] < 4 * len(NOUNS):
                action = visual[0]
                out[b, :, piece[VERBS[action // 4]]] = 10.0
                out[b, :, piece[NOUNS[action % 4]]] = 10.0
        return out

    result = evaluate_retrieval(Rigged(layout, logits_fn=logits_fn), tok, _steps(10),
                                batch_size=4)
    assert result.likelihood["R@1"] == 1.0
    assert "| masked-LM likelihood of the sentence | 1.000 |" in result.to_markdown()
    assert result.likelihood_raw["R@1"] == 1.0
    assert "| the same, not normalised per video | 1.000 |" in result.to_markdown()


def test_per_video_z_counts_each_sentence_once():
    rng = np.random.default_rng(0)
    texts = [[1, 2], [3], [1, 2], [4, 5]]  # queries 0 and 2 ask the same sentence
    scores = rng.normal(size=(4, 3))
    scores[2] = scores[0]  # one sentence, one score per video
    z = per_video_z(scores, texts)
    distinct = z[[0, 1, 3]]
    np.testing.assert_allclose(distinct.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(distinct.std(0), 1, atol=1e-12)
    np.testing.assert_array_equal(z[2], z[0])
    one = np.array([[3.0, -1.0], [3.0, -1.0]])  # one sentence asked twice: kept as it is
    np.testing.assert_array_equal(per_video_z(one, [[7], [7]]), one)
    flat = per_video_z(np.array([[2.0, 1.0], [2.0, 3.0]]), [[1], [2]])  # video 0 does not vary
    np.testing.assert_array_equal(flat[:, 0], [0.0, 0.0])
    np.testing.assert_allclose(flat[:, 1], [-1.0, 1.0])


def test_per_video_z_stops_an_unclear_video_winning_every_query():
    # Videos 0-2 are read with confidence (their own sentence -4, the others -12); video 3
    # is unclear and gives every sentence about -3. Summed log-probabilities put video 3 first
    # for every query; per video z-scores put every query's own video first.
    scores = np.full((4, 4), -12.0)
    np.fill_diagonal(scores, -4.0)
    scores[:, 3] = -3.0
    scores[3, 3] = -2.9
    texts = [[0], [1], [2], [3]]
    assert scores.argmax(1).tolist() == [3, 3, 3, 3]
    assert per_video_z(scores, texts).argmax(1).tolist() == [0, 1, 2, 3]


def test_steps_of_the_same_action_count_as_correct():
    steps = _steps(3)
    steps.append(steps[1])
    relevance = action_relevance(steps)
    assert relevance.diagonal().all()
    assert relevance[1, 3] and relevance[3, 1] and not relevance[0, 1]
    chance = chance_figures(relevance)  # G = 4; queries 1 and 3 have 2 correct items
    assert chance["R@1"] == pytest.approx((0.25 + 0.5 + 0.25 + 0.5) / 4)


def test_embeddings_are_pooled_over_content_tokens():
    tok = make_tokenizer()
    layout = make_layout(tok)
    model = make_model(layout)
    text, video = tok.encode("fry the egg", add_special_tokens=False), [2, 6, 6]
    sim = embedding_similarity(model, [text, [ID["cut"]]], [video, [0]])
    with torch.no_grad():
        ids = torch.tensor([inputs.text_sequence(layout, text).ids])
        t = model(ids, torch.zeros_like(ids)).hidden_states[0, 1:-1].mean(0)  # no [CLS]/[SEP]
        v_ex = inputs.video_sequence(layout, inputs.visual_tokens(layout, video))
        ids = torch.tensor([v_ex.ids])
        v = model(ids, torch.tensor([v_ex.types])).hidden_states[0, 2:-1].mean(0)  # no [>]
    assert sim[0, 0] == pytest.approx(torch.cosine_similarity(t, v, 0).item(), abs=1e-5)
    assert sim.shape == (2, 2) and np.all(np.abs(sim) <= 1 + 1e-6)


def test_cli_writes_the_report(world, tmp_path):
    from videobert.cli import main

    tok = make_tokenizer()
    folder = make_model(make_layout(tok)).save_pretrained(
        tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook
    )
    out = tmp_path / "report"
    assert main(["retrieval", "--model", str(folder), "--ground-truth", str(world.ground_truth),
                 "--out", str(out)]) == 0
    figures = json.loads((out / "retrieval.json").read_text())
    assert figures["n_queries"] == 6
    for key in ("R@1", "R@5", "R@10", "median_rank"):
        assert key in figures["alignment"] and key in figures["embedding"]
        assert key in figures["likelihood"] and key in figures["likelihood_raw"]
    assert figures["alignment"]["R@10"] == 1.0  # a gallery of 6: everything is in the top 10
    assert main(["retrieval", "--model", str(folder), "--ground-truth", str(world.ground_truth),
                 "--out", str(out), "--query", "narration", "--max-queries", "4"]) == 0
    assert json.loads((out / "retrieval.json").read_text())["n_queries"] == 4


def test_narration_queries_fall_back_to_the_caption():
    step = _steps(1)[0]
    assert query_text(step, "narration") == step.caption
    spoken = dataclasses.replace(step, narration="now I cut the egg")
    assert query_text(spoken, "narration") == "now I cut the egg"
    assert query_text(spoken) == step.caption
    with pytest.raises(ValueError, match="query field"):
        query_text(step, "title")
