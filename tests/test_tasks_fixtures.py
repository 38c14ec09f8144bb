"""A tiny task world shared by the tests/test_tasks_*.py files, and checks of its plumbing.

The world: a 40-word WordPiece vocabulary (so "onion" and "whisk" are two pieces each), a
12-word codebook with exemplar JPEGs for some words, 4 videos of 12 clips (2 train, 2 val) with
three 3-second steps each, clip features, a tiny random ``VideoBert``, and ``Rigged``: a
stand-in model whose logits are set by a function, to check that the tasks rank what they
should.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image

from videobert.model import VideoBert, VideoBertOutput, tiny_config
from videobert.tasks import inputs
from videobert.tasks.steps import load_ground_truth, load_steps, load_video_words
from videobert.vocab import VocabLayout

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WORDS = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "now", "let", "me", "show", "you", "how", "to", "the", "a", "and",
    "cut", "fry", "pour", "wh", "##isk",  # verbs; whisk = wh ##isk
    "egg", "on", "##ion", "tomato", "milk",  # nouns; onion = on ##ion
    "slowly", "then", "it", "into", "bowl", "pan", "knife", "with", "of", "is", "this",
    "first", "next", "done", "good",
]
VERBS = ["cut", "fry", "pour", "whisk"]
NOUNS = ["egg", "onion", "tomato", "milk"]
N_VISUAL = 12
N_CLIPS = 12
CLIP_S = 1.5
FEATURE_DIM = 8


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Tiny models run fastest on one thread; on a busy machine extra threads only spin."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_tokenizer():
    from transformers import BertTokenizer

    return BertTokenizer(vocab={w: i for i, w in enumerate(WORDS)})


def make_layout(tokenizer=None) -> VocabLayout:
    return VocabLayout.from_tokenizer(tokenizer or make_tokenizer(), N_VISUAL)


def make_model(layout: VocabLayout, seed: int = 0) -> VideoBert:
    torch.manual_seed(seed)
    return VideoBert(tiny_config(layout)).eval()


class Rigged(torch.nn.Module):
    """Follows the model contract; ``logits_fn(input_ids (B,T)) -> (B, T, V)`` sets the MLM
    logits and ``align_fn(input_ids) -> (B,)`` the alignment logits."""

    def __init__(
        self,
        layout: VocabLayout,
        logits_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        align_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self._layout = layout
        self.config = SimpleNamespace(max_position_embeddings=512)
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.logits_fn = logits_fn or (lambda ids: torch.zeros(*ids.shape, layout.size))
        self.align_fn = align_fn or (lambda ids: torch.zeros(ids.shape[0]))

    @property
    def layout(self) -> VocabLayout:
        return self._layout

    def forward(self, input_ids, token_type_ids, attention_mask=None, mlm_labels=None):
        B, T = input_ids.shape
        hidden = torch.nn.functional.one_hot(input_ids, self._layout.size).float()  # (B, T, V)
        out = VideoBertOutput(hidden_states=hidden, alignment_logits=self.align_fn(input_ids))
        if mlm_labels is not None:
            positions = (mlm_labels != -100).nonzero()
            # Shuffled on purpose: the tasks must not rely on the order the rows come back in.
            positions = positions[torch.randperm(len(positions))]
            logits = self.logits_fn(input_ids)
            out.mlm_positions = positions
            out.mlm_logits = logits[positions[:, 0], positions[:, 1]]
            out.mlm_targets = mlm_labels[positions[:, 0], positions[:, 1]]
        return out


def write_world(root: Path, seed: int = 0) -> SimpleNamespace:
    """Ground truth, codebook (meta, assignments, some exemplars) and features under ``root``."""
    rng = np.random.default_rng(seed)
    codebook = root / "codebook"
    (codebook / "exemplars").mkdir(parents=True)
    (codebook / "meta.json").write_text(json.dumps({"fps": 20, "clip_frames": 30}))
    for word in range(0, N_VISUAL, 2):  # odd words have no exemplar: grey placeholder tiles
        # a strip of 4 square frames, as the codebook writes: the first one has its own color
        strip = Image.new("RGB", (120, 30), (20, 20, 20))
        strip.paste(tuple(int(c) for c in rng.integers(100, 255, 3)), (0, 0, 30, 30))
        strip.save(codebook / "exemplars" / f"word_{word:05d}.jpg")
    features = root / "features"
    features.mkdir()
    videos, rows = {}, {"video_id": [], "clip": [], "word": []}
    for v in range(4):
        vid = f"vid{v}"
        steps = []
        words = rng.integers(0, N_VISUAL, N_CLIPS)
        feats = (0.3 * rng.normal(size=(N_CLIPS, FEATURE_DIM))).astype(np.float16)
        for k in range(3):
            verb, noun = VERBS[(v + k) % 4], NOUNS[(v + 2 * k) % 4]
            start = 3.0 * k + 0.1
            steps.append({"verb": verb, "noun": noun, "start": start, "end": start + 2.8,
                          "caption": f"{verb} the {noun}", "narrated": True})
            # clips 2k, 2k+1 show the step: make their word and feature follow the action
            words[2 * k : 2 * k + 2] = VERBS.index(verb) * 3 + NOUNS.index(noun) % 3
            feats[2 * k : 2 * k + 2, VERBS.index(verb)] += 4.0
            feats[2 * k : 2 * k + 2, 4 + NOUNS.index(noun)] += 4.0
        videos[vid] = {"split": "train" if v < 2 else "val", "steps": steps}
        np.save(features / f"{vid}.npy", feats)
        for clip, word in enumerate(words):
            rows["video_id"].append(vid)
            rows["clip"].append(clip)
            rows["word"].append(int(word))
    pq.write_table(pa.table(rows), codebook / "assignments.parquet")
    gt = root / "ground_truth.json"
    gt.write_text(json.dumps({"verbs": VERBS, "nouns": NOUNS, "videos": videos}))
    (root / "verbs.txt").write_text("\n".join(VERBS) + "\n")
    (root / "nouns.txt").write_text("\n".join(NOUNS) + "\n")
    video_words = load_video_words(codebook / "assignments.parquet")
    steps, skipped = load_steps(load_ground_truth(gt), video_words, CLIP_S)
    return SimpleNamespace(root=root, codebook=codebook, features=features, ground_truth=gt,
                           video_words=video_words, steps=steps, skipped=skipped)


# ---------------------------------------------------------------------------------------------
# The plumbing every task relies on


def test_steps_take_the_clips_they_overlap(world):
    assert not world.skipped
    assert len(world.steps) == 12
    step = world.steps[1]  # vid0, step 1: [3.1, 5.9) s -> clips 2 and 3 ([3, 4.5), [4.5, 6))
    assert (step.first_clip, step.last_clip) == (2, 3)
    assert step.words == tuple(int(w) for w in world.video_words["vid0"][2:4])
    assert {s.split for s in world.steps[:6]} == {"train"}


def test_sequence_layouts_and_segment_ids():
    layout = make_layout()
    vis = inputs.visual_tokens(layout, [0, 5])
    assert vis == [layout.visual_offset, layout.visual_offset + 5]
    joint = inputs.joint_sequence(layout, [15, 12], vis)
    assert joint.ids == [layout.cls_id, 15, 12, layout.video_sep_id, *vis, layout.sep_id]
    assert joint.types == [0, 0, 0, 0, 1, 1, 1]
    text = inputs.text_sequence(layout, [15])
    assert text.ids == [layout.cls_id, 15, layout.sep_id] and text.types == [0, 0, 0]
    video = inputs.video_sequence(layout, vis)
    assert video.ids == [layout.cls_id, layout.video_sep_id, *vis, layout.sep_id]
    assert video.types == [0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="visual word ids"):
        inputs.visual_tokens(layout, [N_VISUAL])


def test_padded_batches_give_the_same_logits_as_single_examples():
    layout = make_layout()
    model = make_model(layout)
    examples = []
    for n in (1, 4, 9):  # different lengths: the batch is padded
        ex = inputs.joint_sequence(layout, [15, 12, 21, 22], inputs.visual_tokens(layout, range(n)))
        ex.ids[2] = layout.mask_id
        ex.slots = [2, len(ex.ids) - 2]
        examples.append(ex)
    batched = inputs.slot_logits(model, examples, batch_size=3)
    assert batched.shape == (3, 2, layout.size)
    for i, ex in enumerate(examples):
        single = inputs.slot_logits(model, [ex], batch_size=1)[0]
        torch.testing.assert_close(batched[i], single, atol=1e-4, rtol=1e-4)


def test_slot_logits_are_put_back_in_position_order():
    layout = make_layout()
    # logit of token id 7 at position p is p: shuffled rows must come back in position order
    def logits_fn(ids):
        out = torch.zeros(*ids.shape, layout.size)
        out[..., 7] = torch.arange(ids.shape[1]).float()
        return out

    ex = inputs.text_sequence(layout, [5, 6, 7, 8, 9, 10])
    ex.slots = [1, 3, 4, 6]
    logits = inputs.slot_logits(Rigged(layout, logits_fn), [ex, ex])
    assert logits[:, :, 7].tolist() == [[1, 3, 4, 6]] * 2
