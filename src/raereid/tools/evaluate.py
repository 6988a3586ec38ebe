"""Score a checkpoint on a dataset's query/gallery split: the fields of metrics.json, for any dataset."""

from __future__ import annotations

import time

import torch

from raereid.data.records import ReidDataset
from raereid.engine.runtime import Runtime
from raereid.errors import DatasetError
from raereid.inference.evaluate import evaluate_model
from raereid.inference.metrics import METRIC_KEYS, MetricsRecord
from raereid.inference.model_io import TrainedModel
from raereid.tools.inputs import dataset_name


def evaluate_checkpoint(trained: TrainedModel, dataset: ReidDataset, use_rerank: bool = False,
                        descriptor: str = "final") -> dict:
    """{"variant", "learner", "source", "target", mAP, rank1/5/10, mINP (percent), "iterations", "seconds"} like
    metrics.json;
    "target" is the evaluated dataset and "seconds" the evaluation time. `descriptor` is "final" (Algorithm 2's)
    or "encoder" (GAP(Enc(I)), to see what fusion adds)."""
    if not dataset.has_test:
        raise DatasetError(
            f"dataset {dataset.name!r} has no query/gallery split to evaluate on",
            where=dataset.root,
            fix="evaluate on a dataset with query and gallery images (Market/Duke/MSMT layouts, or query.csv + "
                "gallery.csv)",
        )
    device = next(trained.model.parameters()).device
    started = time.perf_counter()
    metrics = evaluate_model(trained.model, dataset, trained.cfg, Runtime(torch.device(device)), kind=descriptor,
                             use_rerank=use_rerank)
    return MetricsRecord(trained.model.variant.name, trained.cfg.learner.name, dataset_name(trained.cfg.data.source),
                         dataset.name, scores={k: metrics[k] for k in METRIC_KEYS}, iterations=trained.iteration,
                         seconds=time.perf_counter() - started).to_json()


def format_metrics(result: dict, rerank: bool = False) -> str:
    """A small table: one line per metric, in percent."""
    labels = {"mAP": "mAP", "rank1": "rank-1", "rank5": "rank-5", "rank10": "rank-10", "mINP": "mINP"}
    head = (
        f"{result['variant']} model, {result['learner']} learner ({result['iterations']} iterations, source "
        f"{result['source']}) on {result['target']}"
        + (" with k-reciprocal re-ranking" if rerank else "")
    )
    lines = [head, f"{'metric':<10}{'percent':>9}"] + [f"{labels[k]:<10}{result[k]:>9.1f}" for k in METRIC_KEYS]
    return "\n".join(lines + [f"evaluated in {result['seconds']:.1f} s"])
