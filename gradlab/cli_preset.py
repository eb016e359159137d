"""``gradlab info --preset NAME``: what a preset reproduces, the published numbers beside what
GradLab measured with it (the preset's ``reference``: ``source``, ``published``, ``measured``).

A family (``handson-activations``) prints each member in turn: its claim lives in each member's
reference (:mod:`gradlab.experiment.presets`).
"""

from __future__ import annotations

import textwrap

from gradlab.safeio import printable

#: the lines' width, and the indent of a wrapped text below its label
WIDTH = 100
INDENT = "    "


def _wrap(text: str, first: str = "", rest: str = INDENT) -> list[str]:
    """``text`` in lines of at most :data:`WIDTH` (names with hyphens kept whole)."""
    return textwrap.wrap(
        text, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def _block(label: str, text: str) -> list[str]:
    """``label:`` on its own line(s), ``text`` wrapped below it, indented."""
    return [*_wrap(f"{label}:"), *_wrap(printable(text, 4000), INDENT)]


def preset_lines(name: str) -> list[str]:
    """The lines ``gradlab info --preset NAME`` prints for one preset (an unknown name raises
    :class:`~gradlab.errors.SpecError`, listing the presets)."""
    from gradlab.experiment import presets

    spec = presets.load(name)
    ref = spec.get("reference")
    ref = ref if isinstance(ref, dict) else {}
    lines = [f"preset      {printable(name, 200)}"]
    if spec.get("description"):
        lines += _wrap(f"about       {printable(spec['description'], 500)}", "", " " * 12)
    published, measured = ref.get("published"), ref.get("measured")
    source = ref.get("source")
    if published:
        label = f"published ({printable(source, 200)})" if source else "published"
        lines += _block(label, str(published))
    if measured:
        lines += _block("measured here", str(measured))
    if not (published or measured):
        lines += ["reference   (none: this preset reproduces no published numbers)"]
    return lines


def info_preset(name: str) -> list[str]:
    """The lines of ``gradlab info --preset NAME``: one preset, or each member of a family."""
    from gradlab.cli_family import is_family
    from gradlab.experiment import presets

    if not is_family(name):
        return preset_lines(name)
    members = f"family      {printable(name, 200)}: {', '.join(presets.family(name))}"
    out = _wrap(members, "", " " * 12)
    for member in presets.family(name):
        out += ["", *preset_lines(member)]
    return out
