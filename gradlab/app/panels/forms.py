"""Forms built from declared hyper-parameters (:class:`gradlab.params.Param`), shared by the panels.

A :class:`ParamField` edits one parameter with the widget its kind calls for (``int``: a spin box,
``float``: a spin box or a :class:`~gradlab.app.controls.LogSpinBox` when ``log``, ``bool``: a
check box, ``choice``: a combo box, ``str``/``path``: a line edit, ``path`` with a "Browse…"
button; ``optional`` numbers get a check box that enables them). It emits
:attr:`ParamField.committed` once per committed change (Enter, focus-out, an arrow step, a pick,
a toggle), never per keystroke. Fields do not validate themselves: the panel runs the spec
layer's one check over the whole spec and marks each field with the message for its path (red
background, the one-sentence message as its tooltip).

A :class:`ParamForm` lays a list of fields into an existing :class:`QFormLayout` (so its labels
line up with the rows around it) and rebuilds them when the list changes (another optimiser,
another dataset).

Numeric fields accept values outside the parameter's bounds on purpose: the value shows in red
with the reason, rather than being silently clamped.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QIcon,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.controls import LogSpinBox
from gradlab.app.panels.editors import (
    INT_LIMIT,
    ComboBox,
    FloatSpinBox,
    IntSpinBox,
    LogField,
)
from gradlab.experiment.spec.fields import suggested
from gradlab.params import AUTO, Param

#: display labels for parameter names (fallback: "some_name" -> "Some name")
LABELS = {
    "n": "Examples",
    "val_fraction": "Validation",
    "preprocess": "Preprocess",
    "max_train": "Max train",
    "whiten_eps": "Whiten ε",
    "noise": "Noise σ",
    "dim": "Input dim",
    "classes": "Classes",
    "size": "Image size",
    "train_images": "Train images",
    "train_labels": "Train labels",
    "test_images": "Test images",
    "test_labels": "Test labels",
    "test_path": "Test file",
    "path": "File",
    "label": "Label column",
    "momentum": "Momentum μ",
    "beta1": "β₁",
    "beta2": "β₂",
    "eps": "ε",
    "rho": "Decay ρ",
    "weight_decay": "Weight decay λ",
    "gamma": "Factor γ",
    "step_size": "Step size",
    "decay_steps": "Decay steps",
    "total_steps": "Total steps",
    "warmup_steps": "Warm-up",
    "min_lr": "Min lr",
    "factor": "Factor",
    "patience": "Patience",
    "threshold": "Threshold",
    "cooldown": "Cooldown",
    "alpha": "Slope α",
    "pieces": "Pieces k",
    "std": "Std σ",
    "mean": "Mean",
    "limit": "Limit",
    "value": "Value",
}


def label_for(param: Param | str) -> str:
    """A field's label: the Param's own, else a known one, else "some_name" -> "Some name"."""
    if isinstance(param, Param):
        if param.label:
            return param.label
        param = param.name
    return LABELS.get(param, param.replace("_", " ").capitalize())


# ====================================================================== small helpers
@contextlib.contextmanager
def blocked(*objects: QObject | None) -> Iterator[None]:
    """Block the signals of ``objects`` (model -> UI updates must not echo back)."""
    olds = [(o, o.blockSignals(True)) for o in objects if o is not None]
    try:
        yield
    finally:
        for o, old in olds:
            o.blockSignals(old)


def error_tint() -> QColor:
    """The background of a field holding a bad value."""
    return QColor("#5c2b29") if theme.current().name == "dark" else QColor("#fce8e6")


def mark_error(widget: QWidget, message: str, tip: str = "") -> None:
    """Show ``message`` on ``widget``: red background, message as tooltip (``""`` clears it).

    The state is readable as the widget's ``error`` property (tests, style sheets).
    """
    widget.setProperty("error", bool(message))
    if message:
        pal = QPalette(widget.palette())
        for role in (QPalette.ColorRole.Base, QPalette.ColorRole.Button):
            pal.setColor(role, error_tint())
        widget.setPalette(pal)
    else:
        widget.setPalette(QPalette())  # back to the inherited palette
    widget.setToolTip(message or tip)


def _tint_text(label: QLabel, color: str, kind: str) -> QLabel:
    label.setProperty("textTint", kind)
    pal = QPalette(label.palette())
    pal.setColor(QPalette.ColorRole.WindowText, QColor(color))
    label.setPalette(pal)
    return label


def muted(label: QLabel) -> QLabel:
    """Grey secondary text (descriptions, summaries)."""
    return _tint_text(label, theme.current().muted, "muted")


def error_label(parent: QWidget | None = None) -> QLabel:
    """A word-wrapped red label for inline messages (hidden while empty)."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return _tint_text(label, theme.current().error, "error")


