"""Helpers the views share: layer names, the two-level redraw cache, histogram normalisation,
plots that are cheap to build and legible at any size (axes whose tick labels never overlap,
titles that pick the longest wording that fits, a fast opaque grid), item reuse across runs and
layout pieces.

Sizes go through the theme's zoom (:func:`gradlab.app.theme.pt`, :func:`~gradlab.app.theme.px`),
so View > Zoom scales every view's text, lines and markers.
"""

from __future__ import annotations

import html
import math
import types
from collections.abc import Hashable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QSizePolicy

from gradlab.app import theme
from gradlab.app.model import RunModel

#: the width of a plot's left axis (tick labels and the axis title), at 100%
AXIS_WIDTH = 62
#: plot title and axis text sizes (points, at 100%)
TITLE_PT = 10.0
TICK_PT = 9.0
LEGEND_PT = 9.0


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


def normalise(counts: np.ndarray, dtype=np.float64) -> np.ndarray:
    """Counts (..., bins) -> the fraction of values in each bin (each row sums to 1; an empty
    row stays 0)."""
    c = np.asarray(counts, dtype=dtype)
    total = c.sum(axis=-1, keepdims=True)
    return np.divide(c, total, out=np.zeros_like(c), where=total > 0)


def layer_pen(color: QColor, width: float = 1) -> pg.QtGui.QPen:
    """A pen ``width`` px wide at 100% (zoomed)."""
    return pg.mkPen(color, width=theme.px(width))


def swatch(color: QColor | str, glyph: str = "&#9632;") -> str:
    """A coloured glyph for a title or header that doubles as a key."""
    name = color.name() if isinstance(color, QColor) else color
    return f"<span style='color:{name}'>{glyph}</span>"


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


# ---------------------------------------------------------------------- axes
class TidyAxis(pg.AxisItem):
    """An axis whose tick labels never overlap: after pyqtgraph places them, a label that would
    touch the one before it is left out (pyqtgraph checks crowding only below the top tick level,
    so fixed ticks and wide numbers in a narrow plot piled up)."""

    GAP = 4.0

    def generateDrawSpecs(self, p):
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return specs
        axis, ticks, texts = specs
        vertical = self.orientation in ("left", "right")
        texts = sorted(texts, key=lambda t: t[0].center().y() if vertical else t[0].center().x())
        kept: list = []
        for spec in texts:
            rect: QRectF = spec[0]
            if kept:
                prev: QRectF = kept[-1][0]
                if vertical and rect.top() < prev.bottom() + self.GAP / 2:
                    continue
                if not vertical and rect.left() < prev.right() + self.GAP:
                    continue
            kept.append(spec)
        return axis, ticks, kept


class LogAxis(TidyAxis):
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


