"""When the window's views build their plots (a mixin of :class:`~gradlab.app.window.MainWindow`).

Building a plot costs ~20 ms and the window has ~50 of them: built all at once before the window
showed, they made it appear 3-4 s after launch. Now

* the views are *lazy* (:attr:`BaseView.lazy`): a view builds its plots when it is first shown,
  and not before the window has been painted once (:attr:`ViewBuilding.views_ready`), so the
  window appears at once and the visible view fills in right after;
* the views not on screen are then built in idle time, one plot per turn of the event loop
  (:meth:`BaseView.prebuild`), and drawn once when built (a turn of its own), so a tab's first
  visit only updates and paints it, a plot a turn (:mod:`gradlab.app.views.reveal`;
  ``bench/ui.py --tabs``).

A new run with another shape (a preset change) rebuilds the visible view at once and the others
in idle time again.

When the views are built (at start, after a new run, a theme or a zoom), the garbage is collected
once and what is left is frozen (:func:`settle_garbage`): Python's full garbage collection
otherwise walked the window's ~90,000 objects (Qt wrappers, plot items) every ~20 s while a run
trained, a 60-90 ms stall each time (bench/README.md); frozen, it walks the few hundred objects
made since (~1 ms).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QEvent, QTimer

from gradlab.app.views import BaseView, DashboardView

#: ms between two steps of building a hidden view (a step creates one plot, ~20 ms)
PREBUILD_MS = 40


class ViewBuilding:
    """Lazy views, built after the first paint and in idle time (see the module docstring)."""

    #: False until the window is first painted: the views build their plots after that
    views_ready = False

    def event(self, event) -> bool:
        handled = super().event(event)
        if not self.views_ready and event.type() == QEvent.Type.UpdateRequest:
            QTimer.singleShot(0, self._views_now_ready)  # painted once: now the plots
        return handled

    def _views_now_ready(self) -> None:
        if self.views_ready or self._shut:
            return
        self.views_ready = True
        self._drawn = (None, None, None, None)
        self._tick(force=True)
        self._start_prebuild()

    def _start_prebuild(self) -> None:
        """Build the hidden views' plots in idle time, one plot a turn (a tab's first visit
        then only paints it)."""
        if self.views_ready and not self._shut:
            self._prebuild_timer.start()

    def _hidden_views(self) -> list[BaseView]:
        current = self.tabs.currentWidget()
        out = [v for v in self.views if v is not current and not isinstance(v, DashboardView)]
        for dash in (v for v in self.views if isinstance(v, DashboardView)):
            out += [p for p in dash.parts if dash is not current or p.isHidden()]
        return out

    def _prebuild(self) -> None:
        for view in self._hidden_views():
            if not view.prebuild():
                return  # one step a turn
        self._prebuild_timer.stop()  # all built
        settle_garbage()


def settle_garbage() -> None:
    """Collect everything (the frozen objects too: a run replaced may have left its plots as
    garbage) and freeze what survives, so later full collections skip it. The window undoes it
    when it shuts down (:func:`thaw_garbage`)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def thaw_garbage() -> None:
    """Make every object collectable again (a window shut down leaves garbage to collect)."""
    gc.unfreeze()

