"""Presets: JSON specs in ``resources/presets/`` that reproduce classic experiments.

Each file is a full spec plus ``description`` (one line) and ``reference`` (the published
numbers it reproduces and what GradLab measured). A loaded preset carries ``"preset": name``, so
a spec edited away from it is named ``custom (from name)``
(:mod:`gradlab.experiment.spec.naming`).

A comparison is a *family*: presets that share a ``"family"`` key (``handson-activations``: one
preset per activation, ``handson-activations-elu``, ...), each runnable alone (the window's
preset list, ``gradlab run --preset handson-activations-elu``) and all together
(``gradlab run --preset handson-activations --out acts.gradlab`` writes one session per member
and prints their comparison). The family's claim lives in each member's reference.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from gradlab._resources import resource_path
from gradlab.errors import SpecError

DEFAULT = "spiral"
#: how long a preset's step budget takes to play out at the window's "lecture" pace, unless the
#: preset says otherwise (``"lecture_seconds"``): slow enough for a class to follow it live
LECTURE_SECONDS = 60.0


@lru_cache(maxsize=1)
def _all() -> dict[str, dict]:
    out = {}
    for path in sorted(resource_path("presets").glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        out[spec["name"]] = spec
    return out


def names() -> list[str]:
    """Preset names, in a teaching order (the default first, then by family)."""
    specs = _all()
    return sorted(specs, key=lambda n: (n != DEFAULT, specs[n].get("order", 99), n))


def load(name: str) -> dict:
    """A deep copy of preset ``name``'s spec."""
    specs = _all()
    if name not in specs:
        raise SpecError("preset", f"unknown preset {name!r} (choose from: {', '.join(names())})")
    spec = copy.deepcopy(specs[name])
    spec.pop("order", None)
    spec.pop("family", None)
    spec.pop("lecture_seconds", None)
    spec["preset"] = name
    return spec


def families() -> dict[str, list[str]]:
    """Each family's members, in the presets' order."""
    out: dict[str, list[str]] = {}
    specs = _all()
    for name in names():
        fam = specs[name].get("family")
        if isinstance(fam, str) and fam:
            out.setdefault(fam, []).append(name)
    return out


def family(name: str) -> list[str]:
    """The members of family ``name`` (empty when it is not a family)."""
    return families().get(name, [])


def describe(name: str) -> str:
    """The preset's one-line description."""
    return load(name).get("description", "")


def lecture_seconds(name: str | None) -> float:
    """Seconds the preset's step budget should take at the window's lecture pace: its own
    ``"lecture_seconds"`` or :data:`LECTURE_SECONDS` (also for a name that is no preset)."""
    spec = _all().get(name or "")
    value = spec.get("lecture_seconds") if spec else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return LECTURE_SECONDS
