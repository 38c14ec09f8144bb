"""Fine-tuning: the classifier's pooling and gradients, training on a separable toy set,
save/load, labels from any step field, and the train/eval CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from test_tasks_fixtures import VERBS, make_layout, make_model, make_tokenizer
from videobert.tasks import inputs
from videobert.tasks.finetune import (
    FinetuneConfig,
    VideoBertClassifier,
    evaluate_classifier,
    finetune_eval,
    finetune_train,
    label_classes,
    predict_logits,
    step_label,
    train_classifier,
)
from videobert.tasks.steps import load_ground_truth


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models: one thread is fastest, and spare OpenMP threads spin on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _classifier(pooling: str = "cls", seed: int = 0, n_classes: int = 4) -> VideoBertClassifier:
    layout = make_layout()
    torch.manual_seed(seed)
    labels = [f"c{i}" for i in range(n_classes)]
    return VideoBertClassifier(make_model(layout, seed), labels, pooling, label_name="toy")


def _toy_set(n_per_class: int, n_classes: int = 4, seed: int = 0):
    """Class c's videos use visual words {3c, 3c+1, 3c+2} only: separable from the words."""
    rng = np.random.default_rng(seed)
    words, targets = [], []
    for c in range(n_classes):
        for _ in range(n_per_class):
            words.append([int(w) for w in rng.integers(3 * c, 3 * c + 3, rng.integers(2, 7))])
            targets.append(c)
    return words, np.array(targets)


def _examples(classifier, words):
    return [inputs.video_sequence(classifier.layout, inputs.visual_tokens(classifier.layout, w))
            for w in words]


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_logits_shape_padding_invariance_and_every_parameter_learns(pooling):
    clf = _classifier(pooling).eval()
    words, targets = _toy_set(2)
    examples = _examples(clf, words)
    logits = predict_logits(clf, examples, batch_size=8)
    assert logits.shape == (8, 4)
    single = np.stack([predict_logits(clf, [e])[0] for e in examples])
    np.testing.assert_allclose(logits, single, atol=1e-4)  # padding changes nothing

    clf.train()
    batch = inputs.pad(examples, clf.layout.pad_id)
    out = clf(batch.input_ids, batch.token_type_ids, batch.attention_mask)
    torch.nn.functional.cross_entropy(out, torch.tensor(targets)).backward()
    # the MLM head and alignment classifier are not used; every other parameter gets a gradient
    unused = ("mlm_head", "alignment_head.classifier")
    if pooling == "mean":
        unused += ("alignment_head.pooler",)
    missing = [n for n, p in clf.named_parameters()
               if p.requires_grad and p.grad is None and not n.startswith(tuple(
                   "encoder." + u for u in unused))]
    assert not missing


def test_head_learns_a_separable_toy_set():
    clf = _classifier("mean")
    words, targets = _toy_set(8)
    test_words, test_targets = _toy_set(4, seed=1)
    config = FinetuneConfig(epochs=25, batch_size=8, lr=1e-3, head_lr=3e-3, dropout=0.0)
    losses = train_classifier(clf, _examples(clf, words), targets, config, progress=False)
    assert losses[-1] < 0.2 * losses[0]
    logits = predict_logits(clf, _examples(clf, test_words))
    assert (logits.argmax(1) == test_targets).mean() >= 0.9


def test_frozen_encoder_trains_the_head_only():
    clf = _classifier("cls")
    before = {n: p.detach().clone() for n, p in clf.encoder.named_parameters()}
    head_before = clf.head.weight.detach().clone()
    words, targets = _toy_set(2)
    train_classifier(clf, _examples(clf, words), targets,
                     FinetuneConfig(epochs=2, batch_size=4, freeze_encoder=True), progress=False)
    assert all(torch.equal(before[n], p) for n, p in clf.encoder.named_parameters())
    assert not torch.equal(head_before, clf.head.weight)


