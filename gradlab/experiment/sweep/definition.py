"""A sweep's definition: the base spec, the grid, the random draws, repeats and budget, and the
list of trials they expand to.

A *trial* is one run: the base spec with some fields set (``training.lr = 0.01``,
``network.activation = "tanh"``), a seed and a step budget. The sweep expands, in this order::

    for each point of the grid (the cartesian product of --grid fields, in the order given)
      for each of the K random samples (--random fields drawn together, K = --trials)
        for each repeat r = 0 .. R-1 (seed = S + r)

The K random samples are drawn once, from ``numpy.random.default_rng([S, 16])``, and shared by
every grid point, so each cell of the results table sees the same candidates (a learning rate
"chosen per cell" is chosen among the same values). Drawn numbers are rounded to 4 significant
digits, which keeps tables and file names readable. A repeat changes only the seed, and the same
repeat uses the same seed in every cell (common random numbers: cells differ by their settings, not
by their luck).

Field paths work like ``gradlab run --set``
(:func:`gradlab.experiment.spec.set_path`: ``training.lr``, ``network.layers[0].units``,
``data.noise``), plus one shorthand: ``network.KEY`` (``network.activation``, ``network.init``,
``network.units``) sets KEY in every hidden dense layer of the base spec.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradlab.errors import SpecError
from gradlab.experiment.spec import parse_value, set_path

FORMAT = "gradlab-sweep"
VERSION = 1
#: how random numbers are rounded (significant digits)
DIGITS = 4
#: the seed stream of the random draws (a constant mixed into the sweep seed)
DRAW_STREAM = 16
MAX_TRIALS = 100_000
DISTRIBUTIONS = ("loguniform", "uniform", "choice")


# ---------------------------------------------------------------------------- field paths
def _hidden_dense(layers: list) -> list[int]:
    return [
        i
        for i, layer in enumerate(layers)
        if isinstance(layer, dict)
        and layer.get("type", "dense") == "dense"
        and not layer.get("output", False)
    ]


def apply_field(spec: dict, path: str, value: Any) -> dict:
    """A copy of ``spec`` with ``path`` set to ``value`` (see the module docstring)."""
    head, dot, key = path.partition(".")
    if head == "network" and dot and key and key != "layers" and not key.startswith("layers"):
        layers = spec.get("network", {}).get("layers", [])
        hidden = _hidden_dense(layers) if isinstance(layers, list) else []
        if not hidden:
            raise SpecError(path, "the base spec has no hidden dense layer to set it in")
        out = spec
        for i in hidden:
            out = set_path(out, f"network.layers[{i}].{key}", value)
        return out
    return set_path(spec, path, value)


# ---------------------------------------------------------------------------- parsing options
def _field_name(text: str, option: str) -> str:
    name = text.strip()
    if not name or any(c.isspace() for c in name):
        raise SpecError(option, f"{text!r} is not a field path (expected e.g. training.lr)")
    return name


def parse_values(text: str) -> list:
    """``0.01,0.1`` -> [0.01, 0.1]; a JSON list (``[{"norm": 1}, {"norm": 5}]``) as it is."""
    text = text.strip()
    if text.startswith("["):
        try:
            values = json.loads(text)
        except json.JSONDecodeError:
            values = None
        if isinstance(values, list):
            return values
    return [parse_value(v.strip()) for v in text.split(",") if v.strip()]


def parse_grid(item: str) -> tuple[str, list]:
    """``--grid FIELD=v1,v2`` -> (field, values)."""
    name, eq, values = item.partition("=")
    if not eq:
        raise SpecError(
            "--grid", f"{item!r} must look like FIELD=v1,v2 (e.g. training.lr=0.01,0.1)"
        )
    name = _field_name(name, "--grid")
    vals = parse_values(values)
    if not vals:
        raise SpecError("--grid", f"{name} has no values")
    if len({json.dumps(v, sort_keys=True) for v in vals}) != len(vals):
        raise SpecError("--grid", f"{name} lists a value twice")
    return name, vals


def parse_distribution(text: str, name: str) -> dict:
    """``loguniform:1e-4:1e-1`` | ``uniform:0:1`` | ``choice:a,b`` -> a JSON-able dict."""
    kind, _, rest = text.strip().partition(":")
    where = f"--random {name}"
    if kind in ("loguniform", "uniform"):
        lo_s, colon, hi_s = rest.partition(":")
        try:
            lo, hi = float(lo_s), float(hi_s)
        except ValueError:
            lo = hi = math.nan
        if not colon or not (math.isfinite(lo) and math.isfinite(hi)):
            raise SpecError(
                where, f"{text!r} must look like {kind}:LOW:HIGH (e.g. {kind}:1e-4:1e-1)"
            )
        if not lo < hi:
            raise SpecError(where, f"needs LOW < HIGH, got {lo:g} and {hi:g}")
        if kind == "loguniform" and lo <= 0:
            raise SpecError(where, f"loguniform needs LOW > 0, got {lo:g}")
        return {"kind": kind, "low": lo, "high": hi}
    if kind == "choice":
        values = parse_values(rest)
        if not values:
            raise SpecError(where, "choice needs values, e.g. choice:sgd,adam")
        return {"kind": "choice", "values": values}
    raise SpecError(
        where,
        f"{text!r} names no distribution (choose from: loguniform:a:b, uniform:a:b, choice:x,y)",
    )


def parse_random(item: str) -> tuple[str, dict]:
    """``--random FIELD=loguniform:1e-4:1e-1`` -> (field, distribution)."""
    name, eq, dist = item.partition("=")
    if not eq:
        raise SpecError(
            "--random",
            f"{item!r} must look like FIELD=DIST (e.g. training.lr=loguniform:1e-4:1e-1)",
        )
    name = _field_name(name, "--random")
    return name, parse_distribution(dist, name)


def _round(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


def draw(dist: dict, rng: np.random.Generator) -> Any:
    """One sample of a distribution."""
    if dist["kind"] == "loguniform":
        return _round(math.exp(rng.uniform(math.log(dist["low"]), math.log(dist["high"]))))
    if dist["kind"] == "uniform":
        return _round(rng.uniform(dist["low"], dist["high"]))
    values = dist["values"]
    return copy.deepcopy(values[int(rng.integers(len(values)))])


def format_value(value: Any) -> str:
    """A value as a short label (tables, progress): 0.01, tanh, {"norm": 5}."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.{DIGITS}g}"
    return json.dumps(value, sort_keys=True)


