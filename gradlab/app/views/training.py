"""The Training view: loss and accuracy, learning rate and gradient norm over steps, with markers
for clipping, divergence and health warnings (CS231n lecture 6, "babysitting the learning
process")."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views import reveal
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import keep_downsampling_fresh, new_plot, set_title, swatch
from gradlab.app.views.decimate import envelope
from gradlab.app.views.ranges import STEP_HEADROOM, GrowingRange, is_live

#: step rows read per frame (a longer history is read at an even stride)
MAX_ROWS = 20_000
#: the fewest (min, max) pairs a step curve is thinned to (decimate.py)
MIN_BUCKETS = 500
#: a step curve is thinned only beyond this many rows a pixel (pyqtgraph's own automatic
#: downsampling starts there: fewer are drawn every one)
THIN_ABOVE = 5
EVENT_COLORS = {"error": "error", "warning": "warning", "info": "muted"}


def starting_lr(model: RunModel) -> float:
    """The learning rate the run starts from: the step-0 probe's (the schedule's first value),
    else the spec's ``training.lr``."""
    h = model.history
    if h.n_probes:
        steps, lrs = h.probe_column("step"), h.probe_column("lr")
        if len(steps) and int(steps[0]) == 0 and math.isfinite(float(lrs[0])):
            return float(lrs[0])
    return float(model.spec.get("training", {}).get("lr", math.nan))


