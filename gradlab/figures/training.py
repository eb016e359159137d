"""Run-level figures: ``training`` (loss, accuracy, learning rate and gradient norm over steps:
CS231n's "babysitting the learning process") and ``boundary`` (the decision boundary over a
2-D input plane, TensorFlow-Playground style)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from gradlab import palette
from gradlab.figures._base import (
    MUTED,
    FigureError,
    Options,
    Run,
    choose,
    figure_legend,
    finite_limits,
    heading,
    log_limits,
    mark_step,
    positive,
    probe_row,
    set_log,
)
from gradlab.figures.boundary_grid import boundary_probabilities

ACCENT, SECOND = palette.LIGHT.accent, palette.LIGHT.second
#: step rows read for a curve (a longer history is read at an even stride)
MAX_ROWS = 20_000
EVENT_COLORS = {"error": palette.LIGHT.error, "warning": palette.LIGHT.warning}
TRAINING_PANELS = ("all", "loss", "accuracy", "lr", "grad_norm")


def _eval_curve(ax, x, y, color, label, o: Options):
    keep = np.isfinite(y)
    return ax.plot(
        x[keep],
        y[keep],
        color=color,
        lw=o.style.line,
        marker="o",
        ms=0.8 * o.style.marker,
        label=label,
        zorder=3,
    )


def _step_axis(ax, run: Run, last: float, o: Options) -> None:
    if o.logx:
        set_log(ax, "x")
        return
    total = run.total_steps
    hi = float(total) if total and last <= total else max(last, 1.0)
    ax.set_xlim(0.0, hi)


def training_panel(ax, run: Run, which: str, o: Options) -> None:
    h = run.history
    s = h.steps(max_rows=MAX_ROWS)
    e = h.evals()
    st = o.style
    step = s["step"].astype(np.float64)
    logy = o.logy
    if which == "loss":
        ax.plot(step, positive(s["loss"]), color=MUTED, lw=st.thin, label="every step", zorder=2)
        _eval_curve(ax, e["step"], positive(e["train_loss"]), ACCENT, "train", o)
        _eval_curve(ax, e["step"], positive(e["val_loss"]), SECOND, "validation", o)
        vals = np.concatenate([s["loss"], e["train_loss"], e["val_loss"]])
        if logy is not False:
            set_log(ax)
            ax.set_ylim(*log_limits(vals, pad=0.05))
        else:
            ax.set_ylim(*finite_limits(np.concatenate([vals, [0.0]])))
        ax.set_ylabel("loss")
        for ev in run.history.events_copy()[-200:]:
            color = EVENT_COLORS.get(ev["severity"])
            if color is not None:
                ax.axvline(ev["step"], color=color, lw=st.thin, alpha=0.7, zorder=1)
    elif which == "accuracy":
        _eval_curve(ax, e["step"], e["train_acc"], ACCENT, "train", o)
        _eval_curve(ax, e["step"], e["val_acc"], SECOND, "validation", o)
        ax.set_ylim(0.0, 1.02)
        ax.set_ylabel("accuracy")
    elif which == "lr":
        ax.plot(step, positive(s["lr"]), color=ACCENT, lw=st.line)
        if logy is not False:
            set_log(ax)
            ax.set_ylim(*log_limits(s["lr"], pad=0.1))
        ax.set_ylabel("learning rate")
    elif which == "grad_norm":
        g = positive(s["grad_norm"])
        ax.plot(step, g, color=MUTED, lw=st.thin, label="||g|| per step")
        clipped = s["clipped"].astype(bool)
        if clipped.any():
            ax.plot(
                step[clipped],
                g[clipped],
                ls="none",
                marker="^",
                ms=0.9 * st.marker,
                color=palette.LIGHT.warning,
                label="clipped",
            )
        if logy is not False:
            set_log(ax)
            ax.set_ylim(*log_limits(s["grad_norm"], pad=0.05))
        ax.set_ylabel("gradient norm ||g||")
    last = float(step[-1]) if len(step) else 0.0
    _step_axis(ax, run, last, o)
    if o.step is not None and h.n_probes:
        mark_step(ax, float(h.probe_column("step")[probe_row(run, o.step)]), o)


def draw_training(fig: Figure, run: Run, o: Options) -> None:
    which = choose(o.quantity, TRAINING_PANELS, "quantity", "training")
    if run.history.n_steps == 0:
        raise FigureError(f"{run.name} has no training steps yet: train it first")
    panels = TRAINING_PANELS[1:] if which == "all" else (which,)
    if len(panels) == 1:
        axes = [fig.add_subplot()]
    else:
        axes = list(fig.subplots(2, 2, sharex=True).ravel())
    for ax, p in zip(axes, panels):
        training_panel(ax, run, p, o)
    for ax in axes[-2:] if len(axes) > 1 else axes:
        ax.set_xlabel("step")
    handles = [
        Line2D([], [], color=MUTED, lw=o.style.thin),
        Line2D([], [], color=ACCENT, lw=o.style.line, marker="o", ms=0.8 * o.style.marker),
        Line2D([], [], color=SECOND, lw=o.style.line, marker="o", ms=0.8 * o.style.marker),
    ]
    labels = ["every step", "train (evaluations)", "validation"]
    if which in ("lr",):
        handles, labels = [], []
    elif which == "accuracy":
        handles, labels = handles[1:], labels[1:]
    elif which == "grad_norm":
        handles, labels = handles[:1], ["||g|| per step"]
    if which in ("all", "grad_norm") and run.history.steps()["clipped"].any():
        handles.append(Line2D([], [], ls="none", marker="^", color=palette.LIGHT.warning))
        labels.append("clipped")
    figure_legend(fig, handles, labels, o)
    heading(fig, o, run.describe())


# ============================================================================ boundary
BOUNDARY_RES = 120
#: how far a fully confident region goes from white towards its class colour
REGION_STRENGTH = 0.72
MAX_POINTS = 3000



def boundary_rgb(probs: np.ndarray) -> np.ndarray:
    """(ny, nx, k) probabilities -> (ny, nx, 3) floats in [0, 1] on white: the predicted
    class's colour, paler where the network is unsure (the window's colouring)."""
    k = probs.shape[-1]
    colors = (
        np.array([palette.hex_to_rgb(palette.class_color(i)) for i in range(max(k, 2))], np.float64)
        / 255.0
    )
    if k <= 2:
        p1 = probs[..., -1]
        conf = np.abs(2.0 * p1 - 1.0)
        col = np.where((p1 >= 0.5)[..., None], colors[1], colors[0])
    else:
        col = probs @ colors[:k]
        conf = (probs.max(axis=-1) - 1.0 / k) / (1.0 - 1.0 / k)
    conf = np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0)
    return 1.0 + (col - 1.0) * (REGION_STRENGTH * conf)[..., None]


def check_boundary(run: Run) -> None:
    """Refuse, in one sentence, a run whose boundary cannot be drawn."""
    if run.input_dim != 2:
        raise FigureError(
            f"the decision boundary is drawn for 2-D data only; {run.name} has "
            f"{run.input_dim}-dimensional inputs"
        )
    if run.experiment is None:
        raise FigureError(
            f"the decision boundary needs {run.name}'s network, which this run does not carry"
        )


def boundary_panel(ax, run: Run, o: Options) -> list:
    """The boundary on ``ax``; returns the class legend handles."""
    check_boundary(run)
    exp = run.experiment
    from gradlab import data as datasets
    from gradlab.errors import DataError

    try:
        ds = exp.data
    except DataError as err:
        raise FigureError(
            f"the decision boundary needs {run.name}'s training data, which cannot be loaded "
            f"({str(err).rstrip('.')})"
        ) from None
    if o.step is not None and o.step < exp.step_count:
        raise FigureError(
            f"the decision boundary can only be drawn for the network as saved (step "
            f"{exp.step_count:,}), not at step {o.step:,}"
        )
    xx, yy, pts = datasets.grid_for(ds, BOUNDARY_RES)
    probs = boundary_probabilities(exp, pts.astype(exp.network.dtype), BOUNDARY_RES)
    extent = (float(xx.min()), float(xx.max()), float(yy.min()), float(yy.max()))
    ax.imshow(
        boundary_rgb(probs),
        extent=extent,
        origin="lower",
        interpolation="bilinear",
        aspect="auto",
        zorder=0,
    )
    x, labels = ds.x_train, np.asarray(ds.y_train).astype(np.int64).ravel()
    if len(x) > MAX_POINTS:
        keep = np.sort(np.random.default_rng(0).permutation(len(x))[:MAX_POINTS])
        x, labels = x[keep], labels[keep]
    k = max(run.output_dim, 2, int(labels.max()) + 1 if len(labels) else 2)
    colors = [palette.class_color(i) for i in range(k)]
    ax.scatter(
        x[:, 0],
        x[:, 1],
        c=[colors[c] for c in labels],
        s=(0.9 * o.style.marker) ** 2,
        edgecolors="white",
        linewidths=0.25 * o.style.line,
        zorder=2,
    )
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_box_aspect((extent[3] - extent[2]) / (extent[1] - extent[0]))
    ax.grid(False)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(f"Decision boundary, step {exp.step_count:,}")
    present = sorted(set(labels.tolist()))
    names = list(getattr(ds, "class_names", None) or [])
    return [
        Patch(color=colors[c], label=str(names[c]) if c < len(names) else f"class {c}")
        for c in present
    ]


def draw_boundary(fig: Figure, run: Run, o: Options) -> None:
    if o.quantity is not None:
        raise FigureError("the boundary figure has no quantity to choose")
    ax = fig.add_subplot()
    handles = boundary_panel(ax, run, o)
    figure_legend(fig, handles, [h.get_label() for h in handles], o)
    heading(fig, o, run.describe())
