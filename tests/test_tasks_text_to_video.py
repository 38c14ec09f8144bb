"""Text -> video generation and storyboards: visual words only, iterative vs parallel filling,
exact image sizes, exemplar and placeholder tiles, the CLI."""

from __future__ import annotations

import json

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
from videobert.tasks.text_to_video import generate_visual_words, render_generation

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
