"""Video question answering from the joint model's masked-LM, three kinds of question:

- ``noun``: "what is being cut?" -> the noun; read in ``now let me show you how to cut the
  [MASK]`` with the whole video;
- ``verb``: "what is done to the tomato?" -> the verb; ``... how to [MASK] the tomato``;
- ``next``: "what comes after you cut the tomato?" -> "VERB the NOUN" of the next step: the
  video is cut into key steps (``tasks.summarize``), the step the question names is the
  segment where ``... how to cut the tomato`` is most likely, and the answer is read in
  ``... how to [MASK] the [MASK]`` with the clips of the segment after it.

A multiple-choice answer is the choice whose words are most likely in the ``[MASK]`` slots
(a word of m WordPieces gets m slots; its score is the mean of its pieces' log-probs, summed
over the slots, as zero-shot classification scores words); a fill-in answer is the most
likely whole word in each slot, over the whole text vocabulary.

Evaluation (``evaluate_qa``): questions generated from the ground truth's val videos, each
with distractors drawn (seeded) from the verb and noun lists, never a right answer of that
video; for ``next`` the named step itself is one of them (a model that finds the step but not
what follows picks it). Accuracy of the model, of the same model with the video removed
(text only), and chance, with 95% bootstrap intervals over videos.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videobert.log import get_logger
from videobert.tasks import inputs
from videobert.vocab import PROMPT

_LOG = get_logger("qa")

KINDS = ("noun", "verb", "next")
KIND_NAMES = {"noun": "what is being VERBed? (noun)", "verb": "what is done to the NOUN? (verb)",
              "next": "what comes after you VERB the NOUN? (next step)"}
# Past participles the suffix rules below get wrong.
IRREGULAR = {"cut": "cut", "put": "put", "set": "set", "split": "split", "shake": "shaken",
             "spin": "spun", "beat": "beaten", "grind": "ground", "hold": "held",
             "take": "taken", "break": "broken", "freeze": "frozen", "throw": "thrown",
             "make": "made", "eat": "eaten", "give": "given", "draw": "drawn", "hang": "hung",
             "stick": "stuck", "sweep": "swept", "tear": "torn", "wring": "wrung"}
_VOWELS = set("aeiou")


def participle(verb: str) -> str:
    """English past participle of a (regular or common irregular) verb: cut -> cut, drop ->
    dropped, squeeze -> squeezed, fry -> fried, shake -> shaken."""
    if verb in IRREGULAR:
        return IRREGULAR[verb]
    if verb.endswith("e"):
        return verb + "d"
    if len(verb) > 1 and verb.endswith("y") and verb[-2] not in _VOWELS:
        return verb[:-1] + "ied"
    groups = re.findall(r"[aeiou]+", verb)
    if (len(verb) >= 3 and len(groups) == 1 and verb[-1] not in _VOWELS | set("wxy")
            and verb[-2] in _VOWELS and verb[-3] not in _VOWELS):  # one-syllable C-V-C
        return verb + verb[-1] + "ed"
    return verb + "ed"


def base_verb(word: str, verbs: Sequence[str] | None = None, tokenizer: Any = None) -> str:
    """The verb whose participle is ``word``: from ``verbs`` when given (None if none is),
    else by undoing the suffix rules, preferring a whole word of the tokenizer's vocabulary."""
    if verbs is not None:
        found = [v for v in verbs if participle(v) == word or v == word]
        return found[0] if found else word
    for verb, past in IRREGULAR.items():
        if past == word:
            return verb
    stems = [word]
    if word.endswith("ied"):
        stems.append(word[:-3] + "y")
    if word.endswith("ed"):
        stems += [word[:-1], word[:-2], word[:-3]]  # squeezed, pushed, dropped
    candidates = [s for s in stems if s and participle(s) == word] or [word]
    vocab = tokenizer.get_vocab() if tokenizer is not None else {}
    return next((c for c in candidates if c in vocab), candidates[0])


