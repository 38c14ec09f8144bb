"""Masking respects modalities; examples, batches, splits and the sampler are well formed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synthetic_corpus import LAYOUT, write_corpus
from videobert.artifacts.corpus import Corpus, CorpusError
from videobert.sequences.dataset import (
    JOINT,
    NO_ALIGNMENT,
    TEXT_ONLY,
    VIDEO_ONLY,
    ClipRun,
    DataPosition,
    GlobalBatchSampler,
    PretrainDataset,
    SequenceConfig,
    collate,
    fit_budget,
    micro_batches,
    rank_slice,
)
from videobert.sequences.masking import (
    IGNORE_INDEX,
    MaskingConfig,
    mask_tokens,
    text_replacement_range,
)

L = LAYOUT


def random_sequence(rng: np.random.Generator) -> np.ndarray:
    """[CLS] text [>] video [SEP] with some [UNK] in the text."""
    text = rng.integers(*text_replacement_range(L), size=int(rng.integers(0, 20)))
    text[rng.random(text.size) < 0.1] = L.unk_id
    video = rng.integers(L.visual_offset, L.size, size=int(rng.integers(0, 20)))
    return np.concatenate([[L.cls_id], text, [L.video_sep_id], video, [L.sep_id]]).astype(np.int64)


def test_masking_never_crosses_modalities():
    specials = np.asarray(L.special_ids)
    for seed in range(300):
        rng = np.random.default_rng(seed)
        ids = random_sequence(rng)
        masked, labels = mask_tokens(ids, L, rng, MaskingConfig(mask_prob=0.5))
        target = labels != IGNORE_INDEX
        # specials and [>] are never targets and never change
        assert not np.isin(ids[target], specials).any()
        assert np.array_equal(masked[np.isin(ids, specials)], ids[np.isin(ids, specials)])
        # labels hold the original ids; untouched positions stay untouched
        assert np.array_equal(labels[target], ids[target])
        assert np.array_equal(masked[~target], ids[~target])
        # a replaced target is [MASK] or a token of its own modality, never a special
        replaced = target & (masked != L.mask_id)
        assert np.array_equal(L.is_visual(masked[replaced]), L.is_visual(ids[replaced]))
        assert not np.isin(masked[replaced], specials).any()


def test_masking_rates_follow_bert():
    rng = np.random.default_rng(0)
    ids = np.concatenate([[L.cls_id], rng.integers(200, 400, 5000), [L.video_sep_id],
                          rng.integers(L.visual_offset, L.size, 5000), [L.sep_id]])
    masked, labels = mask_tokens(ids, L, rng)
    target = labels != IGNORE_INDEX
    assert target.mean() == pytest.approx(0.15, abs=0.015)
    as_mask = (masked[target] == L.mask_id).mean()
    kept = (masked[target] == ids[target]).mean()
    assert as_mask == pytest.approx(0.8, abs=0.04)
    assert kept == pytest.approx(0.1, abs=0.04)
    assert 1 - as_mask - kept == pytest.approx(0.1, abs=0.04)  # random same-modality token
    # short sequences still get a target
    _, short = mask_tokens(np.array([L.cls_id, 300, L.sep_id]), L, np.random.default_rng(1),
                           MaskingConfig(mask_prob=0.0))
    assert (short != IGNORE_INDEX).sum() == 1 and short[1] == 300


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus.load(write_corpus(tmp_path_factory.mktemp("corpus")))


def check_layout(ex, max_len: int) -> None:
    ids = np.where(ex.mlm_labels != IGNORE_INDEX, ex.mlm_labels, ex.input_ids)  # unmasked
    no_targets = ex.task == JOINT and (ex.mlm_labels == IGNORE_INDEX).all()
    if ex.alignment_label == 0.0:
        assert no_targets, "negatives have no cloze targets"
    if no_targets:  # a negative (masked, with nothing to unmask it with): a [MASK] stands in
        ids = np.where((ids == L.mask_id) & (ex.token_type_ids == 1), L.visual_offset, ids)
    assert ids[0] == L.cls_id and ids[-1] == L.sep_id and len(ids) <= max_len
    assert ex.token_type_ids.shape == ids.shape
    if ex.task == TEXT_ONLY:
        assert L.video_sep_id not in ids and not L.is_visual(ids).any()
        assert (ex.token_type_ids == 0).all() and ex.alignment_label == NO_ALIGNMENT
        return
    split = int(np.flatnonzero(ids == L.video_sep_id)[0])
    assert (ex.token_type_ids[: split + 1] == 0).all()
    assert (ex.token_type_ids[split + 1 :] == 1).all()
    assert L.is_text(ids[1:split]).all() and L.is_visual(ids[split + 1 : -1]).all()
    assert split + 1 < len(ids) - 1, "at least one visual word"
    if ex.task == VIDEO_ONLY:
        assert split == 1 and ex.alignment_label == NO_ALIGNMENT
    else:
        assert split > 1, "joint examples keep some text"
        video_masked = (ex.mlm_labels[split + 1 : -1] != IGNORE_INDEX).all()
        # an aligned pair whose whole video is masked has nothing to align: no target
        # (a negative whose whole video is masked neither: it has no targets to show it)
        allowed = (0.0, 1.0) if not video_masked else (NO_ALIGNMENT,)
        assert ex.alignment_label in allowed + ((NO_ALIGNMENT,) if no_targets else ())


@pytest.mark.parametrize("max_len", [10, 64])
def test_examples_have_the_contract_layout(corpus, max_len):
    config = SequenceConfig(max_len=max_len, concat_prob=0.5, text_prob=0.25, video_prob=0.25,
                            joint_prob=0.5, negative_prob=0.5, negative_start=0)
    train = PretrainDataset(corpus, corpus.video_ids, config, seed=3)
    seen = set()
    for epoch in range(3):
        for i in range(len(train)):
            ex = train.example(i, epoch)
            check_layout(ex, max_len)
            seen.add((ex.task, ex.alignment_label))
    assert seen == {(TEXT_ONLY, -1.0), (VIDEO_ONLY, -1.0), (JOINT, 0.0), (JOINT, 1.0),
                    (JOINT, -1.0)}
    held_out = PretrainDataset(corpus, corpus.video_ids[:2], config, seed=3, mode="eval")
    kinds = [held_out.example(i) for i in range(8)]
    assert [(e.task, e.alignment_label) for e in kinds[:4]] == [
        (TEXT_ONLY, -1.0), (VIDEO_ONLY, -1.0), (JOINT, 1.0), (JOINT, 0.0)]


def test_truncation_keeps_both_modalities():
    assert fit_budget(3, 50, 10) == (3, 7)
    assert fit_budget(50, 2, 10) == (8, 2)
    assert fit_budget(50, 50, 10) == (5, 5)
    assert fit_budget(2, 3, 10) == (2, 3)


def test_examples_are_a_function_of_seed_epoch_index(corpus):
    config = SequenceConfig(max_len=32)
    a = PretrainDataset(corpus, corpus.video_ids, config, seed=7)
    b = PretrainDataset(corpus, corpus.video_ids, config, seed=7)
    c = PretrainDataset(corpus, corpus.video_ids, config, seed=8)
    for i in range(len(a)):
        x, y = a.example(i, 2), b.example(i, 2)
        assert np.array_equal(x.input_ids, y.input_ids) and x.task == y.task
        assert np.array_equal(x.mlm_labels, y.mlm_labels)
    def same(d1, e1, d2, e2):
        return all(np.array_equal(d1.example(i, e1).input_ids, d2.example(i, e2).input_ids)
                   for i in range(len(d1)))
    assert not same(a, 0, c, 0), "another seed gives other examples"
    assert not same(a, 0, a, 1), "another epoch gives other examples (dynamic masking)"


def test_collate_pads_to_the_longest(corpus):
    ds = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(max_len=32), seed=0)
    examples = ds.examples(range(6))
    batch = collate(examples, L.pad_id)
    longest = max(len(e.input_ids) for e in examples)
    assert batch.input_ids.shape == (6, longest) == batch.mlm_labels.shape
    assert batch.alignment_labels.shape == (6,) and batch.task.shape == (6,)
    for row, ex in enumerate(examples):
        n = len(ex.input_ids)
        assert batch.attention_mask[row].sum() == n
        assert (batch.input_ids[row, n:] == L.pad_id).all()
        assert (batch.mlm_labels[row, n:] == IGNORE_INDEX).all()
    assert batch.num_tokens == sum(len(e.input_ids) for e in examples)


def test_split_is_by_video_and_seeded(corpus):
    train, val = corpus.split(0.25, seed=0)
    assert len(val) == 3 and not set(train) & set(val)
    assert sorted(train + val) == corpus.video_ids
    assert corpus.split(0.25, seed=0) == (train, val)
    ds = PretrainDataset(corpus, val, SequenceConfig(), seed=0, mode="eval")
    assert {corpus.segments[i].video_id for i in ds.segment_ids} == set(val)


def test_sampler_buckets_and_splits_exactly():
    lengths = np.random.default_rng(0).integers(5, 60, size=103)
    sampler = GlobalBatchSampler(lengths, batch_size=8, seed=1, bucket_multiplier=4)
    batches = sampler.batches(epoch=0)
    assert len(batches) == len(sampler) == 12
    flat = np.concatenate(batches)
    assert len(set(flat.tolist())) == flat.size, "no example twice in an epoch"
    for batch in batches:
        assert (np.diff(lengths[batch]) >= 0).all(), "sorted by length within a bucket"
        # 2 ranks x 2 micro-batches cover the global batch exactly, in order
        parts = [m for r in range(2) for m in micro_batches(rank_slice(batch, r, 2), 2)]
        assert np.array_equal(np.concatenate(parts), batch)
    assert not np.array_equal(np.concatenate(sampler.batches(1)), flat)
    stream = sampler.stream(DataPosition(epoch=0, batch=10))
    got = [next(stream) for _ in range(3)]
    assert [(p.epoch, p.batch) for p, _ in got] == [(0, 10), (0, 11), (1, 0)]
    assert np.array_equal(got[2][1], sampler.batches(1)[0])
    with pytest.raises(ValueError, match="not divisible"):
        rank_slice(batches[0], 0, 3)
    with pytest.raises(ValueError, match="cannot fill one global batch"):
        GlobalBatchSampler(lengths[:5], batch_size=8, seed=0)


def test_bad_corpus_is_named(tmp_path):
    with pytest.raises(CorpusError, match="meta.json"):
        Corpus.load(tmp_path)
    folder = write_corpus(tmp_path / "c", n_videos=2)
    for shard in folder.glob("shard-*.parquet"):
        shard.unlink()
    with pytest.raises(CorpusError, match="no shard"):
        Corpus.load(folder)


@pytest.mark.parametrize("same_video", [0.0, 1.0])
def test_negatives_come_from_another_segment(corpus, same_video):
    config = SequenceConfig(same_video_negative_prob=same_video)
    ds = PretrainDataset(corpus, corpus.video_ids[:4], config, seed=0)
    by_identity = {id(s.visual_ids): s for s in corpus.segments}
    for seed in range(50):
        i = ds.segment_ids[seed % len(ds.segment_ids)]
        other = by_identity[id(ds._negative_clips(i, np.random.default_rng(seed)).words)]
        assert other is not corpus.segments[i]
        assert other.video_id in corpus.video_ids[:4], "negatives stay inside the split"
        assert (other.video_id == corpus.segments[i].video_id) == (same_video == 1.0)


def test_whole_word_masking_takes_every_piece_of_a_word():
    continuation = np.zeros(L.n_text, bool)
    continuation[300:400] = True  # ids 300.. are "##" pieces in this test
    ids = np.array([L.cls_id, 210, 301, 302, 220, 230, 305, L.video_sep_id,
                    L.visual_offset + 1, L.sep_id], np.int64)
    config = MaskingConfig(mask_prob=0.3)
    for seed in range(200):
        _, labels = mask_tokens(ids, L, np.random.default_rng(seed), config,
                                continuation=continuation)
        hit = labels != IGNORE_INDEX
        assert hit[1] == hit[2] == hit[3], "210 ##301 ##302 is one word"
        assert hit[5] == hit[6], "230 ##305 is one word"
    piecewise = MaskingConfig(mask_prob=0.3, whole_word=False)
    split = [(mask_tokens(ids, L, np.random.default_rng(s), piecewise, continuation=continuation
                          )[1] != IGNORE_INDEX)[1:4] for s in range(200)]
    assert any(len(set(h.tolist())) > 1 for h in split), "without whole_word pieces split"


def test_allowed_positions_keep_the_other_modality_whole():
    ids = random_sequence(np.random.default_rng(5))
    while not (L.is_visual(ids).any() and L.is_text(ids[1:]).sum() > 2):
        ids = random_sequence(np.random.default_rng(int(ids.sum())))
    text_side = ~L.is_visual(ids)
    for seed in range(50):
        _, labels = mask_tokens(ids, L, np.random.default_rng(seed),
                                MaskingConfig(mask_prob=0.5), allowed=text_side)
        assert (labels[~text_side] == IGNORE_INDEX).all()
        assert (labels != IGNORE_INDEX).any()


def _masked_sides(ds: PretrainDataset, epochs: int = 4) -> dict[str, int]:
    sides = {"text": 0, "video": 0, "both": 0}
    for epoch in range(epochs):
        for i in range(len(ds)):
            ex = ds.example(i, epoch)
            hit = ex.mlm_labels != IGNORE_INDEX
            on_text, on_video = hit[ex.token_type_ids == 0].any(), hit[ex.token_type_ids == 1].any()
            sides["both" if on_text and on_video else ("text" if on_text else "video")] += 1
    return sides


def test_aligned_joint_examples_mask_one_side_or_both_as_configured(corpus):
    joint = {"text_prob": 0, "video_prob": 0, "joint_prob": 1, "negative_prob": 0}
    one_side = _masked_sides(PretrainDataset(
        corpus, corpus.video_ids,
        SequenceConfig(**joint, joint_text_side=0.6, joint_video_side=0.4), seed=0))
    n = sum(one_side.values())
    assert one_side["both"] == 0  # one side always stays whole
    assert abs(one_side["text"] / n - 0.6) < 0.06
    both = _masked_sides(PretrainDataset(
        corpus, corpus.video_ids,
        SequenceConfig(**joint, joint_text_side=0, joint_video_side=0), seed=0))
    assert both["both"] > 0.15 * sum(both.values())  # BERT-style: both sides can be masked


def test_video_side_examples_mask_the_configured_share_of_visual_words(corpus):
    joint = {"text_prob": 0, "video_prob": 0, "joint_prob": 1, "negative_prob": 0,
             "joint_text_side": 0, "joint_video_side": 1}

    def masked_share(config: SequenceConfig) -> float:
        ds = PretrainDataset(corpus, corpus.video_ids, config, seed=0)
        hits = total = 0
        for i in range(len(ds)):
            ex = ds.example(i)
            video = ex.token_type_ids == 1
            video &= L.is_visual(np.where(ex.mlm_labels != IGNORE_INDEX, ex.mlm_labels,
                                          ex.input_ids))
            hits += int((ex.mlm_labels[video] != IGNORE_INDEX).sum())
            total += int(video.sum())
        return hits / total

    assert masked_share(SequenceConfig(**joint, video_side_mask_prob=1.0)) == 1.0
    low = masked_share(SequenceConfig(**joint, video_side_mask_prob=0.15))
    assert 0.1 < low < 0.4  # at least one word per example: a little above 15%
    # by default the whole video: the text -> video query
    assert masked_share(SequenceConfig(**joint)) == 1.0
    # such a pair has no clip in view: no alignment target (the text-side ones keep theirs)
    whole = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(**joint), seed=0)
    assert {whole.example(i).alignment_label for i in range(len(whole))} == {NO_ALIGNMENT}
    text_side = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(
        **{**joint, "joint_text_side": 1, "joint_video_side": 0}), seed=0)
    assert {text_side.example(i).alignment_label for i in range(len(text_side))} == {1.0}


@pytest.mark.parametrize("bad", [
    {"joint_prob": 1.5}, {"negative_prob": -0.1}, {"max_stride": 0},
    {"joint_text_side": 0.8, "joint_video_side": 0.4}, {"max_len": 4},
])
def test_sequence_config_rejects_values_out_of_range(bad):
    with pytest.raises(ValueError, match="data."):
        SequenceConfig(**bad)


def test_a_mask_does_not_tell_aligned_pairs_from_negatives(corpus):
    # Were only the aligned pairs masked, "has a [MASK]" would be the alignment label.
    config = SequenceConfig(max_len=64, negative_prob=0.5, negative_start=0.0)
    train = PretrainDataset(corpus, corpus.video_ids, config, seed=0)
    masked = {0.0: [], 1.0: []}
    for i in range(len(train)):
        for epoch in range(8):
            ex = train.example(i, epoch)
            if ex.alignment_label in masked:
                masked[ex.alignment_label].append(bool((ex.input_ids == L.mask_id).any()))
            if ex.alignment_label == 0.0:
                assert (ex.mlm_labels == IGNORE_INDEX).all(), "negatives have no cloze targets"
    assert min(len(v) for v in masked.values()) > 100
    share = {label: np.mean(v) for label, v in masked.items()}
    assert abs(share[0.0] - share[1.0]) < 0.1, share


def test_negatives_start_at_the_configured_epoch(corpus):
    config = SequenceConfig(text_prob=0, video_prob=0, joint_prob=1, negative_prob=0.5)
    ds = PretrainDataset(corpus, corpus.video_ids, config, seed=0)
    ds.negatives_from_epoch = 2
    labels = {e: {ds.example(i, e).alignment_label for i in range(len(ds))} for e in range(4)}
    labels = {e: found - {NO_ALIGNMENT} for e, found in labels.items()}  # whole-video masked
    assert labels[0] == labels[1] == {1.0}
    assert labels[2] == labels[3] == {0.0, 1.0}
    held_out = PretrainDataset(corpus, corpus.video_ids, config, seed=0, mode="eval")
    held_out.negatives_from_epoch = 2  # held-out losses always cover the negatives
    assert held_out.example(3).alignment_label == 0.0


def test_pretraining_examples_and_task_inputs_share_one_layout(corpus):
    """An unmasked pretraining example is exactly what the tasks feed the model for the same
    text and visual words: the layout is built in one place (VocabLayout.sequence)."""
    from videobert.tasks import inputs

    train = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(max_len=64), seed=0)
    rng = np.random.default_rng(0)
    text, words = np.array([7, 8, 9]), ClipRun("v", np.array([0, 5, 31]))
    joint = train._assemble(text, words, JOINT, 1.0, rng, mask=False)
    expected = inputs.joint_sequence(LAYOUT, text.tolist(),
                                     inputs.visual_tokens(LAYOUT, words.words))
    assert joint.input_ids.tolist() == expected.ids
    assert joint.token_type_ids.tolist() == expected.types
    text_only = train._assemble(text, words, TEXT_ONLY, -1.0, rng, mask=False)
    assert text_only.input_ids.tolist() == inputs.text_sequence(LAYOUT, text.tolist()).ids
    video_only = train._assemble(text, words, VIDEO_ONLY, -1.0, rng, mask=False)
    assert video_only.input_ids.tolist() == inputs.video_sequence(
        LAYOUT, inputs.visual_tokens(LAYOUT, words.words)).ids


def test_clip_features_sit_on_their_visual_tokens_in_pretraining_and_tasks(corpus):
    """A clip's feature goes with its visual token, the same in a pretraining example and in
    the tasks' padded batch; a masked visual token's feature is hidden (it would give the word
    away) and text positions get none."""
    from videobert.tasks import inputs

    rng = np.random.default_rng(0)
    tables = {vid: rng.normal(size=(words.size, 4)).astype(np.float16)
              for vid, words in corpus.videos.items()}
    train = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(max_len=64), seed=0,
                            clip_features=tables)
    vid = corpus.video_ids[0]
    positions = np.array([0, 2, 3])
    clips = ClipRun(vid, corpus.videos[vid][positions], positions)
    text = np.array([7, 8, 9])
    joint = train._assemble(text, clips, JOINT, 1.0, rng, mask=False)
    video_at = np.flatnonzero(LAYOUT.is_visual(joint.input_ids))
    assert np.array_equal(joint.clip_features[video_at], tables[vid][positions])
    assert not joint.clip_features[np.setdiff1d(np.arange(joint.input_ids.size), video_at)].any()
    task_side = inputs.pad([inputs.clips_sequence(
        LAYOUT, text.tolist(), inputs.Clips(tuple(clips.words), tables[vid][positions]))], 0)
    assert torch.equal(task_side.clip_features[0], torch.from_numpy(
        joint.clip_features.astype(np.float32)))
    for seed in range(20):  # masked examples: hidden features where there is a target
        ex = train.example(seed % len(train), epoch=seed)
        if ex.clip_features is not None:
            assert not ex.clip_features[ex.mlm_labels != IGNORE_INDEX].any()
    batch = collate([train.example(i) for i in range(4)], LAYOUT.pad_id)
    assert batch.clip_features is not None and batch.clip_features.shape[:2] == \
        batch.input_ids.shape


def test_visual_word_dropout_hides_word_ids_and_keeps_their_features(corpus):
    rng = np.random.default_rng(1)
    tables = {vid: rng.normal(size=(words.size, 4)).astype(np.float16) + 5
              for vid, words in corpus.videos.items()}
    joint = dict(max_len=64, text_prob=0, video_prob=0, joint_prob=1, negative_prob=0)

    def examples(dropout: float, mode: str = "train"):
        ds = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(
            **joint, visual_word_dropout=dropout), seed=3, clip_features=tables, mode=mode)
        return [ds.example(i, 1) for i in range(len(ds))]

    plain, hidden, half = examples(0.0), examples(1.0), examples(0.5)
    shown = kept = 0
    for p, h, f in zip(plain, hidden, half, strict=True):
        video = p.token_type_ids == 1
        visible = video & L.is_visual(p.input_ids) & (p.mlm_labels == IGNORE_INDEX)
        assert (h.input_ids[visible] == L.mask_id).all()  # every visible word's id is hidden
        assert (h.clip_features[visible] != 0).all()  # and its feature stays
        assert np.array_equal(h.mlm_labels, p.mlm_labels)  # no new targets
        assert np.array_equal(h.input_ids[~visible], p.input_ids[~visible])
        shown += int((f.input_ids[visible] == p.input_ids[visible]).sum())
        kept += int(visible.sum())
    assert kept > 100 and 0.35 < shown / kept < 0.65
    for a, b in zip(examples(0.0, "eval"), examples(1.0, "eval"), strict=True):  # as they are
        assert np.array_equal(a.input_ids, b.input_ids)
    words_only = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(
        **joint, visual_word_dropout=1.0), seed=3)  # no features: hiding would hide the video
    for p, w in zip(plain, (words_only.example(i, 1) for i in range(len(words_only))),
                    strict=True):
        assert np.array_equal(p.input_ids, w.input_ids)


def test_text_augmentation_keeps_targets_and_is_off_by_default(corpus):
    from videobert.sequences.augment import TextAugmentConfig

    base = dict(max_len=64, text_prob=0.3, video_prob=0.2, joint_prob=0.5, negative_prob=0.3,
                negative_start=0)
    plain = PretrainDataset(corpus, corpus.video_ids, SequenceConfig(**base), seed=5)
    off = PretrainDataset(corpus, corpus.video_ids,
                          SequenceConfig(**base, augment=TextAugmentConfig()), seed=5)
    drop = PretrainDataset(corpus, corpus.video_ids,
                           SequenceConfig(**base, augment=TextAugmentConfig(word_dropout=1.0)), 5)
    swap = PretrainDataset(corpus, corpus.video_ids,
                           SequenceConfig(**base, augment=TextAugmentConfig(word_replace=1.0)), 5)
    changed = 0
    for i in range(len(plain)):
        p, o, d, s = (ds.example(i, 1) for ds in (plain, off, drop, swap))
        assert np.array_equal(p.input_ids, o.input_ids)  # off: the very same examples
        for ex in (d, s):
            check_layout(ex, 64)
            # the targets are exactly masking's: same labels in the same order
            assert np.array_equal(ex.mlm_labels[ex.mlm_labels != IGNORE_INDEX],
                                  p.mlm_labels[p.mlm_labels != IGNORE_INDEX])
            assert np.array_equal(ex.token_type_ids == 1, ex.token_type_ids == 1)
            assert (ex.input_ids[ex.token_type_ids == 1] ==
                    p.input_ids[p.token_type_ids == 1]).all()  # video untouched
        text = (p.token_type_ids == 0) & (p.mlm_labels == IGNORE_INDEX)
        text &= L.is_text(p.input_ids) & ~np.isin(p.input_ids, L.special_ids)
        def free_words(ex):
            words = (ex.token_type_ids == 0) & (ex.mlm_labels == IGNORE_INDEX)
            return words & L.is_text(ex.input_ids) & ~np.isin(ex.input_ids, L.special_ids)

        assert free_words(d).sum() <= 1  # every unmasked word dropped, or all but one
        assert len(s.input_ids) == len(p.input_ids)
        changed += int((s.input_ids[text] != p.input_ids[text]).sum())
        assert (s.input_ids[~text] == p.input_ids[~text]).all()
    assert changed > 0
    with pytest.raises(ValueError, match="data.augment"):
        TextAugmentConfig(word_dropout=0.7, word_replace=0.5)


def test_augmented_views_replace_the_words_and_features_of_their_examples(corpus):
    from videobert.artifacts.corpus import ClipView

    rng = np.random.default_rng(1)
    tables = {vid: rng.normal(size=(words.size, 4)).astype(np.float16)
              for vid, words in corpus.videos.items()}
    view = ClipView(
        folder=None,
        words={vid: (w + 1) % L.n_visual for vid, w in corpus.videos.items()},  # other words
        features={vid: -t for vid, t in tables.items()})
    base = dict(max_len=64, negative_prob=0.3, negative_start=0)

    def dataset(view_prob, views=(view,), mode="train"):
        return PretrainDataset(corpus, corpus.video_ids, SequenceConfig(**base,
                               view_prob=view_prob), seed=2, mode=mode,
                               clip_features=tables, views=views)

    plain, unused, always = dataset(0.0), dataset(0.5, views=()), dataset(1.0)
    vid = corpus.video_ids[0]
    positions = np.array([0, 2, 3])
    clips = ClipRun(vid, corpus.videos[vid][positions], positions)
    joint = always._assemble(np.array([7, 8, 9]), clips, JOINT, 1.0, rng, mask=False, view=view)
    video_at = LAYOUT.is_visual(joint.input_ids)
    assert np.array_equal(joint.input_ids[video_at],
                          LAYOUT.visual_to_token(view.words[vid][positions]))
    assert np.array_equal(joint.clip_features[video_at], view.features[vid][positions])
    differ = 0
    for i in range(len(plain)):
        p, u, a = plain.example(i, 3), unused.example(i, 3), always.example(i, 3)
        assert np.array_equal(p.input_ids, u.input_ids)  # no views: as before
        assert np.array_equal(dataset(1.0, mode="eval").example(i).input_ids,
                              dataset(0.0, mode="eval").example(i).input_ids)  # eval: plain
        differ += not np.array_equal(p.input_ids, a.input_ids)
    assert differ > len(plain) // 2
    with pytest.raises(ValueError, match="data.view_prob"):
        SequenceConfig(view_prob=1.5)
