"""The Heatmaps view: each layer's distribution of one quantity over training, as an image
(x = training step, y = the quantity's value, colour = the fraction of values in that bin at
that probe). A whole run's histograms at a glance: where a layer saturates, collapses or spreads.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import (
    RedrawCache,
    ReusesItems,
    describe,
    header,
    layer_names,
    new_plot,
    normalise,
    plain,
    swatch,
)
from gradlab.app.views.ranges import STEP_HEADROOM, GrowingRange, is_live
from gradlab.figures.numbers import overlap_matrix, resample, step_columns  # noqa: F401

#: quantity -> (menu text, axis label)
QUANTITIES: dict[str, tuple[str, str]] = {
    "act": ("Activations a = f(z)", "a"),
    "pre": ("Pre-activations z", "z"),
    "delta_log": ("Back-propagated gradients log10 |δ| (δ = n·dL/dz)", "log10 |δ|"),
    "wgrad_log": ("Weight gradients log10 |dL/dW|", "log10 |dL/dW|"),
    "delta": ("Back-propagated gradients δ = n·dL/dz", "δ"),
    "wgrad": ("Weight gradients dL/dW", "dL/dW"),
    "weight": ("Weights W", "W"),
}
#: the colour map: not viridis, which encodes layers in the other views
COLORMAP = "inferno"
#: how many columns the step axis is sampled at (at least 2 per probe, at most this many)
STEP_COLUMNS = (512, 2048)
#: the floor of the log colour scale, in log10(fraction per bin)
LOG_FLOOR = -5.0
#: linear colour scale tops, the smallest that holds the largest fraction
NICE_TOPS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


# ---------------------------------------------------------------------- the view
class HeatmapsView(ReusesItems, BaseView):
    key = "heatmaps"
    title = "Heatmaps"
    summary = (
        "<b>Heatmaps</b>: each layer's histogram of one quantity over the whole run, as an "
        "image: x = training step, y = value, colour = the fraction of the layer's values in "
        "that bin at that probe."
    )
    details = (
        "Every column is one probe's histogram, measured on the fixed probe batch (every unit "
        "of every example; δ = n·dL/dz is the per-example back-propagated gradient, n the probe "
        "batch's size), normalised to sum to 1 (per-probe density), so "
        "a column shows the shape of the distribution whatever the batch. Read it like a "
        "stack of the Distributions view's curves seen from above. <b>Healthy</b>: a band that "
        "stays spread over a similar range in every layer. A band that narrows to a bright line "
        "at 0 is a dying signal (or vanishing gradients, for δ); bright lines at &plusmn;1 for "
        "tanh activations are saturated units; a band of log10 |δ| that drifts down towards the "
        "first layer is the vanishing gradient of Glorot &amp; Bengio. "
        "<b>x axis</b>: with <i>step</i>, the probes are placed at their training steps on an "
        "even step grid, each probe's column held until the next probe (probes are denser "
        "early on and thinned evenly in long runs); with <i>probe number</i>, one column per "
        "kept probe, evenly spaced whatever their steps. "
        "The recorded bins can widen during a run; older probes are re-binned onto the newest "
        "(widest) bins, sharing each old bin's count among the new bins it overlaps. "
        "<b>y axis</b>: shared, the hidden layers share one value axis (compare widths); the "
        "output layer, whose logits need not be on the hidden units' scale, always has its own. "
        "Each layer's y axis covers where that layer has values. <b>Colour</b>: linear "
        "(fraction per bin, 0 to the top of the colour bar) or log (log10 of the fraction, down "
        "to 1e-5), which shows the tails and thin bands. Colour map: inferno (viridis already "
        "means depth in the other views)."
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.quantity_box = QComboBox(self)
        for q, (text, _label) in QUANTITIES.items():
            self.quantity_box.addItem(text, q)
        self.color_box = QComboBox(self)
        self.color_box.addItem("log colour", "log")
        self.color_box.addItem("linear colour", "linear")
        self.color_box.setToolTip(
            "log: log10 of the fraction per bin, shows tails and thin bands; linear: the fraction"
        )
        self.x_box = QComboBox(self)
        self.x_box.addItem("x: step", "step")
        self.x_box.addItem("x: probe number", "probe")
        self.x_box.setToolTip(
            "step: probes at their training steps; probe number: one column per probe"
        )
        self.controls.addWidget(QLabel("Quantity", self))
        self.controls.addWidget(self.quantity_box)
        self.controls.addSpacing(12)
        self.controls.addWidget(self.color_box)
        self.controls.addWidget(self.x_box)
        self.y_box = QComboBox(self)
        self.y_box.addItem("y: shared", "shared")
        self.y_box.addItem("y: each layer", "each")
        self.y_box.setToolTip(
            "shared: every layer on the same value axis (compare widths across layers); "
            "each layer: each zoomed to where its own values are"
        )
        self.controls.addWidget(self.y_box)
        self.controls.addStretch(1)
        self.quantity_box.currentIndexChanged.connect(self._redraw)
        self.color_box.currentIndexChanged.connect(self._redraw)
        self.x_box.currentIndexChanged.connect(self._redraw)
        self.y_box.currentIndexChanged.connect(self._rebuild)
        self._cache = RedrawCache()
        self.images: list[pg.ImageItem] = []
        self.plots: list[pg.PlotItem] = []

    @property
    def quantity(self) -> str:
        return self.quantity_box.currentData()

    @property
    def log_color(self) -> bool:
        return self.color_box.currentData() == "log"

    @property
    def by_step(self) -> bool:
        return self.x_box.currentData() == "step"

    @property
    def shared_y(self) -> bool:
        return self.y_box.currentData() == "shared"

    def _rebuild(self, *_args) -> None:
        if self.model is not None:
            self.set_model(self.model)

    def _redraw(self, *_args) -> None:
        for g in getattr(self, "y_ranges", []):
            g.reset()
        self._x_key = None
        self.refresh(self.row)

    # ------------------------------------------------------------------ items
    def structure(self, model: RunModel):
        return (model.n_layers, self.shared_y)

    def new_run(self, model: RunModel) -> None:
        for img in self.images:
            img.clear()
        for cur in self.cursor:
            cur.setVisible(False)
        self.header.set_variants("")
        self._reset_state()

    def _reset_state(self) -> None:
        self._cache.reset()
        self.x_step.reset()
        self.x_probe.reset()
        for g in self.y_ranges:
            g.reset()
        self._levels: tuple[float, float] | None = None
        self._x_key = None
        self._label_key = None

    def build(self, model: RunModel):
        c = self.canvas
        L = model.n_layers
        colors = theme.layer_colors(L)
        names = layer_names(model)
        cols = 1 if L <= 4 else 2
        rows = math.ceil(L / cols)
        self.grid = (rows, cols)
        self.header = header(c, cols + 1)
        cmap = pg.colormap.get(COLORMAP)
        self.images, self.plots, self.cursor = [], [], []
        for i in range(L):
            r, k = divmod(i, cols)
            p = new_plot(c, 1 + r, k, grid=False, left_width=56)  # no grid over the image
            # the layer names the plot on its value axis (titles would eat a row each)
            p.setLabel("left", f"{swatch(colors[i])} {names[i]}")
            p.disableAutoRange()
            img = pg.ImageItem(axisOrder="row-major")
            img.setColorMap(cmap)
            p.addItem(img)
            cur = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen(QColor("#ffffff"), width=theme.px(1), style=Qt.PenStyle.DashLine),
            )
            cur.setVisible(False)
            p.addItem(cur, ignoreBounds=True)
            if i:
                p.setXLink(self.plots[0])
                if self.shared_y and i < L - 1:  # the output layer's values are its own
                    p.setYLink(self.plots[0])
            self.images.append(img)
            self.plots.append(p)
            self.cursor.append(cur)
            yield  # (a plot costs ~20 ms: a hidden view is built between frames)
        self.colorbar = pg.ColorBarItem(
            values=(LOG_FLOOR, 0.0), colorMap=cmap, interactive=False, width=14
        )
        self.colorbar.setImageItem(self.images)
        self.colorbar.getAxis("right").enableAutoSIPrefix(False)
        c.addItem(self.colorbar, row=1, col=cols, rowspan=rows)
        shown = self.plots[:1] + self.plots[-1:] if self.shared_y and L > 1 else self.plots
        self.y_ranges = [GrowingRange(p, "y", headroom=0.05, pad=0.05) for p in shown]
        # step axis: room to grow towards the planned steps; probe axis: a little room
        self.x_step = GrowingRange(  # (an image from step 0: no lead before it)
            self.plots[0], "x", headroom=STEP_HEADROOM, pad=0.0, shrink=0, lead=0.0
        )
        self.x_probe = GrowingRange(self.plots[0], "x", headroom=0.05, pad=0.0, shrink=0)
        self._reset_state()

    # ------------------------------------------------------------------ drawing
    def draw(self, model: RunModel, row: int | None) -> None:
        h = model.history
        if not self.images or h.n_probes == 0:
            return
        q, log, by_step = self.quantity, self.log_color, self.by_step
        live = is_live(model)
        if self._cache.cheap((id(h), h.version, row, q, log, by_step, live)):
            return
        steps = h.probe_column("step")
        loss = h.probe_column("loss")
        fingerprint = (id(h), len(steps), int(steps[0]), int(steps[-1]), float(loss[-1]), live)
        if not self._cache.content((fingerprint, q, log, by_step)):
            self._draw_images(model, steps, q, log, by_step)
        r = self.resolve_row(model, row)
        visible = row is not None and r is not None
        for cur in self.cursor:
            if visible:
                cur.setValue(float(steps[r]) if by_step else float(r))
            cur.setVisible(visible)

    def _draw_images(self, model, steps, q: str, log: bool, by_step: bool) -> None:
        counts, ranges = model.history.hist_series(q)  # (n, L, bins), (n, L, 2)
        m = min(len(steps), len(counts))  # (a probe may have come in between)
        steps, counts, ranges = steps[:m], counts[:m], ranges[:m]
        # each layer onto the union of its ranges over the probes (ranges only widen, so the
        # newest); the hidden layers share theirs, the output layer has its own
        los = ranges[:, :, 0].min(axis=0)
        his = ranges[:, :, 1].max(axis=0)
        # float32 throughout: (n, L, bins) -> per-probe fractions -> (L, bins, n) images
        dens = np.empty(counts.shape, np.float32)
        for l in range(counts.shape[1]):
            dens[:, l : l + 1] = resample(
                counts[:, l : l + 1], ranges[:, l], float(los[l]), float(his[l]), np.float32
            )
        dens = normalise(dens, np.float32)
        n, _L, bins = dens.shape
        occupied = dens.max(axis=0) > 0  # (L, bins): where each layer ever had values
        stack = np.ascontiguousarray(dens.transpose(1, 2, 0))
        if log:
            np.maximum(stack, np.float32(10.0**LOG_FLOOR), out=stack)
            np.log10(stack, out=stack)
            levels = (LOG_FLOOR, 0.0)
        else:
            top = float(stack.max()) if stack.size else 1.0
            levels = (0.0, next((v for v in NICE_TOPS if v >= top), 1.0))
        if by_step:
            # at least one column per probe where they are evenly spaced
            width = int(np.clip(n, *STEP_COLUMNS))
            rows, x0, span = step_columns(steps, width)
            stack = np.take(stack, rows, axis=2)
        else:
            x0, span = -0.5, float(n)
        for i, img in enumerate(self.images):
            img.setImage(stack[i], levels=levels, autoLevels=False)
            img.setRect(QRectF(x0, float(los[i]), span, float(his[i] - los[i])))
        if levels != self._levels:
            self._levels = levels
            self.colorbar.setLevels(levels)
        # axes: x grows rarely (to the planned number of steps, like the Over time view);
        # y of each layer (or all) to where the values are
        if self._x_key != by_step:
            self._x_key = by_step
            self.x_step.reset()
            self.x_probe.reset()
        total = None
        exp = model.experiment
        if by_step and exp is not None and exp.data_error is None:
            total = exp.total_steps
        if by_step:
            self.x_step.fit_steps(x0, x0 + span, total, is_live(model))
        else:
            self.x_probe.fit((x0, x0 + span))
        widths = (his - los) / bins
        centres = los[:, None] + (np.arange(bins) + 0.5) * widths[:, None]  # (L, bins)
        spans = []
        for i in range(len(los)):
            used = centres[i][occupied[i]]
            spans.append(
                (used.min() - widths[i], used.max() + widths[i]) if used.size else (los[i], his[i])
            )
        if self.shared_y:  # one y range for the hidden layers, the output's own
            hidden = spans[:-1] if len(spans) > 1 else spans
            shared = (min(a for a, _ in hidden), max(b for _, b in hidden))
            spans = [shared, spans[-1]] if len(spans) > 1 else [shared]
        for g, span_i in zip(self.y_ranges, spans):
            g.fit(span_i)
        self._update_labels(model, q, log, by_step, n, steps)

    def _update_labels(self, model, q, log, by_step, n, steps) -> None:
        key = (q, log, by_step)
        if key != self._label_key:
            self._label_key = key
            _rows, cols = self.grid
            L = len(self.plots)
            for i, p in enumerate(self.plots):
                bottom = i + cols >= L
                p.getAxis("bottom").setStyle(showValues=bottom)
                p.setLabel("bottom", ("step" if by_step else "probe number") if bottom else None)
            self.colorbar.getAxis("right").setLabel(
                "log10 fraction per bin" if log else "fraction per bin"
            )
        muted = theme.current().muted
        what = f"<b>{QUANTITIES[q][0]}</b>"
        span = f"over {n} probes, steps {int(steps[0]):,}-{int(steps[-1]):,}"
        self.header.set_variants(
            f"{what} {span}; y axes: {QUANTITIES[q][1]}"
            f"&nbsp;&nbsp;<span style='color:{muted}'>{plain(describe(model))}</span>",
            f"{what} {span}; y axes: {QUANTITIES[q][1]}",
            f"{what} {span}",
            f"<b>{QUANTITIES[q][1]}</b> {span}",
        )
