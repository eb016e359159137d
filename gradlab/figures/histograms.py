"""Histogram figures: ``distributions`` (every layer's normalised histogram at one probe, overlaid
as in Glorot & Bengio 2010 figs. 6-8 or as CS231n's row of small plots) and ``heatmaps`` (each
layer's histograms over the whole run as an image)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, ScalarFormatter

from gradlab import palette
from gradlab.figures._base import (
    FOREGROUND,
    FigureError,
    Options,
    Run,
    choose,
    figure_legend,
    finite_limits,
    grid_shape,
    heading,
    normalise,
    probe_row,
    select_layers,
    set_log,
    spine_mark,
)
from gradlab.figures.numbers import overlap_matrix, resample, step_columns  # noqa: F401

#: histogram quantities: key -> (name, axis symbol)
QUANTITIES: dict[str, tuple[str, str]] = {
    "act": ("Activations", "a = f(z)"),
    "pre": ("Pre-activations", "z"),
    "delta": ("Back-propagated gradients", "δ = dL/dz"),
    "wgrad": ("Weight gradients", "dL/dW"),
    "weight": ("Weights", "W"),
}
#: the quantities also recorded as histograms of log10 |x|
LOG_KEYS = {"delta": "delta_log", "wgrad": "wgrad_log"}
#: heatmap colours (viridis already means depth), and the floor of its log scale
COLORMAP = "inferno"
LOG_FLOOR = -5.0
NICE_TOPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: columns an image of the step axis gets (at least one per probe, within these bounds)
STEP_COLUMNS = (512, 2048)


def hist_key(o: Options, kind: str) -> tuple[str, str]:
    """(quantity, stored histogram): ``logx`` (or a ``*_log`` quantity) picks the histogram of
    log10 |x|, recorded for the gradients only."""
    q = o.quantity or "act"
    logx = bool(o.logx)
    if q in LOG_KEYS.values():
        q, logx = q[: -len("_log")], True
    q = choose(q, tuple(QUANTITIES), "quantity", kind)
    if logx:
        if q not in LOG_KEYS:
            raise FigureError(
                f"log10 |x| histograms are recorded for delta and wgrad only, not {q}; "
                "use logy for the tails"
            )
        return q, LOG_KEYS[q]
    return q, q


def axis_label(q: str, key: str) -> str:
    sym = QUANTITIES[q][1]
    if key != q:
        return f"log10 |{sym.split(' =')[0]}|"
    return sym


def occupied(frac: np.ndarray, edges: np.ndarray) -> tuple[float, float] | None:
    """(lo, hi) of the bins that hold any value, or None."""
    used = np.flatnonzero(frac > 0)
    if not used.size:
        return None
    return float(edges[used[0]]), float(edges[used[-1] + 1])


def _padded(lo: float, hi: float, pad: float = 0.05) -> tuple[float, float]:
    span = hi - lo if hi > lo else max(abs(hi), 1e-12)
    return lo - pad * span, hi + pad * span


# ============================================================================ distributions
def distributions_panel(ax, run: Run, o: Options, layers: list[int] | None = None):
    """All chosen layers' normalised histograms overlaid on ``ax`` (Glorot & Bengio); returns
    the legend (handles, labels)."""
    q, key = hist_key(o, "distributions")
    st = o.style
    h = run.history
    r = probe_row(run, o.step)
    p = h.probe(r)
    layers = layers if layers is not None else select_layers(run, o.layers)
    counts, ranges = p["hists"][key], p["ranges"][key]
    frac = normalise(counts)
    bins = counts.shape[1]
    colors = palette.layer_colors(run.n_layers)
    names = run.names
    L = run.n_layers
    # the x axis spans the hidden layers' values: the output's logits may be far wider and
    # would squash them (the window's rule); the output alone gets its own range
    hidden = [i for i in layers if i < L - 1] or layers
    spans = [occupied(frac[i], np.linspace(*ranges[i], bins + 1)) for i in hidden]
    spans = [s for s in spans if s is not None]
    xlo, xhi = (
        (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else tuple(ranges[hidden[0]])
    )
    logy = bool(o.logy)
    floor = 10.0 ** math.floor(math.log10(0.5 / max(float(counts.sum(axis=1).max()), 1.0)))
    handles, labels, top = [], [], 0.0
    for i in layers:
        edges = np.linspace(*ranges[i], bins + 1)
        y = np.maximum(frac[i], floor) if logy else frac[i]
        art = ax.stairs(
            y, edges, color=colors[i], lw=st.line, baseline=None, label=names[i], zorder=3
        )
        handles.append(art)
        labels.append(names[i])
        inside = (edges[1:] > xlo) & (edges[:-1] < xhi)
        if inside.any():
            top = max(top, float(frac[i][inside].max()))
    ax.set_xlim(*_padded(xlo, xhi))
    if logy:
        set_log(ax)
        ax.set_ylim(floor * 0.7, max(top, floor * 10) * 2.0)
    else:
        ax.set_ylim(0.0, max(top, 1e-6) * 1.08)
    ax.set_xlabel(axis_label(q, key))
    ax.set_ylabel("fraction per bin")
    ax.set_title(f"{QUANTITIES[q][0]}, step {int(p['step']):,}")
    return handles, labels


def draw_distributions(fig: Figure, run: Run, o: Options) -> None:
    layout = o.extra.get("layout", "overlay")
    if layout == "overlay":
        ax = fig.add_subplot()
        handles, labels = distributions_panel(ax, run, o)
        figure_legend(fig, handles, labels, o)
        heading(fig, o, run.describe())
        return
    _draw_multiples(fig, run, o)


#: the statistic that gives a quantity's spread (for layers narrower than the bins)
STD_STAT = {"act": "act_std", "pre": "pre_std", "delta": "delta_std", "wgrad": "wgrad_std",
            "weight": "weight_std"}  # fmt: skip
#: a layer whose values fill this many bins or fewer is drawn with its std in the title
NARROW_BINS = 3


def _draw_multiples(fig: Figure, run: Run, o: Options) -> None:
    """One small plot per layer (CS231n lecture 6), each on its own axes (where its values
    are). The bins are shared by the hidden layers, so a layer whose values all fall in a few
    of them (a collapsed signal) gets its standard deviation in its title."""
    q, key = hist_key(o, "distributions")
    st = o.style
    r = probe_row(run, o.step)
    p = run.history.probe(r)
    layers = select_layers(run, o.layers)
    counts, ranges = p["hists"][key], p["ranges"][key]
    frac = normalise(counts)
    bins = counts.shape[1]
    colors = palette.layer_colors(run.n_layers)
    w, h = fig.get_size_inches()
    rows, cols = grid_shape(len(layers), aspect=max(w / h, 0.5) * 1.1)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    logy = bool(o.logy)
    floor = 10.0 ** math.floor(math.log10(0.5 / max(float(counts.sum(axis=1).max()), 1.0)))
    narrow_any = False
    for ax, i in zip(axes, layers):
        edges = np.linspace(*ranges[i], bins + 1)
        y = np.maximum(frac[i], floor) if logy else frac[i]
        base = floor * 0.7 if logy else 0.0
        ax.stairs(y, edges, color=colors[i], fill=True, alpha=0.35, lw=0, baseline=base)
        ax.stairs(y, edges, color=colors[i], lw=st.line, baseline=None)
        span = occupied(frac[i], edges) or tuple(ranges[i])
        ax.set_xlim(*_padded(*span))
        # small plots: a few short labels ("0", not "0.0"), apart
        ax.xaxis.set_major_locator(MaxNLocator(nbins=3, steps=[1, 2, 5, 10]))
        if 1e-2 <= max(abs(span[0]), abs(span[1])) < 1e4:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}".replace("-", "−")))
        else:  # tiny or huge values: a common factor at the axis' end (x 1e-7)
            ax.xaxis.set_major_formatter(ScalarFormatter(useMathText=True))
            ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
        title = run.names[i]
        if key == q and int((counts[i] > 0).sum()) <= NARROW_BINS:
            std = float(p["stats"][STD_STAT[q]][i])
            title += f"\nstd {std:.2g}"
            narrow_any = True
        ax.set_title(title)
        spine_mark(ax, colors[i], o)
        top = float(frac[i].max())
        if logy:
            set_log(ax)
            ax.set_ylim(floor * 0.7, max(top, floor * 10) * 2.0)
        else:
            ax.set_ylim(0.0, max(top, 1e-6) * 1.08)
    for ax in axes[len(layers) :]:
        ax.set_axis_off()
    note = f" (std: the values fill {NARROW_BINS} bins or fewer)" if narrow_any else ""
    fig.supxlabel(axis_label(q, key) + note)
    fig.supylabel("fraction per bin")
    line = f"{QUANTITIES[q][0]}, step {int(p['step']):,}"
    head = o.want_title(run.describe())
    fig.suptitle(f"{head}\n{line}" if head else line)


# ============================================================================ heatmaps
def heatmap_images(run: Run, key: str, log: bool):
    """(images (L, bins, columns), per-layer (lo, hi), x0, span, levels): every probe's
    histogram normalised to sum to 1, re-binned onto the layer's widest range, sampled on an
    even step grid."""
    counts, ranges = run.history.hist_series(key)  # (n, L, bins), (n, L, 2)
    n, L, _ = counts.shape
    los, his = ranges[:, :, 0].min(axis=0), ranges[:, :, 1].max(axis=0)
    dens = np.empty(counts.shape, np.float64)
    for l in range(L):
        dens[:, l] = resample(counts[:, l], ranges[:, l], float(los[l]), float(his[l]))
    dens = normalise(dens)
    stack = dens.transpose(1, 2, 0)  # (L, bins, n)
    if log:
        stack = np.log10(np.maximum(stack, 10.0**LOG_FLOOR))
        levels = (LOG_FLOOR, 0.0)
    else:
        top = float(stack.max()) if stack.size else 1.0
        levels = (0.0, next((v for v in NICE_TOPS if v >= top), 1.0))
    steps = run.history.probe_column("step")
    rows, x0, span = step_columns(steps, int(np.clip(n, *STEP_COLUMNS)))
    occupied_bins = dens.max(axis=0) > 0  # (L, bins)
    return np.take(stack, rows, axis=2), los, his, x0, span, levels, occupied_bins


def draw_heatmaps(fig: Figure, run: Run, o: Options) -> None:
    q, key = hist_key(o, "heatmaps")
    st = o.style
    h = run.history
    if h.n_probes == 0:
        raise FigureError(f"{run.name} has no probes yet: train it first")
    log = o.extra.get("logc", True)
    layers = select_layers(run, o.layers)
    images, los, his, x0, span, levels, occ = heatmap_images(run, key, log)
    colors = palette.layer_colors(run.n_layers)
    cols = 1 if len(layers) <= 4 else 2
    rows = math.ceil(len(layers) / cols)
    axes = fig.subplots(rows, cols, sharex=True, squeeze=False)
    flat = axes.ravel()
    bins = images.shape[1]
    im = None
    for ax, i in zip(flat, layers):
        im = ax.imshow(
            images[i],
            extent=(x0, x0 + span, float(los[i]), float(his[i])),
            origin="lower",
            aspect="auto",
            cmap=COLORMAP,
            vmin=levels[0],
            vmax=levels[1],
            interpolation="nearest",
        )
        width = (his[i] - los[i]) / bins
        centres = los[i] + (np.arange(bins) + 0.5) * width
        used = centres[occ[i]]
        if used.size:
            ax.set_ylim(*finite_limits([used.min() - width, used.max() + width], pad=0.04))
        ax.grid(False)
        ax.set_ylabel(run.names[i])
        spine_mark(ax, colors[i], o)
        if o.step is not None:
            s = float(h.probe_column("step")[probe_row(run, o.step)])
            ax.axvline(s, color="white", lw=st.thin, ls=(0, (4, 3)))
    for ax in flat[len(layers) :]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("step")
    if rows > 1 and cols > 1 and len(layers) % cols:  # the last row is short: label above it
        axes[-2][-1].set_xlabel("step")
        axes[-2][-1].tick_params(labelbottom=True)
    ax.set_xlim(x0, x0 + span)
    cb = fig.colorbar(im, ax=[a for a in flat[: len(layers)]], shrink=0.9, aspect=30)
    cb.set_label("log10 fraction per bin" if log else "fraction per bin")
    cb.outline.set_linewidth(st.frame)
    steps = h.probe_column("step")
    line = (
        f"{QUANTITIES[q][0]}: {axis_label(q, key)} over {h.n_probes} probes, steps "
        f"{int(steps[0]):,}-{int(steps[-1]):,}"
    )
    head = o.want_title(run.describe())
    fig.suptitle(f"{head}\n{line}" if head else line, color=FOREGROUND)
