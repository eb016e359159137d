"""What the figure kinds share: the options, the layer selection and the drawing helpers.
Imported on the first figure (never by ``import gradlab.figures``): it imports matplotlib."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.figure import Figure

from gradlab.figures._runs import Run, as_run, as_runs
from gradlab.figures._style import (
    FOREGROUND,
    MUTED,
    STYLES,
    Style,
    check_size,
    freeze_style,
    get_style,
    style_context,
)
from gradlab.figures.errors import FigureError

# ---------------------------------------------------------------------------- options
#: options every kind takes (besides its own, in :data:`gradlab.figures._kinds.KINDS`)
COMMON_OPTIONS = (
    "quantity",
    "layers",
    "logx",
    "logy",
    "width",
    "height",
    "size",
    "dpi",
    "style",
    "title",
)


@dataclass
class Options:
    """A figure's options, checked. ``width``/``height`` in inches, ``dpi`` dots per inch."""

    kind: str
    style: Style
    step: int | None = None
    quantity: str | None = None
    layers: Any = None
    logx: bool | None = None
    logy: bool | None = None
    width: float | None = None
    height: float | None = None
    dpi: float | None = None
    title: str | bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def want_title(self, default_text: str) -> str | None:
        """The figure's heading: ``title`` itself when it is text, ``default_text`` when it is
        True (or None in the slides style), nothing when False (or None in the paper style)."""
        if isinstance(self.title, str):
            return self.title
        if self.title is True or (self.title is None and self.style.name == "slides"):
            return default_text
        return None


def parse_options(
    kind: str, step: Any, options: dict[str, Any], extra_allowed: dict[str, tuple]
) -> Options:
    """Check ``plot()``'s keyword options for ``kind``: one sentence for the first bad one."""
    allowed = (*COMMON_OPTIONS, *extra_allowed)
    for k in options:
        if k not in allowed:
            raise FigureError(
                f"unknown option {k!r} for the {kind} figure (options: step, {', '.join(allowed)})"
            )
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise FigureError(f"the step must be a whole number, got {step!r}")
        if step < 0:
            raise FigureError(f"the step must be 0 or more, got {step}")
        step = int(step)
    o = Options(kind=kind, style=get_style(options.get("style")), step=step)
    o.quantity = options.get("quantity")
    if o.quantity is not None and not isinstance(o.quantity, str):
        raise FigureError(f"the quantity must be a name, got {o.quantity!r}")
    o.layers = options.get("layers")
    for k in ("logx", "logy"):
        v = options.get(k)
        if v is not None and not isinstance(v, (bool, np.bool_)):
            raise FigureError(f"{k} must be True or False, got {v!r}")
        setattr(o, k, None if v is None else bool(v))
    size = options.get("size")
    if size is not None:
        try:
            o.width, o.height = (float(v) for v in size)
        except (TypeError, ValueError):
            raise FigureError(f"size must be (width, height) in inches, got {size!r}") from None
    for k in ("width", "height", "dpi"):
        v = options.get(k)
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
                raise FigureError(f"{k} must be a number, got {v!r}")
            setattr(o, k, float(v))
    title = options.get("title")
    if title is not None and not isinstance(title, (str, bool)):
        raise FigureError(f"title must be text, True or False, got {title!r}")
    o.title = title
    for k, choices in extra_allowed.items():
        v = options.get(k)
        if v is None:
            continue
        if choices and v not in choices:
            raise FigureError(
                f"{k} must be one of {', '.join(map(str, choices))} for the {kind} figure, "
                f"got {v!r}"
            )
        o.extra[k] = v
    return o


def choose(value: str | None, choices: Sequence[str], what: str, kind: str) -> str:
    """``value`` if it is one of ``choices`` (the first when None), else one sentence."""
    if value is None:
        return choices[0]
    if value not in choices:
        raise FigureError(
            f"unknown {what} {value!r} for the {kind} figure: choose from {', '.join(choices)}"
        )
    return value


