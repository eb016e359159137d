"""The Distributions view: normalised histograms of one quantity, every layer at one probe
(Glorot & Bengio 2010, figs. 6-8, overlaid in a colour ramp; CS231n lecture 6, one small plot
per layer). The hidden layers share one set of bins; the output layer, whose logits need not be
on the hidden units' scale, has its own bins and its own axes.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QWidget

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import (
    RedrawCache,
    ReusesItems,
    grid_shape,
    header,
    layer_key,
    layer_names,
    layer_pen,
    new_plot,
    normalise,
    set_title,
    swatch,
)
from gradlab.app.views.ranges import GrowingRange

#: histogram quantities: key -> (menu text, axis symbol, stored log10|x| histogram or None)
QUANTITIES: dict[str, tuple[str, str, str | None]] = {
    "act": ("Activations a = f(z)", "a", None),
    "pre": ("Pre-activations z", "z", None),
    "delta": ("Back-propagated gradients δ = n·dL/dz", "δ", "delta_log"),
    "wgrad": ("Weight gradients dL/dW", "dL/dW", "wgrad_log"),
    "weight": ("Weights W", "W", None),
}


class DistributionsView(ReusesItems, BaseView):
    key = "distributions"
    title = "Distributions"
    summary = (
        "<b>Distributions</b>: the normalised histogram of one quantity (activations, "
        "pre-activations, back-propagated gradients, weight gradients or weights) in every "
        "layer at the selected probe; colour goes from the first hidden layer (dark) to the "
        "output (bright), which has axes of its own."
    )
    details = (
        "Each curve is the fraction of the values that fall in each bin (the bins of a layer sum "
        "to 1), measured on the fixed probe batch (every unit of every example). The hidden "
        "layers share one set of bins, so their widths compare directly; the output layer (its "
        "logits need not be on the hidden units' scale) has bins and axes of its own. The x "
        "axis stays put while the values fit and widens when they escape. <b>Healthy</b>: every "
        "hidden layer has a similar spread. <b>Activations</b> of tanh piling up at &plusmn;1 "
        "mean saturated units (CS231n, weights &times;1.0); a spike at 0 that grows in upper "
        "layers means the signal is dying (Glorot &amp; Bengio fig. 6, standard init; CS231n, "
        "weights &times;0.01). <b>Back-propagated gradients</b> δ = n·dL/dz: the per-example "
        "gradient of the loss with respect to a layer's pre-activations z (L is the batch-mean "
        "loss, n the probe batch's size), what Glorot &amp; Bengio histogram; δ narrowing towards "
        "the first layer means vanishing gradients (fig. 7). <b>Weight gradients</b> dL/dW, the "
        "batch-mean gradients training uses, should have similar spreads in every layer (fig. "
        "8). <b>log10 |x|</b> (gradients only) shows the sizes of δ and dL/dW across decades, "
        "from histograms of log10|x| recorded for that purpose; activations, pre-activations and "
        "weights are only recorded on a linear axis, so for them use <b>log y</b> instead: it "
        "shows the tails and the near-empty bins (a bin with no value sits on the floor of the "
        "axis). <b>Overlay</b> compares the hidden layers on one plot (Glorot &amp; Bengio); "
        "<b>one plot per layer</b> shows each shape on its own (CS231n); the small plots share "
        "the y axis, the hidden ones the x axis too."
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.quantity_box = QComboBox(self)
        for q, (text, _sym, _log) in QUANTITIES.items():
            self.quantity_box.addItem(text, q)
        self.quantity_box.setToolTip("Which quantity to histogram")
        self.layout_box = QComboBox(self)
        self.layout_box.addItem("Overlay (Glorot & Bengio)", "overlay")
        self.layout_box.addItem("One plot per layer (CS231n)", "multiples")
        self.layout_box.setToolTip("The hidden layers on one plot, or one small plot per layer")
        self.logx_box = QCheckBox("log10 |x|", self)
        self.logy_box = QCheckBox("log y", self)
        self.logy_box.setToolTip(
            "Fraction per bin on a logarithmic axis: shows the tails and nearly empty bins"
        )
        self.controls.addWidget(QLabel("Quantity", self))
        self.controls.addWidget(self.quantity_box)
        self.controls.addSpacing(12)
        self.controls.addWidget(self.layout_box)
        self.controls.addSpacing(12)
        self.controls.addWidget(self.logx_box)
        self.controls.addWidget(self.logy_box)
        self.controls.addStretch(1)
        self.quantity_box.currentIndexChanged.connect(self._on_quantity)
        self.layout_box.currentIndexChanged.connect(self._rebuild)
        self.logx_box.toggled.connect(self._redraw)
        self.logy_box.toggled.connect(self._rebuild)
        self._cache = RedrawCache()
        self.curves: list[pg.PlotDataItem] = []
        self.plots: list[pg.PlotItem] = []
        #: the plot each layer is drawn on (overlay: the hidden plot or the output's)
        self.plot_of: list[pg.PlotItem] = []
        self._on_quantity()

    # ------------------------------------------------------------------ options
    @property
    def quantity(self) -> str:
        return self.quantity_box.currentData()

    @property
    def multiples(self) -> bool:
        return self.layout_box.currentData() == "multiples"

    @property
    def hist_key(self) -> str:
        """The stored histogram drawn: the quantity, or its log10|x| histogram."""
        log = QUANTITIES[self.quantity][2]
        return log if (log and self.logx_box.isChecked()) else self.quantity

    def _on_quantity(self, *_args) -> None:
        has_log = QUANTITIES[self.quantity][2] is not None
        self.logx_box.setEnabled(has_log)
        self.logx_box.setToolTip(
            "Histogram of log10|x|: the sizes of the gradients across decades"
            if has_log
            else "Only recorded for the gradients (δ and dL/dW); use log y for the tails"
        )
        self._redraw()

    def _redraw(self, *_args) -> None:
        self.refresh(self.row)

    def _rebuild(self, *_args) -> None:
        if self.model is not None:
            self._has_items = False
            self.set_model(self.model)

    # ------------------------------------------------------------------ items
    def structure(self, model: RunModel) -> Hashable:
        return (model.n_layers, self.multiples, self.logy_box.isChecked())

    def new_run(self, model: RunModel) -> None:
        for curve in self.curves:
            curve.clear()
        self.header.set_variants("")
        self._reset_state()

    def _reset_state(self) -> None:
        self._cache.reset()
        for g in self.y_ranges:
            g.reset()
        self._x_range: list | None = None
        self._axis_key = None
        self._header_key = None

    def build(self, model: RunModel):
        L = model.n_layers
        colors = theme.layer_colors(L)
        names = layer_names(model)
        logy = self.logy_box.isChecked()
        c = self.canvas
        self.curves, self.plots, self.plot_of = [], [], []
        if not self.multiples:
            self.header = header(c, 2)
            # the key: one line under the header, never on the curves nor off a small cell
            self.colour_key = header(c, 2, row=1, size=9)
            self.colour_key.set_variants(*layer_key(model))
            hidden = new_plot(c, 2, 0)
            self.plots.append(hidden)
            yield  # (a plot costs ~20 ms: a hidden view is built between frames)
            out = None
            if L > 1:
                # the output layer on axes of its own, beside the hidden layers' shared bins
                out = new_plot(c, 2, 1, left_width=48)
                c.ci.layout.setColumnStretchFactor(0, 3)
                c.ci.layout.setColumnStretchFactor(1, 1)
                set_title(
                    out, f"{swatch(colors[-1])} output layer (its own bins)",
                    f"{swatch(colors[-1])} output layer", f"{swatch(colors[-1])} output",
                )  # fmt: skip
                self.plots.append(out)
            for i in range(L):
                on = out if (out is not None and i == L - 1) else hidden
                curve = on.plot(stepMode="center", pen=layer_pen(colors[i], 2), name=names[i])
                self.curves.append(curve)
                self.plot_of.append(on)
        else:
            _rows, cols = grid_shape(L)
            self.header = header(c, cols)
            for i in range(L):
                r, k = divmod(i, cols)
                p = new_plot(c, 1 + r, k, left_width=52)
                color = colors[i]
                set_title(p, f"{swatch(color)} {names[i]}", size=9)
                fill = QColor(color)
                fill.setAlpha(90)
                curve = p.plot(
                    stepMode="center",
                    pen=layer_pen(color, 1),
                    fillLevel=None if logy else 0.0,
                    brush=None if logy else fill,
                )
                self.curves.append(curve)
                self.plots.append(p)
                self.plot_of.append(p)
                yield
                if i:
                    p.setYLink(self.plots[0])
                    if i < L - 1:  # the hidden layers share bins; the output has its own
                        p.setXLink(self.plots[0])
        for p in self.plots:
            p.disableAutoRange()
            if logy:
                p.setLogMode(y=True)
        floor = None if logy else (0.0, 0.05)
        # overlaid, the output's fractions (other bins) get a y axis of their own
        shown = self.plots if not self.multiples else self.plots[:1]
        self.y_ranges = [
            GrowingRange(p, "y", log=logy, headroom=0.15, floor=floor) for p in shown
        ]
        self._reset_state()

    # ------------------------------------------------------------------ drawing
    def draw(self, model: RunModel, row: int | None) -> None:
        h = model.history
        r = self.resolve_row(model, row)
        if r is None or not self.curves:
            return
        qh = self.hist_key
        logy = self.logy_box.isChecked()
        if self._cache.cheap((id(h), h.version, r, qh, logy, len(self.curves))):
            return
        p = h.probe(r)
        if self._cache.content((id(h), p["index"], p["step"], p["loss"], qh, logy)):
            return
        counts = p["hists"][qh]
        ranges = p["ranges"][qh]  # (L, 2): the hidden layers share one range, the output its own
        bins = counts.shape[1]
        frac = normalise(counts)
        if logy:
            # an empty bin cannot sit on a log axis: it goes to a floor below the smallest
            # non-empty fraction (one value in the batch)
            total = counts.sum(axis=1).max()
            floor = 10.0 ** math.floor(math.log10(0.5 / max(total, 1)))
            frac = np.maximum(frac, floor)
        for curve, y, (a, b) in zip(self.curves, frac, ranges):
            curve.setData(np.linspace(a, b, bins + 1), y, skipFiniteCheck=True)
        L = len(self.curves)
        if self.multiples:
            x_ranges = [tuple(map(float, rg)) for rg in ranges]
        elif L > 1:
            x_ranges = [tuple(map(float, ranges[0])), tuple(map(float, ranges[-1]))]
        else:
            x_ranges = [tuple(map(float, ranges[0]))]
        if x_ranges != self._x_range:
            self._x_range = x_ranges
            for plot, (a, b) in zip(self.plots, x_ranges):
                plot.setXRange(a, b, padding=0)
        if self.multiples or L == 1:
            self.y_ranges[0].fit(frac)
        else:
            self.y_ranges[0].fit(frac[:-1])
            self.y_ranges[1].fit(frac[-1:])
        self._update_axes(qh, logy)
        lo, hi = ranges[0]
        self._update_header(model, p, r, qh, (hi - lo) / bins, counts)

    def _update_axes(self, qh: str, logy: bool) -> None:
        if (qh, logy) == self._axis_key:
            return
        self._axis_key = (qh, logy)
        _text, sym, _log = QUANTITIES[self.quantity]
        xlab = f"log10 |{sym}|" if qh != self.quantity else sym
        ylab = "fraction per bin"
        if not self.multiples:
            for i, plot in enumerate(self.plots):
                plot.setLabel("bottom", xlab)
                plot.setLabel("left", ylab if i == 0 else None)
            return
        _rows, cols = grid_shape(len(self.plots))
        L = len(self.plots)
        for i, pl in enumerate(self.plots):
            bottom_of_column = i + cols >= L
            pl.setLabel("bottom", xlab if bottom_of_column else None)
            pl.setLabel("left", ylab if i % cols == 0 else None)

    def _update_header(
        self, model: RunModel, p: dict, r: int, qh: str, width: float, counts: np.ndarray
    ) -> None:
        n = model.history.n_probes
        key = (p["step"], r, n, qh)
        if key == self._header_key:
            return
        self._header_key = key
        text, sym, _log = QUANTITIES[self.quantity]
        log = " (log10 |x|)" if qh != self.quantity else ""
        muted = theme.current().muted
        step = f"at step {p['step']:,}"
        self.header.set_variants(
            f"<b>{text}</b>{log} {step}&nbsp;&nbsp;<span style='color:{muted}'>probe {r + 1} "
            f"of {n}; hidden layers: {model.history.bins} bins of width {width:.3g}</span>",
            f"<b>{text}</b>{log} {step}&nbsp;&nbsp;<span style='color:{muted}'>probe {r + 1} "
            f"of {n}</span>",
            f"<b>{text}</b>{log} {step}",
            f"<b>{sym}</b>{log} {step}",
        )
        hidden = counts[:-1] if len(counts) > 1 else counts
        self.set_warning(narrow_note(model, hidden, width))


def narrow_note(model: RunModel, counts: np.ndarray, width: float) -> str:
    """A warning when some hidden layers fall in a few bins of their shared range while others
    spread over many (the bins are shared, so a layer far narrower than the widest one, e.g.
    CS231n's collapsing tanh layers beside the first, shows as a spike): '' otherwise.
    ``counts``: the hidden layers' (L - 1, bins)."""
    used = (counts > 0).sum(axis=1)
    narrow = np.flatnonzero((used > 0) & (used <= 3))
    if not narrow.size or used.max() < 10:
        return ""
    names = layer_names(model)
    which = (
        ", ".join(names[i] for i in narrow)
        if len(narrow) <= 3
        else f"{len(narrow)} of {len(counts)} hidden layers"
    )
    k = int(used[narrow].max())
    return (
        f"{which} lie within {k} bin{'s' if k > 1 else ''} of width {width:.3g}: one plot per "
        "layer zooms on each (their std: Layer profile)"
    )
