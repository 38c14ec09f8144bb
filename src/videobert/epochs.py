"""What every training loop shares: seeding, the warm-up schedule, and the small epoch loop
that fine-tuning and captioning run (pretraining has its own step loop in ``train/``, built on
the same schedule and seeding; the tasks never import ``train/``)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

import numpy as np
import torch
from tqdm import tqdm


def seed_everything(seed: int) -> torch.Generator:
    """Python, NumPy and torch's global generators, and a torch generator for shuffling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def lr_factor(step: int, warmup: int, total: int, decay: str = "linear",
              floor: float = 0.0) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then ``linear`` decay to 0 at ``total`` or
    ``cosine`` decay to ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    if decay == "linear":
        return max(0.0, (total - step) / max(1, total - warmup))
    if decay == "cosine":
        t = (step - warmup) / max(1, total - warmup)
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
    raise ValueError(f"decay {decay!r}: linear | cosine")


def warmup_schedule(optimizer: torch.optim.Optimizer, warmup: int, total: int,
                    decay: str = "linear", floor: float = 0.0):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: lr_factor(s, warmup, total, decay, floor))


def steps_per_epoch(n_items: int, batch_size: int) -> int:
    return -(-n_items // batch_size)


def run_epochs(
    model: torch.nn.Module,
    n_items: int,
    batch_size: int,
    epochs: int,
    batch_loss: Callable[[Sequence[int]], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
    clip_grad: float,
    progress: bool = True,
    desc: str = "train",
    train_mode: Callable[[], None] | None = None,
) -> list[float]:
    """Shuffled mini-batch epochs: ``batch_loss(indices)`` gives the mean loss of a batch;
    clipping, optimizer and schedule steps are done here. Returns each epoch's mean loss per
    item; ``train_mode`` (default ``model.train()``) runs at the start of every epoch."""
    losses = []
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress)
    for _ in bar:
        (train_mode or model.train)()
        order = torch.randperm(n_items, generator=generator).tolist()
        epoch_loss = 0.0
        for start in range(0, n_items, batch_size):
            idx = order[start : start + batch_size]
            loss = batch_loss(idx)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            optimizer.step()
            scheduler.step()
            epoch_loss += loss.item() * len(idx)
        losses.append(epoch_loss / n_items)
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    return losses
