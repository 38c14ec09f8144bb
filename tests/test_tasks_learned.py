"""A real tiny VideoBert taught, in the contract's input layout, that a clip's visual word says
its action: zero-shot classification and alignment retrieval must then read it back.

This checks the tasks end to end against a model that learned something (the other tests use
random or rigged models): prompts, segment ids and slot positions must match what the model
saw in training, or the figures fall to the language prior / chance.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from test_tasks_fixtures import (
    make_layout,
    make_tokenizer,
    torch_threads,
)
from videobert.model import VideoBert, tiny_config
from videobert.tasks import inputs
from videobert.tasks.retrieval import evaluate_retrieval
from videobert.tasks.steps import Step
from videobert.tasks.zero_shot import DEFAULT_TEMPLATE, Template, build_prompt, evaluate_zero_shot

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _mlm_batch(tok, layout, steps):
    """The template with the true verb and noun pieces masked, then the step's words."""
    template = Template.parse(DEFAULT_TEMPLATE, tok)
    examples, labels = [], []
    for s in steps:
        verb = tok.encode(s.verb, add_special_tokens=False)
        noun = tok.encode(s.noun, add_special_tokens=False)
        ex, verb_pos, noun_pos = build_prompt(template, layout, len(verb), len(noun), s.words)
        label = [-100] * len(ex.ids)
        for p, t in zip(verb_pos + noun_pos, verb + noun, strict=True):
            label[p] = t
        examples.append(ex)
        labels.append(label)
    batch = inputs.pad(examples, layout.pad_id)
    width = batch.input_ids.shape[1]
    label = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])
    return batch, label


def _alignment_batch(tok, layout, steps):
    """Every caption with every step's clips; target 1 for the same action."""
    examples, targets = [], []
    for s in steps:
        text = tok.encode(s.caption, add_special_tokens=False)
        for other in steps:
            tokens = inputs.visual_tokens(layout, other.words)
            examples.append(inputs.joint_sequence(layout, text, tokens))
            targets.append(float((s.verb, s.noun) == (other.verb, other.noun)))
    return inputs.pad(examples, layout.pad_id), torch.tensor(targets)


# One-piece words only: how multi-piece candidates are scored is checked with rigged models.
ONE_PIECE_VERBS, ONE_PIECE_NOUNS = ["cut", "fry", "pour"], ["egg", "tomato", "milk"]


def _world():
    """9 steps of 9 distinct actions; action a's clips are visual word a."""
    steps = []
    for a in range(9):
        verb, noun = ONE_PIECE_VERBS[a % 3], ONE_PIECE_NOUNS[a // 3]
        steps.append(Step(f"v{a // 4}", "val", a % 4, verb, noun, 0.0, 3.0, f"{verb} the {noun}",
                          True, 0, 1, (a, a)))
    return SimpleNamespace(steps=steps)


@pytest.fixture(scope="module")
def learned():
    world = _world()
    tok = make_tokenizer()
    layout = make_layout(tok)
    torch.manual_seed(0)
    model = VideoBert(tiny_config(layout, hidden_dropout=0.0, attention_dropout=0.0))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    mlm_batch, mlm_labels = _mlm_batch(tok, layout, world.steps)
    align_batch, align_targets = _alignment_batch(tok, layout, world.steps)
    model.train()
    with torch_threads(1):
        _train(model, opt, mlm_batch, mlm_labels, align_batch, align_targets)
    return world, tok, model.eval()


def _train(model, opt, mlm_batch, mlm_labels, align_batch, align_targets, steps=120):
    # positives are 1 in n_steps pairs: weigh them up so both classes count the same
    pos_weight = (align_targets == 0).sum() / (align_targets == 1).sum()
    decay = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)  # stable ending
    for _ in range(steps):
        out = model(mlm_batch.input_ids, mlm_batch.token_type_ids, mlm_batch.attention_mask,
                    mlm_labels)
        loss = torch.nn.functional.cross_entropy(out.mlm_logits, out.mlm_targets)
        align = model(align_batch.input_ids, align_batch.token_type_ids,
                      align_batch.attention_mask).alignment_logits
        loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(
            align, align_targets, pos_weight=pos_weight
        )
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        decay.step()


def test_zero_shot_reads_the_action_from_the_video(learned):
    world, tok, model = learned
    result = evaluate_zero_shot(model, tok, world.steps, ONE_PIECE_VERBS, ONE_PIECE_NOUNS)
    prior, cross = result.rows
    assert cross.verb_top1 == 1.0 and cross.noun_top1 == 1.0  # the video names the action
    assert prior.verb_top1 < 0.5 and prior.noun_top1 < 0.5  # the template alone cannot


def test_alignment_retrieval_finds_each_captions_clips(learned):
    world, tok, model = learned
    result = evaluate_retrieval(model, tok, world.steps, batch_size=16)
    # a short training run: most captions find their clips first, all of them near the top
    assert result.chance["R@1"] == pytest.approx(1 / 9)
    assert result.alignment["R@1"] >= 0.6 and result.alignment["median_rank"] == 1.0
    assert result.alignment["R@5"] == 1.0
