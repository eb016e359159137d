"""The Dashboard: the main views at once, in a 2 x 2 grid, live.

Several views redrawn in the same frame would stall the window (a new probe changes all of them,
and repainting them all took ~200 ms on a 5 x 1000 net), so the dashboard redraws them in turns:
each turn refreshes one view with something new (views with nothing new return at once), and a
zero-delay timer gives the next view its turn between frames; and each panel redraws at most
``PART_RATE`` times a second, so the overview leaves the training thread its share of the GIL.
The timeline's row is always honoured at once, and what the rate held back is drawn when the
data stops changing.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QComboBox, QGridLayout, QSizePolicy, QWidget

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView
from gradlab.app.views.boundary import BoundaryView
from gradlab.app.views.distributions import DistributionsView
from gradlab.app.views.overtime import OverTimeView
from gradlab.app.views.profile import ProfileView
from gradlab.app.views.training import TrainingView

#: seconds of redrawing per turn before the rest waits for the next turn
FRAME_BUDGET = 0.012
#: a refresh longer than this redrew something (a cache hit returns in well under 1 ms)
REDREW = 0.002
#: redraws per second of each Dashboard panel: an overview needs no more, and four panels
#: redrawn at 30 Hz took the GIL from a small net's training (26% of its headless speed)
PART_RATE = 10.0


#: option names too long for half a tab even without their source
SHORT = {
    "Layout: auto": "Auto layout",
    "Every layer on one plot": "Overlay",
    "One plot per layer": "Per layer",
    "Activations: mean and 2-98%": "Activations 2-98%",
    "Speed of learning ||dC/db||": "Speed of learning",
    "Update / weight ratio ||ΔW|| / ||W||": "Update / weight ratio",
    "Jacobian mean singular value": "Jacobian mean σ",
}


def short_label(text: str) -> str:
    """An option's name without its source or formula ("Activations a = f(z)" -> "Activations
    a", "Overlay (Glorot & Bengio)" -> "Overlay"): a Dashboard cell is half a tab wide."""
    for cut in (" (", " = "):
        if cut in text:
            text = text[: text.index(cut)]
    text = text.strip()
    return SHORT.get(text, text)


def shorten_items(combo: QComboBox) -> None:
    """Give a drop-down its short option names (the full ones as tooltips; items are keyed by
    their data, never by text) and a width that shows them whole."""
    longest = 4
    for i in range(combo.count()):
        full = combo.itemText(i)
        short = short_label(full)
        if short != full:
            combo.setItemText(i, short)
            combo.setItemData(i, full, Qt.ItemDataRole.ToolTipRole)
        longest = max(longest, len(short))
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(min(longest, 22))


