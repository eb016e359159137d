"""The Network panel's layer table: its model, delegate and view.

:class:`LayerModel` shows the panel's rows (hidden entries, standalone batch-norm and dropout
rows, and the output layer as the last row) with each cell's problem from the spec layer's one
check (red background, the message as tooltip); edits go back to the panel as commands
(:meth:`NetworkPanel.edit_cell`). The columns and their tooltips are the dense entry's declared
settings (:data:`gradlab.experiment.spec.catalog.DENSE`); the activation and initialiser lists
and their item tooltips are the engine's registries, through the spec layer's catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QSizePolicy,
    QStyledItemDelegate,
    QTableView,
    QWidget,
)

from gradlab.app import theme
from gradlab.experiment.spec import catalog
from gradlab.experiment.spec.layers import (
    canonical_act,
    canonical_init,
    dense_index,
    fmt,
    init_name,
    init_params,
    kind_of,
)

if TYPE_CHECKING:
    from gradlab.app.panels.network import NetworkPanel

UNITS, ACT, INIT, GAIN, BN, DROP, TRAIN = range(7)
COLUMNS = ("units", "activation", "init", "gain", "batchnorm", "dropout", "trainable")
#: the trainable column's header is a lock (its label stays in the tooltip)
HEADERS = tuple("" if c == "trainable" else catalog.DENSE[c].label for c in COLUMNS)
HEADER_TIPS = tuple(catalog.DENSE[c].help for c in COLUMNS)
#: the column that shows a problem with a key of a layer entry
KEY_COLUMN = {
    **{c: i for i, c in enumerate(COLUMNS)},
    **{k: ACT for k in catalog.activation_params()},
    "bias": INIT,
    "bias_init": INIT,
    "rate": DROP,
}
ROLE_ERROR = Qt.ItemDataRole.UserRole + 1
_ROOT = QModelIndex()


def lock_icon(closed: bool = True) -> QIcon:
    """A padlock drawn in the palette's text colour (closed: a frozen layer)."""
    pm = QPixmap(32, 32)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    color = QColor(theme.current().foreground)
    pen = QPen(color, 2.8)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    shackle = QPainterPath()
    shackle.moveTo(10.5, 15)
    shackle.lineTo(10.5, 10)
    shackle.arcTo(QRectF(10.5, 4.5, 11, 11), 180, -180)
    shackle.lineTo(21.5, 15 if closed else 11)
    p.drawPath(shackle)
    p.setBrush(color)
    p.drawRoundedRect(QRectF(7, 15, 18, 13), 2.5, 2.5)
    p.setPen(QPen(QColor(theme.current().background), 2.4))
    p.drawLine(QPointF(16, 19.5), QPointF(16, 23.5))
    p.end()
    return QIcon(pm)


def frozen_tip(frozen: bool) -> str:
    if frozen:
        return ("Frozen: the optimiser leaves this layer's weights (and its batch norm and "
                "learned slopes) as they are; its update ratio reads 0. Click to train it again.")
    return "Trainable. Click to freeze it (Hands-On ML: freeze reused layers, train the new ones)."


@dataclass
class Checked:
    """Problems by (row, column), the messages in table order, and the entries in effect (every
    default filled in, the output layer last)."""

    cells: dict[tuple[int, int], str]
    messages: list[str]
    resolved: list[dict] | None