def retint(root: QWidget) -> None:
    """Re-apply the theme's muted / error text colours under ``root`` (after a theme switch)."""
    colors = {"muted": theme.current().muted, "error": theme.current().error}
    for label in root.findChildren(QLabel):
        kind = label.property("textTint")
        if kind in colors:
            label.setPalette(QPalette())
            _tint_text(label, colors[kind], kind)


def make_form(parent: QWidget | None = None) -> QFormLayout:
    """A compact form layout: right-aligned labels, fields growing to the dock's width."""
    form = QFormLayout(parent)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    form.setHorizontalSpacing(8)
    form.setVerticalSpacing(5)
    form.setContentsMargins(8, 6, 8, 8)
    return form


def section(title: str, parent: QWidget | None = None) -> tuple[QGroupBox, QFormLayout]:
    """A titled group with a form layout inside."""
    box = QGroupBox(title, parent)
    return box, make_form(box)


def align_labels(*forms: QFormLayout) -> None:
    """Give every label of ``forms`` the width of the widest, so the fields line up across
    sections."""
    labels: list[QWidget] = []
    for form in forms:
        for row in range(form.rowCount()):
            item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            if item is not None and item.widget() is not None:
                labels.append(item.widget())
    if not labels:
        return
    for w in labels:
        w.setMinimumWidth(0)
    width = max(w.sizeHint().width() for w in labels)
    for w in labels:
        w.setMinimumWidth(width)
        if isinstance(w, QLabel):
            w.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def claims_key(focus: QWidget | None, event: QKeyEvent, typing: tuple = ()) -> bool:
    """Whether the focused control should get a key the window uses as a one-key shortcut.

    Space toggles the focused check box / radio button or opens the focused combo box rather
    than starting a run; in the widgets of ``typing`` (the layer table) a printable key starts
    editing the cell rather than, say, taking a training step. Line edits and spin boxes claim
    their keys themselves.
    """
    mods = event.modifiers() & ~(
        Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
    )
    if focus is None or mods != Qt.KeyboardModifier.NoModifier:
        return False
    toggles = (QCheckBox, QRadioButton, QComboBox)
    if event.key() == Qt.Key.Key_Space and isinstance(focus, (*toggles, *typing)):
        return True
    text = event.text()
    return isinstance(focus, typing) and bool(text) and text.isprintable()


# ====================================================================== icons
def icon(kind: str) -> QIcon:
    """Small line icons drawn in the palette's text colour (crisp at any scale, no files).

    ``kind``: add, remove, duplicate, up, down, undo, redo.
    """
    color = QColor(theme.current().foreground)
    pm = QPixmap(32, 32)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, 2.6)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    if kind == "add":
        p.drawLine(QPointF(16, 7), QPointF(16, 25))
        p.drawLine(QPointF(7, 16), QPointF(25, 16))
    elif kind == "remove":
        p.drawLine(QPointF(7, 16), QPointF(25, 16))
    elif kind == "duplicate":
        p.drawRoundedRect(QRectF(6, 11, 14, 15), 2, 2)
        p.drawPolyline([QPointF(11, 7), QPointF(26, 7), QPointF(26, 21)])
    elif kind in ("up", "down"):
        sign = -1 if kind == "up" else 1
        p.drawLine(QPointF(16, 16 - 9 * sign), QPointF(16, 16 + 9 * sign))
        p.drawPolyline(
            [QPointF(9, 16 + 2 * sign), QPointF(16, 16 + 9 * sign), QPointF(23, 16 + 2 * sign)]
        )
    elif kind in ("undo", "redo"):
        path = QPainterPath()
        if kind == "undo":
            path.moveTo(9, 13)
            path.lineTo(20, 13)
            path.cubicTo(28, 13, 28, 25, 20, 25)
            path.lineTo(13, 25)
            head = [QPointF(13, 8), QPointF(8, 13), QPointF(13, 18)]
        else:
            path.moveTo(23, 13)
            path.lineTo(12, 13)
            path.cubicTo(4, 13, 4, 25, 12, 25)
            path.lineTo(19, 25)
            head = [QPointF(19, 8), QPointF(24, 13), QPointF(19, 18)]
        p.drawPath(path)
        p.drawPolyline(head)
    p.end()
    return QIcon(pm)


