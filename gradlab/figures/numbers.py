"""The numbers behind the figures, shared with the window: no matplotlib here (nor Qt), so the
window's views import them without paying for matplotlib's import.

* heatmaps: :func:`overlap_matrix`, :func:`resample` (older probes re-binned onto the newest
  bins), :func:`step_columns` (a probe series sampled on an even step axis);
* comparisons: :func:`hidden_setting`, :func:`final_metrics`, :func:`error_pct`,
  :func:`run_steps`, :func:`table1` (Glorot & Bengio's Table 1 layout);
* the decision boundary: :func:`boundary_probabilities`.

A *run* is anything with ``spec`` and ``history`` (a loaded session, an Experiment, the window's
pinned runs).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gradlab.figures.boundary_grid import boundary_probabilities  # the one rule


# ============================================================================ heatmaps
def overlap_matrix(src_edges: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """(n_src, n_dst) share of each source bin that falls in each destination bin, assuming
    the values are spread evenly inside a bin. Rows sum to 1 where the destination covers the
    source."""
    s0, s1 = src_edges[:-1, None], src_edges[1:, None]
    d0, d1 = dst_edges[None, :-1], dst_edges[None, 1:]
    overlap = np.clip(np.minimum(s1, d1) - np.maximum(s0, d0), 0.0, None)
    return overlap / np.maximum(s1 - s0, 1e-300)


def resample(
    counts: np.ndarray, ranges: np.ndarray, lo: float, hi: float, dtype=np.float64
) -> np.ndarray:
    """Counts (n, ..., bins) over per-probe ranges (n, 2) -> counts of the same shape over the
    common range [lo, hi] (the mass of every probe kept when [lo, hi] covers its range): the
    recorded bins widen during a run, so older probes are re-binned onto the newest. Probes
    already on the common range are copied as they are."""
    out = np.array(counts, dtype=dtype, copy=True)
    bins = out.shape[-1]
    dst = np.linspace(lo, hi, bins + 1)
    ranges = np.asarray(ranges, np.float64)
    moved = (ranges[:, 0] != lo) | (ranges[:, 1] != hi)
    if not moved.any():
        return out
    idx = np.flatnonzero(moved)
    uniq, inv = np.unique(ranges[idx], axis=0, return_inverse=True)
    inv = np.ravel(inv)
    for k, (a, b) in enumerate(uniq):
        rows = idx[inv == k]
        share = overlap_matrix(np.linspace(a, b, bins + 1), dst).astype(dtype)
        out[rows] = out[rows] @ share
    return out


def step_columns(steps: np.ndarray, width: int) -> tuple[np.ndarray, float, float]:
    """Sample a probe series at ``width`` even columns of the step axis (each column shows the
    newest probe at or before its centre: a probe holds until the next one).

    Returns (probe row per column, x0, span): the image covers [x0, x0 + span], from the first
    probe to one probe interval (the last one: probes are log-spaced early) past the last."""
    s = np.asarray(steps, np.float64)
    gap = float(s[-1] - s[-2]) if len(s) > 1 else 1.0
    x0 = float(s[0])
    span = max(float(s[-1]) - x0 + max(gap, 1.0), 1.0)
    centres = x0 + (np.arange(width) + 0.5) * (span / width)
    rows = np.clip(np.searchsorted(s, centres, side="right") - 1, 0, len(s) - 1)
    return rows, x0, span


# ============================================================================ comparisons
def hidden_setting(spec: dict, key: str) -> str:
    """The hidden layers' activation or init name (several joined by '/'; 'none' without a
    hidden layer), in layer order."""
    values: list[str] = []
    for ly in spec.get("network", {}).get("layers", []):
        if ly.get("type", "dense") != "dense" or ly.get("output"):
            continue
        v = ly.get(key)
        name = v if isinstance(v, str) else (v or {}).get("name", "?")
        if name not in values:
            values.append(name)
    return "/".join(values) if values else "none"


def final_metrics(run: Any) -> dict[str, float]:
    """The last evaluation's metrics and its step (NaN without one)."""
    ev = run.history.evals()
    if not len(ev["step"]):
        return dict.fromkeys(("step", "train_loss", "train_acc", "val_loss", "val_acc"), math.nan)
    return {k: float(v[-1]) for k, v in ev.items()}


def error_pct(run: Any) -> float:
    """100 (1 - validation accuracy) at the last evaluation (NaN without one): Glorot & Bengio's
    Table 1 reports test errors; GradLab measures them on the validation set."""
    acc = final_metrics(run)["val_acc"]
    return 100.0 * (1.0 - acc) if math.isfinite(acc) else math.nan


def run_steps(run: Any) -> int:
    """How many steps the run had trained (its newest step row, else its newest probe)."""
    last = run.history.latest_step()
    if last is not None:
        return int(last["step"])
    return int(run.history.probe_column("step")[-1]) if run.history.n_probes else 0


def table1(runs: list) -> tuple[list[str], list[str], dict[tuple[str, str], Any]]:
    """Glorot & Bengio's Table 1 layout: (activations, inits, {(activation, init): run}); the
    later run wins a shared cell."""
    acts: list[str] = []
    inits: list[str] = []
    cells: dict[tuple[str, str], Any] = {}
    for run in runs:
        act, init = hidden_setting(run.spec, "activation"), hidden_setting(run.spec, "init")
        if act not in acts:
            acts.append(act)
        if init not in inits:
            inits.append(init)
        cells[(act, init)] = run
    return acts, inits, cells


__all__ = [
    "boundary_probabilities",
    "error_pct",
    "final_metrics",
    "hidden_setting",
    "overlap_matrix",
    "resample",
    "run_steps",
    "step_columns",
    "table1",
]
