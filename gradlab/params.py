"""Declared hyper-parameters: name, kind, default, bounds and a one-line help text.

Optimisers, schedules and datasets declare their parameters with :class:`Param`; the same
declaration validates a spec (:func:`resolve`) and lets the window build its forms and tooltips
without knowing each component.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gradlab import validate
from gradlab.errors import SpecError


@dataclass(frozen=True)
class Param:
    """One hyper-parameter.

    ``kind`` is one of ``"int"``, ``"float"``, ``"bool"``, ``"choice"``, ``"str"``, ``"path"``.
    ``log`` hints the window to step the value on a log scale (learning rates, noise levels).
    ``optional`` lets the value be ``None`` (e.g. an optional label column).
    """

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple = ()
    log: bool = False
    optional: bool = False

    def validate(self, value: Any, field: str) -> Any:
        if value is None and self.optional:
            return None
        if self.kind == "int":
            lo = self.minimum if self.exclusive_minimum is None else self.exclusive_minimum + 1
            hi = self.maximum if self.exclusive_maximum is None else self.exclusive_maximum - 1
            return validate.integer(
                value,
                field,
                minimum=None if lo is None else int(lo),
                maximum=None if hi is None else int(hi),
            )
        if self.kind == "float":
            return validate.number(
                value,
                field,
                minimum=self.minimum,
                maximum=self.maximum,
                exclusive_minimum=self.exclusive_minimum,
                exclusive_maximum=self.exclusive_maximum,
            )
        if self.kind == "bool":
            return validate.boolean(value, field)
        if self.kind == "choice":
            return validate.choice(value, field, self.choices)
        if self.kind in ("str", "path"):
            return validate.string(value, field)
        raise AssertionError(f"unknown Param kind {self.kind!r}")


def resolve(
    params: Sequence[Param], given: Mapping[str, Any] | None, field: str, ignore: Sequence[str] = ()
) -> dict[str, Any]:
    """Validate ``given`` against ``params`` and fill in defaults.

    Keys in ``ignore`` are allowed but not returned (e.g. the ``name`` key of the entry itself).
    Unknown keys raise :class:`SpecError` naming the key, so typos never pass silently.
    """
    given = dict(given or {})
    known = {p.name for p in params}
    validate.no_unknown_keys(given, field, known | set(ignore))
    out: dict[str, Any] = {}
    for p in params:
        sub = f"{field}.{p.name}" if field else p.name
        out[p.name] = p.validate(given[p.name], sub) if p.name in given else p.default
    return out


def describe(params: Sequence[Param]) -> list[dict[str, Any]]:
    """JSON-able description of the parameters (for `gradlab presets`-style listings and docs)."""
    return [
        {k: v for k, v in p.__dict__.items() if v not in (None, (), False) or k == "default"}
        for p in params
    ]


__all__ = ["Param", "SpecError", "describe", "resolve"]
