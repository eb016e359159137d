"""The Over time view: per-layer statistics over training steps, one line per layer in the layer
colour ramp (Glorot & Bengio 2010 fig. 3 activation mean with percentile band, fig. 9 weight-
gradient std, Nielsen ch. 5 speed of learning, CS231n's update/weight ratio, the Jacobian's mean
singular value)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QCheckBox, QGraphicsPathItem, QWidget

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import (
    RedrawCache,
    ReusesItems,
    add_plot,
    describe,
    header,
    layer_names,
    side_legend,
)
from gradlab.app.views.profile import positive
from gradlab.app.views.ranges import STEP_HEADROOM, GrowingRange

#: the stats this view reads, in one probe_stats call per frame
STATS = (
    "act_mean",
    "act_p02",
    "act_p98",
    "bias_grad_norm",
    "wgrad_std",
    "update_ratio",
    "jacobian_sv_mean",
)
#: CS231n lecture 6: the ratio of update to weight magnitudes should be around 1e-3
HEALTHY_UPDATE_RATIO = 1e-3


#: the most points a line gets (a default history holds at most 1,000 probes)
MAX_POINTS = 2000


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


class Band(QGraphicsPathItem):
    """A filled band between two curves lo(x) and hi(x), one closed path (pyqtgraph's
    FillBetweenItem rebuilds its path from both curves' paths on every change of either: ~4 ms
    a band at 1,000 points). Rows where lo or hi is not finite are left out."""

    def __init__(self, brush: QBrush):
        super().__init__()
        self.setBrush(brush)
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.xData = self.loData = self.hiData = np.zeros(0)

    def setData(self, x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        self.xData, self.loData, self.hiData = x, lo, hi
        ok = np.isfinite(lo) & np.isfinite(hi)
        if not ok.all():
            x, lo, hi = x[ok], lo[ok], hi[ok]
        if len(x) < 2:
            self.setPath(QPainterPath())
            return
        path = pg.arrayToQPath(np.concatenate([x, x[::-1]]), np.concatenate([hi, lo[::-1]]))
        path.closeSubpath()
        self.setPath(path)


class OverTimeView(ReusesItems, BaseView):
    key = "over_time"
    title = "Over time"
    summary = (
        "<b>Over time</b>: layer-wise statistics at every probe, one line per layer (dark = "
        "first hidden layer, bright = output): activation mean with its 2-98% band, speed of "
        "learning, weight-gradient std, update/weight ratio and the Jacobian's mean singular "
        "value."
    )
    details = (
        "<b>Activation mean and 2-98 percentile band</b> (Glorot &amp; Bengio fig. 3): the line "
        "is the mean, the shaded band holds 96% of the values. Healthy tanh layers keep a mean "
        "near 0 and a band well inside &plusmn;1; sigmoid top layers that sink to 0 and stay "
        "there are saturated, which the paper shows can last a long time. <b>Speed of "
        "learning</b> ||dC/db|| (Nielsen ch. 5, log axis): healthy layers run close together; "
        "lines decades apart, first layer lowest, are vanishing gradients. <b>Weight-gradient "
        "std</b> (Glorot &amp; Bengio fig. 9, log axis): with the normalised init the layers "
        "stay together, with the standard init they fan out. <b>Update/weight ratio</b> "
        "||&Delta;W|| / ||W|| per step (log axis): CS231n suggests about 1e-3 (dashed line); "
        "much lower means the learning rate is too low, much higher too high. <b>Jacobian mean "
        "singular value</b>: dots where it was measured (every few probes); about 1 keeps sizes, "
        "well below 1 shrinks the signal layer after layer. The dashed vertical line marks the "
        "probe selected on the timeline. Zoom with the mouse wheel; the step axes are linked."
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._cache = RedrawCache()
        self.output_box = QCheckBox("output layer", self)
        self.output_box.setChecked(False)  # the logits would dwarf the hidden bands
        self.output_box.setToolTip(
            "Show the output layer: its linear logits can dwarf the hidden layers' values"
        )
        self.output_box.toggled.connect(self._on_output)
        self.controls.addWidget(self.output_box)
        self.controls.addStretch(1)
        self.layer_items: list[list[pg.GraphicsObject]] = []

    def _on_output(self, *_args) -> None:
        if self.model is None or not self.layer_items:
            return
        self._apply_output_visibility()
        self._cache.reset()
        for g in self._y_ranges:
            g.reset()
        self.refresh(self.row)

    def _apply_output_visibility(self) -> None:
        show = self.output_box.isChecked()
        for item in self.layer_items[-1]:
            item.setVisible(show)

    def _shown(self) -> slice:
        L = len(self.layer_items)
        return slice(0, L - 1 if (L > 1 and not self.output_box.isChecked()) else L)

    # ------------------------------------------------------------------ items
    def new_run(self, model: RunModel) -> None:
        for curve in self.c_mean + self.c_speed + self.c_wgrad + self.c_ratio + self.c_jac:
            curve.clear()
        empty = np.zeros(0)
        for band in self.bands:
            band.setData(empty, empty, empty)
        for cur in self.cursor:
            cur.setVisible(False)
        self.header.setText("")
        self._reset_state()

    def _reset_state(self) -> None:
        self._cache.reset()
        self.x_range.reset()
        for g in self._y_ranges:
            g.reset()
        self._jac_key = None

    def build(self, model: RunModel) -> None:
        t = theme.current()
        c = self.canvas
        L = model.n_layers
        colors = theme.layer_colors(L)
        names = layer_names(model)
        self.header = header(c, 2)
        p_act = add_plot(c, 1, 0)
        p_speed = add_plot(c, 1, 1)
        p_wgrad = add_plot(c, 2, 0)
        p_ratio = add_plot(c, 2, 1)
        p_jac = add_plot(c, 3, 0)
        self.plots = [p_act, p_speed, p_wgrad, p_ratio, p_jac]
        self.style_plot(p_act, "Activation mean and 2-98% band (Glorot & Bengio fig. 3)", "a")
        self.style_plot(p_speed, "Speed of learning ||dC/db|| (Nielsen)", "||dC/db||")
        self.style_plot(p_wgrad, "Weight-gradient std (Glorot & Bengio fig. 9)", "std of dL/dW")
        self.style_plot(p_ratio, "Update / weight ratio ||ΔW|| / ||W||", "ratio", "step")
        self.style_plot(p_jac, "Jacobian mean singular value", "mean σ", "step")
        for p in (p_speed, p_wgrad, p_ratio):
            p.setLogMode(y=True)
        for p in self.plots:
            p.disableAutoRange()
            p.getAxis("left").enableAutoSIPrefix(False)
            p.getAxis("left").setWidth(62)
            p.getAxis("bottom").enableAutoSIPrefix(False)
            if p is not p_act:
                p.setXLink(p_act)

        self.layer_items = [[] for _ in range(L)]

        def line(p, i, width=1, name=None):
            # bare PlotCurveItems: a tenth of a PlotDataItem's setData cost; the log plots get
            # log10 values (the axis in log mode labels them), NaN draws as a gap
            curve = pg.PlotCurveItem(
                pen=pg.mkPen(colors[i], width=width), connect="finite", name=name
            )
            p.addItem(curve)
            self.layer_items[i].append(curve)
            return curve

        self.c_mean, self.bands = [], []
        for i in range(L):
            fill = QColor(colors[i])
            fill.setAlpha(45)
            band = Band(QBrush(fill))
            p_act.addItem(band)
            self.bands.append(band)
            self.layer_items[i].append(band)
        for i in range(L):
            # the means above every band, 2 px to stand out of them
            self.c_mean.append(line(p_act, i, width=2, name=names[i]))
        self.c_speed = [line(p_speed, i) for i in range(L)]
        self.c_wgrad = [line(p_wgrad, i) for i in range(L)]
        self.c_ratio = [line(p_ratio, i) for i in range(L)]
        self.c_jac = []
        for i in range(L):
            curve = p_jac.plot(
                pen=pg.mkPen(colors[i], width=1),
                connect="finite",
                symbol="o",
                symbolSize=5,
                symbolBrush=colors[i],
                symbolPen=None,
            )
            self.layer_items[i].append(curve)
            self.c_jac.append(curve)
        muted = QColor(t.muted)
        ref = pg.InfiniteLine(
            pos=np.log10(HEALTHY_UPDATE_RATIO),
            angle=0,
            movable=False,
            pen=pg.mkPen(muted, width=1, style=Qt.PenStyle.DashLine),
            label="CS231n: ~1e-3 healthy",
            labelOpts={"position": 0.98, "color": t.muted, "anchors": [(1, 0), (1, 0)]},
        )
        p_ratio.addItem(ref, ignoreBounds=True)
        one = pg.InfiniteLine(
            pos=1.0,
            angle=0,
            movable=False,
            pen=pg.mkPen(muted, width=1, style=Qt.PenStyle.DashLine),
        )
        p_jac.addItem(one, ignoreBounds=True)

        # the legend: its own cell, never over the lines
        legend = pg.LegendItem(labelTextSize="9pt", labelTextColor=t.foreground, colCount=2)
        for curve, name in zip(self.c_mean, names):
            legend.addItem(curve, name)
        band_color = QColor(t.muted)
        band_color.setAlpha(120)
        band_sample = pg.BarGraphItem(x=[0], height=[1], width=1, brush=band_color, pen=None)
        legend.addItem(band_sample, "2-98% band")
        self.legend = legend
        side_legend(c, legend, row=3, col=1)

        self.cursor = []
        for p in self.plots:
            cur = pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen(QColor(t.foreground), width=1, style=Qt.PenStyle.DashLine),
            )
            cur.setVisible(False)
            p.addItem(cur, ignoreBounds=True)
            self.cursor.append(cur)

        self.x_range = GrowingRange(p_act, "x", headroom=STEP_HEADROOM, pad=0.0)
        self.y_act = GrowingRange(p_act, "y", headroom=0.1)
        self.y_speed = GrowingRange(p_speed, "y", log=True, headroom=0.1)
        self.y_wgrad = GrowingRange(p_wgrad, "y", log=True, headroom=0.1)
        self.y_ratio = GrowingRange(
            p_ratio,
            "y",
            log=True,
            headroom=0.1,
            floor=(np.log10(HEALTHY_UPDATE_RATIO) - 0.5, np.log10(HEALTHY_UPDATE_RATIO) + 0.5),
        )
        self.y_jac = GrowingRange(p_jac, "y", headroom=0.1, floor=(0.0, 1.2))
        self._y_ranges = [self.y_act, self.y_speed, self.y_wgrad, self.y_ratio, self.y_jac]
        self._reset_state()
        self._apply_output_visibility()

    # ------------------------------------------------------------------ drawing
    def draw(self, model: RunModel, row: int | None) -> None:
        h = model.history
        if not self.layer_items or h.n_probes == 0:
            return
        r = self.resolve_row(model, row)
        if self._cache.cheap((id(h), h.version, row, r)):
            return
        steps = h.probe_column("step").astype(np.float64)
        loss = h.probe_column("loss")
        fingerprint = (id(h), len(steps), steps[0], steps[-1], float(loss[-1]))
        if not self._cache.content(fingerprint):
            self._draw_series(model, steps)
        self._draw_cursor(row, steps, r)

    def _draw_series(self, model: RunModel, x: np.ndarray) -> None:
        s = model.history.probe_stats(STATS)
        L = len(self.layer_items)
        # a long history (a probe capacity above the default 1,000) is thinned evenly for drawing
        keep = _every(len(x), MAX_POINTS)
        xs = x[keep]
        speed = log10_positive(s["bias_grad_norm"][keep])
        wgrad = log10_positive(s["wgrad_std"][keep])
        ratio = log10_positive(s["update_ratio"][keep])
        for i in range(L):
            self.bands[i].setData(xs, s["act_p02"][keep, i], s["act_p98"][keep, i])
            self.c_mean[i].setData(xs, s["act_mean"][keep, i])
            self.c_speed[i].setData(xs, speed[:, i])
            self.c_wgrad[i].setData(xs, wgrad[:, i])
            self.c_ratio[i].setData(xs, ratio[:, i])
        # the Jacobian is measured every few probes: only those rows, NaN gaps per layer
        jac = s["jacobian_sv_mean"]
        rows = np.isfinite(jac).any(axis=1)
        jac_key = (len(x), int(rows.sum()), x[rows][-1] if rows.any() else None, x[0])
        if jac_key != self._jac_key:  # new Jacobians come every few probes only
            self._jac_key = jac_key
            for i in range(L):
                self.c_jac[i].setData(x[rows], jac[rows, i])

        total = None
        exp = model.experiment
        if exp is not None and exp.data_error is None:
            total = exp.total_steps
        last = float(x[-1])
        self.x_range.fit_steps(0.0, last, total)
        k = self._shown()
        self.y_act.fit(np.concatenate([s["act_p02"][:, k].ravel(), s["act_p98"][:, k].ravel()]))
        self.y_speed.fit(s["bias_grad_norm"][:, k])
        self.y_wgrad.fit(s["wgrad_std"][:, k])
        self.y_ratio.fit(s["update_ratio"][:, k])
        self.y_jac.fit(jac[:, k])
        self.header.setText(
            f"<b>Over time</b>: {len(x)} probes, steps 0-{int(last):,}&nbsp;&nbsp;"
            f"<span style='color:{theme.current().muted}'>{describe(model)}</span>"
        )

    def _draw_cursor(self, row: int | None, steps: np.ndarray, r: int | None) -> None:
        visible = row is not None and r is not None
        for cur in self.cursor:
            if visible:
                cur.setValue(float(steps[r]))
            cur.setVisible(visible)
