"""Publication figures of a run: matplotlib figures (PDF, SVG, PNG, EPS) from a session.

>>> from gradlab import figures
>>> fig = figures.plot("run.gradlab", "distributions", step=0, quantity="act")  # doctest: +SKIP
>>> fig.axes[0].set_xlim(-1, 1)                                               # doctest: +SKIP
>>> figures.save(fig, "fig6.pdf")                                             # doctest: +SKIP

:func:`plot` returns an ordinary ``matplotlib.figure.Figure`` (object-oriented API, no pyplot
state), so anything matplotlib can do to a figure can follow. :func:`save` writes it atomically,
with its text as text (TrueType fonts embedded in PDF and EPS, ``<text>`` in SVG).

Sources: a ``.gradlab`` path, a loaded session or an ``Experiment``, or anything with the
window's run fields (``name``, ``spec``, ``history``, ``layer_names``, ``input_dim``,
``output_dim``), such as a pinned run; ``compare`` takes a list of them.

Kinds (:data:`KINDS`; ``kind_options(kind)`` lists the choices of each):

``distributions``  normalised per-layer histograms at one probe; ``layout="overlay"`` (Glorot &
                   Bengio figs. 6-8) or ``"multiples"`` (CS231n's one plot per layer)
``profile``        per-layer statistics at one probe, x = layer, with the mean-field line
``over_time``      per-layer lines over training (Glorot & Bengio figs. 2-4, 9)
``speed``          Nielsen's speed of learning: bars at one step and lines over training
``training``       loss, accuracy, learning rate, gradient norm
``heatmaps``       each layer's histograms over the run as an image (``logc``: log colour)
``boundary``       the decision boundary (2-D data only)
``compare``        several runs: loss, speed of learning, Table 1 (test error % by activation
                   and initialisation)
``dashboard``      one run on one page

Options of every kind: ``step`` (the probe at or before it; default the newest), ``quantity``
(which quantity or panel), ``layers`` (layer numbers 1..L and/or ``"out"``, ``"hidden"`` or
``"all"``), ``logx``, ``logy``, ``width``/``height`` or ``size=(w, h)`` in inches, ``dpi``,
``style`` (``"paper"``: 8-9 pt fonts at a 3.3 in column; ``"slides"``: large fonts, thick lines)
and ``title`` (text, True for the run's description, False for none).

Everything raises :class:`FigureError` (a ``ValueError`` whose message is one sentence) for what
cannot be drawn as asked. matplotlib is imported on the first figure, not by this module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from gradlab.figures._kinds import KINDS as _KINDS
from gradlab.figures.errors import FigureError

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.figure import Figure

#: the figure kinds
KINDS: tuple[str, ...] = tuple(_KINDS)
#: the file formats a figure is written in
FORMATS = (".pdf", ".svg", ".png", ".eps")
#: the styles
STYLES = ("paper", "slides")
#: the formats of the comparison's table
TABLE_FORMATS = (".md", ".tex", ".csv")


def kind_options(kind: str) -> dict[str, tuple]:
    """The choices of ``kind``'s options besides the common ones: ``{"quantity": (...),
    "layout": (...), ...}``, the default first (an empty tuple: the kind has no quantity)."""
    if kind not in _KINDS:
        raise FigureError(f"unknown figure {kind!r}: choose from {', '.join(_KINDS)}")
    k = _KINDS[kind]
    return {"quantity": k.quantities, **k.extra}


def describe(kind: str) -> str:
    """One line saying what ``kind`` draws."""
    kind_options(kind)
    return _KINDS[kind].summary


def style(name: str = "paper"):
    """A ``with`` block in which matplotlib uses the style's fonts and lines: text added to a
    figure inside it (a title, an annotation) matches the rest of the figure."""
    from gradlab.figures._style import get_style, style_context

    return style_context(get_style(name))


def plot(source: Any, kind: str, step: int | None = None, **options: Any) -> Figure:
    """Draw ``kind`` from ``source`` and return the matplotlib Figure (see the module
    docstring for the kinds and options)."""
    from gradlab.figures import _api

    return _api.plot(source, kind, step, **options)


def render(fig: Figure, fmt: str, dpi: float | None = None) -> bytes:
    """The figure as the bytes of a ``fmt`` file (pdf, svg, png or eps), in memory. ``dpi``
    defaults to the figure's (the style's: 300 for paper, 150 for slides)."""
    from gradlab.figures import _api

    return _api.render(fig, fmt, dpi)


def save(fig: Figure, path: str | os.PathLike, dpi: float | None = None) -> Path:
    """Write the figure to ``path`` (its suffix picks the format), atomically: rendered in
    memory first, then a temporary file renamed over the target, so a failed write leaves
    any old file as it was."""
    from gradlab.figures import _api

    return _api.save(fig, path, dpi)


def export(
    source: Any, kind: str, path: str | os.PathLike, step: int | None = None, **options: Any
) -> Path:
    """:func:`plot` then :func:`save` (the path's suffix is checked before any drawing)."""
    from gradlab.figures import _api

    return _api.export(source, kind, path, step, **options)


def table_text(sources: Any, fmt: str) -> str:
    """The comparison's numbers for several runs as Markdown, LaTeX or CSV text: Table 1 (test
    error % by hidden activation and initialisation, the lowest in bold) and one row per run
    (md, tex); one row per run (csv)."""
    from gradlab.figures import _api

    return _api.table_text(sources, fmt)


def write_table(sources: Any, path: str | os.PathLike) -> Path:
    """Write :func:`table_text` to ``path`` (.md, .tex or .csv), atomically."""
    from gradlab.figures import _api

    return _api.write_table(sources, path)


__all__ = [
    "FORMATS",
    "KINDS",
    "STYLES",
    "TABLE_FORMATS",
    "FigureError",
    "describe",
    "export",
    "kind_options",
    "plot",
    "render",
    "save",
    "style",
    "table_text",
    "write_table",
]
