"""The features stage when things go wrong: decoding workers that cannot hand batches over,
runs killed inside a long video. Real files, real processes, wall-clock limits on each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset

from test_features_extract import GRID, _encode
from videobert.config import FeaturesConfig
from videobert.features import backbones, extract
from videobert.features.extract import run_features
from videobert.ingest.video import count_clips

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SIZE = 32  # the smallest input I3D takes: the network is not what these tests are about


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1"}


def _segments(folder: Path, videos: dict[str, Path]) -> Path:
    """A segments manifest as the ingest stage writes it (the fields features reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = [{"id": vid, "video": str(path), "n_clips": count_clips(path, **GRID)}
               for vid, path in videos.items()]
    (folder / "manifest.json").write_text(json.dumps({"config": GRID, "videos": entries,
                                                      "skipped": []}))
    return folder


def test_a_worker_that_cannot_write_shared_memory_stops_the_run_with_the_fix(tmp_path):
    """Under ``ulimit -f 4`` a worker's batch cannot go into shared memory (EFBIG); the run
    used to wait for it forever. Now: exit 1 at once, cause and fix named, 'a' kept."""
    a, b = _encode(tmp_path / "a.mp4", 0.8, 0), _encode(tmp_path / "b.mp4", 1.6, 1)
    out = tmp_path / "features"
    net = backbones.build_backbone("i3d", "random", size=SIZE)
    config = FeaturesConfig(weights="random", size=SIZE, batch_size=2, workers=0)
    run_features(_segments(tmp_path / "seg_a", {"a": a}), out, config, backbone=net,
                 progress=False)
    kept = (out / "a.npy").read_bytes()
    assert len(kept) < 4096  # 1 clip: fits under the limit, so only the workers hit it
    seg = _segments(tmp_path / "seg_ab", {"a": a, "b": b})
    cli = (f"ulimit -f 4 && exec {PYTHON} -m videobert.cli features {seg} {out} "
           f"--weights random --size {SIZE} --batch-size 2 --workers 1 --no-progress")
    began = time.monotonic()
    proc = subprocess.run(["bash", "-c", cli], env=_env(), capture_output=True, text=True,
                          timeout=90)
    assert time.monotonic() - began < 80
    assert proc.returncode == 1, proc.stderr
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith("videobert features: decoding worker could not write shared memory")
    assert "ulimit -f" in message and "/dev/shm" in message and "--workers 0" in message
    assert "Traceback" not in proc.stderr
    assert (out / "a.npy").read_bytes() == kept  # finished work is kept
    assert not (out / "b.npy").exists()
    # a's run's manifest is withdrawn: the folder is not finished for the segments of a and b
    assert not (out / "manifest.json").exists()


class _Silent(IterableDataset):
    """A worker that neither sends a batch nor dies (a stuck decoder)."""

    def __iter__(self):
        time.sleep(30)
        yield from ()


def test_a_stuck_worker_is_stopped_by_the_watchdog():
    loader = DataLoader(_Silent(), batch_size=None, num_workers=1, timeout=0.5)
    began = time.monotonic()
    with pytest.raises(extract.WorkerError, match="--workers 0"):
        list(extract.worker_batches(loader))
    assert time.monotonic() - began < 20
    assert FeaturesConfig().worker_timeout > 0  # the stage always has the watchdog on


def test_workers_zero_still_decodes_in_the_main_process(tmp_path):
    a = _encode(tmp_path / "a.mp4", 1.6, 0)
    out = tmp_path / "features"
    net = backbones.build_backbone("i3d", "random", size=SIZE)
    config = FeaturesConfig(weights="random", size=SIZE, batch_size=2, workers=0)
    with torch.inference_mode():
        report = run_features(_segments(tmp_path / "seg", {"a": a}), out, config,
                              backbone=net, progress=False)
    assert report.exit_code() == 0 and np.load(out / "a.npy").shape == (2, 1024)


def _job(seg: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, str(REPO / "tests" / "features_job.py"), str(seg), str(out),
                             *extra], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _clips_seen(proc: subprocess.Popen) -> int:
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    return int(stdout.split("clips seen:")[1])


def test_a_run_killed_inside_a_long_video_resumes_from_its_last_checkpoint(tmp_path):
    """SIGKILL mid-video, once a partial checkpoint exists; the rerun starts from that clip
    and the finished features are byte for byte those of an uninterrupted run."""
    video = _encode(tmp_path / "long.mp4", 12.8, 3)  # 16 clips of 0.8 s
    seg = _segments(tmp_path / "seg", {"long": video})
    whole, out = tmp_path / "whole", tmp_path / "killed"
    assert _clips_seen(_job(seg, whole)) == 16
    proc = _job(seg, out, "--slow", "0.3")  # 8 batches of 2 clips, checkpoint every 4 clips
    partial = out / "partial" / "long.npz"
    deadline = time.monotonic() + 60
    while not partial.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.kill()
    proc.wait(timeout=30)
    assert proc.returncode == -9, "the run ended before it could be killed mid-video"
    assert not (out / "long.npy").exists()
    done = len(np.load(partial)["rows"])
    assert done in (4, 8, 12)
    resumed = _job(seg, out)
    assert _clips_seen(resumed) == 16 - done  # the checkpointed clips are not recomputed
    assert (out / "long.npy").read_bytes() == (whole / "long.npy").read_bytes()
    assert not (out / "partial").exists()  # checkpoints of finished videos are removed
    manifest = json.loads((out / "manifest.json").read_text())
    assert list(manifest["videos"]) == ["long"] and manifest["videos"]["long"]["n_clips"] == 16


def test_partial_features_of_other_settings_are_not_reused(tmp_path, capsys):
    from videobert.features.partial import load_partial, save_partial

    rows = np.ones((4, 16), np.float16)
    save_partial(tmp_path, "v", rows, {"size": 32, "batch_size": 2})
    np.testing.assert_array_equal(load_partial(tmp_path, "v", {"size": 32, "batch_size": 2}),
                                  rows)
    assert load_partial(tmp_path, "v", {"size": 32, "batch_size": 4}) is None
    assert "other settings" in capsys.readouterr().err
    assert not (tmp_path / "partial" / "v.npz").exists()
    (tmp_path / "partial" / "w.npz").write_bytes(b"not a zip")
    assert load_partial(tmp_path, "w", {}) is None
    assert "unreadable" in capsys.readouterr().err
