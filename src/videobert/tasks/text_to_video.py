"""Text -> video generation: predict visual words from a sentence and draw them as a storyboard.

The model reads ``[CLS] sentence [>] [MASK] x n [SEP]`` and every slot is filled with a visual
word (the argmax over the visual-word columns only, so a text token can never come out).
``mode="iterative"`` (default) fills the slots left to right, one forward pass per slot, each
pass seeing the words already chosen, so the sequence is coherent; ``mode="parallel"`` fills
every slot from one pass. Retrieving videos for a sentence is ``tasks.retrieval``.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import torch

from videobert.tasks import inputs
from videobert.tasks.storyboard import StoryRow, render_storyboard

MODES = ("iterative", "parallel")


@dataclasses.dataclass
class Generation:
    sentence: str
    words: list[int]  # codebook word ids, left to right
    log_probs: list[float]  # of each chosen word, over the visual words, when it was chosen

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@torch.no_grad()
def generate_visual_words(
    model: Any, tokenizer: Any, sentence: str, n_words: int = 8, mode: str = "iterative"
) -> Generation:
    """Visual words (codebook indices) the model predicts for ``sentence``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if n_words < 1:
        raise ValueError(f"n_words must be >= 1, got {n_words}")
    layout = model.layout
    text = inputs.encode_text(tokenizer, sentence)
    limit = inputs.max_length(model) - n_words - 3
    text = text[:limit]  # a very long sentence keeps its start
    tokens = [layout.mask_id] * n_words
    first_slot = len(text) + 2  # after [CLS] text [>]
    visual = inputs.visual_slice(layout)
    words: list[int] = []
    log_probs: list[float] = []
    model.eval()
    while len(words) < n_words:
        example = inputs.joint_sequence(layout, text, tokens)
        remaining = list(range(first_slot + len(words), first_slot + n_words))
        example.slots = remaining
        logp = torch.log_softmax(inputs.slot_logits(model, [example])[0][:, visual], -1)
        take = 1 if mode == "iterative" else len(remaining)  # (S, n_visual) -> choices
        best = logp[:take].max(dim=-1)
        for word, lp in zip(best.indices.tolist(), best.values.tolist(), strict=True):
            tokens[len(words)] = int(layout.visual_to_token(word))
            words.append(int(word))
            log_probs.append(float(lp))
    return Generation(sentence, words, log_probs)


def render_generation(
    generation: Generation, path: str | Path, exemplars_dir: str | Path | None,
    tile_size: int = 96,
) -> Path:
    """A one-row storyboard of the generated words, titled with the sentence."""
    rows = [StoryRow("generated", generation.words)]
    return render_storyboard(rows, path, exemplars_dir, f'"{generation.sentence}"', tile_size)


# ---------------------------------------------------------------------------------------------
# CLI: videobert text2video


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.tasks import cli_common

    cli_common.add_model_arguments(parser)
    parser.add_argument("--sentence", action="append", required=True,
                        help="a sentence to draw (repeat for several)")
    parser.add_argument("--n-words", type=int, default=8, help="visual words (clips) to predict")
    parser.add_argument("--mode", choices=MODES, default="iterative")


def run(args: argparse.Namespace) -> int:
    from videobert.io import write_json
    from videobert.tasks import cli_common

    model, tokenizer, codebook_dir = cli_common.load_model(args)
    out = Path(args.out)
    results = []
    for i, sentence in enumerate(args.sentence):
        gen = generate_visual_words(model, tokenizer, sentence, args.n_words, args.mode)
        png = render_generation(gen, out / f"text2video_{i:02d}.png", codebook_dir / "exemplars")
        print(f"{sentence!r} -> visual words {gen.words} ({png})")
        results.append({**gen.to_dict(), "storyboard": str(png)})
    write_json(out / "text2video.json", {"mode": args.mode, "generations": results})
    return 0
