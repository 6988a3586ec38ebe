"""A registry of named classes, factories or records of one kind (label generators, learners, dataset layouts,
variants).

`@registry.register("name")` adds one; `registry.get(name)` returns it or raises a ConfigError that
lists the registered names and says which config key chooses among them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from raereid.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> classes/factories of one `kind`, chosen by the config key `key`."""

    def __init__(self, kind: str, key: str):
        self.kind, self.key = kind, key
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator adding the decorated class or factory under `name` (a name is taken once)."""

        def decorate(item: T) -> T:
            if name in self._items and self._items[name] is not item:
                raise ConfigError(f"a {self.kind} named {name!r} is already registered ({self._items[name]!r})",
                                  fix="pick another name")
            self._items[name] = item
            return item

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def __iter__(self) -> Iterator[str]:
        """The registered names, in the order they were registered."""
        return iter(self._items)

    def items(self) -> list[tuple[str, T]]:
        """(name, item) pairs in the order they were registered (for lookups where the first match wins)."""
        return list(self._items.items())

    def get(self, name: str) -> T:
        """The item registered as `name`, or a ConfigError listing the choices."""
        if name not in self._items:
            choices = ", ".join(self.names())
            raise ConfigError(f"unknown {self.kind} {name!r}",
                              fix=f"{self.key} must be one of {choices} (or register your own)")
        return self._items[name]
