"""VideoBERT model: head shapes, gradients, overfitting, save/load, freezing, config checks."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from videobert.model import VideoBert, VideoBertConfig, tiny_config
from videobert.model.videobert import IGNORE_INDEX
from videobert.vocab import VocabLayout

LAYOUT = VocabLayout(n_text=200, n_visual=40, cls_id=2, sep_id=3, mask_id=4, pad_id=0, unk_id=1)


def make_batch(layout: VocabLayout = LAYOUT, seed: int = 0):
    """Two joint examples ``[CLS] text [>] video [SEP]`` (one padded) and one video-only, with
    masked text and visual tokens and alignment labels."""
    g = torch.Generator().manual_seed(seed)
    rows, types = [], []
    for n_text, n_video in ((5, 6), (3, 4), (0, 8)):
        text = torch.randint(10, layout.n_text, (n_text,), generator=g).tolist()
        video = (torch.randint(0, layout.n_visual, (n_video,), generator=g)
                 + layout.visual_offset).tolist()
        ids = [layout.cls_id, *text, layout.video_sep_id, *video, layout.sep_id]
        rows.append(ids)
        types.append([0] * (n_text + 2) + [1] * (n_video + 1))
    T = max(map(len, rows))
    input_ids = torch.full((3, T), layout.pad_id)
    token_type_ids = torch.zeros((3, T), dtype=torch.long)
    attention_mask = torch.zeros((3, T), dtype=torch.bool)
    for i, (ids, tt) in enumerate(zip(rows, types, strict=True)):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        token_type_ids[i, : len(tt)] = torch.tensor(tt)
        attention_mask[i, : len(ids)] = True
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    for b, t in ((0, 1), (0, 9), (1, 2), (1, 6), (2, 3), (2, 5)):  # text and visual positions
        labels[b, t] = input_ids[b, t]
        input_ids[b, t] = layout.mask_id
    alignment = torch.tensor([1.0, 0.0, 0.0])
    return input_ids, token_type_ids, attention_mask, labels, alignment


def loss_of(out, alignment):
    return F.cross_entropy(out.mlm_logits, out.mlm_targets) + F.binary_cross_entropy_with_logits(
        out.alignment_logits, alignment
    )


def test_head_shapes():
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT))
    ids, tt, mask, labels, _ = make_batch()
    out = model(ids, tt, mask, labels)
    B, T = ids.shape
    n = int((labels != IGNORE_INDEX).sum())
    assert out.hidden_states.shape == (B, T, 128)
    assert out.alignment_logits.shape == (B,)
    assert out.mlm_logits.shape == (n, LAYOUT.size)
    assert out.mlm_targets.shape == (n,)
    assert out.mlm_positions.shape == (n, 2) and out.mlm_positions.dtype == torch.long
    # targets are the labels at the reported positions, which are exactly the masked ones
    assert torch.equal(out.mlm_targets, labels[out.mlm_positions[:, 0], out.mlm_positions[:, 1]])
    assert bool((ids[out.mlm_positions[:, 0], out.mlm_positions[:, 1]] == LAYOUT.mask_id).all())
    # sparse head at the masked positions == full head gathered there
    full = model.token_logits(out.hidden_states)  # (B, T, V)
    sparse = full[out.mlm_positions[:, 0], out.mlm_positions[:, 1]]
    torch.testing.assert_close(out.mlm_logits, sparse)
    no_labels = model(ids, tt, mask)
    assert no_labels.mlm_logits is None and no_labels.mlm_positions is None


def test_clip_features_reach_the_encoder_only_where_given_and_are_saved(tmp_path):
    """A model with clip_feature_dim adds each visual token's feature to its input: a zero
    row (text, specials, masked clips) changes nothing, a real one changes the states, and a
    reloaded model gives the same outputs."""
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT, clip_feature_dim=6)).eval()
    ids, tt, mask, labels, _ = make_batch()
    words_only = model(ids, tt, mask, labels).hidden_states
    zeros = torch.zeros((*ids.shape, 6))
    torch.testing.assert_close(model(ids, tt, mask, labels, zeros).hidden_states, words_only)
    features = torch.randn((*ids.shape, 6)) * LAYOUT.is_visual(ids)[..., None]
    with_features = model(ids, tt, mask, labels, features)
    assert not torch.allclose(with_features.hidden_states, words_only)
    reloaded = VideoBert.from_pretrained(model.save_pretrained(tmp_path / "m")).eval()
    assert reloaded.config.clip_feature_dim == 6
    torch.testing.assert_close(reloaded(ids, tt, mask, labels, features).hidden_states,
                               with_features.hidden_states)
    plain = VideoBert(tiny_config(LAYOUT)).eval()  # reads words only: features are not used
    torch.testing.assert_close(plain(ids, tt, mask, labels, features).hidden_states,
                               plain(ids, tt, mask, labels).hidden_states)


def test_padding_does_not_change_real_tokens():
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT)).eval()
    ids, tt, mask, _, _ = make_batch()
    n = int(mask[1].sum())
    with torch.no_grad():
        padded = model(ids[1:2], tt[1:2], mask[1:2]).hidden_states[0, :n]
        alone = model(ids[1:2, :n], tt[1:2, :n], mask[1:2, :n]).hidden_states[0]
    torch.testing.assert_close(padded, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("freeze", [False, True])
def test_every_parameter_gets_a_gradient(freeze):
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT, freeze_input_embeddings=freeze))
    ids, tt, mask, labels, alignment = make_batch()
    loss_of(model(ids, tt, mask, labels), alignment).backward()
    for name, p in model.named_parameters():
        if freeze and name == "embeddings.word.weight":
            assert not p.requires_grad and p.grad is None, "frozen embeddings got a gradient"
            continue
        assert p.grad is not None, f"{name} got no gradient"
        assert bool(p.grad.abs().sum() > 0), f"{name} has an all-zero gradient"
    frozen = model.num_parameters() - model.num_parameters(trainable_only=True)
    assert frozen == (LAYOUT.size * 128 if freeze else 0)


def test_freeze_keeps_embeddings_fixed_through_training():
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT))
    model.freeze_input_embeddings(True)
    before = model.embeddings.word.weight.clone()
    other = model.layers[0].ff_in.weight.clone()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    ids, tt, mask, labels, alignment = make_batch()
    for _ in range(3):
        opt.zero_grad()
        loss_of(model(ids, tt, mask, labels), alignment).backward()
        opt.step()
    assert torch.equal(model.embeddings.word.weight, before)
    assert not torch.equal(model.layers[0].ff_in.weight, other)


def test_tiny_batch_overfits():
    torch.manual_seed(0)
    config = tiny_config(LAYOUT, hidden_dropout=0.0, attention_dropout=0.0)
    model = VideoBert(config)
    ids, tt, mask, labels, alignment = make_batch()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    first = None
    for _ in range(300):
        opt.zero_grad()
        loss = loss_of(model(ids, tt, mask, labels), alignment)
        loss.backward()
        opt.step()
        first = float(loss.detach()) if first is None else first
        if float(loss.detach()) < 0.01:
            break
    assert first > 3.0  # ln(240) + ln(2) at start: the test starts far from the answer
    last = float(loss.detach())
    assert last < 0.01, f"loss {last:.4f} after 300 steps (from {first:.3f})"


def test_save_and_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT, freeze_input_embeddings=True)).eval()
    codebook = tmp_path / "codebook_src"
    codebook.mkdir()
    (codebook / "meta.json").write_text('{"n_words": 40}')
    folder = model.save_pretrained(tmp_path / "model", codebook_dir=codebook)
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    copied = json.loads((folder / "codebook" / "meta.json").read_text())
    assert copied == {"n_words": 40, "fit_folder": str(codebook.resolve())}
    loaded = VideoBert.from_pretrained(folder).eval()
    assert loaded.config == model.config
    assert loaded.layout == LAYOUT
    assert not loaded.embeddings.word.weight.requires_grad  # freezing survives the roundtrip
    ids, tt, mask, labels, _ = make_batch()
    with torch.no_grad():
        a, b = model(ids, tt, mask, labels), loaded(ids, tt, mask, labels)
    assert torch.equal(a.hidden_states, b.hidden_states)
    assert torch.equal(a.mlm_logits, b.mlm_logits)
    assert torch.equal(a.alignment_logits, b.alignment_logits)


def test_from_pretrained_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        VideoBert.from_pretrained(tmp_path)


def test_vocab_size_must_equal_layout_size():
    with pytest.raises(ValueError, match="vocab_size=999.*241 ids"):
        VideoBertConfig(vocab_size=999, hidden_size=64, num_layers=1, num_heads=2,
                        intermediate_size=128, layout=LAYOUT.to_dict())
    config = tiny_config(LAYOUT)
    assert config.vocab_size == LAYOUT.size == 241
    data = config.to_dict()
    data["vocab_size"] = 300
    with pytest.raises(ValueError, match="vocab_size=300"):
        VideoBertConfig.from_dict(data)
    with pytest.raises(ValueError, match="unknown keys"):
        VideoBertConfig.from_dict({**config.to_dict(), "hidden": 3})


def test_too_long_sequence_is_a_clear_error():
    model = VideoBert(tiny_config(LAYOUT, max_position_embeddings=8))
    ids = torch.full((1, 9), LAYOUT.cls_id)
    with pytest.raises(ValueError, match="max_position_embeddings=8"):
        model(ids, torch.zeros_like(ids))


def test_fast_dropout_has_dropouts_distribution():
    from videobert.model.videobert import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.1).train()
    x = torch.ones(200_000)
    y = drop(x)
    zero_share = float((y == 0).float().mean())
    assert abs(zero_share - 0.1) < 0.005  # the dropped share is p
    assert abs(float(y.mean()) - 1.0) < 0.01  # kept values are scaled so E[y] = x
    assert torch.equal(drop.eval()(x), x)


def test_cpu_attention_with_dropout_equals_sdpa_without_it():
    """The explicit CPU path used under dropout computes what SDPA does (at p -> 0)."""
    torch.manual_seed(0)
    model = VideoBert(tiny_config(LAYOUT))
    ids, tt, mask, _, _ = make_batch()
    model.eval()
    with torch.no_grad():
        reference = model(ids, tt, mask).hidden_states
    model.train()
    for module in model.modules():  # keep the explicit path but make every mask keep-all
        if hasattr(module, "p"):
            module.p = 1e-9
    with torch.no_grad():
        explicit = model(ids, tt, mask).hidden_states
    real = mask[..., None].expand_as(reference)
    torch.testing.assert_close(explicit[real], reference[real], atol=1e-5, rtol=1e-5)


def test_the_small_size_is_a_preset_the_pretraining_config_accepts():
    """model.size=small (the size that reads verbs and nouns with the flow stream)."""
    from videobert.model import PRESETS
    from videobert.train.config import load_pretrain_config

    assert load_pretrain_config("tiny", ["model.size=small"]).model.size == "small"
    config = PRESETS["small"](LAYOUT, clip_feature_dim=8)
    assert (config.hidden_size, config.num_layers, config.num_heads) == (256, 4, 4)
    assert config.clip_feature_dim == 8  # overrides reach the config as for every size
