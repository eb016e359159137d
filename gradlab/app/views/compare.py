"""The Compare view: pinned runs side by side.

The window pins runs (Ctrl+P, or File > Compare with Session...) and hands the list to
:meth:`CompareView.set_runs`; pinned runs are frozen copies, so this view draws when the list or its
own controls change, never per frame. It shows

* the runs' loss curves overlaid (one colour per run: the step loss thin, the evaluated
  validation loss bold) and each run's speed of learning per layer (Nielsen's ||dL/db|| at the
  last probe, log scale);
* a table of final metrics and Glorot & Bengio's (2010) Table 1 layout: rows = hidden-layer
  activation, columns = initialisation, cells = the validation error % (100 (1 - validation
  accuracy); the paper's table gives test errors);
* an A/B comparison of two runs: their per-layer histograms of a chosen quantity at a chosen step
  (all layers overlaid, as in Glorot & Bengio's figures, run A left, run B right), the spec
  settings that differ, and a warning when the seeds differ (then part of the difference is luck).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.common import (
    header,
    legend,
    new_plot,
    no_index,
    plain,
    set_title,
    swatch,
)
from gradlab.experiment.spec.fields import NAMING_KEYS
from gradlab.experiment.spec.naming import lr_story
from gradlab.figures.numbers import error_pct, hidden_setting, run_steps, table1

#: one colour per pinned run (Tableau 10), kept by the run for as long as it stays pinned
RUN_COLORS = theme.CATEGORICAL

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

#: spec fields that name or describe a run without changing it (left out of the A/B diff)
NOT_SETTINGS = NAMING_KEYS

EMPTY_TEXT = (
    "Nothing pinned yet. Pin this run with Ctrl+P, change one setting (the initialisation, say), "
    "press Reset and run again, then pin that run too: Compare shows their losses, speeds of "
    "learning and histograms side by side. Saved sessions: File > Compare with Session…"
)


# ============================================================================ pure helpers
def spec_diff(a: Any, b: Any, path: str = "", ignore: tuple[str, ...] = NOT_SETTINGS):
    """The settings that differ between two resolved specs: a list of (path, value in a, value
    in b), paths dotted with list indices (``network.layers[0].init``). Top-level keys in
    ``ignore`` are skipped; a missing value is None."""
    out: list[tuple[str, Any, Any]] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if not path and k in ignore:
                continue
            sub = f"{path}.{k}" if path else str(k)
            out += spec_diff(a.get(k), b.get(k), sub, ignore)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            out += spec_diff(
                a[i] if i < len(a) else None, b[i] if i < len(b) else None, f"{path}[{i}]", ignore
            )
    elif a != b and not (_is_nan(a) and _is_nan(b)):
        out.append((path, a, b))
    return out


def run_diff(a: RunModel, b: RunModel) -> list[tuple[str, Any, Any]]:
    """The settings that differ between two runs: their specs' differences, the learning rate
    told with the changes made during each run (``0.01 -> 0.03 at step 1,200``)."""
    diffs = [d for d in spec_diff(a.spec, b.spec) if d[0] != "training.lr"]
    la = lr_story(a.spec["training"]["lr"], a.lr_changes).removeprefix("lr ")
    lb = lr_story(b.spec["training"]["lr"], b.lr_changes).removeprefix("lr ")
    if la != lb:
        diffs.insert(0, ("training.lr", la, lb))
    return diffs


def group_diffs(diffs: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """Merge entries that differ only in one list index and share both values:
    ``layers[0].init``, ``layers[1].init``, ``layers[2].init`` -> ``layers[0–2].init`` (a
    comma list when the indices are not consecutive)."""
    groups: dict[tuple[str, str, str], list[tuple[int, str, Any, Any]]] = {}
    order: list[tuple[str, str, str]] = []
    for path, x, y in diffs:
        m = re.search(r"\[(\d+)\]", path)
        if m is None:
            key = (path, repr(x), repr(y))
            idx = -1
        else:
            key = (path[: m.start()] + "[#]" + path[m.end() :], repr(x), repr(y))
            idx = int(m.group(1))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((idx, path, x, y))
    out = []
    for key in order:
        items = groups[key]
        if len(items) == 1 or items[0][0] < 0:
            out += [(p, x, y) for _, p, x, y in items]
            continue
        idx = sorted(i for i, *_ in items)
        if idx == list(range(idx[0], idx[-1] + 1)):
            label = f"{idx[0]}–{idx[-1]}"
        else:
            label = ",".join(map(str, idx))
        out.append((key[0].replace("[#]", f"[{label}]", 1), items[0][2], items[0][3]))
    return out


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def format_value(v: Any) -> str:
    """A spec value as a user reads it: names bare, numbers short, objects as compact JSON."""
    if v is None:
        return "(none)"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(", ", ": "))
    return str(v)


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


def _swatch(color: QColor, size: int = 12) -> QIcon:
    pm = QPixmap(size, size)
    pm.fill(color)
    return QIcon(pm)


def _item(text: str, tip: str = "", align=Qt.AlignmentFlag.AlignRight) -> QTableWidgetItem:
    it = QTableWidgetItem(text)
    it.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if tip:
        it.setToolTip(tip)
    return it


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%" if math.isfinite(v) else "–"


def _loss(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "–"


# ============================================================================ the view
class CompareView(BaseView):
    key = "compare"
    title = "Compare"
    summary = (
        "<b>Compare pinned runs</b>: loss curves, speed of learning per layer, final metrics, "
        "Glorot &amp; Bengio's Table 1, and an A/B look at two runs' histograms."
    )
    details = (
        "Pin the current run with Ctrl+P (Experiments > Pin Run) before changing a setting and "
        "pressing Reset, or pin a saved session (File > Compare with Session…). Loss: thin = "
        "every step, bold = validation loss at evaluations. Speed of learning = ||dL/db|| of each "
        "layer at the last probe (Nielsen ch. 5): a line falling towards the first layers means "
        "the early layers learn slower (vanishing gradients). Table 1 puts the validation error "
        "(100 × (1 − validation accuracy) at the last evaluation) in a grid of hidden activation "
        "× initialisation, as Glorot &amp; Bengio (2010) did with test errors; bold = the "
        "lowest. A/B: choose two runs, a quantity and "
        "a step; all layers are overlaid (first hidden = dark, output = yellow) as in their "
        "figures. A fair A/B changes one setting with the same seed."
    )

    #: emitted with the remaining runs after Unpin or Clear (the caller's list is also updated)
    pinnedChanged = Signal(list)
    #: the empty page's "Pin the current run" button
    pinRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs: list[RunModel] = []
        self._color_of: dict[int, QColor] = {}
        self._n_colors = 0
        lay: QVBoxLayout = self.layout()  # type: ignore[assignment]
        lay.removeWidget(self.canvas)

        # ---------------------------------------------------------------- left: runs and tables
        left = QWidget(self)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(6, 4, 4, 4)
        ll.addWidget(QLabel("<b>Pinned runs</b>", left))
        self.run_list = QListWidget(left)
        self.run_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.run_list.setToolTip("Select runs and press Unpin to remove them from the comparison")
        self.run_list.setMaximumHeight(150)
        ll.addWidget(self.run_list)
        row = QHBoxLayout()
        self.btn_unpin = QPushButton("Unpin selected", left)
        self.btn_unpin.setToolTip("Remove the selected runs from the comparison")
        self.btn_clear = QPushButton("Clear all…", left)
        self.btn_clear.setToolTip("Remove every pinned run (asks first)")
        self.btn_unpin.clicked.connect(self.unpin_selected)
        self.btn_clear.clicked.connect(self.clear_all)
        self.run_list.itemSelectionChanged.connect(
            lambda: self.btn_unpin.setEnabled(bool(self.run_list.selectedItems()))
        )
        row.addWidget(self.btn_unpin)
        row.addWidget(self.btn_clear)
        row.addStretch(1)
        ll.addLayout(row)

        ll.addWidget(QLabel("<b>Final metrics</b> (last evaluation)", left))
        self.metrics = QTableWidget(0, 7, left)
        self.metrics.setHorizontalHeaderLabels(
            ["run", "steps", "train acc", "val acc", "train loss", "val loss", "val err %"]
        )
        self._table_style(self.metrics)
        ll.addWidget(self.metrics)

        self.t1_title = QLabel(
            "<b>Validation error %</b> by hidden activation (rows) × initialisation (columns), "
            "laid out as Glorot &amp; Bengio's (2010) Table 1 of test errors",
            left,
        )
        self.t1_title.setWordWrap(True)
        ll.addWidget(self.t1_title)
        self.table1 = QTableWidget(0, 0, left)
        self._table_style(self.table1)
        self.table1.verticalHeader().show()
        ll.addWidget(self.table1)
        ll.addStretch(1)

        # ---------------------------------------------------------------- right: plots and A/B
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.setChildrenCollapsible(False)
        self.canvas.setParent(right)
        right.addWidget(self.canvas)
        t = theme.current()
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
        right.addWidget(ab)
        right.setStretchFactor(0, 1)
        right.setStretchFactor(1, 1)
        right.setSizes([450, 550])
        # neither half may crush the other (the A/B half's plots would take it all)
        self.canvas.setMinimumHeight(theme.px(170))
        self.ab_canvas.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.ab_canvas.setMinimumHeight(theme.px(170))

        self.body = QSplitter(Qt.Orientation.Horizontal, self)
        self.body.setChildrenCollapsible(False)
        self.body.addWidget(left)
        self.body.addWidget(right)
        self.body.setStretchFactor(0, 0)
        self.body.setStretchFactor(1, 1)
        left.setMinimumWidth(theme.px(260))  # the tables readable at 1280x720
        self.body.setSizes([470, 1000])
        lay.insertWidget(2, self.body, 1)
        self.right = right

        # nothing pinned: what Compare is for, and a button to pin the run on screen
        self.empty_page = QWidget(self)
        el = QVBoxLayout(self.empty_page)
        lay.removeWidget(self.empty)
        self.empty.setParent(self.empty_page)
        self.empty.setText(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        el.setContentsMargins(theme.px(60), 0, theme.px(60), 0)
        self.pin_btn = QPushButton("Pin the current run (Ctrl+P)", self.empty_page)
        self.pin_btn.clicked.connect(self.pinRequested)
        el.addStretch(1)
        el.addWidget(self.empty)  # (no alignment: a wrapped label then gets its height)
        el.addWidget(self.pin_btn, 0, Qt.AlignmentFlag.AlignHCenter)
        el.addStretch(1)
        lay.addWidget(self.empty_page, 1)
        self.canvas.setBackground(t.background)
        self.ab_canvas.setBackground(t.background)

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
        self._rebuild()

    # ------------------------------------------------------------------ the contract
    def set_runs(self, runs: list[RunModel]) -> None:
        """Show ``runs`` (pinned, frozen). Unpin and Clear emit :attr:`pinnedChanged` with the
        runs left (the window keeps its list from it)."""
        self.runs = list(runs)
        self._rebuild()

    def set_model(self, model: RunModel | None) -> None:
        """Compare draws the pinned runs, not the live one: the model is only remembered."""
        self.model = model

    def refresh(self, row: int | None = None) -> None:
        self.row = row  # pinned runs are frozen: nothing to redraw per frame

    def build(self, model: RunModel) -> None:  # the pinned runs are drawn by set_runs
        pass

    def draw(self, model: RunModel, row: int | None) -> None:
        pass

    def figure_widget(self) -> QWidget:
        return self.body if self.runs else self.empty_page

    def retheme(self) -> None:
        t = theme.current()
        self.canvas.setBackground(t.background)
        self.ab_canvas.setBackground(t.background)
        self._rebuild()

    # ------------------------------------------------------------------ user actions
    def unpin_selected(self) -> None:
        rows = sorted({self.run_list.row(it) for it in self.run_list.selectedItems()})
        if not rows:
            return
        gone = {id(self.runs[r]) for r in rows}
        self._remove(gone)

    def clear_all(self) -> None:
        if not self.runs:
            return
        ans = QMessageBox.question(
            self,
            "Clear all pinned runs",
            f"Unpin all {len(self.runs)} runs? Runs that were never saved cannot be pinned again.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if ans == QMessageBox.StandardButton.Yes:
            self._remove({id(r) for r in self.runs})

    def _remove(self, ids: set[int]) -> None:
        self.runs = [r for r in self.runs if id(r) not in ids]
        self._rebuild()
        self.pinnedChanged.emit(list(self.runs))

    # ------------------------------------------------------------------ drawing
    def color(self, run: RunModel) -> QColor:
        """The run's colour, stable while it stays pinned."""
        key = id(run)
        if key not in self._color_of:
            self._color_of[key] = QColor(RUN_COLORS[self._n_colors % len(RUN_COLORS)])
            self._n_colors += 1
        return self._color_of[key]

    @staticmethod
    def label(run: RunModel) -> str:
        """The run's name and what tells it apart in a legend: hidden activation and init."""
        return (
            f"{run.name} ({hidden_setting(run.spec, 'activation')}, "
            f"{hidden_setting(run.spec, 'init')})"
        )

    def _rebuild(self) -> None:
        has = bool(self.runs)
        self.body.setVisible(has)
        self.empty_page.setVisible(not has)
        self.empty.setVisible(not has)
        live = {id(r) for r in self.runs}
        self._color_of = {k: v for k, v in self._color_of.items() if k in live}
        if not self._color_of:
            self._n_colors = 0
        for run in self.runs:
            self.color(run)
        self._fill_run_list()
        self._fill_metrics()
        self._fill_table1()
        self._draw_curves()
        self._fill_ab_choices()
        self._draw_ab()

    def _fill_run_list(self) -> None:
        self.run_list.clear()
        for run in self.runs:
            it = QListWidgetItem(_swatch(self.color(run)), run.describe())
            it.setToolTip(run.describe())
            self.run_list.addItem(it)
        self.btn_unpin.setEnabled(False)
        self.btn_clear.setEnabled(bool(self.runs))

    def _fill_metrics(self) -> None:
        m = self.metrics
        m.setRowCount(len(self.runs))
        for i, run in enumerate(self.runs):
            f = run.final_metrics()
            name = _item(run.name, run.describe(), Qt.AlignmentFlag.AlignLeft)
            name.setIcon(_swatch(self.color(run)))
            m.setItem(i, 0, name)
            err = error_pct(run)
            cells = [
                f"{run_steps(run):,}",
                _pct(f["train_acc"]),
                _pct(f["val_acc"]),
                _loss(f["train_loss"]),
                _loss(f["val_loss"]),
                f"{err:.1f}" if math.isfinite(err) else "–",
            ]
            for j, text in enumerate(cells, start=1):
                m.setItem(i, j, _item(text))
        m.resizeColumnsToContents()
        hh = m.horizontalHeader()
        numbers = sum(m.columnWidth(j) for j in range(1, m.columnCount()))
        room = m.viewport().width() - numbers
        if room >= theme.px(120):
            hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        else:  # narrow: the names keep a readable width and the table scrolls
            hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            m.setColumnWidth(0, min(m.columnWidth(0), theme.px(140)))
        self._fit_height(m)

    def _fill_table1(self) -> None:
        acts, inits, cells = table1(self.runs)
        t = self.table1
        t.clear()
        t.setRowCount(len(acts))
        t.setColumnCount(len(inits))
        t.setVerticalHeaderLabels(acts)
        t.setHorizontalHeaderLabels(inits)
        errors = {k: error_pct(r) for k, r in cells.items()}
        finite = [e for e in errors.values() if math.isfinite(e)]
        best = min(finite) if finite else None
        for (act, init), run in cells.items():
            err = errors[(act, init)]
            sharing = [
                r.name
                for r in self.runs
                if (hidden_setting(r.spec, "activation"), hidden_setting(r.spec, "init"))
                == (act, init)
            ]
            tip = f"{run.name}: validation error {err:.2f}% at step {run_steps(run):,}"
            if not math.isfinite(err):
                tip = f"{run.name}: no validation accuracy (no validation set, or not evaluated)"
            if len(sharing) > 1:
                tip += f"\n(the latest of {len(sharing)} runs here: {', '.join(sharing)})"
            text = f"{err:.1f}" if math.isfinite(err) else "–"
            it = _item(text, tip, Qt.AlignmentFlag.AlignCenter)
            it.setForeground(QBrush(self.color(run)))
            if best is not None and err == best:
                f = QFont(it.font())
                f.setBold(True)
                it.setFont(f)
            t.setItem(acts.index(act), inits.index(init), it)
        t.resizeColumnsToContents()
        self._fit_height(t)

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

    # ------------------------------------------------------------------ A/B
    def _fill_ab_choices(self) -> None:
        prev_a = self._run_at(self.combo_a)
        prev_b = self._run_at(self.combo_b)
        for combo in (self.combo_a, self.combo_b):
            combo.blockSignals(True)
            combo.clear()
            for run in self.runs:
                combo.addItem(_swatch(self.color(run)), self.label(run))
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

    # ------------------------------------------------------------------ File > Open Sweep
    def show_sweep(self, panel: QWidget | None) -> None:
        """Show a loaded sweep's panel (its table and trials, :mod:`gradlab.app.sweep_view`)
        above the plots, in place of the previous one; None removes it. The sweep's curves are
        pinned runs like any other."""
        old = getattr(self, "sweep_panel", None)
        if old is not None:
            self.layout().removeWidget(old)
            old.hide()
            old.deleteLater()
        self.sweep_panel = panel
        if panel is not None:
            lay = self.layout()
            lay.insertWidget(lay.indexOf(self.body), panel)

    @staticmethod
    def _fit_height(table: QTableWidget) -> None:
        """Make a table as tall as its rows (up to 12), so no blank block follows them."""
        rows = min(table.rowCount(), 12)
        header = table.horizontalHeader()
        h = max(header.height(), header.sizeHint().height()) + 2 * table.frameWidth() + 2
        h += sum(table.rowHeight(i) for i in range(rows))
        wide = sum(table.columnWidth(j) for j in range(table.columnCount()))
        if wide > table.viewport().width() or table.horizontalScrollBar().isVisible():
            h += table.horizontalScrollBar().sizeHint().height()
        table.setFixedHeight(max(h, 40))

    @staticmethod
    def _table_style(table: QTableWidget) -> None:
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().setDefaultSectionSize(round(theme.line_height(9) * 1.6))
        table.horizontalHeader().setHighlightSections(False)


__all__ = ["CompareView", "error_pct", "hidden_setting", "spec_diff", "table1"]
