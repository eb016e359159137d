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

The view is assembled from three mixins, one per part: :mod:`.compare_tables` (the run list,
final metrics and Table 1), :mod:`.compare_curves` (loss and speed of learning) and
:mod:`.compare_ab` (the A/B histograms); the settings diff is :mod:`.compare_diff`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.compare_ab import AB_QUANTITIES, CompareAB
from gradlab.app.views.compare_curves import CompareCurves, log_ticks
from gradlab.app.views.compare_diff import (
    NOT_SETTINGS,
    format_value,
    group_diffs,
    run_diff,
    spec_diff,
)
from gradlab.app.views.compare_tables import CompareTables
from gradlab.figures.numbers import error_pct, hidden_setting, table1

#: one colour per pinned run (Tableau 10), kept by the run for as long as it stays pinned
RUN_COLORS = theme.CATEGORICAL

EMPTY_TEXT = (
    "Nothing pinned yet. Pin this run with Ctrl+P, change one setting (the initialisation, say), "
    "press Reset and run again, then pin that run too: Compare shows their losses, speeds of "
    "learning and histograms side by side. Saved sessions: File > Compare with Session…"
)


# ============================================================================ the view
class CompareView(CompareTables, CompareCurves, CompareAB, BaseView):
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
        left = self._build_left()

        # ---------------------------------------------------------------- right: plots and A/B
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.setChildrenCollapsible(False)
        self.canvas.setParent(right)
        right.addWidget(self.canvas)
        t = theme.current()
        self._build_curves()

        ab = self._build_ab(right)
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


__all__ = [
    "AB_QUANTITIES",
    "NOT_SETTINGS",
    "CompareView",
    "error_pct",
    "format_value",
    "group_diffs",
    "hidden_setting",
    "log_ticks",
    "run_diff",
    "spec_diff",
    "table1",
]
