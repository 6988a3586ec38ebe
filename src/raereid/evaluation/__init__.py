"""Re-ID evaluation: CMC/mAP/mINP (Market-1501 protocol) and k-reciprocal re-ranking."""

from raereid.evaluation.rank import evaluate_features, evaluate_rank
from raereid.evaluation.rerank import rerank

__all__ = ["evaluate_rank", "evaluate_features", "rerank"]
