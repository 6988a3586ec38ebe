"""Pseudo-label generators behind one small interface: features in, int64 labels out (-1 = outlier).

`build_label_generator("dbscan", eps=0.6)` or `("kmeans", num_clusters=500)` builds one; a class
decorated with `@register_label_generator("name")` plugs a new method in; `pseudo_labels` is the
one-call convenience. Features are float32 (N, D) and need not be L2-normalised: both built-in
methods normalise the rows first (DBSCAN through `jaccard_distance`, as SpCL does).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

import numpy as np

from raereid.errors import ConfigError
from raereid.registry import Registry


@runtime_checkable
class LabelGenerator(Protocol):
    """Anything callable as generator(features (N, D) float32) -> (N,) int64 labels, -1 for outliers."""

    def __call__(self, features: np.ndarray) -> np.ndarray: ...


G = TypeVar("G", bound=Callable[..., LabelGenerator])
REGISTRY: Registry[Callable[..., LabelGenerator]] = Registry("pseudo-label method", "cluster.method")


def register_label_generator(name: str) -> Callable[[G], G]:
    """Class (or factory) decorator: makes `build_label_generator(name, **params)` construct it with params."""
    return REGISTRY.register(name)


def available_label_generators() -> list[str]:
    """Names accepted by `build_label_generator`."""
    return REGISTRY.names()


def label_generator_params(method: str) -> set[str]:
    """The parameter names the generator `method` takes (a config can then pass only those)."""
    return set(inspect.signature(REGISTRY.get(method)).parameters)


def build_label_generator(method: str, **params: Any) -> LabelGenerator:
    """The registered generator `method` built with `params`; unknown names or parameters raise ConfigError."""
    factory = REGISTRY.get(method)
    try:
        inspect.signature(factory).bind(**params)
    except TypeError as exc:
        raise ConfigError(f"bad parameters for label generator {method!r}: {exc}",
                          fix=f"accepted: {inspect.signature(factory)}") from exc
    return factory(**params)


def pseudo_labels(
    feats: np.ndarray,
    method: str = "dbscan",
    eps: float | str = 0.6,
    min_samples: int = 4,
    k1: int = 30,
    k2: int = 6,
    **params: Any,
) -> np.ndarray:
    """Labels of `feats` from the generator `method`; eps, min_samples, k1 and k2 go to generators that take them."""
    accepted = label_generator_params(method)
    named = {k: v for k, v in {"eps": eps, "min_samples": min_samples, "k1": k1, "k2": k2}.items() if k in accepted}
    generator = build_label_generator(method, **{**named, **params})
    return generator(feats)


def check_labels_out(labels: np.ndarray, n: int, name: str) -> np.ndarray:
    """Labels as (n,) int64, or ConfigError naming the generator that returned something else."""
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ConfigError(f"label generator {name!r} returned {labels.dtype} labels of shape {labels.shape}, "
                          f"expected ({n},) int")
    return labels.astype(np.int64, copy=False)
