"""The experiment spec: one JSON-able dict that says everything about a run.

::

    {"name": "spiral", "seed": 0, "dtype": "float32",
     "data": {"name": "spiral", "n": 1000, "noise": 0.2, ...},
     "network": {"layers": [{"type": "dense", "units": 16, "activation": "tanh"}, ...]},
     "training": {"optimizer": "adam", "lr": 0.01, "schedule": "constant", "batch_size": 32,
                  "steps": 2000, "loss": "softmax_cross_entropy", "clip": null,
                  "l1": 0, "l2": 0, "max_norm": null, "eval_every": "auto"},
     "probes": {"every": "auto", "bins": 51, "jacobian_every": 10, "batch": 512}}

:func:`resolve` validates a spec and fills in every default; errors are
:class:`~gradlab.errors.SpecError` naming the dotted field (``training.lr``,
``network.layers[2].activation``). :func:`set_path` applies ``--set training.lr=0.01``-style
overrides.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from gradlab import data as datasets
from gradlab import validate
from gradlab.engine import losses, optimizers, resolve_layers, schedules
from gradlab.errors import SpecError
from gradlab.params import resolve as resolve_params

TOP_KEYS = {
    "name",
    "description",
    "reference",
    "seed",
    "dtype",
    "data",
    "network",
    "training",
    "probes",
}
TRAINING_KEYS = {
    "optimizer",
    "lr",
    "schedule",
    "batch_size",
    "steps",
    "epochs",
    "loss",
    "clip",
    "l1",
    "l2",
    "max_norm",
    "eval_every",
    "diverge_factor",
}
PROBE_KEYS = {"every", "bins", "jacobian_every", "jacobian_examples", "batch", "capacity"}

DEFAULT_TRAINING = {
    "optimizer": "adam",
    "lr": None,
    "schedule": "constant",
    "batch_size": 32,
    "steps": None,
    "epochs": None,
    "loss": "softmax_cross_entropy",
    "clip": None,
    "l1": 0.0,
    "l2": 0.0,
    "max_norm": None,
    "eval_every": "auto",
    # CS231n: a loss above this x its initial value (running mean of 10 batches) diverges the
    # run like a NaN does; 0 turns the rule off
    "diverge_factor": 3.0,
}
DEFAULT_PROBES = {
    "every": "auto",
    "bins": 51,
    "jacobian_every": 10,
    "jacobian_examples": 2,
    "batch": 512,
    "capacity": 1000,
}


def _named_entry(value: Any, field: str) -> tuple[str, dict]:
    """``"adam"`` or ``{"name": "adam", "beta1": 0.8}`` -> (name, params)."""
    if isinstance(value, str):
        return value, {}
    entry = validate.mapping(value, field)
    if "name" not in entry:
        raise SpecError(f"{field}.name", "missing")
    params = dict(entry)
    return validate.string(params.pop("name"), f"{field}.name"), params


def _resolve_training(t: Any) -> dict:
    t = validate.mapping(t if t is not None else {}, "training")
    validate.no_unknown_keys(t, "training", TRAINING_KEYS)
    out = {**DEFAULT_TRAINING, **t}

    name, params = _named_entry(out["optimizer"], "training.optimizer")
    try:
        opt = optimizers.get(name, **params)
    except SpecError as err:  # an unknown name reports itself as the field "optimizer"
        if err.field == "optimizer":
            raise SpecError("training.optimizer", err.message) from None
        raise err.prefixed("training.optimizer") from None
    opt_params = {k: v for k, v in opt.hyper.items() if k != "lr"}
    out["optimizer"] = {"name": opt.name, **opt_params}
    lr = out["lr"] if out["lr"] is not None else opt.lr
    out["lr"] = validate.number(lr, "training.lr", exclusive_minimum=0.0)

    sname, sparams = _named_entry(out["schedule"], "training.schedule")
    try:
        sch = schedules.get(sname, lr=out["lr"], **sparams)
    except SpecError as err:
        if err.field == "schedule":
            raise SpecError("training.schedule", err.message) from None
        raise err.prefixed("training.schedule") from None
    out["schedule"] = {"name": sch.name, **{k: v for k, v in sch.hyper.items() if k != "lr"}}

    out["batch_size"] = validate.integer(out["batch_size"], "training.batch_size", minimum=1)
    if out["steps"] is not None and out["epochs"] is not None:
        raise SpecError("training.steps", "give either steps or epochs, not both")
    if out["steps"] is not None:
        out["steps"] = validate.integer(out["steps"], "training.steps", minimum=0)
    if out["epochs"] is not None:
        out["epochs"] = validate.number(out["epochs"], "training.epochs", exclusive_minimum=0.0)
    out["loss"] = losses.get(out["loss"], "training.loss").name

    clip = out["clip"]
    if clip is not None:
        clip = validate.mapping(clip, "training.clip")
        validate.no_unknown_keys(clip, "training.clip", {"norm", "value"})
        if len(clip) != 1:
            raise SpecError("training.clip", 'give one of {"norm": c} or {"value": c}')
        kind, c = next(iter(clip.items()))
        clip = {kind: validate.number(c, f"training.clip.{kind}", exclusive_minimum=0.0)}
    out["clip"] = clip
    out["l1"] = validate.number(out["l1"], "training.l1", minimum=0.0)
    out["l2"] = validate.number(out["l2"], "training.l2", minimum=0.0)
    if out["max_norm"] is not None:
        out["max_norm"] = validate.number(
            out["max_norm"], "training.max_norm", exclusive_minimum=0.0
        )
    if out["eval_every"] != "auto":
        out["eval_every"] = validate.integer(out["eval_every"], "training.eval_every", minimum=1)
    out["diverge_factor"] = validate.number(
        out["diverge_factor"], "training.diverge_factor", minimum=0.0
    )
    return out


def _resolve_probes(p: Any) -> dict:
    p = validate.mapping(p if p is not None else {}, "probes")
    validate.no_unknown_keys(p, "probes", PROBE_KEYS)
    out = {**DEFAULT_PROBES, **p}
    if out["every"] != "auto":
        out["every"] = validate.integer(out["every"], "probes.every", minimum=1)
    out["bins"] = validate.integer(out["bins"], "probes.bins", minimum=4, maximum=1000)
    out["jacobian_every"] = validate.integer(
        out["jacobian_every"], "probes.jacobian_every", minimum=0
    )
    out["jacobian_examples"] = validate.integer(
        out["jacobian_examples"], "probes.jacobian_examples", minimum=1, maximum=64
    )
    out["batch"] = validate.integer(out["batch"], "probes.batch", minimum=1)
    out["capacity"] = validate.integer(out["capacity"], "probes.capacity", minimum=8)
    return out


def resolve(spec: Any) -> dict:
    """Validate ``spec`` and return a deep copy with every default filled in.

    The network's output layer is resolved later, when the data says how many outputs it needs;
    here the hidden layers are checked (so the window can flag a bad cell at once).
    """
    spec = validate.mapping(spec, "spec")
    validate.no_unknown_keys(spec, "", TOP_KEYS)
    out: dict[str, Any] = {}
    out["name"] = validate.string(spec.get("name", "untitled"), "name")
    if "description" in spec:
        out["description"] = validate.string(spec["description"], "description")
    if "reference" in spec:
        out["reference"] = copy.deepcopy(spec["reference"])
    out["seed"] = validate.integer(spec.get("seed", 0), "seed", minimum=0, maximum=2**63 - 1)
    out["dtype"] = validate.choice(spec.get("dtype", "float32"), "dtype", ["float32", "float64"])

    data = validate.mapping(spec.get("data", {"name": "spiral"}), "data")
    if "name" not in data:
        raise SpecError("data.name", "missing (which dataset?)")
    try:
        datasets.info(data["name"])  # an unknown name fails here, naming data.name
    except SpecError as err:
        raise err.prefixed("data") from None
    out["data"] = copy.deepcopy(data)

    net = validate.mapping(spec.get("network", {}), "network")
    validate.no_unknown_keys(net, "network", {"layers"})
    layers = net.get("layers", [])
    try:
        resolve_layers(layers, None)
    except SpecError as err:
        raise err.prefixed("network") from None
    out["network"] = {"layers": copy.deepcopy(layers)}
    out["training"] = _resolve_training(spec.get("training"))
    out["probes"] = _resolve_probes(spec.get("probes"))
    # the whole spec must survive a JSON round trip (it goes into the session manifest)
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise SpecError("spec", f"is not JSON-able ({err})") from None
    return out


def parse_value(text: str) -> Any:
    """A command-line value: JSON if it parses (``0.01``, ``true``, ``{"norm": 5}``), else text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def set_path(spec: dict, path: str, value: Any) -> dict:
    """Return a copy of ``spec`` with the dotted ``path`` set (``training.lr``,
    ``network.layers[0].units``, ``data.noise``). Missing dict levels are created.
    """
    out = copy.deepcopy(spec)
    parts: list[str | int] = []
    for token in path.split("."):
        if not token:
            raise SpecError(path, "is not a field path (expected e.g. training.lr)")
        name, _, rest = token.partition("[")
        if name:
            parts.append(name)
        while rest:
            idx, _, rest = rest.partition("]")
            try:
                parts.append(int(idx))
            except ValueError:
                raise SpecError(path, f"has a bad index [{idx}]") from None
            rest = rest.lstrip("[")
    node: Any = out
    for i, key in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                raise SpecError(path, f"index [{key}] is out of range")
            node = node[key]
        else:
            if not isinstance(node, dict):
                raise SpecError(path, f"{key!r} is not inside an object")
            if key not in node or node[key] is None:
                node[key] = [] if isinstance(nxt, int) else {}
            elif isinstance(node[key], str) and not isinstance(nxt, int):
                node[key] = {"name": node[key]}  # "adam" -> {"name": "adam"} to set a parameter
            node = node[key]
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or not -len(node) <= last < len(node):
            raise SpecError(path, f"index [{last}] is out of range")
    elif not isinstance(node, dict):
        raise SpecError(path, f"{last!r} is not inside an object")
    node[last] = value
    return out


__all__ = ["parse_value", "resolve", "resolve_params", "set_path"]
