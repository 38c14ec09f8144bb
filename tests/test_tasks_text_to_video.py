"""Text -> video generation and storyboards: visual words only, iterative vs parallel filling,
exact image sizes, exemplar and placeholder tiles, the CLI, and the noun-probe score."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from test_tasks_fixtures import (
    N_VISUAL,
    NOUNS,
    Rigged,
    make_layout,
    make_model,
    make_tokenizer,
)
from videobert.metrics.bootstrap import bootstrap_difference
from videobert.tasks.storyboard import (
    CAPTION_H,
    GAP,
    LABEL_W,
    MISSING,
    TITLE_H,
    StoryRow,
    render_storyboard,
    storyboard_size,
)
from videobert.tasks.text_to_video import (
    Generation,
    generate_visual_words,
    render_generation,
    score_noun_probe,
    word_features,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _count_rig(layout):
    """Predicts visual word (number of visual words already in the input); a text token and
    [MASK] get even higher logits, which must be ignored."""

    def logits_fn(ids):
        out = torch.zeros(*ids.shape, layout.size)
        out[..., 5] = 100.0
        out[..., layout.mask_id] = 100.0
        n_visual = (ids >= layout.visual_offset).sum(1)  # (B,)
        for b, n in enumerate(n_visual.tolist()):
            out[b, :, layout.visual_offset + n % layout.n_visual] = 10.0
        return out

    return Rigged(layout, logits_fn)


def test_iterative_generation_sees_its_own_words_parallel_does_not():
    tok = make_tokenizer()
    model = _count_rig(make_layout(tok))
    iterative = generate_visual_words(model, tok, "cut the onion", n_words=5)
    parallel = generate_visual_words(model, tok, "cut the onion", n_words=5, mode="parallel")
    assert iterative.words == [0, 1, 2, 3, 4]
    assert parallel.words == [0, 0, 0, 0, 0]
    assert all(lp <= 0 for lp in iterative.log_probs)
    with pytest.raises(ValueError, match="mode"):
        generate_visual_words(model, tok, "x", mode="beam")


def test_real_model_generates_visual_words():
    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    gen = generate_visual_words(model, tok, "pour the milk into a bowl", n_words=6)
    assert len(gen.words) == 6 and all(0 <= w < N_VISUAL for w in gen.words)


def test_storyboard_size_tiles_and_placeholders(world, tmp_path):
    rows = [StoryRow("context", [0, 1, 2]), StoryRow("forecast", [4, 5])]
    path = render_storyboard(rows, tmp_path / "board.png", world.codebook / "exemplars",
                             title="a title", tile_size=32)
    width, height = storyboard_size(rows, 32)
    assert (width, height) == (GAP + LABEL_W + 3 * 36, TITLE_H + 2 * (32 + CAPTION_H + GAP) + GAP)
    img = Image.open(path).convert("RGB")
    assert img.size == (width, height)
    pixels = np.asarray(img).astype(int)

    def tile_pixel(row, col, offset):
        return pixels[TITLE_H + row * (32 + CAPTION_H + GAP) + offset,
                      GAP + LABEL_W + col * 36 + offset]

    first_frame = np.asarray(Image.open(world.codebook / "exemplars" / "word_00000.jpg"))[15, 15]
    for offset in (3, 16, 28):  # word 0: the whole tile is the strip's first frame (JPEG)
        assert np.abs(tile_pixel(0, 0, offset) - first_frame).max() <= 12
    assert tuple(tile_pixel(0, 1, 3)) == MISSING  # word 1 has no exemplar: grey
    with pytest.raises(ValueError, match="at least one row"):
        render_storyboard([], tmp_path / "none.png", None)


def test_generation_storyboard_and_cli(world, tmp_path):
    from videobert.cli import main

    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    gen = generate_visual_words(model, tok, "fry the egg", n_words=4)
    png = render_generation(gen, tmp_path / "gen.png", world.codebook / "exemplars")
    assert Image.open(png).size == storyboard_size([StoryRow("generated", gen.words)])

    folder = model.save_pretrained(tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook)
    out = tmp_path / "report"
    assert main(["text2video", "--model", str(folder), "--sentence", "fry the egg",
                 "--sentence", "whisk the milk", "--n-words", "4", "--out", str(out)]) == 0
    report = json.loads((out / "text2video.json").read_text())
    assert [g["sentence"] for g in report["generations"]] == ["fry the egg", "whisk the milk"]
    assert report["generations"][0]["words"] == gen.words  # same model, same greedy choice
    assert (out / "text2video_01.png").exists()


# ---------------------------------------------------------------------------------------------
# The noun probe


def _noun_rig(tok, layout, words_of_noun):
    """Generates, for a sentence naming noun N, the words ``words_of_noun[N]`` in turn."""
    first_piece = {n: tok.convert_tokens_to_ids(tok.tokenize(n))[0] for n in NOUNS}

    def logits_fn(ids):
        out = torch.zeros(*ids.shape, layout.size)
        for b, row in enumerate(ids.tolist()):
            noun = next(n for n, i in first_piece.items() if i in row)
            words = words_of_noun[noun]
            n_visual = sum(i >= layout.visual_offset for i in row)
            out[b, :, layout.visual_offset + words[n_visual % len(words)]] = 10.0
        return out

    return Rigged(layout, logits_fn)


def _words_showing_only(world, noun):
    """Visual words of the train steps about ``noun`` that no other train step has."""
    train = [s for s in world.steps if s.split == "train"]
    mine = {w for s in train if s.noun == noun for w in s.words}
    return sorted(mine - {w for s in train if s.noun != noun for w in s.words})


SENTENCES = {"cut the egg": "egg", "whisk the egg": "egg", "fry the tomato": "tomato",
             "cut the tomato": "tomato", "whisk the onion": "onion", "pour the onion": "onion"}


def _score(world, model, tok, sentences=SENTENCES):
    gens = [generate_visual_words(model, tok, f"now let me show you how to {s}", n_words=4)
            for s in sentences]
    train = [s for s in world.steps if s.split == "train"]
    return gens, score_noun_probe(gens, list(sentences.values()), train, world.video_words,
                                  world.features, NOUNS)


def test_storyboards_of_the_named_noun_score_well_above_chance(world):
    tok = make_tokenizer()
    layout = make_layout(tok)
    shows = {n: _words_showing_only(world, n) for n in ("egg", "tomato", "onion")}
    assert all(shows.values())  # the fixture has a word showing each of these nouns
    gens, score = _score(world, _noun_rig(tok, layout, shows), tok)
    assert score.chance == 1 / len(NOUNS)
    assert all(set(g.words) <= set(shows[n]) for g, n in
               zip(gens, SENTENCES.values(), strict=True))
    assert len(score.hits) == 4 * len(SENTENCES)  # every word has train clips: all scored
    assert score.share >= 0.75
    chance = [score.chance] * len(score.hits)
    assert bootstrap_difference(score.hits, chance).low > 0  # the evaluate bar is met
    first = score.generations[0]
    assert first["noun"] == "egg" and first["share"] == np.mean(first["hits"])
    assert "| 6 | 24 of 24 | 1.000 [1.000, 1.000] | 0.250 |" in score.to_markdown()
    json.dumps(score.to_dict())  # figures.json takes it as is


def test_a_fixed_unrelated_word_scores_at_or_below_chance(world):
    tok = make_tokenizer()
    layout = make_layout(tok)
    egg_word = _words_showing_only(world, "egg")[0]
    sentences = {k: v for k, v in SENTENCES.items() if v != "egg"}
    _, score = _score(world, _noun_rig(tok, layout, dict.fromkeys(NOUNS, [egg_word])), tok,
                      sentences)
    assert len(score.hits) == 4 * len(sentences)
    assert score.share <= score.chance
    assert {p for g in score.generations for p in g["predicted"]} == {"egg"}
    assert "| egg (1.00) |" in score.to_markdown()


def test_words_seen_only_in_val_videos_are_not_scored(world):
    """A word's feature comes from train clips only: a word of val clips alone is skipped."""
    train_videos = {s.video_id for s in world.steps if s.split == "train"}
    vectors = word_features(world.video_words, world.features, train_videos)
    val_only = sorted(set(range(N_VISUAL)) - set(vectors))
    assert val_only  # the fixture has such words
    vid0 = np.load(world.features / "vid0.npy").astype(np.float32)
    only_vid0 = word_features(world.video_words, world.features, ["vid0"])
    word = int(world.video_words["vid0"][0])
    np.testing.assert_allclose(only_vid0[word], vid0[world.video_words["vid0"] == word].mean(0),
                               rtol=1e-6)

    tok = make_tokenizer()
    rig = _noun_rig(tok, make_layout(tok), dict.fromkeys(NOUNS, [val_only[0]]))
    _, score = _score(world, rig, tok)
    assert score.hits == [] and score.share is None
    assert all(p is None for g in score.generations for p in g["predicted"])
    with pytest.raises(ValueError, match="not in the noun list"):
        score_noun_probe([Generation("cut the bread", [0], [0.0])], ["bread"], world.steps,
                         world.video_words, world.features, NOUNS)


