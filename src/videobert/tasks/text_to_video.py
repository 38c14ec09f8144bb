"""Text -> video generation: predict visual words from a sentence and draw them as a storyboard.

The model reads ``[CLS] sentence [>] [MASK] x n [SEP]`` and every slot is filled with a visual
word (the argmax over the visual-word columns only, so a text token can never come out).
``mode="iterative"`` (default) fills the slots left to right, one forward pass per slot, each
pass seeing the words already chosen, so the sequence is coherent; ``mode="parallel"`` fills
every slot from one pass. Retrieving videos for a sentence is ``tasks.retrieval``.

``score_noun_probe`` measures whether a storyboard shows what its sentence names: a linear probe
trained on the train steps' mean clip features predicts a noun for each generated word (from the
mean feature of the train clips assigned to that word), and a hit is the sentence's noun.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videobert.tasks import inputs
from videobert.tasks.steps import Step
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
# Scoring: does the storyboard show the noun the sentence names? (the noun probe)


def word_features(
    video_words: dict[str, np.ndarray], features_dir: str | Path, videos: Iterable[str]
) -> dict[int, np.ndarray]:
    """Mean raw clip feature of each visual word over the clips of ``videos`` assigned to it:
    {word: (D,) float32}. A word with no clip there is absent (so it cannot be scored)."""
    from videobert.artifacts.features import ClipFeatures

    features = ClipFeatures(features_dir)
    sums: dict[int, np.ndarray] = {}
    counts: dict[int, int] = {}
    for vid in sorted(set(videos)):
        words = video_words[vid]
        feats = features.clips(vid, 0, len(words) - 1, "the codebook's assignments")
        for word in np.unique(words[words >= 0]).tolist():  # -1: a clip skipped upstream
            chosen = feats[: len(words)][words == word]
            sums[word] = sums.get(word, 0.0) + chosen.sum(0)
            counts[word] = counts.get(word, 0) + len(chosen)
    return {w: (sums[w] / counts[w]).astype(np.float32) for w in sorted(sums)}


@dataclasses.dataclass
class NounProbeScore:
    """Per generation: the named ``noun``, the probe's noun for each generated word (``None``:
    the word has no train clip, so it is not scored) and the 0/1 ``hits`` of the scored words."""

    nouns: list[str]
    chance: float  # 1 / n_nouns: a probe answer that ignores the word
    n_train_steps: int
    generations: list[dict[str, Any]]  # {sentence, noun, predicted, hits, share}

    @property
    def hits(self) -> list[int]:
        """Per-word hits of every generation, in order (the bar's examples)."""
        return [h for g in self.generations for h in g["hits"]]

    @property
    def share(self) -> float | None:
        return float(np.mean(self.hits)) if self.hits else None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "n_words": sum(len(g["predicted"]) for g in
                                                           self.generations),
                "n_scored": len(self.hits), "share": self.share}

    def to_markdown(self) -> str:
        from collections import Counter

        from videobert.metrics.bootstrap import bootstrap_mean

        hits = self.hits
        n_words = sum(len(g["predicted"]) for g in self.generations)
        shown = str(bootstrap_mean(np.asarray(hits))) if hits else "–"
        # one noun for most words means the generations collapsed onto a few visual words
        said = Counter(p for g in self.generations for p in g["predicted"] if p is not None)
        top = (f"{said.most_common(1)[0][0]} ({said.most_common(1)[0][1] / len(hits):.2f})"
               if hits else "–")
        lines = ["| sentences | words scored | shows the named noun | chance | most predicted |",
                 "|---:|---:|---:|---:|---|",
                 f"| {len(self.generations)} | {len(hits)} of {n_words} | {shown} | "
                 f"{self.chance:.3f} | {top} |",
                 f"\nNoun probe: a linear probe on the mean clip features of "
                 f"{self.n_train_steps} train steps names a noun for each generated word (from "
                 "the mean feature of its train clips; words with none are not scored). In "
                 "brackets: 95% bootstrap interval over words."]
        return "\n".join(lines) + "\n"


def score_noun_probe(
    generations: Sequence[Generation],
    named_nouns: Sequence[str],
    train_steps: Sequence[Step],
    video_words: dict[str, np.ndarray],
    features_dir: str | Path,
    nouns: Sequence[str],
    seed: int = 0,
) -> NounProbeScore:
    """Score each generation's words with the noun probe against the noun its sentence names
    (``named_nouns[i]`` for ``generations[i]``).

    Only train videos give the probe's training steps and the words' features, so nothing from
    the evaluation split leaks into the score.
    """
    from videobert.tasks.zero_shot import linear_probe, step_features

    if len(generations) != len(named_nouns):
        raise ValueError(f"{len(generations)} generations but {len(named_nouns)} named nouns")
    nouns = list(nouns)
    unknown = sorted(set(named_nouns) - set(nouns))
    if unknown:
        raise ValueError(f"named nouns {unknown} are not in the noun list")
    train = [s for s in train_steps if s.noun in nouns]
    if not train:
        raise ValueError("no training step has a noun from the noun list")
    vectors = word_features(video_words, features_dir, {s.video_id for s in train_steps})
    wanted = sorted({w for g in generations for w in g.words if w in vectors})
    predicted: dict[int, str] = {}
    if wanted:
        logits = linear_probe(step_features(train, features_dir),
                              np.array([nouns.index(s.noun) for s in train]), len(nouns),
                              np.stack([vectors[w] for w in wanted]), seed=seed)
        predicted = {w: nouns[int(i)] for w, i in zip(wanted, logits.argmax(1), strict=True)}
    rows = []
    for g, noun in zip(generations, named_nouns, strict=True):
        said = [predicted.get(w) for w in g.words]
        hits = [int(p == noun) for p in said if p is not None]
        rows.append({"sentence": g.sentence, "noun": noun, "predicted": said, "hits": hits,
                     "share": float(np.mean(hits)) if hits else None})
    return NounProbeScore(nouns, 1.0 / len(nouns), len(train), rows)


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
