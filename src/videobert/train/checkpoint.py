"""Checkpoints that resume exactly.

A checkpoint is a folder ``checkpoints/step-NNNNNNNN/`` holding ``state.pt`` (the unwrapped
model's weights, optimizer, scheduler, step, data position, config) and one ``rng-rankR.pt`` per
rank (python, numpy and torch generator states: dropout masks differ per rank). It is written
under a temporary name and renamed when every rank has written its part, so a crash mid-write
leaves the previous checkpoint as the latest. Only the last ``keep_last`` are kept.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

PREFIX = "step-"


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def list_checkpoints(folder: str | Path) -> list[Path]:
    """Complete checkpoints in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{PREFIX}*") if p.is_dir() and (p / "state.pt").exists()]
    return sorted(found, key=lambda p: int(p.name[len(PREFIX):]))


def latest_checkpoint(folder: str | Path) -> Path | None:
    found = list_checkpoints(folder)
    return found[-1] if found else None


def save_checkpoint(
    folder: str | Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    position: Any,
    config: dict[str, Any],
    rank: int = 0,
    world_size: int = 1,
    keep_last: int = 3,
) -> Path:
    """Collective: every rank calls it. ``model`` must be unwrapped (no DDP prefix)."""
    folder = Path(folder)
    final = folder / f"{PREFIX}{step:08d}"
    tmp = folder / f".{PREFIX}{step:08d}.tmp"
    if rank == 0:
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
    _barrier()
    torch.save(rng_state(), tmp / f"rng-rank{rank}.pt")
    if rank == 0:
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "position": dataclasses.asdict(position),
            "config": config,
            "world_size": world_size,
        }
        torch.save(state, tmp / "state.pt")
    _barrier()
    if rank == 0:
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in list_checkpoints(folder)[: -max(1, keep_last)]:
            shutil.rmtree(old, ignore_errors=True)
    _barrier()
    return final


def load_checkpoint(
    path: str | Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    rank: int = 0,
    map_location: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Restore everything in place; returns the state dict (step, position, config, ...).

    RNG states are restored when this rank has one (same world size); otherwise the caller
    reseeds."""
    path = Path(path)
    # our own files: they hold numpy/python RNG tuples, which weights_only loading refuses
    state = torch.load(path / "state.pt", map_location=map_location, weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng_file = path / f"rng-rank{rank}.pt"
    state["rng_restored"] = rng_file.exists()
    if rng_file.exists():
        set_rng_state(torch.load(rng_file, map_location="cpu", weights_only=False))
    return state
