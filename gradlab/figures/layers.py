"""Per-layer statistics: ``profile`` (one probe, x = layer: CS231n's layer mean and std with the
mean-field prediction, saturation, speed of learning, gradient sizes, Jacobian), ``over_time``
(per-layer lines over training: Glorot & Bengio figs. 2-4 and 9) and ``speed`` (Nielsen ch. 5:
||dC/db|| per layer, bars at one step and lines over training)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

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
    layer_ticks,
    log_limits,
    mark_step,
    positive,
    probe_row,
    select_layers,
    set_log,
    top_legend,
)

C1, C2 = palette.LIGHT.accent, palette.LIGHT.second
WARN, ERR = palette.LIGHT.warning, palette.LIGHT.error
THEORY = "predicted"
#: what the dashed, hollow "predicted" points are
THEORY_NOTE = "predicted: mean-field theory at step 0 (dashed, hollow)"
#: CS231n lecture 6: the ratio of update to weight magnitudes should be around 1e-3
HEALTHY_UPDATE_RATIO = 1e-3


def _measured(ax, x, y, color, label, marker, o: Options):
    return ax.plot(
        x, y, color=color, marker=marker, ms=o.style.marker, lw=o.style.line, label=label, zorder=3
    )


def _predicted(ax, x, y, color, marker, o: Options):
    return ax.plot(
        x,
        y,
        color=color,
        ls=(0, (4, 2)),
        lw=o.style.thin,
        marker=marker,
        ms=o.style.marker * 1.35,
        mfc="none",
        mew=o.style.thin,
        label=THEORY,
        zorder=2,
    )


def _theory(run: Run, key: str, layers: list[int]) -> np.ndarray | None:
    v = run.history.theory.get(key)
    if v is None or len(v) != run.n_layers:
        return None
    v = np.asarray(v, np.float64)[layers]
    return v if np.isfinite(v).any() else None


# ============================================================================ profile
PROFILE_PANELS = ("all", "act", "pre", "saturation", "speed", "gradients", "jacobian")


def profile_panel(ax, run: Run, which: str, r: int, layers: list[int], o: Options) -> None:
    """One panel of the layer profile at probe row ``r``, x = layer."""
    h = run.history
    s = h.probe(r)["stats"]
    x = np.array(layers, np.float64) + 1
    st = o.style
    if which == "act":
        ax.axhline(0.0, color=MUTED, lw=st.thin, zorder=1)
        _measured(ax, x, s["act_mean"][layers], C1, "mean", "o", o)
        _measured(ax, x, s["act_std"][layers], C2, "std", "s", o)
        th = _theory(run, "act_std", layers)
        vals = [s["act_mean"][layers], s["act_std"][layers], [0.0]]
        if th is not None:
            _predicted(ax, x, th, C2, "s", o)
            vals.append(th)
        ax.set_ylim(*finite_limits(np.concatenate([np.ravel(v) for v in vals]), pad=0.1))
        ax.set_ylabel("activation a")
        top_legend(ax, o)
    elif which == "pre":
        _measured(ax, x, positive(s["pre_std"][layers]), C2, "measured", "s", o)
        th = _theory(run, "pre_std", layers)
        vals = [s["pre_std"][layers]]
        if th is not None:
            _predicted(ax, x, positive(th), C2, "s", o)
            vals.append(th)
        set_log(ax)
        ax.set_ylim(*log_limits(np.concatenate(vals)))
        ax.set_ylabel("std of pre-activation z")
        top_legend(ax, o)
    elif which == "saturation":
        ax.bar(
            x - 0.19, np.nan_to_num(s["act_saturated"][layers]), 0.36, color=WARN, label="saturated"
        )
        ax.bar(x + 0.19, np.nan_to_num(s["act_dead"][layers]), 0.36, color=ERR, label="dead units")
        ax.set_ylim(0.0, 1.05)
        ax.set_ylabel("fraction of units")
        top_legend(ax, o)
    elif which == "speed":
        colors = palette.layer_colors(run.n_layers)
        v = positive(s["bias_grad_norm"][layers])
        ax.plot(x, v, color=MUTED, lw=st.thin, zorder=2)
        ax.scatter(
            x,
            v,
            c=[colors[i] for i in layers],
            s=(1.6 * st.marker) ** 2,
            edgecolors=palette.LIGHT.foreground,
            linewidths=0.5 * st.thin,
            zorder=3,
        )
        set_log(ax)
        ax.set_ylim(*log_limits(v))
        ax.set_ylabel("||dC/db||")
        ax.set_title("Speed of learning")
    elif which == "gradients":
        _measured(ax, x, positive(s["delta_std"][layers]), C1, "δ = dL/dz", "o", o)
        _measured(ax, x, positive(s["wgrad_std"][layers]), C2, "dL/dW", "s", o)
        set_log(ax)
        ax.set_ylim(*log_limits(np.concatenate([s["delta_std"][layers], s["wgrad_std"][layers]])))
        ax.set_ylabel("gradient std")
        top_legend(ax, o)
    elif which == "jacobian":
        jac_all = h.probe_column("jacobian_sv_mean")[: r + 1]
        rows = np.flatnonzero(np.isfinite(jac_all).any(axis=1))
        ax.axhline(1.0, color=MUTED, lw=st.thin, ls=(0, (4, 2)), zorder=1)
        if len(rows):
            jr = int(rows[-1])
            jac = jac_all[jr][layers]
            _measured(ax, x, jac, C1, None, "o", o)
            ax.set_ylim(*finite_limits(np.concatenate([jac, [0.0, 1.2]]), pad=0.05))
            ax.set_title(f"Jacobian mean σ, step {int(h.probe_column('step')[jr]):,}")
        else:
            ax.set_ylim(0.0, 1.3)
            ax.set_title("Jacobian mean σ (not measured)")
        ax.set_ylabel("mean singular value")
    layer_ticks(ax, run, layers)


def draw_profile(fig: Figure, run: Run, o: Options) -> None:
    which = choose(o.quantity, PROFILE_PANELS, "quantity", "profile")
    r = probe_row(run, o.step)
    layers = select_layers(run, o.layers)
    step = int(run.history.probe_column("step")[r])
    if which != "all":
        ax = fig.add_subplot()
        profile_panel(ax, run, which, r, layers, o)
        ax.set_xlabel(f"layer (probe at step {step:,})")
        head = o.want_title(run.describe())
        if head:
            fig.suptitle(head)
        if which in ("act", "pre"):
            fig.supxlabel(THEORY_NOTE, fontsize=0.85 * o.style.font, color=MUTED)
        return
    w, h = fig.get_size_inches()
    rows, cols = (2, 3) if w >= h else (3, 2)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, p in zip(axes, PROFILE_PANELS[1:]):
        profile_panel(ax, run, p, r, layers, o)
    for ax in axes[-cols:]:
        ax.set_xlabel("layer")
    head = o.want_title(run.describe())
    line = f"Layer profile at step {step:,}; {THEORY_NOTE}"
    fig.suptitle(f"{head}\n{line}" if head else line)


# ============================================================================ over time
OVER_TIME_PANELS = ("all", "act", "speed", "wgrad", "update_ratio", "jacobian")
_OT_STATS = (
    "act_mean",
    "act_p02",
    "act_p98",
    "bias_grad_norm",
    "wgrad_std",
    "update_ratio",
    "jacobian_sv_mean",
)


def over_time_panel(
    ax, run: Run, which: str, layers: list[int], o: Options, stats: dict | None = None
) -> list:
    """One panel of per-layer lines over the probes' steps; returns the layer handles."""
    h = run.history
    s = stats if stats is not None else h.probe_stats(_OT_STATS)
    x = h.probe_column("step").astype(np.float64)
    colors = palette.layer_colors(run.n_layers)
    st = o.style
    handles = []
    log_default = which in ("speed", "wgrad", "update_ratio")
    logy = log_default if o.logy is None else bool(o.logy)
    if which == "act":
        # Glorot & Bengio fig. 3: the mean as a line, the 2nd and 98th percentiles as markers
        # alone (at most ~40 probes each, staggered by layer so the layers' markers interleave)
        n = len(x)
        k = max(1, math.ceil(n / 40))
        for j, i in enumerate(layers):
            rows = np.arange((j * k) // max(len(layers), 1) % k, n, k)
            for key, marker in (("act_p02", "v"), ("act_p98", "^")):
                ax.plot(
                    x[rows],
                    s[key][rows, i],
                    ls="none",
                    marker=marker,
                    ms=0.75 * st.marker,
                    color=colors[i],
                    mew=0,
                    zorder=2,
                )
        for i in layers:
            (line,) = ax.plot(x, s["act_mean"][:, i], color=colors[i], lw=st.line, zorder=3)
            handles.append(line)
        vals = np.concatenate([s["act_p02"][:, layers].ravel(), s["act_p98"][:, layers].ravel()])
        ax.set_ylim(*finite_limits(vals))
        ax.set_ylabel("activation a")
        ax.set_title("Activations: mean, 2nd/98th pct")
    elif which == "jacobian":
        jac = s["jacobian_sv_mean"]
        rows = np.isfinite(jac).any(axis=1)
        ax.axhline(1.0, color=MUTED, lw=st.thin, ls=(0, (4, 2)), zorder=1)
        for i in layers:
            (line,) = ax.plot(
                x[rows],
                jac[rows, i],
                color=colors[i],
                lw=st.thin,
                marker="o",
                ms=0.8 * st.marker,
                zorder=3,
            )
            handles.append(line)
        ax.set_ylim(*finite_limits(np.concatenate([jac[rows][:, layers].ravel(), [0.0, 1.2]])))
        ax.set_ylabel("mean singular value")
        ax.set_title("Jacobian mean σ")
    else:
        key, ylabel, title = {
            "speed": ("bias_grad_norm", "||dC/db||", "Speed of learning (Nielsen)"),
            "wgrad": ("wgrad_std", "std of dL/dW", "Weight-gradient std"),
            "update_ratio": ("update_ratio", "||ΔW|| / ||W||", "Update / weight ratio"),
        }[which]
        v = s[key]
        for i in layers:
            y = positive(v[:, i]) if logy else v[:, i]
            (line,) = ax.plot(x, y, color=colors[i], lw=st.line, zorder=3)
            handles.append(line)
        vals = v[:, layers]
        if which == "update_ratio":
            ax.axhline(HEALTHY_UPDATE_RATIO, color=MUTED, lw=st.thin, ls=(0, (4, 2)), zorder=1)
            ax.annotate(
                "CS231n: ~1e-3",
                (1.0, HEALTHY_UPDATE_RATIO),
                xycoords=("axes fraction", "data"),
                ha="right",
                va="bottom",
                color=MUTED,
                fontsize=0.85 * st.font,
            )
            vals = np.concatenate(
                [vals.ravel(), [HEALTHY_UPDATE_RATIO / 3, HEALTHY_UPDATE_RATIO * 3]]
            )
        if logy:
            set_log(ax)
            ax.set_ylim(*log_limits(vals, pad=0.05))
        else:
            ax.set_ylim(*finite_limits(vals))
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    if o.logx:
        set_log(ax, "x")
    else:
        ax.set_xlim(float(x[0]), max(float(x[-1]), float(x[0]) + 1.0))
    if o.step is not None:
        mark_step(ax, float(x[probe_row(run, o.step)]), o)
    return handles


def percentile_keys(o: Options) -> list:
    """Legend entries of the percentile markers (in grey: each layer has its colour)."""
    return [
        Line2D([], [], ls="none", marker="^", color=MUTED, ms=o.style.marker, label="98th pct"),
        Line2D([], [], ls="none", marker="v", color=MUTED, ms=o.style.marker, label="2nd pct"),
    ]


def draw_over_time(fig: Figure, run: Run, o: Options) -> None:
    which = choose(o.quantity, OVER_TIME_PANELS, "quantity", "over_time")
    if run.history.n_probes == 0:
        raise FigureError(f"{run.name} has no probes yet: train it first")
    layers = select_layers(run, o.layers, default="hidden")
    names = [run.names[i] for i in layers]
    stats = run.history.probe_stats(_OT_STATS)
    if which != "all":
        ax = fig.add_subplot()
        handles = over_time_panel(ax, run, which, layers, o, stats)
        ax.set_xlabel("step")
        extra = percentile_keys(o) if which == "act" else []
        figure_legend(fig, [*handles, *extra], [*names, *(e.get_label() for e in extra)], o)
        heading(fig, o, run.describe())
        return
    w, h = fig.get_size_inches()
    rows, cols = (3, 2) if w < 2.2 * h else (2, 3)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False).ravel()
    handles = []
    for ax, p in zip(axes, OVER_TIME_PANELS[1:]):
        handles = over_time_panel(ax, run, p, layers, o, stats)
    for ax in axes[len(OVER_TIME_PANELS) - 1 - cols : len(OVER_TIME_PANELS) - 1]:
        ax.set_xlabel("step")
        ax.tick_params(labelbottom=True)
    key = axes[-1]  # the sixth cell holds the legend: off the data
    key.set_axis_off()
    extra = percentile_keys(o)
    key.legend(
        [*handles, *extra],
        [*names, *(e.get_label() for e in extra)],
        loc="center",
        ncols=2 if len(names) > 5 else 1,
    )
    heading(fig, o, run.describe())


