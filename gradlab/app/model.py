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

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    @property
    def layer_labels(self) -> list[str]:
        """Short labels for legends: "1", "2", ..., "out"."""
        n = self.n_layers
        return [str(i + 1) if i < n - 1 else "out" for i in range(n)]

    def describe(self) -> str:
        """One line: name, architecture, activation, init, optimiser."""
        layers = self.spec["network"]["layers"]
        dense = [ly for ly in layers if ly["type"] == "dense" and not ly["output"]]
        acts = sorted({ly["activation"] for ly in dense})
        inits = sorted(
            {ly["init"] if isinstance(ly["init"], str) else ly["init"]["name"] for ly in dense}
        )
        widths = [ly["units"] for ly in dense]
        arch = (
            f"[{widths[0]}]x{len(widths)}"
            if widths and len(set(widths)) == 1
            else "-".join(map(str, widths)) or "linear"
        )
        t = self.spec["training"]
        return (
            f"{self.name}: {self.input_dim}-{arch}-{self.output_dim} {'/'.join(acts)}, "
            f"{'/'.join(inits)}, {t['optimizer']['name']} lr {t['lr']:g}"
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