class TrainingView(BaseView):
    key = "training"
    title = "Training"
    summary = (
        "<b>Training curves</b>: loss per step (thin) and at evaluations (dots: training "
        "subset and validation), accuracy, learning rate and gradient norm."
    )
    details = (
        "<b>What is drawn</b>: the thin line is each training batch's mean loss (noisy: one "
        "batch); the dots are evaluations, on a fixed subset of 1,000 training examples and on "
        "the validation set, in evaluation mode (no dropout, batch norm's running averages). The "
        "gradient norm is the global L2 norm of every parameter's gradient before clipping; the "
        "learning rate is the one each step used. "
        "Healthy: the loss falls fast at first, then slowly; training and validation accuracy "
        "rise together (a growing gap means over-fitting, no gap with low accuracy means the "
        "model is too small). A flat loss from the start means a learning rate too low or "
        "vanishing gradients; a loss that explodes to NaN means it is too high (the run pauses at "
        "the last good step). The gradient norm should not grow by orders of magnitude. "
        "Vertical marks: red = non-finite values, orange = health warnings, grey = learning-rate "
        "changes; orange ticks on the gradient norm = steps where clipping acted. Early "
        "stopping: a dashed line where the run stopped and a star on the best evaluation, "
        "whose weights the run keeps."
    )

    def build(self, model: RunModel):
        t = theme.current()
        c = self.canvas
        self.p_loss = new_plot(c, 0, 0)
        yield  # (a plot costs ~20 ms: a hidden view is built between frames)
        self.p_acc = new_plot(c, 0, 1)
        yield
        self.p_lr = new_plot(c, 1, 0)
        yield
        self.p_gn = new_plot(c, 1, 1)
        yield
        self.style_plot(self.p_loss, left="loss", bottom="step")
        self.style_plot(self.p_acc, left="accuracy", bottom="step")
        self.style_plot(self.p_lr, left="lr", bottom="step")
        self.style_plot(self.p_gn, left="norm", bottom="step")
        for p in (self.p_acc, self.p_lr, self.p_gn):
            p.setXLink(self.p_loss)
        self.p_lr.setLogMode(y=True)
        self.p_gn.setLogMode(y=True)
        self.p_loss.setLogMode(y=True)
        for p in (self.p_loss, self.p_acc, self.p_lr, self.p_gn):
            p.disableAutoRange()
        muted = QColor(t.muted)
        accent = QColor(t.accent)
        val = QColor(t.second)
        # the keys live in the titles: a legend inside a plot sits on the curves
        step_key, train_key, val_key = swatch(muted, "&#8212;"), swatch(accent, "&#9679;"), swatch(
            val, "&#9679;"
        )
        set_title(
            self.p_loss,
            f"Loss: {step_key} every step {train_key} train {val_key} validation",
            f"Loss: {step_key} step {train_key} train {val_key} validation",
            f"Loss {step_key} step {train_key} train {val_key} val.",
            f"Loss {step_key}{train_key}{val_key}",
        )
        self._keys = (train_key, val_key, swatch(val, "&#9670;"))
        self._title_accuracy(mc=False)
        set_title(self.p_lr, "Learning rate", "lr")
        set_title(
            self.p_gn,
            f"Gradient norm ||g|| {step_key} every step {swatch(t.warning, '&#9660;')} clipped",
            f"Gradient norm {step_key} step {swatch(t.warning, '&#9660;')} clipped",
            f"||g|| {swatch(t.warning, '&#9660;')} clipped",
        )
        self.c_step_loss = self.p_loss.plot(pen=pg.mkPen(muted, width=theme.px(1)), name="step")
        self.c_train_loss = _evals(self.p_loss, accent, "train")
        self.c_val_loss = _evals(self.p_loss, val, "validation")
        self.c_train_acc = _evals(self.p_acc, accent, "train")
        self.c_val_acc = _evals(self.p_acc, val, "validation")
        # MC dropout's validation accuracy (training.mc_dropout): in the title once it exists
        self.c_val_acc_mc = self.p_acc.plot(
            pen=pg.mkPen(val, width=theme.px(1.5), style=Qt.PenStyle.DashLine), symbol="d",
            symbolSize=theme.px(5), symbolBrush=val, symbolPen=None,
        )
        self._mc_in_legend = False
        self.c_lr = self.p_lr.plot(pen=pg.mkPen(accent, width=theme.px(1)))
        # before the first step (a run just built): the starting learning rate, a dot at step 0
        self.c_lr_start = self.p_lr.plot(
            pen=None, symbol="o", symbolSize=theme.px(6), symbolBrush=accent, symbolPen=None
        )
        self.c_gn = self.p_gn.plot(pen=pg.mkPen(muted, width=theme.px(1)), name="||g|| per step")
        self.c_clip = self.p_gn.plot(
            pen=None,
            symbol="t",
            symbolSize=theme.px(6),
            symbolBrush=QColor(t.warning),
            symbolPen=None,
            name="clipped",
        )
        for curve in (self.c_step_loss, self.c_lr, self.c_gn):
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
        for plot, curve in ((self.p_loss, self.c_step_loss), (self.p_lr, self.c_lr),
                            (self.p_gn, self.c_gn)):  # fmt: skip
            keep_downsampling_fresh(plot, [curve])
        self.p_loss.vb.sigResized.connect(self._on_resized)
        self._drawn_buckets = self._rows = 0
        self.cursor = [
            pg.InfiniteLine(
                angle=90,
                movable=False,
                pen=pg.mkPen(QColor(t.foreground), width=theme.px(1), style=Qt.PenStyle.DashLine),
            )
            for _ in range(4)
        ]
        for p, line in zip((self.p_loss, self.p_acc, self.p_lr, self.p_gn), self.cursor):
            p.addItem(line, ignoreBounds=True)
        self.p_acc.setYRange(0, 1.02, padding=0)
        self.x_range = GrowingRange(self.p_loss, "x", headroom=STEP_HEADROOM, pad=0.0)
        self.y_loss = GrowingRange(self.p_loss, "y", log=True, headroom=0.1)
        self.y_lr = GrowingRange(self.p_lr, "y", log=True, headroom=0.1)
        self.y_gn = GrowingRange(self.p_gn, "y", log=True, headroom=0.1)
        # early stopping: where the run stopped, and its best evaluation (a star)
        self.stop_line = pg.InfiniteLine(
            angle=90,
            movable=False,
            pen=pg.mkPen(QColor(t.foreground), width=1.5, style=Qt.PenStyle.DashLine),
            label="stopped early",
            labelOpts={"position": 0.92, "color": QColor(t.foreground), "movable": False},
        )
        self.stop_line.setVisible(False)
        self.p_loss.addItem(self.stop_line, ignoreBounds=True)
        best = {"pen": None, "symbol": "star", "symbolSize": 15, "symbolBrush": accent,
                "symbolPen": pg.mkPen(QColor(t.foreground), width=1)}
        self.c_best_loss = pg.PlotDataItem(**best)
        self.c_best_acc = pg.PlotDataItem(**best)
        self.p_loss.addItem(self.c_best_loss)
        self.p_acc.addItem(self.c_best_acc)
        self.early_stop: dict | None = None  # the event drawn (for tests and tooltips)
        self._event_lines: list[pg.InfiniteLine] = []
        self._n_events = -1
        self._n_steps = self._n_evals = self._n_clipped = self._stride = -1
        self._last = 0
        self._last_losses = self._eval_losses = np.zeros(0)

    def draw(self, model: RunModel, row: int | None) -> None:
        h = model.history
        if h.n_steps != self._n_steps or h.step_stride != self._stride:
            self._draw_steps(model)
            self._draw_lr_start(model)
        if h.n_evals != self._n_evals:  # symbol curves are costly: only when evals arrive
            self._n_evals = h.n_evals
            e = h.evals()
            # only the evaluations with a value (no validation set: no validation curve)
            self.c_train_loss.setData(*_measured(e["step"], _positive(e["train_loss"])))
            self.c_val_loss.setData(*_measured(e["step"], _positive(e["val_loss"])))
            self.c_train_acc.setData(*_measured(e["step"], e["train_acc"]))
            self.c_val_acc.setData(*_measured(e["step"], e["val_acc"]))
            mc = _measured(e["step"], e["val_acc_mc"]) if "val_acc_mc" in e else ([], [])
            self.c_val_acc_mc.setData(*mc)
            if len(mc[0]) and not self._mc_in_legend:
                self._title_accuracy(mc=True)
                self._mc_in_legend = True
            self._eval_losses = np.concatenate([e["train_loss"], e["val_loss"]])
            self.y_loss.fit(np.concatenate([self._last_losses, self._eval_losses]))
        self._fit_x(model)
        r = self.resolve_row(model, row)
        x = h.probe_column("step")[r] if r is not None and row is not None else self._last
        for line in self.cursor:
            line.setValue(float(x))
            line.setVisible(row is not None)
        self._draw_events(model)

    def _draw_steps(self, model: RunModel) -> None:
        h = model.history
        self._n_steps, self._stride = h.n_steps, h.step_stride
        s = h.steps(max_rows=MAX_ROWS)
        step = s["step"]
        # NaN (no validation set, a non-positive value on a log axis) draws as a gap; the curves
        # are thinned to about a point pair per pixel, each pair a bucket's min and max
        # (decimate.py: a spike is still drawn, the newest step is the last point)
        self._rows = len(step)
        self._drawn_buckets = self._buckets(self._rows)
        x, (loss, lr, gn) = envelope(
            step, [_positive(s["loss"]), _positive(s["lr"]), _positive(s["grad_norm"])],
            self._drawn_buckets,
        )
        self.c_step_loss.setData(x, loss)
        self.c_lr.setData(x, lr)
        self.c_gn.setData(x, gn)
        clipped = s["clipped"]
        n_clipped = int(clipped.sum())
        if n_clipped != self._n_clipped:
            self._n_clipped = n_clipped
            self.c_clip.setData(*_measured(step[clipped], _positive(s["grad_norm"][clipped])))
        self._last = int(step[-1]) if len(step) else 0
        self._fit_x(model)
        self._last_losses = s["loss"][-5000:]
        self.y_loss.fit(np.concatenate([self._last_losses, self._eval_losses]))
        self.y_lr.fit(s["lr"][-5000:] if len(s["lr"]) else np.array([1e-3]))
        self.y_gn.fit(s["grad_norm"][-5000:] if len(s["grad_norm"]) else np.array([1.0]))

    def _draw_lr_start(self, model: RunModel) -> None:
        """The starting learning rate as a dot at step 0 while the run has no step (not an empty
        plot); the dot goes when the steps' own learning rates arrive."""
        lr = starting_lr(model) if model.history.n_steps == 0 else math.nan
        if math.isfinite(lr) and lr > 0:
            self.c_lr_start.setData([0.0], [lr])
            self.y_lr.fit(np.array([lr]))
        elif self.c_lr_start.xData is not None and len(self.c_lr_start.xData):
            self.c_lr_start.setData([], [])

    def _on_resized(self, *_args) -> None:
        """A plot widened past the resolution its step curves were thinned to, or so far that
        they need no thinning: drawn again (a frozen run is not redrawn otherwise)."""
        if not self.built:
            return
        now, drawn = self._buckets(self._rows), self._drawn_buckets
        if (now == 0) != (drawn == 0) or now > 1.25 * drawn > 0:
            self._draw_steps(self.model)

    def _buckets(self, rows: int) -> int:
        """How many (min, max) pairs a step curve of ``rows`` rows keeps: one per pixel of the
        plot's width (the step axis never shows the data on less than half of it), at least
        :data:`MIN_BUCKETS` (a plot not laid out yet); 0 (every row) up to
        :data:`THIN_ABOVE` rows a pixel, where pyqtgraph would not downsample either."""
        if not reveal.enabled:
            return 0  # (sent whole: the A/B of bench/ui.py --tabs-ab)
        buckets = max(MIN_BUCKETS, int(self.p_loss.vb.width()))
        return buckets if rows > THIN_ABOVE * buckets else 0

    def _title_accuracy(self, mc: bool) -> None:
        """The accuracy plot's title with its keys (MC dropout's once its curve exists)."""
        train_key, val_key, mc_key = self._keys
        extra = (f" {mc_key} MC dropout", f" {mc_key} MC", f"{mc_key}") if mc else ("", "", "")
        set_title(
            self.p_acc,
            f"Accuracy: {train_key} train {val_key} validation{extra[0]}",
            f"Accuracy {train_key} train {val_key} val.{extra[1]}",
            f"Accuracy {train_key}{val_key}{extra[2]}",
        )

    def _fit_x(self, model: RunModel) -> None:
        exp = model.experiment
        total = exp.total_steps if exp is not None and exp.data_error is None else None
        if exp is not None and exp.status == "stopped early":
            total = None  # the budget is not where the run ended: fit the steps it took
        self.x_range.fit_steps(0.0, self._last, total, is_live(model))

    def _draw_events(self, model: RunModel) -> None:
        events = model.history.events_copy()
        if len(events) == self._n_events:
            return
        self._n_events = len(events)
        for line in self._event_lines:
            self.p_loss.removeItem(line)
        self._event_lines = []
        t = theme.current()
        for ev in events[-200:]:
            color = QColor(getattr(t, EVENT_COLORS.get(ev["severity"], "muted")))
            line = pg.InfiniteLine(
                pos=ev["step"], angle=90, movable=False, pen=pg.mkPen(color, width=theme.px(1))
            )
            line.setToolTip(f"step {ev['step']}: {ev['message']}")
            self.p_loss.addItem(line, ignoreBounds=True)
            self._event_lines.append(line)
        self._draw_early_stop(events)

    def _draw_early_stop(self, events: list[dict]) -> None:
        """The stop (dashed, labelled) and the best evaluation (a star on the loss or the
        accuracy it monitored), from the run's last early-stopping event."""
        ev = next((e for e in reversed(events)
                   if e["kind"] in ("stopped_early", "restored_best")), None)
        self.early_stop = ev
        self.stop_line.setVisible(ev is not None and ev["kind"] == "stopped_early")
        self.c_best_loss.setData([], [])
        self.c_best_acc.setData([], [])
        if ev is None:
            return
        best_step = ev.get("best_step")
        if ev["kind"] == "stopped_early":
            self.stop_line.setValue(float(ev["step"]))
            self.stop_line.label.setFormat(
                f"stopped early · best step {best_step:,}" if isinstance(best_step, int)
                else "stopped early"
            )
            self.stop_line.setToolTip(ev["message"])
        value = ev.get("best")
        if isinstance(best_step, int) and isinstance(value, (int, float)):
            curve = self.c_best_acc if str(ev.get("monitor", "")).endswith("acc") else (
                self.c_best_loss
            )
            if curve is self.c_best_acc or value > 0:  # (the loss axis is logarithmic)
                curve.setData([float(best_step)], [float(value)])


def _evals(plot: pg.PlotItem, color: QColor, name: str) -> pg.PlotDataItem:
    """A curve of evaluations: a line with a dot at each evaluated step."""
    return plot.plot(
        pen=pg.mkPen(color, width=theme.px(2)),
        symbol="o",
        symbolSize=theme.px(4),
        symbolBrush=color,
        symbolPen=None,
        name=name,
    )


def _measured(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points with a finite value (a scatter of NaNs makes pyqtgraph warn on every paint)."""
    keep = np.isfinite(y)
    return x[keep], y[keep]


def _positive(v: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive and non-finite become NaN (a gap, not a crash)."""
    out = np.asarray(v, dtype=np.float64).copy()
    out[~(out > 0) | ~np.isfinite(out)] = np.nan
    return out
