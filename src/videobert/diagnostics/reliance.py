"""Modality reliance: does the model read the video when it fills in the masked words?

The zero-shot prompt (``now let me show you how to [MASK] the [MASK] [>] video``) is scored
three times per step: with the step's own visual words, with another step's (one with a
different verb and noun where there is one), and with no video at all. If the top-1 verb and
noun barely change when the video is swapped or removed, the model answers from the text alone,
whatever its accuracy; a model that uses the video changes most of its answers, and is right
more often with its own video than with a swapped one.

With ``seen_steps`` (the train split's steps), top-1 is also measured on them: their verb-noun
pairs occurred in pretraining, the val split's never did, so a model that recognises pairs as
wholes (rather than the verb and the noun each) is right on seen pairs and wrong on unseen ones.
It also says how often the answer on the steps forms a pair seen in pretraining with the step's
other (true) word: the verb answered for a step whose noun was seen with it, and the reverse.
On steps of unseen pairs that answer is always wrong, so a share far above the seen pairs' share
of all candidates means the pretraining pairs, not the video, pick the answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from videobert.tasks.steps import Step


@dataclasses.dataclass
class RelianceResult:
    n_steps: int
    changed_when_swapped: dict[str, float]  # label -> share of steps whose top-1 changes
    changed_when_removed: dict[str, float]
    top1_own: dict[str, float]  # accuracy with the step's own video
    top1_swapped: dict[str, float]  # ... with the other step's video
    top1_seen_pairs: dict[str, float] = dataclasses.field(default_factory=dict)  # train steps
    n_seen_steps: int = 0
    # label -> share of the steps whose top-1 (own video) makes a seen pair with the step's
    # other true word; and the share of all candidates that would (the level without that bias)
    answer_makes_seen_pair: dict[str, float] = dataclasses.field(default_factory=dict)
    candidates_make_seen_pair: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        lines = [
            f"Top-1 zero-shot predictions on {self.n_steps} steps when the visual words are "
            "swapped for another step's (different verb and noun) or removed:",
            "",
            "| label | changed when swapped | changed when removed | top-1 own video |"
            " top-1 swapped video |",
            "|---|---:|---:|---:|---:|",
        ]
        for k in ("verb", "noun"):
            lines.append(f"| {k} | {self.changed_when_swapped[k]:.3f} | "
                         f"{self.changed_when_removed[k]:.3f} | {self.top1_own[k]:.3f} | "
                         f"{self.top1_swapped[k]:.3f} |")
        if self.top1_seen_pairs:
            seen = self.top1_seen_pairs
            lines += ["", f"Top-1 with their own video on {self.n_seen_steps} train-split steps, "
                      f"whose verb-noun pairs pretraining saw: verb {seen['verb']:.3f}, noun "
                      f"{seen['noun']:.3f} (the steps above are pairs it never saw). A verb far "
                      "better on seen pairs than on unseen ones is recognised with its noun, as "
                      "a pair, not on its own."]
        if self.answer_makes_seen_pair:
            made, base = self.answer_makes_seen_pair, self.candidates_make_seen_pair
            lines += ["", "Answers on the steps above that make a pair seen in pretraining with "
                      f"the step's other word: verb {made['verb']:.3f} (of all verbs "
                      f"{base['verb']:.3f} would), noun {made['noun']:.3f} (of all nouns "
                      f"{base['noun']:.3f}). On unseen pairs such an answer is wrong; a share "
                      "near 1 means the pairs seen in pretraining decide it, not the video."]
        return "\n".join(lines) + "\n"


def swap_partner(steps: Sequence[Step], seed: int = 0) -> list[int]:
    """For each step, another step to borrow visual words from: one whose verb and noun both
    differ where one exists (else any other step), chosen at random with ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(steps):
        pool = [j for j, o in enumerate(steps) if o.verb != s.verb and o.noun != s.noun]
        pool = pool or [j for j in range(len(steps)) if j != i] or [i]
        out.append(int(pool[rng.integers(len(pool))]))
    return out


def modality_reliance(
    model: Any, tokenizer: Any, steps: Sequence[Step], verbs: Sequence[str],
    nouns: Sequence[str], template: str | None = None, batch_size: int = 64, seed: int = 0,
    seen_steps: Sequence[Step] | None = None,
) -> RelianceResult:
    from videobert.tasks.zero_shot import (
        DEFAULT_TEMPLATE,
        Template,
        candidate_pieces,
        score_candidates,
    )

    steps = [s for s in steps if s.verb in verbs and s.noun in nouns]
    if len(steps) < 2:
        raise ValueError("modality reliance needs at least two steps with known verb and noun")
    tmpl = Template.parse(template or DEFAULT_TEMPLATE, tokenizer)
    pieces = candidate_pieces(tokenizer, verbs, "verb"), candidate_pieces(tokenizer, nouns, "noun")
    partner = swap_partner(steps, seed)
    model.eval()
    own = score_candidates(model, tmpl, *pieces, [s.clips for s in steps], batch_size)
    swapped = score_candidates(model, tmpl, *pieces, [steps[j].clips for j in partner],
                               batch_size)
    none = score_candidates(model, tmpl, *pieces, None, batch_size)
    truth = {"verb": np.array([list(verbs).index(s.verb) for s in steps]),
             "noun": np.array([list(nouns).index(s.noun) for s in steps])}
    result = RelianceResult(len(steps), {}, {}, {}, {})
    for k, label in enumerate(("verb", "noun")):
        top_own, top_swap = own[k].argmax(1), swapped[k].argmax(1)
        top_none = np.repeat(none[k].argmax(1), len(steps))
        result.changed_when_swapped[label] = float((top_own != top_swap).mean())
        result.changed_when_removed[label] = float((top_own != top_none).mean())
        result.top1_own[label] = float((top_own == truth[label]).mean())
        result.top1_swapped[label] = float((top_swap == truth[label]).mean())
    seen = [s for s in seen_steps or () if s.verb in verbs and s.noun in nouns]
    if seen:
        scores = score_candidates(model, tmpl, *pieces, [s.clips for s in seen], batch_size)
        result.n_seen_steps = len(seen)
        pairs = {(s.verb, s.noun) for s in seen}

        def makes_pair(s: Step, word: str, label: str) -> bool:
            return ((word, s.noun) if label == "verb" else (s.verb, word)) in pairs

        for k, (label, labels) in enumerate((("verb", verbs), ("noun", nouns))):
            target = np.array([list(labels).index(getattr(s, label)) for s in seen])
            result.top1_seen_pairs[label] = float((scores[k].argmax(1) == target).mean())
            answers = [labels[i] for i in own[k].argmax(1)]
            result.answer_makes_seen_pair[label] = float(np.mean(
                [makes_pair(s, a, label) for s, a in zip(steps, answers, strict=True)]))
            result.candidates_make_seen_pair[label] = float(np.mean(
                [np.mean([makes_pair(s, w, label) for w in labels]) for s in steps]))
    return result
