"""`torchrun --nproc_per_node 2` (gloo, CPU) computes what one process computes on the same
global batch; the GPU path (NCCL process group, bf16 autocast) runs where CUDA is available."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from synthetic_corpus import write_corpus
from videobert.train import load_pretrain_config, pretrain

TORCHRUN = Path(sys.executable).with_name("torchrun")
SETTINGS = ["data.max_len=32", "train.batch_size=16", "train.steps=4", "train.warmup_steps=1",
            "train.log_every=1", "train.eval_every=2", "train.eval_max_examples=64",
            "train.save_every=0", "model.hidden_dropout=0", "model.attention_dropout=0"]


def read_metrics(run: Path) -> tuple[list[dict], list[dict]]:
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x]
    return [r for r in records if "loss" in r], [r for r in records if "eval/text" in r]


@pytest.mark.skipif(not TORCHRUN.exists(), reason=f"torchrun not found beside {sys.executable}")
def test_two_gloo_ranks_match_one_process(tmp_path):
    """The 2-rank run is also killed after step 2 and resumed, so the comparison covers a
    multi-rank checkpoint (one RNG file per rank) and resume too."""
    corpus = write_corpus(tmp_path / "corpus", n_videos=10, segments_per_video=6)
    command = [str(TORCHRUN), "--standalone", "--nproc_per_node", "2", "-m", "videobert.cli",
               "pretrain", str(corpus), "--out", str(tmp_path / "ddp"), "--device", "cpu"]
    for setting in SETTINGS:
        command += ["--set", setting]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    for extra in (["--set", "train.stop_after=2"], ["--resume"]):
        done = subprocess.run(command + extra, env=env, capture_output=True, text=True,
                              timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "world size 2" in done.stdout + done.stderr
    assert sorted(p.name for p in (tmp_path / "ddp" / "checkpoints" / "step-00000002").iterdir()) \
        == ["rng-rank0.pt", "rng-rank1.pt", "state.pt"]

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = pretrain(corpus, tmp_path / "one", load_pretrain_config("tiny", SETTINGS),
                          device="cpu", save_tokenizer=False)
    finally:
        torch.set_num_threads(before)
    ddp_train, ddp_eval = read_metrics(tmp_path / "ddp")
    assert [r["step"] for r in ddp_train] == [1, 2, 3, 4]
    for ours, ref in zip(ddp_train, single.history, strict=True):
        for key in ("loss", "loss/text", "loss/video", "loss/joint", "loss/alignment"):
            assert ours[key] == pytest.approx(ref[key], abs=1e-5), (ours["step"], key)
    assert len(ddp_eval) == len(single.evals) == 3
    for ours, ref in zip(ddp_eval, single.evals, strict=True):
        for key, value in ref.items():
            assert ours[key] == pytest.approx(value, abs=1e-5), (ours["step"], key)
    assert (tmp_path / "ddp" / "model" / "model.safetensors").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_bf16_pretraining_runs_and_learns(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", n_videos=10, segments_per_video=6)
    config = load_pretrain_config("tiny", [*SETTINGS[:2], "train.steps=40",
                                           "train.precision=bf16", "train.eval_every=0"])
    result = pretrain(corpus, tmp_path / "gpu", config, device="cuda", save_tokenizer=False)
    first, last = result.evals[0], result.evals[-1]
    for name in ("text", "video", "joint"):
        assert last[f"eval/{name}"] < first[f"eval/{name}"]
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in result.history)
