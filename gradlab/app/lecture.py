"""The window in front of a class: zoom, Space, pace and the speed actually achieved (a mixin of
:class:`~gradlab.app.window.MainWindow`, hooked into the chrome's menus, toolbar and status bar).

* **Zoom** (View > Zoom In / Zoom Out / Actual Size, Ctrl++ / Ctrl+- / Ctrl+0) scales the text,
  lines and markers of every panel and view (:func:`gradlab.app.theme.set_zoom`), and is
  remembered across launches (the window's QSettings, key ``zoom``).
* **Space** runs and pauses wherever the focus is in the window: in a numeric field the typed
  value is committed first (so the run uses it), on a drop-down or a button Space runs instead of
  opening or pressing it. Only a free-text field (the quick builder, a name) takes the space as
  text; Esc there hands the focus back to the views (:class:`SpaceRuns`).
* **Lecture pace**: the default speed plays a preset's step budget out in about a minute
  (``presets.LECTURE_SECONDS``, or the preset's own ``lecture_seconds``), so ``gradlab --preset
  NAME --run`` shows a class the run unfold instead of its final state; Max speed is one click
  away on the toolbar.
* **The real speed**: the status bar shows the steps per second achieved over the last second
  (:class:`RateMeter`), not the burst rate of one chunk of the training loop.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTableView,
    QTextEdit,
    QToolButton,
    QWidget,
)

from gradlab.app import theme
from gradlab.experiment import presets

#: the speed menu: (label, steps per second; None = as fast as possible, "lecture" = the pace
#: at which the run's budget takes about a minute)
SPEEDS: list[tuple[str, float | str | None]] = [
    ("Lecture pace", "lecture"),
    ("Max speed", None),
    ("1000 steps/s", 1000.0),
    ("300 steps/s", 300.0),
    ("100 steps/s", 100.0),
    ("30 steps/s", 30.0),
    ("10 steps/s", 10.0),
    ("3 steps/s", 3.0),
]
#: the lecture pace of a run without a step budget
LECTURE_UNBUDGETED = 30.0
#: seconds of snapshots the achieved rate is measured over
RATE_WINDOW = 1.5


def lecture_rate(total_steps: int | None, seconds: float = presets.LECTURE_SECONDS) -> float:
    """Steps per second at which ``total_steps`` take ``seconds`` (at least 1 a second; a run
    without a budget: :data:`LECTURE_UNBUDGETED`)."""
    if not total_steps:
        return LECTURE_UNBUDGETED
    return max(1.0, float(total_steps) / max(float(seconds), 1e-3))


class RateMeter:
    """Steps per second actually achieved: the steps between the oldest and the newest of the
    snapshots seen in the last :data:`RATE_WINDOW` seconds, over the time between them."""

    def __init__(self, window: float = RATE_WINDOW, clock=time.perf_counter):
        self.window = window
        self.clock = clock
        self._seen: deque[tuple[float, int]] = deque()

    def reset(self) -> None:
        self._seen.clear()

    def add(self, step: int, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        if self._seen and step < self._seen[-1][1]:
            self._seen.clear()  # a new run, or a resumed earlier state
        self._seen.append((now, int(step)))
        while len(self._seen) > 2 and now - self._seen[0][0] > self.window:
            self._seen.popleft()

    def rate(self) -> float | None:
        """Steps per second, or None until a quarter of a second has been seen."""
        if len(self._seen) < 2:
            return None
        (t0, s0), (t1, s1) = self._seen[0], self._seen[-1]
        if t1 - t0 < 0.25:
            return None
        return (s1 - s0) / (t1 - t0)


def rescale_fonts(window: QWidget, ratio: float) -> None:
    """Scale the fonts a panel set for itself (a table's smaller text, a bold title) by
    ``ratio``, and a table's fixed row height with them: the application font reaches only the
    widgets that inherit it."""
    if abs(ratio - 1.0) < 1e-9:
        return
    for w in window.findChildren(QWidget):
        if w.testAttribute(Qt.WidgetAttribute.WA_SetFont) and w.font().pointSizeF() > 0:
            f = QFont(w.font())
            f.setPointSizeF(f.pointSizeF() * ratio)
            w.setFont(f)
        if isinstance(w, QTableView):
            rows = w.verticalHeader()
            rows.setDefaultSectionSize(max(8, round(rows.defaultSectionSize() * ratio)))


def is_free_text(widget: QWidget | None) -> bool:
    """A field that takes a space as text: a line edit that is not a spin box's, a text edit."""
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return not widget.isReadOnly()
    if isinstance(widget, QLineEdit):
        parent = widget.parentWidget()
        return not widget.isReadOnly() and not isinstance(parent, QAbstractSpinBox)
    return False


def in_item_view(widget: QWidget | None) -> bool:
    """A cell editor of a table or list (Esc there cancels the edit, as usual)."""
    w = widget
    while w is not None:
        if isinstance(w, QAbstractItemView):
            return True
        w = w.parentWidget()
    return False


class SpaceRuns(QObject):
    """The application event filter behind Space and Esc (see the module docstring)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        key = event.key()
        if key not in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            return False
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods != Qt.KeyboardModifier.NoModifier:
            return False
        # the widget the key goes to (the focused one; a test may send it to another)
        focus = obj if isinstance(obj, QWidget) else QApplication.focusWidget()
        window = self.window
        if focus is None or focus.window() is not window:
            return False
        if QApplication.activeModalWidget() is not None or QApplication.activePopupWidget():
            return False
        if getattr(window, "_shut", False):
            return False
        if key == Qt.Key.Key_Escape:
            if kind == QEvent.Type.KeyPress and is_free_text(focus) and not in_item_view(focus):
                window.focus_views()
                return True
            return False
        if is_free_text(focus):
            return False  # a space typed into a name or the quick builder
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the key press comes here next, whatever the focused widget does
            return True
        if event.isAutoRepeat():
            return True  # a held Space toggles once
        window.space_pressed()
        return True


class LectureChrome:
    """Zoom, Space, pace and achieved speed of the main window (see the module docstring)."""

    # ------------------------------------------------------------------ zoom
    def _restore_zoom(self) -> None:
        """Before the views are built: the zoom the user left."""
        try:
            z = float(self.settings.value("zoom", 1.0))
        except (TypeError, ValueError):
            z = 1.0
        theme.set_zoom(z)
        # the window's own font (it was made before the zoom): every widget built after inherits
        self.setFont(QApplication.font())

    def _build_zoom_actions(self, menu) -> None:
        """View > Zoom In / Zoom Out / Actual Size."""
        S = QKeySequence.StandardKey
        self.act_zoom_in = QAction("Zoom &In", self)
        self.act_zoom_in.setShortcuts([QKeySequence(S.ZoomIn), QKeySequence("Ctrl+=")])
        self.act_zoom_out = QAction("Zoom &Out", self)
        self.act_zoom_out.setShortcuts([QKeySequence(S.ZoomOut)])
        self.act_zoom_reset = QAction("&Actual Size", self)
        self.act_zoom_reset.setShortcut(QKeySequence("Ctrl+0"))
        self.act_zoom_in.triggered.connect(lambda: self.set_zoom(theme.zoom_step(+1)))
        self.act_zoom_out.triggered.connect(lambda: self.set_zoom(theme.zoom_step(-1)))
        self.act_zoom_reset.triggered.connect(lambda: self.set_zoom(1.0))
        for act, tip in (
            (self.act_zoom_in, "Larger text, lines and markers everywhere (for a projector)"),
            (self.act_zoom_out, "Smaller text, lines and markers"),
            (self.act_zoom_reset, "Text, lines and markers at their normal size"),
        ):
            act.setStatusTip(tip)
            act.setToolTip(f"{act.text().replace('&', '')} ({act.shortcut().toString()})")
            self.addAction(act)
            menu.addAction(act)

    def set_zoom(self, factor: float) -> None:
        """Zoom everything to ``factor`` (remembered across launches)."""
        old = theme.zoom()
        factor = theme.set_zoom(factor)
        self.settings.setValue("zoom", factor)
        self.setFont(QApplication.font())
        rescale_fonts(self, factor / old)
        self.act_zoom_reset.setText(f"&Actual Size (now {round(factor * 100)}%)")
        for view in self.views:
            view.retheme()
        self._drawn = (None, None, None, None)
        self._tick(force=True)
        self._start_prebuild()
        self.statusBar().showMessage(f"Zoom {round(factor * 100)}%", 2000)

    # ------------------------------------------------------------------ Space
    def _install_space(self) -> None:
        self._space = SpaceRuns(self)
        QApplication.instance().installEventFilter(self._space)

    def _remove_space(self) -> None:
        app = QApplication.instance()
        if app is not None and getattr(self, "_space", None) is not None:
            app.removeEventFilter(self._space)

    def space_pressed(self) -> None:
        """Space: a value being typed is committed (the focus leaves its field, which commits
        it), then the run starts or pauses; the focus stays with the views."""
        self.focus_views()
        if self.act_run.isEnabled():
            self.toggle_run()

    def focus_views(self) -> None:
        """Hand the keyboard focus to the views (not a text field: Space and N act at once)."""
        self.tabs.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # ------------------------------------------------------------------ pace
    def _build_speed(self, toolbar) -> None:
        """The speed box (lecture pace by default) and the one-click Max speed button."""
        self.speed_box = QComboBox(self)
        for label, value in SPEEDS:
            self.speed_box.addItem(label, value)
        self.speed_box.setToolTip(
            "How fast training runs. Lecture pace: the run's step budget plays out in about a "
            "minute, for a class to follow; Max speed: as fast as this machine goes (the views "
            "always get every probe)"
        )
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Space never opens it
        self.speed_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.speed_box.currentIndexChanged.connect(self._on_speed)
        toolbar.addWidget(self.speed_box)
        self.max_btn = QToolButton(self)
        self.max_btn.setText("Max speed")
        self.max_btn.setCheckable(True)
        self.max_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.max_btn.setToolTip("Train as fast as possible (click again: back to the chosen pace)")
        self.max_btn.toggled.connect(self._on_max)
        toolbar.addWidget(self.max_btn)
        self._paced_index = 0
        self._rate_meter = RateMeter()

    @property
    def speed_setting(self) -> float | str | None:
        return self.speed_box.currentData()

    def lecture_pace(self) -> float:
        """Steps per second of the lecture pace for the current run."""
        exp = self.run.experiment if self.run is not None else None
        total = None
        if exp is not None and exp.data_error is None:
            try:
                total = exp.total_steps
            except Exception:  # the data's size is needed for an epoch budget
                total = None
        name = (self.run.spec.get("preset") if self.run is not None else None) or None
        return lecture_rate(total, presets.lecture_seconds(name))

    def steps_per_second(self) -> float | None:
        """The speed the worker is asked for (None: as fast as possible)."""
        value = self.speed_setting
        return self.lecture_pace() if value == "lecture" else value

    def _on_speed(self, index: int) -> None:
        value = self.speed_box.itemData(index)
        if value is not None:
            self._paced_index = index
        self.max_btn.blockSignals(True)
        self.max_btn.setChecked(value is None)
        self.max_btn.blockSignals(False)
        self._post_speed()

    def _on_max(self, on: bool) -> None:
        target = 1 if on else self._paced_index
        self.speed_box.setCurrentIndex(target)
        self.focus_views()

    def _post_speed(self) -> None:
        rate = self.steps_per_second()
        self.worker.post("speed", rate)
        self._rate_meter.reset()
        label = "Lecture pace"
        if self.speed_setting == "lecture":
            label += f" ({rate:,.0f} steps/s)" if rate >= 10 else f" ({rate:.2g} steps/s)"
        self.speed_box.setItemText(0, label if self.run is not None else "Lecture pace")

    def _pace_new_run(self) -> None:
        """A new run: the lecture pace follows its budget."""
        self._rate_meter.reset()
        if self.speed_setting == "lecture":
            self._post_speed()

    # ------------------------------------------------------------------ achieved speed
    def _rate_text(self, snap) -> str:
        """The status bar's speed: achieved steps per second while running, else the status."""
        if snap.status != "running":
            self._rate_meter.reset()
            return snap.status
        self._rate_meter.add(snap.step)
        rate = self._rate_meter.rate()
        if rate is None:
            return "running"
        text = f"{rate:,.0f} steps/s" if rate >= 10 else f"{rate:.1f} steps/s"
        if self.speed_setting == "lecture":
            text += " (lecture pace)"
        return text
