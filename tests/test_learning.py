"""The recipe learns to read the video: with oracle visual words (read off the ground truth),
the default tiny pretraining recipe must fill in the zero-shot prompt's verb and noun from the
video alone on the built-in dataset's val split, whose verb-noun pairs never occur in training.

This separates the recipe from the features and the clustering: if it fails, the pretraining
objective mix or masking (not I3D or k-means) keeps the model from using the video.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def oracle_run(tmp_path_factory):
    import torch

    from videobert.config import CorpusConfig, IngestConfig
    from videobert.demo import split_lists
    from videobert.diagnostics.oracle import write_oracle_codebook
    from videobert.ingest.stage import run_ingest
    from videobert.sequences.corpus import run_corpus
    from videobert.synth import generate
    from videobert.train import pretrain
    from videobert.train.config import load_pretrain_config

    root = tmp_path_factory.mktemp("oracle")
    # narration only: the oracle needs no pixels, so no speech track and tiny frames
    data = generate(root / "data", n_videos=100, seed=0, size=(32, 32), speech=False,
                    workers=1, progress=False)
    run_ingest(data / "manifest.jsonl", root / "segments", IngestConfig(asr=False),
               progress=False)
    train_list, _ = split_lists(data / "ground_truth.json", root, seed=0)
    write_oracle_codebook(data / "ground_truth.json", root / "segments", root / "codebook")
    run_corpus(root / "segments", root / "codebook", root / "corpus",
               CorpusConfig(videos=str(train_list)))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pretrain(root / "corpus", root / "run", load_pretrain_config("tiny"))
    finally:
        torch.set_num_threads(before)
    return root, data / "ground_truth.json"


def test_default_recipe_reads_oracle_visual_words(oracle_run):
    from videobert.diagnostics.reliance import modality_reliance
    from videobert.tasks.cli_common import load_task_data
    from videobert.tasks.zero_shot import evaluate_zero_shot

    root, gt_path = oracle_run
    data = load_task_data(root / "run" / "model", gt_path, root / "codebook")
    model, tokenizer, gt, val = data.model, data.tokenizer, data.ground_truth, data.split("val")
    result = evaluate_zero_shot(model, tokenizer, val, gt.verbs, gt.nouns)
    prior, cross = result.rows[0], result.rows[1]
    assert cross.verb_top1 >= 0.5 and cross.noun_top1 >= 0.5, result.to_markdown()
    assert cross.verb_top1 > 2 * prior.verb_top1 and cross.noun_top1 > 2 * prior.noun_top1
    reliance = modality_reliance(model, tokenizer, val, gt.verbs, gt.nouns)
    assert min(reliance.changed_when_swapped.values()) > 0.5, reliance.to_markdown()
