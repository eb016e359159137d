"""Opening a session as an Experiment, for files from anyone.

Two steps, so nothing is inflated or allocated that the file's own spec does not justify:

1. :func:`prepare` (called by :func:`gradlab.session.read` through its ``check`` hook, with the
   manifest and the arrays table, before any array is inflated): every value the manifest holds
   is checked for type and range (step counts, random generator states, strides, the prober's
   state, the history's layout and events), the spec is built into a fresh Experiment (its
   memory estimated and bounded first, :mod:`gradlab.experiment.limits`), and the arrays table
   must be exactly what that experiment saves: every name known, every shape and dtype the one
   it needs (weights in the spec's float type, never strings, complex numbers or datetimes),
   every history table no longer than its capacity.
2. :func:`apply`: the inflated arrays and the checked state are put into that Experiment.

Any refusal is a :class:`RestoreError` (an :class:`~gradlab.errors.InputError`) whose text
completes "``<file>`` could not be restored: ...".
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from gradlab.data import preprocess as prep
from gradlab.errors import DataError, InputError, SpecError
from gradlab.experiment.earlystop import check_state
from gradlab.experiment.history import OPTIONAL_EVAL_COLUMNS, History
from gradlab.experiment.probes import HIST_QUANTITIES
from gradlab.safeio import printable

MAX_STEP = 2**53
MAX_STRIDE = 2**62
MAX_LR_CHANGES = 100_000
MAX_ACTIVE_VERDICTS = 64
STATUSES = ("ready", "paused", "done", "diverged", "stopped early")
_THEORY_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_MAX_THEORY = 16
_EVENT_TEXT = 10_000


class RestoreError(InputError):
    """A session whose contents do not fit together; the text completes "could not be
    restored: ..."."""


# ----------------------------------------------------------------------------- value checks
def _where(path: str) -> str:
    return printable(path, 80)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def integer(v: Any, path: str, lo: int = 0, hi: int = MAX_STEP) -> int:
    if not _is_int(v) or not lo <= v <= hi:
        raise RestoreError(f"{_where(path)} must be a whole number from {lo:,} to {hi:,}, got "
                           f"{printable(repr(v), 40)}")
    return v


def number(v: Any, path: str, lo: float = 0.0) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo:
        bound = f" >= {lo:g}" if math.isfinite(lo) else ""
        raise RestoreError(f"{_where(path)} must be a finite number{bound}, got "
                           f"{printable(repr(v), 40)}")
    return float(v)


