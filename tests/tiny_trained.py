"""A tiny model really trained on a few built-in videos (real H.264 files, real I3D at 32 px):
what the API-level tests (serve, summarize, qa) run on. Its answers are noise; its plumbing
is the real one."""

from __future__ import annotations

from pathlib import Path

import torch


def train_tiny_model(root: Path, n_videos: int = 4) -> tuple[Path, Path]:
    """(model folder, data folder) under ``root``."""
    from videobert.pipeline import PipelinePaths, Stopwatch, run_data_stages, run_pretrain
    from videobert.settings import load_settings
    from videobert.synth import generate

    data = generate(root / "data", n_videos=n_videos, seed=0, size=(64, 64), speech=False,
                    workers=1, progress=False)
    settings = load_settings("tiny", [
        "ingest.asr=false", "features.size=32", "codebook.k=4", "codebook.depth=1",
        "train.steps=4", "train.batch_size=2", "train.eval_every=0", "train.save_every=0"])
    paths = PipelinePaths(root)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        run_data_stages(data / "manifest.jsonl", paths, settings, Stopwatch())
        run_pretrain(paths.corpus, paths.run("full"), settings.pretrain(), Stopwatch())
    finally:
        torch.set_num_threads(before)
    return paths.run("full") / "model", data
