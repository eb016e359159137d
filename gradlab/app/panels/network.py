"""The Network panel: the layer table, a "depth x width" quick builder, the selected layer's
details and the parameter count.

The table shows one row per entry of ``network.layers`` (dense layers, and standalone batch-norm
and dropout rows) and the output layer as its last, non-removable row: its activation,
initialiser and gain are editable, its width is "= classes". An output layer that only repeats
what the engine would append anyway (linear, the last hidden layer's initialiser and bias) is
kept implicit, so it follows the hidden layers and any dataset.

Every committed edit (a cell, a details field, a toolbar action, the quick builder) is one command
on the panel's :class:`QUndoStack` (Ctrl+Z / Ctrl+Shift+Z while the focus is in the panel) and
emits :attr:`specEdited` once. Bad cells turn red with the one-sentence message as their tooltip.

Keys in the table: Insert adds a layer after the current one (a copy of the previous hidden
layer), Delete removes the selected rows, Ctrl+D duplicates, Ctrl+Up / Ctrl+Down move them.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QSize,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPen, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QStyledItemDelegate,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradlab import validate
from gradlab.app import theme
from gradlab.app.panels.base import SpecPanel
from gradlab.app.panels.data import preview_service
from gradlab.app.panels.forms import (
    ParamForm,
    blocked,
    icon,
    label_for,
    make_form,
    mark_error,
    muted,
    retint,
)
from gradlab.engine import activations, initializers, losses, resolve_layers
from gradlab.errors import SpecError
from gradlab.params import Param

UNITS, ACT, INIT, GAIN, BN, DROP = range(6)
COLUMNS = ("units", "activation", "init", "gain", "batchnorm", "dropout")
HEADERS = ("Units", "Activation", "Init", "Gain", "BN", "Drop")
HEADER_TIPS = (
    "Units: the layer's width, the number of neurons (fan-out of W).",
    "Activation f(z): hover an item for how it saturates or dies.",
    "Initialisation of W: hover an item for its variance formula (n_in = fan-in).",
    "Gain: multiplies the drawn weights (5/3 for tanh, √2 for ReLU are the classic choices).",
    "BN: batch normalisation of z = xW (+ b) before the activation (Ioffe & Szegedy).",
    "Dropout: the fraction of this layer's outputs zeroed during training (0 = off).",
)
DEFAULT_LAYER = {"type": "dense", "units": 16, "activation": "tanh", "init": "glorot_uniform"}
MAX_QUICK_DEPTH = 200
MAX_QUICK_WIDTH = 100_000
ROLE_ERROR = Qt.ItemDataRole.UserRole + 1
_ROOT = QModelIndex()

_ACT_PARAMS = {"leaky_relu": ("alpha",), "elu": ("alpha",), "maxout": ("pieces",)}
_INIT_HELP = {
    "std": ("Standard deviation σ of the draw (CS231n's W = 0.01·randn: σ = 0.01).", 0.0),
    "mean": ("Mean of the draw.", None),
    "limit": ("Half-width of the interval [-limit, limit].", 0.0),
    "value": ("The value every entry takes.", None),
}


# ====================================================================== the layer list, pure
def kind_of(entry: Any) -> str:
    """The row's kind: dense, batchnorm, dropout, output, or the unknown type itself."""
    if not isinstance(entry, dict):
        return "?"
    t = entry.get("type", "dense")
    if t == "output" or (t == "dense" and entry.get("output")):
        return "output"
    return str(t)


def init_name(init: Any) -> str:
    if isinstance(init, dict):
        return str(init.get("name", "?"))
    return str(init) if init is not None else ""


def init_params(init: Any) -> dict:
    """The parameters of an initialiser entry (not its name, not its gain)."""
    if isinstance(init, dict):
        return {k: v for k, v in init.items() if k not in ("name", "gain")}
    return {}


