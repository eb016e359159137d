"""The two styles (fonts and line widths in points, default sizes and resolution), the limits
of a figure's size, and the colours every figure shares (imports matplotlib)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from gradlab import palette
from gradlab.figures.errors import FigureError

LIGHT = palette.LIGHT
#: text and axes drawn in the light theme's foreground; the background is white (paper)
FOREGROUND = LIGHT.foreground
MUTED = LIGHT.muted
GRID = palette.blend(LIGHT.foreground, "#ffffff", 0.12)

# ---------------------------------------------------------------------------- sizes
#: a figure's side, inches
MIN_INCHES, MAX_INCHES = 1.0, 50.0
MIN_DPI, MAX_DPI = 50, 1200
#: pixels of a raster image (PNG, or an image inside a vector figure): per side and in all
MAX_SIDE_PIXELS = 20_000
MAX_PIXELS = 100_000_000

#: a paper's column and its full text width, inches
COLUMN, TEXT_WIDTH = 3.3, 6.9


@dataclass(frozen=True)
class Style:
    """Fonts in points and line widths in points, the same whatever the size or DPI."""

    name: str
    font: float  # tick labels, axis labels, legends
    title: float  # panel and figure titles
    line: float  # data lines
    thin: float  # per-step curves, reference lines
    marker: float
    frame: float  # axes and ticks
    dpi: int  # default raster resolution
    single: tuple[float, float]  # default size of a one-panel figure
    wide: tuple[float, float]  # default size of a figure of several panels

    def rc(self) -> dict[str, Any]:
        """matplotlib settings of the style (used while a figure is built and saved)."""
        return {
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans"],
            "font.size": self.font,
            "axes.titlesize": self.title,
            "axes.labelsize": self.font,
            "xtick.labelsize": self.font,
            "ytick.labelsize": self.font,
            "legend.fontsize": self.font,
            "legend.title_fontsize": self.font,
            "figure.titlesize": self.title,
            "figure.labelsize": self.font,
            "lines.linewidth": self.line,
            "lines.markersize": self.marker,
            "patch.linewidth": self.thin,
            "axes.linewidth": self.frame,
            "axes.edgecolor": FOREGROUND,
            "axes.labelcolor": FOREGROUND,
            "axes.titlecolor": FOREGROUND,
            "text.color": FOREGROUND,
            "xtick.color": FOREGROUND,
            "ytick.color": FOREGROUND,
            "xtick.major.width": self.frame,
            "ytick.major.width": self.frame,
            "xtick.minor.width": 0.7 * self.frame,
            "ytick.minor.width": 0.7 * self.frame,
            "xtick.major.size": 4.0 * self.frame,
            "ytick.major.size": 4.0 * self.frame,
            "xtick.minor.size": 2.2 * self.frame,
            "ytick.minor.size": 2.2 * self.frame,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": GRID,
            "grid.linewidth": 0.7 * self.frame,
            "axes.axisbelow": True,
            "axes.titlepad": 0.5 * self.font,
            "legend.frameon": False,
            "legend.handlelength": 1.6,
            "legend.borderaxespad": 0.3,
            "legend.columnspacing": 1.2,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.constrained_layout.h_pad": 0.03,
            "figure.constrained_layout.w_pad": 0.03,
            "image.interpolation": "nearest",
            # text stays text: TrueType fonts embedded in PDF and (E)PS, <text> in SVG
            "pdf.fonttype": 42,
            "ps.fonttype": 42,
            "svg.fonttype": "none",
            "svg.hashsalt": "gradlab",
            "axes.unicode_minus": True,
            # unhinted glyphs: text is as wide at any DPI, so every format and resolution gets
            # the same layout
            "text.hinting": "no_hinting",
        }


STYLES: dict[str, Style] = {
    # 8-9 pt at a 3.3 in column: the size a journal prints
    "paper": Style("paper", 8.0, 9.0, 1.1, 0.6, 3.2, 0.6, 300, (COLUMN, 2.5), (TEXT_WIDTH, 4.6)),
    # large fonts and thick lines for a projector, 16:9
    "slides": Style("slides", 16.0, 19.0, 2.8, 1.4, 7.0, 1.3, 150, (10.0, 5.625), (13.33, 7.5)),
}


def get_style(name: str | None) -> Style:
    if name is None:
        return STYLES["paper"]
    try:
        return STYLES[name]
    except KeyError:
        raise FigureError(f"unknown style {name!r}: choose from {', '.join(STYLES)}") from None


def check_size(width: float, height: float, dpi: float) -> None:
    """Refuse, with one sentence naming the limit, a size no figure needs."""
    for what, v in (("width", width), ("height", height)):
        if not (isinstance(v, (int, float)) and math.isfinite(v)):
            raise FigureError(f"the figure {what} must be a number of inches, got {v!r}")
        if not MIN_INCHES <= v <= MAX_INCHES:
            raise FigureError(
                f"a figure {what} of {v:g} in is beyond the limit of {MIN_INCHES:g} to "
                f"{MAX_INCHES:g} in"
            )
    if not (isinstance(dpi, (int, float)) and math.isfinite(dpi)) or not MIN_DPI <= dpi <= MAX_DPI:
        raise FigureError(f"a DPI of {dpi!r} is beyond the limit of {MIN_DPI} to {MAX_DPI}")
    w, h = round(width * dpi), round(height * dpi)
    if max(w, h) > MAX_SIDE_PIXELS or w * h > MAX_PIXELS:
        raise FigureError(
            f"{width:.3g} x {height:.3g} in at {dpi:g} dpi is {w:,} x {h:,} pixels, beyond the "
            f"limit of {MAX_SIDE_PIXELS:,} pixels a side and {MAX_PIXELS // 1_000_000} megapixels"
        )


def freeze_style(fig: Figure, st: Style) -> None:
    """Make the figure draw in its style whatever the caller's matplotlib settings: tick
    labels are created lazily at draw time, from the settings then in force, so their font,
    size and marks are fixed on every axes here."""
    for ax in fig.axes:
        ax.tick_params(
            axis="both",
            which="major",
            labelsize=st.font,
            labelfontfamily="DejaVu Sans",
            width=st.frame,
            length=4.0 * st.frame,
            color=FOREGROUND,
            labelcolor=FOREGROUND,
        )
        ax.tick_params(axis="both", which="minor", width=0.7 * st.frame, length=2.2 * st.frame)


def style_context(st: Style):
    """Use the style's matplotlib settings inside a ``with`` block."""
    return matplotlib.rc_context(st.rc())
