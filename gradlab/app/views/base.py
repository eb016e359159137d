"""The base of every live view.

A view is handed a :class:`~gradlab.app.model.RunModel` with :meth:`BaseView.set_model` (it
creates its plot items there, once per run: one curve per layer...) and redrawn with
:meth:`BaseView.refresh`, which only updates those items with ``setData``/``setImage``. The
window calls ``refresh`` from its ~30 Hz timer for the visible view only, when the history changed
or the timeline moved; ``refresh(row)`` draws probe row ``row`` of the history (None: the newest).

Performance rules (DESIGN.md budgets; measured by bench/ui.py): never auto-range per frame (fix
ranges, or re-range on demand / when the data escapes), no item creation per frame, 1-px pens,
antialiasing off, ``skipFiniteCheck`` where the data is finite.

Every view carries a short note, "what am I looking at / what healthy looks like", shown in a
collapsible bar above the plots.
"""

from __future__ import annotations

from typing import ClassVar

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.common import fast_grid, shrinkable


class HelpBar(QWidget):
    """A one-line summary with a toggle that unfolds the full note."""

    def __init__(self, summary: str, details: str, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.toggle = QToolButton(self)
        self.toggle.setText("?")
        self.toggle.setCheckable(True)
        self.toggle.setToolTip("What am I looking at? What does healthy look like?")
        self.toggle.setAutoRaise(True)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._summary, self._details = summary, details
        self.label.setText(summary)
        self.toggle.toggled.connect(self._show)
        lay.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.label, 1)

    def _show(self, on: bool) -> None:
        self.label.setText(f"{self._summary}<br>{self._details}" if on else self._summary)


class BaseView(QWidget):
    """Subclasses set ``key``, ``title``, ``summary``, ``details`` and implement
    :meth:`build` (items for a model) and :meth:`draw` (update them for a probe row)."""

    #: the name used by ``gradlab export --figure KEY``
    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: one line: what the view shows
    summary: ClassVar[str] = ""
    #: the longer note: how to read it, what healthy looks like, where it comes from
    details: ClassVar[str] = ""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model: RunModel | None = None
        self.row: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.help = HelpBar(self.summary, self.details, self)
        lay.addWidget(self.help)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(6, 0, 6, 0)
        lay.addLayout(self.controls)
        self.canvas = pg.GraphicsLayoutWidget(self)
        self.canvas.ci.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.canvas, 1)
        self.empty = QLabel("No run yet.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()
        lay.addWidget(self.empty)

    # ------------------------------------------------------------------ the contract
    def set_model(self, model: RunModel | None) -> None:
        """Adopt a run (or none): clear and create this view's items."""
        self.model = model
        self.canvas.clear()
        if model is not None:
            self.build(model)
        self.refresh(self.row)

    def refresh(self, row: int | None = None) -> None:
        """Redraw for probe row ``row`` of the history (None: the newest)."""
        self.row = row
        if self.model is None:
            return
        self.draw(self.model, row)

    def build(self, model: RunModel) -> None:
        raise NotImplementedError

    def draw(self, model: RunModel, row: int | None) -> None:
        raise NotImplementedError

    def figure_widget(self) -> QWidget:
        """The widget an exported figure shows (by default the plot canvas)."""
        return self.canvas

    def retheme(self) -> None:
        """Re-apply colours after a theme switch (default: rebuild from the model)."""
        self.canvas.setBackground(theme.current().background)
        if self.model is not None:
            self.set_model(self.model)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def style_plot(plot: pg.PlotItem, title: str = "", left: str = "", bottom: str = "") -> None:
        t = theme.current()
        shrinkable(plot.titleLabel)
        if title:
            plot.setTitle(title, color=t.foreground, size="10pt")
        if left:
            plot.setLabel("left", left)
        if bottom:
            plot.setLabel("bottom", bottom)
        fast_grid(plot)
        # a fixed axis width: tick labels that change length ("0.1" -> "0.001") would otherwise
        # re-lay out the whole canvas, a frame-long stall
        plot.getAxis("left").setWidth(62)
        plot.setMenuEnabled(True)
        plot.hideButtons()

    @staticmethod
    def resolve_row(model: RunModel, row: int | None) -> int | None:
        """The probe row to draw: ``row`` clipped to the history, or the newest; None if empty."""
        n = model.history.n_probes
        if n == 0:
            return None
        return n - 1 if row is None else max(0, min(row, n - 1))
