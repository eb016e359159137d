"""A newly shown view painted a plot at a time (issue 17: tab switches under 50 ms).

The first paint of a tab switched to was the longest stall of the window: Qt paints the whole
canvas in one turn of the event loop (every plot's axes, grid, curves and symbols: 30-90 ms of
the window thread's CPU for a plot tab, more while training competes for the GIL, 120-200 ms for
the Dashboard's four panels). Now a view that is shown *stages* its plots: every top-level item
of its canvas (plots, headers) is made transparent (opacity 0: Qt skips painting it and its
children; its geometry, data and visibility are untouched, so the layout does not move and the
views' own show/hide logic is unaffected), and one :class:`Revealer` for the whole window gives
them back their opacity one per :data:`STEP_MS`, so each turn repaints only that plot's
rectangle. The items keep receiving ``setData`` while transparent, so a plot shows the current
data the moment it appears. A view hidden again before it is fully revealed is revealed at once
(nothing is painted for a hidden view), and so is one whose figure is exported.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QGraphicsItem

#: False: views shown whole and drawn at the switch, step curves sent whole (the window before
#: issue 17's tab work; ``bench/ui.py --tabs-ab`` measures both in one process)
enabled = True
#: ms between two items revealed (each turn then paints one plot, ~5-15 ms of CPU; more than
#: the ~16 ms between two paints, so two reveals are not painted together)
STEP_MS = 20


class Revealer(QObject):
    """One queue of items waiting to be painted, for the whole application."""

    def __init__(self) -> None:
        super().__init__()
        self._queue: deque[tuple[object, QGraphicsItem]] = deque()
        self._timer = QTimer(self)
        self._timer.setInterval(STEP_MS)
        self._timer.timeout.connect(self._step)

    def stage(self, view, items: list[QGraphicsItem]) -> None:
        """Make ``items`` (the view's, visible) transparent and reveal them one a step."""
        if not enabled:
            return
        for item in items:
            if item.opacity() > 0 and not any(it is item for _v, it in self._queue):
                item.setOpacity(0.0)
                self._queue.append((view, item))
        if self._queue and not self._timer.isActive():
            self._timer.start()

    def pending(self, view) -> bool:
        """Whether some of ``view``'s items still wait to be revealed."""
        return any(v is view for v, _it in self._queue)

    def finish(self, view) -> None:
        """Reveal all of ``view``'s waiting items now (it was hidden: nothing is painted)."""
        keep: deque[tuple[object, QGraphicsItem]] = deque()
        for v, item in self._queue:
            if v is view:
                _show(item)
            else:
                keep.append((v, item))
        self._queue = keep

    def _step(self) -> None:
        while self._queue:
            view, item = self._queue.popleft()
            _show(item)
            if view.isVisible():
                break  # one painted item a turn (a hidden view's items cost nothing)
        if not self._queue:
            self._timer.stop()


def _show(item: QGraphicsItem) -> None:
    try:
        item.setOpacity(1.0)
    except RuntimeError:  # the item was deleted with its view (a rebuild)
        pass


_revealer: Revealer | None = None


def revealer() -> Revealer:
    """The application's revealer (created on first use, in the UI thread)."""
    global _revealer
    if _revealer is None:
        _revealer = Revealer()
    return _revealer
