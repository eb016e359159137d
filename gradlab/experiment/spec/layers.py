"""The layer list as data: what the Network panel's table shows and the edits it makes.

A ``network.layers`` list is split into *rows* (the hidden entries: dense layers, standalone
batch-norm and dropout) and an optional explicit *output* entry. An output entry that only repeats
what the engine appends anyway (linear, the last hidden layer's initialiser, gain and bias) is
left implicit, so it follows the hidden layers and any dataset. Every function here is pure:
rows in, rows out, nothing shared.

The facts come from the engine's declarations (:mod:`gradlab.experiment.spec.catalog`): which
activation takes which parameter, each initialiser's parameters, the default layer, the
architecture string and the parameter count.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Sequence
from typing import Any

from gradlab.engine import architecture, parameter_counts, resolve_layers
from gradlab.errors import SpecError
from gradlab.experiment.spec import catalog

#: the quick builder builds at most this many layers of at most this many units
MAX_QUICK_DEPTH = 200
MAX_QUICK_WIDTH = 100_000
QUICK_EXAMPLE = "5 x 1000 tanh glorot_standard"
QUICK_HELP = (
    "Quick builder: depth x width, then an optional activation and initialiser "
    "(e.g. '5 x 1000 tanh glorot_standard', '[512]x4 relu he_normal' or widths "
    "'256 128 64'). Replaces the hidden layers; Enter builds, Ctrl+Z undoes."
)


def default_layer() -> dict:
    """A new dense layer when there is none to copy: the declared defaults."""
    d = catalog.DENSE
    return {
        "type": "dense",
        "units": d["units"].default,
        "activation": d["activation"].default,
        "init": d["init"].default,
    }


def default_standalone(kind: str) -> dict:
    """A new standalone row: ``{"type": "batchnorm"}`` or a dropout with its declared rate."""
    if kind == "batchnorm":
        return {"type": "batchnorm"}
    return {"type": "dropout", **{p.name: p.default for p in catalog.DROPOUT}}


# ====================================================================== reading entries
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


def init_own_params(name: str):
    """The initialiser's own parameters (normal: std, mean), not the gain the layer holds."""
    return catalog.own_params("initializer", name, drop=("gain",))


def activation_params(name: str):
    """The parameters an activation takes (leaky_relu, elu: alpha; maxout: pieces)."""
    return catalog.own_params("activation", name)


def canonical_act(name: Any) -> str:
    return catalog.canonical("activation", name) or str(name)


def canonical_init(name: Any) -> str:
    return catalog.canonical("initializer", name) or str(name)


def dense_index(rows: Sequence[dict], r: int) -> int:
    """The 1-based number of the dense layer in row ``r`` (dense1, dense2, ...)."""
    return 1 + sum(kind_of(e) == "dense" for e in rows[:r])


# ====================================================================== rows <-> layers
def layers_of(rows: list[dict], output: dict | None) -> list[dict]:
    """The ``network.layers`` list for the table's rows and output entry."""
    out = [] if output is None else [{"type": "output", **output}]
    return copy.deepcopy(rows) + copy.deepcopy(out)


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


def same_network(a: list[dict], b: list[dict]) -> bool:
    """Whether two layer lists build the same network (defaults given or not)."""
    try:
        return resolve_layers(a, 1) == resolve_layers(b, 1)
    except (SpecError, TypeError, ValueError):
        return False


# ====================================================================== the summary
def arch_string(rows: list[dict], input_dim: int | None, n_classes: int | None) -> str:
    """``784-[512]x4-10``: input, hidden widths (runs of equal widths grouped), outputs."""
    widths = [fmt(r.get("units")) for r in rows if kind_of(r) == "dense"]
    return architecture(input_dim, widths, n_classes)


def parameter_count(rows: list[dict], output: dict | None, input_dim: int, n_classes: int):
    """(total, per-layer lines) of learned parameters, or (None, []) if the list is invalid."""
    try:
        resolved = resolve_layers(layers_of(rows, output), n_classes)
    except (SpecError, TypeError, ValueError):
        return None, []
    counts = parameter_counts(resolved, input_dim)
    lines = [
        f"{label}: {2 * fan_in:,}"
        if label == "batch norm"
        else f"{label}: {fan_in}×{fan_out} = {n:,}"
        for label, fan_in, fan_out, n in counts
    ]
    return sum(n for *_, n in counts), lines


