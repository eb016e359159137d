"""The Layer profile view: per-layer statistics at one probe, x = layer (CS231n lecture 6's layer
mean/std plots, Nielsen ch. 5's speed of learning per layer, Glorot & Bengio's back-propagated
gradients and Jacobian singular values), with the mean-field prediction at initialisation beside
the measured spreads."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QWidget

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import (
    LayerAxis,
    RedrawCache,
    ReusesItems,
    describe,
    header,
    new_plot,
    plain,
    set_title,
    swatch,
)
from gradlab.app.views.ranges import GrowingRange

THEORY_LABEL = "mean-field prediction (step 0)"


def series_colors() -> tuple[QColor, QColor]:
    """Two colours for two measured series on one plot (legible in both themes)."""
    t = theme.current()
    return QColor(t.accent), QColor("#e8710a" if t.name == "light" else "#fdd663")


def key(color: QColor, glyph: str) -> str:
    """A coloured glyph for a title that doubles as the plot's legend."""
    return swatch(color, glyph)


def set_points(curve: pg.PlotDataItem, x: np.ndarray, y: np.ndarray) -> None:
    """A curve with markers: NaN values are gaps; none finite at all (a diverged run) draws
    nothing (markers at NaN only make pyqtgraph warn at every paint)."""
    y = np.asarray(y, np.float64)
    if np.isfinite(y).any():
        curve.setData(x, y)
    else:
        curve.setData([], [])