def init_signature(name: str) -> dict[str, Any]:
    """The initialiser's own parameters and their defaults (normal: std, mean)."""
    try:
        cls = initializers.REGISTRY.get(name)
    except SpecError:
        return {}
    sig = inspect.signature(cls.__init__)
    return {
        k: p.default
        for k, p in sig.parameters.items()
        if k not in ("self", "gain") and p.default is not inspect.Parameter.empty
    }


def canonical_init(name: str) -> str:
    try:
        return initializers.REGISTRY.canonical(name)
    except SpecError:
        return name


def canonical_act(name: str) -> str:
    try:
        return activations.REGISTRY.canonical(name)
    except SpecError:
        return name


def _output_entry(output: dict | None) -> list[dict]:
    return [] if output is None else [{"type": "output", **output}]


def layers_of(rows: list[dict], output: dict | None) -> list[dict]:
    """The ``network.layers`` list for the table's rows and output entry."""
    return copy.deepcopy(rows) + copy.deepcopy(_output_entry(output))


def _resolved_output(rows: list[dict], output: dict | None) -> dict | None:
    try:
        return resolve_layers(layers_of(rows, output), 1)[-1]
    except (SpecError, TypeError, ValueError):
        return None


def is_default_output(rows: list[dict], output: dict | None) -> bool:
    """True when the explicit ``output`` entry builds exactly what the engine appends anyway."""
    if output is None:
        return True
    explicit = _resolved_output(rows, output)
    return explicit is not None and explicit == _resolved_output(rows, None)


def split_layers(layers: Any) -> tuple[list[dict], dict | None]:
    """(hidden rows, explicit output entry or None) from a ``network.layers`` list.

    The output entry loses its ``type``/``output``/``units`` keys (its width is the number of
    classes) and is dropped when it is the default one.
    """
    if not isinstance(layers, list):
        return [], None
    rows = [copy.deepcopy(e) if isinstance(e, dict) else {"type": str(e)} for e in layers]
    output = None
    if rows and kind_of(rows[-1]) == "output":
        out = rows.pop()
        output = {k: v for k, v in out.items() if k not in ("type", "output", "units")}
        for k in ("batchnorm", "dropout"):
            if k in output and not output[k]:
                del output[k]
        if is_default_output(rows, output):
            output = None
    return rows, output


def parse_number(text: Any) -> Any:
    """A typed cell: an int or float when it reads as one, else the text itself (flagged)."""
    if not isinstance(text, str):
        return text
    s = text.strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        return s
    return int(v) if math.isfinite(v) and v == int(v) and "." not in s else v  # "1e3" -> 1000


def fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    return "" if v is None else str(v)


def parameter_count(rows: list[dict], output: dict | None, input_dim: int, n_classes: int):
    """(total, per-layer lines) of learned parameters, or (None, []) if the list is invalid."""
    try:
        resolved = resolve_layers(layers_of(rows, output), n_classes)
    except (SpecError, TypeError, ValueError):
        return None, []
    width = input_dim
    total = 0
    lines = []
    l = 0
    for e in resolved:
        if e["type"] == "dense":
            l += 1
            pieces = e.get("pieces", 1) if e["activation"] == "maxout" else 1
            fan_out = e["units"] * pieces
            n = width * fan_out + (fan_out if e["bias"] else 0)
            if e["batchnorm"]:
                n += 2 * fan_out
            name = "output" if e["output"] else f"layer {l}"
            lines.append(f"{name}: {width}×{fan_out} = {n:,}")
            total += n
            width = e["units"]
        elif e["type"] == "batchnorm":
            total += 2 * width
            lines.append(f"batch norm: {2 * width:,}")
    return total, lines


def arch_string(rows: list[dict], input_dim: int | None, n_classes: int | None) -> str:
    """``784-[512]x4-10``: input, hidden widths (runs of equal widths grouped), outputs."""
    widths = [r.get("units") for r in rows if kind_of(r) == "dense"]
    parts: list[str] = [str(input_dim) if input_dim else "?"]
    i = 0
    while i < len(widths):
        j = i
        while j + 1 < len(widths) and widths[j + 1] == widths[i]:
            j += 1
        run = j - i + 1
        parts.append(f"[{fmt(widths[i])}]x{run}" if run > 1 else fmt(widths[i]))
        i = j + 1
    parts.append(str(n_classes) if n_classes else "?")
    return "-".join(parts)