@dataclasses.dataclass(frozen=True)
class Question:
    kind: str  # one of KINDS
    verb: str | None  # the words the question names
    noun: str | None
    text: str

    def template(self) -> str:
        """The cloze the answer is read from, its slots ``{verb}`` / ``{noun}``."""
        if self.kind == "noun":
            return f"{PROMPT} {self.verb} the {{noun}}"
        if self.kind == "verb":
            return f"{PROMPT} {{verb}} the {self.noun}"
        return f"{PROMPT} {{verb}} the {{noun}}"

    @property
    def slots(self) -> tuple[str, ...]:
        return {"noun": ("noun",), "verb": ("verb",), "next": ("verb", "noun")}[self.kind]

    def fill(self, choice: str) -> dict[str, str]:
        """A choice as the words of the slots: a noun, a verb, or "VERB the NOUN"."""
        if self.kind != "next":
            return {self.kind: choice}
        verb, sep, noun = choice.partition(" the ")
        if not sep or not verb.strip() or not noun.strip():
            raise ValueError(f"a choice for {self.text!r} is 'VERB the NOUN', not {choice!r}")
        return {"verb": verb.strip(), "noun": noun.strip()}


def question_text(kind: str, verb: str, noun: str) -> str:
    if kind == "noun":
        return f"what is being {participle(verb)}?"
    if kind == "verb":
        return f"what is done to the {noun}?"
    if kind == "next":
        return f"what comes after you {verb} the {noun}?"
    raise ValueError(f"unknown question kind {kind!r}; kinds are {list(KINDS)}")


_PATTERNS = (
    ("next", re.compile(r"what (?:comes|happens|is done) (?:next )?after (?:you )?"
                        r"(?P<verb>[a-z]+) (?:the |a |an )?(?P<noun>[a-z ]+?)$")),
    ("noun", re.compile(r"what (?:is|was|gets) being (?P<verb>[a-z]+)$")),
    ("noun", re.compile(r"what (?:is|was|gets) (?P<verb>[a-z]+)$")),
    ("noun", re.compile(r"what do(?:es)? (?:you|they|he|she) (?P<base>[a-z]+)$")),
    ("verb", re.compile(r"what (?:is|was) done (?:to|with) (?:the |a |an )?(?P<noun>[a-z ]+?)$")),
    ("verb", re.compile(r"what do(?:es)? (?:you|they|he|she) do (?:to|with) (?:the |a |an )?"
                        r"(?P<noun>[a-z ]+?)$")),
)


def parse_question(text: str, verbs: Sequence[str] | None = None,
                   tokenizer: Any = None) -> Question:
    """A question of one of the three kinds (``KIND_NAMES``); anything else is a
    ``ValueError`` listing the forms understood."""
    clean = " ".join(text.lower().strip().rstrip("?").split())
    for kind, pattern in _PATTERNS:
        m = pattern.match(clean)
        if m is None:
            continue
        groups = m.groupdict()
        noun = groups.get("noun")
        if kind == "noun":
            verb = groups.get("base") or base_verb(groups["verb"], verbs, tokenizer)
        elif kind == "next":
            verb = groups["verb"]
        else:
            verb = None
        return Question(kind, verb, noun.strip() if noun else None, text.strip())
    raise ValueError(f"cannot read the question {text!r}; ask one of: " + "; ".join(
        f'"{q}"' for q in ("what is being cut?", "what is done to the tomato?",
                           "what comes after you cut the tomato?")))


# ---------------------------------------------------------------------------------------------
# Scoring


@dataclasses.dataclass(frozen=True)
class Cloze:
    """A template with ``{slot}``s, the video it is read with (None: text only), and the
    candidate fillings, each ``{slot: WordPiece ids}``."""

    template: Any  # zero_shot.Template
    video: inputs.Clips | None
    choices: tuple[dict[str, tuple[int, ...]], ...] = ()


