"""VideoBERT: a BERT encoder over one joint vocabulary of WordPiece text and visual words.

Input ``[CLS] text [>] video [SEP]`` (text-only ``[CLS] text [SEP]``, video-only
``[CLS] [>] video [SEP]``), segment id 0 for ``[CLS] text [>]`` and 1 for ``video [SEP]``.
Two heads: masked-token prediction over the whole vocabulary (text and visual words), evaluated
only at the masked positions, and linguistic-visual alignment on ``[CLS]`` (BERT's pooler).

The file reads top to bottom: config, size presets, output, embeddings, encoder layer, heads,
the model, save/load. Shapes: B batch, T tokens, D hidden, H heads, N masked positions,
V vocabulary (``layout.size``).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from videobert.vocab import IGNORE_INDEX, VocabLayout

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


# ---------------------------------------------------------------------------------------------
# Config and size presets


@dataclasses.dataclass
class VideoBertConfig:
    vocab_size: int  # must equal layout.size: text + [>] + visual words (read from the codebook)
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    layout: dict[str, int]  # VocabLayout.to_dict()
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    hidden_dropout: float = 0.1
    attention_dropout: float = 0.1
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"  # "gelu" (exact, as BERT) | "gelu_tanh" | "relu"
    visual_feature_dim: int | None = None  # codebook centroid dimension (for initialisation)
    # > 0: each visual token's input is its word's embedding plus a projection of its clip's
    # (normalised) feature, so what quantisation loses still reaches the encoder. 0: visual
    # words only, as the paper.
    clip_feature_dim: int = 0
    initializer_range: float = 0.02
    # The paper kept the (text) input embeddings fixed; stored here so a reloaded model keeps it.
    freeze_input_embeddings: bool = False

    def __post_init__(self) -> None:
        layout = VocabLayout.from_dict(self.layout)
        if self.vocab_size != layout.size:
            raise ValueError(
                f"VideoBertConfig.vocab_size={self.vocab_size} but the vocabulary layout has "
                f"{layout.size} ids ({layout.n_text} text + [>] + {layout.n_visual} visual words);"
                " build the config from the layout (e.g. tiny_config(layout))"
            )
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by num_heads={self.num_heads}"
            )
        if self.hidden_act not in _ACTIVATIONS:
            raise ValueError(
                f"hidden_act={self.hidden_act!r}; expected one of {list(_ACTIVATIONS)}"
            )

    @property
    def vocab_layout(self) -> VocabLayout:
        return VocabLayout.from_dict(self.layout)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoBertConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"VideoBertConfig: unknown keys {sorted(unknown)}")
        return cls(**data)


def _config(layout: VocabLayout, hidden: int, layers: int, heads: int, ff: int, **kw: Any):
    return VideoBertConfig(
        vocab_size=layout.size, hidden_size=hidden, num_layers=layers, num_heads=heads,
        intermediate_size=ff, layout=layout.to_dict(), **kw,
    )


def tiny_config(layout: VocabLayout, **overrides: Any) -> VideoBertConfig:
    """CPU / CI / demo size: 128 hidden, 2 layers."""
    return _config(layout, 128, 2, 2, 512, **overrides)


def small_config(layout: VocabLayout, **overrides: Any) -> VideoBertConfig:
    """256 hidden, 4 layers: with the flow stream (``features.motion``) the tiny size reads the
    verb or the noun of a clip, this one both (docs/benchmarks.md, "A motion stream")."""
    return _config(layout, 256, 4, 4, 1024, **overrides)


def minilm_l6_config(layout: VocabLayout, **overrides: Any) -> VideoBertConfig:
    """The size of the bundled all-MiniLM-L6-v2 (the demo's pretrained start)."""
    return _config(layout, 384, 6, 12, 1536, **overrides)


def base_config(layout: VocabLayout, **overrides: Any) -> VideoBertConfig:
    """BERT-base."""
    return _config(layout, 768, 12, 12, 3072, **overrides)


def large_config(layout: VocabLayout, **overrides: Any) -> VideoBertConfig:
    """BERT-large, the size of the paper's model."""
    return _config(layout, 1024, 24, 16, 4096, **overrides)


PRESETS = {
    "tiny": tiny_config, "small": small_config, "minilm": minilm_l6_config,
    "base": base_config,
    "large": large_config, "paper": large_config,
}


# ---------------------------------------------------------------------------------------------
# Output


@dataclasses.dataclass
class VideoBertOutput:
    hidden_states: torch.Tensor  # (B, T, D) last encoder layer
    alignment_logits: torch.Tensor  # (B,) text and video belong together (logit of p)
    mlm_logits: torch.Tensor | None = None  # (N, V) only at the N masked positions
    mlm_targets: torch.Tensor | None = None  # (N,) the true token ids there
    mlm_positions: torch.Tensor | None = None  # (N, 2) long: (batch index, position)


# ---------------------------------------------------------------------------------------------
# Building blocks

_ACTIVATIONS = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
}