def human_count(n: int) -> str:
    if n < 10_000:
        return f"{n:,}"
    if n < 1_000_000:
        return f"{n / 1e3:.0f} k" if n >= 100_000 else f"{n / 1e3:.1f} k"
    return f"{n / 1e6:.1f} M"


def parse_quick(text: str) -> tuple[list[int], str | None, str | None]:
    """``"5 x 1000 tanh glorot_standard"`` -> ([1000] * 5, "tanh", "glorot_standard").

    Also ``[1000]x5``, ``5x1000``, ``5 × 1000`` and plain width lists (``"256 128 64 relu"``).
    Raises ValueError with one sentence.
    """
    s = text.strip().lower().replace("×", "x").replace("*", "x")
    if not s:
        raise ValueError("Type a depth and width, e.g. '5 x 1000 tanh glorot_standard'.")
    s = re.sub(r"\[(\d+)\]\s*x\s*(\d+)", r"\2 x \1", s)
    s = re.sub(r"(\d+)\s*x\s*(\d+)", r"\1 x \2", s)
    tokens = [t for t in re.split(r"[\s,;]+", s) if t]
    for t in tokens:  # name an unknown word first: it is the likeliest mistake
        if not (t.isdigit() or t == "x" or t in activations.REGISTRY or t in initializers.REGISTRY):
            raise ValueError(
                f"'{t}' is neither a number, an activation nor an initialiser "
                "(write e.g. '5 x 1000 tanh glorot_standard')."
            )
    widths: list[int] = []
    act = init = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.isdigit() and i + 2 < len(tokens) and tokens[i + 1] == "x" and tokens[i + 2].isdigit():
            depth, width = int(t), int(tokens[i + 2])
            if depth < 1 or width < 1:
                raise ValueError("Depth and width must be at least 1.")
            widths += [width] * depth
            i += 3
            continue
        if t.isdigit():
            if int(t) < 1:
                raise ValueError("A layer needs at least 1 unit.")
            widths.append(int(t))
        elif t in activations.REGISTRY and act is None:
            act = activations.REGISTRY.canonical(t)
        elif t in initializers.REGISTRY and init is None:
            init = initializers.REGISTRY.canonical(t)
        elif t == "x":
            raise ValueError("Write 'x' between a depth and a width, e.g. '5 x 1000'.")
        else:
            raise ValueError(
                f"'{t}' is neither a number, an activation nor an initialiser "
                "(write e.g. '5 x 1000 tanh glorot_standard')."
            )
        i += 1
    if not widths:
        raise ValueError("Give the depth and width, e.g. '5 x 1000' (or widths: '256 128').")
    if len(widths) > MAX_QUICK_DEPTH:
        raise ValueError(f"At most {MAX_QUICK_DEPTH} layers, please ({len(widths)} asked).")
    if max(widths) > MAX_QUICK_WIDTH:
        raise ValueError(f"At most {MAX_QUICK_WIDTH:,} units per layer, please.")
    return widths, act, init


def set_activation(entry: dict, name: str) -> None:
    """Set the activation, dropping parameters the new one does not take."""
    entry["activation"] = name
    for k in ("alpha", "pieces"):
        if k not in _ACT_PARAMS.get(canonical_act(name), ()):
            entry.pop(k, None)


def set_init(entry: dict, name: str, key: str = "init") -> None:
    """Set an initialiser by name, keeping the parameters the new one shares with the old."""
    old = entry.get(key)
    if isinstance(old, dict) and "gain" in old and key == "init":
        entry.setdefault("gain", old["gain"])  # the table shows one gain: keep it in the layer
    keep = {k: v for k, v in init_params(old).items() if k in init_signature(name)}
    entry[key] = {"name": name, **keep} if keep else name


