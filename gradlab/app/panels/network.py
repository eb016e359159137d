"""The Network panel: the layer table, a "depth x width" quick builder, the selected layer's
details and the parameter count.

The table shows one row per entry of ``network.layers`` (dense layers, and standalone batch-norm
and dropout rows) and the output layer as its last, non-removable row: its activation,
initialiser and gain are editable, its width is "= classes". An output layer that only repeats
what the engine would append anyway (linear, the last hidden layer's initialiser and bias) is
kept implicit, so it follows the hidden layers and any dataset.

Every committed edit (a cell, a details field, a toolbar action, the quick builder) is one command
on an undo stack (the window's document stack, so one Ctrl+Z history covers every edit; a panel
on its own has its own) and emits :attr:`specEdited` once. Bad cells turn red with the
one-sentence message of the spec layer's one check as their tooltip.

What the table knows about layers it reads from the spec layer: the columns and their tooltips,
the activation and initialiser lists, which activation takes which parameter, each
initialiser's parameters, the default layer, the quick builder's grammar, the architecture string
and the parameter count (:mod:`gradlab.experiment.spec.layers`, ``catalog``).

Keys in the table: Insert adds a layer after the current one (a copy of the previous hidden
layer), Delete removes the selected rows, Ctrl+D duplicates, Ctrl+Up / Ctrl+Down move them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.panels.base import SpecPanel
from gradlab.app.panels.forms import (
    ParamForm,
    blocked,
    icon,
    make_form,
    mark_error,
    muted,
    retint,
)
from gradlab.app.panels.layer_table import (
    ACT,
    BN,
    COLUMNS,
    DROP,
    GAIN,
    INIT,
    KEY_COLUMN,
    TRAIN,
    UNITS,
    Checked,
    LayerModel,
    LayerView,
)
from gradlab.app.preview import preview_service
from gradlab.experiment.spec import catalog, check, effective_layers
from gradlab.experiment.spec import layers as L
from gradlab.experiment.spec.layers import fmt, kind_of, layers_of, parse_number
from gradlab.params import Param

__all__ = ["ACT", "BN", "DROP", "GAIN", "INIT", "TRAIN", "UNITS", "NetworkPanel", "human_count"]


def undo_keys() -> list[QKeySequence]:
    return [QKeySequence(QKeySequence.StandardKey.Undo)]


def redo_keys() -> list[QKeySequence]:
    keys = [
        QKeySequence("Ctrl+Shift+Z"),
        QKeySequence(QKeySequence.StandardKey.Redo),
        QKeySequence("Ctrl+Y"),
    ]
    return list(dict.fromkeys(keys).keys())


def human_count(n: int) -> str:
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.0f} k" if n >= 100_000 else f"{n / 1e3:.1f} k"
    return f"{n / 1e6:.1f} M"


def check_layers(spec: dict, rows: list[dict], output: dict | None) -> Checked:
    """The spec's one check, for the spec with these rows: problems by (row, column)."""
    net = spec.get("network") if isinstance(spec.get("network"), dict) else {}
    full = {**spec, "network": {**net, "layers": layers_of(rows, output)}}
    problems = check(full).under("network")
    cells: dict[tuple[int, int], str] = {}
    for p in problems:
        r = len(rows) if p.layer is None else p.layer
        cells.setdefault((r, KEY_COLUMN.get(p.key, UNITS)), p.message)
    by_field = problems.by_field()
    ordered = [cells[k] for k in sorted(cells)]
    return Checked(cells, ordered, effective_layers(full)), by_field


# ====================================================================== undo
@dataclass
class NetState:
    rows: list[dict]
    output: dict | None
    selected: list[int]
    current: tuple[int, int]


class StateCommand(QUndoCommand):
    """One committed edit: the state before and after (the layer list is small)."""

    def __init__(self, panel: NetworkPanel, before: NetState, after: NetState, text: str):
        super().__init__(text)
        self.panel, self.before, self.after = panel, before, after

    def redo(self) -> None:
        self.panel._restore(self.after)

    def undo(self) -> None:
        self.panel._restore(self.before)


