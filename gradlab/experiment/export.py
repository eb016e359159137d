"""Export a run's probe statistics as JSON or CSV (``gradlab export --stats``, Export Data).

JSON::

    {"name": ..., "layers": ["dense1", ...],
     "probes": [{"step", "epoch", "loss", "lr", "index",
                 "layers": [{"act_mean": ..., ...}, ...],            # one dict per layer
                 "hists": {"act": {"edges": [[...], ...], "counts": [[...], ...]}, ...}}, ...],
     "evals": [{"step", "train_loss", "train_acc", "val_loss", "val_acc"}, ...],
     "events": [{"step", "kind", "severity", "layer", "message"}, ...],
     "theory": {"q": [...], "pre_std": [...], ...}}

Numbers that are not measured (NaN) are ``null``: the file is strict JSON. Histogram
``edges[l]`` has ``bins + 1`` entries and ``counts[l]`` ``bins`` counts for layer l (the hidden
layers share their edges; the output layer has its own).

CSV is long format, one row per scalar: ``step,layer,stat,value`` (per-layer statistics, then
the probe's ``loss`` and ``lr`` with an empty layer); an unmeasured value is an empty cell.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from gradlab.experiment.history import EVAL_COLUMNS, PROBE_SCALARS, History
from gradlab.experiment.probes import HIST_QUANTITIES, LAYER_STATS
from gradlab.fileio import atomic_write

FORMATS = (".json", ".csv")


def _num(v: Any) -> Any:
    """A JSON-safe Python number (None for NaN/inf)."""
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return int(v)
    f = float(v)
    return f if math.isfinite(f) else None


def stats_dict(history: History, name: str = "", hists: bool = True) -> dict:
    """The whole probe history as plain JSON-able data (see the module docstring)."""
    n = history.n_probes
    stats = history.probe_stats(LAYER_STATS)
    scal = {k: history.probe_column(k) for k in PROBE_SCALARS}
    hist = {q: history.hist_series(q) for q in HIST_QUANTITIES} if hists else {}
    probes = []
    for i in range(n):
        rec: dict[str, Any] = {k: _num(scal[k][i]) for k in PROBE_SCALARS}
        rec["layers"] = [
            {s: _num(stats[s][i, l]) for s in LAYER_STATS} for l in range(history.n_layers)
        ]
        if hists:
            rec["hists"] = {}
            for q, (counts, ranges) in hist.items():
                rec["hists"][q] = {
                    "edges": [
                        np.linspace(lo, hi, history.bins + 1).tolist() for lo, hi in ranges[i]
                    ],
                    "counts": counts[i].tolist(),
                }
        probes.append(rec)
    ev = history.evals()
    evals = [{k: _num(ev[k][i]) for k in EVAL_COLUMNS} for i in range(len(ev["step"]))]
    return {
        "name": name,
        "layers": list(history.layer_names),
        "probes": probes,
        "evals": evals,
        "events": history.events_copy(),
        "theory": {k: [_num(x) for x in v] for k, v in history.theory.items()},
    }


def write_stats(history: History, path: str | Path, name: str = "") -> Path:
    """Write the statistics to ``path`` (.json or .csv, by its suffix), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path.name}: the statistics can be written as .json or .csv, "
            f"not {suffix or 'a file without a suffix'}"
        )
    def fill(fh) -> None:
        f = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        if suffix == ".json":
            json.dump(stats_dict(history, name), f, allow_nan=False, separators=(",", ":"))
        else:
            _write_csv(history, f)
        f.flush()
        f.detach()  # the handle stays open for atomic_write to sync and close

    atomic_write(path, fill)
    return path


def _write_csv(history: History, f) -> None:
    w = csv.writer(f)
    w.writerow(["step", "layer", "stat", "value"])
    stats = history.probe_stats(LAYER_STATS)
    steps = history.probe_column("step")
    loss = history.probe_column("loss")
    lr = history.probe_column("lr")
    names = history.layer_names

    def cell(v: float) -> str:
        return repr(float(v)) if math.isfinite(v) else ""

    for i, step in enumerate(steps):
        s = int(step)
        for l, layer in enumerate(names):
            for stat in LAYER_STATS:
                w.writerow([s, layer, stat, cell(stats[stat][i, l])])
        w.writerow([s, "", "loss", cell(loss[i])])
        w.writerow([s, "", "lr", cell(lr[i])])