# ====================================================================== values typed in cells
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


# ====================================================================== edits of one entry
def set_activation(entry: dict, name: str) -> None:
    """Set the activation, dropping parameters the new one does not take."""
    entry["activation"] = name
    own = {p.name for p in activation_params(canonical_act(name))}
    for k in catalog.activation_params():
        if k not in own:
            entry.pop(k, None)


def set_init(entry: dict, name: str, key: str = "init") -> None:
    """Set an initialiser by name, keeping the parameters the new one shares with the old."""
    old = entry.get(key)
    if isinstance(old, dict) and "gain" in old and key == "init":
        entry.setdefault("gain", old["gain"])  # the table shows one gain: keep it in the layer
    names = {p.name for p in init_own_params(name)}
    keep = {k: v for k, v in init_params(old).items() if k in names}
    entry[key] = {"name": name, **keep} if keep else name


def set_init_param(entry: dict, key: str, pname: str, value: Any, current: Any) -> None:
    """Set one parameter (``std``) of the initialiser at ``key`` (``init``, ``bias_init``);
    ``current`` is the initialiser the entry has in effect (its own, or the default)."""
    cur = entry.get(key, copy.deepcopy(current))
    new = {"name": init_name(cur), **init_params(cur)}
    if isinstance(cur, dict) and "gain" in cur:
        new["gain"] = cur["gain"]
    new[pname] = value
    entry[key] = new


# ====================================================================== the settings of a row
def entry_settings(entry: dict, effective: dict) -> tuple[list, dict]:
    """The settings of a layer entry beyond its table cells, as (Params, values): a standalone
    batch norm's momentum and ε, a dropout's rate; a dense or output layer's activation
    parameters (alpha, pieces), its initialiser's (``init.std``...), its bias and bias
    initialiser (``bias_init.std``...). ``effective`` is the entry as resolved (defaults in)."""
    k = kind_of(entry)
    if k in ("batchnorm", "dropout"):
        params = list(catalog.BATCHNORM if k == "batchnorm" else catalog.DROPOUT)
        return params, {p.name: entry.get(p.name, effective.get(p.name, p.default)) for p in params}
    if k not in ("dense", "output"):
        return [], {}
    own = {**effective, **{key: v for key, v in entry.items() if key != "type"}}
    params = list(activation_params(canonical_act(own.get("activation"))))
    values = {p.name: own.get(p.name, p.default) for p in params}

    def init_rows(key: str, lead: str) -> None:
        init = own.get(key)
        for p in init_own_params(init_name(init)):
            name = f"{key}.{p.name}"
            label = f"{lead} {(p.label or p.name).lower()}"
            params.append(dataclasses.replace(p, name=name, label=label))
            values[name] = init_params(init).get(p.name, p.default)

    init_rows("init", "Init")
    params += [catalog.DENSE["bias"], catalog.DENSE["bias_init"]]
    values["bias"] = own.get("bias")
    values["bias_init"] = canonical_init(init_name(own.get("bias_init")))
    init_rows("bias_init", "Bias")
    return params, values


# ====================================================================== edits of the list
def template(rows: list[dict], before: int) -> dict:
    """A copy of the nearest dense layer at or above row ``before`` (the previous hidden
    layer), else of the first dense layer, else the default layer."""
    for r in range(min(before, len(rows) - 1), -1, -1):
        if kind_of(rows[r]) == "dense":
            return copy.deepcopy(rows[r])
    for e in rows:
        if kind_of(e) == "dense":
            return copy.deepcopy(e)
    return default_layer()


def insert(rows: list[dict], at: int, entry: dict) -> list[dict]:
    out = copy.deepcopy(rows)
    out.insert(at, copy.deepcopy(entry))
    return out


def remove(rows: list[dict], indices: Sequence[int]) -> list[dict]:
    drop = set(indices)
    return [copy.deepcopy(e) for i, e in enumerate(rows) if i not in drop]


