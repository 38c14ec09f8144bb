"""BERT -> VideoBERT: start from any HF BERT checkpoint (folder or hub id).

Encoder and embedding weights are copied (``bert.``-prefixed ``BertForPreTraining`` keys and plain
``BertModel`` keys alike, e.g. the bundled all-MiniLM-L6-v2). Word-embedding rows
``0 .. n_text-1`` come from BERT; ``[>]`` starts at the mean text embedding; the visual-word rows
start from the codebook centroids, centred, projected to the hidden size and scaled to the text
embeddings' norm. A checkpoint without an MLM head (MiniLM) leaves that head fresh; one with
BERT's next-sentence head starts the alignment head from it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from videobert.model.videobert import PRESETS, VideoBert, VideoBertConfig
from videobert.vocab import VocabLayout

_ACT_NAMES = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh",
              "relu": "relu"}
# Shape-defining fields that must agree between the BERT checkpoint and the VideoBERT config.
_SHAPE_FIELDS = ("hidden_size", "num_layers", "num_heads", "intermediate_size", "type_vocab_size")


def bert_folder(bert: str | Path | None) -> Path:
    """A local folder for ``bert``: the bundled MiniLM (None), a folder, or a downloaded hub id."""
    if bert is None:
        from videobert.resources import minilm_dir

        return minilm_dir()
    path = Path(bert)
    if path.is_dir():
        return path
    if path.exists():
        raise ValueError(f"BERT checkpoint {path} is a file; pass its folder (with config.json)")
    from huggingface_hub import snapshot_download  # online loading for users; never in tests

    return Path(snapshot_download(
        str(bert), allow_patterns=["config.json", "*.safetensors", "pytorch_model.bin",
                                   "vocab.txt", "tokenizer*", "special_tokens_map.json"],
    ))


def load_bert_state(folder: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(config.json as a dict, state dict with any ``bert.`` prefix removed)."""
    config_path = folder / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{config_path} is missing: {folder} is not a BERT checkpoint")
    hf_config = json.loads(config_path.read_text())
    if hf_config.get("model_type", "bert") != "bert":
        raise ValueError(f"{config_path}: model_type {hf_config['model_type']!r} is not 'bert'")
    if (folder / "model.safetensors").exists():
        from safetensors.torch import load_file

        state = load_file(str(folder / "model.safetensors"))
    elif (folder / "pytorch_model.bin").exists():
        state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(f"{folder} has neither model.safetensors nor pytorch_model.bin")
    clean = {}
    for key, value in state.items():
        key = key.removeprefix("bert.")
        key = key.replace("LayerNorm.gamma", "LayerNorm.weight").replace(
            "LayerNorm.beta", "LayerNorm.bias")  # old TF-converted checkpoints
        clean[key] = value
    return hf_config, clean


def config_from_bert(hf_config: dict, layout: VocabLayout, **overrides) -> VideoBertConfig:
    """A VideoBertConfig with the checkpoint's sizes and the joint vocabulary's size."""
    act = hf_config.get("hidden_act", "gelu")
    if act not in _ACT_NAMES:
        raise ValueError(f"BERT hidden_act {act!r} is not supported ({list(_ACT_NAMES)})")
    values = dict(
        vocab_size=layout.size, layout=layout.to_dict(),
        hidden_size=hf_config["hidden_size"], num_layers=hf_config["num_hidden_layers"],
        num_heads=hf_config["num_attention_heads"],
        intermediate_size=hf_config["intermediate_size"],
        max_position_embeddings=hf_config.get("max_position_embeddings", 512),
        type_vocab_size=hf_config.get("type_vocab_size", 2),
        hidden_dropout=hf_config.get("hidden_dropout_prob", 0.1),
        attention_dropout=hf_config.get("attention_probs_dropout_prob", 0.1),
        layer_norm_eps=hf_config.get("layer_norm_eps", 1e-12), hidden_act=_ACT_NAMES[act],
        initializer_range=hf_config.get("initializer_range", 0.02),
    )
    values.update(overrides)
    return VideoBertConfig(**values)


def project_centroids(
    centroids: np.ndarray, hidden_size: int, target_norm: float, seed: int = 0
) -> np.ndarray:
    """Codebook centroids (n, C) -> embedding rows (n, hidden_size).

    Centred first: 3D-CNN features are post-ReLU, so their shared mean dominates every centroid
    and would make all visual words look alike. When C != hidden_size the centred centroids go
    through PCA (their top components, which keeps the pairwise geometry as well as a linear map
    can) and then a fixed random rotation, so no coordinate is singled out. Each row is scaled to
    ``target_norm`` (the text embeddings' mean norm) so both modalities enter at the same scale.
    """
    x = np.asarray(centroids, dtype=np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    if x.shape[1] != hidden_size:
        _, _, vt = np.linalg.svd(x, full_matrices=False)  # rows of vt: principal directions
        k = min(hidden_size, vt.shape[0])
        x = np.pad(x @ vt[:k].T, ((0, 0), (0, hidden_size - k)))  # (n, hidden_size)
        rotation, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(hidden_size,) * 2))
        x = x @ rotation
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    x = x / np.maximum(norms, 1e-12) * target_norm
    return x.astype(np.float32)