def _slot_logprobs(model: Any, examples: Sequence[inputs.Example],
                   batch_size: int) -> list[torch.Tensor]:
    """Each example's (S, n_text) log-softmax over the text vocabulary at its slots."""
    n_text = model.layout.n_text
    out: list[torch.Tensor | None] = [None] * len(examples)
    by_count: dict[int, list[int]] = {}
    for i, example in enumerate(examples):
        by_count.setdefault(len(example.slots), []).append(i)
    for rows in by_count.values():  # slot_logits wants one slot count per call
        logits = inputs.slot_logits(model, [examples[i] for i in rows], batch_size)
        for i, lp in zip(rows, torch.log_softmax(logits[..., :n_text], -1), strict=True):
            out[i] = lp
    return out  # type: ignore[return-value]


def choice_scores(model: Any, clozes: Sequence[Cloze], batch_size: int = 64
                  ) -> list[np.ndarray]:
    """Each cloze's choices' scores: the sum over slots of the mean log-prob of the choice's
    pieces there, each choice read in the prompt of its own widths (one pass per distinct
    widths of a cloze)."""
    from videobert.tasks.zero_shot import cloze_example

    layout = model.layout
    examples, owners = [], []
    for q, cloze in enumerate(clozes):
        by_widths: dict[tuple[tuple[str, int], ...], list[int]] = {}
        for k, choice in enumerate(cloze.choices):
            by_widths.setdefault(tuple((s, len(p)) for s, p in choice.items()), []).append(k)
        for widths, ks in by_widths.items():
            example, where = cloze_example(cloze.template, layout, dict(widths), cloze.video)
            examples.append(example)
            owners.append((q, ks, where))
    out = [np.full(len(c.choices), -np.inf) for c in clozes]
    for example, lp, (q, ks, where) in zip(examples, _slot_logprobs(model, examples,
                                                                    batch_size), owners,
                                           strict=True):
        for k in ks:
            choice = clozes[q].choices[k]
            out[q][k] = sum(float(lp[[example.slots.index(p) for p in pos],
                                     list(choice[slot])].mean())
                            for slot, pos in where.items())
    return out


def whole_words(tokenizer: Any, n_text: int) -> torch.Tensor:
    """(n_text,) True for WordPieces that are a whole alphabetic word (fill-in answers), but
    not a word of the prompt itself ("the", "to": never the answer)."""
    special = set(getattr(tokenizer, "all_special_ids", []))
    prompt = set(f"{PROMPT} the".split())
    keep = torch.zeros(n_text, dtype=torch.bool)
    for piece, i in tokenizer.get_vocab().items():
        if i < n_text and i not in special and piece.isalpha() and piece not in prompt:
            keep[i] = True
    return keep


def fill_in(model: Any, tokenizer: Any, clozes: Sequence[Cloze], top_k: int = 5,
            batch_size: int = 64) -> list[dict[str, list[tuple[str, float]]]]:
    """The ``top_k`` whole words (with their probabilities) of each slot, one ``[MASK]``
    each."""
    from videobert.tasks.zero_shot import cloze_example

    layout = model.layout
    keep = whole_words(tokenizer, layout.n_text)
    examples, wheres = [], []
    for cloze in clozes:
        slots = [p for p in cloze.template.parts if isinstance(p, str)]
        example, where = cloze_example(cloze.template, layout, dict.fromkeys(slots, 1),
                                       cloze.video)
        examples.append(example)
        wheres.append(where)
    out = []
    for example, lp, where in zip(examples, _slot_logprobs(model, examples, batch_size),
                                  wheres, strict=True):
        answer = {}
        for slot, (pos,) in where.items():
            row = lp[example.slots.index(pos)].masked_fill(~keep, -np.inf)
            top = row.topk(top_k)
            answer[slot] = [(tokenizer.convert_ids_to_tokens(int(i)), float(np.exp(v)))
                            for v, i in zip(top.values.tolist(), top.indices.tolist(),
                                            strict=True)]
        out.append(answer)
    return out


