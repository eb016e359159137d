"""The number and choice editors of the panels' forms: compact spin boxes that take any number
(the spec check says what is allowed, in red, rather than clamping), a log-stepped field for
learning rates, and a combo box with per-item tooltips; none of them changes a value under a
passing mouse wheel."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from gradlab.app.controls import LogSpinBox

INT_LIMIT = 2**31 - 1
_TEXT = object()  # add_item: the item's data is its text


def _float_text(value: float) -> str:
    return f"{value:.6g}"


def _float_validate(box: QAbstractSpinBox, text: str, pos: int):
    """Any number is Acceptable (bounds are checked by the Param, shown in red); partial input
    such as ``1e`` or ``-`` is Intermediate; anything else is refused."""
    stripped = text.strip()
    try:
        float(stripped)
    except ValueError:
        partial = stripped in ("", "-", "+", ".", "-.", "+.") or stripped.lower().endswith(
            ("e", "e-", "e+")
        )
        state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
        return state, text, pos
    return QValidator.State.Acceptable, text, pos


def _exact_value(box: QDoubleSpinBox, text: str) -> float:
    """The value of ``text``; the text shown for the current value means the current value
    exactly (Enter on an unedited 0.166667 must not round 0.16666666666666666)."""
    if text.strip() == box.textFromValue(box.value()).strip():
        return box.value()
    try:
        return float(text)
    except ValueError:
        return box.value()


class _Compact:
    """A number field that fits a narrow dock: it asks for at most 120 px, needs 64."""

    def sizeHint(self) -> QSize:
        s = super().sizeHint()
        return QSize(min(s.width(), 120), s.height())

    def minimumSizeHint(self) -> QSize:
        s = super().minimumSizeHint()
        return QSize(min(s.width(), 64), s.height())


class _WheelGuard:
    """Mixin: the wheel changes a value only once the field has focus (scrolling a long form
    must not change the fields it passes over)."""

    def wheelEvent(self, event):
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class IntSpinBox(_Compact, _WheelGuard, QSpinBox):
    """An integer field that commits on Enter / focus-out / arrow step and accepts any int (the
    Param says what is allowed)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setRange(-INT_LIMIT, INT_LIMIT)
        self.setKeyboardTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccelerated(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


class FloatSpinBox(_Compact, _WheelGuard, QDoubleSpinBox):
    """A float field showing ``%g`` (``0.25``, ``1e-05``); typing any number is accepted.

    With ``decades=True`` the arrows step within the value's decade (0.001 -> 0.002 -> ... ->
    0.01 -> 0.02), which suits penalties such as L2 that span orders of magnitude and may be 0.
    """

    def __init__(self, parent: QWidget | None = None, *, step: float = 0.1, decades: bool = False):
        super().__init__(parent)
        self.setDecimals(320)  # no rounding: keep a float from the spec exactly
        self.setRange(-1e12, 1e12)
        self.setSingleStep(step)
        self.decades = decades
        self.setKeyboardTracking(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def textFromValue(self, value: float) -> str:
        return _float_text(value)

    def valueFromText(self, text: str) -> float:
        return _exact_value(self, text)

    def validate(self, text: str, pos: int):
        return _float_validate(self, text, pos)

    def stepBy(self, steps: int) -> None:
        if not self.decades:
            super().stepBy(steps)
            return
        v = self.value()
        for _ in range(abs(steps)):
            up = steps > 0
            if v <= 0:
                v = self.singleStep() if up else 0.0
                continue
            # the step is the unit of the value's decade (going down: of the decade below a power
            # of ten, so 0.01 -> 0.009)
            ref = v if up else v * (1 - 1e-9)
            unit = 10 ** math.floor(math.log10(ref))
            v = v + unit if up else v - unit
            if v < self.singleStep() * (1 - 1e-9):
                v = 0.0
            v = float(f"{v:.6g}")
        self.setValue(v)


class LogField(_Compact, _WheelGuard, LogSpinBox):
    """A :class:`LogSpinBox` that fits a narrow dock, ignores the wheel until focused and keeps
    the exact value when its (rounded) text is committed unedited."""

    def valueFromText(self, text: str) -> float:
        return _exact_value(self, text)

    def __init__(self, parent: QWidget | None = None, **kwargs: Any):
        super().__init__(parent, **kwargs)
        self.setDecimals(320)  # no rounding: keep the spec's float exactly
        self.setMinimumWidth(0)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


class ComboBox(_WheelGuard, QComboBox):
    """A combo box that does not grow with its longest item and ignores the wheel until
    focused."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def add_item(self, text: str, data: Any = _TEXT, tip: str = "", enabled: bool = True) -> None:
        """An item showing ``text`` and holding ``data`` (the text itself when not given; None
        is a value like any other: "no clipping")."""
        self.addItem(text, text if data is _TEXT else data)
        i = self.count() - 1
        if tip:
            self.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        if not enabled:
            item = self.model().item(i)
            if item is not None:
                item.setEnabled(False)

    def select_data(self, data: Any) -> bool:
        """Make the item holding ``data`` current (quietly if signals are blocked)."""
        i = self.findData(data)
        if i >= 0:
            self.setCurrentIndex(i)
            return True
        return False
