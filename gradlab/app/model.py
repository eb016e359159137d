"""What the views draw: a run's history and what describes it (UI thread only).

A :class:`RunModel` wraps a live experiment (owned by the worker thread: the views only read its
history, which is safe to read from any thread) or a finished one (a loaded session, a pinned run,
the command line's headless figure export). Views never call the experiment's computing methods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gradlab.errors import DataError
from gradlab.experiment import Experiment, History
from gradlab.experiment.snapshots import class_probabilities
from gradlab.experiment.spec.naming import describe_run

#: the decision boundary's grid (points per axis), the worker's too
BOUNDARY_RES = 90
#: boundaries of earlier steps kept for scrubbing back and forth
BOUNDARY_CACHE = 32


@dataclass
class RunModel:
    """A run as the views see it.

    Attributes
    ----------
    run_id : changes whenever the run is replaced (views rebuild their per-layer items).
    history : the run's history (thread-safe reads; copies).
    layer_names : dense blocks, output last.
    spec : the resolved spec.
    points, labels : the 2-D training points for the decision-boundary view (None otherwise).
    extent : (xmin, xmax, ymin, ymax) of the boundary grid.
    boundary : the newest (res, res, classes) class-probability grid, or None.
    changes : the learning-rate changes of a frozen run (a live run reads its experiment's).
    """

    run_id: int
    name: str
    spec: dict
    history: History
    layer_names: list[str]
    input_dim: int
    output_dim: int
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    extent: tuple[float, float, float, float] | None = None
    boundary: np.ndarray | None = None
    experiment: Experiment | None = field(default=None, repr=False)
    changes: list[dict] = field(default_factory=list)
    _past: dict = field(default_factory=dict, repr=False)
    _grid: np.ndarray | None = field(default=None, repr=False)

    @property
    def lr_changes(self) -> list[dict]:
        """The learning-rate changes made during the run, ``{"step", "from", "to"}`` each."""
        if self.experiment is not None:
            return [dict(c) for c in self.experiment.lr_changes]
        return [dict(c) for c in self.changes]

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    @property
    def layer_labels(self) -> list[str]:
        """Short labels for legends: "1", "2", ..., "out"."""
        n = self.n_layers
        return [str(i + 1) if i < n - 1 else "out" for i in range(n)]

    def describe(self) -> str:
        """One line: name, architecture, activation, init, optimiser and learning rate, with
        the changes made during the run (``adam lr 0.01 -> 0.03 at step 1,200``)."""
        return describe_run(
            self.spec, self.input_dim, self.output_dim, self.lr_changes, name=self.name
        )

    @classmethod
    def from_experiment(cls, exp: Experiment, run_id: int) -> RunModel:
        points = labels = extent = None
        if exp.input_dim == 2 and exp.data_error is None:
            from gradlab import data as datasets

            try:
                ds = exp.data
            except DataError:  # a session whose data file is gone: no points to draw
                ds = None
            if ds is not None:
                points, labels = ds.x_train, ds.y_train
                xx, yy, _ = datasets.grid_for(ds, 2)
                extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
        return cls(
            run_id=run_id,
            name=exp.name,
            spec=exp.spec,
            history=exp.history,
            layer_names=exp.network.layer_names,
            input_dim=exp.input_dim,
            output_dim=exp.output_dim,
            points=points,
            labels=labels,
            extent=extent,
            experiment=exp,
        )

    def final_metrics(self) -> dict[str, float]:
        """The last evaluation's metrics and the step they were taken at (NaN if none)."""
        ev = self.history.evals()
        if not len(ev["step"]):
            return {
                "step": math.nan,
                "train_loss": math.nan,
                "train_acc": math.nan,
                "val_loss": math.nan,
                "val_acc": math.nan,
            }
        return {k: float(v[-1]) for k, v in ev.items()}

    def boundary_at(self, step: int) -> tuple[int, np.ndarray] | None:
        """(the step, the class probabilities (res, res, classes)) of the decision boundary of
        the network as it was at the newest probe at or before ``step``, or None when that
        network was not kept (no 2-D data, a run reopened from a session: sessions keep only
        the last network). Computed on a copy of the network (the run may be training)."""
        exp = self.experiment
        if exp is None or self.input_dim != 2 or getattr(exp, "weights", None) is None:
            return None
        found = exp.weights.at(step)
        if found is None:
            return None
        at = found[0]
        if at in self._past:
            return at, self._past[at]
        if self._grid is None:
            from gradlab import data as datasets

            try:
                _, _, pts = datasets.grid_for(exp.data, BOUNDARY_RES)
            except (DataError, ValueError):
                return None
            self._grid = np.ascontiguousarray(pts, dtype=exp.network.dtype)
        out = exp.weights.predict_at(at, self._grid)
        if out is None:
            return None
        probs = class_probabilities(out[1], exp.loss.name)
        probs = probs.reshape(BOUNDARY_RES, BOUNDARY_RES, -1).astype(np.float32)
        if len(self._past) >= BOUNDARY_CACHE:
            self._past.pop(next(iter(self._past)))
        self._past[at] = probs
        return at, probs

    def metrics_at(self, step: int) -> dict[str, float]:
        """The metrics of the last evaluation at or before ``step`` (NaN if none)."""
        ev = self.history.evals()
        i = int(np.searchsorted(ev["step"], step, side="right")) - 1
        if i < 0:
            return dict.fromkeys(("step", "train_loss", "train_acc", "val_loss", "val_acc"),
                                 math.nan)  # fmt: skip
        return {k: float(v[i]) for k, v in ev.items()}