def locate(model: Any, tokenizer: Any, clips: inputs.Clips, spans: Sequence[tuple[int, int]],
           verb: str, noun: str, batch_size: int = 64) -> int:
    """The segment where "now let me show you how to VERB the NOUN" is most likely."""
    from videobert.tasks.summarize import span_clips
    from videobert.tasks.zero_shot import DEFAULT_TEMPLATE, Template

    template = Template.parse(DEFAULT_TEMPLATE, tokenizer)
    choice = {"verb": tuple(inputs.encode_text(tokenizer, verb)),
              "noun": tuple(inputs.encode_text(tokenizer, noun))}
    clozes = [Cloze(template, span_clips(clips, lo, hi), (choice,)) for lo, hi in spans]
    return int(np.argmax([s[0] for s in choice_scores(model, clozes, batch_size)]))


@dataclasses.dataclass(frozen=True)
class Reading:
    """What a question is answered from: its cloze (no choices yet) and the clips' span."""

    cloze: Cloze
    first_clip: int
    last_clip: int


def reading(model: Any, tokenizer: Any, question: Question, clips: inputs.Clips,
            spans: Sequence[tuple[int, int]] | None = None, max_video_words: int = 64,
            with_video: bool = True) -> Reading:
    """The cloze and clips a question is read with: the whole video (at most
    ``max_video_words`` clips, evenly spaced), or for ``next`` the segment after the one the
    question names (``spans``: the video's key steps; the last one if it names the last)."""
    from videobert.tasks.summarize import span_clips
    from videobert.tasks.zero_shot import Template

    template = Template.parse(question.template(), tokenizer, question.slots)
    first, last = 0, len(clips) - 1
    if question.kind == "next":
        if not spans:
            raise ValueError("a 'what comes after' question needs the video's key steps")
        at = locate(model, tokenizer, clips, spans, question.verb, question.noun)
        first, last = spans[min(at + 1, len(spans) - 1)]
    video = span_clips(clips, first, last).subsample(max_video_words) if with_video else None
    return Reading(Cloze(template, video), first, last)


def with_choices(tokenizer: Any, question: Question, cloze: Cloze,
                 choices: Sequence[str]) -> Cloze:
    from videobert.tasks.zero_shot import candidate_pieces

    filled = [question.fill(c) for c in choices]
    pieces = [{slot: tuple(candidate_pieces(tokenizer, [word], slot)[0])
               for slot, word in f.items()} for f in filled]
    return dataclasses.replace(cloze, choices=tuple(pieces))


# ---------------------------------------------------------------------------------------------
# The QA set and its evaluation


@dataclasses.dataclass(frozen=True)
class QAItem:
    video_id: str
    question: Question
    choices: tuple[str, ...]
    answer: int  # index of the right choice


def make_questions(videos: Sequence[Any], verbs: Sequence[str], nouns: Sequence[str],
                   n_choices: int = 4, seed: int = 0) -> list[QAItem]:
    """Questions of every kind about each video (``summarize.VideoData``) whose answer is
    unambiguous there: a verb done to one noun only, a noun with one verb only, a step that
    happens once and has a next one. Distractors (seeded) are words of ``verbs``/``nouns``
    that are no right answer in that video; an answer outside the lists is left out."""
    rng = np.random.default_rng(seed)
    pairs = [(v, n) for v in verbs for n in nouns]
    items = []
    for video in videos:
        steps = [(s["verb"], s["noun"]) for s in video.steps]
        nouns_of: dict[str, set[str]] = {}
        verbs_of: dict[str, set[str]] = {}
        for v, n in steps:
            nouns_of.setdefault(v, set()).add(n)
            verbs_of.setdefault(n, set()).add(v)

        def add(kind, verb, noun, answer, pool, forced=(), video_id=video.video_id):
            pool = [w for w in pool if w != answer and w not in forced]
            k = min(len(pool), n_choices - 1 - len(forced))
            wrong = [pool[i] for i in rng.choice(len(pool), size=k, replace=False)]
            choices = [answer, *forced, *wrong]
            order = rng.permutation(len(choices))
            items.append(QAItem(video_id, Question(kind, verb, noun,
                                                   question_text(kind, verb, noun)),
                                tuple(choices[i] for i in order),
                                int(np.flatnonzero(order == 0)[0])))

        for v in sorted(nouns_of):
            (n,) = nouns_of[v] if len(nouns_of[v]) == 1 else (None,)
            if n in nouns and v in verbs:
                add("noun", v, None, n, [x for x in nouns if x not in nouns_of[v]])
        for n in sorted(verbs_of):
            (v,) = verbs_of[n] if len(verbs_of[n]) == 1 else (None,)
            if v in verbs and n in nouns:
                add("verb", None, n, v, [x for x in verbs if x not in verbs_of[n]])
        for i, (v, n) in enumerate(steps[:-1]):
            nxt = steps[i + 1]
            if steps.count((v, n)) != 1 or nxt[0] not in verbs or nxt[1] not in nouns:
                continue
            named = f"{v} the {n}"
            answer = f"{nxt[0]} the {nxt[1]}"
            forced = (named,) if named != answer and n_choices > 2 else ()
            add("next", v, n, answer, [f"{a} the {b}" for a, b in pairs], forced)
    return items