@torch.no_grad()
def videobert_from_bert(
    bert: str | Path | None,
    layout: VocabLayout,
    size: str | VideoBertConfig | None = None,
    visual_centroids: np.ndarray | None = None,
    freeze_input_embeddings: bool = False,
) -> VideoBert:
    """Build a VideoBert from a BERT checkpoint (None = the bundled all-MiniLM-L6-v2).

    ``size``: None (the checkpoint's own sizes), a preset name or a VideoBertConfig; its sizes
    must match the checkpoint (other fields, such as dropout, are taken from it).
    ``visual_centroids``: the codebook's ``centroids.npy`` (n_visual, C), or None to leave the
    visual-word rows at random initialisation.
    """
    folder = bert_folder(bert)
    hf_config, state = load_bert_state(folder)
    config = config_from_bert(hf_config, layout)
    if size is not None:
        if isinstance(size, str) and size not in PRESETS:
            raise ValueError(f"unknown size {size!r}; expected one of {list(PRESETS)}")
        wanted = PRESETS[size](layout) if isinstance(size, str) else size
        clash = {f: (getattr(wanted, f), getattr(config, f)) for f in _SHAPE_FIELDS
                 if getattr(wanted, f) != getattr(config, f)}
        if wanted.max_position_embeddings > config.max_position_embeddings:  # fewer is fine
            clash["max_position_embeddings"] = (
                wanted.max_position_embeddings, config.max_position_embeddings)
        if clash:
            raise ValueError(
                f"size {size if isinstance(size, str) else 'config'} does not fit the BERT "
                f"checkpoint {folder}: (wanted, checkpoint) = {clash}; for a randomly "
                "initialised model use VideoBert(<preset>_config(layout)) instead"
            )
        config = dataclasses.replace(wanted, layout=layout.to_dict(), vocab_size=layout.size)
    if visual_centroids is not None:
        visual_centroids = np.asarray(visual_centroids)
        if visual_centroids.ndim != 2 or visual_centroids.shape[0] != layout.n_visual:
            raise ValueError(
                f"visual_centroids has shape {visual_centroids.shape}, expected "
                f"({layout.n_visual}, C): one row per visual word of the layout"
            )
        config.visual_feature_dim = int(visual_centroids.shape[1])
    config.freeze_input_embeddings = False  # frozen after the copy below
    model = VideoBert(config)

    word = state["embeddings.word_embeddings.weight"]  # (V_bert, D)
    if word.shape[0] != layout.n_text:
        raise ValueError(
            f"{folder}: BERT has {word.shape[0]} word embeddings but the layout has "
            f"n_text={layout.n_text}; build the layout from this checkpoint's tokenizer"
        )
    emb = model.embeddings
    emb.word.weight[: layout.n_text] = word
    emb.word.weight[layout.video_sep_id] = word.mean(0)
    if visual_centroids is not None:
        target = float(word.norm(dim=1).mean())
        rows = project_centroids(visual_centroids, config.hidden_size, target)
        emb.word.weight[layout.visual_offset:] = torch.from_numpy(rows)
    n_pos = config.max_position_embeddings
    emb.position.weight.copy_(state["embeddings.position_embeddings.weight"][:n_pos])
    emb.token_type.weight.copy_(state["embeddings.token_type_embeddings.weight"])
    _copy(emb.norm, state, "embeddings.LayerNorm")

    for i, layer in enumerate(model.layers):
        p = f"encoder.layer.{i}."
        qkv = [p + f"attention.self.{n}" for n in ("query", "key", "value")]
        layer.attention.qkv.weight.copy_(torch.cat([state[n + ".weight"] for n in qkv]))
        layer.attention.qkv.bias.copy_(torch.cat([state[n + ".bias"] for n in qkv]))
        _copy(layer.attention.out, state, p + "attention.output.dense")
        _copy(layer.attention_norm, state, p + "attention.output.LayerNorm")
        _copy(layer.ff_in, state, p + "intermediate.dense")
        _copy(layer.ff_out, state, p + "output.dense")
        _copy(layer.ff_norm, state, p + "output.LayerNorm")

    if "pooler.dense.weight" in state:
        _copy(model.alignment_head.pooler, state, "pooler.dense")
    if "cls.seq_relationship.weight" in state:
        # NSP's class 0 is "is next"; its log-odds against class 1 is our alignment logit.
        w, b = state["cls.seq_relationship.weight"], state["cls.seq_relationship.bias"]
        model.alignment_head.classifier.weight.copy_((w[0] - w[1])[None])
        model.alignment_head.classifier.bias.copy_((b[0] - b[1])[None])
    if "cls.predictions.transform.dense.weight" in state:
        _copy(model.mlm_head.dense, state, "cls.predictions.transform.dense")
        _copy(model.mlm_head.norm, state, "cls.predictions.transform.LayerNorm")
        model.mlm_head.bias.zero_()
        model.mlm_head.bias[: layout.n_text] = state["cls.predictions.bias"][: layout.n_text]

    if freeze_input_embeddings:
        model.freeze_input_embeddings(True)
    return model


def _copy(module: torch.nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    """weight and bias of a Linear or LayerNorm from ``name.weight`` / ``name.bias``."""
    module.weight.copy_(state[name + ".weight"])
    module.bias.copy_(state[name + ".bias"])
