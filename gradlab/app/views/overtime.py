"""The Over time view: per-layer statistics over training steps, in the layer colour ramp.

One statistic at a time, large enough to read on a projector, or all five at a glance:

* activations: each layer's mean (bold) with its 2nd and 98th percentiles (thin dotted lines of
  the same colour), as Glorot & Bengio's figs. 2-4 follow the activations of each layer over
  training;
* speed of learning ||dC/db|| (Nielsen ch. 5), weight-gradient std (Glorot & Bengio fig. 9),
  CS231n's update/weight ratio and the Jacobian's mean singular value.

Layout: every layer on one plot, or one small plot per layer sharing both axes (readable for
5-10 layers, where overlaid percentile lines would merge into a slab); "auto" picks small
multiples from 5 layers on. The step axis follows the data as it grows (with head-room while the
run trains), never a sliver of the step budget. Probes are dense early (log-spaced), so the first
steps, where the initialisation shows, have points of their own.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QWidget

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import (
    RedrawCache,
    ReusesItems,
    describe,
    grid_shape,
    header,
    layer_key,
    layer_names,
    new_plot,
    plain,
    set_title,
    swatch,
)
from gradlab.app.views.profile import positive
from gradlab.app.views.ranges import STEP_HEADROOM, GrowingRange, is_live

#: CS231n lecture 6: the ratio of update to weight magnitudes should be around 1e-3
HEALTHY_UPDATE_RATIO = 1e-3
#: room (px at zoom 1) between the last column of plots and the window's right edge: without
#: it the plots' frames, and a marker at the last step, touch the edge
RIGHT_MARGIN = 14
#: the most points a line gets (a default history holds at most 1,000 probes)
MAX_POINTS = 2000

#: statistic -> (menu text, title wordings longest first, y label, log axis, history column)
STATISTICS: dict[str, tuple[str, tuple[str, ...], str, bool, str]] = {
    "act": (
        "Activations: mean and 2-98% (Glorot & Bengio figs. 2-4)",
        (
            "Activations a: mean (bold) and 2nd / 98th percentiles (Glorot & Bengio figs. 2-4)",
            "Activations a: mean and 2nd / 98th percentiles",
            "Activations: mean, 2-98%",
            "a: mean, 2-98%",
        ),
        "a",
        False,
        "act_mean",
    ),
    "speed": (
        "Speed of learning ||dC/db|| (Nielsen)",
        (
            "Speed of learning ||dC/db|| (Nielsen ch. 5)",
            "Speed of learning ||dC/db||",
            "Speed of learning",
            "||dC/db||",
        ),
        "||dC/db||",
        True,
        "bias_grad_norm",
    ),
    "wgrad": (
        "Weight-gradient std (Glorot & Bengio fig. 9)",
        ("Weight-gradient std (Glorot & Bengio fig. 9)", "Weight-gradient std", "std of dL/dW"),
        "std of dL/dW",
        True,
        "wgrad_std",
    ),
    "ratio": (
        "Update / weight ratio ||ΔW|| / ||W|| (CS231n)",
        (
            "Update / weight ratio ||ΔW|| / ||W|| (CS231n)",
            "Update / weight ratio",
            "||ΔW|| / ||W||",
        ),
        "ratio",
        True,
        "update_ratio",
    ),
    "jac": (
        "Jacobian mean singular value",
        (
            "Jacobian mean singular value of d a(l) / d a(l-1)",
            "Jacobian mean singular value",
            "Jacobian mean σ",
        ),
        "mean σ",
        False,
        "jacobian_sv_mean",
    ),
}
#: the stats read in one probe_stats call
COLUMNS = ("act_mean", "act_p02", "act_p98", "bias_grad_norm", "wgrad_std", "update_ratio",
           "jacobian_sv_mean")  # fmt: skip
#: layers from which "auto" draws one plot per layer
MULTIPLES_FROM = 5


def log10_positive(v: np.ndarray) -> np.ndarray:
    """log10 of the positive finite values, NaN (a gap) elsewhere."""
    return np.log10(positive(v))


def _every(n: int, most: int) -> slice | np.ndarray:
    """Rows to draw: all, or every k-th plus the last when there are more than ``most``."""
    if n <= most:
        return slice(None)
    k = -(-n // most)
    rows = np.arange(0, n, k)
    return rows if rows[-1] == n - 1 else np.append(rows, n - 1)


class _Panel:
    """One plot: one statistic for some layers (lines per layer; for the activations a mean line
    and two percentile lines per layer)."""

    def __init__(self, plot: pg.PlotItem, stat: str, layers: list[int]):
        self.plot = plot
        self.stat = stat
        self.layers = layers
        self.items: dict[int, list[pg.GraphicsObject]] = {}
        self.y = GrowingRange(
            plot, "y", log=STATISTICS[stat][3], headroom=0.1,
            floor=_FLOORS.get(stat),
        )  # fmt: skip


_FLOORS = {
    "ratio": (np.log10(HEALTHY_UPDATE_RATIO) - 0.5, np.log10(HEALTHY_UPDATE_RATIO) + 0.5),
    "jac": (0.0, 1.2),
}


class OverTimeView(ReusesItems, BaseView):
    key = "over_time"
    title = "Over time"
    summary = (
        "<b>Over time</b>: one layer-wise statistic at every probe, dark = first hidden layer, "
        "bright = output; by default the activations' mean and 2nd / 98th percentiles (Glorot "
        "&amp; Bengio figs. 2-4)."
    )
    details = (
        "Every statistic is measured at the probes, on a fixed probe batch (every unit of every "
        "example), with the network as it is after that step. Probes are dense early, where the "
        "initialisation shows (log-spaced: 1, 2, 3, 4, 5, 6, 8, 10, 13, ... steps), then every "
        "few steps (the Training panel's Probes section sets both). <b>Activations</b>: the bold "
        "line is a layer's mean activation, the thin dotted lines its 2nd and 98th percentiles "
        "(96% of the values lie between them). Healthy tanh layers keep a mean near 0 and "
        "percentiles well inside &plusmn;1; sigmoid top layers that sink to 0 and stay there are "
        "saturated (Glorot &amp; Bengio fig. 2), which can last a long time. <b>Speed of "
        "learning</b> ||dC/db||, the norm of the batch-mean gradient of a layer's biases "
        "(Nielsen ch. 5, log axis): healthy layers run close together; lines decades apart, "
        "first layer lowest, are vanishing gradients. <b>Weight-gradient std</b>, the std of "
        "the batch-mean dL/dW (Glorot &amp; Bengio fig. 9, log axis): with the normalised init "
        "the layers stay together, with the standard init they fan out. <b>Update/weight "
        "ratio</b> ||&Delta;W|| / ||W|| of the last update, ||W|| taken before it (log axis): "
        "CS231n suggests about 1e-3 (dashed line); much lower means the learning rate is too "
        "low, much higher too high. <b>Jacobian mean singular value</b> of a layer's own "
        "Jacobian d a(l) / d a(l-1), averaged over a few examples (dots where it was measured; "
        "the Probes section sets how often): about 1 keeps sizes, well below 1 shrinks the "
        "signal layer after layer. <b>One plot per layer</b> (auto from 5 layers) keeps every "
        "layer's lines apart. The dashed vertical line marks the probe selected on the "
        "timeline. Zoom with the mouse wheel; the step axes are linked."
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._cache = RedrawCache()
        self.stat_box = QComboBox(self)
        for k, (text, *_rest) in STATISTICS.items():
            self.stat_box.addItem(text, k)
        self.stat_box.addItem("All five statistics (overview)", "all")
        self.stat_box.setToolTip("Which layer-wise statistic to follow over training")
        self.layout_box = QComboBox(self)
        self.layout_box.addItem("Layout: auto", "auto")
        self.layout_box.addItem("Every layer on one plot", "overlay")
        self.layout_box.addItem("One plot per layer", "multiples")
        self.layout_box.setToolTip(
            "One plot with a line per layer, or one small plot per layer sharing both axes "
            "(auto: one per layer from 5 layers on)"
        )
        self.output_box = QCheckBox("output layer", self)
        self.output_box.setChecked(False)  # the logits would dwarf the hidden layers' values
        self.output_box.setToolTip(
            "Show the output layer: its linear logits can dwarf the hidden layers' values"
        )
        self.controls.addWidget(QLabel("Statistic", self))
        self.controls.addWidget(self.stat_box)
        self.controls.addWidget(self.layout_box)
        self.controls.addWidget(self.output_box)
        self.controls.addStretch(1)
        self.stat_box.currentIndexChanged.connect(self._rebuild)
        self.layout_box.currentIndexChanged.connect(self._rebuild)
        self.output_box.toggled.connect(self._rebuild)
        self.panels: list[_Panel] = []
        self.plots: list[pg.PlotItem] = []
        self.cursor: list[pg.InfiniteLine] = []

    # ------------------------------------------------------------------ options
    @property
    def stat(self) -> str:
        return self.stat_box.currentData()

    def shown_layers(self, model: RunModel) -> list[int]:
        L = model.n_layers
        return list(range(L if (L == 1 or self.output_box.isChecked()) else L - 1))

    def multiples(self, model: RunModel) -> bool:
        mode = self.layout_box.currentData()
        if self.stat == "all":
            return False
        if mode == "auto":
            return len(self.shown_layers(model)) >= MULTIPLES_FROM
        return mode == "multiples"

    def _rebuild(self, *_args) -> None:
        if self.model is not None:
            self.set_model(self.model)

    def structure(self, model: RunModel) -> Hashable:
        return (model.n_layers, self.stat, self.multiples(model), self.output_box.isChecked())

    # ------------------------------------------------------------------ items
    def new_run(self, model: RunModel) -> None:
        for panel in self.panels:
            for items in panel.items.values():
                for item in items:
                    item.setData([], [])
        for cur in self.cursor:
            cur.setVisible(False)
        self.header.set_variants("")
        self._reset_state()

    def _reset_state(self) -> None:
        self._cache.reset()
        self.x_range.reset()
        for panel in self.panels:
            panel.y.reset()

    def build(self, model: RunModel):
        c = self.canvas
        c.ci.setContentsMargins(4, 4, theme.px(RIGHT_MARGIN), 4)
        L = model.n_layers
        colors = theme.layer_colors(L)
        names = layer_names(model)
        layers = self.shown_layers(model)
        self.panels, self.plots, self.cursor = [], [], []
        stats = list(STATISTICS) if self.stat == "all" else [self.stat]
        styles = "bold: mean, dotted: 2nd and 98th percentiles"
        if self.stat == "all":
            self.header = header(c, 3)
            key = header(c, 3, row=1, size=9)
            key.set_variants(*layer_key(model, layers, styles))
            cells = [(2, 0), (2, 1), (2, 2), (3, 0), (3, 1)]
            for stat, (r, k) in zip(stats, cells):
                self.panels.append(_Panel(new_plot(c, r, k), stat, layers))
                yield  # (a plot costs ~20 ms: a hidden view is built between frames)
            for p in self.panels:
                set_title(p.plot, *STATISTICS[p.stat][1])
        elif self.multiples(model):
            _rows, cols = grid_shape(len(layers))
            self.header = header(c, cols)
            for j, i in enumerate(layers):
                r, k = divmod(j, cols)
                p = new_plot(c, 1 + r, k, left_width=56)
                set_title(p, f"{swatch(colors[i])} {names[i]}", size=9)
                self.panels.append(_Panel(p, self.stat, [i]))
                yield
        else:
            self.header = header(c, 1)
            key = header(c, 1, row=1, size=9)
            key.set_variants(*layer_key(model, layers, styles if self.stat == "act" else ""))
            self.panels.append(_Panel(new_plot(c, 2, 0), self.stat, layers))  # (the header
            # names the statistic: no title)
        self.plots = [p.plot for p in self.panels]
        first = self.plots[0]
        for n, panel in enumerate(self.panels):
            p = panel.plot
            _text, _titles, ylabel, log, _col = STATISTICS[panel.stat]
            if log:
                p.setLogMode(y=True)
            p.disableAutoRange()
            p.setLabel("left", ylabel if (self.stat == "all" or n % self._cols() == 0) else None)
            if p is not first:
                p.setXLink(first)  # (y: each gets the same range; a link would follow the
                # plots' pixel heights, which differ by the bottom row's axis title)
            for i in panel.layers:
                panel.items[i] = self._items(p, panel.stat, colors[i])
            self._reference_lines(p, panel.stat)
            cur = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen(QColor(theme.current().foreground), width=theme.px(1),
                             style=Qt.PenStyle.DashLine),
            )  # fmt: skip
            cur.setVisible(False)
            p.addItem(cur, ignoreBounds=True)
            self.cursor.append(cur)
        self._label_bottoms()
        self.x_range = GrowingRange(first, "x", headroom=STEP_HEADROOM, pad=0.0)
        self._reset_state()

    def _cols(self) -> int:
        if self.stat == "all" or len(self.panels) <= 1:
            return 1
        return grid_shape(len(self.panels))[1]

    def _label_bottoms(self) -> None:
        n = len(self.plots)
        cols = 3 if self.stat == "all" else self._cols()
        for j, p in enumerate(self.plots):
            last_row = j + cols >= n or (self.stat == "all" and j >= 2)
            p.setLabel("bottom", "step" if last_row else None)

    def _items(self, p: pg.PlotItem, stat: str, color: QColor) -> list[pg.GraphicsObject]:
        """The items of one layer: bare PlotCurveItems (a tenth of a PlotDataItem's setData);
        the log plots get log10 values (the axis in log mode labels them), NaN is a gap."""
        if stat == "jac":
            item = p.plot(
                pen=pg.mkPen(color, width=theme.px(1)),
                connect="finite",
                symbol="o",
                symbolSize=theme.px(5),
                symbolBrush=color,
                symbolPen=None,
            )
            return [item]
        if stat == "act":
            thin = pg.mkPen(color, width=theme.px(1), style=Qt.PenStyle.DotLine)
            lo = pg.PlotCurveItem(pen=thin, connect="finite")
            hi = pg.PlotCurveItem(pen=thin, connect="finite")
            mean = pg.PlotCurveItem(pen=pg.mkPen(color, width=theme.px(2)), connect="finite")
            for item in (lo, hi, mean):
                p.addItem(item)
            return [mean, lo, hi]
        curve = pg.PlotCurveItem(pen=pg.mkPen(color, width=theme.px(1.5)), connect="finite")
        p.addItem(curve)
        return [curve]

    def _reference_lines(self, p: pg.PlotItem, stat: str) -> None:
        t = theme.current()
        pen = pg.mkPen(QColor(t.muted), width=theme.px(1), style=Qt.PenStyle.DashLine)
        if stat == "ratio":
            ref = pg.InfiniteLine(
                pos=np.log10(HEALTHY_UPDATE_RATIO),
                angle=0,
                movable=False,
                pen=pen,
                label="CS231n: ~1e-3",
                labelOpts={"position": 0.98, "color": t.muted, "anchors": [(1, 0), (1, 0)]},
            )
            p.addItem(ref, ignoreBounds=True)
        elif stat == "jac":
            p.addItem(pg.InfiniteLine(pos=1.0, angle=0, movable=False, pen=pen), ignoreBounds=True)
        elif stat == "act":
            p.addItem(pg.InfiniteLine(pos=0.0, angle=0, movable=False, pen=pen), ignoreBounds=True)

    # ------------------------------------------------------------------ drawing
    def draw(self, model: RunModel, row: int | None) -> None:
        h = model.history
        if not self.panels or h.n_probes == 0:
            return
        r = self.resolve_row(model, row)
        live = is_live(model)
        if self._cache.cheap((id(h), h.version, row, r, live)):
            return
        steps = h.probe_column("step").astype(np.float64)
        loss = h.probe_column("loss")
        fingerprint = (id(h), len(steps), steps[0], steps[-1], float(loss[-1]), live)
        if not self._cache.content(fingerprint):
            self._draw_series(model, steps, live)
        visible = row is not None and r is not None
        for cur in self.cursor:
            if visible:
                cur.setValue(float(steps[r]))
            cur.setVisible(visible)

    def _draw_series(self, model: RunModel, x: np.ndarray, live: bool) -> None:
        s = model.history.probe_stats(COLUMNS)
        n = min(len(x), *(len(v) for v in s.values()))  # (a probe may have come in between)
        x, s = x[:n], {k: v[:n] for k, v in s.items()}
        keep = _every(len(x), MAX_POINTS)  # a long history is thinned evenly for drawing
        xs = x[keep]
        shared = self.stat != "all" and len(self.panels) > 1  # small multiples: one y range
        every = [i for p in self.panels for i in p.layers]
        for panel in self.panels:
            stat = panel.stat
            col = STATISTICS[stat][4]
            k = every if shared else panel.layers
            if stat == "jac":
                jac = s[col]
                for i, (item,) in panel.items.items():
                    rows = np.isfinite(jac[:, i])  # measured every few probes only
                    item.setData(x[rows], jac[rows, i])
                panel.y.fit(jac[:, k])
            elif stat == "act":
                for i, (mean, lo, hi) in panel.items.items():
                    mean.setData(xs, s["act_mean"][keep, i])
                    lo.setData(xs, s["act_p02"][keep, i])
                    hi.setData(xs, s["act_p98"][keep, i])
                panel.y.fit(np.concatenate([s["act_p02"][:, k].ravel(),
                                            s["act_p98"][:, k].ravel()]))  # fmt: skip
            else:
                v = log10_positive(s[col][keep])
                for i, (curve,) in panel.items.items():
                    curve.setData(xs, v[:, i])
                panel.y.fit(s[col][:, k])
        exp = model.experiment
        total = exp.total_steps if exp is not None and exp.data_error is None else None
        last = float(x[-1])
        self.x_range.fit_steps(0.0, last, total, live)
        self._update_header(model, len(x), last)

    def _update_header(self, model: RunModel, n: int, last: float) -> None:
        muted = theme.current().muted
        probes = f"{n} probe{'s' if n != 1 else ''}, steps 0-{int(last):,}"
        if self.stat == "all":
            whats = ["all five statistics"]
        else:
            whats = list(STATISTICS[self.stat][1])  # the statistic's wordings, longest first
        key = ""
        if self.stat == "act" and len(self.panels) > 1:  # (one plot: the key row says it)
            key = "&nbsp;&nbsp;bold: mean, dotted: 2nd and 98th percentiles"
        desc = f"&nbsp;&nbsp;<span style='color:{muted}'>{plain(describe(model))}</span>"
        variants = [f"<b>Over time</b>: {whats[0]}, {probes}{key}{desc}"]
        variants += [f"<b>Over time</b>: {w}, {probes}{key}" for w in whats]
        variants += [f"<b>{w}</b>, {probes}" for w in whats[-2:]]
        self.header.set_variants(*variants)
