"""Captioning: the three feature variants, the captioner's training and decoding, the CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from test_tasks_fixtures import WORDS, make_layout, make_model, make_tokenizer
from videobert.tasks import inputs
from videobert.tasks.caption_model import (
    BOS,
    EOS,
    CaptionModelConfig,
    CaptionTransformer,
    CaptionVocab,
    beam_search,
    greedy_decode,
    pad_features,
)
from videobert.tasks.captioning import (
    CaptionTrainConfig,
    build_row_features,
    clip_feature_sequences,
    generate,
    references_of,
    select_clips,
    to_text,
    train_captioner,
    train_rows,
    videobert_feature_sequences,
)
from videobert.tasks.steps import load_ground_truth

ID = {w: i for i, w in enumerate(WORDS)}


@pytest.fixture(autouse=True)
def one_thread():
    """These models are tiny: one thread is fastest, and OpenMP threads spin badly on a busy
    machine (20x slower with 2 threads on 2 shared cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_three_feature_variants_have_one_row_per_clip(world):
    tok = make_tokenizer()
    layout = make_layout(tok)
    model = make_model(layout)
    items = select_clips(world.steps, max_clips=32)
    clip = clip_feature_sequences(items, world.features)
    vb = videobert_feature_sequences(model, tok, items, batch_size=4, progress=False)
    both = build_row_features("videobert+clip", clip, vb)
    D = model.config.hidden_size
    for item, c, v, b in zip(items, clip, vb, both, strict=True):
        n = len(item.words)
        assert c.shape == (n, 8) and v.shape == (n, 2 * D) and b.shape == (n, 2 * D + 8)
        np.testing.assert_array_equal(b[:, 2 * D :], c)
    # clip features are the rows of the step's clips
    feats = np.load(world.features / f"{items[1].step.video_id}.npy").astype(np.float32)
    np.testing.assert_array_equal(clip[1], feats[list(items[1].clips)])

    # VideoBERT features = [h(v_i) ; mean of the two [MASK] states], from one forward pass
    item = items[1]
    text = [ID[w] for w in ["now", "let", "me", "show", "you", "how", "to"]]
    text += [layout.mask_id, ID["the"], layout.mask_id]
    example = inputs.joint_sequence(layout, text, inputs.visual_tokens(layout, item.words))
    with torch.no_grad():
        hidden = model(torch.tensor([example.ids]), torch.tensor([example.types])).hidden_states[0]
    n_text = len(text) + 2  # [CLS] text [>]
    video = hidden[n_text : n_text + len(item.words)]
    masks = hidden[[1 + 7, 1 + 9]].mean(0)  # [CLS] + 7 words, then [MASK] the [MASK]
    torch.testing.assert_close(torch.from_numpy(vb[1][:, :D]), video, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(torch.from_numpy(vb[1][:, D:]), masks.expand_as(video),
                               atol=1e-5, rtol=1e-5)


def test_select_clips_subsamples_long_steps_and_references(world):
    items = select_clips(world.steps, max_clips=1)
    assert all(len(it.clips) == len(it.words) == 1 for it in items)
    gt = load_ground_truth(world.ground_truth)
    assert references_of(world.steps[0], gt) == [world.steps[0].caption]
    gt.videos["vid0"]["steps"][0]["captions"] = ["a", "b"]
    assert references_of(world.steps[0], gt) == ["a", "b"]


def test_select_clips_skips_clips_without_a_word(world):
    import dataclasses

    step = world.steps[1]  # clips 2 and 3; pretend clip 3 had no word and clip 4 is in the step
    words = world.video_words["vid0"].copy()
    words[3] = -1
    gappy = dataclasses.replace(step, last_clip=4, words=(int(words[2]), int(words[4])))
    with pytest.raises(ValueError, match="video_words"):
        select_clips([gappy], 32)
    (item,) = select_clips([gappy], 32, {"vid0": words})
    assert item.clips == (2, 4) and item.words == gappy.words


def test_missing_features_name_the_file(world, tmp_path):
    items = select_clips(world.steps, 32)
    (world.features / "vid1.npy").unlink()
    with pytest.raises(FileNotFoundError, match="vid1.npy"):
        clip_feature_sequences(items, world.features)


def test_vocab_round_trip_and_unknown_pieces():
    vocab = CaptionVocab.from_captions([[15, 12, 20], [16, 12, 21, 22]])
    assert len(vocab) == 4 + 6
    idx = vocab.encode([16, 12, 99])
    assert idx[-1] == 3  # <unk>
    assert vocab.decode([*vocab.encode([15, 12, 20]), EOS, *vocab.encode([16])]) == [15, 12, 20]


def _toy_pairs(n: int = 4, seed: int = 0):
    """n random feature sequences, each with its own caption (WordPiece ids of the toy vocab)."""
    rng = np.random.default_rng(seed)
    captions = ["cut the egg", "you fry the onion", "pour the milk into the bowl", "whisk it"]
    tok = make_tokenizer()
    pieces = [inputs.encode_text(tok, c) for c in captions[:n]]
    feats = [rng.normal(size=(int(rng.integers(2, 6)), 6)).astype(np.float32) for _ in range(n)]
    return tok, captions[:n], pieces, feats


def test_captioner_overfits_and_beam_search_reproduces_the_captions():
    from pycocoevalcap.bleu.bleu import Bleu

    tok, captions, pieces, feats = _toy_pairs()
    vocab = CaptionVocab.from_captions(pieces)
    config = CaptionTrainConfig(epochs=300, batch_size=4, lr=2e-3, dropout=0.0,
                                label_smoothing=0.0, d_model=64, dim_feedforward=128,
                                warmup_fraction=0.05)
    model, losses = train_captioner(feats, [vocab.encode(p) for p in pieces], len(vocab), config,
                                    progress=False)
    assert losses[-1] < 0.05 * losses[0]
    for beam in (0, 1, 3):  # greedy, beam 1, beam 3
        out = [to_text(tok, vocab, c) for c in generate(model, feats, beam_size=beam)]
        assert out == captions
    refs = {i: [c] for i, c in enumerate(captions)}
    cands = {i: [to_text(tok, vocab, c)] for i, c in enumerate(generate(model, feats, 3))}
    bleu, _ = Bleu(4).compute_score(refs, cands, verbose=0)
    assert bleu[3] > 0.99


def _random_captioner(seed: int = 0, vocab_size: int = 12) -> CaptionTransformer:
    torch.manual_seed(seed)
    return CaptionTransformer(CaptionModelConfig(feature_dim=6, vocab_size=vocab_size, d_model=32,
                                                 nhead=2, dim_feedforward=64, dropout=0.0)).eval()


def test_beam_of_one_is_greedy():
    rng = np.random.default_rng(1)
    for seed in range(4):
        model = _random_captioner(seed)
        feats = [rng.normal(size=(int(rng.integers(1, 5)), 6)).astype(np.float32)
                 for _ in range(3)]
        src, mask = pad_features(feats)
        greedy = greedy_decode(model, src, mask, max_len=8)
        assert beam_search(model, src, mask, beam_size=1, max_len=8) == greedy
    with pytest.raises(ValueError, match="beam_size"):
        beam_search(model, src, mask, beam_size=0)


class Myopic(torch.nn.Module):
    """A decoder whose first word misleads greedy decoding: A (p=.6) is followed by three
    equally likely tokens, B (p=.4) by <eos> (p=.99). Best caption: "B" (.396 > .2)."""

    A, B, V = 4, 5, 6

    def __init__(self) -> None:
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode(self, src, src_mask):
        return torch.zeros(src.shape[0], src.shape[1], 1)

    def decode(self, tgt, memory, src_mask):
        small = 1e-6
        rows = []
        for prefix in tgt.tolist():
            p = torch.full((self.V,), small)
            if prefix == [BOS]:
                p[self.A], p[self.B] = 0.6, 0.4
            elif prefix[1] == self.B:
                p[EOS] = 0.99
            else:
                p[[EOS, self.A, self.B]] = 1 / 3
            rows.append(p.log())
        logits = torch.stack(rows)[:, None].expand(-1, tgt.shape[1], -1)  # (B, L, V)
        return logits


def test_beam_search_finds_the_caption_greedy_decoding_misses():
    model = Myopic()
    src, mask = torch.zeros(1, 2, 3), torch.ones(1, 2, dtype=torch.bool)
    assert greedy_decode(model, src, mask, max_len=5) == [[Myopic.A]]
    assert beam_search(model, src, mask, beam_size=1, max_len=5) == [[Myopic.A]]
    assert beam_search(model, src, mask, beam_size=2, max_len=5, alpha=0.0) == [[Myopic.B]]
    # max_len=1 cuts every hypothesis: the best live prefix is returned
    assert beam_search(model, src, mask, beam_size=2, max_len=1) == [[Myopic.A]]


def test_padding_does_not_change_a_caption():
    model = _random_captioner(3)
    rng = np.random.default_rng(2)
    feats = [rng.normal(size=(n, 6)).astype(np.float32) for n in (1, 6)]
    together = generate(model, feats, beam_size=0, max_len=6)
    alone = [generate(model, [f], beam_size=0, max_len=6)[0] for f in feats]
    assert together == alone


def test_cli_trains_three_rows_and_writes_the_report(world, tmp_path):
    from videobert.cli import main
    from videobert.metrics.captioning import JavaNotFoundError, java_version

    try:
        java_version()
    except JavaNotFoundError as err:
        pytest.skip(str(err))
    tok = make_tokenizer()
    model = make_model(make_layout(tok))
    folder = model.save_pretrained(tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook)
    out = tmp_path / "report"
    code = main(["caption", "--model", str(folder), "--features", str(world.features),
                 "--ground-truth", str(world.ground_truth), "--out", str(out), "--epochs", "2",
                 "--beam", "2"])
    assert code == 0
    figures = json.loads((out / "caption.json").read_text())
    assert list(figures["metrics"]) == ["clip", "videobert", "videobert+clip"]
    for row in figures["metrics"].values():
        assert set(row) == {"BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr"}
        assert all(0.0 <= v <= 10.0 for v in row.values())
    assert figures["n_val_steps"] == 6 and figures["n_train_steps"] == 6
    assert len(figures["examples"]) == 6
    assert set(figures["macro_metrics"]) == set(figures["metrics"])
    assert figures["n_val_videos"] == 2
    md = (out / "caption.md").read_text()
    assert "| VideoBERT + clip features | micro |" in md
    assert "| VideoBERT + clip features | macro |" in md


def test_rows_trained_side_by_side_equal_one_thread_runs(monkeypatch):
    import videobert.pipeline

    rng = np.random.default_rng(0)
    features = {row: [rng.normal(size=(3, 8)).astype(np.float32) for _ in range(6)]
                for row in ("a", "b")}
    captions = [[3, 4, 5], [4, 5], [3, 3, 4], [5], [4, 3], [3, 5, 4]]
    config = CaptionTrainConfig(epochs=3, batch_size=2, d_model=16, nhead=2,
                                num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32)
    monkeypatch.setattr(videobert.pipeline, "side_by_side_possible", lambda: True)
    beside = train_rows(features, captions, 6, config, progress=False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        alone = {row: train_captioner(f, captions, 6, config, progress=False)
                 for row, f in features.items()}
    finally:
        torch.set_num_threads(before)
    assert torch.get_num_threads() == before
    for row in features:
        assert beside[row][1] == alone[row][1]  # the same losses, epoch by epoch
        for (name, a), b in zip(beside[row][0].state_dict().items(),
                                alone[row][0].state_dict().values(), strict=True):
            assert torch.equal(a, b), (row, name)


def test_with_a_motion_stream_each_mask_state_comes_from_its_slots_view(world):
    from videobert.model import VideoBert
    from videobert.model.videobert import tiny_config

    tok = make_tokenizer()
    layout = make_layout(tok)
    torch.manual_seed(0)
    model = VideoBert(tiny_config(layout, clip_feature_dim=7)).eval()
    rng = np.random.default_rng(0)
    items = [dataclasses.replace(it, features=rng.normal(size=(len(it.words), 7)).astype(
        np.float32)) for it in select_clips(world.steps, max_clips=32)[:3]]
    D = model.config.hidden_size
    whole = videobert_feature_sequences(model, tok, items, progress=False)
    split = videobert_feature_sequences(model, tok, items, progress=False, appearance_width=3)
    item, text = items[1], [ID[w] for w in ["now", "let", "me", "show", "you", "how", "to"]]
    text += [layout.mask_id, ID["the"], layout.mask_id]

    def mask_states(clips):
        example = inputs.clips_sequence(layout, text, clips)
        with torch.no_grad():
            hidden = model(torch.tensor([example.ids]), torch.tensor([example.types]),
                           clip_features=torch.tensor(example.clip_features[None])
                           ).hidden_states[0]
        return hidden[1 + 7], hidden[1 + 9]

    clips = inputs.Clips(item.words, item.features)
    verb, _ = mask_states(inputs.motion_view(clips, 3))
    _, noun = mask_states(inputs.appearance_view(clips, 3))
    np.testing.assert_array_equal(split[1][:, :D], whole[1][:, :D])  # clip states: whole clips
    torch.testing.assert_close(torch.from_numpy(split[1][0, D:]), (verb + noun) / 2,
                               atol=1e-5, rtol=1e-5)
    assert not np.allclose(split[1][:, D:], whole[1][:, D:])