# ---------------------------------------------------------------------------- layers
def select_layers(run: Run, layers: Any, default: str = "all") -> list[int]:
    """0-based indices of the layers to draw.

    ``layers``: None (the default: ``"all"`` or ``"hidden"``), ``"all"``, ``"hidden"``, a layer
    number 1..L or ``"out"``/``"output"`` (the output layer, L), or a list of them.
    """
    L = run.n_layers
    if layers is None:
        layers = default
    if isinstance(layers, str) and layers in ("all", "hidden"):
        if layers == "hidden" and L > 1:
            return list(range(L - 1))
        return list(range(L))
    items: Iterable = (
        [layers] if isinstance(layers, (str, int, np.integer)) else layers  # type: ignore[list-item]
    )
    try:
        items = list(items)
    except TypeError:
        raise FigureError(f"layers must be layer numbers or 'out', got {layers!r}") from None
    out: list[int] = []
    for item in items:
        if isinstance(item, str) and item.strip().lower() in ("out", "output"):
            i = L - 1
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            i = int(item) - 1
        elif isinstance(item, str) and item.strip().isdigit():
            i = int(item) - 1
        else:
            raise FigureError(f"layers: {item!r} is not a layer number or 'out'")
        if not 0 <= i < L:
            raise FigureError(
                f"layers: {item} is not a layer of this network (1 to {L}, the output being "
                f"{L} or 'out')"
            )
        if i not in out:
            out.append(i)
    if not out:
        raise FigureError("layers: choose at least one layer")
    return sorted(out)


def probe_row(run: Run, step: int | None) -> int:
    """The history row of the probe at or before ``step`` (the newest when None)."""
    h = run.history
    if h.n_probes == 0:
        raise FigureError(f"{run.name} has no probes yet: train it first")
    if step is None:
        return h.n_probes - 1
    return h.probe_index_at(step)


# ---------------------------------------------------------------------------- drawing helpers
def positive(v: Any) -> np.ndarray:
    """Values for a log axis: non-positive and non-finite become NaN (a gap)."""
    out = np.array(v, dtype=np.float64)
    out[~(out > 0) | ~np.isfinite(out)] = np.nan
    return out


def normalise(counts: np.ndarray) -> np.ndarray:
    """Counts (..., bins) -> the fraction of values in each bin (an empty row stays 0)."""
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum(axis=-1, keepdims=True)
    return np.divide(c, total, out=np.zeros_like(c), where=total > 0)


def grid_shape(n: int, aspect: float = 1.6) -> tuple[int, int]:
    """(rows, cols) of a small-multiples grid for ``n`` panels, about ``aspect`` times wider
    than tall, with few empty cells (the window's rule)."""

    def cost(rows: int) -> float:
        cols = math.ceil(n / rows)
        return abs(math.log(cols / rows / aspect)) + 0.35 * (rows * cols - n)

    rows = min(range(1, n + 1), key=cost)
    return rows, math.ceil(n / rows)


def log_limits(values: Any, pad: float = 0.15, min_decades: float = 1.0) -> tuple[float, float]:
    """Limits of a log axis holding the positive finite ``values``, at least ``min_decades``
    wide (so a labelled power of ten is in view)."""
    v = positive(np.ravel(np.asarray(values, dtype=np.float64)))
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.1, 10.0
    lo, hi = math.log10(float(v.min())), math.log10(float(v.max()))
    if hi - lo < min_decades:
        mid = 0.5 * (lo + hi)
        lo, hi = mid - 0.5 * min_decades, mid + 0.5 * min_decades
    span = hi - lo
    return 10 ** (lo - pad * span), 10 ** (hi + pad * span)


def finite_limits(values: Any, pad: float = 0.06, floor: tuple[float, float] | None = None):
    """Linear limits holding the finite ``values`` (and the ``floor`` interval), padded."""
    v = np.ravel(np.asarray(values, dtype=np.float64))
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if floor is not None:
        lo, hi = min(lo, floor[0]), max(hi, floor[1])
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return lo - pad * span, hi + pad * span


class LogLabels(matplotlib.ticker.Formatter):
    """Legible log-axis labels: the powers of ten as 0.01, 0.1, 1, 10, 100 (10^k beyond that);
    2 and 5 times them too when the axis spans less than two decades; nothing else."""

    def __init__(self, minor: bool):
        self.minor = minor

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not (x > 0 and math.isfinite(x)):
            return ""
        e = math.floor(math.log10(x) + 1e-9)
        m = round(x / 10.0**e, 6)
        if not self.minor:
            if abs(m - 1.0) > 1e-6:
                return ""
        else:
            lo, hi = self.axis.get_view_interval()
            few = lo > 0 and hi / lo < 100.0
            if not few or round(m) not in (2, 5) or abs(m - round(m)) > 1e-6:
                return ""
        if -3 <= e <= 3:
            return f"{x:.{max(-e, 0)}f}" if e < 0 else f"{x:g}"
        return (
            f"$\\mathdefault{{{round(m)}\\times10^{{{e}}}}}$"
            if round(m) != 1
            else (f"$\\mathdefault{{10^{{{e}}}}}$")
        )


