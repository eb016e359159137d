"""Small checks for spec values: each returns the clean value or raises SpecError naming the field.

Shared by the engine (layer lists), the data layer (dataset entries) and the experiment spec, so a
bad value reads the same everywhere: ``"training.lr: must be > 0, got -0.1"``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from gradlab.errors import SpecError


def integer(
    value: Any, field: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An int (bools refused; floats accepted only when whole, e.g. 500.0 from JSON)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(field, f"must be a whole number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise SpecError(field, f"must be a whole number, got {value!r}")
        value = int(value)
    if minimum is not None and value < minimum:
        raise SpecError(field, f"must be >= {minimum:,}, got {value:,}")
    if maximum is not None and value > maximum:
        raise SpecError(field, f"must be <= {maximum:,}, got {value:,}")
    return int(value)


def number(
    value: Any,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    exclusive_maximum: float | None = None,
) -> float:
    """A finite float within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(field, f"must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise SpecError(field, f"must be finite, got {value!r}")
    if minimum is not None and value < minimum:
        raise SpecError(field, f"must be >= {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise SpecError(field, f"must be <= {maximum:g}, got {value:g}")
    if exclusive_minimum is not None and value <= exclusive_minimum:
        raise SpecError(field, f"must be > {exclusive_minimum:g}, got {value:g}")
    if exclusive_maximum is not None and value >= exclusive_maximum:
        raise SpecError(field, f"must be < {exclusive_maximum:g}, got {value:g}")
    return value


def boolean(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(field, f"must be true or false, got {value!r}")
    return value


def string(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SpecError(field, f"must be a non-empty string, got {value!r}")
    return value


def choice(value: Any, field: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices:
        raise SpecError(field, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def mapping(value: Any, field: str) -> dict:
    if not isinstance(value, Mapping):
        raise SpecError(field, f"must be an object (a JSON dict), got {type(value).__name__}")
    return dict(value)


def no_unknown_keys(d: Mapping, field: str, allowed: Iterable[str]) -> None:
    """Refuse keys a spec does not know, naming the first one (typos must not pass silently)."""
    allowed = set(allowed)
    for key in d:
        if key not in allowed:
            prefix = f"{field}." if field else ""
            raise SpecError(
                f"{prefix}{key}", f"unknown field (expected one of: {', '.join(sorted(allowed))})"
            )