# ====================================================================== ParamField
class ParamField(QWidget):
    """One parameter's editor (see the module docstring).

    ``path`` is the dotted spec path used in messages (``"data.noise"``). The field shows what
    its :class:`Param` declares: the editor its kind calls for, the help text as its tooltip, an
    "auto" check box when the value may be ``"auto"``, an enabling check box when it may be
    None (switched on, it takes the value the spec layer suggests), one tooltip per choice.
    """

    committed = Signal()

    def __init__(
        self,
        param: Param,
        path: str,
        parent: QWidget | None = None,
        *,
        file_filter: str = "All files (*)",
        step: float | None = None,
        decades: bool = False,
    ):
        super().__init__(parent)
        self.param = param
        self.fill = suggested(param)
        self.path = path
        self.file_filter = file_filter
        self._error = ""
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        kind = param.kind
        self.enable: QCheckBox | None = None
        self.auto: QCheckBox | None = None
        self.browse: QToolButton | None = None
        if param.optional and kind in ("int", "float"):
            self.enable = QCheckBox(self)
            self.enable.setToolTip(f"Set {label_for(param).lower()} (unchecked: none)")
            lay.addWidget(self.enable)
        if param.auto:
            self.auto = QCheckBox("auto", self)
            self.auto.setToolTip(param.help)
            lay.addWidget(self.auto)
        editor: QWidget
        if kind == "int":
            editor = IntSpinBox(self)
        elif kind == "float" and param.log:
            hi = param.maximum if param.maximum is not None else 1e3
            editor = LogField(self, minimum=1e-12, maximum=hi)
        elif kind == "float":
            if step is None:
                step = 0.05 if param.maximum is not None and param.maximum <= 1 else 0.1
            editor = FloatSpinBox(self, step=step, decades=decades)
        elif kind == "bool":
            editor = QCheckBox(self)
        elif kind == "choice":
            editor = ComboBox(self)
            for c in param.choices:
                editor.add_item("none" if c is None else str(c), c, param.help_for(c))
        else:  # str, path
            editor = QLineEdit(self)
            editor.setClearButtonEnabled(True)
            if param.optional:
                editor.setPlaceholderText("none")
            elif kind == "path":
                editor.setPlaceholderText("choose a file…")
        self.editor = editor
        #: the spin box of an "auto" field (the editor)
        self.spin = editor
        lay.addWidget(editor, 1)
        if kind == "path":
            self.browse = QToolButton(self)
            self.browse.setText("Browse…")
            self.browse.setToolTip(f"Choose the file ({param.help})")
            self.browse.clicked.connect(self._browse)
            lay.addWidget(self.browse)

        if isinstance(editor, LogSpinBox):
            editor.valueCommitted.connect(lambda _v: self._maybe_commit())
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.valueChanged.connect(lambda _v: self._maybe_commit())
        elif isinstance(editor, QCheckBox):
            editor.toggled.connect(lambda _c: self._maybe_commit())
        elif isinstance(editor, QComboBox):
            editor.activated.connect(lambda _i: self._maybe_commit())
        elif isinstance(editor, QLineEdit):
            editor.editingFinished.connect(self._maybe_commit)
        if self.enable is not None:
            self.enable.toggled.connect(self._on_enable)
        if self.auto is not None:
            self.auto.toggled.connect(self._on_auto)
        self._last: Any = object()
        if self.auto is not None:
            self.set_value(self.fill)  # the number "auto" unchecked starts from
        self.set_value(param.default)
        self.set_error("")

    # ------------------------------------------------------------------ value
    def value(self) -> Any:
        if self.enable is not None and not self.enable.isChecked():
            return None
        if self.auto is not None and self.auto.isChecked():
            return AUTO
        ed = self.editor
        if isinstance(ed, QSpinBox):
            return int(ed.value())
        if isinstance(ed, QDoubleSpinBox):
            return float(ed.value())
        if isinstance(ed, QCheckBox):
            return ed.isChecked()
        if isinstance(ed, QComboBox):
            return ed.currentData()
        text = ed.text().strip()
        return text or None

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting :attr:`committed`."""
        ed = self.editor
        with blocked(ed, self.enable, self.auto):
            if self.enable is not None:
                self.enable.setChecked(value is not None)
                ed.setEnabled(value is not None)
            if self.auto is not None:
                is_auto = value == AUTO
                self.auto.setChecked(is_auto)
                ed.setEnabled(not is_auto)
                if is_auto:
                    value = None  # the spin box keeps the number it showed
            if value is None and self.enable is not None:
                value_shown = self.fill  # what switching it on gives
            else:
                value_shown = value
            if value_shown is not None:
                value = value_shown
                if isinstance(ed, QSpinBox):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        ed.setValue(int(max(-INT_LIMIT, min(INT_LIMIT, value))))
                elif isinstance(ed, QDoubleSpinBox):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        ed.setValue(float(value))
                elif isinstance(ed, QCheckBox):
                    ed.setChecked(bool(value))
                elif isinstance(ed, ComboBox):
                    if not ed.select_data(value):
                        ed.add_item(str(value), value, f"unknown {self.param.name}")
                        ed.setCurrentIndex(ed.count() - 1)
                elif isinstance(ed, QLineEdit):
                    ed.setText(str(value))
            elif isinstance(ed, QLineEdit):
                ed.setText("")
        self._last = self.value()

    def _on_enable(self, on: bool) -> None:
        self.editor.setEnabled(on)
        if on:
            self.editor.setFocus()
        self._maybe_commit()

    def _on_auto(self, on: bool) -> None:
        self.editor.setEnabled(not on)
        self._maybe_commit()

    def _maybe_commit(self) -> None:
        v = self.value()
        if v == self._last and type(v) is type(self._last):
            return
        self._last = v
        self.committed.emit()

    def _browse(self) -> None:
        current = self.editor.text().strip() if isinstance(self.editor, QLineEdit) else ""
        start = os.path.dirname(current) if current else os.path.expanduser("~")
        path, _ = QFileDialog.getOpenFileName(
            self, f"Choose {label_for(self.param).lower()}", start, self.file_filter
        )
        if path:
            self.editor.setText(path)
            self._maybe_commit()

    # ------------------------------------------------------------------ problems
    def set_error(self, message: str) -> None:
        """Mark the field with the spec check's message ("" clears it)."""
        self._error = message
        self.setProperty("error", bool(message))
        mark_error(self.editor, message, self.param.help)
        self.setToolTip(message or self.param.help)

    def error(self) -> str:
        return self._error