class LayerAxis(TidyAxis):
    """An x axis of layers at 1..L labelled "1", "2", ..., "out": in a narrow plot every k-th
    layer is labelled (always the first and the output), never a pile of numbers."""

    def __init__(self, orientation: str = "bottom", **kw):
        super().__init__(orientation, **kw)
        self.labels: list[str] = []
        # the first and last labels sit half a layer from the ends: let them overhang a little
        self.overhang = theme.px(12)

    def boundingRect(self):
        rect = super().boundingRect()
        m = self.overhang
        return rect.adjusted(-m, 0, m, 0) if self.orientation == "bottom" else rect

    def set_layers(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self.picture = None
        self.update()

    def tickValues(self, minVal, maxVal, size):
        n = len(self.labels)
        if not n:
            return super().tickValues(minVal, maxVal, size)
        widest = max(len(s) for s in self.labels)
        room = widest * 0.62 * theme.px(TICK_PT * 1.33) + 8.0  # px per label
        per = size / max(maxVal - minVal, 1e-9)  # px per layer
        k = max(1, math.ceil(room / max(per, 1e-9)))
        k = next((m for m in (1, 2, 3, 4, 5, 10, 20, 50) if m >= k), k)
        shown = [float(i) for i in range(1, n + 1, k)]
        if float(n) not in shown:
            if shown and (n - shown[-1]) * per < room:
                shown.pop()
            shown.append(float(n))
        minor = [float(i) for i in range(1, n + 1) if float(i) not in shown]
        return [(k, shown), (1, minor)]

    def tickStrings(self, values, scale, spacing):
        n = len(self.labels)
        out = []
        for v in values:
            i = round(v) - 1
            out.append(self.labels[i] if 0 <= i < n and abs(v - round(v)) < 1e-6 else "")
        return out


def style_axes(plot: pg.PlotItem, left_width: float = AXIS_WIDTH) -> None:
    """Zoomed tick and label fonts on a plot's axes, a fixed left-axis width (tick labels that
    change length, "0.1" -> "0.001", would otherwise re-lay out the whole canvas, a frame-long
    stall) and no SI prefixes ("0.001", not "x0.001" units)."""
    tick = theme.font(TICK_PT)
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setStyle(tickFont=tick, tickTextOffset=theme.px(4))
        ax.label.setFont(tick)
        ax.enableAutoSIPrefix(False)
    plot.getAxis("left").setWidth(theme.px(left_width))
    bottom = plot.getAxis("bottom")
    bottom.setHeight(None)
    bottom.setStyle(tickTextHeight=round(theme.line_height(TICK_PT)))


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


def grid_color(strength: float = 0.10) -> QColor:
    """The theme's foreground blended into its background: an opaque grid colour."""
    t = theme.current()
    fg, bg = QColor(t.foreground), QColor(t.background)
    mix = [round(strength * a + (1 - strength) * b) for a, b in zip(fg.getRgb(), bg.getRgb())]
    return QColor(*mix[:3])


def no_index(canvas: pg.GraphicsView) -> pg.GraphicsView:
    """No spatial index in the canvas's scene: its items move and change size every frame (the
    case Qt's documentation gives for NoIndex), and a stale BSP tree crashed Qt's paint after
    a view's items were reused for a new run."""
    canvas.scene().setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
    return canvas


class LazyMenuViewBox(pg.ViewBox):
    """A ViewBox whose right-click menu is built on the first right-click. Building it (two
    forms of a dozen widgets) was a third of a plot's cost, and the window has ~50 plots."""

    def __init__(self, *args, **kwargs):
        kwargs["enableMenu"] = False
        super().__init__(*args, **kwargs)
        self.state["enableMenu"] = True

    def _applyMenuEnabled(self) -> None:
        if not self.state.get("enableMenu", True) and self.menu is not None:
            self.menu.setParent(None)
            self.menu = None

    def getMenu(self, ev):
        if self.menu is None and self.menuEnabled():
            from pyqtgraph.graphicsItems.ViewBox.ViewBoxMenu import ViewBoxMenu

            self.menu = ViewBoxMenu(self)
            self.updateViewLists()
        return self.menu

    def getContextMenus(self, event):
        menu = self.getMenu(event) if self.menuEnabled() else None
        return menu.actions() if menu is not None else []


def new_plot(
    canvas: pg.GraphicsLayoutWidget,
    row: int,
    col: int,
    rowspan: int = 1,
    colspan: int = 1,
    *,
    bottom: pg.AxisItem | None = None,
    grid: bool = True,
    left_width: float = AXIS_WIDTH,
) -> pg.PlotItem:
    """A plot in the canvas's cell (row, col): a :class:`LogAxis` on the left (legible in log
    mode, the same otherwise), tidy tick labels below, zoomed fonts, an opaque grid, a menu
    built on demand, no auto-range buttons."""
    plot = canvas.addPlot(
        row=row,
        col=col,
        rowspan=rowspan,
        colspan=colspan,
        viewBox=LazyMenuViewBox(),
        axisItems={"left": LogAxis("left"), "bottom": bottom or TidyAxis("bottom")},
    )
    title_spans_plot(plot)
    style_axes(plot, left_width)
    if grid:
        fast_grid(plot)
    plot.hideButtons()
    return plot


#: the old name
def add_plot(canvas: pg.GraphicsLayoutWidget, row: int, col: int, **kw) -> pg.PlotItem:
    return new_plot(canvas, row, col, **kw)


# ---------------------------------------------------------------------- titles that fit
def _span(label: pg.LabelItem, text: str) -> str:
    o = label.opts
    color = o.get("color") or theme.current().foreground
    color = QColor(color).name() if not isinstance(color, str) else color
    style = [f"color: {color}", f"font-size: {theme.pt(label._fit_pt)}"]
    if o.get("bold"):
        style.append("font-weight: bold")
    return f"<span style='{'; '.join(style)}'>{text}</span>"


def _measure(label: pg.LabelItem, text: str) -> float:
    key = (text, theme.zoom(), label._fit_pt)
    w = label._widths.get(key)
    if w is None:
        label.item.setTextWidth(-1)
        label.item.setHtml(_span(label, text))
        w = label.item.boundingRect().width()
        label._widths[key] = w
        label._shown = None
    return w


def _choose(label: pg.LabelItem) -> None:
    """Show the first variant that fits the label's width (the last one if none does)."""
    avail = label.size().width()
    variants = label._variants
    chosen = variants[-1]
    scene = label.scene()
    if avail <= 1 or scene is None or not any(v.isVisible() for v in scene.views()):
        chosen = variants[0]  # not laid out on screen yet: the full wording (refit when shown)
    else:
        for v in variants:
            if _measure(label, v) <= avail - 2:
                chosen = v
                break
    if label._shown != chosen:
        label._shown = chosen
        label.text = chosen
        label.item.setTextWidth(-1)
        label.item.setHtml(_span(label, chosen))
    _place(label)


def _place(label: pg.LabelItem) -> None:
    br = label.item.boundingRect()
    w, h = label.size().width(), label.size().height()
    if label._fit_justify == "left" or br.width() > w:
        x = 0.0  # too long: the beginning shows, the end is clipped
    else:
        x = (w - br.width()) / 2
    label.item.setPos(x, max((h - br.height()) / 2, 0.0))


def text_height(size: float) -> float:
    """The height of a one-line label at ``size`` points (zoomed): the line and the text
    item's margins."""
    return theme.line_height(size) + 2 * 4.0 + 1.0  # QTextDocument's default margin: 4 px


def _fit_update_min(self) -> None:
    h = text_height(self._fit_pt)
    self.setMinimumWidth(0)
    self.setMinimumHeight(h)
    self._sizeHint = {
        Qt.SizeHint.MinimumSize: (0, h),
        Qt.SizeHint.PreferredSize: (0, h),
        Qt.SizeHint.MaximumSize: (-1, -1),
        Qt.SizeHint.MinimumDescent: (0, 0),
    }
    self.updateGeometry()


def _fit_resize(self, ev) -> None:
    _choose(self)


def _fit_set_text(self, text, **opts) -> None:
    self.opts.update({k: v for k, v in opts.items() if k not in ("size",)})
    self.set_variants(text)


def _fit_set_variants(self, *variants: str) -> None:
    variants = [v for v in variants if v is not None] or [""]
    if variants == self._variants:
        return
    self._variants = variants
    _choose(self)


def fit_label(
    label: pg.LabelItem, size: float = TITLE_PT, justify: str = "center"
) -> pg.LabelItem:
    """Make ``label`` (a plot title or a header) show the longest of its wordings that fits its
    width (:meth:`set_variants`; ``setText`` sets a single one): a title reads whole in a wide
    plot and in a narrow Dashboard cell alike. It never widens the layout; a text still too
    long is left-aligned and clipped at the label's edge."""
    label._fit_pt = size
    label._fit_justify = justify
    label._variants = [label.text]
    label._widths = {}
    label._shown = None
    label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, True)
    label.updateMin = types.MethodType(_fit_update_min, label)
    label.resizeEvent = types.MethodType(_fit_resize, label)
    label.setText = types.MethodType(_fit_set_text, label)
    label.set_variants = types.MethodType(_fit_set_variants, label)
    label.updateMin()
    return label