class LayerModel(QAbstractTableModel):
    """Rows = hidden entries + the output row; edits go to the panel as commands."""

    def __init__(self, panel: NetworkPanel):
        super().__init__(panel)
        self.panel = panel
        self.rows: list[dict] = []
        self.output: dict | None = None
        self.checked = Checked({}, [], None)
        self.n_classes: int | None = None

    # ------------------------------------------------------------------ shape
    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self.rows) + 1

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def entry(self, r: int) -> dict:
        if r < len(self.rows):
            return self.rows[r]
        return {"type": "output", **(self.output or {})}

    def kind(self, r: int) -> str:
        return kind_of(self.entry(r))

    def set_state(self, rows: list[dict], output: dict | None, checked: Checked) -> None:
        same_shape = len(rows) == len(self.rows)
        if not same_shape:
            self.beginResetModel()
        self.rows, self.output, self.checked = rows, output, checked
        if same_shape:
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, TRAIN))
            self.headerDataChanged.emit(Qt.Orientation.Vertical, 0, self.rowCount() - 1)
        else:
            self.endResetModel()

    def effective(self, r: int) -> dict | None:
        """The resolved entry of row ``r`` (None when the list does not resolve)."""
        res = self.checked.resolved
        if res is None or r >= len(res):
            return None
        return res[r]

    # ------------------------------------------------------------------ headers
    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.DecorationRole and section == TRAIN:
                return lock_icon()
            if role == Qt.ItemDataRole.ToolTipRole:
                return HEADER_TIPS[section]
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            k = self.kind(section)
            if k == "output":
                return "out"
            if k == "dense":
                return str(dense_index(self.rows, section))
            return "·"
        if role == Qt.ItemDataRole.ToolTipRole:
            k = self.kind(section)
            if k == "output":
                return "The output layer: one unit per class (always last)."
            if k == "dense":
                n = dense_index(self.rows, section)
                return f"Hidden layer {n} (dense{n})"
            return f"A standalone {k} layer acting on the previous layer's output"
        return None

    # ------------------------------------------------------------------ cells
    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        r, c = index.row(), index.column()
        k = self.kind(r)
        if k == "dense":
            if c in (BN, TRAIN):
                return base | Qt.ItemFlag.ItemIsUserCheckable
            return base | Qt.ItemFlag.ItemIsEditable
        if k == "output":
            if c in (ACT, INIT, GAIN):
                return base | Qt.ItemFlag.ItemIsEditable
            if c == TRAIN:
                return base | Qt.ItemFlag.ItemIsUserCheckable
            return base
        if k == "dropout" and c == DROP:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        r, c = index.row(), index.column()
        e = self.entry(r)
        k = kind_of(e)
        err = self.checked.cells.get((r, c), "")
        if role == ROLE_ERROR:
            return err
        if role == Qt.ItemDataRole.BackgroundRole and err:
            return QColor("#5c2b29") if theme.current().name == "dark" else QColor("#fce8e6")
        if k == "output":
            return self._output_data(r, c, e, role, err)
        if k == "dense":
            return self._dense_data(r, c, e, role, err)
        return self._standalone_data(c, e, k, role, err)

    def _muted(self) -> QColor:
        return QColor(theme.current().muted)

    def _train_data(self, e, role, err):
        """The lock column: checked (a closed padlock) when the layer is frozen."""
        D = Qt.ItemDataRole
        frozen = e.get("trainable", True) is False
        if role == D.CheckStateRole:
            return Qt.CheckState.Checked if frozen else Qt.CheckState.Unchecked
        if role == D.DecorationRole and frozen:
            return lock_icon()
        if role == D.ToolTipRole:
            return err or frozen_tip(frozen)
        return None

    def _dense_data(self, r, c, e, role, err):
        D = Qt.ItemDataRole
        eff = self.effective(r) or {}
        e = {**eff, **e}  # the entry's own values, else those in effect
        if isinstance(eff.get("init"), dict) and "from" in eff["init"]:
            e["init"] = eff["init"]  # reused (network.reuse): what the run does
        if c == TRAIN:
            return self._train_data(e, role, err)
        if c == BN:
            if role == D.CheckStateRole:
                return Qt.CheckState.Checked if e.get("batchnorm") else Qt.CheckState.Unchecked
            if role == D.ToolTipRole:
                return err or HEADER_TIPS[BN]
            return None
        if role in (D.DisplayRole, D.EditRole):
            return self._cell_text(c, e, role == D.EditRole)
        if role == D.ToolTipRole:
            return err or self._cell_tip(c, e)
        if role == D.ForegroundRole and not err:
            plain = catalog.DENSE["gain"].default
            if (c == GAIN and e.get("gain", plain) == plain) or (
                c == DROP and not e.get("dropout")
            ):
                return self._muted()
        if role == D.TextAlignmentRole and c in (UNITS, GAIN, DROP):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _cell_text(self, c: int, e: dict, edit: bool) -> str:
        if c == UNITS:
            return fmt(e.get("units", ""))
        if c == ACT:
            name = fmt(e.get("activation", ""))
            extra = [fmt(e[x]) for x in catalog.activation_params() if x in e]
            return name if edit or not extra else f"{name}({', '.join(extra)})"
        if c == INIT:
            init = e.get("init", "")
            if isinstance(init, dict) and "from" in init:  # a reused layer
                src = str(init["from"]).replace("\\", "/").rsplit("/", 1)[-1]
                return f"from {src} [{fmt(init.get('layer', '?'))}]"
            name = init_name(init)
            ps = init_params(init)
            return name if edit or not ps else f"{name}({', '.join(fmt(v) for v in ps.values())})"
        if c == GAIN:
            g = e.get("gain", init_params_gain(e))
            return fmt(g if g is not None else catalog.DENSE["gain"].default)
        if c == DROP:
            return fmt(e.get("dropout", 0.0) if kind_of(e) != "dropout" else e.get("rate", ""))
        return ""

    def _cell_tip(self, c: int, e: dict) -> str:
        init = e.get("init")
        if c == INIT and isinstance(init, dict) and "from" in init:
            return (f"Reused: starts from layer {fmt(init.get('layer', '?'))} of "
                    f"{init['from']} (its weights, and its bias, batch norm and slopes when both "
                    "layers have them).")
        if c in (ACT, INIT):
            kind = "activation" if c == ACT else "initializer"
            name = e.get("activation") if c == ACT else init_name(e.get("init"))
            comp = catalog.get(kind, name)
            return f"{comp.name}: {comp.description}" if comp else HEADER_TIPS[c]
        return HEADER_TIPS[c]

    def _output_data(self, r, c, e, role, err):
        D = Qt.ItemDataRole
        eff = self.effective(r) or {}
        explicit = self.output or {}
        if c == TRAIN:
            return self._train_data({**eff, **explicit}, role, err)
        own = {ACT: "activation" in explicit, INIT: "init" in explicit, GAIN: "gain" in explicit}
        if role in (D.DisplayRole, D.EditRole):
            if c == UNITS:
                if role == D.EditRole:
                    return ""
                return f"= {self.n_classes}" if self.n_classes else "= classes"
            if c in (ACT, INIT, GAIN):
                src = {**eff, **{k: v for k, v in e.items() if k != "type"}}
                if c == INIT and "init" not in explicit and eff:
                    src["init"] = eff.get("init")
                return self._cell_text(c, src, role == D.EditRole)
            return ""
        if role == D.ToolTipRole:
            if err:
                return err
            if c == UNITS:
                n = f" ({self.n_classes} here)" if self.n_classes else ""
                return f"= classes: the output layer has one unit per class{n}, set by the data."
            if c in (BN, DROP):
                return "The output layer takes neither batch norm nor dropout."
            tip = self._cell_tip(c, {**eff, **explicit})
            if c in own and not own[c]:
                tip += " (as the engine appends it by default; edit to set your own)"
            return tip
        if role == D.ForegroundRole and not err and (c == UNITS or (c in own and not own[c])):
            return self._muted()
        if role == D.FontRole and (c == UNITS or (c in own and not own[c])):
            f = QFont()
            f.setItalic(True)
            return f
        if role == D.TextAlignmentRole and c in (UNITS, GAIN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _standalone_data(self, c, e, k, role, err):
        D = Qt.ItemDataRole
        if role in (D.DisplayRole, D.EditRole):
            if c == UNITS:
                if k == "batchnorm":
                    shown = {p.name: e.get(p.name, p.default) for p in catalog.BATCHNORM}
                    return (
                        "batch norm  ("
                        + ", ".join(
                            f"{p.label.lower()} {fmt(shown[p.name])}" for p in catalog.BATCHNORM
                        )
                        + ")"
                    )
                if k == "dropout":
                    return "dropout"
                return f"unknown layer type {k!r}"
            if c == DROP and k == "dropout":
                return fmt(e.get("rate", ""))
            return ""
        if role == D.ToolTipRole:
            if err:
                return err
            if k == "batchnorm":
                return "Batch normalisation of the previous layer's output (edit below)."
            if k == "dropout":
                return "Dropout of the previous layer's output: the fraction of units zeroed."
        if role == D.ForegroundRole and c == UNITS and not err:
            return self._muted()
        if role == D.FontRole and c == UNITS:
            f = QFont()
            f.setItalic(True)
            return f
        if role == D.TextAlignmentRole and c == DROP:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.CheckStateRole and c in (BN, TRAIN):
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            return self.panel.edit_cell(r, c, checked)
        if role == Qt.ItemDataRole.EditRole:
            return self.panel.edit_cell(r, c, value)
        return False


def init_params_gain(e: dict) -> Any:
    init = e.get("init")
    if isinstance(init, dict) and "gain" in init:
        return init["gain"]
    return None


# ====================================================================== the view and delegate
class ChoiceEditor(QComboBox):
    """The combo box editing an activation / init cell: a pick from its list commits at once."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.popup_used = False

    def showPopup(self) -> None:
        self.popup_used = True
        super().showPopup()


class LayerDelegate(QStyledItemDelegate):
    def __init__(self, view: LayerView):
        super().__init__(view)
        self.view = view

    def createEditor(self, parent, option, index):
        c = index.column()
        if c in (ACT, INIT):
            combo = ChoiceEditor(parent)
            param = catalog.DENSE["activation" if c == ACT else "init"]
            for name in param.choices:
                combo.addItem(name, name)
                combo.setItemData(
                    combo.count() - 1, param.help_for(name), Qt.ItemDataRole.ToolTipRole
                )
            combo.activated.connect(lambda _i, w=combo: self._picked(w))
            if self.view.open_popup:
                QTimer.singleShot(0, combo, combo.showPopup)
            return combo
        editor = QLineEdit(parent)
        editor.setFrame(False)
        editor.setAlignment(Qt.AlignmentFlag.AlignRight)
        return editor

    def _picked(self, combo: ChoiceEditor) -> None:
        if combo.popup_used:
            self.commitData.emit(combo)
            self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.NoHint)

    def setEditorData(self, editor, index) -> None:
        text = index.data(Qt.ItemDataRole.EditRole) or ""
        if isinstance(editor, QComboBox):
            i = editor.findData(text)
            if i < 0:
                i = editor.findData(
                    canonical_act(text) if index.column() == ACT else canonical_init(text)
                )
            editor.setCurrentIndex(max(0, i))
        else:
            editor.setText(str(text))
            editor.selectAll()

    def setModelData(self, editor, model, index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
        else:
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor, option, index) -> None:
        editor.setGeometry(option.rect)

    def paint(self, painter, option, index) -> None:
        super().paint(painter, option, index)
        if index.data(ROLE_ERROR):  # a red frame shows the error even on a selected row
            painter.save()
            painter.setPen(QPen(QColor(theme.current().error), 2))
            painter.drawRect(option.rect.adjusted(1, 1, -1, -1))
            painter.restore()


class LayerView(QTableView):
    """The layer table; remembers whether an edit started with the mouse (open the list), and
    asks for the height of its rows (the layout gives it up to the dock's height)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.open_popup = False

    def show_model(self, model: LayerModel) -> None:
        """Show ``model``: rows selected whole, edits on a double-click, F2 or typing, compact
        rows, the Init column taking the width left."""
        self.setModel(model)
        self.setItemDelegate(LayerDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.92)
        self.setFont(font)
        fm = self.fontMetrics()
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(fm.height() + 8)
        vh.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        vh.setMinimumWidth(fm.horizontalAdvance("out") + 12)
        hh = self.horizontalHeader()
        hh.setFont(font)
        hh.setHighlightSections(False)
        hh.setMinimumSectionSize(24)
        for c in (UNITS, ACT, GAIN, BN, DROP, TRAIN):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(INIT, QHeaderView.ResizeMode.Stretch)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def _rows_height(self, rows: int) -> int:
        frame = 2 * self.frameWidth()
        header = self.horizontalHeader().sizeHint().height()
        bar = self.horizontalScrollBar()
        extra = bar.sizeHint().height() if bar.isVisible() else 0
        return frame + header + rows * self.verticalHeader().defaultSectionSize() + extra

    def sizeHint(self) -> QSize:
        n = self.model().rowCount() if self.model() is not None else 0
        return QSize(super().sizeHint().width(), self._rows_height(max(n, 4)))

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._rows_height(4))

    def edit(self, index, trigger=None, event=None):
        if trigger is None:  # the public one-argument overload
            return super().edit(index)
        T = QAbstractItemView.EditTrigger
        self.open_popup = trigger == T.DoubleClicked
        return super().edit(index, trigger, event)
