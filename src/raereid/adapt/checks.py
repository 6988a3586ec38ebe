"""Checks of a config against the datasets it trains on, made once they are listed and before any image is read.

`load_config` checks each value alone; what depends on the data (identities in the source, images in
the target) or on the number of processes is checked here, called by the trainer at start.
"""

from __future__ import annotations

from raereid.config.schema import Config
from raereid.config.validation import origin, validate_config
from raereid.data.records import ReidDataset
from raereid.errors import ConfigError, DatasetError


def check_datasets(cfg: Config, source: ReidDataset, target: ReidDataset, use_target: bool,
                   world_size: int = 1) -> None:
    """Refuse a source without two identities, a k-means asking for more clusters than target images, a P x K
    batch that does not split over the processes, and train.eval_split=val for a target without that split; a P
    above the source's identities is allowed (every batch then holds all of them, see PKBatchSampler). The
    config's own ranges are checked again first, for a Config built or changed in code rather than by
    load_config."""
    validate_config(cfg)
    ids = len({r.pid for r in source.train})
    if ids < 2:
        raise DatasetError(
            f"the source dataset {source.name!r} has {ids} training identit{'y' if ids == 1 else 'ies'}",
            where=source.root,
            fix="the identity losses need at least two labelled identities in the source's training split",
        )
    p, k = cfg.data.p, cfg.data.k
    if (min(p, ids) * k) % world_size:
        raise ConfigError(
            f"the batch of {min(p, ids)} identities x {k} images does not split evenly over {world_size} processes",
            where=f"data.p from {origin(cfg, 'data.p')}; data.k from {origin(cfg, 'data.k')}",
            fix="choose data.p * data.k divisible by the number of processes",
        )
    images = len(target.train)
    if use_target and cfg.cluster.method == "kmeans" and cfg.cluster.num_clusters > images:
        raise ConfigError(
            f"cluster.num_clusters={cfg.cluster.num_clusters} is more than the target's {images} training images",
            where=f"{origin(cfg, 'cluster.num_clusters')}; target {target.root}",
            fix=f"set cluster.num_clusters to at most {images} (k-means needs an image per cluster)",
        )
    if cfg.train.eval_split == "val" and not target.has_split("val"):
        target.evaluation_split("val")  # the DatasetError naming the folder and what to add
