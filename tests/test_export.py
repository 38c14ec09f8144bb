"""`videobert export --onnx`: the ONNX graph gives PyTorch's outputs on batches of other sizes
and lengths than the one it was traced with, padding included."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videobert.model import VideoBert, tiny_config
from videobert.vocab import VocabLayout

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (the dev extra)")
pytest.importorskip("onnx", reason="onnx is not installed (the export extra)")

LAYOUT = VocabLayout(n_text=200, n_visual=40, cls_id=2, sep_id=3, mask_id=4, pad_id=0, unk_id=1)


def batch(feature_dim: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    B, T = 3, 13
    ids = torch.full((B, T), LAYOUT.pad_id)
    types = torch.zeros((B, T), dtype=torch.long)
    for b, (n_text, n_video) in enumerate(((4, 5), (2, 3), (6, 2))):
        text = torch.randint(10, LAYOUT.n_text, (n_text,), generator=g)
        video = torch.randint(0, LAYOUT.n_visual, (n_video,), generator=g) + LAYOUT.visual_offset
        row = torch.cat([torch.tensor([LAYOUT.cls_id]), text, torch.tensor([LAYOUT.video_sep_id]),
                         video, torch.tensor([LAYOUT.sep_id])])
        ids[b, : len(row)] = row
        types[b, n_text + 2 : len(row)] = 1
    mask = ids != LAYOUT.pad_id
    inputs = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    if feature_dim:
        feats = torch.randn((B, T, feature_dim), generator=g) * LAYOUT.is_visual(ids)[..., None]
        inputs["clip_features"] = feats
    return inputs


@pytest.mark.parametrize("feature_dim", [0, 6])
def test_onnx_outputs_match_pytorch(tmp_path, feature_dim):
    from videobert.cli import main

    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT, clip_feature_dim=feature_dim)).eval()
    folder = model.save_pretrained(tmp_path / "model")
    assert main(["export", str(folder), "--onnx", str(tmp_path / "onnx")]) == 0
    assert (tmp_path / "onnx" / "config.json").exists()
    assert not (tmp_path / "onnx" / "model.safetensors").exists()
    session = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == list(batch(feature_dim))
    inputs = batch(feature_dim)
    hidden, align, logits = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    with torch.no_grad():
        ref = model(**inputs)
        ref_logits = model.token_logits(ref.hidden_states)
    real = inputs["attention_mask"].numpy()
    np.testing.assert_allclose(hidden[real], ref.hidden_states.numpy()[real], atol=1e-4)
    np.testing.assert_allclose(align, ref.alignment_logits.numpy(), atol=1e-4)
    np.testing.assert_allclose(logits[real], ref_logits.numpy()[real], atol=1e-3)