def set_log(ax, axis: str = "y") -> None:
    """A log axis on which non-positive values are gaps (not clipped to the edge), with
    legible labels (:class:`LogLabels`)."""
    if axis == "y":
        ax.set_yscale("log", nonpositive="mask")
        target = ax.yaxis
    else:
        ax.set_xscale("log", nonpositive="mask")
        target = ax.xaxis
    target.set_major_formatter(LogLabels(minor=False))
    target.set_minor_formatter(LogLabels(minor=True))


def layer_ticks(ax, run: Run, layers: Sequence[int]) -> None:
    """An x axis of layers: a tick per drawn layer, labelled "1", "2", ..., "out"."""
    labels = run.labels
    ax.set_xticks([i + 1 for i in layers], [labels[i] for i in layers])
    ax.set_xlim(min(layers) + 0.4, max(layers) + 1.6)
    ax.grid(False, axis="x")


def mark_step(ax, step: float | None, o: Options) -> None:
    """A dashed vertical line at the chosen probe's step (when a step was asked for)."""
    if step is None:
        return
    ax.axvline(
        step, color=FOREGROUND, lw=o.style.thin, ls=(0, (4, 3)), zorder=5, label="_nolegend_"
    )


def spine_mark(ax, color: str, o: Options) -> None:
    """Mark a per-layer panel with its layer colour: a thick left spine."""
    sp = ax.spines["left"]
    sp.set_visible(True)
    sp.set_color(color)
    sp.set_linewidth(3.0 * o.style.frame)


def figure_legend(
    fig: Figure, handles: list, labels: list[str], o: Options, below: bool = False, **kw
) -> None:
    """A legend outside every plot: right of them on a wide figure, above them on a narrow
    one, below them when asked (never over the data)."""
    if not handles:
        return
    w, h = fig.get_size_inches()
    if below:
        cols = legend_columns(labels, w - 0.2, o.style.font)
        fig.legend(handles, labels, loc="outside lower center", ncols=cols, **kw)
    elif w / h >= 1.45 or w >= 5.0:
        fig.legend(handles, labels, loc="outside right center", **kw)
    else:
        cols = legend_columns(labels, w - 0.2, o.style.font)
        fig.legend(handles, labels, loc="outside upper center", ncols=cols, **kw)


def legend_columns(labels: Sequence[str], avail_in: float, font: float) -> int:
    """How many columns a legend of ``labels`` can have in ``avail_in`` inches (an estimate
    from the label lengths: about 0.6 em a character, 2 em of handle and gaps an entry;
    matplotlib splits the entries over the columns as ``np.array_split`` does)."""
    em = font / 72.0
    widths = np.array([(2.0 + 0.6 * len(t)) * em for t in labels])
    for n in range(len(labels), 0, -1):
        cols = [float(part.max()) for part in np.array_split(widths, n) if part.size]
        if sum(cols) + 0.9 * em * (n - 1) <= avail_in:
            return n
    return 1


def axes_width(ax) -> float:
    """The width (inches) an axes' grid cell gives it, less room for the y tick labels."""
    fig = ax.get_figure()
    spec = ax.get_subplotspec()
    w = fig.get_size_inches()[0]
    if spec is None:
        return w
    gs = spec.get_gridspec()
    share = (spec.colspan.stop - spec.colspan.start) / gs.ncols
    font = matplotlib.rcParams["font.size"]
    return max(w * share - 6.0 * font / 72.0, 0.5)


def top_legend(ax, o: Options) -> None:
    """The panel's series legend in a row (or two) above it, off the data."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    ncols = legend_columns(labels, axes_width(ax), o.style.font)
    ax.legend(
        handles,
        labels,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        ncols=ncols,
        borderaxespad=0.0,
        handletextpad=0.4,
        columnspacing=0.9,
        handlelength=1.4,
    )


def heading(fig: Figure, o: Options, default_text: str) -> None:
    text = o.want_title(default_text)
    if text:
        fig.suptitle(text)


__all__ = [
    "FOREGROUND",
    "MUTED",
    "STYLES",
    "FigureError",
    "Options",
    "Run",
    "Style",
    "as_run",
    "as_runs",
    "check_size",
    "freeze_style",
    "get_style",
    "style_context",
]
