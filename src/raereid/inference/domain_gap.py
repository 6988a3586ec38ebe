"""The domain gap as a picture: t-SNE of source and target descriptors, one panel per model.

Adaptation should mix the two domains in descriptor space. Besides the picture, each panel reports
how mixed they are: the share of every image's k nearest neighbours (cosine, full descriptors, not
the 2-D map) that come from the other domain, next to the share expected if domains did not matter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from raereid.config.schema import Config
from raereid.data.records import ImageRecord
from raereid.engine.runtime import Runtime
from raereid.errors import DatasetError
from raereid.inference.features import extract, l2_normalize
from raereid.models.rae import RAE

SOURCE_COLOUR, TARGET_COLOUR = "#1f77b4", "#ff7f0e"


def subsample(records: Sequence[ImageRecord], n: int, seed: int = 0) -> list[ImageRecord]:
    """At most `n` records drawn without replacement (seeded), in their original order."""
    if len(records) <= n:
        return list(records)
    keep = np.sort(np.random.default_rng(seed).choice(len(records), n, replace=False))
    return [records[i] for i in keep]


def model_descriptors(model: RAE, records: Sequence[ImageRecord], cfg: Config) -> np.ndarray:
    """L2-normalised final descriptors of `records` at the model's own input size."""
    height, width = model.input_size
    device = next(model.parameters()).device
    feats = extract(
        model, records, height, width, Runtime(torch.device(device)), batch_size=cfg.data.test_batch_size,
        workers=min(cfg.data.workers, 2), flip=cfg.model.flip_test, amp=cfg.train.amp, desc="domain gap",
    )["final"]
    # float64: norms of huge descriptors overflow float32
    return l2_normalize(feats.astype(np.float64)).astype(np.float32)


def cross_domain_share(feats: np.ndarray, domain: np.ndarray, k: int = 10) -> tuple[float, float]:
    """(mean share of each point's k nearest neighbours from the other domain, that share under random mixing)."""
    n = len(feats)
    k = max(1, min(k, n - 1))
    sims = feats @ feats.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    share = float((domain[nearest] != domain[:, None]).mean())
    counts = np.bincount(domain, minlength=2)
    expected = float(np.mean((n - counts[domain]) / (n - 1)))
    return share, expected


def embed_2d(feats: np.ndarray, seed: int = 0) -> np.ndarray:
    """t-SNE of the descriptors (after PCA to 50 dimensions when they are wider); all points at 0 when they are
    identical.

    Runs on one thread: sklearn's OpenMP gradient loop slows down ~100x when the cores are busy (e.g.
    with training), and one thread embeds 1000 points in a few seconds.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    x = feats.astype(np.float64)
    if not np.abs(x - x.mean(axis=0)).max(initial=0.0) > 1e-12:
        # identical descriptors (a collapsed model): one point; sklearn's t-SNE would crash
        return np.zeros((len(x), 2))
    perplexity = float(max(2.0, min(30.0, (len(x) - 1) / 3)))
    with threadpool_limits(limits=1):
        if x.shape[1] > 50 and x.shape[0] > 50:
            x = PCA(50, random_state=seed).fit_transform(x)
        return TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed).fit_transform(x)


def domain_gap_picture(
    models: dict[str, RAE],
    source_records: Sequence[ImageRecord],
    target_records: Sequence[ImageRecord],
    cfg: Config,
    out: str | Path,
    per_domain: int = 500,
    seed: int = 0,
    neighbours: int = 10,
    names: tuple[str, str] = ("", ""),
) -> Path:
    """One PNG, a t-SNE panel per model (e.g. {"before": direct, "after": full}) of the same subsample of
    both domains, coloured by domain (`names`: the datasets' names for the legend); the mixing figures go to
    a .json beside it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    source, target = subsample(source_records, per_domain, seed), subsample(target_records, per_domain, seed + 1)
    if len(source) < 2 or len(target) < 2:
        raise DatasetError(
            f"too few images for a domain-gap picture ({len(source)} source, {len(target)} target)",
            fix="both domains need at least two images",
        )
    domain = np.array([0] * len(source) + [1] * len(target))
    figure = Figure(figsize=(5.2 * len(models), 5.0), dpi=100)
    FigureCanvasAgg(figure)
    stats: dict[str, dict] = {}
    for i, (title, model) in enumerate(models.items()):
        feats = model_descriptors(model, source + target, cfg)
        share, expected = cross_domain_share(feats, domain, neighbours)
        points = embed_2d(feats, seed)
        stats[title] = {"cross_domain_share": round(share, 4), "expected_if_mixed": round(expected, 4), "k": neighbours}
        ax = figure.add_subplot(1, len(models), i + 1)
        for d, (role, name, colour) in enumerate(zip(("source", "target"), names, (SOURCE_COLOUR, TARGET_COLOUR))):
            sel = domain == d
            label = f"{role} {name} ({int(sel.sum())})".replace("  ", " ")
            ax.scatter(points[sel, 0], points[sel, 1], s=6, c=colour, alpha=0.7, label=label)
        ax.set_title(f"{title}\n{neighbours}-NN from the other domain: {share:.2f} (mixed: {expected:.2f})",
                     fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="best", fontsize=8, markerscale=2)
    figure.suptitle("t-SNE of descriptors, coloured by domain", fontsize=11)
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    summary = {"source": names[0] or "source", "target": names[1] or "target", "per_domain": [len(source), len(target)],
               "models": stats}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return out
