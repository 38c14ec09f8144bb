"""Evaluation figures for the downstream tasks: top-k accuracy, R@k, COCO caption metrics.

Light on import: numpy only. ``captioning`` imports pycocoevalcap lazily and needs Java at
call time, so import it explicitly (``from videobert.metrics.captioning import caption_metrics``)
or through this package, which re-exports names without starting anything.
"""

from videobert.metrics.captioning import (
    METRIC_NAMES,
    CaptionEvaluation,
    CaptionScorer,
    GroupedEvaluation,
    JavaNotFoundError,
    caption_metrics,
)
from videobert.metrics.classification import (
    confusion_matrix,
    mean_class_accuracy,
    per_class_accuracy,
    precision_recall_f1,
    topk_accuracy,
)
from videobert.metrics.forecasting import forecast_topk_accuracy
from videobert.metrics.ranking import target_ranks
from videobert.metrics.retrieval import (
    chance_mean_rank,
    chance_median_rank,
    chance_recall_at_k,
    retrieval_metrics,
    retrieval_metrics_naive,
    retrieval_ranks,
)

__all__ = [
    "METRIC_NAMES",
    "CaptionEvaluation",
    "CaptionScorer",
    "GroupedEvaluation",
    "JavaNotFoundError",
    "caption_metrics",
    "precision_recall_f1",
    "chance_mean_rank",
    "chance_median_rank",
    "chance_recall_at_k",
    "confusion_matrix",
    "forecast_topk_accuracy",
    "mean_class_accuracy",
    "per_class_accuracy",
    "retrieval_metrics",
    "retrieval_metrics_naive",
    "retrieval_ranks",
    "target_ranks",
    "topk_accuracy",
]
