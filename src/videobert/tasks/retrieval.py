"""Text -> video retrieval: for each sentence, rank every video in a gallery.

Queries are the val steps' captions (or narrations); the gallery is the same steps' clip
sequences. Query i's own clips are always correct, and, by the ground truth's ``relevance``:
``action`` (synthetic data): any other step of the same action (verb and noun), since their
captions are the same sentence and no score could tell them apart; ``caption`` (YouCook2, as
its leaderboard scores text -> clip retrieval): only the steps whose caption is the very same
sentence. Three scores:
- **alignment**: the alignment head's logit on ``[CLS] text [>] video [SEP]`` for every
  (query, gallery) pair, Q x G forward passes in batches (``max_queries`` keeps it small);
- **embedding**: cosine similarity of mean-pooled hidden states of the text-only input
  ``[CLS] text [SEP]`` and the video-only input ``[CLS] [>] video [SEP]`` (Q + G passes);
- **likelihood**: how well the video predicts the sentence under the masked-LM, the objective
  the model was trained on: the sentence's words are masked in two halves (every other word,
  then the rest, a word's WordPieces together, so each pass masks half the text as pretraining's
  text-side examples do) and the log-probabilities of its tokens are summed, with the gallery
  video (words and clip features) in view, each token weighted by its inverse document
  frequency over the query sentences (``log(N / df)``: a token every sentence has, such as
  "the", tells no video from another and gets 0; a sentence of such tokens only keeps weight
  1 on each). The text-only prior of a sentence is the same for every video, so ranking by
  this sum ranks by how much the video adds. 2 x Q x G passes. Then each video's scores are
  z-scored over the distinct query sentences (``per_video_z``): a video the model reads with
  confidence gives high log-probabilities to its own words and low ones to every other
  sentence, an unclear one middling ones to all, and unnormalised the middling ones outrank
  the right video for most queries. The figure of the raw sum is reported beside
  (``likelihood_raw``). The normaliser uses the other queries' scores, no labels: ranking
  one sentence alone falls back to the raw sum.
Figures: R@1, R@5, R@10 and median rank from ``videobert.metrics.retrieval_metrics``, with
those of a random ranking (chance R@k averaged over queries; for the rank, the median over
queries of each query's chance median rank, which depends on its number of correct items).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from videobert.tasks import inputs
from videobert.tasks.steps import Step

KS = (1, 5, 10)


def distinct_sentences(texts: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Steps of one action often share a caption: each distinct sentence is scored once."""
    return list(dict.fromkeys(tuple(t) for t in texts))


def distinct_rows(texts: Sequence[Sequence[int]]) -> list[int]:
    """The query index of each distinct sentence's first occurrence, in ``distinct_sentences``
    order."""
    first: dict[tuple[int, ...], int] = {}
    for q, text in enumerate(texts):
        first.setdefault(tuple(text), q)
    return list(first.values())


def per_query(rows: np.ndarray, distinct: list[tuple[int, ...]],
              texts: Sequence[Sequence[int]]) -> np.ndarray:
    """The (distinct sentence, G) rows back in query order: (Q, G)."""
    index = {text: i for i, text in enumerate(distinct)}
    return rows[[index[tuple(t)] for t in texts]]