def test_save_and_load_give_the_same_predictions(tmp_path):
    tok = make_tokenizer()
    clf = _classifier("mean", seed=3)
    with torch.no_grad():
        clf.head.bias.copy_(torch.arange(4.0))  # not the initial values
    words, _ = _toy_set(1)
    examples = _examples(clf, words)
    folder = clf.save_pretrained(tmp_path / "clf", tokenizer=tok)
    loaded = VideoBertClassifier.from_pretrained(folder)
    assert loaded.labels == clf.labels and loaded.pooling == "mean"
    assert loaded.label_name == "toy"
    np.testing.assert_allclose(predict_logits(loaded, examples), predict_logits(clf, examples),
                               atol=1e-5)
    (folder / "classifier.json").unlink()
    with pytest.raises(FileNotFoundError, match="classifier.json"):
        VideoBertClassifier.from_pretrained(folder)


def test_labels_from_verb_noun_or_any_step_field(world):
    gt = load_ground_truth(world.ground_truth)
    step = world.steps[0]
    assert step_label(step, gt, "verb") == step.verb
    assert label_classes(world.steps, gt, "verb") == VERBS
    for video in gt.videos.values():
        for s in video["steps"]:
            s["tool"] = "knife" if s["verb"] == "cut" else "spoon"
    assert label_classes(world.steps, gt, "tool") == ["knife", "spoon"]
    assert step_label(step, gt, "tool") == ("knife" if step.verb == "cut" else "spoon")
    with pytest.raises(ValueError, match="has no 'colour'"):
        step_label(step, gt, "colour")
    with pytest.raises(ValueError, match="two distinct labels"):
        VideoBertClassifier(make_model(make_layout()), ["only"])


def test_finetune_train_and_eval_on_folders_and_cli(world, tmp_path):
    from videobert.cli import main

    tok = make_tokenizer()
    model_dir = make_model(make_layout(tok)).save_pretrained(
        tmp_path / "model", tokenizer=tok, codebook_dir=world.codebook)
    # the world's visual words follow the verb (word = 3 * verb + noun % 3): learnable
    config = FinetuneConfig(epochs=30, batch_size=4, lr=1e-3, head_lr=3e-3, dropout=0.0,
                            pooling="mean")
    result = finetune_train(model_dir, world.ground_truth, tmp_path / "clf", label="verb",
                            config=config, progress=False)
    assert result.n_train_steps == 6 and result.labels == VERBS
    assert result.train["top1"] == 1.0
    assert result.val["n_steps"] == 6 and 0.0 <= result.val["top1"] <= 1.0
    # the codebook travels with the classifier, the training clips' words do not
    assert (tmp_path / "clf" / "codebook" / "meta.json").exists()
    assert not (tmp_path / "clf" / "codebook" / "assignments.parquet").exists()
    figures = finetune_eval(tmp_path / "clf", world.ground_truth, world.codebook, split="train")
    assert figures["top1"] == 1.0 and figures["top5"] == 1.0 and figures["n_steps"] == 6

    clf = VideoBertClassifier.from_pretrained(tmp_path / "clf")
    gt = load_ground_truth(world.ground_truth)
    same = evaluate_classifier(clf, [s for s in world.steps if s.split == "val"], gt)
    assert same["top1"] == result.val["top1"]

    report = tmp_path / "report"
    assert main(["finetune", "train", "--model", str(model_dir), "--out", str(tmp_path / "clf2"),
                 "--ground-truth", str(world.ground_truth), "--label", "noun", "--epochs", "1",
                 "--report", str(report)]) == 0
    assert json.loads((report / "finetune.json").read_text())["label"] == "noun"
    assert main(["finetune", "eval", "--model", str(tmp_path / "clf2"), "--ground-truth",
                 str(world.ground_truth), "--words", str(world.codebook),
                 "--report", str(report)]) == 0
    evaluated = json.loads((report / "finetune_eval.json").read_text())
    assert evaluated["split"] == "val" and evaluated["n_classes"] == 4
