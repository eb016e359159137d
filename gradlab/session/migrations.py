"""Upgrading an older session to the current format, one version at a time.

A migrator upgrades ``(manifest, arrays)`` from format ``n`` to ``n + 1``:

>>> @migrator(1)                                          # doctest: +SKIP
... def _split_loss(manifest, arrays):
...     arrays["history/train_loss"] = arrays.pop("history/loss")
...     return manifest, arrays

:func:`migrate` runs them in order and stamps ``"format_version"`` after each step. The zip
container (``manifest.json`` + ``arrays/<name>.npy`` described by the manifest's ``"arrays"``
table) is the same in every version; migrators change what the manifest and arrays hold.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Arrays = dict[str, np.ndarray]
Migrator = Callable[[dict, Arrays], tuple[dict, Arrays]]

# from_version -> fn upgrading from_version to from_version + 1
_REGISTRY: dict[int, Migrator] = {}


class MissingMigration(LookupError):
    """No migrator is registered from ``version`` to ``version + 1``."""

    def __init__(self, version: int):
        self.version = version
        super().__init__(f"no migration from session format {version} to {version + 1}")


class MigrationFailed(RuntimeError):
    """The migrator from ``version`` to ``version + 1`` raised or returned something unusable."""

    def __init__(self, version: int, reason: str):
        self.version = version
        self.reason = reason
        super().__init__(f"migration from session format {version} to {version + 1}: {reason}")


def migrator(from_version: int) -> Callable[[Migrator], Migrator]:
    """Register ``fn(manifest, arrays) -> (manifest, arrays)`` upgrading ``from_version`` by one."""
    if isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 1:
        raise ValueError(f"a migrator's from_version must be an int >= 1, got {from_version!r}")

    def deco(fn: Migrator) -> Migrator:
        if from_version in _REGISTRY:
            raise ValueError(f"a migrator from session format {from_version} is already registered")
        _REGISTRY[from_version] = fn
        return fn

    return deco


def migrate(manifest: dict, arrays: Arrays, to_version: int) -> tuple[dict, Arrays]:
    """Apply the registered migrators from ``manifest["format_version"]`` up to ``to_version``.

    Raises :class:`MissingMigration` at the first gap (before running any migrator, so a gap
    never leaves a half-upgraded session) and :class:`MigrationFailed` if a migrator raises or
    does not return a ``(dict, dict)`` pair.
    """
    version = manifest["format_version"]
    for v in range(version, to_version):
        if v not in _REGISTRY:
            raise MissingMigration(v)
    for v in range(version, to_version):
        try:
            result = _REGISTRY[v](manifest, arrays)
        except Exception as exc:  # a migrator's bug becomes one sentence, not a traceback
            raise MigrationFailed(v, f"{type(exc).__name__}: {exc}") from exc
        if (
            not isinstance(result, tuple)
            or len(result) != 2
            or not isinstance(result[0], dict)
            or not isinstance(result[1], dict)
        ):
            raise MigrationFailed(v, "the migrator did not return a (manifest, arrays) pair")
        manifest, arrays = result
        manifest["format_version"] = v + 1
    return manifest, arrays
