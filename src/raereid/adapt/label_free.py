"""Label-free run health as a hook (docs/selection.md): the signals of every clustering, weights-only snapshots
along the run at clustering boundaries (`select.snapshots`), and the signals and score of each snapshot and of the
final model on the reference clustering; logged to train.log and TensorBoard (groups label_free and
label_free_snapshot), kept in the checkpoint for --resume, and written to metrics.json (`label_free`).

Nothing here reads a target identity: camera ids come from the records through `selection.camera_ids`, every other
input is a descriptor or a pseudo-label. The extractions this hook adds (a model that does not cluster, the final
model) and the labelled evaluation of snapshots (`select.evaluate_snapshots`, for the record) run with the random
state forked, so training draws the same random numbers with or without them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from raereid.adapt.build import Domains
from raereid.config.schema import Config
from raereid.engine.checkpoint import ModelRecord, save_checkpoint
from raereid.engine.run_folder import MODEL, RunFolder
from raereid.engine.runtime import Runtime
from raereid.engine.train_loop import CheckpointedLoop, Hook
from raereid.inference.evaluate import evaluate_model
from raereid.inference.features import extract
from raereid.models.rae import RAE
from raereid.selection import camera_ids, clustering_signals, score_signals, score_terms
from raereid.selection.record import Clustering, Judged, LabelFreeRecord
from raereid.selection.reference import reference_signals
from raereid.selection.score import get_spec
from raereid.selection.signals import SignalOptions, describe_signals

SNAPSHOT_GROUP = "label_free_snapshot"


@dataclass
class SeenClustering:
    """A training clustering as the relabel hook made it: the new and the previous pseudo-labels (None before the
    first) and the descriptors it extracted (kind -> (N, D)), of the target's training images in order."""

    iteration: int
    epoch: int
    descriptor: str
    labels: np.ndarray
    previous: np.ndarray | None
    features: dict[str, np.ndarray]


@dataclass
class LabelFreeContext:
    """What the hook reads: the network, the domains, the run's config and folder, and the weights record to save."""

    model: RAE
    domains: Domains
    runtime: Runtime
    cfg: Config
    amp: bool
    folder: RunFolder
    model_record: Callable[[], ModelRecord]  # the network's weights-only record, at the current iteration


def snapshot_iterations(max_iter: int, iters_per_epoch: int, count: int) -> list[int]:
    """At most `count` clustering boundaries (epoch starts after the first) spread over a run of `max_iter`
    iterations: for i = 1..count, the first boundary at or after i * max_iter / (count + 1)."""
    boundaries = list(range(iters_per_epoch, max_iter, max(1, iters_per_epoch)))
    chosen: list[int] = []
    for i in range(1, count + 1):
        due = next((b for b in boundaries if b >= i * max_iter / (count + 1)), None)
        if due is not None and due not in chosen:
            chosen.append(due)
    return chosen


