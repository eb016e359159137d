"""Names follow content: what a run is called and how it is described, from its settings.

A spec loaded from a preset carries ``"preset": "<name>"``. While its settings (everything but
the naming keys and what only says how long the run goes and how closely it is watched: the
budget, the evaluation and probe intervals) are the preset's, it is called by the
preset's name with the preset's description and reference; once they differ it is called
``"custom (from <preset>)"`` with a description of what it is (and no reference: the preset's
published numbers are not this run's). A name the user gave (any name that is not one of those
automatic ones) is kept; only the description follows.

:func:`describe_run` is the one-line label of a run wherever it is shown (the window's views and
pins, Compare, exported figures, ``gradlab info``), learning-rate changes made during the run
included: ``"spiral: 2-[16]x3-2 tanh, glorot_uniform, adam lr 0.01 -> 0.03 at step 1,200"``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from gradlab.data import info as dataset_info
from gradlab.engine import architecture
from gradlab.errors import SpecError
from gradlab.experiment import presets
from gradlab.experiment.spec import fields as F
from gradlab.experiment.spec.layers import kind_of
from gradlab.experiment.spec.resolve import check, effective_layers, resolve
from gradlab.params import resolve as resolve_params

UNTITLED = F.NAME.default


def custom_name(preset: str) -> str:
    return f"custom (from {preset})"


def origin(spec: dict) -> str | None:
    """The preset a spec derives from: its ``preset`` key, else its name if that is a preset."""
    p = spec.get("preset")
    if isinstance(p, str) and p in presets.names():
        return p
    name = spec.get("name")
    return name if isinstance(name, str) and name in presets.names() else None


def _settings(spec: dict, drop: tuple[str, ...] = F.NOT_IDENTITY) -> str | None:
    """The spec's settings, every default filled in, as canonical JSON (None if invalid),
    without the naming keys and the fields in ``drop``."""
    if check(spec):
        return None
    r = resolve(spec)
    for k in (*F.NAMING_KEYS, *drop):
        section, _, key = k.partition(".")
        if key:
            r[section].pop(key, None)
        else:
            r.pop(section, None)
    data = r["data"]
    try:
        info = dataset_info(data["name"])
        r["data"] = {"name": info.name, **resolve_params(info.params, data, "data", ("name",))}
    except SpecError:
        pass
    layers = effective_layers(spec)
    for e in layers:
        if e.get("output"):
            e["units"] = None  # the data's number of outputs, not a setting
    r["network"] = layers
    return json.dumps(r, sort_keys=True)


@lru_cache(maxsize=64)
def _preset_settings(name: str) -> str | None:
    return _settings(presets.load(name))


def matches_preset(spec: dict, preset: str) -> bool:
    """Whether ``spec`` computes exactly what preset ``preset`` does (names aside)."""
    mine = _settings(spec)
    return mine is not None and mine == _preset_settings(preset)


def same_settings(a: dict, b: dict, ignore: tuple[str, ...] = ()) -> bool:
    """Whether two specs compute the same run (names and the fields in ``ignore`` aside):
    defaults given or not, the output layer's width (the data's) aside. Invalid specs compare
    as written."""
    ka, kb = _settings(a, ignore), _settings(b, ignore)
    if ka is None or kb is None:
        strip = lambda s: {k: v for k, v in s.items() if k not in F.NAMING_KEYS}  # noqa: E731
        return ka is None and kb is None and strip(a) == strip(b)
    return ka == kb


def user_named(spec: dict) -> bool:
    """Whether the name is the user's own (not the automatic preset / custom name)."""
    name = spec.get("name")
    p = origin(spec)
    auto = {None, "", UNTITLED} | ({p, custom_name(p)} if p else set())
    return name not in auto


def follow(spec: dict) -> dict:
    """A copy of ``spec`` whose name, description and reference follow its settings (see the
    module docstring). A spec with no preset origin keeps its naming keys."""
    out = copy.deepcopy(spec)
    p = origin(out)
    if p is None:
        return out
    out["preset"] = p
    own = user_named(out)
    if matches_preset(out, p):
        preset = presets.load(p)
        if not own:
            out["name"] = p
        for key in ("description", "reference"):
            if key in preset:
                out[key] = copy.deepcopy(preset[key])
            else:
                out.pop(key, None)
    else:
        if not own:
            out["name"] = custom_name(p)
        out["description"] = custom_description(out, p)
        out.pop("reference", None)
    return out