METHOD_NAMES = {"video": "VideoBERT (video + question)", "text": "text only (video removed)"}


@dataclasses.dataclass
class QAResult:
    n_videos: int
    n_choices: int
    seed: int
    # one row per question: video, kind, question, choices, answer, and per method the
    # choice picked and the fill-in answer
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["accuracy"] = {
            kind: {**{m: dataclasses.asdict(self.accuracy(m, kind)) for m in METHOD_NAMES},
                   **{f"{m}_fill_in": dataclasses.asdict(self.accuracy(m, kind, "fill_in"))
                      for m in METHOD_NAMES},
                   "chance": self.chance(kind), "n": len(self._rows(kind))}
            for kind in (*KINDS, "all")}
        out["gain"] = dataclasses.asdict(self.gain())
        return out

    def _rows(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.rows if kind == "all" or r["kind"] == kind]

    def _ratio(self, method: str, kind: str, what: str = "choice"):
        videos = sorted({r["video"] for r in self.rows})
        hits = {v: [0, 0] for v in videos}
        for r in self._rows(kind):
            hits[r["video"]][0] += int(r[f"{method}_{what}_right"])
            hits[r["video"]][1] += 1
        return np.array([h[0] for h in hits.values()]), np.array([h[1] for h in hits.values()])

    def accuracy(self, method: str, kind: str = "all", what: str = "choice"):
        """95% bootstrap interval over videos of the share of right answers."""
        from videobert.metrics.bootstrap import bootstrap_ratio

        return bootstrap_ratio(*self._ratio(method, kind, what))

    def chance(self, kind: str = "all") -> float:
        rows = self._rows(kind)
        return float(np.mean([1 / len(r["choices"]) for r in rows])) if rows else 0.0

    def gain(self, kind: str = "all"):
        from videobert.metrics.bootstrap import bootstrap_ratio_difference

        return bootstrap_ratio_difference(self._ratio("video", kind), self._ratio("text", kind))

    def to_markdown(self) -> str:
        from videobert.report import interval_cell, verdict

        lines = [f"{len(self.rows)} questions about {self.n_videos} val videos, "
                 f"{self.n_choices} choices each (distractors seeded with {self.seed}); "
                 "accuracy, in brackets its 95% bootstrap interval over videos:", "",
                 "| question | n | " + " | ".join(METHOD_NAMES.values()) + " | chance |"
                 " fill-in, with video | fill-in, text only |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
        for kind in (*KINDS, "all"):
            if not self._rows(kind):
                continue
            cells = [interval_cell(self.accuracy(m, kind)) for m in METHOD_NAMES]
            fills = [interval_cell(self.accuracy(m, kind, "fill_in")) for m in METHOD_NAMES]
            lines.append(f"| {KIND_NAMES.get(kind, 'all')} | {len(self._rows(kind))} | "
                         + " | ".join(cells) + f" | {self.chance(kind):.3f} | "
                         + " | ".join(fills) + " |")
        gain = self.gain()
        lines += ["", "Fill-in: the most likely whole word of the WordPiece vocabulary in each "
                  "slot (no choices); a 'what comes after' answer needs both words right.",
                  f"All questions, with video - text only: {gain} (paired over videos): "
                  f"accuracy with the video is {verdict(gain)} accuracy without it."]
        return "\n".join(lines) + "\n"


def evaluate_qa(model: Any, tokenizer: Any, videos: Sequence[Any], items: Sequence[QAItem],
                summary_config: Any = None, n_choices: int = 4, seed: int = 0,
                batch_size: int = 64) -> QAResult:
    """Answer every item with the video and without it (``videos``: ``summarize.VideoData``
    of the items' videos; ``summary_config``: how the ``next`` questions' key steps are cut)."""
    from videobert.tasks.summarize import SummarizeConfig, segment_video

    config = summary_config or SummarizeConfig()
    by_id = {v.video_id: v for v in videos}
    spans: dict[str, list[tuple[int, int]]] = {}
    model.eval()
    readings: dict[str, list[Cloze]] = {"video": [], "text": []}
    for item in items:
        video = by_id[item.video_id]
        if item.question.kind == "next" and item.video_id not in spans:
            spans[item.video_id] = segment_video(model, tokenizer, video.clips, config)[0]
        read = reading(model, tokenizer, item.question, video.clips, spans.get(item.video_id))
        readings["video"].append(with_choices(tokenizer, item.question, read.cloze,
                                              item.choices))
        readings["text"].append(dataclasses.replace(readings["video"][-1], video=None))
    rows = [{"video": it.video_id, "kind": it.question.kind, "question": it.question.text,
             "choices": list(it.choices), "answer": it.choices[it.answer]} for it in items]
    for method, clozes in readings.items():
        scores = choice_scores(model, clozes, batch_size)
        fills = fill_in(model, tokenizer, clozes, top_k=1, batch_size=batch_size)
        for row, item, s, fill in zip(rows, items, scores, fills, strict=True):
            picked = int(np.argmax(s))
            words = {slot: top[0][0] for slot, top in fill.items()}
            guess = (f"{words['verb']} the {words['noun']}" if item.question.kind == "next"
                     else next(iter(words.values())))
            row.update({f"{method}_choice": item.choices[picked],
                        f"{method}_choice_right": picked == item.answer,
                        f"{method}_fill_in": guess,
                        f"{method}_fill_in_right": guess == row["answer"]})
    return QAResult(len({it.video_id for it in items}), n_choices, seed, rows)


# ---------------------------------------------------------------------------------------------
# CLI: videobert qa MODEL VIDEO QUESTION


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.cli_options import add_device_argument

    parser.add_argument("model", type=Path, help="model folder")
    parser.add_argument("video", type=Path, help="a video file")
    parser.add_argument("question", help='e.g. "what is being cut?", "what is done to the '
                        'tomato?", "what comes after you cut the tomato?"')
    parser.add_argument("--choices", nargs="+", help="answer among these (for 'what comes "
                        "after', each 'VERB the NOUN'); default: fill in the most likely words")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--verbs", type=Path, help="verb list, one per line: which verb a "
                        "participle ('cut', 'shaken') is of")
    add_device_argument(parser)


def run(args: argparse.Namespace) -> int:
    import sys

    from videobert.api import Pipeline
    from videobert.io import EXIT_FAILED
    from videobert.tasks.steps import read_word_list

    if not args.video.is_file():
        raise FileNotFoundError(f"video {args.video} does not exist")
    verbs = read_word_list(args.verbs) if args.verbs else None
    try:
        parse_question(args.question, verbs)  # one it cannot read fails before decoding
        pipe = Pipeline.from_pretrained(args.model, args.device)
        answer = pipe.qa(args.video, args.question, args.choices, args.top_k, verbs)
    except ValueError as exc:
        print(f"videobert qa: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{answer.question}  ({answer.kind}; read from {answer.start:.1f}-{answer.end:.1f} s)")
    for text, p in answer.answers:
        print(f"  {p:.3f}  {text}")
    return 0
