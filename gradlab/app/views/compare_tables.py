"""Compare's left column: the pinned runs' list, the final-metrics table and Glorot & Bengio's
(2010) Table 1 layout (rows = hidden activation, columns = initialisation, cells = validation
error %). A mixin of :class:`~gradlab.app.views.compare.CompareView`: it reads the view's
``runs`` and ``color``."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.figures.numbers import error_pct, hidden_setting, run_steps, table1


def swatch_icon(color: QColor, size: int = 12) -> QIcon:
    """A run's colour as a small square icon (its list entry, table row and A/B choice)."""
    pm = QPixmap(size, size)
    pm.fill(color)
    return QIcon(pm)


def table_item(text: str, tip: str = "", align=Qt.AlignmentFlag.AlignRight) -> QTableWidgetItem:
    """A read-only table cell (selectable), aligned, with its tooltip (Compare, Open Sweep)."""
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


class CompareTables:
    """The run list and the two tables of :class:`CompareView` (built and filled)."""

    def _build_left(self) -> QWidget:
        """The left column: pinned runs (Unpin, Clear), final metrics, Table 1."""
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
        return left

    def _fill_run_list(self) -> None:
        self.run_list.clear()
        for run in self.runs:
            it = QListWidgetItem(swatch_icon(self.color(run)), run.describe())
            it.setToolTip(run.describe())
            self.run_list.addItem(it)
        self.btn_unpin.setEnabled(False)
        self.btn_clear.setEnabled(bool(self.runs))

    def _fill_metrics(self) -> None:
        m = self.metrics
        m.setRowCount(len(self.runs))
        for i, run in enumerate(self.runs):
            f = run.final_metrics()
            name = table_item(run.name, run.describe(), Qt.AlignmentFlag.AlignLeft)
            name.setIcon(swatch_icon(self.color(run)))
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
                m.setItem(i, j, table_item(text))
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
            it = table_item(text, tip, Qt.AlignmentFlag.AlignCenter)
            it.setForeground(QBrush(self.color(run)))
            if best is not None and err == best:
                f = QFont(it.font())
                f.setBold(True)
                it.setFont(f)
            t.setItem(acts.index(act), inits.index(init), it)
        t.resizeColumnsToContents()
        self._fit_height(t)

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