def duplicate(rows: list[dict], indices: Sequence[int]) -> tuple[list[dict], list[int]]:
    """Copies of the rows ``indices`` inserted after the last of them: (rows, the copies' rows)."""
    out = copy.deepcopy(rows)
    block = [copy.deepcopy(out[i]) for i in indices]
    at = indices[-1] + 1
    out[at:at] = block
    return out, list(range(at, at + len(block)))


def move(rows: list[dict], indices: Sequence[int], delta: int) -> tuple[list[dict], list[int]]:
    """Move the rows ``indices`` (sorted) one up (``delta=-1``) or down (+1); unchanged at the
    ends. (rows, their new indices)."""
    out = copy.deepcopy(rows)
    n = len(out)
    if not indices or (delta < 0 and indices[0] == 0) or (delta > 0 and indices[-1] == n - 1):
        return out, list(indices)
    order = list(range(n))
    for i in indices if delta < 0 else reversed(indices):
        j = i + delta
        order[i], order[j] = order[j], order[i]
    return [out[i] for i in order], [i + delta for i in indices]


# ====================================================================== the quick builder
def parse_quick(text: str) -> tuple[list[int], str | None, str | None]:
    """``"5 x 1000 tanh glorot_standard"`` -> ([1000] * 5, "tanh", "glorot_standard").

    Also ``[1000]x5``, ``5x1000``, ``5 × 1000`` and plain width lists (``"256 128 64 relu"``).
    Raises ValueError with one sentence.
    """
    s = text.strip().lower().replace("×", "x").replace("*", "x")
    example = f"(write e.g. '{QUICK_EXAMPLE}')."
    if not s:
        raise ValueError(f"Type a depth and width, e.g. '{QUICK_EXAMPLE}'.")
    s = re.sub(r"\[(\d+)\]\s*x\s*(\d+)", r"\2 x \1", s)
    s = re.sub(r"(\d+)\s*x\s*(\d+)", r"\1 x \2", s)
    tokens = [t for t in re.split(r"[\s,;]+", s) if t]
    is_act = lambda t: catalog.known("activation", t)  # noqa: E731
    is_init = lambda t: catalog.known("initializer", t)  # noqa: E731
    for t in tokens:  # name an unknown word first: it is the likeliest mistake
        if not (t.isdigit() or t == "x" or is_act(t) or is_init(t)):
            raise ValueError(
                f"'{t}' is neither a number, an activation nor an initialiser {example}"
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
        elif is_act(t) and act is None:
            act = catalog.canonical("activation", t)
        elif is_init(t) and init is None:
            init = catalog.canonical("initializer", t)
        elif t == "x":
            raise ValueError("Write 'x' between a depth and a width, e.g. '5 x 1000'.")
        else:
            raise ValueError(
                f"'{t}' is neither a number, an activation nor an initialiser {example}"
            )
        i += 1
    if not widths:
        raise ValueError("Give the depth and width, e.g. '5 x 1000' (or widths: '256 128').")
    if len(widths) > MAX_QUICK_DEPTH:
        raise ValueError(f"At most {MAX_QUICK_DEPTH} layers, please ({len(widths)} asked).")
    if max(widths) > MAX_QUICK_WIDTH:
        raise ValueError(f"At most {MAX_QUICK_WIDTH:,} units per layer, please.")
    return widths, act, init


def build_quick(rows: list[dict], text: str) -> list[dict]:
    """The hidden layers the quick builder makes of ``text``, each a copy of the first hidden
    layer (or the default layer) with the widths, activation and initialiser it names.
    Raises ValueError with one sentence."""
    widths, act, init = parse_quick(text)
    tmpl = template(rows, 0)
    tmpl.pop("units", None)
    if act is not None:
        set_activation(tmpl, act)
    if init is not None:
        tmpl["init"] = init
        tmpl.pop("gain", None)
    rest = {k: v for k, v in tmpl.items() if k not in ("type", "units")}
    return [{"type": "dense", "units": w, **copy.deepcopy(rest)} for w in widths]
