"""A sweep folder made the way ``gradlab sweep --out DIR`` leaves it (issue 16's format:
``sweep.json``, ``trials/tNNNN.json`` records and ``trials/tNNNN.gradlab`` sessions), from real
runs, for the window's File > Open Sweep tests; and :func:`loader`: the headless loader
``gradlab.experiment.sweep.load`` when it is installed.

Until issue 16's runner is merged, :func:`loader` falls back to :func:`stand_in_load`, which
reads the same files into objects with the few names the window's adapter uses (``folder``,
``sweep.name``, ``sweep.varying``, ``trials``, ``counts()``, ``settings()``, ``table()``). Once
the runner is on the same branch the tests run against the real loader and the stand-in can go.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from gradlab.experiment import Experiment

GRID = [
    ("network.activation", ["tanh", "relu"]),
    ("network.init", ["glorot_uniform", "he_normal"]),
]
REPEATS = 2
STEPS = 20
BASE = {
    "name": "tiny-table1",
    "data": {"name": "spiral", "n": 200},
    "network": {"layers": [{"units": 8}, {"units": 8}]},
    "training": {"steps": STEPS, "batch_size": 16},
    "probes": {"every": 5},
}


def trial_list(grid=GRID, repeats=REPEATS, seed=0) -> list[dict]:
    """The trials in the runner's order: the grid's product, each repeated with seeds
    seed, seed + 1, ..."""
    fields = [f for f, _ in grid]
    out = []
    n = repeats * math.prod(len(v) for _, v in grid)
    width = max(4, len(str(n - 1)))
    for point in itertools.product(*(v for _, v in grid)):
        for r in range(repeats):
            out.append({"id": f"t{len(out):0{width}d}", "settings": dict(zip(fields, point)),
                        "repeat": r, "seed": seed + r, "sample": None})
    return out


def trial_spec(settings: dict, seed: int) -> dict:
    spec = copy.deepcopy(BASE)
    for path, value in settings.items():
        key = path.split(".", 1)[1]
        for layer in spec["network"]["layers"]:
            layer[key] = value
    spec["seed"] = seed
    return spec


def make_sweep_folder(folder: Path, *, diverged=("t0005",), failed=("t0006",),
                      pending=("t0007",), name="tiny-table1") -> Path:
    """A sweep of 2 activations x 2 inits x 2 repeats: real sessions for the trials that ran,
    one diverged (with its session), one failed (no session), one not run yet."""
    (folder / "trials").mkdir(parents=True)
    trials = trial_list()
    definition = {
        "format": "gradlab-sweep", "version": 1, "name": name, "base": BASE,
        "grid": [[f, v] for f, v in GRID], "random": [], "trials": 1, "repeats": REPEATS,
        "steps": STEPS, "seed": 0, "layout": {"rows": [], "cols": []}, "trial_list": trials,
    }
    (folder / "sweep.json").write_text(json.dumps(definition, indent=1))
    for t in trials:
        if t["id"] in pending:
            continue
        rec = {"id": t["id"], "settings": t["settings"], "repeat": t["repeat"],
               "seed": t["seed"], "status": "error", "steps": 0, "val_error": None,
               "val_loss": None, "loss": None, "diverged_at": None, "error": None,
               "seconds": 0.1, "train_seconds": None, "session": None}
        if t["id"] in failed:
            rec["error"] = "there is not enough memory for this"
        else:
            exp = Experiment(trial_spec(t["settings"], t["seed"]))
            for _ in exp.train():
                pass
            ev = exp.history.evals()
            session = folder / "trials" / f"{t['id']}.gradlab"
            exp.save(session)
            rec.update(status="done", steps=exp.step_count,
                       val_error=round(1.0 - float(ev["val_acc"][-1]), 12),
                       val_loss=float(ev["val_loss"][-1]), loss=float(ev["train_loss"][-1]),
                       session=f"trials/{t['id']}.gradlab")
            if t["id"] in diverged:
                rec.update(status="diverged", diverged_at=exp.step_count)
        (folder / "trials" / f"{t['id']}.json").write_text(json.dumps(rec, indent=1))
    return folder


def loader():
    """The headless loader if it is installed, else the stand-in (see the module)."""
    try:
        from gradlab.experiment.sweep import load
    except ImportError:
        return stand_in_load
    return load


# ------------------------------------------------------------------------------ the stand-in
@dataclass
class _Stat:
    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values):
        v = [x for x in values if x is not None and math.isfinite(x)]
        if not v:
            return cls(math.nan, math.nan, 0)
        m = sum(v) / len(v)
        sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else math.nan
        return cls(m, sd, len(v))


@dataclass
class _Setting:
    settings: dict
    trials: list = field(default_factory=list)

    def count(self, status):
        return sum(t.status == status for t in self.trials)

    @property
    def n_finished(self):
        return sum(t.status in ("done", "diverged") for t in self.trials)

    def stat(self, metric):
        if metric == "diverged_at":
            return _Stat.of(t.diverged_at for t in self.trials if t.status == "diverged")
        return _Stat.of(getattr(t, metric) for t in self.trials
                        if t.status in ("done", "diverged"))


@dataclass
class _Cell:
    best: _Setting | None
    n_settings: int
    others: list

    def label(self):
        return ""


def stand_in_load(folder):
    folder = Path(folder).resolve()
    d = json.loads((folder / "sweep.json").read_text())
    trials = []
    for t in d["trial_list"]:
        path = folder / "trials" / f"{t['id']}.json"
        rec = json.loads(path.read_text()) if path.is_file() else None
        status = rec["status"] if rec else "pending"
        get = (rec or {}).get
        session = folder / rec["session"] if rec and rec.get("session") else None
        trials.append(SimpleNamespace(
            id=t["id"], settings=t["settings"], repeat=t["repeat"], seed=t["seed"],
            status=status, steps=get("steps", 0), val_error=get("val_error"), loss=get("loss"),
            diverged_at=get("diverged_at"), error=get("error"), session=session))
    grid = [(f, v) for f, v in d["grid"]]
    varying = [f for f, _ in grid]

    def settings():
        out = {}
        for t in trials:
            out.setdefault(json.dumps(t.settings, sort_keys=True), _Setting(t.settings)
                           ).trials.append(t)
        return list(out.values())

    def table():
        rows, cols = varying[:1], varying[1:2]
        rv = list(dict.fromkeys(t.settings[rows[0]] for t in trials))
        cv = list(dict.fromkeys(t.settings[cols[0]] for t in trials))
        cells = []
        for r in rv:
            line = []
            for c in cv:
                members = [s for s in settings()
                           if s.settings[rows[0]] == r and s.settings[cols[0]] == c]
                ran = [s for s in members if s.n_finished]
                line.append(_Cell(ran[0] if ran else None, len(members), []))
            cells.append(line)
        return SimpleNamespace(rows=rows, cols=cols, row_labels=rv, col_labels=cv, cells=cells)

    def counts():
        out = {"total": len(trials)}
        for s in ("done", "diverged", "error", "pending"):
            out[s] = sum(t.status == s for t in trials)
        return out

    return SimpleNamespace(folder=folder, sweep=SimpleNamespace(name=d["name"], varying=varying),
                           trials=trials, settings=settings, table=table, counts=counts)
