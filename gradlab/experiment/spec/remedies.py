"""The spec's side of Hands-On ML chapter 11's remedies: early stopping's settings, the
network-level ``reuse`` shortcut, and the rule that MC dropout needs dropout. Pure checks of a
spec (no file is read here: the reused weights are loaded when the run is built,
:mod:`gradlab.experiment.reuse`).

``training.early_stopping``: ``false`` (off, the default), ``true`` (the declared defaults) or
``{"monitor": "val_loss", "patience": 10, "min_delta": 0, "restore_best_weights": true}``;
resolved to ``false`` or the full object.

``network.reuse``: ``{"from": SOURCE, "layers": [1, 2, 3], "trainable": false}`` is written out
as ``"init": {"from": SOURCE, "layer": k}`` (and ``"trainable"``, when given) in each listed
dense layer k (counted from 1 as the probes name them, the output layer last: listing it when
the list leaves it implicit writes it out), so the layer table and the run see the same thing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from gradlab import validate
from gradlab.errors import SpecError
from gradlab.experiment.spec import fields as F
from gradlab.params import resolve as resolve_params

REUSE_KEYS = ("from", "layers", "trainable")
#: a reuse list names at most this many layers
MAX_REUSED = 10_000


def early_stopping(value: Any, problems: list | None = None) -> dict | bool:
    """``False`` (off) or the full settings of ``training.early_stopping`` (with a
    ``problems`` list, every bad setting is appended to it and takes its default)."""
    if value is None or value is False:
        return False
    if value is True:
        return {p.name: p.default for p in F.EARLY_STOPPING_PARAMS}
    if not isinstance(value, Mapping):
        raise SpecError(
            "training.early_stopping",
            f"must be false, true or an object of {', '.join(F.EARLY_STOPPING_BY_NAME)}, got "
            f"{type(value).__name__}",
        )
    return resolve_params(F.EARLY_STOPPING_PARAMS, value, "training.early_stopping",
                          problems=problems)


def _is_dense(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get("type", "dense") in ("dense", "output")


def expand_reuse(layers: Any, reuse: Any) -> Any:
    """``layers`` with ``network.reuse`` written into the layers it names (a new list)."""
    reuse = validate.mapping(reuse, "network.reuse")
    validate.no_unknown_keys(reuse, "network.reuse", REUSE_KEYS)
    if "from" not in reuse:
        raise SpecError("network.reuse.from", "missing (a session, a weights .npz or "
                        "preset:NAME)")
    src = reuse["from"]
    if not isinstance(src, str) or not src.strip():
        raise SpecError("network.reuse.from", "must name a session, a weights .npz file or "
                        "preset:NAME")
    numbers = reuse.get("layers")
    if not isinstance(numbers, Sequence) or isinstance(numbers, (str, bytes)) or not numbers:
        raise SpecError("network.reuse.layers", "must list the layers to reuse, e.g. [1, 2, 3]")
    if len(numbers) > MAX_REUSED:
        raise SpecError("network.reuse.layers", f"lists more than {MAX_REUSED:,} layers")
    trainable = reuse.get("trainable")
    if trainable is not None:
        trainable = validate.boolean(trainable, "network.reuse.trainable")
    if not isinstance(layers, list):
        return layers  # the layer list's own check says what is wrong with it
    out = [copy.deepcopy(e) for e in layers]  # (a list may hold one dict several times)
    dense = [i for i, e in enumerate(out) if _is_dense(e)]
    seen: set[int] = set()
    for j, k in enumerate(numbers):
        k = validate.integer(k, f"network.reuse.layers[{j}]", minimum=1)
        if k in seen:
            raise SpecError(f"network.reuse.layers[{j}]", f"layer {k} is listed twice")
        seen.add(k)
        implicit_output = not (out and _is_dense(out[-1]) and (
            out[-1].get("type") == "output" or out[-1].get("output")))
        if k == len(dense) + 1 and implicit_output:  # the output layer the engine appends
            out.append({"type": "output"})
            dense.append(len(out) - 1)
        if k > len(dense):
            total = len(dense) + (1 if implicit_output else 0)
            raise SpecError(
                f"network.reuse.layers[{j}]",
                f"layer {k} is not in the network, which has {total} layers (the output "
                "layer last)",
            )
        i = dense[k - 1]
        entry = out[i]
        if isinstance(entry.get("init"), Mapping) and "from" in entry["init"]:
            raise SpecError(f"network.layers[{i}].init", "is reused twice: by network.reuse "
                            "and by its own init")
        entry["init"] = {"from": src, "layer": k}
        if trainable is not None and "trainable" not in entry:
            entry["trainable"] = trainable
    return out


def check_mc_dropout(training: Mapping, resolved: Sequence[Mapping], problems: list) -> None:
    """MC dropout averages passes that differ only through dropout: it needs some."""
    if not training.get("mc_dropout") or not resolved:
        return
    if any(e.get("dropout") or (e.get("type") == "dropout" and e.get("rate")) for e in resolved):
        return
    problems.append(SpecError(
        "training.mc_dropout",
        "the network has no dropout, so every pass would give the same predictions (give a "
        "layer some dropout, or set 0)",
    ))