class Dropout(nn.Module):
    """nn.Dropout with a faster CPU mask: keep where a 15-bit random integer >= p * 2**15.

    Same distribution as nn.Dropout (p rounded to 1/32768, the scale uses the rounded p), but on
    CPU ``bernoulli_`` is ~4x slower than drawing integers, and dropout masks are a large share
    of a CPU training step. On GPU ``F.dropout`` is already one fused kernel and is used as is.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        threshold = round(self.p * (1 << 15))
        keep = torch.empty(x.shape, dtype=torch.int16).random_(0, 1 << 15) >= threshold
        return (x * keep).mul_((1 << 15) / ((1 << 15) - threshold))  # bool mask: no cast pass


class Embeddings(nn.Module):
    """word + learned position + token type, then LayerNorm and dropout (as BERT)."""

    def __init__(self, config: VideoBertConfig) -> None:
        super().__init__()
        self.word = nn.Embedding(config.vocab_size, config.hidden_size)
        self.position = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout)
        # no bias: a position without a feature (text, specials, a masked clip) gets nothing
        self.clip = (nn.Linear(config.clip_feature_dim, config.hidden_size, bias=False)
                     if config.clip_feature_dim else None)

    def forward(
        self, input_ids: torch.Tensor, token_type_ids: torch.Tensor,
        clip_features: torch.Tensor | None = None,
    ) -> torch.Tensor:
        T = input_ids.shape[1]
        x = self.word(input_ids) + self.token_type(token_type_ids)  # (B, T, D)
        if self.clip is not None and clip_features is not None:
            x = x + self.clip(clip_features.to(x.dtype))
        x = x + self.position.weight[:T]  # (T, D) broadcast over the batch
        return self.dropout(self.norm(x))


class SelfAttention(nn.Module):
    """Multi-head self-attention: one fused QKV projection, then SDPA."""

    def __init__(self, config: VideoBertConfig) -> None:
        super().__init__()
        self.num_heads = config.num_heads
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size)  # rows: q, k, v
        self.out = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_dropout = Dropout(config.attention_dropout)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        B, T, D = x.shape
        H = self.num_heads
        qkv = self.qkv(x).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)  # (3, B, H, T, D/H)
        q, k, v = qkv.unbind(0)
        p = self.attention_dropout.p if self.training else 0.0
        if p > 0.0 and x.device.type == "cpu":
            # SDPA's CPU flash kernel has no dropout; its fallback draws the mask with the slow
            # bernoulli_. The same computation written out, with our faster dropout mask:
            scores = (q * (D // H) ** -0.5) @ k.transpose(-1, -2)  # (B, H, T, T)
            if attn_mask is not None:
                scores = scores.masked_fill(~attn_mask, float("-inf"))
            y = self.attention_dropout(scores.softmax(-1)) @ v  # (B, H, T, D/H)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=p)
        return self.out(y.transpose(1, 2).reshape(B, T, D))


class EncoderLayer(nn.Module):
    """Post-LN transformer layer, as BERT: x = LN(x + attn(x)); x = LN(x + ff(x))."""

    def __init__(self, config: VideoBertConfig) -> None:
        super().__init__()
        self.attention = SelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ff_in = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ff_out = nn.Linear(config.intermediate_size, config.hidden_size)
        self.ff_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = Dropout(config.hidden_dropout)
        self.act = _ACTIVATIONS[config.hidden_act]

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None) -> torch.Tensor:
        x = self.attention_norm(x + self.dropout(self.attention(x, attn_mask)))  # (B, T, D)
        h = self.ff_out(self.act(self.ff_in(x)))  # (B, T, D) through (B, T, F)
        return self.ff_norm(x + self.dropout(h))


class MaskedTokenHead(nn.Module):
    """BERT's MLM head: dense, activation, LayerNorm, then the tied word embeddings + bias."""

    def __init__(self, config: VideoBertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.act = _ACTIVATIONS[config.hidden_act]
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, h: torch.Tensor, word_embeddings: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.act(self.dense(h)))  # (..., D)
        return F.linear(h, word_embeddings, self.bias)  # (..., V), decoder tied to (V, D)


class AlignmentHead(nn.Module):
    """BERT's pooler (dense + tanh on [CLS]) then one logit: do text and video go together?"""

    def __init__(self, config: VideoBertConfig) -> None:
        super().__init__()
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, 1)

    def forward(self, cls_state: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.tanh(self.pooler(cls_state))).squeeze(-1)  # (B,)


# ---------------------------------------------------------------------------------------------
# The model


