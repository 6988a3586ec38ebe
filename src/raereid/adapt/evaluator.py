"""The target's scores during and after an adaptation run: each evaluation (the test and validation splits as
`train.eval_split` asks, and the reconstruction quality of a model with a decoder), logged and kept in a history the
checkpoint carries, and the final metrics record, OUTPUT/metrics.json (`raereid.inference.metrics`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from raereid.adapt.build import Domains
from raereid.config.schema import Config
from raereid.engine.monitor import Monitor
from raereid.engine.runtime import Runtime
from raereid.inference.evaluate import evaluate_model, reconstruction_quality, spread
from raereid.inference.metrics import METRIC_KEYS, RECONSTRUCTION_KEYS, MetricsRecord
from raereid.models.dsbn import bn_domain
from raereid.models.rae import RAE


class RunEvaluator:
    """Evaluates a run's model on its target (`evaluate`), keeps every evaluation (`history`, checkpointed) and makes
    the final metrics record from the last one (`record`)."""

    def __init__(self, cfg: Config, runtime: Runtime, domains: Domains):
        self.cfg, self.runtime, self.domains = cfg, runtime, domains
        self.history: list[dict[str, Any]] = []

    def evaluated_at(self, iteration: int) -> bool:
        """Whether the last evaluation is of `iteration`."""
        return bool(self.history) and self.history[-1]["iteration"] == iteration

    def evaluate(self, model: RAE, iteration: int, monitor: Monitor) -> dict | None:
        """Metrics now, logged and kept in the history: the target's test split (top level) and validation split
        ("val") as `train.eval_split` asks, and for a model with a decoder the PSNR / SSIM of its reconstructions
        of source and target test images; None when there is nothing to score."""
        cfg, target = self.cfg, self.domains.target
        splits = [s for s in ("test", "val") if cfg.train.eval_split in ("all", s) and target.has_split(s)]
        if not splits:
            monitor.warning(f"target {target.name!r} has no query/gallery split: nothing to evaluate")
            return None
        entry: dict[str, Any] = {"iteration": iteration}
        for split in splits:
            metrics = evaluate_model(model, target.evaluation_split(split), cfg, self.runtime)
            if split == "test":
                entry.update(metrics)
            else:
                entry[split] = metrics
            monitor.info(
                f"iteration {iteration}: target {target.name} ({split}) mAP {metrics['mAP']:.1f}  "
                f"rank-1 {metrics['rank1']:.1f}  rank-5 {metrics['rank5']:.1f}  rank-10 {metrics['rank10']:.1f}  "
                f"mINP {metrics['mINP']:.1f}"
            )
            monitor.scalars("eval" if split == "test" else f"eval_{split}", metrics, iteration)
        if model.decoder is not None and cfg.train.psnr_images > 0:
            quality = self.reconstruction_quality(model)
            entry.update(quality)
            shown = ", ".join(f"{k} {v:.3g}" for k, v in quality.items())
            monitor.info(f"iteration {iteration}: reconstructions {shown}")
            monitor.scalars("reconstruction", quality, iteration)
        self.history.append(entry)
        return entry

    def reconstruction_quality(self, model: RAE) -> dict[str, float]:
        """PSNR / SSIM of Dec(Enc(I)) on `train.psnr_images` test images of each domain (source batch norms for the
        source's), as psnr_source, ssim_source, psnr_target, ssim_target."""
        out: dict[str, float] = {}
        for domain, data in (("source", self.domains.source), ("target", self.domains.target)):
            records = spread(data.query + data.gallery, self.cfg.train.psnr_images)
            if not records:
                continue
            with bn_domain(model, domain):
                scores = self.runtime.broadcast(
                    reconstruction_quality(model, records, self.cfg, self.runtime) if self.runtime.is_main else None)
            out.update({f"{k}_{domain}": v for k, v in scores.items()})
        return out

    def record(self, variant: str, learner: str, iteration: int, seconds: float,
               label_free: dict[str, Any] | None = None) -> MetricsRecord:
        """The final metrics: the evaluation of `iteration` (None scores when there is none, e.g. no test split), and
        the run's label-free record (`raereid.selection.record`)."""
        final = self.history[-1] if self.evaluated_at(iteration) else None
        return MetricsRecord(
            variant, learner, self.domains.source.name, self.domains.target.name,
            scores={k: None if final is None else final.get(k) for k in METRIC_KEYS},
            iterations=iteration, seconds=seconds,
            val=None if final is None or "val" not in final else dict(final["val"]),
            reconstruction={} if final is None else {k: final[k] for k in RECONSTRUCTION_KEYS if k in final},
            label_free=label_free,
        )

    def result(self, variant: str, learner: str, iteration: int, seconds: float, path: Path | None,
               label_free: dict[str, Any] | None = None) -> dict[str, Any]:
        """The final metrics as metrics.json holds them, written to `path` (None: not this process's to write)."""
        record = self.record(variant, learner, iteration, seconds, label_free)
        if path is not None:
            record.write(path)
        return record.to_json()
