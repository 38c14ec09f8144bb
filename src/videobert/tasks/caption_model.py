"""The captioner: a small ``torch.nn.Transformer`` encoder-decoder from feature sequences to words.

The encoder reads one feature vector per clip (clip features, VideoBERT features or both),
projected to ``d_model``; the decoder writes WordPiece tokens from a small output vocabulary
(the pieces that occur in the training captions, plus ``<pad> <bos> <eos> <unk>``). Training is
teacher forcing with cross-entropy; decoding is greedy or beam search with the GNMT length
penalty ``((5 + n) / 6) ** alpha``. With a beam of 1, beam search is greedy decoding exactly.
Shapes: B batch, S clips, F feature dim, L caption tokens, d model width, V output vocab.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class CaptionVocab:
    """Output vocabulary: WordPiece ids seen in training captions <-> compact indices."""

    def __init__(self, wordpiece_ids: Iterable[int]) -> None:
        self.pieces: list[int] = sorted(set(int(i) for i in wordpiece_ids))
        self._index = {p: i + len(SPECIALS) for i, p in enumerate(self.pieces)}

    @classmethod
    def from_captions(cls, captions: Iterable[Sequence[int]]) -> CaptionVocab:
        return cls(p for caption in captions for p in caption)

    def __len__(self) -> int:
        return len(SPECIALS) + len(self.pieces)

    def encode(self, wordpiece_ids: Sequence[int]) -> list[int]:
        """WordPiece ids -> output indices (``<unk>`` for pieces never seen in training)."""
        return [self._index.get(int(p), UNK) for p in wordpiece_ids]

    def decode(self, indices: Sequence[int]) -> list[int]:
        """Output indices -> WordPiece ids, up to the first ``<eos>``; specials dropped."""
        out = []
        for i in indices:
            i = int(i)
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.pieces[i - len(SPECIALS)])
        return out


@dataclasses.dataclass
class CaptionModelConfig:
    feature_dim: int
    vocab_size: int
    d_model: int = 128
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1


def sinusoids(length: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal position encodings (Vaswani et al.): (length, dim)."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim)
    out[:, 0::2] = torch.sin(pos * freq)
    out[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return out


class CaptionTransformer(nn.Module):
    def __init__(self, config: CaptionModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        # LayerNorm after the projection: inputs of very different widths (1024 clip dims, 2D
        # VideoBERT dims, both) start at the same scale.
        self.src_proj = nn.Sequential(nn.Linear(config.feature_dim, d), nn.LayerNorm(d))
        self.tgt_embed = nn.Embedding(config.vocab_size, d, padding_idx=PAD)
        self.dropout = nn.Dropout(config.dropout)
        self.transformer = nn.Transformer(
            d_model=d, nhead=config.nhead, num_encoder_layers=config.num_encoder_layers,
            num_decoder_layers=config.num_decoder_layers,
            dim_feedforward=config.dim_feedforward, dropout=config.dropout, batch_first=True,
        )
        # The nested-tensor fast path is a prototype API; padded and unpadded batches should
        # go through the same arithmetic.
        self.transformer.encoder.enable_nested_tensor = False
        self.transformer.encoder.use_nested_tensor = False
        self.out = nn.Linear(d, config.vocab_size)
        self.register_buffer("positions", sinusoids(512, d), persistent=False)

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> torch.Tensor:
        """src (B, S, F), src_mask (B, S) bool True = real clip -> memory (B, S, d)."""
        x = self.src_proj(src) + self.positions[: src.shape[1]]
        return self.transformer.encoder(self.dropout(x), src_key_padding_mask=~src_mask)

    def decode(
        self, tgt: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor
    ) -> torch.Tensor:
        """tgt (B, L) output indices starting with <bos> -> next-token logits (B, L, V)."""
        L = tgt.shape[1]
        y = self.tgt_embed(tgt) * math.sqrt(self.config.d_model) + self.positions[:L]
        # bool masks throughout (True = may not attend), so PyTorch does not mix mask types
        causal = torch.ones(L, L, dtype=torch.bool, device=tgt.device).triu(1)
        h = self.transformer.decoder(
            self.dropout(y), memory, tgt_mask=causal, tgt_is_causal=True,
            tgt_key_padding_mask=tgt == PAD, memory_key_padding_mask=~src_mask,
        )
        return self.out(h)

    def forward(
        self, src: torch.Tensor, src_mask: torch.Tensor, tgt: torch.Tensor
    ) -> torch.Tensor:
        return self.decode(tgt, self.encode(src, src_mask), src_mask)


# ---------------------------------------------------------------------------------------------
# Batches


def pad_features(features: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """List of (S_i, F) arrays -> src (B, S, F) float32, src_mask (B, S) bool."""
    S = max(len(f) for f in features)
    dim = features[0].shape[1]
    src = torch.zeros(len(features), S, dim)
    mask = torch.zeros(len(features), S, dtype=torch.bool)
    for b, f in enumerate(features):
        src[b, : len(f)] = torch.from_numpy(np.asarray(f, dtype=np.float32))
        mask[b, : len(f)] = True
    return src, mask


def pad_targets(captions: Sequence[Sequence[int]]) -> torch.Tensor:
    """Output-index captions -> (B, L + 2) ``<bos> caption <eos>`` padded with ``<pad>``."""
    L = max(len(c) for c in captions) + 2
    out = torch.full((len(captions), L), PAD, dtype=torch.long)
    for b, c in enumerate(captions):
        out[b, : len(c) + 2] = torch.tensor([BOS, *c, EOS])
    return out


def caption_loss(
    model: CaptionTransformer,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    targets: torch.Tensor,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Teacher forcing: predict targets[:, 1:] from targets[:, :-1]."""
    logits = model(src, src_mask, targets[:, :-1])  # (B, L, V)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets[:, 1:].reshape(-1),
        ignore_index=PAD, label_smoothing=label_smoothing,
    )


