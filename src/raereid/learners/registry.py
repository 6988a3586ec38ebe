"""The learner registry: `@register_learner("name")` makes a Learner subclass choosable as `learner.name`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from raereid.registry import Registry

if TYPE_CHECKING:
    from raereid.learners.base import Learner

L = TypeVar("L", bound=type)
REGISTRY: Registry[type[Learner]] = Registry("learner", "learner.name")


def register_learner(name: str) -> Callable[[L], L]:
    """Class decorator: `learner.name: NAME` then trains with this class (its `name` attribute is set)."""

    def decorate(cls: L) -> L:
        cls.name = name
        return REGISTRY.register(name)(cls)

    return decorate


def available_learners() -> list[str]:
    """Names accepted by `learner.name`."""
    return REGISTRY.names()


def learner_class(name: str) -> type[Learner]:
    """The class registered as `name`, or ConfigError listing the choices."""
    return REGISTRY.get(name)
