"""A name -> object registry with aliases and a clear error for unknown names.

Used for activations, initialisers, losses, optimisers, schedules and datasets, so a spec names
things by string and an unknown string gets one sentence listing what exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from gradlab.errors import SpecError

T = TypeVar("T")


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_")


class Registry(Generic[T]):
    """Maps canonical names (and aliases) to objects.

    >>> r = Registry("colour")
    >>> @r.register("red", "rouge")
    ... class Red: ...
    >>> r.get("Rouge") is Red
    True
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self.add(name, obj, *aliases)
            return obj

        return deco

    def register_class(self, name: str, *aliases: str) -> Callable[[T], T]:
        """Like :meth:`register`, and sets the class's ``name`` to the canonical name."""

        def deco(cls: T) -> T:
            cls.name = name
            self.add(name, cls, *aliases)
            return cls

        return deco

    def add(self, name: str, obj: T, *aliases: str) -> None:
        key = _norm(name)
        if key in self._aliases:
            raise KeyError(f"{self.kind} {name!r} registered twice")
        self._items[key] = obj
        self._aliases[key] = key
        for alias in aliases:
            self._aliases[_norm(alias)] = key

    def unalias(self, alias: str) -> None:
        """Forget ``alias`` (never a canonical name), so that a new entry can take the name."""
        key = _norm(alias)
        if self._aliases.get(key, key) != key:
            del self._aliases[key]

    def canonical(self, name: str, field: str | None = None) -> str:
        """The canonical name for ``name`` (an alias or any case), or a SpecError."""
        if not isinstance(name, str):
            raise SpecError(field or self.kind, f"expected a {self.kind} name, got {name!r}")
        key = self._aliases.get(_norm(name))
        if key is None:
            choices = ", ".join(sorted(self._items))
            raise SpecError(
                field or self.kind, f"unknown {self.kind} {name!r} (choose from: {choices})"
            )
        return key

    def get(self, name: str, field: str | None = None) -> T:
        return self._items[self.canonical(name, field)]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _norm(name) in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
