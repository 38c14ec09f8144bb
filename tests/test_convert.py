"""BERT -> VideoBERT converter: our encoder equals HF BertModel on the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from videobert.model import VideoBert, tiny_config
from videobert.model.convert import project_centroids, videobert_from_bert
from videobert.vocab import VocabLayout

transformers = pytest.importorskip("transformers")

N_TEXT = 120
LAYOUT = VocabLayout(n_text=N_TEXT, n_visual=30, cls_id=2, sep_id=3, mask_id=4, pad_id=0)


def tiny_bert(tmp_path, pretraining: bool = True):
    """A random tiny BERT saved as an HF folder (BertForPreTraining keys are ``bert.``-prefixed;
    BertModel keys, like the bundled MiniLM, are not)."""
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=N_TEXT, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=64,
    )
    cls = transformers.BertForPreTraining if pretraining else transformers.BertModel
    model = cls(config).eval()
    with torch.no_grad():  # make LayerNorms and biases non-trivial so a wrong copy shows
        for name, p in model.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    folder = tmp_path / ("bert_pt" if pretraining else "bert_model")
    model.save_pretrained(folder)
    return model, folder


def padded_batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, N_TEXT, (3, 12), generator=g)
    types = torch.zeros_like(ids)
    types[:, 7:] = 1
    mask = torch.ones_like(ids, dtype=torch.bool)
    mask[1, 9:] = False
    mask[2, 5:] = False
    return ids, types, mask


@pytest.mark.parametrize("pretraining", [True, False])
def test_encoder_equals_hf_bert(tmp_path, pretraining):
    hf, folder = tiny_bert(tmp_path, pretraining)
    model = videobert_from_bert(folder, LAYOUT).eval()
    ids, types, mask = padded_batch()
    with torch.no_grad():
        ours = model(ids, types, mask).hidden_states
        bert = hf.bert if pretraining else hf
        theirs = bert(input_ids=ids, token_type_ids=types, attention_mask=mask.long())
    real = mask[..., None].expand_as(ours)  # HF's padded positions are not meaningful
    torch.testing.assert_close(ours[real], theirs.last_hidden_state[real], atol=1e-5, rtol=1e-5)
    if pretraining:  # MLM head over the text rows and the NSP -> alignment mapping
        with torch.no_grad():
            full = hf(input_ids=ids, token_type_ids=types, attention_mask=mask.long())
            ours_mlm = model.token_logits(ours)[..., :N_TEXT]
            ours_align = model(ids, types, mask).alignment_logits
        torch.testing.assert_close(ours_mlm[real[..., 0]], full.prediction_logits[real[..., 0]],
                                   atol=1e-4, rtol=1e-4)
        nsp = full.seq_relationship_logits
        torch.testing.assert_close(ours_align, nsp[:, 0] - nsp[:, 1], atol=1e-5, rtol=1e-5)


def test_visual_rows_come_from_centroids(tmp_path):
    _, folder = tiny_bert(tmp_path)
    rng = np.random.default_rng(0)
    centroids = rng.random((LAYOUT.n_visual, 200)).astype(np.float32)  # post-ReLU-like, C != D
    model = videobert_from_bert(folder, LAYOUT, visual_centroids=centroids)
    assert model.config.visual_feature_dim == 200
    rows = model.embeddings.word.weight[LAYOUT.visual_offset:].detach().numpy()
    np.testing.assert_allclose(rows, project_centroids(centroids, 64, 1.0) * np.linalg.norm(
        rows, axis=1, keepdims=True), atol=1e-5)
    # the geometry is kept: pairwise cosine similarities of rows and centred centroids correlate
    centred = centroids - centroids.mean(0)

    def cosines(x):
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        return (x @ x.T)[np.triu_indices(len(x), 1)]

    assert np.corrcoef(cosines(rows), cosines(centred))[0, 1] > 0.9
    text_norm = model.embeddings.word.weight[:N_TEXT].detach().norm(dim=1).mean()
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), float(text_norm), rtol=1e-4)
    # same dimension: rows are the centred centroids themselves, rescaled
    same = rng.random((LAYOUT.n_visual, 64)).astype(np.float32)
    rows64 = videobert_from_bert(folder, LAYOUT, visual_centroids=same).embeddings.word.weight
    rows64 = rows64[LAYOUT.visual_offset:].detach().numpy()
    c = same - same.mean(0)
    np.testing.assert_allclose(rows64 / np.linalg.norm(rows64, axis=1, keepdims=True),
                               c / np.linalg.norm(c, axis=1, keepdims=True), atol=1e-5)


def test_text_rows_copied_and_freezing(tmp_path):
    hf, folder = tiny_bert(tmp_path)
    model = videobert_from_bert(folder, LAYOUT, freeze_input_embeddings=True)
    word = model.embeddings.word.weight
    torch.testing.assert_close(word[:N_TEXT], hf.bert.embeddings.word_embeddings.weight)
    torch.testing.assert_close(word[LAYOUT.video_sep_id], word[:N_TEXT].mean(0))
    assert not word.requires_grad and model.config.freeze_input_embeddings


def test_bad_inputs_are_clear_errors(tmp_path):
    _, folder = tiny_bert(tmp_path)
    wrong = VocabLayout(n_text=N_TEXT + 1, n_visual=30, cls_id=2, sep_id=3, mask_id=4, pad_id=0)
    with pytest.raises(ValueError, match="n_text=121"):
        videobert_from_bert(folder, wrong)
    with pytest.raises(ValueError, match="expected \\(30, C\\)"):
        videobert_from_bert(folder, LAYOUT, visual_centroids=np.zeros((29, 8)))
    with pytest.raises(ValueError, match="does not fit the BERT"):
        videobert_from_bert(folder, LAYOUT, size="tiny")  # 128 hidden vs the checkpoint's 64
    with pytest.raises(FileNotFoundError, match="config.json"):
        videobert_from_bert(tmp_path, LAYOUT)


def test_size_config_keeps_its_non_shape_fields(tmp_path):
    _, folder = tiny_bert(tmp_path)
    wanted = tiny_config(LAYOUT, hidden_dropout=0.0)
    wanted.hidden_size, wanted.num_heads, wanted.intermediate_size = 64, 4, 128
    with pytest.raises(ValueError, match="max_position_embeddings.*512, 64"):
        videobert_from_bert(folder, LAYOUT, size=wanted)
    wanted.max_position_embeddings = 32  # fewer positions than the checkpoint: rows are cut
    model = videobert_from_bert(folder, LAYOUT, size=wanted)
    assert model.config.hidden_dropout == 0.0 and isinstance(model, VideoBert)
    assert model.embeddings.position.weight.shape == (32, 64)


def test_bundled_minilm_equals_hf():
    from videobert.resources import ResourceMissing, minilm_dir

    try:
        folder = minilm_dir()
    except ResourceMissing as exc:
        pytest.skip(str(exc))
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    layout = VocabLayout.from_tokenizer(tokenizer, n_visual=16)
    model = videobert_from_bert(None, layout, size="minilm").eval()
    hf = transformers.BertModel.from_pretrained(str(folder)).eval()
    enc = tokenizer(["Whisk the eggs until they are fluffy.", "Pour them into a hot pan."],
                    padding=True, return_tensors="pt")
    mask = enc["attention_mask"].bool()
    with torch.no_grad():
        ours = model(enc["input_ids"], enc["token_type_ids"], mask).hidden_states
        theirs = hf(**enc).last_hidden_state
    real = mask[..., None].expand_as(ours)
    torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=1e-5)
