"""The ``dashboard`` figure: one run on one page (a report's or a slide's summary): loss,
accuracy, the activation histograms, the layer profile with the mean-field prediction, the speed
of learning over training, and the decision boundary (2-D data) or the activations over time."""

from __future__ import annotations

from matplotlib.figure import Figure

from gradlab.figures._base import (
    FigureError,
    Options,
    Run,
    figure_legend,
    heading,
    probe_row,
    select_layers,
    top_legend,
)
from gradlab.figures.histograms import distributions_panel
from gradlab.figures.layers import over_time_panel, profile_panel
from gradlab.figures.training import boundary_panel, training_panel


def _boundary_possible(run: Run) -> bool:
    if run.input_dim != 2 or run.experiment is None:
        return False
    try:
        run.experiment.data  # noqa: B018 (the dataset loads here, or says why not)
    except (ValueError, OSError):
        return False
    return True


def draw_dashboard(fig: Figure, run: Run, o: Options) -> None:
    if o.quantity is not None:
        raise FigureError("the dashboard has no quantity to choose: it shows a bit of everything")
    if run.history.n_probes == 0 or run.history.n_steps == 0:
        raise FigureError(f"{run.name} has no training steps yet: train it first")
    r = probe_row(run, o.step)
    all_layers = select_layers(run, o.layers)
    hidden = select_layers(run, o.layers, default="hidden")
    w, h = fig.get_size_inches()
    rows, cols = (2, 3) if w / h >= 1.6 else (3, 2)
    axes = fig.subplots(rows, cols).ravel()
    for ax, which in ((axes[0], "loss"), (axes[1], "accuracy")):
        training_panel(ax, run, which, o)
        ax.set_xlabel("step")
        top_legend(ax, o)
    handles, labels = distributions_panel(axes[2], run, o, all_layers)
    axes[2].set_title("Activations")
    axes[2].set_xlabel(f"a = f(z), step {int(run.history.probe_column('step')[r]):,}")
    profile_panel(axes[3], run, "act", r, all_layers, o)
    axes[3].set_xlabel("layer")
    over_time_panel(axes[4], run, "speed", hidden, o)
    axes[4].set_title("Speed of learning")
    axes[4].set_xlabel("step")
    if _boundary_possible(run) and (o.step is None or o.step >= run.experiment.step_count):
        boundary_panel(axes[5], run, o)
        axes[5].set_title("Decision boundary")
    else:
        over_time_panel(axes[5], run, "act", hidden, o)
        axes[5].set_xlabel("step")
    figure_legend(fig, handles, labels, o)
    heading(fig, o, run.describe())