# ============================================================================ speed
SPEED_PANELS = ("both", "bars", "lines")


def speed_bars(ax, run: Run, layers: list[int], o: Options) -> None:
    """||dC/db|| per layer at one probe, bars in the layer colours (log axis)."""
    r = probe_row(run, o.step)
    p = run.history.probe(r)
    v = positive(p["stats"]["bias_grad_norm"][layers])
    colors = palette.layer_colors(run.n_layers)
    x = np.array(layers, np.float64) + 1
    lo, hi = log_limits(v, pad=0.1)
    ax.bar(
        x,
        np.where(np.isfinite(v), v, lo),
        0.7,
        bottom=lo,
        color=[colors[i] for i in layers],
        edgecolor=palette.LIGHT.foreground,
        linewidth=0.5 * o.style.thin,
    )
    if o.logy is not False:
        set_log(ax)
    ax.set_ylim(lo, hi)
    layer_ticks(ax, run, layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("||dC/db||")
    title = f"Speed of learning, step {int(p['step']):,}"
    hidden = [i for i in layers if i < run.n_layers - 1]
    if len(hidden) >= 2:
        first = p["stats"]["bias_grad_norm"][hidden[0]]
        last = p["stats"]["bias_grad_norm"][hidden[-1]]
        if first > 0 and last > 0 and math.isfinite(first / last):
            ratio = last / first
            word = "slower" if ratio >= 1 else "faster"
            times = ratio if ratio >= 1 else 1 / ratio
            title += (
                f"\nlayer {hidden[0] + 1} learns {times:.3g}x {word} than layer {hidden[-1] + 1}"
            )
    ax.set_title(title)


def draw_speed(fig: Figure, run: Run, o: Options) -> None:
    which = choose(o.quantity, SPEED_PANELS, "quantity", "speed")
    if run.history.n_probes == 0:
        raise FigureError(f"{run.name} has no probes yet: train it first")
    layers = select_layers(run, o.layers, default="hidden")
    names = [run.names[i] for i in layers]
    if which == "bars":
        speed_bars(fig.add_subplot(), run, layers, o)
        heading(fig, o, run.describe())
        return
    if which == "lines":
        ax = fig.add_subplot()
    else:
        a0, ax = fig.subplots(1, 2, width_ratios=(1, 1.6))
        speed_bars(a0, run, layers, o)
    handles = over_time_panel(ax, run, "speed", layers, o)
    ax.set_title("Speed of learning over training")
    ax.set_xlabel("step")
    figure_legend(fig, handles, names, o)
    heading(fig, o, run.describe())