class DashboardView(BaseView):
    key = "dashboard"
    title = "Dashboard"
    summary = (
        "<b>Dashboard</b>: look first at the <b>loss</b> (bottom left): does it fall? Then at "
        "the <b>Layer profile</b> (top right): an activation std about the same in every layer, "
        "no saturated or dead units and a speed of learning within a decade from layer to layer "
        "are healthy."
    )
    details = (
        "<b>What to look at, in order.</b> 1. <b>Loss</b> (Training, bottom left): falling fast, "
        "then slowly, is healthy; flat from the start means a learning rate too low or vanishing "
        "gradients; a loss that explodes pauses the run. 2. <b>Activation std</b> per layer "
        "(Layer profile, top right, first plot; dashed: the mean-field prediction at step 0): "
        "about constant from layer to layer is healthy; shrinking to 0 layer after layer is a "
        "dying signal (CS231n, weights &times;0.01); std near 1 with tanh, with the "
        "<b>saturated</b> bars high, is saturation (weights &times;1.0). 3. <b>Speed of "
        "learning</b> ||dC/db|| per layer (Layer profile, bottom left): layers within a decade "
        "of each other learn together; a first layer 100&times; below the last is Nielsen's "
        "vanishing gradient. 4. <b>Distributions</b> (top left): similar spreads in every hidden "
        "layer. 5. Bottom right: the <b>decision boundary</b> for 2-D data (bending to follow the "
        "points), else the activations <b>over time</b> (Glorot &amp; Bengio figs. 2-4). "
        "Each panel is the full view of its own tab, with its controls and notes there. While "
        "training, the panels redraw in turns, so a busy frame never freezes the window; each is "
        "at most a few frames behind."
    )
    #: (view, row, column): a 2 x 2 grid; the boundary and Over time share the last cell
    PARTS = (
        (DistributionsView, 0, 0),
        (ProfileView, 0, 1),
        (TrainingView, 1, 0),
        (OverTimeView, 1, 1),
        (BoundaryView, 1, 1),
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.canvas.hide()
        self.grid_host = QWidget(self)
        grid = QGridLayout(self.grid_host)
        grid.setContentsMargins(2, 2, 2, 2)
        grid.setSpacing(4)
        # two columns of equal width whatever the panels show (a note appearing while the
        # timeline is scrubbed must not shift the columns)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(1, 1)
        self.parts: list[BaseView] = []
        for cls, r, c in self.PARTS:
            view = cls(self.grid_host)
            view.lazy = True  # the hidden one of the last cell builds only if shown
            view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            view.help.hide()  # the notes live in each view's own tab
            for combo in view.findChildren(QComboBox):  # long option names must not widen a cell
                shorten_items(combo)
            grid.addWidget(view, r, c)
            self.parts.append(view)
        self.boundary = self.parts[-1]
        self.boundary.hide()
        over_time = self.parts[3]
        over_time.layout_box.setCurrentIndex(over_time.layout_box.findData("overlay"))
        self.layout().insertWidget(2, self.grid_host, 1)
        self._pending: list[BaseView] = []
        self._next = 0  # whose turn it is first
        self._drain = QTimer(self)
        self._drain.setSingleShot(True)
        self._drain.setInterval(0)
        self._drain.timeout.connect(self._draw_some)
        self._drawn_at: dict[int, float] = {}
        self._catch_up = QTimer(self)  # draws what the rate limit held back once data stops
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(int(1000 / PART_RATE) + 20)
        self._catch_up.timeout.connect(lambda: self.refresh(self.row))

    @property
    def shown(self) -> list[BaseView]:
        return [v for v in self.parts if not v.isHidden()]

    def set_model(self, model: RunModel | None) -> None:
        self.model = model
        self._stale = False
        self._pending = []
        self._drawn_at.clear()
        two_d = model is not None and model.input_dim == 2
        self.boundary.setVisible(two_d)  # for 2-D data, the boundary takes Over time's cell
        self.parts[3].setVisible(not two_d)
        for view in self.parts:
            view.set_model(model)

    def refresh(self, row: int | None = None) -> None:
        self.row = row
        if self.model is None:
            return
        # everyone is due again; start with whoever's turn it is (round robin, so under a
        # steady stream of frames every view still gets its turn)
        shown = self.shown
        n = len(shown)
        now = time.perf_counter()
        due = [shown[(self._next + k) % n] for k in range(n)]
        self._pending = [
            v for v in due if now - self._drawn_at.get(id(v), -1.0) >= 1.0 / PART_RATE
            or v.row != row
        ]
        if len(self._pending) < len(due):
            self._catch_up.start()
        self._draw_some()

    def _draw_some(self) -> None:
        t0 = time.perf_counter()
        while self._pending:
            view = self._pending.pop(0)
            t1 = time.perf_counter()
            view.refresh(self.row)
            self._drawn_at[id(view)] = t1
            shown = self.shown
            self._next = (shown.index(view) + 1) % len(shown) if view in shown else 0
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
        for view in self.shown:
            view.ensure_built()
        return self.grid_host

    @property
    def built(self) -> bool:
        return all(v.built for v in self.shown) if self.model is not None else False

    def ensure_built(self) -> None:
        for view in self.shown:
            view.ensure_built()

    def retheme(self) -> None:
        for view in self.parts:
            view.retheme()