def split_features(features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """The retrieval descriptor (the fused one when the model has fusion, as evaluation uses) and the other one."""
    if "final" in features:
        return features["final"], features.get("encoder")
    return features["encoder"], None


class LabelFreeHook(Hook):
    """Signals at every clustering (`on_clustering`, called by the relabel hook), the reference judgement at the start
    (the stability anchor), at every planned snapshot and of the final model."""

    loop: CheckpointedLoop

    def __init__(self, context: LabelFreeContext):
        self.ctx = context
        self.cameras = camera_ids(context.domains.target.train)
        self.record = LabelFreeRecord()
        self.spec = get_spec(self.record.score)
        self.reference: np.ndarray | None = None  # reference labels of the model judged last
        self.plan: list[int] = []
        self._seen: SeenClustering | None = None

    # ----------------------------------------------------------------- checkpoint state
    def state(self) -> dict[str, Any]:
        """The record so far and the last reference labels (a resumed run measures stability against them)."""
        return {"record": self.record.to_json(),
                "reference": None if self.reference is None else torch.from_numpy(self.reference)}

    def load_state(self, state: dict[str, Any] | None) -> None:
        if not state:
            return
        self.record = LabelFreeRecord.from_json(state["record"])
        self.reference = None if state["reference"] is None else state["reference"].numpy()

    # ----------------------------------------------------------------- the loop
    def before_train(self) -> None:
        self.plan = snapshot_iterations(self.loop.max_iter, self.loop.iters_per_epoch, self.ctx.cfg.select.snapshots)

    def before_step(self) -> None:
        iteration = self.loop.iteration
        if iteration == 0 and self.reference is None:
            self._judge("start", None)
        if iteration in self.plan:
            self._judge("snapshot", self.ctx.folder.snapshot(iteration).relative_to(self.ctx.folder.path).as_posix())
        self._seen = None  # the clustering's descriptors are not kept through the epoch

    def after_train(self) -> None:
        self._judge("final", MODEL)

    def on_clustering(self, seen: SeenClustering) -> None:
        """Log the signals of a training clustering (the run's own pseudo-labels; no labels read)."""
        self._seen = seen
        if not self.ctx.runtime.is_main:
            return
        started = time.perf_counter()
        every = self.ctx.cfg.select.signals == "all"
        features = seen.features[seen.descriptor] if every else None
        other = next((f for k, f in seen.features.items() if k != seen.descriptor), None) if every else None
        signals = clustering_signals(seen.labels, cameras=self.cameras, previous=seen.previous, features=features,
                                     second_features=other, options=SignalOptions())
        self.record.clusterings.append(Clustering(seen.iteration, seen.epoch, seen.descriptor, signals))
        monitor = self.loop.monitor
        monitor.info(f"epoch {seen.epoch}: label-free: {describe_signals(signals)} "
                     f"({time.perf_counter() - started:.2f} s)")
        monitor.scalars("label_free", _numbers(signals), seen.iteration)

    # ----------------------------------------------------------------- judging a model
    def _forked(self) -> AbstractContextManager:
        """The random state forked: what runs inside draws nothing from the training's stream."""
        device = self.ctx.runtime.device
        return torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])

    def _features(self, iteration: int) -> dict[str, np.ndarray]:
        """The target descriptors of the current weights: the relabel hook's when it just extracted them."""
        if self._seen is not None and self._seen.iteration == iteration:
            return self._seen.features
        ctx, d = self.ctx, self.ctx.cfg.data
        kinds = ("encoder", "final") if ctx.model.fusion is not None else ("encoder",)
        with self._forked():
            return extract(ctx.model, ctx.domains.target.train, d.height, d.width, ctx.runtime, kinds=kinds,
                           batch_size=d.test_batch_size, workers=min(d.workers, 2), amp=ctx.amp,
                           desc="label-free features", cache=d.cache_images)

    def _labelled(self) -> dict[str, dict[str, float | None]]:
        """The snapshot's scores on the target's labelled splits, for the record (never read by the score)."""
        ctx, target = self.ctx, self.ctx.domains.target
        out = {}
        with self._forked():
            for split in ("test", "val"):
                if target.has_split(split):
                    out[split] = evaluate_model(ctx.model, target.evaluation_split(split), ctx.cfg, ctx.runtime)
        return out

    def _judge(self, what: str, checkpoint: str | None) -> None:
        """Judge the current weights on the reference clustering; a snapshot is also saved (weights only)."""
        ctx, iteration = self.ctx, self.loop.iteration
        started = time.perf_counter()
        features = self._features(iteration)
        evaluated = time.perf_counter()
        labelled = self._labelled() if what == "snapshot" and ctx.cfg.select.evaluate_snapshots else None
        evaluated = time.perf_counter() - evaluated
        if not ctx.runtime.is_main:
            return
        if what == "snapshot":
            save_checkpoint(ctx.model_record().to_state(), ctx.folder.snapshot(iteration))
        primary, second = split_features(features)
        labels, signals = reference_signals(primary, cameras=self.cameras, previous=self.reference,
                                            second_features=second)
        self.reference = labels
        score, terms = score_signals(signals, self.spec), score_terms(signals, self.spec.terms)
        shown = "; ".join(f"{k} {v:.2f}" for k, v in terms.items() if v is not None)
        seconds = time.perf_counter() - started - evaluated  # the labelled evaluation is timed apart
        monitor = self.loop.monitor
        if what == "start":
            monitor.info(f"iteration {iteration}: label-free reference at the start: {describe_signals(signals)} "
                         f"({seconds:.2f} s)")
            return
        judged = Judged(checkpoint or MODEL, iteration, signals, score, terms, labelled)
        if what == "snapshot":
            self.record.add_snapshot(judged)
        else:
            self.record.final = judged
        name = f"snapshot {checkpoint}" if what == "snapshot" else "final model"
        score_text = "none" if score is None else f"{score:.3f}"
        monitor.info(f"iteration {iteration}: {name}: label-free score {score_text} ({self.spec.name}: {shown}); "
                     f"reference clustering: {describe_signals(signals)} ({seconds:.2f} s)")
        if labelled:
            scores = ", ".join(f"{split} mAP {m['mAP']:.1f}" for split, m in labelled.items())
            monitor.info(f"iteration {iteration}: {name}: {scores} (labelled, for the record: not used by the score; "
                         f"{evaluated:.2f} s)")
        monitor.scalars(SNAPSHOT_GROUP, {**_numbers(signals), **({"score": score} if score is not None else {})},
                        iteration)


def _numbers(signals: dict[str, Any]) -> dict[str, float]:
    """The signals that apply, as TensorBoard scalars (the image and camera counts, constant, are left out)."""
    return {k: float(v) for k, v in signals.items() if v is not None and k not in ("images", "cameras")}

