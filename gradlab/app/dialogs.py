"""Small dialogs of the window: the run's health events, About, the keyboard shortcuts; and the
QApplication the window runs in."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gradlab import __version__
from gradlab._resources import resource_path
from gradlab.app import health_ui, theme
from gradlab.experiment import health


class EventsDialog(QDialog):
    """The run's health (Ctrl+H): the worst verdict standing at the step the views show, then
    every event with its step, severity, verdict, layers, the number against its line and its
    source; the selected event's full sentence below. Double-click jumps the timeline there.

    Every text comes from the run's history (perhaps a session file): shown through
    :func:`gradlab.safeio.printable`, as plain text."""

    stepChosen = Signal(object)
    COLUMNS = ("step", "severity", "verdict", "layers", "value vs line", "source")

    def __init__(self, events: list[dict], parent: QWidget | None = None, step: int | None = None):
        super().__init__(parent)
        self.setWindowTitle("Health of the run")
        self.resize(900, 520)
        self.events = [dict(e) for e in events]
        self.verdict = health.verdict(self.events, step)
        standing = {health_ui.event_key(e) for e in health.active_events(self.events, step)}
        lay = QVBoxLayout(self)
        t = theme.current()
        v = self.verdict
        when = f" at step {step:,}" if step is not None else ""
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        color = health_ui.severity_color(v.severity, t)
        head = (
            f"<span style='color:{color}; font-size: 13pt'><b>"
            f"{html.escape(health_ui.button_text(v))}</b></span>{when}"
        )
        if v.healthy:
            body = (
                "Nothing is wrong: no signal has crossed its line"
                + (" (earlier verdicts below have ended)." if self.events else ".")
            )
        else:
            body = health_ui.verdict_html(v, step, sentence=False)
        self.summary.setText(f"{head}<br>{body}")
        lay.addWidget(self.summary)
        if not self.events:
            lay.addWidget(QLabel("No events: nothing went wrong in this run.", self))
        self.table = QTableWidget(len(self.events), len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        colors = {"error": t.error, "warning": t.warning}
        for i, ev in enumerate(self.events):
            kind = str(ev.get("kind", ""))
            sev = str(ev.get("severity", ""))
            on = health_ui.event_key(ev) in standing
            row = (
                f"{int(ev.get('step', 0)):,}",
                health_ui.clean(sev, 20) + (" · standing" if on else ""),
                health_ui.clean(health_ui.label_of(kind), 60),
                health_ui.layers_of(ev),
                health_ui.value_vs_line(ev),
                health_ui.clean(ev.get("source", ""), 120),
            )
            for j, value in enumerate(row):
                item = QTableWidgetItem(value)
                item.setToolTip(health_ui.rich(ev.get("message", "")))
                if sev in colors and j in (1, 2):
                    item.setForeground(QColor(colors[sev]))
                if on:
                    f = item.font()
                    f.setBold(True)
                    item.setFont(f)
                self.table.setItem(i, j, item)
        self.table.cellDoubleClicked.connect(
            lambda r, _c: (self.stepChosen.emit(self.events[r].get("step", 0)), self.accept())
        )
        layers = self.COLUMNS.index("layers")
        self.table.resizeColumnsToContents()
        if self.table.columnWidth(layers) > 200:  # long lists stay readable in the tooltip
            hh.setSectionResizeMode(layers, QHeaderView.ResizeMode.Interactive)
            self.table.setColumnWidth(layers, 200)
        lay.addWidget(self.table, 1)
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        self.detail.setMaximumHeight(96)
        self.detail.setPlaceholderText("Select an event to read its sentence.")
        lay.addWidget(self.detail)
        self.table.currentCellChanged.connect(lambda r, *_: self._show(r))
        first = next(
            (i for i, e in enumerate(self.events) if health_ui.event_key(e) in standing), None
        )
        if first is None and self.events:
            first = len(self.events) - 1
        if first is not None:
            self.table.selectRow(first)
            self._show(first)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.events):
            return
        ev = self.events[row]
        self.detail.setPlainText(
            f"Step {int(ev.get('step', 0)):,}: {health_ui.clean(ev.get('message', ''), 4000)}"
        )

    def row_texts(self) -> list[list[str]]:
        """The table as text (what a user reads)."""
        return [
            [self.table.item(i, j).text() for j in range(self.table.columnCount())]
            for i in range(self.table.rowCount())
        ]


def main_window_app() -> QApplication:
    """The QApplication (created once)."""
    app = QApplication.instance() or QApplication([])
    app.setWindowIcon(QIcon(str(resource_path("icons", "gradlab.svg"))))
    app.setApplicationName("GradLab")
    app.setOrganizationName("GradLab")
    app.setApplicationVersion(__version__)
    return app


def show_about(parent: QWidget) -> None:
    QMessageBox.about(
        parent,
        "About GradLab",
        f"<h3>GradLab {__version__}</h3><p>A lab for seeing why deep networks are hard to "
        "train: layer-wise activations and gradients, live.</p><p>After Glorot &amp; "
        "Bengio (2010), CS231n lecture 6 and Nielsen's <i>Neural Networks and Deep "
        "Learning</i>, chapter 5.</p>",
    )


def show_shortcuts(parent: QWidget, actions) -> None:
    rows = [
        (a.text().replace("&", ""), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
        for a in actions
    ]
    text = "".join(f"<tr><td>{n}</td><td><b>{k}</b></td></tr>" for n, k in rows)
    QMessageBox.information(parent, "Keyboard shortcuts", f"<table>{text}</table>")