# ====================================================================== per-cell validation
@dataclass
class Checked:
    """Errors by (row, column) plus the messages in table order."""

    cells: dict[tuple[int, int], str]
    messages: list[str]
    resolved: list[dict] | None


def check_layers(rows: list[dict], output: dict | None, loss: str | None) -> Checked:
    cells: dict[tuple[int, int], str] = {}

    def put(r: int, c: int, err: SpecError) -> None:
        cells.setdefault((r, c), str(err.prefixed("network")))

    def attempt(r: int, c: int, fn) -> None:
        try:
            fn()
        except SpecError as err:
            put(r, c, err)

    for r, e in enumerate([*rows, {"type": "output", **(output or {})}]):
        path = f"layers[{r}]"
        k = kind_of(e)
        if k in ("dense", "output"):
            if k == "dense":
                attempt(
                    r,
                    UNITS,
                    lambda e=e, p=path: validate.integer(e.get("units"), f"{p}.units", minimum=1),
                )
            act_params = {x: e[x] for x in ("alpha", "pieces") if x in e}
            default_act = "linear" if k == "output" else "relu"
            attempt(
                r,
                ACT,
                lambda e=e, p=path, a=act_params, d=default_act: activations.get(
                    e.get("activation", d), p, **a
                ),
            )
            if "gain" in e:
                attempt(r, GAIN, lambda e=e, p=path: validate.number(e["gain"], f"{p}.gain"))
            if "init" in e:
                attempt(r, INIT, lambda e=e, p=path: initializers.get(e["init"], p, "init"))
            attempt(
                r,
                BN,
                lambda e=e, p=path: validate.boolean(e.get("batchnorm", False), f"{p}.batchnorm"),
            )
            attempt(
                r,
                DROP,
                lambda e=e, p=path: validate.number(
                    e.get("dropout", 0.0), f"{p}.dropout", minimum=0.0, exclusive_maximum=1.0
                ),
            )
        elif k == "dropout":
            attempt(
                r,
                DROP,
                lambda e=e, p=path: validate.number(
                    e.get("rate"), f"{p}.rate", minimum=0.0, exclusive_maximum=1.0
                ),
            )
    resolved = None
    try:
        resolved = resolve_layers(layers_of(rows, output), 1)
    except SpecError as err:
        m = re.match(r"layers\[(\d+)\](?:\.(\w+))?", err.field)
        r = int(m.group(1)) if m else len(rows)
        key = m.group(2) if m else None
        col = {
            "units": UNITS,
            "activation": ACT,
            "alpha": ACT,
            "pieces": ACT,
            "init": INIT,
            "gain": GAIN,
            "batchnorm": BN,
            "dropout": DROP,
            "rate": DROP,
            "bias": INIT,
            "bias_init": INIT,
        }.get(key or "", UNITS)
        put(r, col, err)
    if resolved is not None and loss:
        try:
            expects_linear = losses.get(loss).expects_linear_outputs
        except SpecError:
            expects_linear = False
        out_act = resolved[-1]["activation"]
        if expects_linear and out_act != "linear":
            put(
                len(rows),
                ACT,
                SpecError(
                    f"layers[{len(rows)}].activation",
                    f"{loss} applies its own squashing to the logits, so the output layer must be "
                    f"linear, got {out_act}",
                ),
            )
    ordered = [cells[k] for k in sorted(cells)]
    return Checked(cells, ordered, resolved)