# ====================================================================== the panel
class NetworkPanel(SpecPanel):
    """The layer table and its tools (see the module docstring)."""

    title = "Network"
    KEY_CLAIMERS = (LayerView,)

    def __init__(self, parent: QWidget | None = None, undo_stack: QUndoStack | None = None):
        super().__init__(parent)
        self._errors: list[str] = []
        self._by_field: dict[str, str] = {}
        self._dims: tuple[int, int] | None = None  # (input_dim, n_classes)
        self._dims_key = ""
        self._service = preview_service()
        self._service.ready.connect(self._on_dims)
        #: the panel's edits are commands on this stack: its own, or the window's document stack
        #: (one undo history for every edit of the spec, the window's Ctrl+Z)
        self._own_stack = undo_stack is None
        self.undo_stack = QUndoStack(self) if undo_stack is None else undo_stack
        if self._own_stack:
            self.undo_stack.setUndoLimit(500)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)

        # -- quick builder
        quick = QHBoxLayout()
        quick.setSpacing(4)
        self.quick = QLineEdit(self)
        self.quick.setPlaceholderText(L.QUICK_EXAMPLE)
        self.quick_tip = L.QUICK_HELP
        self.quick.setToolTip(self.quick_tip)
        self.quick.returnPressed.connect(self.build_quick)
        self.quick.textEdited.connect(lambda _t: mark_error(self.quick, "", self.quick_tip))
        self.quick_button = QPushButton("Build", self)
        self.quick_button.setToolTip(self.quick_tip)
        self.quick_button.clicked.connect(self.build_quick)
        quick.addWidget(self.quick, 1)
        quick.addWidget(self.quick_button)
        lay.addLayout(quick)

        # -- the table
        self.model = LayerModel(self)
        self.view = LayerView(self)
        self.view.show_model(self.model)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.view.selectionModel().currentChanged.connect(lambda *_: self._selection_changed())

        # -- actions (on the table: they must not fire while a cell editor has the focus)
        self._icons: list[tuple[QAction, str]] = []

        def act(text, shortcut, slot, ic=None, tip=""):
            a = QAction(text, self)
            if shortcut:
                a.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
                a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            if ic:
                a.setIcon(icon(ic))
                self._icons.append((a, ic))
            keys = ", ".join(
                s.toString(QKeySequence.SequenceFormat.NativeText) for s in a.shortcuts()
            )
            a.setToolTip(f"{tip or text}" + (f" ({keys})" if keys else ""))
            a.triggered.connect(slot)
            self.view.addAction(a)
            return a

        self.act_add = act(
            "Add layer",
            QKeySequence(Qt.Key.Key_Insert),
            self.add_layer,
            "add",
            "Add a layer after the current one (a copy of the previous hidden layer)",
        )
        self.act_add_bn = act(
            "Add batch norm",
            None,
            lambda: self.add_standalone("batchnorm"),
            tip="Add a standalone batch-norm layer after the current one",
        )
        self.act_add_dropout = act(
            "Add dropout",
            None,
            lambda: self.add_standalone("dropout"),
            tip="Add a standalone dropout layer after the current one",
        )
        self.act_remove = act(
            "Remove",
            [QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace)],
            self.remove_selected,
            "remove",
            "Remove the selected layers",
        )
        self.act_duplicate = act(
            "Duplicate",
            QKeySequence("Ctrl+D"),
            self.duplicate_selected,
            "duplicate",
            "Duplicate the selected layers",
        )
        self.act_up = act(
            "Move up",
            QKeySequence("Ctrl+Up"),
            lambda: self.move_selected(-1),
            "up",
            "Move the selected layers up",
        )
        self.act_down = act(
            "Move down",
            QKeySequence("Ctrl+Down"),
            lambda: self.move_selected(1),
            "down",
            "Move the selected layers down",
        )
        self.act_undo = self.undo_stack.createUndoAction(self, "Undo")
        self.act_redo = self.undo_stack.createRedoAction(self, "Redo")
        if self._own_stack:  # (on the window's stack, the window's Edit menu has the keys)
            self.act_undo.setShortcuts(undo_keys())
            self.act_redo.setShortcuts(redo_keys())
        for a, ic in ((self.act_undo, "undo"), (self.act_redo, "redo")):
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.setIcon(icon(ic))
            self._icons.append((a, ic))
            self.addAction(a)
        self.undo_stack.indexChanged.connect(lambda _i: self._update_undo_tips())

        bar = QHBoxLayout()
        bar.setSpacing(2)
        add_button = QToolButton(self)
        add_button.setDefaultAction(self.act_add)
        add_menu = QMenu(add_button)
        add_menu.addAction(self.act_add)
        add_menu.addAction(self.act_add_bn)
        add_menu.addAction(self.act_add_dropout)
        add_menu.setToolTipsVisible(True)
        add_button.setMenu(add_menu)
        add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.buttons = [add_button]
        bar.addWidget(add_button)
        for a in (self.act_remove, self.act_duplicate, self.act_up, self.act_down):
            b = QToolButton(self)
            b.setDefaultAction(a)
            bar.addWidget(b)
            self.buttons.append(b)
        bar.addStretch(1)
        for a in (self.act_undo, self.act_redo):
            b = QToolButton(self)
            b.setDefaultAction(a)
            bar.addWidget(b)
            self.buttons.append(b)
        for b in self.buttons:
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # toolbar buttons: keys have shortcuts
            b.setAutoRaise(True)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        lay.addLayout(bar)
        lay.addWidget(self.view)

        # -- the summary: architecture and parameter count
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary)

        # -- the selected layer's details
        self.details = QGroupBox("Layer", self)
        self.details_form = make_form(self.details)
        self.details_params = ParamForm(self.details_form, "", self.details)
        self.details_params.edited.connect(self._on_detail)
        self.details_note = muted(QLabel(self.details))
        self.details_note.setWordWrap(True)
        lay.addWidget(self.details)
        lay.addStretch(1)

        self._detail_row: int | None = None
        self._detail_sig: tuple = ()
        self._apply(NetState([L.default_layer()], None, [0], (0, UNITS)))
        self._update_undo_tips()

    # ================================================================== state
    def state(self) -> NetState:
        sm = self.view.selectionModel()
        selected = sorted({i.row() for i in sm.selectedRows()})
        cur = self.view.currentIndex()
        return NetState(
            copy.deepcopy(self.model.rows),
            copy.deepcopy(self.model.output),
            selected,
            (cur.row(), cur.column()) if cur.isValid() else (-1, -1),
        )

    def layers(self) -> list[dict]:
        """The layer list the table shows (as it would be emitted)."""
        return layers_of(self.model.rows, self.model.output)

    def _apply(self, st: NetState) -> None:
        """Show ``st`` (model -> UI): table, spans, selection, errors, summary, details."""
        rows, output = copy.deepcopy(st.rows), copy.deepcopy(st.output)
        checked, self._by_field = check_layers(self._spec, rows, output)
        self.model.n_classes = self._dims[1] if self._dims else None
        scroll = self.view.verticalScrollBar().value()
        self.model.set_state(rows, output, checked)
        self.view.verticalScrollBar().setValue(scroll)  # a reset must not jump to the top
        self.view.clearSpans()
        for r, e in enumerate(rows):
            k = kind_of(e)
            if k == "dropout":
                self.view.setSpan(r, 0, 1, DROP)
            elif k != "dense":
                self.view.setSpan(r, 0, 1, len(COLUMNS))
        n = self.model.rowCount()
        sm = self.view.selectionModel()
        with blocked(sm):
            sm.clearSelection()
            SF = QItemSelectionModel.SelectionFlag
            flags = SF.Select | SF.Rows
            for r in st.selected:
                if 0 <= r < n:
                    sm.select(self.model.index(r, 0), flags)
            r, c = st.current
            if 0 <= r < n and 0 <= c < len(COLUMNS):
                sm.setCurrentIndex(self.model.index(r, c), SF.NoUpdate)
        self.view.viewport().update()
        self.view.updateGeometry()
        self._set_errors(checked.messages)
        self._update_summary()
        self._selection_changed()

    def _restore(self, st: NetState) -> None:
        """Apply a command's state and emit the spec (redo / undo)."""
        self._apply(st)
        self._emit()

    def _emit(self) -> None:
        spec = copy.deepcopy(self._spec)
        net = spec.get("network") if isinstance(spec.get("network"), dict) else {}
        spec["network"] = {**net, "layers": self.layers()}
        self._spec = spec
        self.specEdited.emit(copy.deepcopy(spec))

    def commit(
        self,
        rows: list[dict],
        output: dict | None,
        text: str,
        selected: list[int] | None = None,
        current: tuple[int, int] | None = None,
    ) -> bool:
        """Push the change as one undoable command (which emits the spec); False if no-op."""
        if output is not None and L.is_default_output(rows, output):
            output = None
        before = self.state()
        if rows == before.rows and output == before.output:
            return False
        after = NetState(
            copy.deepcopy(rows),
            copy.deepcopy(output),
            before.selected if selected is None else selected,
            before.current if current is None else current,
        )
        self.undo_stack.push(StateCommand(self, before, after, text))
        return True

    # ================================================================== model -> UI
    def set_spec(self, spec: dict) -> None:
        super().set_spec(spec)
        net = spec.get("network") if isinstance(spec.get("network"), dict) else {}
        rows, output = L.split_layers(net.get("layers", []))
        cur = self.state()
        same = (rows, output) == (cur.rows, cur.output) or L.same_network(
            layers_of(rows, output), layers_of(cur.rows, cur.output)
        )
        self._request_dims()
        if same:
            self._apply(cur)  # the loss may have changed: revalidate, keep the user's view
            return
        if self._own_stack:  # (a shared stack is the window's: it clears it on a new document)
            self.undo_stack.clear()
        selected = [r for r in cur.selected if r <= len(rows)]
        r, c = cur.current
        current = (min(r, len(rows)), c) if r >= 0 else (-1, -1)
        self._apply(NetState(rows, output, selected, current))

    # ================================================================== errors
    def errors(self) -> list[str]:
        return list(self._errors)

    def _set_errors(self, errs: list[str]) -> None:
        if errs != self._errors:
            self._errors = errs
            self.errorsChanged.emit()

    def cell_error(self, row: int, column: int) -> str:
        return self.model.checked.cells.get((row, column), "")

    # ================================================================== cell edits
    def edit_cell(self, r: int, c: int, value: Any) -> bool:
        rows = copy.deepcopy(self.model.rows)
        output = copy.deepcopy(self.model.output)
        is_out = r >= len(rows)
        if is_out:
            e = dict(output or {})
        else:
            e = rows[r]
        k = "output" if is_out else kind_of(e)
        label = "the output layer" if is_out else f"row {r + 1}"
        if c == UNITS and k == "dense":
            e["units"] = parse_number(value)
            text = f"Set units of {label} to {fmt(e['units'])}"
        elif c == ACT and k in ("dense", "output"):
            if not value:
                return False
            L.set_activation(e, str(value))
            text = f"Set activation of {label} to {value}"
        elif c == INIT and k in ("dense", "output"):
            if not value:
                return False
            if is_out and "init" not in e:
                eff = self.model.effective(r) or {}
                e["init"] = copy.deepcopy(eff.get("init", catalog.DENSE["init"].default))
                if eff.get("gain", catalog.DENSE["gain"].default) != catalog.DENSE["gain"].default:
                    e["gain"] = eff["gain"]
            L.set_init(e, str(value))
            text = f"Set init of {label} to {value}"
        elif c == GAIN and k in ("dense", "output"):
            e["gain"] = parse_number(value)
            if isinstance(e.get("init"), dict):
                e["init"].pop("gain", None)
            text = f"Set gain of {label} to {fmt(e['gain'])}"
        elif c == BN and k == "dense":
            e["batchnorm"] = bool(value)
            text = f"{'Enable' if value else 'Disable'} batch norm in {label}"
        elif c == TRAIN and k in ("dense", "output"):
            e["trainable"] = not value  # (explicit: it outranks network.reuse's)
            text = f"{'Freeze' if value else 'Unfreeze'} {label}"
        elif c == DROP and k == "dense":
            e["dropout"] = parse_number(value)
            text = f"Set dropout of {label} to {fmt(e['dropout'])}"
        elif c == DROP and k == "dropout":
            e["rate"] = parse_number(value)
            text = f"Set dropout rate of {label} to {fmt(e['rate'])}"
        else:
            return False
        if is_out:
            output = e
        self.commit(rows, output, text)
        return True

    # ================================================================== structure
    def _current_row(self) -> int:
        cur = self.view.currentIndex()
        if cur.isValid():
            return cur.row()
        sel = self.state().selected
        return sel[-1] if sel else self.model.rowCount() - 1

    def add_layer(self) -> None:
        r = self._current_row()
        at = min(r + 1, len(self.model.rows))  # after the current row, before the output
        rows = L.insert(self.model.rows, at, L.template(self.model.rows, at - 1))
        col = max(self.view.currentIndex().column(), 0)
        self.commit(rows, self.model.output, "Add a layer", [at], (at, col))

    def add_standalone(self, kind: str) -> None:
        r = self._current_row()
        at = min(r + 1, len(self.model.rows))
        rows = L.insert(self.model.rows, at, L.default_standalone(kind))
        self.commit(rows, self.model.output, f"Add {kind}", [at], (at, 0))

    def _selected_hidden(self) -> list[int]:
        sel = self.state().selected
        if not sel:
            cur = self.view.currentIndex()
            sel = [cur.row()] if cur.isValid() else []
        return [r for r in sel if r < len(self.model.rows)]

    def remove_selected(self) -> None:
        sel = self._selected_hidden()
        if not sel:
            return
        rows = L.remove(self.model.rows, sel)
        nxt = min(sel[0], len(rows))
        col = max(self.view.currentIndex().column(), 0)
        n = len(sel)
        self.commit(
            rows, self.model.output, f"Remove {n} layer{'s' if n > 1 else ''}", [nxt], (nxt, col)
        )

    def duplicate_selected(self) -> None:
        sel = self._selected_hidden()
        if not sel:
            return
        rows, new_sel = L.duplicate(self.model.rows, sel)
        col = max(self.view.currentIndex().column(), 0)
        self.commit(rows, self.model.output, "Duplicate", new_sel, (new_sel[-1], col))

    def move_selected(self, delta: int) -> None:
        sel = self._selected_hidden()
        if not sel:
            return
        rows, new_sel = L.move(self.model.rows, sel, delta)
        if new_sel == sel:
            return  # at the end already
        cur = self.view.currentIndex()
        col = max(cur.column(), 0)
        cur_row = cur.row() + delta if cur.isValid() and cur.row() in sel else new_sel[-1]
        if not self.commit(
            rows,
            self.model.output,
            "Move up" if delta < 0 else "Move down",
            new_sel,
            (cur_row, col),
        ):
            # swapped with an identical layer: nothing to emit, but the selection moves on
            st = self.state()
            self._apply(NetState(st.rows, st.output, new_sel, (cur_row, col)))

    def build_quick(self) -> None:
        """The quick builder: replace the hidden layers by ``depth x width [act] [init]``."""
        text = self.quick.text()
        try:
            rows = L.build_quick(self.model.rows, text)
        except ValueError as err:
            mark_error(self.quick, str(err), self.quick_tip)
            return
        mark_error(self.quick, "", self.quick_tip)
        if self.commit(rows, self.model.output, f"Build {text.strip()}", [], (0, UNITS)):
            self.quick.selectAll()

    # ================================================================== the summary
    def _request_dims(self) -> None:
        data = self._spec.get("data")
        if not isinstance(data, dict):
            return
        key, pv = self._service.request(self, data, self._spec.get("seed", 0))
        self._dims_key = key
        if pv is not None:
            self._on_dims(key, pv)

    @Slot(str, object)
    def _on_dims(self, key: str, pv: Any) -> None:
        if key != self._dims_key:
            return
        dims = None if pv.error else (pv.input_dim, pv.n_classes)
        if dims != self._dims:
            self._dims = dims
            self.model.n_classes = dims[1] if dims else None
            self._update_summary()
            out = self.model.rowCount() - 1
            self.model.dataChanged.emit(self.model.index(out, UNITS), self.model.index(out, UNITS))

    def _update_summary(self) -> None:
        rows, output = self.model.rows, self.model.output
        input_dim, n_classes = self._dims if self._dims else (None, None)
        text = f"<b>{L.arch_string(rows, input_dim, n_classes)}</b>"
        tip = "Input - hidden widths ([w]xk: k layers of w units) - classes."
        if self._dims:
            total, lines = L.parameter_count(rows, output, input_dim, n_classes)
            if total is not None:
                text += f", {human_count(total)} parameter{'s' if total != 1 else ''}"
                tip = f"{total:,} learned parameters\n" + "\n".join(lines)
        if self._errors:
            n = len(self._errors)
            color = theme.current().error
            text += f"  <span style='color:{color}'>· {n} error{'s' if n > 1 else ''}</span>"
        self.summary.setText(text)
        self.summary.setToolTip(tip)

    def summary_text(self) -> str:
        """The summary as plain text."""
        return re.sub(r"<[^>]+>", "", self.summary.text())

    # ================================================================== details
    def _selection_changed(self) -> None:
        sel = self.state().selected
        cur = self.view.currentIndex()
        r = sel[-1] if len(sel) == 1 else (cur.row() if cur.isValid() and not sel else None)
        if len(sel) > 1:
            r = None
        n_hidden = len(self.model.rows)
        self.act_remove.setEnabled(bool(self._selected_hidden()))
        self.act_duplicate.setEnabled(bool(self._selected_hidden()))
        hs = self._selected_hidden()
        self.act_up.setEnabled(bool(hs) and hs[0] > 0)
        self.act_down.setEnabled(bool(hs) and hs[-1] < n_hidden - 1)
        self._show_details(r)

    def _detail_params(self, r: int) -> tuple[str, list[Param], dict]:
        """(title, params, values) of row ``r``'s details (:func:`layers.entry_settings`)."""
        e = self.model.entry(r)
        k = kind_of(e)
        params, values = L.entry_settings(e, self.model.effective(r) or {})
        if k == "output":
            title = "Output layer"
        elif k == "dense":
            title = f"Layer {L.dense_index(self.model.rows, r)}"
        else:
            title = {"batchnorm": "Batch norm", "dropout": "Dropout"}.get(k, "Layer")
        return title, params, values

    def _show_details(self, r: int | None) -> None:
        if r is None or r >= self.model.rowCount():
            self.details.hide()
            self._detail_row = None
            return
        title, params, values = self._detail_params(r)
        if not params:
            self.details.hide()
            return
        sig = (r, tuple(p.name for p in params), kind_of(self.model.entry(r)))
        if sig != self._detail_sig:
            self._detail_sig = sig
            self.details_params.build(params)
        self._detail_row = r
        self.details.setTitle(title)
        self.details_params.set_values(values)
        prefix = f"network.layers[{r}]"
        for name, f in self.details_params.fields.items():
            f.path = f"{prefix}.{name}"
        self.details_params.show_problems(self._by_field)
        self.details.show()

    def _on_detail(self, name: str) -> None:
        r = self._detail_row
        if r is None:
            return
        value = self.details_params.fields[name].value()
        rows = copy.deepcopy(self.model.rows)
        output = copy.deepcopy(self.model.output)
        is_out = r >= len(rows)
        e = dict(output or {}) if is_out else rows[r]
        eff = self.model.effective(r) or {}
        label = "the output layer" if is_out else f"row {r + 1}"
        if name.startswith(("init.", "bias_init.")):
            key, pname = name.split(".", 1)
            L.set_init_param(e, key, pname, value, eff.get(key, catalog.DENSE[key].default))
        elif name == "bias_init":
            if "bias_init" not in e:
                e["bias_init"] = copy.deepcopy(eff.get("bias_init", catalog.DENSE[name].default))
            L.set_init(e, str(value), "bias_init")
        else:
            e[name] = value
        if is_out:
            output = e
        self.commit(rows, output, f"Set {name.replace('_', ' ')} of {label} to {fmt(value)}")

    # ================================================================== theme
    def retheme(self) -> None:
        """Redraw what carries theme colours (icons, grey and red text, error marks)."""
        for a, ic in self._icons:
            a.setIcon(icon(ic))
        retint(self)
        if self.quick.property("error"):
            mark_error(self.quick, self.quick.toolTip(), self.quick_tip)
        self.details_params.show_problems(self._by_field)
        self._update_summary()
        self.view.viewport().update()

    # ================================================================== undo tooltips
    def _update_undo_tips(self) -> None:
        try:
            s = self.undo_stack
            undo = f"Undo {s.undoText()} (Ctrl+Z)" if s.canUndo() else "Nothing to undo (Ctrl+Z)"
            redo = f"Redo {s.redoText()} (Ctrl+Shift+Z)" if s.canRedo() else "Nothing to redo"
            self.act_undo.setToolTip(undo)
            self.act_redo.setToolTip(redo)
        except RuntimeError:  # the panel is being destroyed: its stack and actions go first
            return
