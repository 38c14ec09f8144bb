"""The tasks on a CUDA device give the figures they give on the CPU (skipped without CUDA)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_tasks_fixtures import NOUNS, VERBS, make_layout, make_model, make_tokenizer, write_world
from videobert.tasks.forecasting import forecast_examples, forecast_scores
from videobert.tasks.retrieval import (
    alignment_similarity,
    embedding_similarity,
    retrieval_queries,
)
from videobert.tasks.text_to_video import generate_visual_words
from videobert.tasks.zero_shot import Template, candidate_pieces, score_candidates

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_cuda_matches_cpu(tmp_path):
    world = write_world(tmp_path)
    tok = make_tokenizer()
    cpu = make_model(make_layout(tok))
    gpu = make_model(make_layout(tok)).to("cuda")  # same seed, same weights
    template = Template.parse("now let me show you how to {verb} the {noun}", tok)
    verbs, nouns = candidate_pieces(tok, VERBS, "verb"), candidate_pieces(tok, NOUNS, "noun")
    videos = [s.words for s in world.steps]
    for a, b in zip(score_candidates(cpu, template, verbs, nouns, videos),
                    score_candidates(gpu, template, verbs, nouns, videos), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)
    texts, gallery = retrieval_queries(tok, world.steps)
    np.testing.assert_allclose(alignment_similarity(cpu, texts, gallery, progress=False),
                               alignment_similarity(gpu, texts, gallery, progress=False),
                               atol=1e-3)
    np.testing.assert_allclose(embedding_similarity(cpu, texts, gallery),
                               embedding_similarity(gpu, texts, gallery), atol=1e-3)
    contexts = [ex.context for ex in forecast_examples(world.steps, world.video_words, 2)]
    torch.testing.assert_close(forecast_scores(cpu, contexts, 2), forecast_scores(gpu, contexts, 2),
                               atol=1e-3, rtol=1e-3)
    assert generate_visual_words(cpu, tok, "cut the egg", 4).words == generate_visual_words(
        gpu, tok, "cut the egg", 4).words
