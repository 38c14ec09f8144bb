"""`videobert export MODEL --onnx OUT`: the encoder and both heads as one ONNX graph.

OUT is a folder a deployment needs nothing else from: ``model.onnx``, and the model folder's
``config.json``, tokenizer files and ``codebook/`` (the vocabulary layout, the WordPiece
vocabulary and the visual words, to build inputs and read outputs). The graph's inputs are
``input_ids``, ``token_type_ids`` (int64, (B, T)), ``attention_mask`` (bool, (B, T)) and, for a
model that reads clip features, ``clip_features`` (float32, (B, T, F), zero where none); its
outputs ``hidden_states`` (B, T, D), ``alignment_logits`` (B,) and ``token_logits`` (B, T, V).
Batch and sequence length are dynamic. The input layout is docs/formats.md's
(``VocabLayout.sequence``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

from videobert.io import EXIT_FAILED

ONNX_NAME = "model.onnx"
INPUTS = ("input_ids", "token_type_ids", "attention_mask", "clip_features")
OUTPUTS = ("hidden_states", "alignment_logits", "token_logits")


class _Heads(torch.nn.Module):
    """The model's forward pass with every output at every position (no label gathering)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask, clip_features=None):
        hidden = self.model.encode(input_ids, token_type_ids, attention_mask, clip_features)
        return (hidden, self.model.alignment_head(hidden[:, 0]),
                self.model.token_logits(hidden))


def example_inputs(model: torch.nn.Module) -> tuple[torch.Tensor, ...]:
    """A padded batch of two: tracing takes the masked-attention path, right for any batch."""
    layout, config = model.layout, model.config
    ids = torch.full((2, 8), layout.pad_id, dtype=torch.long)
    ids[:, 0] = layout.cls_id
    ids[0, 1:7] = layout.visual_offset
    ids[0, 7] = layout.sep_id
    ids[1, 1:4] = layout.visual_offset
    ids[1, 4] = layout.sep_id
    types = torch.ones_like(ids)
    mask = ids != layout.pad_id
    inputs: tuple[torch.Tensor, ...] = (ids, types, mask)
    if config.clip_feature_dim:
        inputs += (torch.zeros((2, 8, config.clip_feature_dim)),)
    return inputs


def export_onnx(model_dir: str | Path, out: str | Path, opset: int = 17) -> Path:
    """Write ``out/model.onnx`` (and the files needed beside it); returns its path."""
    import warnings

    from videobert.model import VideoBert

    model_dir, out = Path(model_dir), Path(out)
    model = VideoBert.from_pretrained(model_dir).eval()
    inputs = example_inputs(model)
    names = list(INPUTS[: len(inputs)])
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names}
    dynamic |= {"hidden_states": {0: "batch", 1: "sequence"}, "alignment_logits": {0: "batch"},
                "token_logits": {0: "batch", 1: "sequence"}}
    out.mkdir(parents=True, exist_ok=True)
    target = out / ONNX_NAME
    with warnings.catch_warnings():  # the tracer's notes on Python-side shape checks
        warnings.simplefilter("ignore")
        torch.onnx.export(_Heads(model), inputs, str(target), dynamo=False,
                          input_names=names, output_names=list(OUTPUTS),
                          dynamic_axes=dynamic, opset_version=opset)
    for item in model_dir.iterdir():
        if item.name in ("model.safetensors", ONNX_NAME):
            continue
        dest = out / item.name
        if item.is_dir():
            shutil.copytree(item, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(item, dest)
    return target


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", type=Path, help="model folder")
    parser.add_argument("--onnx", type=Path, required=True, metavar="OUT",
                        help="folder for model.onnx and the files it needs")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")


def run(args: argparse.Namespace) -> int:
    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        print("videobert export: error: needs the onnx package (pip install 'videobert[export]')",
              file=sys.stderr)
        return EXIT_FAILED
    try:
        path = export_onnx(args.model, args.onnx, args.opset)
    except (FileNotFoundError, ValueError) as exc:
        print(f"videobert export: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {path}")
    return 0