def positive(v: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive and non-finite become NaN (a gap, not a crash)."""
    out = np.array(v, dtype=np.float64)
    out[~(out > 0) | ~np.isfinite(out)] = np.nan
    return out


class ProfileView(ReusesItems, BaseView):
    key = "profile"
    title = "Layer profile"
    summary = (
        "<b>Layer profile</b>: at the selected probe, layer by layer (x = layer, first hidden "
        "layer on the left, output last): activation mean and spread, saturated and dead units, "
        "speed of learning, gradient sizes and the Jacobian's singular values."
    )
    details = (
        "Every statistic is measured at the probe on the fixed probe batch (every unit of every "
        "example). <b>Activation mean and std</b> of a = f(z) (CS231n lecture 6): healthy is a "
        "std that stays roughly constant from layer to layer. With weights &times;0.01 it "
        "collapses towards 0 layer after layer (the signal dies); with weights &times;1.0 tanh "
        "units saturate and the std sits near 1. Dashed lines with hollow markers are the "
        "<b>mean-field prediction</b> at initialisation (step 0), from the initialisers' "
        "variances: at step 0 the measured points should lie on them; later they show how far "
        "training moved away. <b>Saturated</b>: the fraction of (example, unit) pairs where "
        "|f'(z)| is below 1% of the activation's largest |f'| (tanh/sigmoid near &plusmn;1, "
        "ReLU on the zero side); <b>dead</b>: the fraction of units whose |f'(z)| is below that "
        "for every example of the batch (no gradient reaches their weights). Healthy: both near "
        "0. <b>Speed of learning</b> ||dC/db||, the norm of the batch-mean gradient of the "
        "layer's biases (Nielsen ch. 5): healthy layers learn at similar speeds; a first layer "
        "100&times; slower than the last is the vanishing-gradient problem. <b>Gradient "
        "std</b>: δ = n·dL/dz is the per-example back-propagated gradient (L the batch-mean loss, "
        "n the batch size), Glorot &amp; Bengio's; it shrinks towards the first layer with the "
        "standard initialisation, while the batch-mean weight gradients dL/dW stay comparable. "
        "<b>Jacobian mean singular value</b> of the layer's own Jacobian d a(l) / d a(l-1) "
        "(a(0) = x), averaged over a few examples and measured at every N-th probe (the "
        "Training panel's Probes section; the newest measurement at or before the probe is "
        "shown): about 1 (dashed) keeps signals and gradients at the same size, about 0.8 with "
        "normalised init and 0.5 with standard init in the paper."
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._cache = RedrawCache()
        self.output_box = QCheckBox("output layer", self)
        self.output_box.setChecked(True)
        self.output_box.setToolTip(
            "Show the output layer: its linear logits can dwarf the hidden layers' values"
        )
        self.output_box.toggled.connect(self._on_output)
        self.controls.addWidget(self.output_box)
        self.controls.addStretch(1)

    def _on_output(self, *_args) -> None:
        if self.model is not None:
            self._cache.reset()
            for g in self._ranges:
                g.reset()
            self._set_x_range()
            self.refresh(self.row)

    def _shown(self) -> slice:
        """The layers the y ranges cover: all, or the hidden ones when the output is hidden."""
        L = len(self.x)
        return slice(0, L - 1 if (L > 1 and not self.output_box.isChecked()) else L)

    def _set_x_range(self) -> None:
        n = self._shown().stop
        for p in self.plots:
            p.setXRange(0.5, n + 0.5, padding=0)

    # ------------------------------------------------------------------ items
    def new_run(self, model: RunModel) -> None:
        for curve in self._curves:
            curve.clear()
        zero = np.zeros(len(self.x))
        self.b_sat.setOpts(height=zero)
        self.b_dead.setOpts(height=zero)
        self.header.setText("")
        self._reset_state()

    def _reset_state(self) -> None:
        self._cache.reset()
        for g in self._ranges:
            g.reset()
        self._theory_drawn = None
        self._jac_title = None

    def build(self, model: RunModel):
        t = theme.current()
        c = self.canvas
        L = model.n_layers
        self.x = np.arange(1, L + 1, dtype=np.float64)
        c1, c2 = series_colors()
        fg = QColor(t.foreground)
        colors = theme.layer_colors(L)
        self.header = header(c, 3)
        cells = [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
        self.plots = []
        for r, k in cells:
            axis = LayerAxis("bottom")
            axis.set_layers(model.layer_labels)
            self.plots.append(new_plot(c, r, k, bottom=axis))
            yield  # (a plot costs ~20 ms: a hidden view is built between frames)
        p_act, p_pre, p_sat, p_speed, p_grad, p_jac = self.plots
        self.style_plot(p_act, left="a")
        self.style_plot(p_pre, left="std of z")
        self.style_plot(p_sat, left="fraction")
        self.style_plot(p_speed, left="||dC/db||", bottom="layer")
        self.style_plot(p_grad, left="std", bottom="layer")
        self.style_plot(p_jac, left="mean σ", bottom="layer")
        warn, err = QColor(t.warning), QColor(t.error)
        theory = key(c2, "- -&#9633;")
        mean, std = key(c1, "&#9679;"), key(c2, "&#9632;")
        # the keys live in the titles (a legend inside a plot would sit on the points); the
        # longest wording that fits is shown, so a narrow Dashboard cell still reads whole
        set_title(
            p_act,
            f"Activations a: {mean} mean {std} std {theory} predicted std",
            f"Activations: {mean} mean {std} std {theory} predicted",
            f"a: {mean} mean {std} std {theory} pred.",
            f"a: {mean} mean {std} std",
            f"a {mean}{std}",
        )
        set_title(
            p_pre,
            f"Pre-activations z: {std} std {theory} predicted",
            f"z: {std} std {theory} predicted",
            f"z: {std} std {theory} pred.",
            f"std of z {std}",
            f"z {std}",
        )
        set_title(
            p_sat,
            f"{key(warn, '&#9632;')} saturated {key(err, '&#9632;')} dead units (|f'| &lt; 1%)",
            f"{key(warn, '&#9632;')} saturated {key(err, '&#9632;')} dead units",
            f"{key(warn, '&#9632;')} saturated {key(err, '&#9632;')} dead",
            f"{key(warn, '&#9632;')} sat. {key(err, '&#9632;')} dead",
            f"{key(warn, '&#9632;')}{key(err, '&#9632;')} sat./dead",
        )
        set_title(
            p_speed,
            "Speed of learning ||dC/db|| (Nielsen)",
            "Speed of learning ||dC/db||",
            "Speed of learning",
            "||dC/db||",
        )
        set_title(
            p_grad,
            f"Gradient std: {mean} δ = n·dL/dz {std} dL/dW",
            f"Gradient std: {mean} δ {std} dL/dW",
            f"std: {mean} δ {std} dL/dW",
            f"{mean} δ {std} dL/dW",
        )
        self._jac_title = None
        self._set_jac_title(None)
        for p in (p_pre, p_speed, p_grad):
            p.setLogMode(y=True)
        for p in self.plots:
            p.disableAutoRange()
            p.setMouseEnabled(x=False, y=True)

        def measured(p, color, name, symbol="o"):
            return p.plot(
                pen=pg.mkPen(color, width=theme.px(2)),
                symbol=symbol,
                symbolSize=theme.px(7),
                symbolBrush=color,
                symbolPen=None,
                name=name,
            )

        def predicted(p, color, name=THEORY_LABEL, symbol="o"):
            return p.plot(
                pen=pg.mkPen(color, width=theme.px(1), style=Qt.PenStyle.DashLine),
                symbol=symbol,
                symbolSize=theme.px(9),
                symbolBrush=None,
                symbolPen=pg.mkPen(color, width=theme.px(1)),
                name=name,
            )

        # activations: CS231n's mean and std per layer, the predicted std beside the measured
        zero = pg.InfiniteLine(pos=0, angle=0, movable=False, pen=pg.mkPen(QColor(t.muted)))
        p_act.addItem(zero, ignoreBounds=True)
        self.c_act_mean = measured(p_act, c1, "mean")
        self.c_act_std = measured(p_act, c2, "std", "s")
        self.c_act_std_theory = predicted(p_act, c2, symbol="s")
        self.c_pre_std = measured(p_pre, c2, "measured", "s")
        self.c_pre_std_theory = predicted(p_pre, c2, symbol="s")
        # saturated / dead: two bars per layer
        self.b_sat = pg.BarGraphItem(
            x=self.x - 0.19, height=np.zeros(L), width=0.36, brush=warn, pen=None, name="saturated"
        )
        self.b_dead = pg.BarGraphItem(
            x=self.x + 0.19, height=np.zeros(L), width=0.36, brush=err, pen=None, name="dead"
        )
        p_sat.addItem(self.b_sat)
        p_sat.addItem(self.b_dead)
        p_sat.setYRange(0, 1.05, padding=0)
        # speed of learning: points in the layer colours
        self.c_speed = p_speed.plot(
            pen=pg.mkPen(QColor(t.muted), width=theme.px(1)),
            symbol="o",
            symbolSize=theme.px(9),
            symbolBrush=[pg.mkBrush(col) for col in colors],
            symbolPen=pg.mkPen(fg, width=theme.px(1)),
        )
        # gradient spreads (Glorot & Bengio figs. 7 and 8 in one number per layer)
        self.c_delta_std = measured(p_grad, c1, "δ = n·dL/dz (per example)")
        self.c_wgrad_std = measured(p_grad, c2, "dL/dW", "s")
        # Jacobian
        one = pg.InfiniteLine(
            pos=1.0,
            angle=0,
            movable=False,
            pen=pg.mkPen(QColor(t.muted), width=theme.px(1), style=Qt.PenStyle.DashLine),
        )
        p_jac.addItem(one, ignoreBounds=True)
        self.c_jac = measured(p_jac, c1, "measured")
        self.y_act = GrowingRange(p_act, "y", headroom=0.1, floor=(0.0, 0.1))
        self.y_pre = GrowingRange(p_pre, "y", log=True, headroom=0.15)
        self.y_speed = GrowingRange(p_speed, "y", log=True, headroom=0.2)
        self.y_grad = GrowingRange(p_grad, "y", log=True, headroom=0.15)
        self.y_jac = GrowingRange(p_jac, "y", headroom=0.1, floor=(0.0, 1.2))
        self._ranges = [self.y_act, self.y_pre, self.y_speed, self.y_grad, self.y_jac]
        self._curves = [
            self.c_act_mean,
            self.c_act_std,
            self.c_act_std_theory,
            self.c_pre_std,
            self.c_pre_std_theory,
            self.c_speed,
            self.c_delta_std,
            self.c_wgrad_std,
            self.c_jac,
        ]
        self._set_x_range()
        self._reset_state()

    # ------------------------------------------------------------------ drawing
    def draw(self, model: RunModel, row: int | None) -> None:
        h = model.history
        r = self.resolve_row(model, row)
        if r is None or not hasattr(self, "c_act_mean"):
            return
        if self._cache.cheap((id(h), h.version, r)):
            return
        p = h.probe(r)
        jac_all = h.probe_column("jacobian_sv_mean")[: r + 1]
        measured_rows = np.flatnonzero(np.isfinite(jac_all).any(axis=1))
        jr = int(measured_rows[-1]) if len(measured_rows) else None
        if self._cache.content((id(h), p["index"], p["step"], p["loss"], jr)):
            return
        s = p["stats"]
        x = self.x
        set_points(self.c_act_mean, x, s["act_mean"])
        set_points(self.c_act_std, x, s["act_std"])
        set_points(self.c_pre_std, x, positive(s["pre_std"]))
        self.b_sat.setOpts(height=np.nan_to_num(s["act_saturated"]))
        self.b_dead.setOpts(height=np.nan_to_num(s["act_dead"]))
        set_points(self.c_speed, x, positive(s["bias_grad_norm"]))
        set_points(self.c_delta_std, x, positive(s["delta_std"]))
        set_points(self.c_wgrad_std, x, positive(s["wgrad_std"]))
        theory = h.theory
        self._draw_theory(theory)
        k = self._shown()
        act_vals = [s["act_mean"][k], s["act_std"][k]]
        pre_vals = [s["pre_std"][k]]
        if "act_std" in theory:
            act_vals.append(theory["act_std"][k])
        if "pre_std" in theory:
            pre_vals.append(theory["pre_std"][k])
        self.y_act.fit(np.concatenate(act_vals))
        self.y_pre.fit(np.concatenate(pre_vals))
        self.y_speed.fit(s["bias_grad_norm"][k])
        self.y_grad.fit(np.concatenate([s["delta_std"][k], s["wgrad_std"][k]]))
        if jr is not None:
            jac = jac_all[jr]
            set_points(self.c_jac, x, jac)
            self.y_jac.fit(jac[k])
        else:
            self.c_jac.setData([], [])
        jac_step = None if jr is None else int(h.probe_column("step")[jr])
        self._set_titles(model, p, r, jac_step)

    def _draw_theory(self, theory: dict) -> None:
        drawn = tuple((k, theory[k].tobytes()) for k in ("act_std", "pre_std") if k in theory)
        if drawn == self._theory_drawn:
            return
        self._theory_drawn = drawn
        for curve, k, log in (
            (self.c_act_std_theory, "act_std", False),
            (self.c_pre_std_theory, "pre_std", True),
        ):
            v = theory.get(k)
            if v is None or len(v) != len(self.x):
                curve.setData([], [])
                curve.hide()
            else:
                set_points(curve, self.x, positive(v) if log else np.asarray(v, np.float64))
                curve.show()

    def _set_titles(self, model: RunModel, p: dict, r: int, jac_step: int | None) -> None:
        n = model.history.n_probes
        muted = theme.current().muted
        step = f"<b>Layer profile</b> at step {p['step']:,}"
        theory = f"- - &#9633; {THEORY_LABEL}"
        self.header.set_variants(
            f"{step}&nbsp;&nbsp;<span style='color:{muted}'>probe {r + 1} of {n}; "
            f"{plain(describe(model))}</span>&nbsp;&nbsp; {theory}",
            f"{step}&nbsp;&nbsp;<span style='color:{muted}'>probe {r + 1} of {n}</span>"
            f"&nbsp;&nbsp; {theory}",
            f"{step}&nbsp;&nbsp; {theory}",
            step,
        )
        self._set_jac_title(jac_step)

    def _set_jac_title(self, jac_step: int | None) -> None:
        if jac_step == self._jac_title and self._jac_title is not None:
            return
        self._jac_title = jac_step
        if jac_step is None:
            variants = (
                "Jacobian mean singular value (not measured yet)",
                "Jacobian mean σ (not measured yet)",
                "Jacobian σ: not yet",
            )
        else:
            variants = (
                f"Jacobian mean singular value (step {jac_step:,})",
                f"Jacobian mean σ (step {jac_step:,})",
                f"Jacobian σ, step {jac_step:,}",
                f"σ, step {jac_step:,}",
            )
        set_title(self.plots[5], *variants)