# ====================================================================== ParamForm
class ParamForm(QObject):
    """Rows of :class:`ParamField` appended to ``layout`` (see the module docstring).

    :attr:`edited` carries the name of the parameter the user committed.
    """

    edited = Signal(str)

    def __init__(
        self,
        layout: QFormLayout,
        prefix: str,
        parent: QWidget,
        *,
        file_filters: Mapping[str, str] | None = None,
        steps: Mapping[str, float] | None = None,
        decades: Sequence[str] = (),
    ):
        super().__init__(parent)
        self.layout = layout
        self.prefix = prefix
        self.parent_widget = parent
        self.file_filters = dict(file_filters or {})
        self.steps = dict(steps or {})
        self.decades = set(decades)
        self.fields: dict[str, ParamField] = {}
        self.params: list[Param] = []

    def build(
        self,
        params: Sequence[Param],
        values: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the rows by one per parameter, showing ``values`` (defaults where missing);
        ``labels`` overrides the row labels by name."""
        labels = labels or {}
        self.clear()
        self.params = list(params)
        for p in self.params:
            path = f"{self.prefix}.{p.name}" if self.prefix else p.name
            f = ParamField(
                p,
                path,
                self.parent_widget,
                file_filter=self.file_filters.get(p.name, "All files (*)"),
                step=self.steps.get(p.name),
                decades=p.name in self.decades,
            )
            label = QLabel(labels.get(p.name) or label_for(p), self.parent_widget)
            label.setToolTip(p.help)
            label.setBuddy(f.editor)
            self.layout.addRow(label, f)
            f.committed.connect(lambda n=p.name: self.edited.emit(n))
            self.fields[p.name] = f
        if values is not None:
            self.set_values(values)

    def clear(self) -> None:
        for f in self.fields.values():
            self.layout.removeRow(f)
        self.fields = {}
        self.params = []

    def set_values(self, values: Mapping[str, Any]) -> None:
        for name, f in self.fields.items():
            f.set_value(values.get(name, f.param.default))

    def values(self) -> dict[str, Any]:
        return {name: f.value() for name, f in self.fields.items()}

    def set_row_visible(self, name: str, visible: bool) -> None:
        f = self.fields.get(name)
        if f is not None:
            self.layout.setRowVisible(f, visible)

    def show_problems(self, by_field: Mapping[str, str]) -> list[str]:
        """Mark each field with the message the spec check has for its path; the messages."""
        out = []
        for f in self.fields.values():
            message = by_field.get(f.path, "")
            f.set_error(message)
            if message:
                out.append(message)
        return out

    def errors(self) -> list[str]:
        return [f.error() for f in self.fields.values() if f.error()]


def scrolling_body(panel: QWidget) -> tuple[QScrollArea, QWidget, QVBoxLayout]:
    """A panel's vertically scrolling body (long forms in a narrow dock): (area, body, layout)."""
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    area = QScrollArea(panel)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    outer.addWidget(area)
    body = QWidget(area)
    area.setWidget(body)
    lay = QVBoxLayout(body)
    lay.setContentsMargins(6, 6, 6, 6)
    lay.setSpacing(8)
    return area, body, lay
