"""Compare's A/B half: two pinned runs' per-layer histograms of a chosen quantity at a chosen
step (all layers overlaid, as in Glorot & Bengio's figures, run A left, run B right), the spec
settings that differ, and a warning when the seeds differ (then part of the difference is luck).
A mixin of :class:`~gradlab.app.views.compare.CompareView`: it reads the view's ``runs``,
``right`` splitter, ``color`` and ``label``."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.common import header, new_plot, no_index, plain, set_title, swatch
from gradlab.app.views.compare_diff import format_value, group_diffs, run_diff
from gradlab.app.views.compare_tables import swatch_icon
from gradlab.figures.numbers import run_steps

#: histogram quantities of the A/B comparison: (key, label, x-axis label)
AB_QUANTITIES = (
    ("act", "activations a = f(z)", "a"),
    ("pre", "pre-activations z", "z"),
    ("delta", "back-propagated gradients δ = n·dL/dz", "δ"),
    ("delta_log", "log10 |δ| (back-propagated gradients)", "log10 |δ|"),
    ("wgrad", "weight gradients dL/dW", "dL/dW"),
    ("wgrad_log", "log10 |dL/dW| (weight gradients)", "log10 |dL/dW|"),
    ("weight", "weights W", "W"),
)


class CompareAB:
    """The A/B controls, histograms and settings diff of :class:`CompareView`."""

    def _build_ab(self, right: QSplitter) -> QWidget:
        """The A/B panel (controls, diff and seed lines, the two histogram plots) in ``right``;
        its controls redraw it when changed."""
        ab = QWidget(right)
        self.ab_panel = ab
        al = QVBoxLayout(ab)
        al.setContentsMargins(6, 4, 6, 0)
        al.setSpacing(2)
        ctl_w = QWidget(ab)
        self.ab_controls = ctl_w
        # two rows (runs; quantity and step): one row left the docks no room at 1280x720
        rows = QVBoxLayout(ctl_w)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(2)
        ctl = QHBoxLayout()
        rows.addLayout(ctl)
        ctl.addWidget(QLabel("<b>A/B</b>  A:", ab))
        self.combo_a = QComboBox(ab)
        self.combo_a.setToolTip("Run A (left)")
        ctl.addWidget(self.combo_a, 1)
        ctl.addWidget(QLabel("B:", ab))
        self.combo_b = QComboBox(ab)
        self.combo_b.setToolTip("Run B (right)")
        ctl.addWidget(self.combo_b, 1)
        ctl = QHBoxLayout()
        rows.addLayout(ctl)
        ctl.addWidget(QLabel("Histogram of", ab))
        self.combo_q = QComboBox(ab)
        for key, label, _ in AB_QUANTITIES:
            self.combo_q.addItem(label, key)
        ctl.addWidget(self.combo_q)
        ctl.addWidget(QLabel("  at step", ab))
        self.step_box = QSpinBox(ab)
        self.step_box.setRange(0, 0)
        self.step_box.setAccelerated(True)
        self.step_box.setKeyboardTracking(False)
        self.step_box.setToolTip(
            "Each run shows its last probe at or before this step (the step-0 probe is the "
            "initialisation)"
        )
        ctl.addWidget(self.step_box)
        ctl.addStretch(1)
        al.addWidget(ctl_w)
        self.diff_label = QLabel(ab)
        self.diff_label.setWordWrap(True)
        self.diff_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        al.addWidget(self.diff_label)
        self.seed_label = QLabel(ab)
        self.seed_label.setWordWrap(True)
        al.addWidget(self.seed_label)
        self.ab_canvas = no_index(pg.GraphicsLayoutWidget(ab))
        self.ab_canvas.ci.setContentsMargins(4, 4, 4, 4)
        # the layers' colour ramp, one line above the two plots (a legend would sit on them)
        self.ab_key = header(self.ab_canvas, 2, size=9)
        self.p_a = new_plot(self.ab_canvas, 1, 0)
        self.p_b = new_plot(self.ab_canvas, 1, 1)
        for p in (self.p_a, self.p_b):
            self.style_plot(p, " ", "fraction of values", "")
            p.disableAutoRange()
        self.p_b.setXLink(self.p_a)
        self.p_b.setYLink(self.p_a)
        al.addWidget(self.ab_canvas, 1)

        for combo in (self.combo_a, self.combo_b):
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(10)
        self.combo_q.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo_q.setMinimumContentsLength(16)  # (the window's docks keep their room)
        self._ab_shown: bool | None = None
        self.combo_a.currentIndexChanged.connect(self._draw_ab)
        self.combo_b.currentIndexChanged.connect(self._draw_ab)
        self.combo_q.currentIndexChanged.connect(self._draw_ab)
        self.step_box.valueChanged.connect(self._draw_ab)
        return ab

    # ------------------------------------------------------------------ A/B
    def _fill_ab_choices(self) -> None:
        prev_a = self._run_at(self.combo_a)
        prev_b = self._run_at(self.combo_b)
        for combo in (self.combo_a, self.combo_b):
            combo.blockSignals(True)
            combo.clear()
            for run in self.runs:
                combo.addItem(swatch_icon(self.color(run)), self.label(run))
            combo.blockSignals(False)
        n = len(self.runs)
        ids = [id(r) for r in self.runs]
        ia = ids.index(prev_a) if prev_a in ids else max(n - 2, 0)
        ib = ids.index(prev_b) if prev_b in ids else n - 1
        if ia == ib and n > 1:
            ia, ib = (n - 2, n - 1) if ib == n - 1 else (ib, n - 1)
        for combo, i in ((self.combo_a, ia), (self.combo_b, ib)):
            combo.blockSignals(True)
            combo.setCurrentIndex(i if n else -1)
            combo.blockSignals(False)
        last = max((run_steps(r) for r in self.runs), default=0)
        at_end = self.step_box.value() >= self.step_box.maximum()
        self.step_box.blockSignals(True)
        self.step_box.setRange(0, max(last, 0))
        if at_end:
            self.step_box.setValue(last)
        self.step_box.blockSignals(False)

    def _run_at(self, combo: QComboBox) -> int | None:
        i = combo.currentIndex()
        return id(self.runs[i]) if 0 <= i < len(self.runs) else None

    def ab_runs(self) -> tuple[RunModel | None, RunModel | None]:
        def pick(combo):
            i = combo.currentIndex()
            return self.runs[i] if 0 <= i < len(self.runs) else None

        return pick(self.combo_a), pick(self.combo_b)

    def _draw_ab(self, *_args) -> None:
        a, b = self.ab_runs()
        for p in (self.p_a, self.p_b):
            p.clear()
        self.ab_items: dict[str, list[pg.PlotDataItem]] = {"A": [], "B": []}
        two = a is not None and b is not None and len(self.runs) >= 2
        self.ab_controls.setVisible(two)
        self.ab_canvas.setVisible(two)
        if two != self._ab_shown:  # give the plots the room the A/B panel does not need
            self._ab_shown = two
            self.ab_panel.setMaximumHeight(16777215 if two else 48)
            if two:
                total = sum(self.right.sizes()) or 900
                self.right.setSizes([round(total * 0.45), total - round(total * 0.45)])
        if not two:
            self.diff_label.setText(
                "<b>A/B</b>: pin a second run to compare two runs' histograms side by side "
                "(same seed, one setting changed)."
                if self.runs
                else ""
            )
            self.seed_label.setText("")
            for p in (self.p_a, self.p_b):
                set_title(p, " ", size=9)
            return
        self._show_diff(a, b)
        ramp = theme.layer_colors(5)
        self.ab_key.set_variants(
            f"layers: {swatch(ramp[0], '&#9644;')} first hidden "
            + "".join(swatch(col, "&#9644;") for col in ramp[1:-1])
            + f" {swatch(ramp[-1], '&#9644;')} output (each run's own ramp), all overlaid",
            f"{swatch(ramp[0])} first hidden … {swatch(ramp[-1])} output",
            f"{swatch(ramp[0])} 1 … {swatch(ramp[-1])} out",
        )
        q = self.combo_q.currentData()
        xlabel = next(x for k, _, x in AB_QUANTITIES if k == q)
        step = self.step_box.value()
        lo_all, hi_all, ymax = math.inf, -math.inf, 0.0
        for side, run, plot in (("A", a, self.p_a), ("B", b, self.p_b)):
            plot.setLabel("bottom", xlabel)
            if not run.history.n_probes:
                set_title(plot, f"{side}: {plain(run.name)}: no probes", size=9)
                continue
            i = run.history.probe_index_at(step)
            rec = run.history.probe(i)
            counts = rec["hists"][q].astype(np.float64)  # (L, bins)
            ranges = rec["ranges"][q]  # (L, 2): hidden layers share one, the output its own
            colors = theme.layer_colors(len(counts))
            hidden = counts[:-1] if len(counts) > 1 else counts
            edges = np.linspace(*ranges[0], counts.shape[1] + 1)
            used = np.flatnonzero(hidden.sum(axis=0) > 0)
            if used.size:  # zoom on the bins the hidden layers fill (the stored range is wider)
                lo_all = min(lo_all, float(edges[used[0]]))
                hi_all = max(hi_all, float(edges[used[-1] + 1]))
            for l, row in enumerate(counts):
                edges = np.linspace(*ranges[l], counts.shape[1] + 1)
                total = row.sum()
                frac = row / total if total > 0 else row
                item = plot.plot(
                    edges,
                    frac,
                    stepMode="center",
                    pen=pg.mkPen(colors[l], width=theme.px(2)),
                    name=(run.layer_labels[l] if side == "B" else None),
                )
                self.ab_items[side].append(item)
                ymax = max(ymax, float(frac.max()) if frac.size else 0.0)
            c = self.color(run)
            mark = f"<span style='color:{c.name()}'>■</span> {side}"
            set_title(
                plot,
                f"{mark}: {plain(run.name)} · probe at step {int(rec['step']):,}",
                f"{mark}: {plain(run.name)} · step {int(rec['step']):,}",
                f"{mark}, step {int(rec['step']):,}",
                size=9,
            )
        if math.isfinite(lo_all) and hi_all > lo_all:
            pad = 0.05 * (hi_all - lo_all)
            self.p_a.setXRange(lo_all - pad, hi_all + pad, padding=0)
        self.p_a.setYRange(0.0, max(ymax, 1e-6) * 1.08, padding=0)

    def _show_diff(self, a: RunModel, b: RunModel) -> None:
        t = theme.current()
        diffs = run_diff(a, b)
        if a is b:
            self.diff_label.setText("A and B are the same run: choose two different runs.")
        elif not diffs:
            self.diff_label.setText("Same settings: the two specs are identical (names aside).")
        else:
            parts = [
                # the learning rate of a run changed during it reads as a story, A's then B's
                f"<b>{p}</b>: A {x}, B {y}"
                if p == "training.lr" and isinstance(x, str)
                else f"<b>{p}</b>: {format_value(x)} → {format_value(y)}"
                for p, x, y in group_diffs(diffs)
            ]
            shown = parts[:6]
            more = f"; and {len(parts) - 6} more" if len(parts) > 6 else ""
            self.diff_label.setText("Settings that differ (A → B): " + "; ".join(shown) + more)
            self.diff_label.setToolTip(
                "\n".join(f"{p}: {format_value(x)} -> {format_value(y)}" for p, x, y in diffs)
            )
        sa, sb = a.spec.get("seed"), b.spec.get("seed")
        if sa != sb:
            self.seed_label.setText(
                f"⚠ The seeds differ ({sa} vs {sb}): part of the difference is chance "
                "(initial weights, batch order), not the settings. Use the same seed for an A/B."
            )
            self.seed_label.setStyleSheet(f"color: {t.warning}; font-weight: bold;")
        else:
            self.seed_label.setText(f"Same seed ({sa}): the settings above are the only change.")
            self.seed_label.setStyleSheet(f"color: {t.ok};")
