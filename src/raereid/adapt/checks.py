"""Checks of a config made before any image is read: the names it takes from registries, and what depends on the
datasets it trains on.

`load_config` checks each value alone. `check_names` is the "names" stage, run right after loading (by the
commands that load a config, and by the trainer): the backbone, learner and label generator must be registered
(config cannot ask, it does not import the packages it configures). What depends on the data (identities in the
source, images in the target) or on the number of processes is `check_datasets`, called by the trainer at start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from raereid.clustering import available_label_generators
from raereid.config.rules import CrossRule, Rule
from raereid.config.schema import Config, flat_values
from raereid.config.validation import RULES, check_cross_rule, origin, rule_error, validate_config
from raereid.data.records import ReidDataset
from raereid.errors import ConfigError, DatasetError
from raereid.learners import available_learners, learner_class
from raereid.models.backbones import TIMM_PREFIX, backbone_names, has_imagenet_weights, is_backbone


def _registered(names: Callable[[], Iterable[str]]) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in set(names())


# The registry behind each "names" rule of RULES: (whether a value is registered, the names to list).
REGISTRIES: dict[str, tuple[Callable[[Any], bool], Callable[[], Iterable[str]]]] = {
    "model.backbone": (is_backbone, lambda: [*backbone_names(), f"{TIMM_PREFIX}NAME"]),
    "cluster.method": (_registered(available_label_generators), available_label_generators),
    "learner.name": (_registered(available_learners), available_learners),
}


def _weights_exist(cfg: Config) -> str | None:
    if cfg.model.pretrained == "imagenet" and not has_imagenet_weights(cfg.model.backbone):
        return f"model.backbone={cfg.model.backbone} has no ImageNet weights but model.pretrained=imagenet"
    return None


def _target_views(cfg: Config) -> str | None:
    least, k = learner_class(cfg.learner.name).min_target_k, cfg.data.target_batch[1]
    if k < least:
        return (f"learner.name={cfg.learner.name} needs at least {least} images of each target class in a batch, "
                f"but the target batch has {k} (data.target_k={cfg.data.target_k}, data.k={cfg.data.k})")
    return None


NAME_CROSS_RULES = [
    CrossRule(("model.backbone", "model.pretrained"), _weights_exist,
              "set model.pretrained=none (random initialisation) or to a weights file of this network, "
              "or pick a torchvision backbone"),
    CrossRule(("learner.name", "data.target_k", "data.k"), _target_views,
              "set data.target_k to 0 (as data.k) or to at least the learner's least; only mmcl trains with 1"),
]


def name_rules() -> dict[str, Rule]:
    """The "names" rules of RULES, each reading its registry: what `check_names` applies and `config --list` shows."""
    return {key: replace(rule, ok=REGISTRIES[key][0], names=REGISTRIES[key][1])
            for key, rule in RULES.items() if rule.stage == "names"}


def check_names(cfg: Config) -> Config:
    """The "names" stage: every registry name of `cfg` is registered (its plugins are imported by then) and the
    backbone has the weights asked for; the first violation raises the ConfigError the load stage would."""
    values = flat_values(cfg)
    for key, rule in name_rules().items():
        if not rule.ok(values[key]):
            raise rule_error(key, values[key], rule, origin(cfg, key))
    for cross in NAME_CROSS_RULES:
        check_cross_rule(cfg, cross)
    return cfg


def check_datasets(cfg: Config, source: ReidDataset, target: ReidDataset, use_target: bool,
                   world_size: int = 1) -> None:
    """Refuse a source without two identities, a target too small to cluster, a k-means asking for more clusters than
    target images, a P x K batch that does not split over the processes, and train.eval_split=val for a target
    without that split; a P above the source's identities is allowed (every batch then holds all of them, see
    PKBatchSampler). The config's own ranges and names are checked again first, for a Config built or changed in
    code rather than by load_config. The recipe calls it for the adaptation stage before the source stage trains."""
    check_names(validate_config(cfg))
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
    tp, tk = cfg.data.target_batch
    if use_target and (tp * tk) % world_size:
        raise ConfigError(
            f"the target batch of {tp} x {tk} images does not split evenly over {world_size} processes",
            where=f"data.target_p from {origin(cfg, 'data.target_p')}; data.target_k from "
                  f"{origin(cfg, 'data.target_k')} (0: data.p, data.k)",
            fix="choose a target batch (data.target_p x data.target_k) divisible by the number of processes",
        )
    images = len(target.train)
    needed = 2 * max(cfg.cluster.min_samples, 2)
    if use_target and images < needed:
        raise DatasetError(f"the target has {images} training image(s): too few to cluster", where=target.root,
                           fix=f"clustering needs at least {needed} target images (two clusters of min_samples)")
    if use_target and cfg.cluster.method == "kmeans" and cfg.cluster.num_clusters > images:
        raise ConfigError(
            f"cluster.num_clusters={cfg.cluster.num_clusters} is more than the target's {images} training images",
            where=f"{origin(cfg, 'cluster.num_clusters')}; target {target.root}",
            fix=f"set cluster.num_clusters to at most {images} (k-means needs an image per cluster)",
        )
    if cfg.train.eval_split == "val" and not target.has_split("val"):
        target.evaluation_split("val")  # the DatasetError naming the folder and what to add
