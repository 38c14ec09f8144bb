"""Zero-shot classification: the prompt, multi-piece scoring, the three rows, the CLI."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

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
from videobert.tasks import inputs
from videobert.tasks.zero_shot import (
    DEFAULT_TEMPLATE,
    WHOLE_CLIPS_ROW,
    Template,
    appearance_block_width,
    build_prompt,
    candidate_pieces,
    evaluate_zero_shot,
    linear_probe,
    mine_templates,
    score_candidates,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ID = {w: i for i, w in enumerate(WORDS)}


def test_prompt_has_one_mask_per_piece_and_text_video_segments():
    tok = make_tokenizer()
    layout = make_layout(tok)
    template = Template.parse(DEFAULT_TEMPLATE, tok)
    example, verb_pos, noun_pos = build_prompt(template, layout, 2, 1, [3, 4])
    M, V = layout.mask_id, layout.visual_offset
    text = [ID[w] for w in ["now", "let", "me", "show", "you", "how", "to"]]
    assert example.ids == [layout.cls_id, *text, M, M, ID["the"], M, layout.video_sep_id,
                           V + 3, V + 4, layout.sep_id]
    assert example.types == [0] * 13 + [1] * 3  # [CLS] text [>] = 0, video [SEP] = 1
    assert verb_pos == [8, 9] and noun_pos == [11]
    assert example.slots == [8, 9, 11]
    prior, _, noun_pos = build_prompt(template, layout, 1, 2, None)  # language prior
    assert prior.ids[-1] == layout.sep_id and layout.video_sep_id not in prior.ids
    assert set(prior.types) == {0} and noun_pos == [10, 11]


def test_template_slots_in_any_order_and_errors():
    tok = make_tokenizer()
    layout = make_layout(tok)
    template = Template.parse("{noun} is good to {verb}", tok)
    example, verb_pos, noun_pos = build_prompt(template, layout, 1, 2, None)
    assert noun_pos == [1, 2] and verb_pos == [6]
    with pytest.raises(ValueError, match=r"\{verb\} and \{noun\}"):
        Template.parse("show me how to [MASK] the {noun}", tok)
    with pytest.raises(ValueError, match="'zebra'"):
        candidate_pieces(tok, ["egg", "zebra"], "noun")
    assert candidate_pieces(tok, ["onion", "whisk"], "noun") == [
        [ID["on"], ID["##ion"]], [ID["wh"], ID["##isk"]]
    ]


def test_rigged_model_ranks_multi_piece_candidates_first():
    tok = make_tokenizer()
    layout = make_layout(tok)

    def logits_fn(ids):  # the same preference at every position
        out = torch.zeros(*ids.shape, layout.size)
        out[..., [ID["wh"], ID["##isk"]]] = 5.0  # whisk: both pieces likely
        out[..., ID["fry"]] = 4.0
        out[..., [ID["on"], ID["##ion"]]] = 6.0  # onion: both pieces likely
        out[..., ID["tomato"]] = 3.0
        out[..., layout.visual_offset] = 50.0  # a visual word: must not enter the text softmax
        return out

    model = Rigged(layout, logits_fn)
    template = Template.parse(DEFAULT_TEMPLATE, tok)
    verb_s, noun_s = score_candidates(
        model, template, candidate_pieces(tok, VERBS, "verb"),
        candidate_pieces(tok, NOUNS, "noun"), [[0, 1], [2]],
    )
    assert verb_s.shape == (2, 4) and noun_s.shape == (2, 4)
    assert [VERBS[i] for i in np.argsort(-verb_s[0])[:2]] == ["whisk", "fry"]
    assert [NOUNS[i] for i in np.argsort(-noun_s[0])[:2]] == ["onion", "tomato"]
    # whisk's pair with a noun scores the mean log-prob of its pieces (over the text vocabulary)
    # plus the noun's; the verb's score sums its pairs' probabilities over the nouns
    text_logits = torch.zeros(layout.n_text)
    text_logits[[ID["wh"], ID["##isk"]]] = 5.0
    text_logits[ID["fry"]] = 4.0
    text_logits[[ID["on"], ID["##ion"]]] = 6.0
    text_logits[ID["tomato"]] = 3.0
    lp = torch.log_softmax(text_logits, 0)
    nouns = torch.stack([lp[ID["egg"]], (lp[ID["on"]] + lp[ID["##ion"]]) / 2, lp[ID["tomato"]],
                         lp[ID["milk"]]])
    expected = (lp[ID["wh"]] + lp[ID["##isk"]]) / 2 + torch.logsumexp(nouns, 0)
    assert verb_s[0, VERBS.index("whisk")] == pytest.approx(expected.item(), abs=1e-5)


def test_scores_match_a_direct_forward_pass_of_the_real_model():
    tok = make_tokenizer()
    layout = make_layout(tok)
    model = make_model(layout)
    template = Template.parse(DEFAULT_TEMPLATE, tok)
    video = [3, 7, 7, 1]
    _, noun_s = score_candidates(
        model, template, candidate_pieces(tok, VERBS, "verb"),
        candidate_pieces(tok, NOUNS, "noun"), [[5], video],
    )
    pairs = []  # onion with each verb, each pair in the prompt of its own widths
    for verb in VERBS:
        verb_ids = tok.encode(verb, add_special_tokens=False)
        example, verb_pos, noun_pos = build_prompt(template, layout, len(verb_ids), 2, video)
        ids = torch.tensor([example.ids])
        labels = torch.full_like(ids, -100)
        labels[0, example.slots] = 0
        with torch.no_grad():
            out = model(ids, torch.tensor([example.types]), torch.ones_like(ids, dtype=bool),
                        labels)
        logp = torch.log_softmax(out.mlm_logits[:, : layout.n_text], -1)  # rows = slots
        verb_lp = np.mean([logp[example.slots.index(p), t].item()
                           for p, t in zip(verb_pos, verb_ids, strict=True)])
        noun_lp = np.mean([logp[example.slots.index(p), t].item()
                           for p, t in zip(noun_pos, [ID["on"], ID["##ion"]], strict=True)])
        pairs.append(verb_lp + noun_lp)
    expected = torch.logsumexp(torch.tensor(pairs), 0).item()
    assert noun_s[1, NOUNS.index("onion")] == pytest.approx(expected, abs=1e-4)
    assert noun_s[0, NOUNS.index("onion")] != pytest.approx(noun_s[1, NOUNS.index("onion")])


def _verb_from_video(layout):
    """Rigged: the verb pieces of VERBS[word // 3] of the first visual word get a high logit
    (the world's words encode the verb that way); without video nothing is preferred but fry."""
    tok = make_tokenizer()
    pieces = candidate_pieces(tok, VERBS, "verb")

    def logits_fn(ids):
        out = torch.zeros(*ids.shape, layout.size)
        out[..., ID["fry"]] = 1.0
        for b, row in enumerate(ids):
            visual = row[row >= layout.visual_offset]
            if len(visual):
                out[b, :, pieces[int(visual[0] - layout.visual_offset) // 3]] = 8.0
        return out

    return Rigged(layout, logits_fn)


def test_cross_modal_row_uses_the_video_and_the_prior_ignores_it(world):
    tok = make_tokenizer()
    layout = make_layout(tok)
    model = _verb_from_video(layout)
    val = [s for s in world.steps if s.split == "val"]
    result = evaluate_zero_shot(model, tok, val, VERBS, NOUNS)
    prior, cross = result.row("language prior (no video)"), result.row("cross-modal (VideoBERT)")
    share_fry = np.mean([s.verb == "fry" for s in val])
    assert cross.verb_top1 == 1.0
    assert prior.verb_top1 == pytest.approx(share_fry) and share_fry < 1.0
    verb_cm = np.array(result.cross_modal_confusion["verb"])  # perfect: all on the diagonal
    assert verb_cm.shape == (len(VERBS), len(VERBS)) and np.trace(verb_cm) == verb_cm.sum()
    assert verb_cm.sum() == len(val) == np.sum(result.cross_modal_confusion["noun"])
    # other videos: the cross-modal row changes, the language prior does not
    moved = [dataclasses.replace(s, words=tuple((w + 3) % 12 for w in s.words)) for s in val]
    result2 = evaluate_zero_shot(model, tok, moved, VERBS, NOUNS)
    assert result2.row("language prior (no video)") == prior
    assert result2.row("cross-modal (VideoBERT)").verb_top1 < 1.0
    assert len(result.rows) == 2  # no probe without features


def test_linear_probe_separates_separable_features():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 16)) * 4
    y_train = np.repeat(np.arange(5), 8)
    y_test = np.repeat(np.arange(5), 4)
    x_train = centers[y_train] + rng.normal(size=(40, 16))
    x_test = centers[y_test] + rng.normal(size=(20, 16))
    logits = linear_probe(x_train, y_train, 5, x_test)
    assert logits.shape == (20, 5)
    assert (logits.argmax(1) == y_test).mean() == 1.0
    shuffled = linear_probe(x_train, rng.permutation(y_train), 5, x_test)
    assert (shuffled.argmax(1) == y_test).mean() < 0.7  # labels carry the signal, not chance


def test_three_rows_with_the_real_model(world):
    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    train = [s for s in world.steps if s.split == "train"]
    val = [s for s in world.steps if s.split == "val"]
    result = evaluate_zero_shot(model, tok, val, VERBS, NOUNS, train_steps=train,
                                features_dir=world.features)
    assert [r.method.split()[0] for r in result.rows] == ["language", "cross-modal", "supervised"]
    probe = result.rows[2]
    assert probe.verb_top1 == 1.0 and probe.noun_top1 == 1.0  # the features encode the action
    for row in result.rows:
        for value in dataclasses.asdict(row).values():
            assert isinstance(value, str) or 0.0 <= value <= 1.0
    assert "| supervised" in result.to_markdown()
    assert result.n_examples == 6 and result.n_left_out == 0
    fewer = evaluate_zero_shot(model, tok, val, VERBS[:3], NOUNS)  # whisk steps left out
    assert fewer.n_left_out == sum(s.verb == "whisk" for s in val) > 0


def test_cli_writes_the_report(world, tmp_path):
    from videobert.cli import main

    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    folder = model.save_pretrained(tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook)
    out = tmp_path / "report"
    code = main(["zeroshot", "--model", str(folder), "--ground-truth", str(world.ground_truth),
                 "--out", str(out), "--features", str(world.features)])
    assert code == 0
    figures = json.loads((out / "zeroshot.json").read_text())
    assert len(figures["rows"]) == 3 and figures["n_examples"] == 6
    accuracy, f1 = (out / "zeroshot.md").read_text().split("precision / recall / F1")
    assert accuracy.count("\n| ") == 5  # header, 3 rows, chance
    assert f1.count("\n| ") == 4  # header, 3 rows


def test_slot_logits_needs_equal_slot_counts():
    layout = make_layout()
    a, b = inputs.text_sequence(layout, [5]), inputs.text_sequence(layout, [5, 6])
    a.slots, b.slots = [1], [1, 2]
    with pytest.raises(ValueError, match="same number of slots"):
        inputs.slot_logits(make_model(layout), [a, b])


def test_templates_are_mined_from_narration_without_labels():
    sentences = [
        "next you CUT the egg", "next you fry  the onion", "next you pour the milk",  # 3 x
        "then whisk the tomato like this", "then cut the egg like this",  # 2 x
        "cut the egg and fry the onion",  # two pairs: not a template
        "dont forget to subscribe",  # no candidate
        "fry it", "the egg",  # one slot only
        "pour the olive oil",  # the multi-word noun, whole
        "pour the olive oil", "pour the olive oil",
        "next you cutting the eggs",  # not whole words
    ]
    nouns = [*NOUNS, "olive oil", "oil"]
    assert mine_templates(sentences, VERBS, nouns, min_count=3) == [
        "next you {verb} the {noun}", "{verb} the {noun}"]
    assert mine_templates(sentences, VERBS, nouns, min_count=2, most=3) == [
        "next you {verb} the {noun}", "{verb} the {noun}", "then {verb} the {noun} like this"]
    # a word in both lists says nothing about which slot it is
    assert mine_templates(["next you cut the egg"], VERBS, [*NOUNS, "cut"], min_count=1) == []


def test_several_templates_average_their_candidate_log_probs(world):
    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    val = [s for s in world.steps if s.split == "val"]
    one = evaluate_zero_shot(model, tok, val, VERBS, NOUNS, DEFAULT_TEMPLATE)
    assert evaluate_zero_shot(model, tok, val, VERBS, NOUNS, [DEFAULT_TEMPLATE]).rows == one.rows
    other = "and now you {verb} a {noun}"
    both = evaluate_zero_shot(model, tok, val, VERBS, NOUNS, [DEFAULT_TEMPLATE, other])
    assert both.templates == [DEFAULT_TEMPLATE, other]
    assert "2 templates averaged" in both.to_markdown()
    verb_p, noun_p = candidate_pieces(tok, VERBS, "verb"), candidate_pieces(tok, NOUNS, "noun")
    with torch.no_grad():
        parts = [score_candidates(model, Template.parse(t, tok), verb_p, noun_p,
                                  [s.clips for s in val]) for t in (DEFAULT_TEMPLATE, other)]

    def normalised(x):
        return x - np.log(np.exp(x).sum(1, keepdims=True))

    for i, (what, n) in enumerate((("verb", len(VERBS)), ("noun", len(NOUNS)))):
        mean = (normalised(parts[0][i]) + normalised(parts[1][i])) / 2
        targets = [(VERBS if what == "verb" else NOUNS).index(getattr(s, what)) for s in val]
        expected = np.mean(mean.argmax(1) == np.array(targets))
        assert getattr(both.row("cross-modal (VideoBERT)"), f"{what}_top1") == expected
        assert mean.shape == (len(val), n)
    with pytest.raises(ValueError, match="no template"):
        evaluate_zero_shot(model, tok, val, VERBS, NOUNS, [])


def test_cli_averages_the_templates_mined_from_a_corpus(world, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from videobert.cli import main

    tok = make_tokenizer()
    folder = make_model(make_layout(tok)).save_pretrained(
        tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    said = ["first cut the egg"] * 3 + ["then fry the onion slowly"] * 4 + ["done"] * 5
    pq.write_table(pa.table({"text": said}), corpus / "shard-00000.parquet")
    out = tmp_path / "report"
    assert main(["zeroshot", "--model", str(folder), "--ground-truth", str(world.ground_truth),
                 "--out", str(out), "--templates-from", str(corpus)]) == 0
    figures = json.loads((out / "zeroshot.json").read_text())
    assert figures["templates"] == ["then {verb} the {noun} slowly", "first {verb} the {noun}"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["zeroshot", "--model", str(folder), "--ground-truth", str(world.ground_truth),
                 "--out", str(out), "--templates-from", str(empty)]) == 1


# ---------------------------------------------------------------------------------------------
# Verbs from the motion stream, nouns from the appearance


class _PairBiased(Rigged):
    """Rigged on clip features of an appearance block (3 columns) and a motion block (one
    column per verb), answering from pairs as a model that saw them would. Visible word w and a
    motion: verb VERBS[w % 4] and the noun NOUNS[m] of the motion's column m (the pairs it
    "saw": wrong on these steps). Visible word, no motion: the noun NOUNS[w % 4] (right).
    Words hidden, a motion: the verb VERBS[m] (right)."""

    APPEARANCE = 3

    def __init__(self, layout):
        super().__init__(layout)
        self.config = SimpleNamespace(max_position_embeddings=512,
                                      clip_feature_dim=self.APPEARANCE + len(VERBS))
        tok = make_tokenizer()
        self.verbs = candidate_pieces(tok, VERBS, "verb")
        self.nouns = candidate_pieces(tok, NOUNS, "noun")

    def forward(self, input_ids, token_type_ids, attention_mask=None, mlm_labels=None,
                clip_features=None):
        layout = self._layout
        logits = torch.zeros(*input_ids.shape, layout.size)
        for b, row in enumerate(input_ids):
            visual = row[row >= layout.visual_offset]
            motion = (None if clip_features is None
                      else clip_features[b, :, self.APPEARANCE:].sum(0))
            moving = motion is not None and bool(motion.abs().sum() > 0)
            if len(visual) and moving:
                logits[b, :, self.verbs[int(visual[0] - layout.visual_offset) % 4]] = 8.0
                logits[b, :, self.nouns[int(motion.argmax())]] = 8.0
            elif len(visual):
                logits[b, :, self.nouns[int(visual[0] - layout.visual_offset) % 4]] = 8.0
            elif moving:
                logits[b, :, self.verbs[int(motion.argmax())]] = 8.0
        self.logits_fn = lambda ids: logits
        return super().forward(input_ids, token_type_ids, attention_mask, mlm_labels)


def _motion_steps():
    from videobert.tasks.steps import Step

    steps = []
    for i in range(8):
        verb, noun = i % 4, (i + 1) % 4  # the word says noun `noun`, verb `noun` (wrong)
        features = np.zeros((3, 3 + len(VERBS)), np.float32)
        features[:, :3] = 1.0  # appearance: the same for every clip
        features[:, 3 + verb] = 1.0
        steps.append(Step(f"v{i}", "val", 0, VERBS[verb], NOUNS[noun], 0.0, 4.5, "", True, 0,
                          2, (noun, noun, noun), features=features))
    return steps


def test_motion_and_appearance_views_hide_one_stream_each():
    layout = make_layout(make_tokenizer())
    features = np.arange(12, dtype=np.float32).reshape(2, 6) + 1
    clips = inputs.Clips((4, 5), features)
    view = inputs.motion_view(clips, 2)
    assert view.words == clips.words and view.hide_words and not clips.hide_words
    assert (view.features[:, :2] == 0).all() and (view.features[:, 2:] == features[:, 2:]).all()
    assert (clips.features == features).all()  # the whole clips are left as they were
    example = inputs.clips_sequence(layout, [ID["egg"]], view)
    video = np.array(example.types) == 1
    ids = np.array(example.ids)[video][:-1]  # the video tokens, before the final [SEP]
    assert (ids == layout.mask_id).all() and len(ids) == 2
    assert (example.clip_features[video][:-1] == view.features).all()  # read beside [MASK]
    assert view.subsample(1).hide_words
    look = inputs.appearance_view(clips, 2)
    assert look.words == clips.words and not look.hide_words
    assert (look.features[:, 2:] == 0).all() and (look.features[:, :2] == features[:, :2]).all()
    with pytest.raises(ValueError, match="appearance view"):
        inputs.appearance_view(clips, 0)
    with pytest.raises(ValueError, match="appearance block"):
        inputs.motion_view(inputs.Clips((4, 5)), 2)
    with pytest.raises(ValueError, match="no motion columns"):
        inputs.motion_view(clips, 6)


def test_verbs_come_from_the_motion_view_and_nouns_from_the_appearance_view():
    tok = make_tokenizer()
    model = _PairBiased(make_layout(tok))
    steps = _motion_steps()
    whole = evaluate_zero_shot(model, tok, steps, VERBS, NOUNS)
    seen_pairs = whole.row("cross-modal (VideoBERT)")
    assert seen_pairs.verb_top1 == 0.0 and seen_pairs.noun_top1 == 0.0
    factored = evaluate_zero_shot(model, tok, steps, VERBS, NOUNS, appearance_width=3)
    cross = factored.row("cross-modal (VideoBERT)")
    assert cross.verb_top1 == 1.0 and cross.noun_top1 == 1.0
    assert factored.row(WHOLE_CLIPS_ROW) == dataclasses.replace(seen_pairs,
                                                                method=WHOLE_CLIPS_ROW)
    assert factored.rows[1].method == "cross-modal (VideoBERT)"  # the row the bars read
    assert factored.probe_row() is None  # no features folder: no probe, whatever the rows
    assert np.trace(np.array(factored.cross_modal_confusion["verb"])) == len(steps)
    assert "both from the whole clips" in factored.to_markdown()


def test_appearance_block_width_reads_the_codebook_streams(tmp_path):
    from videobert.io import write_json

    codebook = tmp_path / "codebook"
    codebook.mkdir()
    np.save(codebook / "centroids.npy", np.zeros((4, 7), np.float32))
    write_json(codebook / "meta.json", {"k": 2, "depth": 2, "n_words": 4, "dim": 7,
                                        "normalize": "center_l2", "blocks": [3, 4]})
    reads = SimpleNamespace(config=SimpleNamespace(clip_feature_dim=7))
    assert appearance_block_width(reads, codebook) == 3
    assert appearance_block_width(SimpleNamespace(config=SimpleNamespace(clip_feature_dim=0)),
                           codebook) == 0  # words only: nothing to split
    assert appearance_block_width(reads, None) == 0
    write_json(codebook / "meta.json", {"k": 2, "depth": 2, "n_words": 4, "dim": 7,
                                        "normalize": "center_l2"})
    assert appearance_block_width(reads, codebook) == 0  # one stream: verbs from the whole clips
