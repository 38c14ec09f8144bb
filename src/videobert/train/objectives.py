"""The four pretraining objectives, each a small function.

Losses are returned as *sums* with their target *counts* so that the trainer can normalise by
the number of targets of the whole global batch (all ranks, all micro-batches). Averaging per
micro-batch instead would weight a target by the size of the micro-batch it happened to land in,
and one process would not compute the same loss as two.

Objective order everywhere: text-only MLM, video-only masked visual words, joint masked
prediction, text-video alignment.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from videobert.sequences.dataset import JOINT, TEXT_ONLY, VIDEO_ONLY, Batch
from videobert.sequences.masking import IGNORE_INDEX

OBJECTIVES = ("text", "video", "joint", "alignment")
MLM_TASKS = (TEXT_ONLY, VIDEO_ONLY, JOINT)  # task id of each masked-prediction objective


def target_counts(batch: Batch) -> torch.Tensor:
    """(4,) float: masked positions of each task, then examples with an alignment label."""
    masked = batch.mlm_labels != IGNORE_INDEX  # (B, T)
    per_example = masked.sum(dim=1)  # (B,)
    counts = [per_example[batch.task == t].sum() for t in MLM_TASKS]
    counts.append((batch.alignment_labels >= 0).sum())
    return torch.stack(counts).float()


def masked_prediction_sums(
    mlm_logits: torch.Tensor, mlm_targets: torch.Tensor, mlm_positions: torch.Tensor,
    task: torch.Tensor,
) -> torch.Tensor:
    """(3,) summed cross-entropy of the masked positions, split by their example's task.

    mlm_logits (N, V) at the masked positions only; mlm_positions (N, 2) = (example, position).
    """
    losses = F.cross_entropy(mlm_logits.float(), mlm_targets, reduction="none")  # (N,)
    example_task = task[mlm_positions[:, 0]]  # (N,)
    sums = torch.zeros(len(MLM_TASKS), dtype=losses.dtype, device=losses.device)
    return sums.scatter_add(0, example_task, losses)


def alignment_sum(alignment_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed binary cross-entropy of the examples with an alignment label (labels >= 0)."""
    has_label = labels >= 0  # (B,)
    losses = F.binary_cross_entropy_with_logits(
        alignment_logits.float(), labels.clamp(min=0), reduction="none"
    )
    # multiply instead of index so that every logit stays in the graph (DDP needs a gradient
    # for every parameter on every rank, even when a micro-batch has no alignment pair)
    return (losses * has_label).sum()


def alignment_correct(alignment_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number of labelled examples whose predicted alignment (logit > 0) matches the label."""
    has_label = labels >= 0
    predicted = (alignment_logits > 0).float()
    return ((predicted == labels) & has_label).sum().float()


def loss_sums(output, batch: Batch) -> torch.Tensor:
    """(4,) summed losses of a micro-batch in OBJECTIVES order."""
    mlm = masked_prediction_sums(
        output.mlm_logits, output.mlm_targets, output.mlm_positions, batch.task
    )
    align = alignment_sum(output.alignment_logits, batch.alignment_labels)
    return torch.cat([mlm, align.unsqueeze(0)])


def weighted_loss(sums: torch.Tensor, counts: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted sum of per-objective means; ``counts`` are the global-batch target counts."""
    return (weights * sums / counts.clamp(min=1)).sum()


def weight_vector(loss_weights, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.tensor([float(getattr(loss_weights, k)) for k in OBJECTIVES], device=device)
