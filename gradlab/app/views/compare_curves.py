"""Compare's upper plots: the pinned runs' loss curves overlaid (the step loss thin, the
validation loss bold) and each run's speed of learning per layer (Nielsen's ||dL/db|| at the last
probe), both log scale. A mixin of :class:`~gradlab.app.views.compare.CompareView`: it reads the
view's ``runs``, ``canvas`` and ``color``."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from gradlab.app import theme
from gradlab.app.views.common import legend, new_plot, set_title


def log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Ticks for a log10 axis over [lo, hi] (log units): the powers of ten labelled, 2..9
    times them as unlabelled minor ticks (2 and 5 labelled too when fewer than three powers of
    ten show)."""
    major, minor = [], []
    few = math.floor(hi) - math.ceil(lo) < 2
    for d in range(math.floor(lo), math.ceil(hi) + 1):
        if lo <= d <= hi:
            major.append((float(d), f"{10.0**d:g}"))
        for m in range(2, 10):
            v = d + math.log10(m)
            if lo <= v <= hi:
                if few and m in (2, 5):
                    major.append((v, f"{m * 10.0**d:g}"))
                else:
                    minor.append((v, ""))
    return [major, minor]


def _positive(v: np.ndarray) -> np.ndarray:
    out = np.asarray(v, dtype=np.float64).copy()
    out[~(out > 0) | ~np.isfinite(out)] = np.nan
    return out


class CompareCurves:
    """The loss and speed-of-learning plots of :class:`CompareView` (built and drawn)."""

    def _build_curves(self) -> None:
        """The loss and speed plots on the view's canvas, the runs' key below them."""
        self.p_loss = new_plot(self.canvas, 0, 0)
        self.p_speed = new_plot(self.canvas, 0, 1)
        self.style_plot(self.p_loss, left="loss", bottom="step")
        set_title(
            self.p_loss,
            "Loss (thin: every step, bold: validation)",
            "Loss (thin: step, bold: validation)",
            "Loss",
        )
        self.style_plot(self.p_speed, left="||dL/db||", bottom="layer (last = output)")
        set_title(
            self.p_speed,
            "Speed of learning ||dL/db|| per layer, last probe",
            "Speed of learning ||dL/db||, last probe",
            "Speed of learning",
        )
        for p in (self.p_loss, self.p_speed):
            p.setLogMode(y=True)
            p.disableAutoRange()
        # the runs' key below the plots, never on the curves
        self.loss_legend = legend(columns=2)
        self.canvas.addItem(self.loss_legend, row=1, col=0, colspan=2)
        self.loss_items: list[tuple[pg.PlotDataItem, pg.PlotDataItem]] = []
        # re-downsample the thin curves at the plot's new width (else a sawtooth, see
        # common.keep_downsampling_fresh)
        self.p_loss.vb.sigResized.connect(
            lambda *_a: [thin.viewRangeChanged() for thin, _bold in self.loss_items]
        )

    def _draw_curves(self) -> None:
        t = theme.current()
        for p in (self.p_loss, self.p_speed):
            p.clear()
        self.loss_legend.clear()
        self.loss_items = []
        self.speed_items: list[pg.PlotDataItem] = []
        xs, ys, max_l = [], [], 1
        ys_speed = []
        for run in self.runs:
            c = self.color(run)
            s = run.history.steps()
            e = run.history.evals()
            thin_c = QColor(c)
            thin_c.setAlpha(80)
            thin = self.p_loss.plot(
                s["step"], _positive(s["loss"]), pen=pg.mkPen(thin_c, width=theme.px(1))
            )
            thin.setDownsampling(auto=True, method="peak")
            thin.setClipToView(True)
            val = _positive(e["val_loss"])
            which = "validation"
            if not np.isfinite(val).any():  # no validation set: the training subset instead
                val, which = _positive(e["train_loss"]), "train, no validation set"
            bold = self.p_loss.plot(
                e["step"],
                val,
                pen=pg.mkPen(c, width=theme.px(3)),
                symbol="o",
                symbolSize=theme.px(5),
                symbolBrush=c,
                symbolPen=None,
                name=run.name + ("" if which == "validation" else f" ({which})"),
            )
            self.loss_legend.addItem(bold, bold.name())
            self.loss_items.append((thin, bold))
            xs += [s["step"], e["step"]]
            ys += [s["loss"][-20000:], e["val_loss"], e["train_loss"]]

            L = run.n_layers
            max_l = max(max_l, L)
            if run.history.n_probes:
                bg = run.history.probe(-1)["stats"]["bias_grad_norm"]
            else:
                bg = np.full(L, np.nan)
            sp = self.p_speed.plot(
                np.arange(1, L + 1),
                _positive(bg),
                pen=pg.mkPen(c, width=theme.px(2)),
                symbol="o",
                symbolSize=theme.px(7),
                symbolBrush=c,
                symbolPen=pg.mkPen(t.background),
            )
            self.speed_items.append(sp)
            ys_speed.append(bg)
        self._fit(self.p_loss, xs, ys)
        self._fit(self.p_speed, [np.array([0.7, max_l + 0.3])], ys_speed, pad_x=False)
        same_depth = len({r.n_layers for r in self.runs}) == 1
        ticks = [(i, str(i)) for i in range(1, max_l + 1)]
        if same_depth and self.runs:
            ticks[-1] = (max_l, "out")
        self.p_speed.getAxis("bottom").setTicks([ticks, []])

    @staticmethod
    def _fit(plot: pg.PlotItem, xs: list, ys: list, pad_x: bool = True) -> None:
        """Range a log-y plot on its data once (the data are frozen)."""
        x = np.concatenate([np.asarray(a, np.float64).ravel() for a in xs]) if xs else np.array([])
        y = np.concatenate([np.asarray(a, np.float64).ravel() for a in ys]) if ys else np.array([])
        x = x[np.isfinite(x)]
        y = y[np.isfinite(y) & (y > 0)]
        if x.size:
            lo, hi = float(x.min()), float(x.max())
            if hi <= lo:
                hi = lo + 1.0
            pad = 0.02 * (hi - lo) if pad_x else 0.0
            plot.setXRange(lo - pad, hi + pad, padding=0)
        if y.size:
            lo, hi = math.log10(float(y.min())), math.log10(float(y.max()))
            if hi - lo < 1.0:  # at least a decade, so a labelled power of ten is in view
                mid = 0.5 * (lo + hi)
                lo, hi = mid - 0.55, mid + 0.55
            span = hi - lo
            lo, hi = lo - 0.05 * span, hi + 0.08 * span
            plot.setYRange(lo, hi, padding=0)
            plot.getAxis("left").setTicks(log_ticks(lo, hi))
