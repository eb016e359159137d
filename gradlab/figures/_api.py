"""The implementation behind :mod:`gradlab.figures`' functions (imports matplotlib)."""

from __future__ import annotations

import importlib
import io
import math
import os
import warnings
from pathlib import Path
from typing import Any

from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from gradlab._version import __version__
from gradlab.figures._base import (
    STYLES,
    Options,
    Run,
    as_runs,
    check_size,
    freeze_style,
    grid_shape,
    parse_options,
    style_context,
)
from gradlab.figures._kinds import KINDS, Kind
from gradlab.figures.errors import FigureError
from gradlab.fileio import atomic_write_bytes, atomic_write_text

FORMATS = (".pdf", ".svg", ".png", ".eps")
#: the attribute a figure made by :func:`plot` carries its style's name in
STYLE_ATTR = "_gradlab_style"


def get_kind(kind: Any) -> Kind:
    if not isinstance(kind, str) or kind not in KINDS:
        raise FigureError(f"unknown figure {kind!r}: choose from {', '.join(KINDS)}")
    return KINDS[kind]


def which_panels(spec: Kind, o: Options) -> str:
    """The quantity the figure draws (checked), '' for a kind without one."""
    if not spec.quantities:
        if o.quantity is not None:
            raise FigureError(f"the {spec.name} figure has no quantity to choose")
        return ""
    q = o.quantity if o.quantity is not None else spec.quantities[0]
    if q not in spec.quantities:
        raise FigureError(
            f"unknown quantity {q!r} for the {spec.name} figure: choose from "
            f"{', '.join(spec.quantities)}"
        )
    return q


def default_size(spec: Kind, which: str, o: Options, runs: list[Run]) -> tuple[float, float]:
    """The style's size for this figure: a column (3.3 in) for one panel, the text width
    (6.9 in) for several, in the paper style; 16:9 in the slides style."""
    st = o.style
    multi = which in spec.multi_panel or (
        spec.name == "distributions" and o.extra.get("layout") == "multiples"
    )
    if st.name == "slides":
        return (13.33, 7.5) if multi else (10.0, 5.625)
    if spec.name == "compare" and which == "table":
        from gradlab.figures.compare import table1

        acts, inits, _ = table1(runs)
        em = st.font / 72.0
        table_w = 0.68 * em * (max(map(len, acts)) + 2 + sum(max(len(i), 4) + 2 for i in inits))
        from gradlab.figures.compare import TABLE_PANEL_TITLE

        title_w = 0.58 * st.title / 72.0 * len(TABLE_PANEL_TITLE)
        width = max(table_w + 0.3, title_w + 0.2)
        legend_rows = math.ceil(len(runs) / max(1, int(width / (0.6 * em * 24))))
        return (width, ((len(acts) + 1) * 2.2 + legend_rows * 1.5 + 3.5) * em)
    if not multi:
        return (3.3, 3.1) if spec.name == "boundary" else st.single
    L = runs[0].n_layers if runs else 1
    if spec.name == "heatmaps":
        rows = math.ceil(L / (1 if L <= 4 else 2))
        return 6.9, min(1.25 * rows + 0.9, 9.0)
    if spec.name == "distributions":
        rows, _ = grid_shape(L, aspect=2.2)
        return 6.9, min(1.45 * rows + 0.8, 9.0)
    return {
        "over_time": (6.9, 6.0),
        "speed": (6.9, 2.7),
        "compare": (6.9, 4.8),
        "dashboard": (6.9, 7.2),
    }.get(spec.name, (6.9, 4.3))


def plot(source: Any, kind: str, step: int | None = None, **options: Any) -> Figure:
    spec = get_kind(kind)
    o = parse_options(kind, step, options, spec.extra)
    which = which_panels(spec, o)
    runs = as_runs(source)
    if not spec.several_runs and len(runs) != 1:
        raise FigureError(f"the {kind} figure draws one run; only compare takes several")
    w0, h0 = default_size(spec, which, o, runs)
    if o.width is None and o.height is None:
        o.width, o.height = w0, h0
    elif o.width is None:
        o.width = o.height * w0 / h0
    elif o.height is None:
        o.height = o.width * h0 / w0
    dpi = o.dpi if o.dpi is not None else o.style.dpi
    check_size(o.width, o.height, dpi)
    draw = getattr(importlib.import_module(f"gradlab.figures.{spec.module}"), spec.function)
    with style_context(o.style):
        fig = Figure(figsize=(o.width, o.height), dpi=dpi, layout="constrained")
        draw(fig, runs if spec.several_runs else runs[0], o)
        freeze_style(fig, o.style)
        if any(ax.get_box_aspect() is not None for ax in fig.axes):
            # constrained layout moves an axes of fixed aspect a little at every draw until it
            # settles: settle it here, so every format is drawn with the same layout
            for _ in range(4):
                fig.draw_without_rendering()
    setattr(fig, STYLE_ATTR, o.style.name)
    return fig


