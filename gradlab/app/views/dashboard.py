"""The Dashboard: every run view at once, in a grid, live.

Six views redrawn in the same frame would stall the window (a new probe changes all of them, and
painting them all takes ~200 ms on a 5 x 1000 net), so the dashboard redraws them in turns within
a frame budget: each frame refreshes the views whose turn it is until ~12 ms are spent, and a
zero-delay timer drains the rest between frames. Every view is at most a few frames behind, and
the window stays responsive (DESIGN.md: no stall over 50 ms).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGridLayout, QWidget

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.boundary import BoundaryView
from gradlab.app.views.distributions import DistributionsView
from gradlab.app.views.heatmaps import HeatmapsView
from gradlab.app.views.overtime import OverTimeView
from gradlab.app.views.profile import ProfileView
from gradlab.app.views.training import TrainingView

#: seconds of redrawing per turn before the rest waits for the next turn
FRAME_BUDGET = 0.012
#: a refresh longer than this redrew something (a cache hit returns in well under 1 ms)
REDREW = 0.002


class DashboardView(BaseView):
    key = "dashboard"
    title = "Dashboard"
    summary = (
        "<b>Dashboard</b>: every view at once — distributions, layer profile, training curves, "
        "over time, heatmaps and (for 2-D data) the decision boundary."
    )
    details = (
        "Each panel is the full view of its own tab (with its controls and notes there). While "
        "training, the panels redraw in turns, so a busy frame never freezes the window; each "
        "is at most a few frames behind."
    )
    PARTS = (DistributionsView, ProfileView, TrainingView, OverTimeView, HeatmapsView,
             BoundaryView)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas.hide()
        self.grid_host = QWidget(self)
        grid = QGridLayout(self.grid_host)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(4)
        self.parts: list[BaseView] = []
        for i, cls in enumerate(self.PARTS):
            view = cls(self.grid_host)
            view.help.hide()  # the notes live in each view's own tab
            grid.addWidget(view, i // 3, i % 3)
            self.parts.append(view)
        self.layout().insertWidget(2, self.grid_host, 1)
        self._pending: list[BaseView] = []
        self._next = 0  # whose turn it is first
        self._drain = QTimer(self)
        self._drain.setSingleShot(True)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._draw_some)

    def set_model(self, model: RunModel | None) -> None:
        self.model = model
        self._pending = []
        for view in self.parts:
            view.set_model(model)

    def refresh(self, row: int | None = None) -> None:
        self.row = row
        if self.model is None:
            return
        # everyone is due again; start with whoever's turn it is (round robin, so under a
        # steady stream of frames every view still gets its turn)
        n = len(self.parts)
        self._pending = [self.parts[(self._next + k) % n] for k in range(n)]
        self._draw_some()

    def _draw_some(self) -> None:
        t0 = time.perf_counter()
        while self._pending:
            view = self._pending.pop(0)
            t1 = time.perf_counter()
            view.refresh(self.row)
            self._next = (self.parts.index(view) + 1) % len(self.parts)
            now = time.perf_counter()
            # one real redraw per turn (its paint follows, ~10-40 ms); views with nothing new
            # return at once and let the next one have the turn
            if now - t1 > REDREW or now - t0 > FRAME_BUDGET:
                break
        if self._pending:
            self._drain.start()

    def build(self, model: RunModel) -> None:  # the parts build themselves
        pass

    def draw(self, model: RunModel, row: int | None) -> None:
        pass

    def figure_widget(self) -> QWidget:
        return self.grid_host

    def retheme(self) -> None:
        for view in self.parts:
            view.retheme()
