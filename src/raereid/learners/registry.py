"""The learner registry: `@register_learner("name")` makes a Learner subclass choosable as `cluster.learner`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from raereid.errors import ConfigError

if TYPE_CHECKING:
    from raereid.learners.base import Learner

L = TypeVar("L", bound=type)
_REGISTRY: dict[str, type[Learner]] = {}


def register_learner(name: str) -> Callable[[L], L]:
    """Class decorator: `build_learner(name, ...)` then constructs this class."""

    def decorate(cls: L) -> L:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ConfigError(f"a learner named {name!r} is already registered ({_REGISTRY[name]!r})", fix="pick another name")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def available_learners() -> list[str]:
    """Names accepted by `cluster.learner`."""
    return sorted(_REGISTRY)


def learner_class(name: str) -> type[Learner]:
    """The class registered as `name`, or ConfigError listing the choices."""
    if name not in _REGISTRY:
        raise ConfigError(f"unknown learner {name!r}", fix=f"cluster.learner must be one of {', '.join(available_learners())}")
    return _REGISTRY[name]
