"""The settings that differ between two compared runs (Compare's A/B line), in words.

Pure functions on resolved specs: no Qt, so the window and the tests use them directly.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from gradlab.experiment.spec.fields import NAMING_KEYS
from gradlab.experiment.spec.naming import lr_story

if TYPE_CHECKING:
    from gradlab.app.model import RunModel

#: spec fields that name or describe a run without changing it (left out of the A/B diff)
NOT_SETTINGS = NAMING_KEYS


def spec_diff(a: Any, b: Any, path: str = "", ignore: tuple[str, ...] = NOT_SETTINGS):
    """The settings that differ between two resolved specs: a list of (path, value in a, value
    in b), paths dotted with list indices (``network.layers[0].init``). Top-level keys in
    ``ignore`` are skipped; a missing value is None."""
    out: list[tuple[str, Any, Any]] = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if not path and k in ignore:
                continue
            sub = f"{path}.{k}" if path else str(k)
            out += spec_diff(a.get(k), b.get(k), sub, ignore)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            out += spec_diff(
                a[i] if i < len(a) else None, b[i] if i < len(b) else None, f"{path}[{i}]", ignore
            )
    elif a != b and not (_is_nan(a) and _is_nan(b)):
        out.append((path, a, b))
    return out


def run_diff(a: RunModel, b: RunModel) -> list[tuple[str, Any, Any]]:
    """The settings that differ between two runs: their specs' differences, the learning rate
    told with the changes made during each run (``0.01 -> 0.03 at step 1,200``)."""
    diffs = [d for d in spec_diff(a.spec, b.spec) if d[0] != "training.lr"]
    la = lr_story(a.spec["training"]["lr"], a.lr_changes).removeprefix("lr ")
    lb = lr_story(b.spec["training"]["lr"], b.lr_changes).removeprefix("lr ")
    if la != lb:
        diffs.insert(0, ("training.lr", la, lb))
    return diffs


def group_diffs(diffs: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    """Merge entries that differ only in one list index and share both values:
    ``layers[0].init``, ``layers[1].init``, ``layers[2].init`` -> ``layers[0–2].init`` (a
    comma list when the indices are not consecutive)."""
    groups: dict[tuple[str, str, str], list[tuple[int, str, Any, Any]]] = {}
    order: list[tuple[str, str, str]] = []
    for path, x, y in diffs:
        m = re.search(r"\[(\d+)\]", path)
        if m is None:
            key = (path, repr(x), repr(y))
            idx = -1
        else:
            key = (path[: m.start()] + "[#]" + path[m.end() :], repr(x), repr(y))
            idx = int(m.group(1))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append((idx, path, x, y))
    out = []
    for key in order:
        items = groups[key]
        if len(items) == 1 or items[0][0] < 0:
            out += [(p, x, y) for _, p, x, y in items]
            continue
        idx = sorted(i for i, *_ in items)
        if idx == list(range(idx[0], idx[-1] + 1)):
            label = f"{idx[0]}–{idx[-1]}"
        else:
            label = ",".join(map(str, idx))
        out.append((key[0].replace("[#]", f"[{label}]", 1), items[0][2], items[0][3]))
    return out


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def format_value(v: Any) -> str:
    """A spec value as a user reads it: names bare, numbers short, objects as compact JSON."""
    if v is None:
        return "(none)"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(", ", ": "))
    return str(v)