# ---------------------------------------------------------------------------- output
def _format(fmt: str) -> str:
    f = "." + str(fmt).lower().lstrip(".")
    if f not in FORMATS:
        raise FigureError(
            f"a figure is written as {', '.join(FORMATS)}, not {fmt or 'a file without a suffix'}"
        )
    return f[1:]


def _metadata(fmt: str) -> dict:
    creator = f"GradLab {__version__}"
    return {
        "png": {"Software": creator},
        "pdf": {"Creator": creator, "CreationDate": None},
        "svg": {"Creator": creator, "Date": None},
        "eps": {"Creator": creator},
    }[fmt]


def render(fig: Figure, fmt: str, dpi: float | None = None) -> bytes:
    fmt = _format(fmt)
    if dpi is not None:
        w, h = fig.get_size_inches()
        check_size(float(w), float(h), float(dpi))
    style = STYLES.get(getattr(fig, STYLE_ATTR, "paper"), STYLES["paper"])
    buf = io.BytesIO()
    with style_context(style), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restore = _flatten_alpha(fig) if fmt == "eps" else None
        try:
            fig.savefig(
                buf, format=fmt, dpi=dpi if dpi is not None else fig.dpi, metadata=_metadata(fmt)
            )
        finally:
            if restore is not None:
                restore()
    for w in caught:
        text = str(w.message)
        if "constrained_layout not applied" in text or "collapsed to zero" in text:
            wi, hi = fig.get_size_inches()
            raise FigureError(
                f"the figure is too small for its panels at {wi:g} x {hi:g} in: make it larger"
            )
    for w in caught:  # anything else is worth hearing about
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return buf.getvalue()


def _flatten_alpha(fig: Figure):
    """PostScript has no transparency: blend every translucent artist into white (the
    background) and return a function that puts the colours back."""
    undo = []
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    def onto_white(rgba):
        r, g, b, a = to_rgba(rgba)
        return (r * a + 1 - a, g * a + 1 - a, b * a + 1 - a, 1.0)

    for art in fig.findobj():
        alpha = art.get_alpha()
        if isinstance(art, Line2D) and alpha is not None and alpha < 1:
            color = art.get_color()
            undo.append(lambda a=art, c=color, al=alpha: (a.set_color(c), a.set_alpha(al)))
            art.set_color(onto_white(to_rgba(color, alpha)))
            art.set_alpha(None)
        elif isinstance(art, (Collection, Patch)):
            fc, ec = art.get_facecolor(), art.get_edgecolor()
            fcs = [tuple(c) for c in (fc if getattr(fc, "ndim", 1) == 2 else [fc])]
            ecs = [tuple(c) for c in (ec if getattr(ec, "ndim", 1) == 2 else [ec])]
            if all(c[3] in (0.0, 1.0) for c in fcs + ecs):
                continue
            undo.append(
                lambda a=art, f=fc, e=ec, al=alpha: (
                    a.set_alpha(al),
                    a.set_facecolor(f),
                    a.set_edgecolor(e),
                )
            )
            art.set_alpha(None)
            flat_f = [onto_white(c) if c[3] > 0 else c for c in fcs]
            flat_e = [onto_white(c) if c[3] > 0 else c for c in ecs]
            art.set_facecolor(flat_f if isinstance(art, Collection) else flat_f[0])
            art.set_edgecolor(flat_e if isinstance(art, Collection) else flat_e[0])

    def restore():
        for u in reversed(undo):
            u()

    return restore


def check_target(path: str | os.PathLike, suffixes: tuple[str, ...], what: str) -> Path:
    """The output path, checked before any work: its suffix, and that it is not a folder."""
    path = Path(path)
    if path.is_dir():
        raise FigureError(f"{path} is a folder: give a file name ending in {', '.join(suffixes)}")
    if path.suffix.lower() not in suffixes:
        raise FigureError(
            f"{path.name}: {what} is written as {', '.join(suffixes)}, not "
            f"{path.suffix or 'a file without a suffix'}"
        )
    return path


def save(fig: Figure, path: str | os.PathLike, dpi: float | None = None) -> Path:
    path = check_target(path, FORMATS, "a figure")
    data = render(fig, path.suffix, dpi)
    atomic_write_bytes(path, data)
    return path


def export(
    source: Any, kind: str, path: str | os.PathLike, step: int | None = None, **options: Any
) -> Path:
    path = check_target(path, FORMATS, "a figure")
    fig = plot(source, kind, step, **options)
    return save(fig, path)


def table_text(source: Any, fmt: str) -> str:
    from gradlab.figures.compare import TABLE_FORMATS
    from gradlab.figures.compare import table_text as _text

    f = "." + str(fmt).lower().lstrip(".")
    if f not in TABLE_FORMATS:
        raise FigureError(f"a table is written as {', '.join(TABLE_FORMATS)}, not {fmt}")
    return _text(as_runs(source), f)


def write_table(source: Any, path: str | os.PathLike) -> Path:
    from gradlab.figures.compare import TABLE_FORMATS

    path = check_target(path, TABLE_FORMATS, "a table")
    text = table_text(source, path.suffix)
    atomic_write_text(path, text)
    return path


__all__ = ["FORMATS", "export", "plot", "render", "save", "table_text", "write_table"]