def alignment_similarity(
    model: Any,
    texts: Sequence[Sequence[int]],
    videos: Sequence[Sequence[int] | inputs.Clips],
    batch_size: int = 64,
    progress: bool = True,
) -> np.ndarray:
    """(Q, G) alignment logits of every (text ids, video words) pair, batched over pairs."""
    layout = model.layout
    clips = [inputs.as_clips(v) for v in videos]
    distinct = distinct_sentences(texts)
    G = len(videos)
    flat = np.empty(len(distinct) * G, dtype=np.float32)  # pair p = (query p // G, video p % G)
    # Full batches across query boundaries; pairs are built one batch at a time (low memory).
    with tqdm(total=len(flat), desc="alignment retrieval", unit="pair",
              disable=not progress) as bar:
        for start in range(0, len(flat), batch_size):
            stop = min(len(flat), start + batch_size)
            pairs = [inputs.clips_sequence(layout, distinct[p // G], clips[p % G])
                     for p in range(start, stop)]
            flat[start:stop] = inputs.alignment_scores(model, pairs, batch_size)
            bar.update(stop - start)
    return per_query(flat.reshape(len(distinct), G), distinct, texts)


def alignment_similarity_naive(
    model: Any, texts: Sequence[Sequence[int]], videos: Sequence[Sequence[int] | inputs.Clips]
) -> np.ndarray:
    """The reference for ``alignment_similarity``: one unpadded forward pass per pair."""
    layout = model.layout
    scores = np.empty((len(texts), len(videos)), dtype=np.float32)
    for q, text in enumerate(texts):
        for g, video in enumerate(videos):
            pair = inputs.clips_sequence(layout, text, inputs.as_clips(video))
            scores[q, g] = inputs.alignment_scores(model, [pair], 1)[0]
    return scores


def idf_weights(sentences: Sequence[Sequence[int]]) -> list[np.ndarray]:
    """Per sentence, each token's ``log(N / df)`` over the N sentences (df: how many contain
    it); a sentence whose tokens are all in every sentence gets weight 1 throughout."""
    from collections import Counter

    df = Counter(t for s in sentences for t in set(s))
    out = []
    for sentence in sentences:
        w = np.array([np.log(len(sentences) / df[t]) for t in sentence])
        out.append(w if w.any() else np.ones(len(sentence)))
    return out


def masked_halves(groups: np.ndarray) -> list[list[int]]:
    """Text positions (0-based) of the two passes: the even-numbered words, then the odd;
    ``groups`` is each position's word (``masking.word_groups``), so a word's pieces stay
    together. A one-word sentence has one pass."""
    halves = [np.flatnonzero(np.asarray(groups) % 2 == k).tolist() for k in (0, 1)]
    return [h for h in halves if h]


@torch.no_grad()
def likelihood_similarity(
    model: Any,
    tokenizer: Any,
    texts: Sequence[Sequence[int]],
    videos: Sequence[Sequence[int] | inputs.Clips],
    batch_size: int = 64,
    progress: bool = True,
) -> np.ndarray:
    """(Q, G) IDF-weighted log-probability of each query's tokens with each video in view
    (the **likelihood** score above)."""
    from videobert.sequences.dataset import tokenizer_continuations
    from videobert.sequences.masking import word_groups

    clips, distinct = [inputs.as_clips(v) for v in videos], distinct_sentences(texts)
    weights = idf_weights(distinct)
    scores = np.zeros((len(distinct), len(clips)), dtype=np.float64)
    continuation = tokenizer_continuations(tokenizer, model.layout.n_text)
    passes = [(q, half) for q, text in enumerate(distinct)
              for half in masked_halves(word_groups(np.asarray(text, np.int64), continuation))]
    with tqdm(total=len(passes) * len(clips), desc="likelihood retrieval", unit="pair",
              disable=not progress) as bar:
        for q, half in passes:
            text = list(distinct[q])
            masked = [model.layout.mask_id if i in half else t for i, t in enumerate(text)]
            targets = torch.tensor([text[i] for i in half])
            sequences = []
            for video in clips:
                example = inputs.clips_sequence(model.layout, masked, video)
                example.slots = [1 + i for i in half]  # after [CLS]
                sequences.append(example)
            logits = inputs.slot_logits(model, sequences, batch_size)[..., :model.layout.n_text]
            logp = torch.log_softmax(logits, -1)  # (G, S, n_text)
            picked = logp.gather(-1, targets.expand(len(clips), -1)[..., None])[..., 0]
            scores[q] += picked.double().numpy() @ weights[q][half]
            bar.update(len(clips))
    return per_query(scores, distinct, texts)


def per_video_z(similarity: np.ndarray, texts: Sequence[Sequence[int]]) -> np.ndarray:
    """(Q, G) scores with each video's column z-scored over the distinct query sentences
    (a sentence asked by several queries counts once); a column that does not vary is only
    centred. With a single distinct sentence there is nothing to normalise over: the scores
    come back as they are."""
    rows = distinct_rows(texts)
    if len(rows) < 2:
        return similarity
    distinct = similarity[rows].astype(np.float64)
    mean, std = distinct.mean(0, keepdims=True), distinct.std(0, keepdims=True)
    return (similarity - mean) / np.where(std > 1e-12, std, 1.0)


def embedding_similarity(
    model: Any,
    texts: Sequence[Sequence[int]],
    videos: Sequence[Sequence[int] | inputs.Clips],
    batch_size: int = 64,
) -> np.ndarray:
    """(Q, G) cosine similarity of pooled text-only and video-only hidden states."""
    layout = model.layout
    text_emb = inputs.pooled_states(model, [inputs.text_sequence(layout, t) for t in texts],
                                    batch_size)
    video_emb = inputs.pooled_states(
        model, [inputs.clips_sequence(layout, [], inputs.as_clips(v)) for v in videos],
        batch_size,
    )
    text_emb /= np.linalg.norm(text_emb, axis=1, keepdims=True).clip(1e-12)
    video_emb /= np.linalg.norm(video_emb, axis=1, keepdims=True).clip(1e-12)
    return text_emb @ video_emb.T


@dataclasses.dataclass
class RetrievalResult:
    n_queries: int
    n_gallery: int
    alignment: dict[str, float]  # R@1, R@5, R@10, median rank (from retrieval_metrics)
    embedding: dict[str, float]
    likelihood: dict[str, float]  # z-scored per video over the queries (per_video_z)
    chance: dict[str, float]  # R@k and median rank of a random ranking of this gallery
    # per query, for intervals: R@5 hit (0/1) of each score, and a random ranking's R@5
    hits_at_5: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    chance_at_5: list[float] = dataclasses.field(default_factory=list)
    relevance: str = "action"  # what made a gallery item correct (RELEVANCE)
    likelihood_raw: dict[str, float] = dataclasses.field(default_factory=dict)  # before z

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        def cells(m: dict[str, float]) -> str:
            recalls = " | ".join(f"{m[f'R@{k}']:.3f}" for k in KS)
            return f"{recalls} | {m['median_rank']:.1f}"

        correct = {"action": "the steps of the query's action (verb and noun)",
                   "caption": "the query's own clip (or one with the same sentence)"}
        return "\n".join([
            f"Text -> video retrieval: {self.n_queries} queries, gallery of {self.n_gallery}; "
            f"correct: {correct[self.relevance]}",
            "",
            "| score | R@1 | R@5 | R@10 | median rank |",
            "|---|---|---|---|---|",
            f"| alignment head | {cells(self.alignment)} |",
            f"| embedding cosine | {cells(self.embedding)} |",
            f"| masked-LM likelihood of the sentence | {cells(self.likelihood)} |",
            *([f"| the same, not normalised per video | {cells(self.likelihood_raw)} |"]
              if self.likelihood_raw else []),
            f"| chance | {cells(self.chance)} |",
        ]) + "\n"


RELEVANCE = ("action", "caption")


def action_relevance(steps: Sequence[Step]) -> np.ndarray:
    """(Q, G) bool: gallery step g shows the action (verb, noun) of query step q."""
    actions = [(s.verb, s.noun) for s in steps]
    return np.array([[a == b for b in actions] for a in actions], dtype=bool)


def caption_relevance(steps: Sequence[Step]) -> np.ndarray:
    """(Q, G) bool: gallery step g is query step q, or has the very same caption."""
    captions = [" ".join(s.caption.lower().split()) for s in steps]
    same = np.array([[a == b for b in captions] for a in captions], dtype=bool)
    return same | np.eye(len(steps), dtype=bool)


def relevance_of(steps: Sequence[Step], relevance: str) -> np.ndarray:
    if relevance not in RELEVANCE:
        raise ValueError(f"relevance must be one of {RELEVANCE}, got {relevance!r}")
    return action_relevance(steps) if relevance == "action" else caption_relevance(steps)


def retrieval_figures(similarity: np.ndarray, relevance: np.ndarray) -> dict[str, float]:
    """R@k and median/mean rank of the first correct gallery item."""
    from videobert.metrics import retrieval_metrics

    return retrieval_metrics(similarity, relevance, ks=KS)


def chance_figures(relevance: np.ndarray) -> dict[str, float]:
    """R@k and median rank that a random ranking gets on average, for these relevance sets."""
    from videobert.metrics import chance_median_rank, chance_recall_at_k

    G = relevance.shape[1]
    n_rel = [int(r) for r in relevance.sum(1)]
    out = {f"R@{k}": float(np.mean([chance_recall_at_k(G, k, r) for r in n_rel])) for k in KS}
    out["median_rank"] = float(np.median([chance_median_rank(G, r) for r in n_rel]))
    return out


QUERY_FIELDS = ("caption", "narration")


def query_text(step: Step, field: str = "caption") -> str:
    """The step's reference caption, or its narration (the caption when it had none)."""
    if field not in QUERY_FIELDS:
        raise ValueError(f"query field must be one of {QUERY_FIELDS}, got {field!r}")
    return (step.narration if field == "narration" else None) or step.caption


def retrieval_queries(
    tokenizer: Any, steps: Sequence[Step], max_video_words: int = 64, field: str = "caption"
) -> tuple[list[list[int]], list[inputs.Clips]]:
    """(query text ids, gallery clips) of the steps, aligned by index."""
    texts = [inputs.encode_text(tokenizer, query_text(s, field)) for s in steps]
    videos = [s.clips.subsample(max_video_words) for s in steps]
    return texts, videos


def evaluate_retrieval(
    model: Any,
    tokenizer: Any,
    steps: Sequence[Step],
    max_queries: int | None = 200,
    batch_size: int = 64,
    max_video_words: int = 64,
    seed: int = 0,
    query_field: str = "caption",
    relevance: str = "action",
) -> RetrievalResult:
    """Both retrieval scores on ``steps`` (query i = caption of step i; correct: see
    ``relevance``, one of ``RELEVANCE``).

    With more than ``max_queries`` steps a fixed random subset (``seed``) is both the queries
    and the gallery, so the Q x G alignment passes stay affordable.
    """
    steps = list(steps)
    if len(steps) < 2:
        raise ValueError(f"retrieval needs at least 2 steps, got {len(steps)}")
    if max_queries is not None and len(steps) > max_queries:
        keep = np.sort(np.random.default_rng(seed).choice(len(steps), max_queries, replace=False))
        steps = [steps[i] for i in keep]
    correct = relevance_of(steps, relevance)  # before the passes: a bad value fails at once
    texts, videos = retrieval_queries(tokenizer, steps, max_video_words, query_field)
    model.eval()
    align = alignment_similarity(model, texts, videos, batch_size)
    embed = embedding_similarity(model, texts, videos, batch_size)
    likely_raw = likelihood_similarity(model, tokenizer, texts, videos, batch_size)
    likely = per_video_z(likely_raw, texts)
    from videobert.metrics import chance_recall_at_k
    from videobert.metrics.retrieval import retrieval_ranks

    return RetrievalResult(
        n_queries=len(texts), n_gallery=len(videos),
        alignment=retrieval_figures(align, correct),
        embedding=retrieval_figures(embed, correct),
        likelihood=retrieval_figures(likely, correct), chance=chance_figures(correct),
        hits_at_5={name: (retrieval_ranks(sim, correct) <= 5).astype(int).tolist()
                   for name, sim in (("alignment", align), ("embedding", embed),
                                     ("likelihood", likely))},
        chance_at_5=[chance_recall_at_k(len(videos), 5, int(r)) for r in correct.sum(1)],
        relevance=relevance, likelihood_raw=retrieval_figures(likely_raw, correct),
    )


# ---------------------------------------------------------------------------------------------
# CLI: videobert retrieval


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from videobert.tasks import cli_common

    cli_common.add_model_data_arguments(parser)
    parser.add_argument("--split", default="val", help="ground-truth split (default: val)")
    parser.add_argument("--max-queries", type=int, default=200,
                        help="random subset size: alignment costs queries x gallery passes")
    parser.add_argument("--max-video-words", type=int, default=64)
    parser.add_argument("--query", choices=QUERY_FIELDS, default="caption",
                        help="query sentence of a step: its reference caption or its narration")
    parser.add_argument("--relevance", choices=RELEVANCE,
                        help="correct gallery items: the query's action, or its own clip and "
                        "same-sentence ones (default: the ground truth's; YouCook2: caption)")


def run(args: argparse.Namespace) -> int:
    from videobert.tasks import cli_common

    data = cli_common.load(args)
    result = evaluate_retrieval(
        data.model, data.tokenizer, data.split(args.split), args.max_queries, args.batch_size,
        args.max_video_words, query_field=args.query,
        relevance=args.relevance or data.ground_truth.relevance,
    )
    cli_common.write_report(args.out, "retrieval", result.to_dict(), result.to_markdown())
    return 0