def shrinkable(label: pg.LabelItem) -> pg.LabelItem:
    """(The old name of :func:`fit_label` with one wording.)"""
    if not hasattr(label, "_variants"):
        fit_label(label)
    return label


def refit_labels(canvas: pg.GraphicsView) -> None:
    """Choose again the wordings of the canvas's titles and headers (it was just shown)."""
    for item in canvas.scene().items():
        if hasattr(item, "_variants"):
            _choose(item)


def title_spans_plot(plot: pg.PlotItem) -> None:
    """Let the plot's title span the plot's whole width (axes included), not only its data
    area: a narrow plot's title gets the room of its tick labels too."""
    label = plot.titleLabel
    if getattr(label, "_spans", False):
        return
    plot.layout.removeItem(label)
    plot.layout.addItem(label, 0, 0, 1, 3)
    label._spans = True
    fit_label(label)


def set_title(plot: pg.PlotItem, *variants: str, size: float = TITLE_PT) -> None:
    """Title ``plot`` with the longest of ``variants`` (longest first) that fits its width."""
    title_spans_plot(plot)
    label = plot.titleLabel
    if not variants or variants == (None,):
        plot.setTitle(None)
        return
    label._fit_pt = size
    h = math.ceil(text_height(size))
    label.setMaximumHeight(h)
    plot.layout.setRowFixedHeight(0, h)
    label.setVisible(True)
    label.updateMin()
    label.set_variants(*variants)


def title_text(plot: pg.PlotItem) -> str:
    """The wording a plot's title shows now ("" without a title)."""
    label = plot.titleLabel
    return label.text if label.isVisible() else ""


def header(canvas: pg.GraphicsLayoutWidget, colspan: int, row: int = 0,
           size: float = TITLE_PT) -> pg.LabelItem:  # fmt: skip
    """A one-line header across a view's canvas (the top row by default; set its wordings with
    ``header.set_variants(long, ..., short)``)."""
    label = pg.LabelItem("", color=theme.current().foreground, justify="left")
    fit_label(label, size, justify="left")
    canvas.addItem(label, row=row, col=0, colspan=colspan)
    return label