# ====================================================================== the table model
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
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, DROP))
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
            if role == Qt.ItemDataRole.ToolTipRole:
                return HEADER_TIPS[section]
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            k = self.kind(section)
            if k == "output":
                return "out"
            if k == "dense":
                return str(1 + sum(kind_of(e) == "dense" for e in self.rows[:section]))
            return "·"
        if role == Qt.ItemDataRole.ToolTipRole:
            k = self.kind(section)
            if k == "output":
                return "The output layer: one unit per class (always last)."
            if k == "dense":
                n = 1 + sum(kind_of(e) == "dense" for e in self.rows[:section])
                return f"Hidden layer {n} (dense{n})"
            return f"A standalone {k} layer acting on the previous layer's output"
        return None

    # ------------------------------------------------------------------ cells
    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        r, c = index.row(), index.column()
        k = self.kind(r)
        if k == "dense":
            if c == BN:
                return base | Qt.ItemFlag.ItemIsUserCheckable
            return base | Qt.ItemFlag.ItemIsEditable
        if k == "output":
            if c in (ACT, INIT, GAIN):
                return base | Qt.ItemFlag.ItemIsEditable
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

    def _dense_data(self, r, c, e, role, err):
        D = Qt.ItemDataRole
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
            if (c == GAIN and e.get("gain", 1.0) == 1.0) or (c == DROP and not e.get("dropout")):
                return self._muted()
        if role == D.TextAlignmentRole and c in (UNITS, GAIN, DROP):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _cell_text(self, c: int, e: dict, edit: bool) -> str:
        if c == UNITS:
            return fmt(e.get("units", ""))
        if c == ACT:
            name = fmt(e.get("activation", "relu"))
            extra = [fmt(e[x]) for x in ("alpha", "pieces") if x in e]
            return name if edit or not extra else f"{name}({', '.join(extra)})"
        if c == INIT:
            init = e.get("init", "glorot_uniform")
            name = init_name(init)
            ps = init_params(init)
            return name if edit or not ps else f"{name}({', '.join(fmt(v) for v in ps.values())})"
        if c == GAIN:
            g = e.get("gain", init_params_gain(e))
            return fmt(g if g is not None else 1.0)
        if c == DROP:
            return fmt(e.get("dropout", 0.0) if kind_of(e) != "dropout" else e.get("rate", ""))
        return ""

    def _cell_tip(self, c: int, e: dict) -> str:
        if c == ACT:
            try:
                act = activations.REGISTRY.get(e.get("activation", "relu"))
                return f"{act.name}: {act.description}"
            except SpecError:
                return HEADER_TIPS[ACT]
        if c == INIT:
            try:
                cls = initializers.REGISTRY.get(init_name(e.get("init", "glorot_uniform")))
                return f"{cls.name}: {cls.description}"
            except SpecError:
                return HEADER_TIPS[INIT]
        return HEADER_TIPS[c]

    def _output_data(self, r, c, e, role, err):
        D = Qt.ItemDataRole
        eff = self.effective(r) or {}
        explicit = self.output or {}
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
                    return (
                        f"batch norm  (momentum {fmt(e.get('momentum', 0.9))}, "
                        f"ε {fmt(e.get('eps', 1e-5))})"
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
        if role == Qt.ItemDataRole.CheckStateRole and c == BN:
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
            if c == ACT:
                for name in activations.names():
                    combo.addItem(name, name)
                    cls = activations.REGISTRY.get(name)
                    combo.setItemData(
                        combo.count() - 1, cls.description, Qt.ItemDataRole.ToolTipRole
                    )
            else:
                for name in initializers.names():
                    combo.addItem(name, name)
                    cls = initializers.REGISTRY.get(name)
                    combo.setItemData(
                        combo.count() - 1, cls.description, Qt.ItemDataRole.ToolTipRole
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

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._errors: list[str] = []
        self._dims: tuple[int, int] | None = None  # (input_dim, n_classes)
        self._dims_key = ""
        self._service = preview_service()
        self._service.ready.connect(self._on_dims)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.setSpacing(6)

        # -- quick builder
        quick = QHBoxLayout()
        quick.setSpacing(4)
        self.quick = QLineEdit(self)
        self.quick.setPlaceholderText("5 x 1000 tanh glorot_standard")
        self.quick_tip = (
            "Quick builder: depth x width, then an optional activation and initialiser "
            "(e.g. '5 x 1000 tanh glorot_standard', '[512]x4 relu he_normal' or widths "
            "'256 128 64'). Replaces the hidden layers; Enter builds, Ctrl+Z undoes."
        )
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
        self.view.setModel(self.model)
        self.view.setItemDelegate(LayerDelegate(self.view))
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        font = QFont(self.view.font())
        font.setPointSizeF(font.pointSizeF() * 0.92)
        self.view.setFont(font)
        fm = self.view.fontMetrics()
        vh = self.view.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(fm.height() + 8)
        vh.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        vh.setMinimumWidth(fm.horizontalAdvance("out") + 12)
        hh = self.view.horizontalHeader()
        hh.setFont(font)
        hh.setHighlightSections(False)
        hh.setMinimumSectionSize(24)
        for c in (UNITS, ACT, GAIN, BN, DROP):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(INIT, QHeaderView.ResizeMode.Stretch)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
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
        self.act_undo.setShortcuts([QKeySequence(QKeySequence.StandardKey.Undo)])
        self.act_redo = self.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts(
            list(
                dict.fromkeys(
                    [
                        QKeySequence("Ctrl+Shift+Z"),
                        QKeySequence(QKeySequence.StandardKey.Redo),
                        QKeySequence("Ctrl+Y"),
                    ]
                ).keys()
            )
        )
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
        self._apply(NetState([copy.deepcopy(DEFAULT_LAYER)], None, [0], (0, UNITS)))
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

    def _loss(self) -> str | None:
        t = self._spec.get("training")
        loss = t.get("loss") if isinstance(t, dict) else None
        return loss if isinstance(loss, str) else "softmax_cross_entropy"

    def _apply(self, st: NetState) -> None:
        """Show ``st`` (model -> UI): table, spans, selection, errors, summary, details."""
        rows, output = copy.deepcopy(st.rows), copy.deepcopy(st.output)
        checked = check_layers(rows, output, self._loss())
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
        if output is not None and is_default_output(rows, output):
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
        rows, output = split_layers(net.get("layers", []))
        cur = self.state()
        same = (rows, output) == (cur.rows, cur.output) or self._equivalent(rows, output, cur)
        self._request_dims()
        if same:
            self._apply(cur)  # the loss may have changed: revalidate, keep the user's view
            return
        self.undo_stack.clear()
        selected = [r for r in cur.selected if r <= len(rows)]
        r, c = cur.current
        current = (min(r, len(rows)), c) if r >= 0 else (-1, -1)
        self._apply(NetState(rows, output, selected, current))

    @staticmethod
    def _equivalent(rows, output, cur: NetState) -> bool:
        try:
            a = resolve_layers(layers_of(rows, output), 1)
            b = resolve_layers(layers_of(cur.rows, cur.output), 1)
        except (SpecError, TypeError, ValueError):
            return False
        return a == b

    def set_running(self, running: bool) -> None:
        pass  # edits after the start become the next run's spec (the window says so)

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
            set_activation(e, str(value))
            text = f"Set activation of {label} to {value}"
        elif c == INIT and k in ("dense", "output"):
            if not value:
                return False
            if is_out and "init" not in e:
                eff = self.model.effective(r) or {}
                e["init"] = copy.deepcopy(eff.get("init", "glorot_uniform"))
                if "gain" in eff and eff["gain"] != 1.0:
                    e["gain"] = eff["gain"]
            set_init(e, str(value))
            text = f"Set init of {label} to {value}"
        elif c == GAIN and k in ("dense", "output"):
            e["gain"] = parse_number(value)
            if isinstance(e.get("init"), dict):
                e["init"].pop("gain", None)
            text = f"Set gain of {label} to {fmt(e['gain'])}"
        elif c == BN and k == "dense":
            e["batchnorm"] = bool(value)
            text = f"{'Enable' if value else 'Disable'} batch norm in {label}"
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

    def _template(self, before: int) -> dict:
        """A copy of the nearest dense layer at or above row ``before`` (the previous hidden
        layer), else of the first dense layer, else the default layer."""
        rows = self.model.rows
        for r in range(min(before, len(rows) - 1), -1, -1):
            if kind_of(rows[r]) == "dense":
                return copy.deepcopy(rows[r])
        for e in rows:
            if kind_of(e) == "dense":
                return copy.deepcopy(e)
        return copy.deepcopy(DEFAULT_LAYER)

    def add_layer(self) -> None:
        r = self._current_row()
        at = min(r + 1, len(self.model.rows))  # after the current row, before the output
        rows = copy.deepcopy(self.model.rows)
        rows.insert(at, self._template(at - 1))
        col = max(self.view.currentIndex().column(), 0)
        self.commit(rows, self.model.output, "Add a layer", [at], (at, col))

    def add_standalone(self, kind: str) -> None:
        r = self._current_row()
        at = min(r + 1, len(self.model.rows))
        entry = {"type": "batchnorm"} if kind == "batchnorm" else {"type": "dropout", "rate": 0.5}
        rows = copy.deepcopy(self.model.rows)
        rows.insert(at, entry)
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
        rows = [e for i, e in enumerate(copy.deepcopy(self.model.rows)) if i not in sel]
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
        rows = copy.deepcopy(self.model.rows)
        block = [copy.deepcopy(rows[i]) for i in sel]
        at = sel[-1] + 1
        rows[at:at] = block
        new_sel = list(range(at, at + len(block)))
        col = max(self.view.currentIndex().column(), 0)
        self.commit(rows, self.model.output, "Duplicate", new_sel, (new_sel[-1], col))

    def move_selected(self, delta: int) -> None:
        sel = self._selected_hidden()
        if not sel:
            return
        rows = copy.deepcopy(self.model.rows)
        n = len(rows)
        if (delta < 0 and sel[0] == 0) or (delta > 0 and sel[-1] == n - 1):
            return
        order = list(range(n))
        for i in sel if delta < 0 else reversed(sel):
            j = i + delta
            order[i], order[j] = order[j], order[i]
        rows = [rows[i] for i in order]
        new_sel = [i + delta for i in sel]
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
            widths, act, init = parse_quick(text)
        except ValueError as err:
            mark_error(self.quick, str(err), self.quick_tip)
            return
        mark_error(self.quick, "", self.quick_tip)
        template = self._template(0)
        template.pop("units", None)
        if act is not None:
            set_activation(template, act)
        if init is not None:
            template["init"] = init
            template.pop("gain", None)
        rows = [{**copy.deepcopy(template), "units": w} for w in widths]
        for e in rows:  # put the keys in the usual order
            e.setdefault("type", "dense")
        rows = [
            {
                "type": "dense",
                "units": e["units"],
                **{k: v for k, v in e.items() if k not in ("type", "units")},
            }
            for e in rows
        ]
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
        text = f"<b>{arch_string(rows, input_dim, n_classes)}</b>"
        tip = "Input - hidden widths ([w]xk: k layers of w units) - classes."
        if self._dims:
            total, lines = parameter_count(rows, output, input_dim, n_classes)
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
        """(title, params, values) of row ``r``'s details."""
        e = self.model.entry(r)
        k = kind_of(e)
        eff = self.model.effective(r) or {}
        if k == "batchnorm":
            return (
                "Batch norm",
                [
                    Param(
                        "momentum",
                        "float",
                        0.9,
                        "Momentum of the running mean and variance used at evaluation.",
                        minimum=0.0,
                        exclusive_maximum=1.0,
                    ),
                    Param(
                        "eps",
                        "float",
                        1e-5,
                        "ε added to the variance before dividing.",
                        exclusive_minimum=0.0,
                        log=True,
                    ),
                ],
                {"momentum": e.get("momentum", 0.9), "eps": e.get("eps", 1e-5)},
            )
        if k == "dropout":
            return (
                "Dropout",
                [
                    Param(
                        "rate",
                        "float",
                        0.5,
                        "The fraction of the previous layer's outputs zeroed during training.",
                        minimum=0.0,
                        exclusive_maximum=1.0,
                    ),
                ],
                {"rate": e.get("rate")},
            )
        if k not in ("dense", "output"):
            return ("Layer", [], {})
        params: list[Param] = []
        values: dict[str, Any] = {}
        act = canonical_act(str(e.get("activation", eff.get("activation", "relu"))))
        if act == "leaky_relu":
            params.append(
                Param(
                    "alpha",
                    "float",
                    0.01,
                    "Slope α of the negative side.",
                    minimum=0.0,
                    exclusive_maximum=1.0,
                )
            )
        elif act == "elu":
            params.append(
                Param(
                    "alpha",
                    "float",
                    1.0,
                    "α: the value ELU tends to as z → -∞ (times -1).",
                    exclusive_minimum=0.0,
                )
            )
        elif act == "maxout":
            params.append(
                Param(
                    "pieces",
                    "int",
                    2,
                    "Linear pieces k per unit: the layer computes units·k pre-activations.",
                    minimum=2,
                )
            )
        for p in params:
            values[p.name] = e.get(p.name, eff.get(p.name, p.default))
        init = e.get("init", eff.get("init", "glorot_uniform"))
        for name, default in init_signature(init_name(init)).items():
            help_, lo = _INIT_HELP.get(name, (f"The initialiser's {name}.", None))
            params.append(Param(f"init.{name}", "float", default, help_, minimum=lo))
            values[f"init.{name}"] = init_params(init).get(name, default)
        params.append(
            Param(
                "bias",
                "bool",
                True,
                "Whether the layer adds a bias b (off by "
                "default with batch norm, whose β takes its role).",
            )
        )
        values["bias"] = e.get("bias", eff.get("bias", not e.get("batchnorm", False)))
        bias_names = tuple(n for n in initializers.names() if n != "orthogonal")
        params.append(
            Param(
                "bias_init",
                "choice",
                "zeros",
                "How the bias is drawn (Nielsen's network2: normal with σ = 1).",
                choices=bias_names,
            )
        )
        binit = e.get("bias_init", eff.get("bias_init", "zeros"))
        values["bias_init"] = canonical_init(init_name(binit))
        for name, default in init_signature(init_name(binit)).items():
            help_, lo = _INIT_HELP.get(name, (f"The bias initialiser's {name}.", None))
            params.append(Param(f"bias_init.{name}", "float", default, help_, minimum=lo))
            values[f"bias_init.{name}"] = init_params(binit).get(name, default)
        if k == "output":
            title = "Output layer"
        else:
            n = 1 + sum(kind_of(x) == "dense" for x in self.model.rows[:r])
            title = f"Layer {n}"
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
            labels = {"bias": "Bias", "bias_init": "Bias init"}
            for p in params:
                for prefix, lead in (("init.", "Init"), ("bias_init.", "Bias")):
                    if p.name.startswith(prefix):
                        labels[p.name] = f"{lead} {label_for(p.name[len(prefix) :]).lower()}"
            self.details_params.build(params, labels=labels)
        self._detail_row = r
        self.details.setTitle(title)
        self.details_params.set_values(values)
        prefix = f"network.layers[{r}]"
        for name, f in self.details_params.fields.items():
            f.path = f"{prefix}.{name}"
        self.details_params.check()
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
            current = e.get(
                key, copy.deepcopy(eff.get(key, "glorot_uniform" if key == "init" else "zeros"))
            )
            entry = {"name": init_name(current), **init_params(current)}
            if isinstance(current, dict) and "gain" in current:
                entry["gain"] = current["gain"]
            entry[pname] = value
            e[key] = entry
        elif name == "bias_init":
            if "bias_init" not in e:
                e["bias_init"] = copy.deepcopy(eff.get("bias_init", "zeros"))
            set_init(e, str(value), "bias_init")
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
        self.details_params.check()
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
