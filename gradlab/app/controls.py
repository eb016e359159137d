"""Small reusable widgets."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget


class LogSpinBox(QDoubleSpinBox):
    """A spin box for positive values that span decades (learning rates, noise, std).

    Up/Down multiply or divide by 10^(1/``steps_per_decade``); the text shows ``%g``
    (``0.001``, ``3e-05``); typing any positive number is accepted. ``valueCommitted`` fires on
    Enter, focus-out, or a step, not on every keystroke.
    """

    valueCommitted = Signal(float)

    def __init__(
        self,
        parent: QWidget | None = None,
        minimum: float = 1e-8,
        maximum: float = 1e3,
        steps_per_decade: int = 4,
    ):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(minimum, maximum)
        self.setKeyboardTracking(False)
        self.steps_per_decade = steps_per_decade
        self.setMinimumWidth(90)
        self.setValue(1e-3)
        self.editingFinished.connect(lambda: self.valueCommitted.emit(self.value()))

    def textFromValue(self, value: float) -> str:
        return f"{value:.4g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            v = float(text)
        except ValueError:
            ok = text.strip() in ("", "-", ".", "e") or text.lower().endswith(("e", "e-", "e+"))
            return (QValidator.State.Intermediate if ok else QValidator.State.Invalid), text, pos
        if self.minimum() <= v <= self.maximum():
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        v = max(self.value(), self.minimum())
        factor = 10 ** (steps / self.steps_per_decade)
        new = min(max(v * factor, self.minimum()), self.maximum())
        # snap to a readable value (3 significant digits)
        digits = 2 - math.floor(math.log10(new))
        self.setValue(round(new, digits))
        self.valueCommitted.emit(self.value())

    def set_value_quietly(self, value: float) -> None:
        self.blockSignals(True)
        self.setValue(value)
        self.blockSignals(False)