def layer_key(model: RunModel, layers: Sequence[int] | None = None, extra: str = "") -> list[str]:
    """Wordings (longest first) of a one-line key of the layer colours, for a :func:`header`
    row: a legend that never sits on the data and never runs off a small cell, whatever the
    number of layers. ``extra`` (e.g. what the line styles mean) follows each wording."""
    colors = theme.layer_colors(model.n_layers)
    names = layer_names(model)
    labels = model.layer_labels
    idx = list(range(model.n_layers)) if layers is None else list(layers)
    bar = "&#9644;"
    tail = f"&nbsp;&nbsp; {extra}" if extra else ""
    out = [
        "&nbsp; ".join(f"{swatch(colors[i], bar)} {names[i]}" for i in idx) + tail,
        "layer " + " ".join(f"{swatch(colors[i])}{labels[i]}" for i in idx) + tail,
    ]
    if len(idx) > 2:
        first, last = idx[0], idx[-1]
        out.append(
            f"layer {swatch(colors[first])}{labels[first]} "
            + "".join(swatch(colors[i]) for i in idx[1:-1])
            + f" {swatch(colors[last])}{labels[last]}" + tail
        )
    if extra:
        out += [o.removesuffix(tail) for o in out[1:]]
    return out


def plain(text: str) -> str:
    """Text from a run's name or description, safe inside a label's HTML."""
    return html.escape(text, quote=False)


# ---------------------------------------------------------------------- legends
def legend(columns: int = 1) -> pg.LegendItem:
    """A legend in the theme's colours at the zoomed size (put it in a cell of its own with
    :func:`side_legend`: never over the data)."""
    t = theme.current()
    item = pg.LegendItem(
        labelTextSize=theme.pt(LEGEND_PT),
        labelTextColor=t.foreground,
        colCount=columns,
        verSpacing=-theme.px(4),
    )
    return item


def side_legend(canvas: pg.GraphicsLayoutWidget, legend: pg.LegendItem, row: int, col: int,
                rowspan: int = 1, colspan: int = 1):  # fmt: skip
    """Put ``legend`` in its own cell of the canvas, at the top, at its natural size."""
    canvas.addItem(legend, row=row, col=col, rowspan=rowspan, colspan=colspan)
    legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    canvas.ci.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)


# ---------------------------------------------------------------------- curves
def keep_downsampling_fresh(plot: pg.PlotItem, curves: Sequence[pg.PlotDataItem]) -> None:
    """Recompute the curves' automatic downsampling when the plot is resized. pyqtgraph sizes it
    for the plot's width when the data is set and again only when the *range* changes: a frozen
    run (a reopened session) drawn while its tab was narrow kept a min/max pair per ~30 steps,
    a regular sawtooth, at full width."""

    def refresh(*_args) -> None:
        for c in curves:
            c.viewRangeChanged()

    plot.vb.sigResized.connect(refresh)


# ---------------------------------------------------------------------- item reuse
class ReusesItems:
    """Mix-in for a :class:`BaseView`: a new run with the same structure (layer count, layout
    options, theme, zoom) keeps the plot items and only clears them (:meth:`new_run`). Creating
    a PlotItem costs ~15 ms, so rebuilding eleven small plots stalled the window ~250 ms at every
    reset; clearing them takes well under 1 ms."""

    _built_for: Hashable = None

    def structure(self, model: RunModel) -> Hashable:
        """What the items depend on besides the data (the default: the number of layers)."""
        return model.n_layers

    def adopt_steps(self, model: RunModel | None):
        key = None if model is None else (self.structure(model), theme.current().name,
                                          theme.zoom())  # fmt: skip
        if model is not None and key == self._built_for and self._has_items:
            self.new_run(model)
            return
        self._built_for = key
        self._has_items = False
        yield from super().adopt_steps(model)

    def new_run(self, model: RunModel) -> None:
        """Forget the previous run: empty every item, reset ranges and caches."""
        raise NotImplementedError


def grid_shape(n: int, aspect: float = 1.6) -> tuple[int, int]:
    """(rows, cols) of a small-multiples grid for ``n`` plots: about ``aspect`` times wider than
    tall (a view is wider than tall), with few empty cells."""

    def cost(rows: int) -> float:
        cols = math.ceil(n / rows)
        return abs(math.log(cols / rows / aspect)) + 0.35 * (rows * cols - n)

    rows = min(range(1, n + 1), key=cost)
    return rows, math.ceil(n / rows)