class VideoBert(nn.Module):
    def __init__(self, config: VideoBertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_layers))
        self.mlm_head = MaskedTokenHead(config)
        self.alignment_head = AlignmentHead(config)
        self.apply(self._init_weights)
        self.freeze_input_embeddings(config.freeze_input_embeddings)

    def _init_weights(self, module: nn.Module) -> None:
        """BERT's initialisation: normal(0, 0.02) weights, zero biases, unit LayerNorm."""
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def freeze_input_embeddings(self, freeze: bool = True) -> None:
        """Keep the word embeddings (tied to the MLM decoder) fixed, as the paper did."""
        self.embeddings.word.weight.requires_grad_(not freeze)
        self.config.freeze_input_embeddings = freeze

    @property
    def layout(self) -> VocabLayout:
        return self.config.vocab_layout

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def encode(
        self,
        input_ids: torch.Tensor,  # (B, T) long
        token_type_ids: torch.Tensor,  # (B, T) long
        attention_mask: torch.Tensor | None = None,  # (B, T) bool, True = real token
        clip_features: torch.Tensor | None = None,  # (B, T, F) float, zero where none
    ) -> torch.Tensor:
        """The encoder alone: last hidden states (B, T, D)."""
        if input_ids.shape[1] > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence of {input_ids.shape[1]} tokens is longer than "
                f"max_position_embeddings={self.config.max_position_embeddings}"
            )
        # Padding keys are hidden from every query; a batch without padding takes SDPA's
        # mask-free (fastest) path.
        attn_mask = None
        if attention_mask is not None and not bool(attention_mask.all()):
            attn_mask = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, T)
        x = self.embeddings(input_ids, token_type_ids, clip_features)  # (B, T, D)
        for layer in self.layers:
            x = layer(x, attn_mask)
        return x

    def token_logits(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """MLM head on any hidden states (..., D) -> logits over the whole vocabulary (..., V)."""
        return self.mlm_head(hidden_states, self.embeddings.word.weight)

    def forward(
        self,
        input_ids: torch.Tensor,  # (B, T) long
        token_type_ids: torch.Tensor,  # (B, T) long
        attention_mask: torch.Tensor | None = None,  # (B, T) bool, True = real token
        mlm_labels: torch.Tensor | None = None,  # (B, T) long, IGNORE_INDEX where not predicted
        clip_features: torch.Tensor | None = None,  # (B, T, F) float, zero where none
    ) -> VideoBertOutput:
        hidden = self.encode(input_ids, token_type_ids, attention_mask, clip_features)
        out = VideoBertOutput(
            hidden_states=hidden, alignment_logits=self.alignment_head(hidden[:, 0])
        )
        if mlm_labels is not None:
            # Only the ~15% masked positions go through the (large-vocabulary) MLM head.
            positions = (mlm_labels != IGNORE_INDEX).nonzero()  # (N, 2)
            out.mlm_positions = positions
            out.mlm_targets = mlm_labels[positions[:, 0], positions[:, 1]]  # (N,)
            out.mlm_logits = self.token_logits(hidden[positions[:, 0], positions[:, 1]])  # (N, V)
        return out

    # -----------------------------------------------------------------------------------------
    # Save / load: an HF-style self-contained folder (config.json, model.safetensors,
    # tokenizer files, codebook/).

    def save_pretrained(
        self,
        folder: str | Path,
        tokenizer: Any = None,
        codebook_dir: str | Path | None = None,
    ) -> Path:
        from safetensors.torch import save_file

        from videobert.io import atomic_path, write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_path(folder / WEIGHTS_NAME) as tmp:
            save_file(state, str(tmp), metadata={"format": "pt"})
        if tokenizer is not None:
            tokenizer.save_pretrained(str(folder))
        if codebook_dir is not None:
            codebook_dir = Path(codebook_dir)
            if not codebook_dir.is_dir():
                raise FileNotFoundError(f"codebook folder {codebook_dir} does not exist")
            target = folder / "codebook"
            if target.resolve() != codebook_dir.resolve():
                # the words, not the training data: its clips' assignments stay behind (new
                # videos get theirs from `codebook assign`)
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(codebook_dir, target,
                                ignore=shutil.ignore_patterns("assignments.parquet"))
                meta_path = target / "meta.json"
                if meta_path.is_file():
                    from videobert.artifacts.words import FIT_FOLDER_KEY
                    from videobert.io import read_json

                    meta = read_json(meta_path)
                    meta.setdefault(FIT_FOLDER_KEY, str(codebook_dir.resolve()))
                    write_json(meta_path, meta)
        write_json(folder / CONFIG_NAME, self.config.to_dict())  # last: marks the folder complete
        return folder

    @classmethod
    def from_pretrained(
        cls, folder: str | Path, map_location: str | torch.device = "cpu"
    ) -> VideoBert:
        from safetensors.torch import load_file

        folder = Path(folder)
        config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        for path in (config_path, weights_path):
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: {folder} is not a VideoBERT folder")
        try:
            config = VideoBertConfig.from_dict(json.loads(config_path.read_text()))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{config_path}: {exc}") from exc
        model = cls(config)
        state = load_file(str(weights_path), device=str(map_location))
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{weights_path} does not fit its config: "
                f"missing {missing}, unexpected {unexpected}"
            )
        return model.to(map_location)