def test_evaluate_generates_every_val_caption_and_draws_only_a_few(world, tmp_path):
    from videobert.tasks.registry import TaskConfig, TaskData, text_to_video
    from videobert.tasks.steps import load_ground_truth

    tok = make_tokenizer()
    layout = make_layout(tok)
    egg_word = _words_showing_only(world, "egg")[0]
    train = [s for s in world.steps if s.split == "train"]
    val = [s for s in world.steps if s.split == "val"]
    cfg = TaskConfig(n_storyboards=2, max_generations=5)
    rig = _noun_rig(tok, layout, dict.fromkeys(NOUNS, [egg_word]))
    gt = load_ground_truth(world.ground_truth)

    def run(steps, features):
        data = TaskData(tmp_path / "model", rig, tok, world.codebook, gt, train, steps,
                        world.video_words, features, tmp_path)
        return text_to_video(data, cfg)

    outcome = run(val, world.features)
    rows, score = outcome.figures["generations"], outcome.result
    captions = list(dict.fromkeys(s.caption for s in val))
    assert len(captions) == 6 and [r["sentence"] for r in rows] == [
        f"now let me show you how to {c}" for c in captions[:5]]
    assert [r["noun"] for r in rows] == [c.split()[-1] for c in captions[:5]]
    assert ["storyboard" in r for r in rows] == [True, True, False, False, False]
    assert sorted(p.name for p in tmp_path.glob("text2video_*.png")) == [
        "text2video_00.png", "text2video_01.png"]
    assert [p.name for p in outcome.pictures] == ["text2video_00.png", "text2video_01.png"]
    # every word is the egg word: hits are exactly the words of the one egg sentence
    assert len(score.generations) == 5 and sum(score.hits) == 8
    assert outcome.figures["noun_probe"] == score.to_dict()
    no_features = run(val[:1], None)
    assert no_features.result is None and no_features.figures["noun_probe"] is None
