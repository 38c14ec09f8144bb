"""Zero-shot action classification, the paper's protocol (VideoBERT, Sun et al. 2019, sec. 4.2).

The model reads ``[CLS] now let me show you how to [MASK] the [MASK] [>] v1 ... vn [SEP]`` and
the verb and noun lists are ranked by how likely the model finds each word in its slot. A word
of m WordPieces gets m ``[MASK]`` slots; its score is the **mean** of its pieces' log-probs
(log-softmax over the text vocabulary), so long words are not penalised for their length. One
forward pass per distinct (verb pieces, noun pieces) combination, batched over examples; a
(verb, noun) pair is scored in the prompt of its own widths, and a verb's score is the
log-sum-exp of its pairs over the nouns (and vice versa), see ``score_candidates``.

Several templates can be given: each one's scores are turned into log-probs over the candidates
and averaged (prompt ensembling). ``mine_templates`` reads them off the narration itself, with no
labels: the sentences that name one candidate verb and one candidate noun, those two words made
slots, the most frequent patterns first.

Three rows, as in the paper's table: the language prior (the template alone, no video), the
cross-modal model, and a supervised reference (a linear probe on mean-pooled clip features,
trained on the train split).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from videobert.log import get_logger
from videobert.tasks import inputs
from videobert.tasks.steps import Step
from videobert.vocab import PROMPT, VocabLayout

_LOG = get_logger("zeroshot")

DEFAULT_TEMPLATE = PROMPT + " {verb} the {noun}"
WHOLE_CLIPS_ROW = "cross-modal, both from the whole clips"
PROBE_ROW = "supervised (linear probe on clip features)"
SLOT_NAMES = ("verb", "noun")
KS = (1, 5)


# ---------------------------------------------------------------------------------------------
# The prompt


@dataclasses.dataclass(frozen=True)
class Template:
    """A template split into WordPiece chunks around its ``{verb}`` and ``{noun}`` slots."""

    text: str
    parts: tuple[tuple[int, ...] | str, ...]  # token-id chunks and slot names, in order

    @classmethod
    def parse(cls, text: str, tokenizer: Any, slots: Sequence[str] = SLOT_NAMES) -> Template:
        found = re.findall(r"\{(\w+)\}", text)
        if sorted(found) != sorted(slots):
            wanted = " and ".join(f"{{{name}}}" for name in slots)
            raise ValueError(
                f"template {text!r} must contain {wanted} exactly once each (found {found})"
            )
        parts: list[tuple[int, ...] | str] = []
        for chunk in re.split(r"(\{\w+\})", text):
            if chunk[1:-1] in slots and chunk == f"{{{chunk[1:-1]}}}":
                parts.append(chunk[1:-1])
            elif chunk.strip():
                parts.append(tuple(inputs.encode_text(tokenizer, chunk)))
        return cls(text, tuple(parts))

    def text_ids(self, layout: VocabLayout, widths: dict[str, int]) -> tuple[list[int], dict]:
        """Token ids with ``widths[slot]`` ``[MASK]``s per slot, and each slot's positions
        (counted inside the text, i.e. before ``[CLS]`` is prepended)."""
        ids: list[int] = []
        where: dict[str, list[int]] = {}
        for part in self.parts:
            if isinstance(part, str):
                where[part] = list(range(len(ids), len(ids) + widths[part]))
                ids.extend([layout.mask_id] * widths[part])
            else:
                ids.extend(part)
        return ids, where


def build_prompt(
    template: Template,
    layout: VocabLayout,
    verb_width: int,
    noun_width: int,
    video_words: Sequence[int] | inputs.Clips | None,
) -> tuple[inputs.Example, list[int], list[int]]:
    """The model input and the positions of the verb and noun slots in it.

    With video: ``[CLS] template [>] video [SEP]``; without (language prior): ``[CLS] template
    [SEP]``. Slots are filled with ``[MASK]``: ``verb_width`` for the verb, ``noun_width`` for
    the noun.
    """
    example, where = cloze_example(template, layout, {"verb": verb_width, "noun": noun_width},
                                   video_words)
    return example, where["verb"], where["noun"]


def cloze_example(
    template: Template,
    layout: VocabLayout,
    widths: dict[str, int],
    video_words: Sequence[int] | inputs.Clips | None,
) -> tuple[inputs.Example, dict[str, list[int]]]:
    """``[CLS] template [>] video [SEP]`` (``[CLS] template [SEP]`` without video) with
    ``widths[slot]`` ``[MASK]``s in each slot, and each slot's positions in the sequence (the
    example's ``slots``: all of them, in order)."""
    text, where = template.text_ids(layout, widths)
    if video_words is None:
        example = inputs.text_sequence(layout, text)
    else:
        example = inputs.clips_sequence(layout, text, inputs.as_clips(video_words))
    where = {slot: [p + 1 for p in pos] for slot, pos in where.items()}  # +1 for [CLS]
    example.slots = sorted(p for pos in where.values() for p in pos)
    return example, where


