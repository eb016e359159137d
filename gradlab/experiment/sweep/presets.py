"""Sweep presets: JSON files in ``resources/sweeps/`` (``gradlab sweep --preset NAME``).

::

    {"name": "glorot-table1", "description": "...", "reference": {...},
     "base": "glorot-tanh-standard",            # a run preset's name, or a whole spec object
     "set": {"data.n": 100000},                  # fields set in the base (like --set)
     "grid": {"network.activation": ["softsign", "tanh", "sigmoid"], ...},
     "random": {"training.lr": "loguniform:1e-3:1e-1"},
     "trials": 8, "repeats": 1, "steps": 100000, "seed": 0,
     "rows": ["network.activation", "network.init"], "cols": []}

Options given on the command line win: ``--grid`` and ``--random`` add a field or replace the
preset's values of it; ``--steps``, ``--trials``, ``--repeats``, ``--seed``, ``--rows`` and
``--cols`` replace the preset's.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache

from gradlab._resources import resource_path
from gradlab.errors import SpecError
from gradlab.experiment import presets as run_presets
from gradlab.experiment.sweep.definition import apply_field, parse_distribution


@lru_cache(maxsize=1)
def _all() -> dict[str, dict]:
    out = {}
    folder = resource_path("sweeps")
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            d = json.loads(path.read_text(encoding="utf-8"))
            out[d["name"]] = d
    return out


def preset_names() -> list[str]:
    return sorted(_all())


def describe(name: str) -> str:
    return _all()[name].get("description", "")


def load_preset(name: str) -> dict:
    """The sweep preset ``name`` as keyword arguments of
    :class:`~gradlab.experiment.sweep.SweepDef` (``base`` resolved to a spec)."""
    presets = _all()
    if name not in presets:
        raise SpecError(
            "--preset",
            f"unknown sweep preset {name!r} (sweep presets: {', '.join(preset_names())}; "
            "a run preset's name gives the base spec)",
        )
    d = copy.deepcopy(presets[name])
    base = d["base"]
    spec = run_presets.load(base) if isinstance(base, str) else base
    for path, value in d.get("set", {}).items():
        spec = apply_field(spec, path, value)
    return {
        "name": name,
        "base": spec,
        "grid": [(f, list(v)) for f, v in d.get("grid", {}).items()],
        "random": [(f, parse_distribution(t, f)) for f, t in d.get("random", {}).items()],
        "trials": int(d.get("trials", 1)),
        "repeats": int(d.get("repeats", 1)),
        "steps": d.get("steps"),
        "seed": int(d.get("seed", spec.get("seed", 0))),
        "rows": list(d.get("rows", [])),
        "cols": list(d.get("cols", [])),
    }
