"""Helpers the views share: layer names and ticks, the two-level redraw cache, histogram
normalisation, a legible log axis, a fast opaque grid, item reuse across runs, layout pieces."""

from __future__ import annotations

import math
import types
from collections.abc import Hashable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QSizePolicy

from gradlab.app import theme
from gradlab.app.model import RunModel


def layer_names(model: RunModel) -> list[str]:
    """Legend names: "layer 1", "layer 2", ..., "output"."""
    n = model.n_layers
    return [f"layer {i + 1}" if i < n - 1 else "output" for i in range(n)]


def describe(model: RunModel) -> str:
    """The run's one-line description, or its name when the spec is too sparse to describe
    (a history assembled by hand, an old session)."""
    try:
        return model.describe()
    except (KeyError, IndexError, TypeError):
        return model.name


def layer_ticks(model: RunModel) -> list[list[tuple[float, str]]]:
    """Ticks for an x axis of layers at 1..L: "1", "2", ..., "out"."""
    return [[(float(i + 1), lab) for i, lab in enumerate(model.layer_labels)]]


def normalise(counts: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Counts (..., bins) -> the fraction of values in each bin (each row sums to 1; an empty
    row stays 0)."""
    c = np.asarray(counts, dtype=dtype)
    total = c.sum(axis=-1, keepdims=True)
    return np.divide(c, total, out=np.zeros_like(c), where=total > 0)


def layer_pen(color: QColor, width: int = 1) -> pg.QtGui.QPen:
    return pg.mkPen(color, width=width)


class RedrawCache:
    """Skips identical redraws in two levels.

    ``cheap(key)``: True if nothing changed at all (same history version, row and options).
    ``content(key)``: True if what would be drawn is the same as last time (e.g. the same probe:
    the history's version moves at every training step, the probes only every k steps).
    """

    def __init__(self) -> None:
        self._cheap: Hashable = None
        self._content: Hashable = None

    def reset(self) -> None:
        self._cheap = self._content = None

    def cheap(self, key: Hashable) -> bool:
        if key == self._cheap:
            return True
        self._cheap = key
        return False

    def content(self, key: Hashable) -> bool:
        if key == self._content:
            return True
        self._content = key
        return False


class LogAxis(pg.AxisItem):
    """An axis whose log-mode labels stay legible: over more than 2.5 decades only the powers
    of ten are labelled, over less 1, 2 and 5 times them (pyqtgraph labels every minor tick,
    which piles "9·10⁻⁵ 8·10⁻⁵ ..." on top of each other). Linear mode is unchanged."""

    def logTickStrings(self, values, scale, spacing):
        strings = super().logTickStrings(values, scale, spacing)
        lo, hi = self.range
        keep = (1,) if hi - lo > 2.5 else (1, 2, 5)
        out = []
        for v, text in zip(values, strings):
            mantissa = round(10 ** (v - math.floor(v + 1e-9)))
            out.append(text if mantissa in keep or mantissa == 10 else "")
        return out


def grid_color(strength: float = 0.10) -> QColor:
    """The theme's foreground blended into its background: an opaque grid colour."""
    t = theme.current()
    fg, bg = QColor(t.foreground), QColor(t.background)
    mix = [round(strength * a + (1 - strength) * b) for a, b in zip(fg.getRgb(), bg.getRgb())]
    return QColor(*mix[:3])


def fast_grid(plot: pg.PlotItem) -> None:
    """A grid of opaque 1-px lines. pyqtgraph's ``showGrid`` draws translucent lines; blending
    them cost ~3 ms a plot per frame offscreen (20 of the 28 ms a six-plot view took to paint),
    opaque lines ~0.3 ms. Every tick level gets the same light colour, and the axes (which
    draw the grid) go below the plotted items so the lines never cross the data."""
    pen = pg.mkPen(grid_color(), width=1)
    plot.showGrid(x=True, y=True, alpha=1.0)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setTickPen(pen)
        ax.setStyle(tickAlpha=255, maxTickLevel=1)  # major and minor ticks: a calmer grid
        ax.setZValue(-1000)


def add_plot(canvas: pg.GraphicsLayoutWidget, row: int, col: int, **kw) -> pg.PlotItem:
    """A plot with a :class:`LogAxis` on the left (legible in log mode, the same otherwise)."""
    plot = canvas.addPlot(row=row, col=col, axisItems={"left": LogAxis("left")}, **kw)
    shrinkable(plot.titleLabel)
    fast_grid(plot)
    return plot


class ReusesItems:
    """Mix-in for a :class:`BaseView`: a new run with the same structure (layer count, layout
    options, theme) keeps the plot items and only clears them (:meth:`new_run`). Creating a
    PlotItem costs ~15 ms, so rebuilding eleven small plots stalled the window ~250 ms at every
    reset; clearing them takes well under 1 ms."""

    _built_for: Hashable = None

    def structure(self, model: RunModel) -> Hashable:
        """What the items depend on besides the data (the default: the number of layers)."""
        return model.n_layers

    def set_model(self, model: RunModel | None) -> None:
        key = None if model is None else (self.structure(model), theme.current().name)
        if model is not None and self.model is not None and key == self._built_for:
            self.model = model
            self.new_run(model)
            self.refresh(self.row)
            return
        self._built_for = key
        super().set_model(model)

    def new_run(self, model: RunModel) -> None:
        """Forget the previous run: empty every item, reset ranges and caches."""
        raise NotImplementedError


def _update_min_without_width(self) -> None:
    """pyqtgraph's LabelItem.updateMin, minus the minimum width: a long plot title or header
    is clipped at its plot's edge instead of widening the whole layout past the view (which then
    shows only part of its plots, as in a narrow Dashboard cell)."""
    pg.LabelItem.updateMin(self)
    self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
    self.setMinimumWidth(0)
    for which in (Qt.SizeHint.MinimumSize, Qt.SizeHint.PreferredSize):
        self._sizeHint[which] = (0, self._sizeHint[which][1])
    self.updateGeometry()


def _resize_keeping_the_start(self, ev) -> None:
    """A text too long for its label is left-aligned, so the clip keeps its beginning."""
    wide = self.item.boundingRect().width() > self.size().width()
    self.opts["justify"] = "left" if wide else self._justify
    pg.LabelItem.resizeEvent(self, ev)


def shrinkable(label: pg.LabelItem) -> pg.LabelItem:
    """Let ``label`` (a plot title or a header, not a legend entry) shrink below its text."""
    label._justify = label.opts.get("justify", "center")
    label.updateMin = types.MethodType(_update_min_without_width, label)
    label.resizeEvent = types.MethodType(_resize_keeping_the_start, label)
    label.updateMin()
    return label


def header(canvas: pg.GraphicsLayoutWidget, colspan: int) -> pg.LabelItem:
    """A one-line header across the top of a view's canvas."""
    t = theme.current()
    label = shrinkable(pg.LabelItem("", color=t.foreground, size="10pt", justify="left"))
    canvas.addItem(label, row=0, col=0, colspan=colspan)
    return label


def side_legend(canvas: pg.GraphicsLayoutWidget, legend: pg.LegendItem, row: int, col: int):
    """Put ``legend`` in its own cell of the canvas, at the top, at its natural size."""
    canvas.addItem(legend, row=row, col=col)
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    canvas.ci.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)


def grid_shape(n: int, aspect: float = 1.6) -> tuple[int, int]:
    """(rows, cols) of a small-multiples grid for ``n`` plots: about ``aspect`` times wider than
    tall (a view is wider than tall), with few empty cells."""

    def cost(rows: int) -> float:
        cols = math.ceil(n / rows)
        return abs(math.log(cols / rows / aspect)) + 0.35 * (rows * cols - n)

    rows = min(range(1, n + 1), key=cost)
    return rows, math.ceil(n / rows)


# ---------------------------------------------------------------------- the view