def rename(spec: dict, name: str) -> dict:
    """``spec`` named ``name`` by the user ("" gives the naming back to the content)."""
    out = copy.deepcopy(spec)
    name = " ".join(str(name).split())
    out["name"] = name or UNTITLED
    if not name and origin(spec) is not None:
        out["name"] = origin(spec)  # follow() then says whether it is still that preset
    return follow(out)


def _changed(spec: dict, preset: str) -> list[str]:
    """The sections in which ``spec`` differs from the preset (data, network, training...)."""
    try:
        a, b = json.loads(_settings(spec) or "{}"), json.loads(_preset_settings(preset) or "{}")
    except ValueError:
        return []
    return [
        k
        for k in ("data", "network", "training", "probes", "seed", "dtype")
        if a.get(k) != b.get(k)
    ]


def custom_description(spec: dict, preset: str) -> str:
    """``"Custom experiment (from the spiral preset; changed: data, network): moons data,
    hidden layers [64]x6 relu, adam lr 0.01."``"""
    changed = _changed(spec, preset)
    what = f"; changed: {', '.join(changed)}" if changed else ""
    return f"Custom experiment (from the {preset} preset{what}): {summary(spec)}."


def summary(spec: dict) -> str:
    """``"moons data, hidden layers [64]x6 relu, adam lr 0.01"`` (no sizes: the data sets them)."""
    data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
    parts = [f"{data.get('name', '?')} data"]
    dense = [e for e in effective_layers(spec) if e.get("type") == "dense" and not e.get("output")]
    if dense:
        widths = [e["units"] for e in dense]
        acts = sorted({e["activation"] for e in dense})
        parts.append(f"hidden layers {_widths(widths)} {'/'.join(acts)}")
    else:
        parts.append("no hidden layer")
    t = spec.get("training") if isinstance(spec.get("training"), dict) else {}
    opt = t.get("optimizer", F.OPTIMIZER.default)
    opt = opt.get("name", "?") if isinstance(opt, dict) else str(opt)
    lr = t.get("lr")
    lr = lr if isinstance(lr, (int, float)) and not isinstance(lr, bool) else F.optimizer_lr(opt)
    parts.append(f"{opt} lr {lr:g}")
    return ", ".join(parts)


def _widths(widths: Sequence[Any]) -> str:
    out, i = [], 0
    while i < len(widths):
        j = i
        while j + 1 < len(widths) and widths[j + 1] == widths[i]:
            j += 1
        out.append(f"[{widths[i]}]x{j - i + 1}" if j > i else str(widths[i]))
        i = j + 1
    return "-".join(out)


# ====================================================================== a run's label
def lr_story(lr: float, changes: Sequence[dict] = ()) -> str:
    """``"lr 0.01"``, or with changes made during the run ``"lr 0.01 -> 0.03 at step 1,200"``
    (each change ``{"step", "from", "to"}``)."""
    text = f"lr {lr:g}"
    for c in changes:
        text += f" -> {c['to']:g} at step {int(c['step']):,}"
    return text


def describe_run(
    spec: dict,
    input_dim: int | None,
    output_dim: int | None,
    lr_changes: Sequence[dict] = (),
    name: str | None = None,
) -> str:
    """One line: name, architecture, activations, initialisers, optimiser and learning rate
    (with the changes made during the run). ``spec`` is a resolved spec."""
    layers = spec["network"]["layers"]
    dense = [ly for ly in layers if kind_of(ly) == "dense"]
    acts = sorted({ly.get("activation", "?") for ly in dense})
    inits = sorted(
        {
            ly["init"] if isinstance(ly.get("init"), str) else ly.get("init", {}).get("name", "?")
            for ly in dense
        }
    )
    arch = architecture(input_dim, [ly.get("units") for ly in dense], output_dim)
    t = spec["training"]
    opt = t["optimizer"]["name"] if isinstance(t["optimizer"], dict) else t["optimizer"]
    return (
        f"{name or spec.get('name', UNTITLED)}: {arch} {'/'.join(acts)}, {'/'.join(inits)}, "
        f"{opt} {lr_story(t['lr'], lr_changes)}"
    )
