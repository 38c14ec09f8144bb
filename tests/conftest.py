"""Shared test fixtures: real sample media from ../shared/samples, tiny temp folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("VIDEOBERT_SAMPLES", REPO.parent / "shared" / "samples"))


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real sample media folder; tests that need it skip with a clear message otherwise."""
    if not SAMPLES.is_dir():
        pytest.skip(f"real sample media not found at {SAMPLES} (set VIDEOBERT_SAMPLES)")
    return SAMPLES


def sample(name: str) -> Path:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not found in {SAMPLES} (set VIDEOBERT_SAMPLES)")
    return path


@pytest.fixture
def world(tmp_path: Path):
    """The task tests' tiny world: tokenizer layout, ground truth, codebook, features, model."""
    from test_tasks_fixtures import write_world

    return write_world(tmp_path)


@pytest.fixture
def one_torch_thread():
    """Tiny models run fastest single-threaded, and the test machine is shared."""
    from test_tasks_fixtures import torch_threads

    with torch_threads(1):
        yield
