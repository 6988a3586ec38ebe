"""Algorithm 1, step 1, as a hook: at the start of every epoch extract the target's descriptors,
cluster them into pseudo-labels (any registered label generator) and hand them to the learner.

Before the first clustering of a run, `train.adabn` re-estimates the target's batch-norm statistics.
Only the main process clusters; the labels are broadcast, so every process trains on the same ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from raereid.engine.adabn import adapt_batch_norm
from raereid.engine.features import extract
from raereid.engine.pseudo_labels import PseudoLabels, assign_pseudo_labels, generator_state, label_quality
from raereid.engine.train_loop import Hook
from raereid.learners import ClusterRound
from raereid.models.dsbn import bn_domain

if TYPE_CHECKING:
    from raereid.engine.trainer import Trainer


class ClusteringHook(Hook):
    """Recluster at every epoch start (and when a resumed run has no pseudo-labels yet)."""

    loop: Trainer

    def before_step(self) -> None:
        t = self.loop
        if t.iteration != t.epoch_start and t.pseudo is not None:
            return
        if t.iteration == 0 and t.cfg.train.adabn:
            cfg = t.cfg
            n = adapt_batch_norm(t.model, t.domains.target.train, cfg.data.height, cfg.data.width, t.runtime.device,
                                 cfg.data.test_batch_size, min(cfg.data.workers, 2))
            t.monitor.info(f"AdaBN: {n} batch-norm layers re-estimated on {len(t.domains.target.train)} target images")
        self.recluster()

    def clustered_kind(self) -> str:
        """'final' (the fused descriptor) once P has been trained in this run or loaded from train.init, when
        cluster.feature asks for it; else 'encoder'. A freshly initialised P is random, so its output is not
        clustered, and without fusion the final descriptor is the encoder's anyway."""
        t = self.loop
        trained = t.iteration > 0 or t.fusion_initialised
        return "final" if t.cfg.cluster.feature == "final" and t.variant.fusion and trained else "encoder"

    def _extract(self, records: list, desc: str) -> dict[str, np.ndarray]:
        t, cfg = self.loop, self.loop.cfg
        kinds = ("encoder", "final") if t.variant.fusion else ("encoder",)
        return extract(t.model, records, cfg.data.height, cfg.data.width, t.runtime, kinds=kinds, batch_size=cfg.data.test_batch_size,
                       workers=min(cfg.data.workers, 2), amp=t.amp, desc=desc, cache=cfg.data.cache_images)

    def _source_features(self) -> dict[str, np.ndarray]:
        with bn_domain(self.loop.model, "source"):
            return self._extract(self.loop.domains.source.train, "source features")

    def recluster(self) -> None:
        t = self.loop
        feats = self._extract(t.domains.target.train, "target features")
        kind = self.clustered_kind()
        pseudo = assign_pseudo_labels(feats[kind], t.label_generator) if t.runtime.is_main else None
        t.pseudo = PseudoLabels(t.runtime.broadcast(None if pseudo is None else pseudo.labels))
        n, outliers = t.pseudo.num_clusters, t.pseudo.num_outliers
        main = t.runtime.is_main
        learned = "".join(f", {k} {v:.3g}" for k, v in generator_state(t.label_generator).items()) if main else ""
        quality = label_quality(t.pseudo, np.array([r.pid for r in t.domains.target.train])) if main else None
        note = f"; vs true ids (analysis only): ARI {quality['ari']:.3f}, NMI {quality['nmi']:.3f}" if quality else ""
        t.monitor.info(
            f"epoch {t.epoch}: {n} clusters, {outliers} outliers of {len(t.pseudo.labels)} target images "
            f"({kind} descriptor){learned}{note}"
        )
        scores = {"ari": quality["ari"], "nmi": quality["nmi"]} if quality else {}
        t.monitor.scalars("cluster", {"clusters": n, "outliers": outliers, **scores}, t.iteration)
        if not t.pseudo.usable:
            t.monitor.warning(
                f"epoch {t.epoch}: clustering gave {n} cluster(s); this epoch trains on the source only "
                "(check cluster.eps / cluster.min_samples if this persists)"
            )
            return
        if t.learner.on_clustering(ClusterRound(t.pseudo.labels, feats, self._source_features, t.domains.source_labels)):
            t.optim.rebuild_target(t.learner)
            t.wrap()