def candidate_pieces(tokenizer: Any, words: Sequence[str], what: str) -> list[list[int]]:
    """WordPiece ids of each candidate; a candidate that is only ``[UNK]`` is an error."""
    pieces = []
    unk = getattr(tokenizer, "unk_token_id", None)
    for word in words:
        ids = inputs.encode_text(tokenizer, word)
        if not ids or all(i == unk for i in ids):
            raise ValueError(f"{what} candidate {word!r} is not in the tokenizer's vocabulary")
        pieces.append(ids)
    return pieces


def mine_templates(sentences: Iterable[str], verbs: Sequence[str], nouns: Sequence[str],
                   most: int = 8, min_count: int = 3) -> list[str]:
    """Prompt templates read off narration, most frequent first: each sentence naming exactly
    one candidate verb and one candidate noun (whole words, case-folded) with the two made
    ``{verb}`` and ``{noun}`` slots; the ``most`` commonest patterns seen ``min_count`` times
    or more. Needs no labels: only the sentences and the candidate lists."""
    kinds = {w.lower(): "verb" for w in verbs}
    kinds.update({w.lower(): ("both" if kinds.get(w.lower()) else "noun") for w in nouns})
    words = sorted(kinds, key=len, reverse=True)  # "olive oil" before "oil"
    if not words:
        return []
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b")
    counts: Counter[str] = Counter()
    for sentence in sentences:
        text = " ".join(sentence.lower().split())
        found = list(pattern.finditer(text))
        if sorted(kinds[m.group(1)] for m in found) != ["noun", "verb"]:
            continue
        for m in reversed(found):  # right to left: earlier offsets stay valid
            text = text[: m.start()] + "{" + kinds[m.group(1)] + "}" + text[m.end():]
        counts[text] += 1
    return [t for t, n in counts.most_common(most) if n >= min_count]


def corpus_sentences(corpus_dir: str | Path) -> list[str]:
    """The sentences of a corpus folder (``videobert corpus`` output), in shard order."""
    import pyarrow.parquet as pq

    shards = sorted(Path(corpus_dir).glob("shard-*.parquet"))
    if not shards:
        raise FileNotFoundError(f"{corpus_dir}: no shard-*.parquet (a `videobert corpus` folder?)")
    return [t for shard in shards for t in pq.read_table(shard, columns=["text"])["text"]
            .to_pylist()]


# ---------------------------------------------------------------------------------------------
# Scoring