def boolean(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise RestoreError(f"{_where(path)} must be true or false, got {printable(repr(v), 40)}")
    return v


def text(v: Any, path: str, limit: int = 200, empty: bool = False) -> str:
    if not isinstance(v, str) or len(v) > limit or not (empty or v):
        raise RestoreError(f"{_where(path)} must be a text of at most {limit:,} characters, got "
                           f"{printable(repr(v), 40)}")
    return v


def mapping(v: Any, path: str) -> dict:
    if not isinstance(v, dict):
        raise RestoreError(f"{_where(path)} must be an object, got {type(v).__name__}")
    return v


def listing(v: Any, path: str) -> list:
    if not isinstance(v, list):
        raise RestoreError(f"{_where(path)} must be a list, got {type(v).__name__}")
    return v


def _power_of_two(v: Any, path: str) -> int:
    v = integer(v, path, 1, MAX_STRIDE)
    if v & (v - 1):
        raise RestoreError(f"{_where(path)} must be a power of two, got {v:,}")
    return v


# ----------------------------------------------------------------------------- step 1
def prepare(cls: type, manifest: dict, table: Mapping[str, tuple[tuple[int, ...], np.dtype]]):
    """A fresh ``cls`` (Experiment) built from the manifest's spec, after checking every value
    the manifest holds and that ``table`` (``{array: (shape, dtype)}``) is exactly what that
    experiment saves. :class:`RestoreError` or :class:`~gradlab.errors.SpecError` otherwise."""
    spec = mapping(manifest.get("spec"), "spec")
    dims = mapping(manifest.get("dims"), "dims")
    for key in ("input_dim", "output_dim"):
        integer(dims.get(key), f"dims.{key}", 1, 2**31)
    step_count = integer(manifest.get("step_count"), "step_count")
    try:
        exp = cls(copy.deepcopy(spec), _dims={k: dims[k] for k in ("input_dim", "output_dim")})
    except SpecError as err:
        raise RestoreError(f"its spec is refused ({err})") from None
    _check_trainer(exp, mapping(manifest.get("trainer"), "trainer"), step_count, table)
    _check_optimizer(exp, mapping(manifest.get("optimizer"), "optimizer"))
    mapping(manifest.get("schedule"), "schedule")
    _check_prober(exp, manifest.get("prober"), step_count)
    _check_history(exp, mapping(manifest.get("history"), "history"), step_count)
    _check_table(exp, manifest, table, step_count)
    return exp


def _check_trainer(exp, tr: dict, step_count: int, table: Mapping) -> None:
    integer(tr.get("epoch"), "trainer.epoch")
    pos = integer(tr.get("pos"), "trainer.pos")
    has_perm = boolean(tr.get("has_perm"), "trainer.has_perm")
    if has_perm != ("trainer/perm" in table):
        raise RestoreError("trainer.has_perm does not match the arrays it holds")
    if has_perm:
        shape, dtype = table["trainer/perm"]
        if len(shape) != 1 or dtype.kind not in "iu":
            raise RestoreError("array 'trainer/perm' must be a list of whole numbers")
        if pos > shape[0]:
            raise RestoreError(f"trainer.pos ({pos:,}) is beyond the data order it holds")
    for key, gen in (("rng", exp.rng), ("dropout_rng", exp.network.rng)):
        _check_rng(tr.get(key), f"trainer.{key}", gen)
    lr = tr.get("lr_override")  # sessions before the learning-rate changes were recorded
    if lr is not None and number(lr, "trainer.lr_override") <= 0:
        raise RestoreError("trainer.lr_override must be > 0")
    changes = listing(tr.get("lr_changes", []) or [], "trainer.lr_changes")
    if len(changes) > MAX_LR_CHANGES:
        raise RestoreError(f"trainer.lr_changes holds more than {MAX_LR_CHANGES:,} changes")
    for i, c in enumerate(changes):
        where = f"trainer.lr_changes[{i}]"
        c = mapping(c, where)
        integer(c.get("step"), f"{where}.step", 0, step_count)
        for key in ("from", "to"):
            if c.get(key) is not None and number(c[key], f"{where}.{key}") <= 0:
                raise RestoreError(f"{where}.{key} must be > 0")
    integer(tr.get("probe_every"), "trainer.probe_every", 1, 2**31)
    status = tr.get("status")
    if status not in STATUSES:
        raise RestoreError(f"trainer.status must be one of {', '.join(STATUSES)}, got "
                           f"{printable(repr(status), 40)}")
    div = tr.get("diverged")
    if div is not None:
        div = mapping(div, "trainer.diverged")
        integer(div.get("step"), "trainer.diverged.step")
        text(div.get("message"), "trainer.diverged.message", _EVENT_TEXT)
        if div.get("layer") is not None:
            text(div["layer"], "trainer.diverged.layer")
        text(div.get("part", ""), "trainer.diverged.part", empty=True)
    _check_health_state(mapping(tr.get("health", {}) or {}, "trainer.health"))
    _check_early_stopping(exp, tr.get("early_stopping"), step_count, table)
    integer(tr.get("last_eval_step"), "trainer.last_eval_step", -1, step_count)
    for key in ("t_step", "t_probe", "t_jacobian"):
        number(tr.get(key, 0.0), f"trainer.{key}")


def _check_early_stopping(exp, state: Any, step_count: int, table: Mapping) -> None:
    """Early stopping's counters fit the run, and its kept weights are its network's."""
    kept = [k for k in table if k.startswith("early_stopping/")]
    es = exp.early_stopping
    if es is None:
        if state is not None or kept:
            raise RestoreError("it holds an early-stopping state, but its spec has early "
                               "stopping off")
        return

    def fail(message: str) -> None:
        raise RestoreError(message)

    check_state(state, es.monitor, step_count, fail)
    own = exp.network.state_arrays()
    if state["has_weights"] != bool(kept) or (kept and len(kept) != len(own)):
        raise RestoreError("trainer.early_stopping.has_weights does not match the arrays it "
                           "holds")
    for name in kept:
        k = name[len("early_stopping/"):]
        if k not in own or table[name] != (own[k].shape, own[k].dtype):
            raise RestoreError(f"array {printable(repr(name), 80)} is not one of its "
                               "network's weights")


def _check_health_state(state: dict) -> None:
    """The verdicts' state: ``{"watch": ..., "monitor": ...}`` (sessions before them held four
    booleans, which are ignored)."""
    if "watch" not in state and "monitor" not in state:
        for key, value in state.items():
            boolean(value, f"trainer.health.{key}")
        return
    watch = mapping(state.get("watch", {}) or {}, "trainer.health.watch")
    if watch.get("loss0") is not None:
        number(watch["loss0"], "trainer.health.watch.loss0", -math.inf)
    _numbers(watch.get("recent"), "trainer.health.watch.recent")
    if "armed" in watch:
        boolean(watch["armed"], "trainer.health.watch.armed")
    monitor = state.get("monitor")
    if monitor is None:
        return
    monitor = mapping(monitor, "trainer.health.monitor")
    for key in ("input_std", "chance"):
        if monitor.get(key) is not None:
            number(monitor[key], f"trainer.health.monitor.{key}")
    _numbers(monitor.get("losses"), "trainer.health.monitor.losses")
    active = mapping(monitor.get("active", {}) or {}, "trainer.health.monitor.active")
    if len(active) > MAX_ACTIVE_VERDICTS:
        raise RestoreError("trainer.health.monitor.active holds too many verdicts")
    for kind, entry in active.items():
        text(kind, "trainer.health.monitor.active")
        entry = mapping(entry, f"trainer.health.monitor.active.{kind}")
        if entry.get("step") is not None:
            integer(entry["step"], f"trainer.health.monitor.active.{kind}.step")


def _numbers(values: Any, path: str, limit: int = 10_000) -> None:
    """``values``: absent, or a list of at most ``limit`` finite numbers."""
    if values is None:
        return
    values = listing(values, path)
    if len(values) > limit:
        raise RestoreError(f"{_where(path)} holds more than {limit:,} numbers")
    for i, v in enumerate(values):
        number(v, f"{path}[{i}]", -math.inf)


def _check_rng(state: Any, path: str, gen: np.random.Generator) -> None:
    """A state the generator's own type accepts (tried on a spare one)."""
    spare = type(gen.bit_generator)()
    try:
        spare.state = mapping(state, path)
    except RestoreError:
        raise
    except (TypeError, ValueError, KeyError, OverflowError, AttributeError):
        raise RestoreError(f"{_where(path)} is not a valid {type(spare).__name__} random "
                           f"generator state") from None


def _check_optimizer(exp, o: dict) -> None:
    if o.get("name") != exp.optimizer.name:
        raise RestoreError(f"optimizer.name is {printable(repr(o.get('name')), 40)}, but its "
                           f"spec uses {exp.optimizer.name}")
    mapping(o.get("hyper", {}), "optimizer.hyper")
    integer(o.get("t"), "optimizer.t")
    extra = mapping(o.get("extra", {}) or {}, "optimizer.extra")
    if len(extra) > 8:
        raise RestoreError("optimizer.extra holds too many values")
    for key, value in extra.items():
        number(value, f"optimizer.extra.{printable(str(key), 40)}", -math.inf)
    slots = listing(o.get("slots"), "optimizer.slots")
    if sorted(s for s in slots if isinstance(s, str)) != sorted(exp.optimizer.slots) or len(
        slots
    ) != len(exp.optimizer.slots):
        raise RestoreError(f"optimizer.slots must be {sorted(exp.optimizer.slots)}")


def _check_prober(exp, state: Any, step_count: int) -> None:
    if state is None:
        return
    state = mapping(state, "prober")
    count = integer(state.get("count"), "prober.count")
    integer(state.get("scheduled", count), "prober.scheduled", 0, count)
    groups = 2 if len(exp.network.blocks) > 1 else 1
    for q, saved in mapping(state.get("ranges"), "prober.ranges").items():
        if q not in HIST_QUANTITIES:
            raise RestoreError(f"prober.ranges holds the unknown quantity "
                               f"{printable(repr(q), 40)}")
        saved = listing(saved, f"prober.ranges.{q}")
        if len(saved) > groups:
            raise RestoreError(f"prober.ranges.{q} holds {len(saved)} ranges, not {groups}")
        for i, pair in enumerate(saved):
            where = f"prober.ranges.{q}[{i}]"
            pair = listing(pair, where)
            if len(pair) != 2:
                raise RestoreError(f"{where} must be [low, high]")
            if pair == [None, None]:
                continue
            lo, hi = (number(v, where, -math.inf) for v in pair)
            if not lo < hi:
                raise RestoreError(f"{where} must be [low, high] with low < high")


def _check_history(exp, meta: dict, step_count: int) -> None:
    h = exp.history
    if meta.get("layer_names") != h.layer_names:
        raise RestoreError("history.layer_names do not match its network")
    if meta.get("bins") != h.bins or isinstance(meta.get("bins"), bool):
        raise RestoreError(f"history.bins must be {h.bins}, the spec's probes.bins")
    if meta.get("probe_capacity") != h.probe_capacity:
        raise RestoreError(f"history.probe_capacity must be {h.probe_capacity}, the spec's "
                           "probes.capacity")
    integer(meta.get("step_capacity"), "history.step_capacity", h.step_capacity, h.step_capacity)
    _power_of_two(meta.get("step_stride"), "history.step_stride")
    _power_of_two(meta.get("probe_stride"), "history.probe_stride")
    boolean(meta.get("last_is_provisional"), "history.last_is_provisional")
    for i, ev in enumerate(listing(meta.get("events"), "history.events")):
        check_event(ev, f"history.events[{i}]")


def check_event(ev: Any, path: str) -> dict:
    """An event as the history keeps it: ``kind`` (text), ``step`` (whole number) and
    ``message`` (text) required; ``severity`` (text, default "warning") and ``layer`` (text or
    null, default null) filled in; other keys (plain JSON values) kept as they are."""
    ev = mapping(ev, path)
    for key in ("kind", "step", "message"):
        if key not in ev:
            raise RestoreError(f"{_where(path)} has no {key!r}")
    text(ev["kind"], f"{path}.kind")
    integer(ev["step"], f"{path}.step")
    text(ev["message"], f"{path}.message", _EVENT_TEXT, empty=True)
    text(ev.get("severity", "warning"), f"{path}.severity")
    if ev.get("layer") is not None:
        text(ev["layer"], f"{path}.layer")
    return {"severity": "warning", "layer": None, **ev}


def _expected(exp) -> dict[str, tuple[tuple[int, ...], np.dtype, str]]:
    """``{array: (shape, dtype, table)}`` the fresh experiment saves; ``table`` names the
    history table whose rows the first axis counts ("" for fixed shapes)."""
    out = {}
    for k, v in exp.network.state_arrays().items():
        out[f"network/{k}"] = (v.shape, v.dtype, "")
    _, fresh = exp.history.to_arrays()
    for k, v in fresh.items():
        if k.startswith("history/") and not k.startswith("history/theory/"):
            out[k] = (v.shape, v.dtype, k.split("/")[1])
    return out


def _check_table(exp, manifest: dict, table: Mapping, step_count: int) -> None:
    expected = _expected(exp)
    params = exp.network.params
    h = exp.history
    rows_cap = {"steps": h.step_capacity, "probes": h.probe_capacity, "evals": step_count + 2}
    rows: dict[str, int] = {}
    n_layers = len(exp.network.layer_names)
    method, prep_shapes = _preprocess_shapes(exp)
    theory = 0
    for name, (shape, dtype) in table.items():
        shown = printable(repr(name), 80)
        if name in expected:
            want, wdtype, tab = expected[name]
            if tab:
                if shape[1:] != want[1:] or dtype != wdtype or not shape:
                    raise RestoreError(f"array {shown} has shape {shape} and dtype {dtype}, not "
                                       f"(n, {', '.join(map(str, want[1:]))}) of {wdtype}")
                n = shape[0]
                if n > rows_cap[tab]:
                    raise RestoreError(f"array {shown} holds {n:,} rows, more than the "
                                       f"{rows_cap[tab]:,} its history keeps")
                if rows.setdefault(tab, n) != n:
                    raise RestoreError(f"the history's {tab} columns differ in length")
            elif shape != want or dtype != wdtype:
                raise RestoreError(f"array {shown} has shape {shape} and dtype {dtype}, but its "
                                   f"network needs {want} of {wdtype}")
        elif name.startswith("optimizer/"):
            parts = name.split("/", 2)
            if len(parts) != 3 or parts[1] not in exp.optimizer.slots or parts[2] not in params:
                raise RestoreError(f"array {shown} is not part of its optimiser's state")
            p = params[parts[2]]
            if shape != p.shape or dtype != p.dtype:
                raise RestoreError(f"array {shown} has shape {shape} and dtype {dtype}, but its "
                                   f"parameter is {p.shape} of {p.dtype}")
        elif name == "trainer/perm" or name.startswith("early_stopping/"):
            pass  # checked with the trainer's state
        elif name.startswith("data/preprocess/"):
            key = name.rsplit("/", 1)[1]
            if key not in prep_shapes or shape != prep_shapes[key] or dtype.kind not in "fiu":
                raise RestoreError(f"array {shown} is not part of the {method!r} preprocessing "
                                   f"of {exp.input_dim} inputs")
        elif name.startswith("history/theory/"):
            theory += 1
            key = name[len("history/theory/") :]
            if (not _THEORY_NAME.fullmatch(key) or shape != (n_layers,) or dtype.kind != "f"
                    or theory > _MAX_THEORY):
                raise RestoreError(f"array {shown} is not a per-layer prediction")
        else:
            raise RestoreError(f"it holds the unexpected array {shown}")
    optional = {f"history/evals/{k}" for k in OPTIONAL_EVAL_COLUMNS}
    missing = sorted(set(expected) - set(table) - optional)
    if missing:
        raise RestoreError(f"array {printable(repr(missing[0]), 80)} is missing")


def _preprocess_shapes(exp) -> tuple[str, dict[str, tuple[int, ...]]]:
    data = exp.spec.get("data", {})
    method = data.get("preprocess") if isinstance(data, dict) else None
    shapes = prep.STATE_SHAPES.get(method) if isinstance(method, str) else None
    if shapes is None:  # a default preprocessing: any method's arrays of the right size
        merged = {}
        for table in prep.STATE_SHAPES.values():
            merged.update(table)
        shapes = merged
    return str(method), {k: f(exp.input_dim) for k, f in shapes.items()}


# ----------------------------------------------------------------------------- step 2
def apply(exp, manifest: dict, arrays: dict[str, np.ndarray], history: bool = True) -> None:
    """Put the checked state of ``manifest`` and ``arrays`` into ``exp`` (from :func:`prepare`).
    ``history=False`` keeps ``exp``'s own history (the training process's state handed back to
    the experiment that mirrored its history: :mod:`gradlab.experiment.remote`)."""
    exp._preprocess_state = {
        k.rsplit("/", 1)[1]: v for k, v in arrays.items() if k.startswith("data/preprocess/")
    }
    exp.network.load_state_arrays(
        {k[len("network/") :]: v for k, v in arrays.items() if k.startswith("network/")}
    )
    o = manifest["optimizer"]
    slots: dict[str, dict[str, np.ndarray]] = {s: {} for s in o["slots"]}
    for k, v in arrays.items():
        if k.startswith("optimizer/"):
            _, slot, name = k.split("/", 2)
            slots.setdefault(slot, {})[name] = v
    exp.optimizer.load_state_dict(
        {"name": o["name"], "hyper": o.get("hyper", {}), "t": o["t"], "slots": slots,
         "extra": o.get("extra") or {}}
    )
    exp.schedule.load_state_dict(manifest["schedule"])
    tr = manifest["trainer"]
    exp.step_count = manifest["step_count"]
    exp.epoch, exp.pos = tr["epoch"], tr["pos"]
    exp.perm = None
    if tr["has_perm"]:
        exp.perm = _permutation(arrays["trainer/perm"])
    exp.rng.bit_generator.state = tr["rng"]
    exp.network.rng.bit_generator.state = tr["dropout_rng"]
    _restore_lr(exp, tr)
    exp.probe_every = tr["probe_every"]
    exp.status = tr["status"] if exp.step_count or tr["status"] == "diverged" else "ready"
    exp.diverged = tr["diverged"]
    exp._last_eval_step = tr["last_eval_step"]
    exp._t_step, exp._t_probe = float(tr["t_step"]), float(tr["t_probe"])
    exp._t_jacobian = float(tr.get("t_jacobian", 0.0))
    exp._prober_state = manifest["prober"]
    if history:
        _check_history_arrays(arrays, exp.step_count)
        meta = dict(manifest["history"])
        meta["events"] = [check_event(e, f"history.events[{i}]")
                          for i, e in enumerate(meta["events"])]
        exp.history = History.from_arrays(meta, arrays)
    exp._load_health(tr.get("health") or {})
    if exp.early_stopping is not None and tr.get("early_stopping") is not None:
        kept = {k[len("early_stopping/"):]: v for k, v in arrays.items()
                if k.startswith("early_stopping/")}
        exp.early_stopping.load_state(tr["early_stopping"], kept)


def _restore_lr(exp, tr: dict) -> None:
    """The learning-rate changes of the run (sessions before them held one override)."""
    changes = tr.get("lr_changes")
    if changes is None and tr.get("lr_override") is not None:
        spec_lr = exp.spec["training"]["lr"]
        changes = [{"step": exp.step_count, "from": spec_lr, "to": float(tr["lr_override"])}]
    exp.lr_changes = [
        {"step": int(c["step"]), "from": float(c["from"]), "to": float(c["to"])}
        for c in (changes or [])
    ]
    if exp.lr_changes:
        exp.base_lr = exp.lr_changes[-1]["to"]


def _check_history_arrays(arrays: dict[str, np.ndarray], step_count: int) -> None:
    """Steps in order within 0..step_count + 1; histogram counts and probe numbers >= 0."""
    for name, a in arrays.items():
        if not name.startswith("history/") or not a.size:
            continue
        if name.endswith("/step") and (a[0] < 0 or a[-1] > step_count + 1
                                       or bool(np.any(a[1:] < a[:-1]))):
            raise RestoreError(f"{name} is not a list of steps in order from 0 to "
                               f"{step_count:,}")
        if (name.startswith("history/probes/hist/") or name == "history/probes/index") and (
            a.min() < 0
        ):
            raise RestoreError(f"{name} holds negative numbers")


def fits_order(exp, dataset):
    """``dataset`` if a restored session's data order fits it (one index per training example,
    the position within it); else a :class:`~gradlab.errors.DataError`: the data has changed
    since the session was saved (or the file lies), and resuming would index past it."""
    n = len(dataset.x_train)
    perm = getattr(exp, "perm", None)  # (a new experiment reads its data before it has one)
    if perm is not None and (len(perm) != n or exp.pos > n):
        raise DataError(f"The session's order of training examples is for {len(perm):,} "
                        f"examples but its data now has {n:,}, so training cannot resume "
                        f"where it stopped (has the data changed since it was saved?).")
    return dataset


def _permutation(perm: np.ndarray) -> np.ndarray:
    """``perm`` as int64 if it orders ``range(len(perm))``, each index once."""
    n = len(perm)
    p = np.asarray(perm)
    if n and (p.min() < 0 or p.max() >= n):
        raise RestoreError("trainer/perm is not an order of its examples")
    seen = np.zeros(n, dtype=bool)
    seen[p] = True
    if not seen.all():
        raise RestoreError("trainer/perm is not an order of its examples")
    return p.astype(np.int64)


__all__ = ["RestoreError", "apply", "check_event", "fits_order", "prepare"]
