"""Algorithm 1, step 1, as a hook: at the start of every epoch extract the target's descriptors, hand them to the
learner, ask the pseudo-label stage for new labels and hand those to the learner too. A learner that does not use
clusters (MMCL) gets the descriptors only: no clustering is run and every target image is a class of its own.

Before the first clustering of a run, `train.adabn` re-estimates the target's batch-norm statistics.
The hook sees a `RelabelContext` (what relabelling needs), not the trainer; when the learner replaced
its trainable modules, `on_new_modules` lets the trainer rebuild the optimiser group and DDP wrappers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from raereid.adapt.adabn import adapt_batch_norm
from raereid.adapt.build import Domains
from raereid.adapt.label_free import SeenClustering
from raereid.adapt.pseudo import PseudoLabelStage, label_quality
from raereid.config.schema import DataConfig
from raereid.engine.runtime import Runtime
from raereid.engine.train_loop import CheckpointedLoop, Hook
from raereid.inference.features import extract
from raereid.learners import ClusterRound, Learner
from raereid.models.dsbn import bn_domain
from raereid.models.rae import RAE


@dataclass
class RelabelContext:
    """What relabelling reads and calls: the network, the domains, the stage and the learner."""

    model: RAE
    domains: Domains
    runtime: Runtime
    data: DataConfig  # input size, extraction batch size and workers, image cache
    feature: str  # cluster.feature: the descriptor clustered once fusion is trained ("final") or always the encoder's
    adabn: bool  # train.adabn: re-estimate the target's batch-norm statistics before the first clustering
    amp: bool
    stage: PseudoLabelStage
    learner: Learner
    on_new_modules: Callable[[], None]  # the learner replaced its trainable modules
    fusion_trained: bool = False  # P was loaded from train.init, so its output can be clustered at once
    observe: Callable[[SeenClustering], None] | None = None  # sees every clustering (the label-free signals)


class RelabelHook(Hook):
    """Recluster at every epoch start (and when a resumed run has no pseudo-labels yet)."""

    loop: CheckpointedLoop

    def __init__(self, context: RelabelContext):
        self.ctx = context

    def before_step(self) -> None:
        loop, ctx = self.loop, self.ctx
        if loop.iteration != loop.epoch_start and ctx.stage.current is not None:
            return
        if loop.iteration == 0 and ctx.adabn:
            d, target = ctx.data, ctx.domains.target.train
            n = adapt_batch_norm(ctx.model, target, d.height, d.width, ctx.runtime.device, d.test_batch_size,
                                 min(d.workers, 2))
            loop.monitor.info(f"AdaBN: {n} batch-norm layers re-estimated on {len(target)} target images")
        self.recluster()

    def clustered_kind(self) -> str:
        """'final' (the fused descriptor) once P has been trained in this run or loaded from train.init, when
        cluster.feature asks for it; else 'encoder'. A freshly initialised P is random, so its output is not
        clustered, and without fusion the final descriptor is the encoder's anyway."""
        trained = self.loop.iteration > 0 or self.ctx.fusion_trained
        return "final" if self.ctx.feature == "final" and self.ctx.model.fusion is not None and trained else "encoder"

    def _extract(self, records: list, desc: str) -> dict[str, np.ndarray]:
        ctx, d = self.ctx, self.ctx.data
        kinds = ("encoder", "final") if ctx.model.fusion is not None else ("encoder",)
        return extract(ctx.model, records, d.height, d.width, ctx.runtime, kinds=kinds, batch_size=d.test_batch_size,
                       workers=min(d.workers, 2), amp=ctx.amp, desc=desc, cache=d.cache_images)

    def _source_features(self) -> dict[str, np.ndarray]:
        with bn_domain(self.ctx.model, "source"):
            return self._extract(self.ctx.domains.source.train, "source features")

    def recluster(self) -> None:
        loop, ctx = self.loop, self.ctx
        target = ctx.domains.target.train
        feats = self._extract(target, "target features")
        ctx.learner.on_target_features(feats)
        if not ctx.learner.uses_clusters:
            ctx.stage.every_image(len(target))
            loop.monitor.info(f"epoch {loop.epoch}: {len(target)} target images, each a class of its own (learner "
                              f"{ctx.learner.name} does not cluster)")
            return
        kind = self.clustered_kind()
        previous = ctx.stage.current
        pseudo = ctx.stage.relabel(feats[kind], ctx.runtime)
        n, outliers = pseudo.num_clusters, pseudo.num_outliers
        main = ctx.runtime.is_main
        learned = "".join(f", {k} {v:.3g}" for k, v in ctx.stage.learned().items()) if main else ""
        quality = label_quality(pseudo, np.array([r.pid for r in target])) if main else None
        note = f"; vs true ids (analysis only): ARI {quality['ari']:.3f}, NMI {quality['nmi']:.3f}" if quality else ""
        loop.monitor.info(f"epoch {loop.epoch}: {n} clusters, {outliers} outliers of {len(pseudo.labels)} target "
                          f"images ({kind} descriptor){learned}{note}")
        scores = {"ari": quality["ari"], "nmi": quality["nmi"]} if quality else {}
        loop.monitor.scalars("cluster", {"clusters": n, "outliers": outliers, **scores}, loop.iteration)
        if ctx.observe is not None:
            ctx.observe(SeenClustering(loop.iteration, loop.epoch, kind, pseudo.labels,
                                       None if previous is None else previous.labels, feats))
        if not pseudo.usable:
            loop.monitor.warning(f"epoch {loop.epoch}: clustering gave {n} cluster(s); this epoch trains on the source "
                                 "only (check cluster.eps / cluster.min_samples if this persists)")
            return
        round_ = ClusterRound(pseudo.labels, feats, self._source_features, ctx.domains.source_labels)
        if ctx.learner.on_clustering(round_):
            ctx.on_new_modules()
