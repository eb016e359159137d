"""The base of every live view.

A view is handed a :class:`~gradlab.app.model.RunModel` with :meth:`BaseView.set_model` (it
creates its plot items for it, once per run: one curve per layer...) and redrawn with
:meth:`BaseView.refresh`, which only updates those items with ``setData``/``setImage``. The
window calls ``refresh`` from its ~30 Hz timer for the visible view only, when the history changed
or the timeline moved; ``refresh(row)`` draws probe row ``row`` of the history (None: the newest).

A *lazy* view (the window's tabs) builds its items only when it is first shown: the window
appears without building the ~50 plots of views nobody looks at yet, and a new run with a new
shape rebuilds only what is on screen. A view used alone (tests, figure export) builds at once.
A lazy view built in idle time (:meth:`BaseView.prebuild`) is drawn there once too, so its first
visit only updates it; and a lazy view that is shown paints its plots one a turn
(:mod:`gradlab.app.views.reveal`), so no turn of the event loop paints a whole canvas.

Performance rules (DESIGN.md budgets; measured by bench/ui.py): never auto-range per frame (fix
ranges, or re-range on demand / when the data escapes), no item creation per frame, 1-px pens,
antialiasing off, ``skipFiniteCheck`` where the data is finite.

Every view carries a short note, "what am I looking at / what healthy looks like", shown in a
collapsible bar above the plots, and a warning line (hidden when empty) for what the plots
cannot say themselves.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
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
from gradlab.app.views import reveal
from gradlab.app.views.common import (
    AXIS_WIDTH,
    no_index,
    refit_labels,
    set_title,
    style_axes,
    title_spans_plot,
)
from gradlab.app.views.reveal import revealer


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
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
        #: build only when shown (the window's tabs); False: build at set_model
        self.lazy = False
        self._stale = False  # the items do not belong to self.model yet
        self._has_items = False
        self._steps: Iterator[None] | None = None  # a build under way in idle time
        self._predraw = False  # built in idle time, not drawn yet
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.help = HelpBar(self.summary, self.details, self)
        lay.addWidget(self.help)
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(6, 0, 6, 0)
        lay.addLayout(self.controls)
        self.warning = QLabel(self)
        self.warning.setWordWrap(True)
        self.warning.setContentsMargins(8, 2, 8, 2)
        self.warning.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.warning.hide()
        lay.addWidget(self.warning)
        self.canvas = pg.GraphicsLayoutWidget(self)
        no_index(self.canvas)
        self.canvas.ci.setContentsMargins(4, 4, 4, 4)
        self.canvas.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        lay.addWidget(self.canvas, 1)
        self.empty = QLabel("No run yet.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()
        lay.addWidget(self.empty)

    # ------------------------------------------------------------------ the contract
    def set_model(self, model: RunModel | None) -> None:
        """Adopt a run (or none): create this view's items for it (a lazy view: when shown, or
        step by step in idle time, :meth:`prebuild`)."""
        self.model = model
        self._stale = True
        self._steps = None  # a build in progress is for the previous run: dropped
        self._predraw = False
        if self._can_build():
            self._adopt_now()

    def refresh(self, row: int | None = None) -> None:
        """Redraw for probe row ``row`` of the history (None: the newest)."""
        self.row = row
        if self.model is None:
            return
        if self._stale:
            if not self._can_build():
                return
            self._adopt_now(draw=False)
        self.draw(self.model, row)

    def build(self, model: RunModel):
        """Create the items for ``model``; may be a generator that yields between plots (each
        costs ~20 ms), so that a hidden view can be built in idle time without a stall."""
        raise NotImplementedError

    def draw(self, model: RunModel, row: int | None) -> None:
        raise NotImplementedError

    def adopt_steps(self, model: RunModel | None) -> Iterator[None]:
        """The steps of creating the items for ``model`` (the default: clear the canvas and
        build)."""
        self.canvas.clear()
        self._has_items = False
        if model is not None:
            steps = self.build(model)
            if inspect.isgenerator(steps):
                yield from steps
            self._has_items = True

    def adopt(self, model: RunModel | None) -> None:
        for _ in self.adopt_steps(model):
            pass

    @property
    def built(self) -> bool:
        """Whether the items for the current model exist."""
        return self.model is not None and not self._stale

    def ensure_built(self) -> None:
        """Build now if the items are stale, shown or not (export, tests, pre-building); every
        item painted (none waiting for its turn: an exported figure is never half drawn)."""
        if self.model is not None and self._stale:
            self._adopt_now()
        revealer().finish(self)

    def prebuild(self) -> bool:
        """One step of building a hidden view's items in idle time (the window calls it between
        frames); True when there is nothing (left) to build."""
        if self._predraw and not self._stale and self.model is not None:
            # built: drawn once while hidden, so a first visit does not pay for the first
            # draw (new symbols, ranges fitted: 20-45 ms), only for an update
            self._predraw = False
            if not self.isVisible() and reveal.enabled:
                self.draw(self.model, self.row)
            return False  # (a turn of its own)
        if not self._stale or self.model is None or not self.lazy:
            return True
        if self._steps is None:
            self._steps = self.adopt_steps(self.model)
        try:
            next(self._steps)
            return False
        except StopIteration:
            self._steps = None
            self._stale = False
            self._predraw = True
            return False

    def _can_build(self) -> bool:
        if not self.lazy:
            return True
        window = self.window()
        return self.isVisible() and getattr(window, "views_ready", True)

    def _adopt_now(self, draw: bool = True) -> None:
        steps, self._steps = self._steps, None
        if steps is None:
            self.adopt(self.model)
        else:
            for _ in steps:  # finish a build begun in idle time
                pass
        self._stale = False
        if draw and self.model is not None:
            self.draw(self.model, self.row)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and self.model is not None:
            self.refresh(self.row)
        refit_labels(self.canvas)
        if self.lazy and self._has_items and not event.spontaneous():
            # a tab switched to: its plots are painted one a turn (reveal.py)
            revealer().stage(self, self.canvas_items())

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        revealer().finish(self)  # (hidden: nothing to paint, every item back at once)

    def canvas_items(self) -> list:
        """The canvas's top-level items (plots, labels), row by row."""
        cells = self.canvas.ci.items
        return sorted(cells, key=lambda item: min(cells[item], default=(0, 0)))

    @property
    def revealed(self) -> bool:
        """Whether every plot of the view is painted (not waiting for its turn, reveal.py)."""
        return not revealer().pending(self)

    def figure_widget(self) -> QWidget:
        """The widget an exported figure shows (by default the plot canvas)."""
        self.ensure_built()
        return self.canvas

    def retheme(self) -> None:
        """Re-apply colours and sizes after a theme or zoom change (default: rebuild)."""
        self.canvas.setBackground(theme.current().background)
        if self.model is not None:
            self._has_items = False  # a rebuild, not a reuse
            self.set_model(self.model)

    def set_warning(self, text: str) -> None:
        """Show ``text`` (rich text) in the warning line above the plots ("": hide it)."""
        if text == self.warning.text() and self.warning.isVisible() == bool(text):
            return
        self.warning.setText(text)
        self.warning.setStyleSheet(f"color: {theme.current().warning};")
        self.warning.setVisible(bool(text))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def style_plot(plot: pg.PlotItem, title: str = "", left: str = "", bottom: str = "") -> None:
        title_spans_plot(plot)
        if title:
            set_title(plot, title)
        if left:
            plot.setLabel("left", left)
        if bottom:
            plot.setLabel("bottom", bottom)
        style_axes(plot, AXIS_WIDTH)
        plot.hideButtons()

    @staticmethod
    def resolve_row(model: RunModel, row: int | None) -> int | None:
        """The probe row to draw: ``row`` clipped to the history, or the newest; None if empty."""
        n = model.history.n_probes
        if n == 0:
            return None
        return n - 1 if row is None else max(0, min(row, n - 1))
