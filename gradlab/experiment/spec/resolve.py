"""The one check of a spec: :func:`check` lists every problem, each keyed by its field (and, for
a layer, by the layer's index and key); :func:`resolve` returns the spec with every default
filled in, or raises the first problem. Both run the same single pass, cached by the spec's
content, so the window's panels, the window itself and :class:`~gradlab.experiment.Experiment`
ask about the same spec without validating it again.

::

    {"name": "spiral", "seed": 0, "dtype": "float32",
     "data": {"name": "spiral", "n": 1000, "noise": 0.2, ...},
     "network": {"layers": [{"type": "dense", "units": 16, "activation": "tanh"}, ...]},
     "training": {"optimizer": "adam", "lr": 0.01, "schedule": "constant", "batch_size": 32,
                  "steps": 2000, "loss": "softmax_cross_entropy", "clip": null,
                  "l1": 0, "l2": 0, "max_norm": null, "eval_every": "auto",
                  "diverge_factor": 3},
     "probes": {"every": "auto", "bins": 51, "jacobian_every": 10, "batch": 512}}

Errors are :class:`~gradlab.errors.SpecError` naming the dotted field (``training.lr``,
``network.layers[2].activation``); the rule that a loss applying its own squashing (softmax,
sigmoid) needs a linear output layer is checked here, once.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gradlab import data as datasets
from gradlab import validate
from gradlab.engine import losses, optimizers, resolve_layers, schedules
from gradlab.errors import SpecError
from gradlab.experiment.spec import fields as F
from gradlab.experiment.spec import remedies
from gradlab.params import Param
from gradlab.params import resolve as resolve_params

_LAYER_FIELD = re.compile(r"network\.layers\[(\d+)\](?:\.(\w+))?")


@dataclass(frozen=True)
class Problem:
    """One bad value: ``field`` is its dotted path, :attr:`message` the sentence a user reads
    (the field first, then ``text``)."""

    field: str
    text: str

    @property
    def message(self) -> str:
        return f"{self.field}: {self.text}" if self.field else self.text

    @property
    def layer(self) -> int | None:
        """The index in ``network.layers`` of the entry at fault (None outside the layers)."""
        m = _LAYER_FIELD.match(self.field)
        return int(m.group(1)) if m else None

    @property
    def key(self) -> str:
        """The key within the layer entry (``"units"``; ``""`` for the entry itself), else the
        whole field path."""
        m = _LAYER_FIELD.match(self.field)
        if m is None:
            return self.field
        return m.group(2) or ""

    def error(self) -> SpecError:
        return SpecError(self.field, self.text)


class Problems(tuple):
    """The problems of a spec, in the order a reader meets the fields."""

    def under(self, *prefixes: str) -> Problems:
        """The problems of fields starting with one of ``prefixes`` (``"training"``...)."""
        return Problems(
            p
            for p in self
            if any(p.field == x or p.field.startswith((f"{x}.", f"{x}[")) for x in prefixes)
        )

    def by_layer(self) -> dict[tuple[int, str], str]:
        """``{(layer index, key): message}`` for the layer problems (the first per key)."""
        out: dict[tuple[int, str], str] = {}
        for p in self:
            if p.layer is not None:
                out.setdefault((p.layer, p.key), p.message)
        return out

    def by_field(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for p in self:
            out.setdefault(p.field, p.message)
        return out

    def messages(self) -> list[str]:
        return [p.message for p in self]


# ====================================================================== the pass
class _Pass:
    def __init__(self) -> None:
        self.problems: list[SpecError] = []

    def __call__(self, fn: Callable[[], Any], fallback: Any = None) -> Any:
        try:
            return fn()
        except SpecError as err:
            self.problems.append(err)
            return fallback

    def fail(self, field: str, message: str) -> None:
        self.problems.append(SpecError(field, message))

    def unknown_keys(self, d: Mapping, field: str, allowed) -> None:
        """Each key of ``d`` not in ``allowed`` (typos must not pass silently)."""
        allowed = set(allowed)
        prefix = f"{field}." if field else ""
        for key in d:
            if key not in allowed:
                self.fail(
                    f"{prefix}{key}",
                    f"unknown field (expected one of: {', '.join(sorted(allowed))})",
                )

    def param(self, p: Param, value: Any, field: str) -> Any:
        return self(lambda: p.validate(value, field), p.default)


def _named_entry(value: Any, field: str) -> tuple[str, dict]:
    """``"adam"`` or ``{"name": "adam", "beta1": 0.8}`` -> (name, params)."""
    if isinstance(value, str):
        return value, {}
    entry = validate.mapping(value, field)
    if "name" not in entry:
        raise SpecError(f"{field}.name", "missing")
    params = dict(entry)
    return validate.string(params.pop("name"), f"{field}.name"), params


def _component(get: Callable, kind: str, name: str, params: dict, field: str) -> Any:
    try:
        return get(name, **params)
    except SpecError as err:  # an unknown name reports itself as the field "optimizer"
        if err.field == kind:
            raise SpecError(field, err.message) from None
        raise err.prefixed(field) from None


def _canonical(info: Callable, name: Any, default: str) -> str:
    try:
        return info(name).name
    except (SpecError, TypeError):
        return default


def _training(t: Any, ck: _Pass) -> dict:
    t = ck(lambda: validate.mapping(t if t is not None else {}, "training"), {})
    ck.unknown_keys(t, "training", F.TRAINING_KEYS)
    out = {**F.DEFAULT_TRAINING, **{k: v for k, v in t.items() if k in F.TRAINING_BY_NAME}}

    name, params = ck(
        lambda: _named_entry(out["optimizer"], "training.optimizer"), (F.OPTIMIZER.default, {})
    )
    opt = ck(lambda: _component(optimizers.get, "optimizer", name, params, "training.optimizer"))
    if opt is None:
        opt = optimizers.get(_canonical(optimizers.info, name, F.OPTIMIZER.default))
    out["optimizer"] = {"name": opt.name, **{k: v for k, v in opt.hyper.items() if k != "lr"}}
    lr = out["lr"] if out["lr"] is not None else opt.lr
    out["lr"] = ck.param(F.LR, lr, "training.lr") or F.optimizer_lr(opt.name)

    sname, sparams = ck(
        lambda: _named_entry(out["schedule"], "training.schedule"), (F.SCHEDULE.default, {})
    )
    sch = ck(
        lambda: _component(
            schedules.get, "schedule", sname, {"lr": out["lr"], **sparams}, "training.schedule"
        )
    )
    if sch is None:
        sch = schedules.get(F.SCHEDULE.default, lr=out["lr"])
    out["schedule"] = {"name": sch.name, **{k: v for k, v in sch.hyper.items() if k != "lr"}}

    out["batch_size"] = ck.param(F.BATCH_SIZE, out["batch_size"], "training.batch_size")
    if out["steps"] is not None and out["epochs"] is not None:
        ck.fail("training.steps", "give either steps or epochs, not both")
    out["steps"] = ck.param(F.STEPS, out["steps"], "training.steps")
    out["epochs"] = ck.param(F.EPOCHS, out["epochs"], "training.epochs")
    out["loss"] = ck(lambda: losses.get(out["loss"], "training.loss").name, F.LOSS.default)

    clip = out["clip"]
    if clip is not None:
        clip = ck(lambda: _clip(clip))
    out["clip"] = clip
    for p in (F.L1, F.L2, F.MAX_NORM, F.EVAL_EVERY, F.DIVERGE_FACTOR, F.MC_DROPOUT):
        out[p.name] = ck.param(p, out[p.name], f"training.{p.name}")
    out["early_stopping"] = ck(
        lambda: remedies.early_stopping(out["early_stopping"], ck.problems), False
    )
    return out


def _clip(clip: Any) -> dict:
    clip = validate.mapping(clip, "training.clip")
    kinds = [c for c in F.CLIP.choices if c is not None]
    validate.no_unknown_keys(clip, "training.clip", kinds)
    if len(clip) != 1:
        raise SpecError("training.clip", 'give one of {"norm": c} or {"value": c}')
    kind, c = next(iter(clip.items()))
    return {kind: F.CLIP_THRESHOLD.validate(c, f"training.clip.{kind}")}


def _probes(p: Any, ck: _Pass) -> dict:
    p = ck(lambda: validate.mapping(p if p is not None else {}, "probes"), {})
    ck.unknown_keys(p, "probes", F.PROBE_KEYS)
    return {q.name: ck.param(q, p.get(q.name, q.default), f"probes.{q.name}") for q in F.PROBES}


def _data(data: Any, ck: _Pass) -> dict:
    data = ck(lambda: validate.mapping(data, "data"))
    if data is None:
        return {"name": "spiral"}
    if "name" not in data:
        ck.fail("data.name", "missing (which dataset?)")
        return copy.deepcopy(data)
    try:
        info = datasets.info(data["name"])  # an unknown name fails here, naming data.name
    except SpecError as err:
        ck.problems.append(err.prefixed("data"))
    except TypeError:
        ck.fail("data.name", f"must be a dataset name, got {data['name']!r}")
    else:
        resolve_params(info.params, data, "data", ignore=("name",), problems=ck.problems)
    return copy.deepcopy(data)


def _run(spec: Any) -> tuple[dict, list[SpecError], list[dict]]:
    """(best-effort resolved spec, problems, resolved layers with the output layer)."""
    ck = _Pass()
    if not isinstance(spec, Mapping):
        ck(lambda: validate.mapping(spec, "spec"))
        return {}, ck.problems, []
    ck.unknown_keys(spec, "", F.TOP_KEYS)
    out: dict[str, Any] = {}
    out["name"] = ck.param(F.NAME, spec.get("name", F.NAME.default), "name")
    if "description" in spec:
        desc = ck(lambda: validate.string(spec["description"], "description"))
        if desc is not None:
            out["description"] = desc
    if "reference" in spec:
        out["reference"] = copy.deepcopy(spec["reference"])
    if "preset" in spec:
        preset = ck(lambda: validate.string(spec["preset"], "preset"))
        if preset is not None:
            out["preset"] = preset
    out["seed"] = ck.param(F.SEED, spec.get("seed", F.SEED.default), "seed")
    out["dtype"] = ck.param(F.DTYPE, spec.get("dtype", F.DTYPE.default), "dtype")
    out["data"] = _data(spec.get("data", {"name": "spiral"}), ck)

    net = ck(lambda: validate.mapping(spec.get("network", {}), "network"), {})
    ck.unknown_keys(net, "network", {"layers", "reuse"})
    layers = net.get("layers", [])
    if net.get("reuse") is not None:  # written out into the layers it names
        layers = ck(lambda: remedies.expand_reuse(layers, net["reuse"]), layers)
    found: list[SpecError] = []
    resolved = resolve_layers(layers, None, implicit_output=True, problems=found)
    ck.problems += [e.prefixed("network") for e in found]
    out["network"] = {"layers": copy.deepcopy(layers)}
    out["training"] = _training(spec.get("training"), ck)
    out["probes"] = _probes(spec.get("probes"), ck)
    _output_rule(layers, resolved, out["training"]["loss"], ck)
    remedies.check_mc_dropout(out["training"], resolved, ck.problems)
    # the whole spec must survive a JSON round trip (it goes into the session manifest)
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as err:
        ck.fail("spec", f"is not JSON-able ({err})")
    return out, ck.problems, resolved


def _output_rule(layers: Any, resolved: list[dict], loss: str, ck: _Pass) -> None:
    """A loss that applies its own squashing to the logits needs a linear output layer."""
    if not resolved or not resolved[-1].get("output"):
        return
    if not losses.REGISTRY.get(loss).expects_linear_outputs:
        return
    act = resolved[-1]["activation"]
    if act == "linear":
        return
    explicit = (
        isinstance(layers, list)
        and bool(layers)
        and isinstance(layers[-1], dict)
        and (layers[-1].get("type") == "output" or bool(layers[-1].get("output")))
    )
    index = len(layers) - 1 if explicit else len(layers)
    ck.fail(
        f"network.layers[{index}].activation",
        f"{loss} applies its own squashing to the logits, so the output layer must be linear, "
        f"got {act}",
    )


# ====================================================================== the cache
_CACHE: OrderedDict[str, tuple[dict, Problems, list[dict]]] = OrderedDict()
_LOCK = threading.Lock()
_CACHE_SIZE = 64


def _key(spec: Any) -> str | None:
    try:
        return json.dumps([spec, datasets.names()], sort_keys=True)
    except (TypeError, ValueError):
        return None


def _cached(spec: Any) -> tuple[dict, Problems, list[dict]]:
    key = _key(spec)
    if key is not None:
        with _LOCK:
            hit = _CACHE.get(key)
            if hit is not None:
                _CACHE.move_to_end(key)
                return hit
    out, errs, layers = _run(spec)
    result = (out, Problems(Problem(e.field, e.message) for e in errs), layers)
    if key is not None:
        with _LOCK:
            _CACHE[key] = result
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return result


# ====================================================================== the public face
def check(spec: Any) -> Problems:
    """Every problem of ``spec`` (empty when it is valid), in field order.

    One pass over the whole spec with the components' declarations: each bad key or value is
    one :class:`Problem` (a layer's problems are keyed by its index and key, see
    :meth:`Problems.by_layer`), the loss/output rule included. Cached by content.
    """
    return _cached(spec)[1]


def resolve(spec: Any) -> dict:
    """Validate ``spec`` and return a deep copy with every default filled in; raises the first
    problem :func:`check` finds as a :class:`~gradlab.errors.SpecError`.

    The network's output layer is resolved later, when the data says how many outputs it needs
    (:func:`resolve_network`); here the hidden layers are checked.
    """
    out, problems, _ = _cached(spec)
    if problems:
        raise problems[0].error()
    return copy.deepcopy(out)


def effective_layers(spec: Any) -> list[dict]:
    """The layer list as the engine would build it, the output layer included (its ``units``
    None: the data sets it), every default filled in and bad values at their defaults."""
    return copy.deepcopy(_cached(spec)[2])


def resolve_network(spec: dict, output_dim: int) -> list[dict]:
    """The resolved layer list of a resolved ``spec`` for ``output_dim`` outputs."""
    try:
        return resolve_layers(spec["network"]["layers"], output_dim)
    except SpecError as err:
        raise err.prefixed("network") from None