# ---------------------------------------------------------------------------------------------
# Decoding


def _next_logprobs(
    model: CaptionTransformer, tokens: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor
) -> torch.Tensor:
    """Log-probs of the next token after each prefix (B, V); <pad> and <bos> never come next."""
    logits = model.decode(tokens, memory, src_mask)[:, -1].float()
    logits[:, PAD] = -math.inf
    logits[:, BOS] = -math.inf
    return torch.log_softmax(logits, dim=-1)


@torch.no_grad()
def greedy_decode(
    model: CaptionTransformer, src: torch.Tensor, src_mask: torch.Tensor, max_len: int = 20
) -> list[list[int]]:
    """The most likely next token at every step; output indices without <bos>/<eos>."""
    model.eval()
    memory = model.encode(src, src_mask)
    B = src.shape[0]
    tokens = torch.full((B, 1), BOS, dtype=torch.long, device=src.device)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        nxt = _next_logprobs(model, tokens, memory, src_mask).argmax(-1)  # (B,)
        nxt = torch.where(done, torch.full_like(nxt, PAD), nxt)
        tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        done |= nxt == EOS
        if bool(done.all()):
            break
    return [_strip(row) for row in tokens[:, 1:].tolist()]


def length_penalty(n_tokens: int, alpha: float) -> float:
    """GNMT (Wu et al. 2016): ((5 + n) / 6) ** alpha; alpha = 0 ranks by total log-prob."""
    return ((5.0 + n_tokens) / 6.0) ** alpha


@torch.no_grad()
def beam_search(
    model: CaptionTransformer,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    beam_size: int = 4,
    max_len: int = 20,
    alpha: float = 0.6,
) -> list[list[int]]:
    """Beam search with a shrinking beam, one example at a time (the encoder runs once each).

    At each step the live prefixes are expanded and the best ``k`` candidates kept, ``k`` being
    ``beam_size`` minus the hypotheses already finished: a candidate ending in <eos> is
    finished (score = total log-prob / length penalty, the length counting <eos>), the others
    stay live. Search ends when ``beam_size`` hypotheses are finished, or after ``max_len``
    tokens (live ones then count as finished); the best finished hypothesis wins. With
    ``beam_size=1`` this takes the arg-max at every step and stops at the first <eos>: it is
    greedy decoding exactly.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    model.eval()
    results = []
    for b in range(src.shape[0]):
        n = int(src_mask[b].sum())
        memory = model.encode(src[b : b + 1, :n], src_mask[b : b + 1, :n])  # (1, n, d)
        results.append(_beam_one(model, memory, beam_size, max_len, alpha))
    return results


def _beam_one(
    model: CaptionTransformer, memory: torch.Tensor, beam_size: int, max_len: int, alpha: float
) -> list[int]:
    device = memory.device
    live: list[tuple[float, list[int]]] = [(0.0, [BOS])]
    finished: list[tuple[float, list[int]]] = []
    for _ in range(max_len):
        k = len(live)
        tokens = torch.tensor([seq for _, seq in live], device=device)  # (k, t)
        mask = torch.ones(k, memory.shape[1], dtype=torch.bool, device=device)
        logp = _next_logprobs(model, tokens, memory.expand(k, -1, -1), mask)  # (k, V)
        total = torch.tensor([s for s, _ in live], device=device)[:, None] + logp  # (k, V)
        V = logp.shape[1]
        top = total.flatten().topk(beam_size - len(finished))
        live = []
        for score, idx in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            if score == -math.inf:  # <pad>/<bos> in a tiny vocabulary: never a candidate
                continue
            parent, token = divmod(idx, V)
            seq = tokens[parent].tolist() + [token]
            if token == EOS:
                finished.append((score / length_penalty(len(seq) - 1, alpha), seq))
            else:
                live.append((score, seq))
        if not live:
            break
    finished.extend((s / length_penalty(len(seq) - 1, alpha), seq) for s, seq in live)
    best = max(finished, key=lambda item: item[0])[1]
    return _strip(best[1:])


def _strip(indices: Sequence[int]) -> list[int]:
    """Output indices up to (not including) the first <eos>."""
    out = []
    for i in indices:
        if i in (EOS, PAD):
            break
        out.append(int(i))
    return out
