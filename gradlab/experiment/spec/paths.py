"""Command-line style edits of a spec: ``--set training.lr=0.01``."""

from __future__ import annotations

import copy
import json
from typing import Any

from gradlab.errors import SpecError


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
