"""What each synthetic video shows and says: steps, timing, split and narration cues.

Everything here is a pure function of the seed (no rendering), so the ground truth, the split
and the subtitles can be computed and tested without drawing a single frame.

Split: a share of the (verb, noun) combinations is held out by a Latin-square rule over
shuffled verb and noun orders, so every verb and every noun keeps most of its combinations in
training and each appears in some held-out ones. Validation videos use only held-out
combinations; training videos never do. Steps are dealt from a shuffled deck of each split's
combinations, so a few dozen training videos already cover every training combination.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from videobert.synth.narration import Cue, plan_cues
from videobert.synth.nouns import NOUNS
from videobert.synth.verbs import VERBS

# Timing of a video, in seconds (each value drawn uniformly from its range).
INTRO = (0.4, 1.0)  # the first object rests before the first step
STEP = (3.0, 3.9)  # each step covers at least two 1.5 s clips
GAP = (0.2, 0.6)  # rest between steps (the next object appears)
OUTRO = (1.2, 2.0)
N_STEPS = (3, 4, 5)
N_STEPS_P = (0.4, 0.4, 0.2)
PERIOD = (1.2, 1.6)  # one action cycle
NARRATED_P = 0.8  # share of steps that the narrator speaks about

Combo = tuple[str, str]  # (verb, noun)


@dataclasses.dataclass(frozen=True)
class Step:
    verb: str
    noun: str
    start: float
    end: float
    period: float
    narrated: bool
    caption: str  # the clean reference caption
    captions: tuple[str, ...]  # every reference caption (the clean one first)


@dataclasses.dataclass(frozen=True)
class VideoPlan:
    video_id: str
    index: int
    split: str  # "train" | "val"
    n_frames: int
    fps: float
    rest_noun: tuple[str, ...]  # noun resting on screen before each step (= that step's noun)
    steps: tuple[Step, ...]
    cues: tuple[Cue, ...]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps

    @property
    def subtitle_format(self) -> str:
        """Even videos get SRT, odd ones WebVTT, so both parsers are exercised."""
        return "srt" if self.index % 2 == 0 else "vtt"


@dataclasses.dataclass(frozen=True)
class DatasetPlan:
    seed: int
    fps: float
    verbs: tuple[str, ...]
    nouns: tuple[str, ...]
    held_out: frozenset[Combo]
    videos: tuple[VideoPlan, ...]

    def combos(self, split: str) -> set[Combo]:
        return {(s.verb, s.noun) for v in self.videos if v.split == split for s in v.steps}


def video_id(index: int) -> str:
    return f"synth_{index:04d}"


def held_out_combinations(
    verbs: tuple[str, ...], nouns: tuple[str, ...], seed: int, fraction: float
) -> frozenset[Combo]:
    """About ``fraction`` of all (verb, noun) pairs, spread evenly over verbs and nouns.

    Pair (v, n) is held out when ``(a[v] + b[n]) % m == 0`` for shuffled ranks a, b and
    ``m = round(1 / fraction)``: each verb then loses ~len(nouns)/m nouns and each noun
    ~len(verbs)/m verbs, never all of them (m >= 2).
    """
    if fraction <= 0:
        return frozenset()
    m = max(2, round(1 / fraction))
    rng = np.random.default_rng([seed, 101])
    a = rng.permutation(len(verbs))
    b = rng.permutation(len(nouns))
    return frozenset(
        (v, n) for i, v in enumerate(verbs) for j, n in enumerate(nouns) if (a[i] + b[j]) % m == 0
    )


def assign_splits(n_videos: int, val_fraction: float, seed: int) -> list[str]:
    """Which videos are validation: ``round(n * val_fraction)`` of them (at least one when the
    fraction is positive and there are two or more videos), chosen at random."""
    n_val = round(n_videos * val_fraction)
    if val_fraction > 0 and n_videos >= 2:
        n_val = min(max(n_val, 1), n_videos - 1)
    rng = np.random.default_rng([seed, 102])
    val = set(rng.choice(n_videos, size=n_val, replace=False).tolist()) if n_val else set()
    return ["val" if i in val else "train" for i in range(n_videos)]


class _Deck:
    """Deals combinations from a shuffled deck, reshuffling when it runs out."""

    def __init__(self, combos: list[Combo], rng: np.random.Generator) -> None:
        self.combos = sorted(combos)
        self.rng = rng
        self.cards: list[Combo] = []

    def deal(self) -> Combo:
        if not self.cards:
            order = self.rng.permutation(len(self.combos))
            self.cards = [self.combos[i] for i in order]
        return self.cards.pop()


def _snap(t: float, fps: float) -> float:
    """Round a time to the frame grid, so steps start and end exactly on frames."""
    return round(t * fps) / fps


def captions_for(verb: str, noun: str) -> tuple[str, ...]:
    return (f"{verb} the {noun}", f"you {verb} the {noun}")


def _plan_video(index: int, split: str, deck: _Deck, fps: float, seed: int) -> VideoPlan:
    rng = np.random.default_rng([seed, index, 0])
    n_steps = int(rng.choice(N_STEPS, p=N_STEPS_P))
    t = _snap(rng.uniform(*INTRO), fps)
    steps: list[Step] = []
    for k in range(n_steps):
        if k:
            t = _snap(t + rng.uniform(*GAP), fps)
        verb, noun = deck.deal()
        end = _snap(t + rng.uniform(*STEP), fps)
        caps = captions_for(verb, noun)
        steps.append(
            Step(
                verb=verb,
                noun=noun,
                start=t,
                end=end,
                period=float(rng.uniform(*PERIOD)),
                narrated=bool(rng.random() < NARRATED_P),
                caption=caps[0],
                captions=caps,
            )
        )
        t = end
    if not any(s.narrated for s in steps):  # a video with no narration at all teaches nothing
        steps[0] = dataclasses.replace(steps[0], narrated=True)
    n_frames = math.ceil((t + rng.uniform(*OUTRO)) * fps)
    duration = n_frames / fps
    cues = plan_cues(steps, duration, rng)
    return VideoPlan(
        video_id=video_id(index),
        index=index,
        split=split,
        n_frames=n_frames,
        fps=fps,
        rest_noun=tuple(s.noun for s in steps),
        steps=tuple(steps),
        cues=tuple(cues),
    )


def plan_dataset(
    n_videos: int,
    seed: int = 0,
    fps: float = 25.0,
    val_fraction: float = 0.2,
    verbs: tuple[str, ...] = VERBS,
    nouns: tuple[str, ...] = NOUNS,
) -> DatasetPlan:
    """The whole dataset's content, deterministic in its arguments."""
    if n_videos < 1:
        raise ValueError(f"n_videos must be at least 1, got {n_videos}")
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    held_out = held_out_combinations(verbs, nouns, seed, val_fraction)
    splits = assign_splits(n_videos, val_fraction, seed)
    all_combos = [(v, n) for v in verbs for n in nouns]
    train = [c for c in all_combos if c not in held_out]
    decks = {
        "train": _Deck(train, np.random.default_rng([seed, 103])),
        "val": _Deck(sorted(held_out), np.random.default_rng([seed, 104])),
    }
    videos = tuple(_plan_video(i, s, decks[s], fps, seed) for i, s in enumerate(splits))
    return DatasetPlan(
        seed=seed, fps=fps, verbs=tuple(verbs), nouns=tuple(nouns), held_out=held_out, videos=videos
    )