# ---------------------------------------------------------------------------- the definition
@dataclass(frozen=True)
class Trial:
    """One run of the sweep: ``settings`` (field -> value) applied to the base spec, a seed."""

    id: str
    index: int
    settings: dict
    repeat: int
    seed: int
    sample: int | None  # which random sample (None without --random)

    def spec(self, base: dict, steps: int | None) -> dict:
        """The trial's full spec (base, settings, seed, budget)."""
        spec = copy.deepcopy(base)
        for path, value in self.settings.items():
            spec = apply_field(spec, path, value)
        spec["seed"] = self.seed
        if steps is not None:
            t = spec.setdefault("training", {})
            if not isinstance(t, dict):
                raise SpecError("training", "must be an object")
            t["steps"], t["epochs"] = steps, None
        return spec

    def label(self) -> str:
        parts = [f"{k.rsplit('.', 1)[-1]}={format_value(v)}" for k, v in self.settings.items()]
        return " ".join([*parts, f"seed={self.seed}"])


@dataclass
class SweepDef:
    """What a sweep runs (everything that changes its results); stored as DIR/sweep.json.

    ``rows``/``cols`` only lay out results.md and are not part of what is compared when a
    folder is reused.
    """

    base: dict
    grid: list[tuple[str, list]] = field(default_factory=list)
    random: list[tuple[str, dict]] = field(default_factory=list)
    trials: int = 1
    repeats: int = 1
    steps: int | None = None
    seed: int = 0
    name: str = "sweep"
    rows: list[str] = field(default_factory=list)
    cols: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        if not isinstance(self.base, dict):
            raise SpecError("sweep", "the base spec must be a JSON object")
        names = [f for f, _ in self.grid] + [f for f, _ in self.random]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise SpecError("sweep", f"{sorted(dup)[0]} is swept twice (in --grid or --random)")
        if self.random and self.trials < 1:
            raise SpecError("--trials", f"must be >= 1, got {self.trials}")
        if not self.random and self.trials != 1:
            raise SpecError("--trials", "counts random samples: give --random FIELD=DIST with it")
        if self.repeats < 1:
            raise SpecError("--repeats", f"must be >= 1, got {self.repeats}")
        if self.steps is not None and self.steps < 0:
            raise SpecError("--steps", f"must be >= 0, got {self.steps}")
        if not 0 <= self.seed < 2**63 - 1024:
            raise SpecError("--seed", f"must be >= 0, got {self.seed}")
        n = self.n_trials
        if n > MAX_TRIALS:
            raise SpecError("sweep", f"expands to {n:,} trials; the limit is {MAX_TRIALS:,}")
        for axis in (*self.rows, *self.cols):
            if axis not in self.varying:
                raise SpecError(
                    "--rows" if axis in self.rows else "--cols",
                    f"{axis} is not swept (choose from: {', '.join(self.varying) or 'nothing'})",
                )

    @property
    def varying(self) -> list[str]:
        """The swept fields, grid first, in the order given."""
        return [f for f, _ in self.grid] + [f for f, _ in self.random]

    @property
    def n_trials(self) -> int:
        n = self.repeats * (self.trials if self.random else 1)
        for _, values in self.grid:
            n *= len(values)
        return n

    # ------------------------------------------------------------------ expansion
    def samples(self) -> list[dict]:
        """The K random samples (field -> value), the same for every grid point."""
        if not self.random:
            return [{}]
        rng = np.random.default_rng([self.seed, DRAW_STREAM])
        return [{f: draw(d, rng) for f, d in self.random} for _ in range(self.trials)]

    def expand(self) -> list[Trial]:
        """Every trial, in a fixed order (the ids are stable: t0000, t0001, ...)."""
        samples = self.samples()
        fields = [f for f, _ in self.grid]
        points = itertools.product(*(values for _, values in self.grid))
        out: list[Trial] = []
        width = max(4, len(str(self.n_trials - 1)))
        for point in points:
            for k, sample in enumerate(samples):
                settings = {**dict(zip(fields, copy.deepcopy(point))), **sample}
                for r in range(self.repeats):
                    i = len(out)
                    out.append(
                        Trial(
                            id=f"t{i:0{width}d}",
                            index=i,
                            settings=settings,
                            repeat=r,
                            seed=self.seed + r,
                            sample=k if self.random else None,
                        )
                    )
        return out

    def check_specs(self) -> None:
        """Resolve every distinct setting's spec before any work (a bad value in --grid fails
        at once, naming it, instead of as many failed trials)."""
        from gradlab.experiment.spec import resolve

        seen = set()
        for trial in self.expand():
            key = json.dumps(trial.settings, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            try:
                resolve(trial.spec(self.base, self.steps))
            except SpecError as err:
                where = ", ".join(f"{k}={format_value(v)}" for k, v in trial.settings.items())
                raise SpecError(
                    err.field, f"{err.message} (in the trial with {where or 'the base spec'})"
                ) from None

    # ------------------------------------------------------------------ storage
    def definition(self) -> dict:
        """What must match for a folder to be reused (JSON-able)."""
        return {
            "base": self.base,
            "grid": [[f, v] for f, v in self.grid],
            "random": [[f, d] for f, d in self.random],
            "trials": self.trials if self.random else 1,
            "repeats": self.repeats,
            "steps": self.steps,
            "seed": self.seed,
        }

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            **self.definition(),
            "layout": {"rows": self.rows, "cols": self.cols},
            "trial_list": [
                {
                    "id": t.id,
                    "settings": t.settings,
                    "repeat": t.repeat,
                    "seed": t.seed,
                    "sample": t.sample,
                }
                for t in self.expand()
            ],
        }

    @classmethod
    def from_json(cls, d: dict) -> SweepDef:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise SpecError("sweep.json", "is not a GradLab sweep definition")
        if not isinstance(d.get("version"), int) or d["version"] > VERSION:
            raise SpecError(
                "sweep.json", f"was written by a newer GradLab (sweep format {d.get('version')})"
            )
        try:
            layout = d.get("layout") or {}
            return cls(
                base=d["base"],
                grid=[(str(f), list(v)) for f, v in d["grid"]],
                random=[(str(f), dict(dist)) for f, dist in d["random"]],
                trials=int(d["trials"]),
                repeats=int(d["repeats"]),
                steps=None if d["steps"] is None else int(d["steps"]),
                seed=int(d["seed"]),
                name=str(d.get("name", "sweep")),
                rows=list(layout.get("rows", [])),
                cols=list(layout.get("cols", [])),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise SpecError("sweep.json", f"is damaged ({err})") from None

    def difference(self, other: SweepDef) -> str | None:
        """The first setting in which ``other`` differs from this sweep, as a phrase, or None."""
        a, b = self.definition(), other.definition()
        labels = {
            "base": "the base spec",
            "grid": "--grid",
            "random": "--random",
            "trials": "--trials",
            "repeats": "--repeats",
            "steps": "--steps",
            "seed": "--seed",
        }
        for key, label in labels.items():
            if json.dumps(a[key], sort_keys=True) != json.dumps(b[key], sort_keys=True):
                if key in ("trials", "repeats", "steps", "seed"):
                    return f"{label} {a[key]} there, {b[key]} here"
                return f"{label} differs"
        ta = [(t.id, t.settings, t.seed) for t in self.expand()]
        tb = [(t.id, t.settings, t.seed) for t in other.expand()]
        if json.dumps(ta, sort_keys=True) != json.dumps(tb, sort_keys=True):
            return "the random draws differ"
        return None
