"""Declared hyper-parameters: name, kind, default, bounds and a one-line help text.

Every component that takes settings declares them with :class:`Param`: optimisers, schedules,
datasets, activations, initialisers, layers, and the spec's own training and probe fields. The
same declaration validates a spec (:func:`resolve`) and lets the window build its forms and
tooltips without knowing each component, so a default, a bound or a help text is written once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gradlab import validate
from gradlab.errors import SpecError

AUTO = "auto"


@dataclass(frozen=True)
class Param:
    """One hyper-parameter.

    ``kind`` is one of ``"int"``, ``"float"``, ``"bool"``, ``"choice"``, ``"str"``, ``"path"``.
    ``log`` hints the window to step the value on a log scale (learning rates, noise levels).
    ``optional`` lets the value be ``None`` (e.g. an optional label column, no budget).
    ``auto`` lets an int be the string ``"auto"`` (the experiment picks the value itself).
    ``choice_help`` holds one help line per entry of ``choices`` (same order), for tooltips.
    ``label`` is the short name a form shows (optional; forms fall back on the name).
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
    auto: bool = False
    choice_help: tuple = ()
    label: str = ""

    def validate(self, value: Any, field: str) -> Any:
        if value is None and self.optional:
            return None
        if self.auto and value == AUTO:
            return AUTO
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

    def help_for(self, choice: Any) -> str:
        """The help line of one of the ``choices`` ("" if none is declared)."""
        if choice in self.choices and len(self.choice_help) == len(self.choices):
            return self.choice_help[self.choices.index(choice)]
        return ""

    def bounds_text(self) -> str:
        """The allowed range in words (``"> 0"``, ``"0 to 1"``), "" when unbounded."""
        lo = (
            f">= {self.minimum:g}"
            if self.minimum is not None
            else (f"> {self.exclusive_minimum:g}" if self.exclusive_minimum is not None else "")
        )
        hi = (
            f"<= {self.maximum:g}"
            if self.maximum is not None
            else (f"< {self.exclusive_maximum:g}" if self.exclusive_maximum is not None else "")
        )
        return ", ".join(x for x in (lo, hi) if x)


def resolve(
    params: Sequence[Param],
    given: Mapping[str, Any] | None,
    field: str,
    ignore: Sequence[str] = (),
    problems: list[SpecError] | None = None,
) -> dict[str, Any]:
    """Validate ``given`` against ``params`` and fill in defaults.

    Keys in ``ignore`` are allowed but not returned (e.g. the ``name`` key of the entry itself).
    Unknown keys raise :class:`SpecError` naming the key, so typos never pass silently; a
    parameter whose default is None and that is not ``optional`` is required.

    With a ``problems`` list, every bad key and value is appended to it (each a
    :class:`SpecError` naming its field) and takes its default in the result, instead of the
    first one being raised: the window marks every bad field at once from one pass.
    """
    given = dict(given or {})
    known = {p.name for p in params}
    allowed = known | set(ignore)
    prefix = f"{field}." if field else ""
    for key in given:
        if key not in allowed:
            err = SpecError(
                f"{prefix}{key}", f"unknown field (expected one of: {', '.join(sorted(allowed))})"
            )
            if problems is None:
                raise err
            problems.append(err)
    out: dict[str, Any] = {}
    for p in params:
        if p.name not in given:
            if p.default is None and not p.optional:  # required (a data file, say)
                err = SpecError(f"{prefix}{p.name}", f"is required ({p.help.rstrip('.')})")
                if problems is None:
                    raise err
                problems.append(err)
            out[p.name] = p.default
            continue
        try:
            out[p.name] = p.validate(given[p.name], f"{prefix}{p.name}")
        except SpecError as err:
            if problems is None:
                raise
            problems.append(err)
            out[p.name] = p.default
    return out


def by_name(params: Sequence[Param]) -> dict[str, Param]:
    return {p.name: p for p in params}


def describe(params: Sequence[Param]) -> list[dict[str, Any]]:
    """JSON-able description of the parameters (for `gradlab presets`-style listings and docs)."""
    return [
        {k: v for k, v in p.__dict__.items() if v not in (None, (), False, "") or k == "default"}
        for p in params
    ]


__all__ = ["AUTO", "Param", "SpecError", "by_name", "describe", "resolve"]