def score_candidates(
    model: Any,
    template: Template,
    verb_pieces: Sequence[Sequence[int]],
    noun_pieces: Sequence[Sequence[int]],
    videos: Sequence[Sequence[int] | inputs.Clips] | None,
    batch_size: int = 64,
    max_video_words: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every verb and noun for every example.

    Each (verb, noun) pair is scored in the prompt with its own slot widths: the sum of the
    verb's and the noun's mean piece log-probs there. A verb's score is the log-sum-exp of its
    pairs over the nouns (its marginal), a noun's over the verbs. With one-piece words this
    ranks exactly as the slot's own log-prob. One forward pass per distinct slot-width pair.
    (Caveat: a prompt's widths are themselves a hint, e.g. two verb slots say "a two-piece
    verb"; with candidates of mixed widths the ranking carries that bias.)

    ``videos``: one list of visual words (codebook indices, or ``Clips`` with their
    features) per example, or ``None`` for the
    language prior, whose scores are the same for every example (shape (1, n)).
    Returns ``(verb_scores (E, n_verbs), noun_scores (E, n_nouns))``.
    """
    layout: VocabLayout = model.layout
    video_limit = min(max_video_words, inputs.max_length(model) - 64)
    vids: list[inputs.Clips | None] = (
        [None] if videos is None else [inputs.as_clips(v).subsample(video_limit) for v in videos]
    )
    E = len(vids)
    pair = torch.empty(E, len(verb_pieces), len(noun_pieces))  # joint scores, all filled below
    for vw, nw in itertools.product(sorted({len(p) for p in verb_pieces}),
                                    sorted({len(p) for p in noun_pieces})):
        examples, verb_pos, noun_pos = [], [], []
        for words in vids:
            example, verb_pos, noun_pos = build_prompt(template, layout, vw, nw, words)
            examples.append(example)
        slots = examples[0].slots
        logits = inputs.slot_logits(model, examples, batch_size)  # (E, vw + nw, V)
        logp = torch.log_softmax(logits[..., : layout.n_text], dim=-1)  # text words only
        verb_lp = logp[:, [slots.index(p) for p in verb_pos]]  # (E, vw, n_text)
        noun_lp = logp[:, [slots.index(p) for p in noun_pos]]  # (E, nw, n_text)
        verbs = [j for j, piece in enumerate(verb_pieces) if len(piece) == vw]
        nouns = [j for j, piece in enumerate(noun_pieces) if len(piece) == nw]
        v_scores = torch.stack([_mean_piece_logp(verb_lp, verb_pieces[j]) for j in verbs], 1)
        n_scores = torch.stack([_mean_piece_logp(noun_lp, noun_pieces[j]) for j in nouns], 1)
        pair[:, torch.tensor(verbs)[:, None], torch.tensor(nouns)[None, :]] = (
            v_scores[:, :, None] + n_scores[:, None, :]
        )  # (E, verbs of width vw, nouns of width nw)
    return pair.logsumexp(2).numpy(), pair.logsumexp(1).numpy()


def _log_normalise(scores: np.ndarray) -> np.ndarray:
    """Scores over the candidates (last axis) -> log-probs among them."""
    return scores - np.logaddexp.reduce(scores, axis=-1, keepdims=True)


def _mean_piece_logp(slot_logp: torch.Tensor, piece: Sequence[int]) -> torch.Tensor:
    """(E, m, n_text) log-probs at m slots -> (E,) mean log-prob of piece i at slot i."""
    index = torch.tensor(piece)[None, :, None].expand(slot_logp.shape[0], -1, 1)
    return slot_logp.gather(2, index).squeeze(2).mean(1)


# ---------------------------------------------------------------------------------------------
# Which view of the clips each slot is read from


def appearance_block_width(model: Any, codebook_dir: str | Path | None) -> int:
    """The width of the appearance block of the clip features the model reads, when a motion
    stream follows it (``features.motion``); 0 otherwise (one stream, or words only). With a
    motion stream the verbs are read from it alone and the nouns from the appearance alone:
    from the whole clips the model recognises an action as an object–verb pair it saw in
    pretraining, and on unseen pairs it answers the seen one (docs/benchmarks.md, "Verbs from
    the motion stream, nouns from the appearance")."""
    reads = getattr(model.config, "clip_feature_dim", 0)
    if codebook_dir is None or not reads:
        return 0
    from videobert.artifacts.codebook import CodebookFolder

    try:
        blocks = CodebookFolder.open(codebook_dir).blocks
    except (OSError, ValueError):
        return 0
    return appearance_width_of(reads, blocks)


def appearance_width_of(clip_feature_dim: int, blocks: Sequence[int] | None) -> int:
    """``appearance_block_width`` from a model's clip-feature width and its codebook's stream
    widths (``CodebookFolder.blocks``), for a caller that has the codebook open already."""
    if not clip_feature_dim or not blocks or len(blocks) < 2 or sum(blocks) != clip_feature_dim:
        return 0
    return int(blocks[0])


# ---------------------------------------------------------------------------------------------
# The supervised reference: a linear probe on the clip features


def step_features(steps: Sequence[Step], features_dir: str | Path) -> np.ndarray:
    """Mean-pooled clip features of each step: (n_steps, D) float32."""
    from videobert.artifacts.features import ClipFeatures

    features = ClipFeatures(features_dir)
    return np.stack([features.clips(s.video_id, s.first_clip, s.last_clip,
                                    f"step {s.index}").mean(0) for s in steps])


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    n_classes: int,
    test_x: np.ndarray,
    steps: int = 300,
    weight_decay: float = 1e-3,
    seed: int = 0,
) -> np.ndarray:
    """Multinomial logistic regression (standardised inputs, full-batch L-BFGS); test logits."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(train_x).float()
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    x = (x - mean) / std
    y = torch.from_numpy(np.asarray(train_y)).long()
    linear = torch.nn.Linear(x.shape[1], n_classes)
    with torch.no_grad():
        linear.weight.normal_(0, 0.01, generator=gen)
        linear.bias.zero_()
    opt = torch.optim.LBFGS(
        linear.parameters(), lr=1.0, max_iter=steps, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(x), y)
        loss = loss + weight_decay * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return linear((torch.from_numpy(test_x).float() - mean) / std).numpy()


# ---------------------------------------------------------------------------------------------
# Evaluation


@dataclasses.dataclass
class ZeroShotRow:
    method: str
    verb_top1: float
    verb_top5: float
    noun_top1: float
    noun_top5: float


@dataclasses.dataclass
class ZeroShotResult:
    rows: list[ZeroShotRow]
    n_examples: int
    n_verbs: int
    n_nouns: int
    templates: list[str]  # the prompts whose scores were averaged
    chance_top1: dict[str, float]
    n_left_out: int = 0  # steps whose verb or noun is not in the candidate lists
    # Cross-modal row, row = true class, column = top-1 prediction: {"verb": C x C, "noun": ...}
    cross_modal_confusion: dict[str, list[list[int]]] = dataclasses.field(default_factory=dict)
    # Per-step 0/1 hits of every row: {method: {"verb_top1": [...], ...}}, for intervals
    hits: dict[str, dict[str, list[int]]] = dataclasses.field(default_factory=dict)
    # Top-1 precision / recall / F1 of every row: {method: {"verb": {macro_f1, per_class...}}}
    f1: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)

    def interval(self, method: str, key: str):
        """95% bootstrap interval over steps of one figure (e.g. ``verb_top1``)."""
        from videobert.metrics.bootstrap import bootstrap_mean

        return bootstrap_mean(np.asarray(self.hits[method][key]))

    def row(self, method: str) -> ZeroShotRow:
        for r in self.rows:
            if r.method == method:
                return r
        raise KeyError(f"no {method!r} row; rows are {[r.method for r in self.rows]}")

    def probe_row(self) -> ZeroShotRow | None:
        """The supervised reference, when it was measured."""
        return next((r for r in self.rows if r.method == PROBE_ROW), None)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        lines = [
            f"Zero-shot classification on {self.n_examples} steps ({self.n_verbs} verbs, "
            f"{self.n_nouns} nouns), " + self._templates_text()
            + (f"; {self.n_left_out} steps left out (verb or noun not in the lists)"
               if self.n_left_out else ""),
            "",
            "| method | verb top-1 | verb top-5 | noun top-1 | noun top-5 |",
            "|---|---|---|---|---|",
        ]
        for r in self.rows:
            cells = [self._cell(r, key) for key in FIGURES]
            lines.append(f"| {r.method} | " + " | ".join(cells) + " |")
        chance5 = {k: min(1.0, 5 * v) for k, v in self.chance_top1.items()}
        lines.append(
            f"| chance | {self.chance_top1['verb']:.3f} | {chance5['verb']:.3f} |"
            f" {self.chance_top1['noun']:.3f} | {chance5['noun']:.3f} |"
        )
        if any(r.method == WHOLE_CLIPS_ROW for r in self.rows):
            lines.append("\nThe clip features have a motion stream: the cross-modal row reads "
                         "the verbs from it alone (each clip's visual word hidden, its appearance "
                         "block zeroed) and the nouns from the appearance alone (words and "
                         "appearance block, the motion block zeroed); the last row reads both "
                         "from the whole clips.")
        if self.hits:
            lines.append("\nIn brackets: 95% bootstrap interval over the steps.")
        if self.f1:
            lines += ["", "Top-1 precision / recall / F1, macro-averaged over the classes the "
                      "steps have (per class in zeroshot.json):", "",
                      "| method | verb P | verb R | verb F1 | noun P | noun R | noun F1 |",
                      "|---|---|---|---|---|---|---|"]
            for method, by_label in self.f1.items():
                cells = [f"{by_label[w][f'macro_{m}']:.3f}" for w in SLOT_NAMES
                         for m in ("precision", "recall", "f1")]
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def _templates_text(self) -> str:
        if len(self.templates) == 1:
            return f"template \"{self.templates[0]}\""
        quoted = "; ".join(f'"{t}"' for t in self.templates)
        return f"{len(self.templates)} templates averaged ({quoted})"

    def _cell(self, row: ZeroShotRow, key: str) -> str:
        if row.method not in self.hits:
            return f"{getattr(row, key):.3f}"
        from videobert.report import interval_cell

        return interval_cell(self.interval(row.method, key))


FIGURES = ("verb_top1", "verb_top5", "noun_top1", "noun_top5")


def _row(method: str, verb_s, noun_s, verb_t, noun_t) -> tuple[ZeroShotRow, dict[str, list]]:
    from videobert.metrics.ranking import target_ranks

    ranks = {"verb": target_ranks(np.asarray(verb_s), verb_t),
             "noun": target_ranks(np.asarray(noun_s), noun_t)}
    hits = {f"{what}_top{k}": (ranks[what] <= k).astype(int).tolist()
            for what in SLOT_NAMES for k in KS}
    row = ZeroShotRow(method, *(float(np.mean(hits[key])) for key in FIGURES))
    return row, hits


def evaluate_zero_shot(
    model: Any,
    tokenizer: Any,
    steps: Sequence[Step],
    verbs: Sequence[str],
    nouns: Sequence[str],
    template: str | Sequence[str] = DEFAULT_TEMPLATE,
    train_steps: Sequence[Step] | None = None,
    features_dir: str | Path | None = None,
    batch_size: int = 64,
    max_video_words: int = 64,
    appearance_width: int = 0,
) -> ZeroShotResult:
    """The three rows on ``steps`` (e.g. the val split); the probe needs ``train_steps`` and
    ``features_dir``, and is left out without them. ``template``: one prompt, or several whose
    candidate log-probs are averaged (the prior row averages the same ones).

    ``appearance_width`` > 0 (a model reading clip features with a motion stream after an
    appearance block of that width, see ``appearance_block_width``): the cross-modal row reads
    the verbs from the motion view of the clips (``inputs.motion_view``) and the nouns from
    their appearance view (``inputs.appearance_view``); a last row reads both from the whole
    clips."""
    from videobert.metrics import confusion_matrix

    n_given = len(steps)
    steps = [s for s in steps if s.verb in verbs and s.noun in nouns]
    if not steps:
        raise ValueError("no step has a verb and a noun from the candidate lists")
    if len(steps) < n_given:
        _LOG.info(f"{n_given - len(steps)} of {n_given} steps left out: their verb or "
                  "noun is not in the candidate lists")
    verb_t = np.array([list(verbs).index(s.verb) for s in steps])
    noun_t = np.array([list(nouns).index(s.noun) for s in steps])
    templates = [template] if isinstance(template, str) else list(template)
    if not templates:
        raise ValueError("no template given")
    tmpls = [Template.parse(t, tokenizer) for t in templates]
    verb_p = candidate_pieces(tokenizer, verbs, "verb")
    noun_p = candidate_pieces(tokenizer, nouns, "noun")

    def ensemble(videos) -> tuple[np.ndarray, np.ndarray]:
        scores = [score_candidates(model, t, verb_p, noun_p, videos, batch_size, max_video_words)
                  for t in tmpls]
        return tuple(np.mean([_log_normalise(x[i]) for x in scores], 0) for i in (0, 1))

    model.eval()
    prior_v, prior_n = ensemble(None)
    E = len(steps)
    scored = [("language prior (no video)", np.repeat(prior_v, E, 0), np.repeat(prior_n, E, 0))]
    cross_v, cross_n = ensemble([s.clips for s in steps])
    whole_v, whole_n = cross_v, cross_n
    if appearance_width > 0:
        cross_v, _ = ensemble([inputs.motion_view(s.clips, appearance_width) for s in steps])
        _, cross_n = ensemble([inputs.appearance_view(s.clips, appearance_width)
                               for s in steps])
    scored.append(("cross-modal (VideoBERT)", cross_v, cross_n))
    confusion = {
        "verb": confusion_matrix(cross_v, verb_t, len(verbs)).tolist(),
        "noun": confusion_matrix(cross_n, noun_t, len(nouns)).tolist(),
    }

    if train_steps is not None and features_dir is not None:
        train = [s for s in train_steps if s.verb in verbs and s.noun in nouns]
        if not train:
            raise ValueError("no training step has a verb and a noun from the candidate lists")
        train_x, test_x = step_features(train, features_dir), step_features(steps, features_dir)
        probe_v = linear_probe(
            train_x, [list(verbs).index(s.verb) for s in train], len(verbs), test_x
        )
        probe_n = linear_probe(
            train_x, [list(nouns).index(s.noun) for s in train], len(nouns), test_x
        )
        scored.append((PROBE_ROW, probe_v, probe_n))
    if appearance_width > 0:
        scored.append((WHOLE_CLIPS_ROW, whole_v, whole_n))
    from videobert.metrics import precision_recall_f1

    rows, hits, f1 = [], {}, {}
    for method, verb_s, noun_s in scored:
        row, hits[method] = _row(method, verb_s, noun_s, verb_t, noun_t)
        rows.append(row)
        f1[method] = {"verb": precision_recall_f1(verb_s, verb_t, len(verbs), verbs),
                      "noun": precision_recall_f1(noun_s, noun_t, len(nouns), nouns)}
    return ZeroShotResult(
        rows, E, len(verbs), len(nouns), templates,
        {"verb": 1 / len(verbs), "noun": 1 / len(nouns)}, n_given - E, confusion, hits, f1,
    )


# ---------------------------------------------------------------------------------------------
# CLI: videobert zeroshot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.tasks import cli_common

    cli_common.add_model_data_arguments(parser)
    parser.add_argument("--verbs", type=Path, help="verb list, one per line (default: beside "
                        "the ground truth, verbs.txt, else the ground truth's own verbs)")
    parser.add_argument("--nouns", type=Path, help="noun list (default: nouns.txt beside it, "
                        "else the ground truth's nouns)")
    parser.add_argument("--template", action="append", help="prompt with {verb} and {noun} "
                        f"slots; repeat to average several (default: {DEFAULT_TEMPLATE!r})")
    parser.add_argument("--templates-from", type=Path, metavar="CORPUS",
                        help="average the prompts mined from this corpus folder's narration "
                        "(see mine_templates), after any --template")
    parser.add_argument("--features", type=Path, help="clip features folder for the linear "
                        "probe (default: the one the words come from, else features/ beside the "
                        "ground truth; no probe if absent)")
    parser.add_argument("--max-video-words", type=int, default=64)
    parser.add_argument("--whole-clips", action="store_true",
                        help="read verbs and nouns from the whole clips even when the features "
                        "have a motion stream (default there: verbs from the motion stream "
                        "alone, nouns from the appearance alone; the report has both rows)")


def run(args: argparse.Namespace) -> int:
    from videobert.tasks import cli_common
    from videobert.tasks.steps import read_word_list

    data = cli_common.load(args)
    gt_dir = Path(args.ground_truth).parent

    def labels(given: Path | None, name: str, own: list[str]) -> list[str]:
        # a YouCook2 annotation file has no lists beside it: its own come from its sentences
        path = given or gt_dir / name
        return read_word_list(path) if given or path.exists() else own

    verbs = labels(args.verbs, "verbs.txt", data.ground_truth.verbs)
    nouns = labels(args.nouns, "nouns.txt", data.ground_truth.nouns)
    from videobert.artifacts.words import VisualWords

    features = (args.features or VisualWords.open(data.words_dir).features_dir
                or gt_dir / "features")
    if not Path(features).is_dir():
        _LOG.info(f"no features folder {features}: the linear-probe row is left out")
        features = None
    templates = chosen_templates(args.template, args.templates_from, verbs, nouns)
    result = evaluate_zero_shot(
        data.model, data.tokenizer, data.split("val"), verbs, nouns, templates,
        train_steps=data.split("train"), features_dir=features, batch_size=args.batch_size,
        max_video_words=args.max_video_words,
        appearance_width=0 if args.whole_clips else appearance_block_width(
            data.model, data.codebook_dir),
    )
    cli_common.write_report(args.out, "zeroshot", result.to_dict(), result.to_markdown())
    return 0


def chosen_templates(given: Sequence[str] | None, corpus: str | Path | None,
                     verbs: Sequence[str], nouns: Sequence[str]) -> list[str]:
    """The prompts to average: those given, then those mined from ``corpus``; the default
    template when that leaves none (a corpus whose narration names no candidate pair)."""
    templates = list(given or [])
    if corpus is not None:
        mined = mine_templates(corpus_sentences(corpus), verbs, nouns)
        _LOG.info(f"{len(mined)} templates mined from {corpus}: {mined}")
        templates += [t for t in mined if t not in templates]
    return templates or [DEFAULT_TEMPLATE]
