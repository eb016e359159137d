"""Small dialogs of the window: the run's health events, About, the keyboard shortcuts; and the
QApplication the window runs in."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gradlab import __version__
from gradlab._resources import resource_path


class EventsDialog(QDialog):
    """The run's events: step, severity, layer, message; double-click jumps the timeline."""

    stepChosen = Signal(object)

    def __init__(self, events: list[dict], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Health events")
        self.resize(820, 420)
        lay = QVBoxLayout(self)
        if not events:
            lay.addWidget(QLabel("No events: nothing went wrong in this run.", self))
        self.table = QTableWidget(len(events), 4, self)
        self.table.setHorizontalHeaderLabels(["step", "severity", "layer", "message"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for i, ev in enumerate(events):
            for j, value in enumerate(
                (f"{ev['step']:,}", ev["severity"], ev["layer"] or "", ev["message"])
            ):
                item = QTableWidgetItem(value)
                item.setToolTip(ev["message"])
                self.table.setItem(i, j, item)
        self.table.cellDoubleClicked.connect(
            lambda r, _c: (self.stepChosen.emit(events[r]["step"]), self.accept())
        )
        lay.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


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
