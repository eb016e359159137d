"""The timeline: scrub every view to any recorded probe.

The selection is a *step*, not a row: the history thins its probes as a run grows, so a row
number would drift under the user's hand, while the step they chose stays put (the views draw the
last probe at or before it). "Live" follows the newest probe.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)


class GrooveSlider(QSlider):
    """A slider whose groove, clicked, jumps to the clicked point (a plain QSlider moves one
    page towards it) and lets the handle be dragged on from there."""

    def value_at(self, x: float) -> int:
        """The value under the horizontal position ``x`` (widget coordinates)."""
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        style = self.style()
        groove = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderGroove, self
        )
        handle = style.subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )
        span = max(groove.width() - handle.width(), 1)
        pos = round(x - groove.x() - handle.width() / 2)
        return QStyle.sliderValueFromPosition(
            self.minimum(), self.maximum(), min(max(pos, 0), span), span, opt.upsideDown
        )

    def handle_rect(self):
        opt = QStyleOptionSlider()
        self.initStyleOption(opt)
        return self.style().subControlRect(
            QStyle.ComplexControl.CC_Slider, opt, QStyle.SubControl.SC_SliderHandle, self
        )

    def mousePressEvent(self, event) -> None:
        if (
            event.button() == Qt.MouseButton.LeftButton
            and self.orientation() == Qt.Orientation.Horizontal
            and not self.handle_rect().contains(event.position().toPoint())
        ):
            self.setValue(self.value_at(event.position().x()))
            # the handle is under the pointer now: the press grabs it, a drag scrubs on
        super().mousePressEvent(event)


class TimelineBar(QWidget):
    #: the selected step (None: live, follow the newest probe)
    stepSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        self.label = QLabel("step 0", self)
        self.label.setMinimumWidth(190)
        self.slider = GrooveSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setToolTip(
            "Scrub through the recorded probes: click or drag anywhere on it (Left/Right, "
            "Home/End)"
        )
        self.live = QToolButton(self)
        self.live.setText("Live")
        self.live.setCheckable(True)
        self.live.setChecked(True)
        self.live.setToolTip("Follow the newest probe (End)")
        lay.addWidget(QLabel("Timeline", self))
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        lay.addWidget(self.live)
        self._steps: list[int] = []
        self._selected: int | None = None
        self.slider.valueChanged.connect(self._moved)
        self.live.toggled.connect(self._live_toggled)

    @property
    def selected_step(self) -> int | None:
        return self._selected

    def set_steps(self, steps) -> None:
        """The probe steps now in the history (ascending)."""
        steps = [int(s) for s in steps]
        if steps == self._steps:
            return  # (the window asks every frame; the slider and label repaint only if moved)
        self._steps = steps
        n = len(self._steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        if self._selected is None:
            self.slider.setValue(max(n - 1, 0))
        else:
            self.slider.setValue(self._row_of(self._selected))
        self.slider.blockSignals(False)
        self._update_label()

    def select_step(self, step: int | None) -> None:
        """Select ``step`` (None: live) as if the user had."""
        if step is None:
            self.live.setChecked(True)
            return
        self.live.blockSignals(True)
        self.live.setChecked(False)
        self.live.blockSignals(False)
        self._selected = int(step)
        self.slider.blockSignals(True)
        self.slider.setValue(self._row_of(self._selected))
        self.slider.blockSignals(False)
        self._update_label()
        self.stepSelected.emit(self._selected)

    def row(self) -> int | None:
        """The history row to draw (None: the newest)."""
        return None if self._selected is None else self._row_of(self._selected)

    def _row_of(self, step: int) -> int:
        import bisect

        return max(bisect.bisect_right(self._steps, step) - 1, 0)

    def _moved(self, value: int) -> None:
        if not self._steps:
            return
        step = self._steps[min(value, len(self._steps) - 1)]
        if value >= len(self._steps) - 1 and self._selected is None:
            return
        self.live.blockSignals(True)
        self.live.setChecked(False)
        self.live.blockSignals(False)
        self._selected = step
        self._update_label()
        self.stepSelected.emit(step)

    def _live_toggled(self, on: bool) -> None:
        if on:
            self._selected = None
            self.slider.blockSignals(True)
            self.slider.setValue(self.slider.maximum())
            self.slider.blockSignals(False)
            self._update_label()
            self.stepSelected.emit(None)
        elif self._selected is None and self._steps:
            self._selected = self._steps[-1]
            self._update_label()
            self.stepSelected.emit(self._selected)

    def _update_label(self) -> None:
        n = len(self._steps)
        if not n:
            self.label.setText("no probes yet")
            return
        r = n - 1 if self._selected is None else self._row_of(self._selected)
        live = " (live)" if self._selected is None else ""
        self.label.setText(f"step {self._steps[r]:,}  probe {r + 1}/{n}{live}")

    def keyPressEvent(self, event):
        if event.key() == Qt.Key.Key_End:
            self.live.setChecked(True)
            return
        super().keyPressEvent(event)
