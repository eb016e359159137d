"""Light and dark themes, the colours that encode layers, and the zoom.

The colours come from :mod:`gradlab.palette` (no Qt there), so the window and the publication
figures draw a layer, a run or a class in the same colour. Layers are drawn in a perceptual
colour ramp from the first hidden layer (dark blue) to the output layer (yellow), as in Glorot &
Bengio's overlaid histograms: depth reads as colour in every view.

**Zoom** (View > Zoom In / Zoom Out / Actual Size) scales everything a class reads from the back
of a lecture room: the application font (the panels' text, tables, tick labels), the plots'
titles and legends (:func:`pt`), line widths and markers (:func:`px`) and fixed sizes such as axis
widths. The views build their items with these helpers, so a zoom change rebuilds them (like a
theme change). At 100% pens stay 1 px where they were (pyqtgraph's fast path).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPalette
from PySide6.QtWidgets import QApplication

from gradlab import palette

#: a theme's colours (background, foreground, accent, warning, error, ok, muted, second)
Theme = palette.ThemeColors
LIGHT = palette.LIGHT
DARK = palette.DARK
THEMES = palette.THEMES

_current: Theme = LIGHT

#: a qualitative palette (Tableau 10): pinned runs get one colour each
CATEGORICAL = palette.CATEGORICAL
#: class colours, the same in the data preview and the decision boundary: TensorFlow
#: Playground's blue and orange for the first two classes, then Tableau 10
CLASS_COLORS = palette.CLASS_COLORS

#: the zoom steps of View > Zoom In / Zoom Out (1.0: Actual Size)
ZOOMS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5)
_zoom = 1.0
_base_font: QFont | None = None  # the application's font at 100%


def current() -> Theme:
    return _current


def layer_colors(n: int, theme: Theme | None = None) -> list[QColor]:
    """``n`` colours along the viridis ramp (first layer dark, output layer bright).

    On a dark background the darkest end is lifted so the first layer stays visible.
    """
    theme = theme or _current
    return [QColor(c) for c in palette.layer_colors(n, theme.name)]


def apply(theme_name: str, app: QApplication | None = None) -> Theme:
    """Switch pyqtgraph's defaults and the application palette to ``theme_name``."""
    global _current
    theme = THEMES.get(theme_name, LIGHT)
    _current = theme
    pg.setConfigOptions(
        antialias=False,
        background=theme.background,
        foreground=theme.foreground,
        imageAxisOrder="row-major",
    )
    app = app or QApplication.instance()
    if app is not None:
        app.setStyle("Fusion")
        app.setPalette(_palette(theme))
    return theme


# ---------------------------------------------------------------------- zoom
def zoom() -> float:
    """The zoom factor (1.0: Actual Size)."""
    return _zoom


def set_zoom(factor: float, app: QApplication | None = None) -> float:
    """Zoom the application's text to ``factor`` (clipped to :data:`ZOOMS`' range); returns it.
    The views pick the factor up when they rebuild (the window rebuilds them)."""
    global _zoom, _base_font
    factor = min(max(float(factor), ZOOMS[0]), ZOOMS[-1])
    _zoom = factor
    app = app or QApplication.instance()
    if app is not None:
        if _base_font is None:
            _base_font = QFont(app.font())
        font = QFont(_base_font)
        if _base_font.pointSizeF() > 0:
            font.setPointSizeF(_base_font.pointSizeF() * factor)
        else:
            font.setPixelSize(max(1, round(_base_font.pixelSize() * factor)))
        app.setFont(font)
    return factor


def zoom_step(direction: int) -> float:
    """The next zoom step in ``direction`` (+1 in, -1 out) from the current factor."""
    if direction > 0:
        return next((z for z in ZOOMS if z > _zoom + 1e-9), ZOOMS[-1])
    return next((z for z in reversed(ZOOMS) if z < _zoom - 1e-9), ZOOMS[0])


def pt(size: float) -> str:
    """A font size for pyqtgraph's labels (``"10pt"`` at 100%), zoomed."""
    return f"{size * _zoom:.3g}pt"


def px(n: float) -> int:
    """A length in pixels (a pen width, a marker, an axis width), zoomed; at least 1."""
    return max(1, int(n * _zoom + 0.5))


def font(size: float, bold: bool = False) -> QFont:
    """A font of ``size`` points (zoomed) in the application's family."""
    app = QApplication.instance()
    f = QFont(app.font()) if app is not None else QFont()
    f.setPointSizeF(size * _zoom)
    f.setBold(bold)
    return f


def line_height(size: float) -> float:
    """The height in pixels of a line of text at ``size`` points (zoomed)."""
    return QFontMetricsF(font(size)).height()


# ---------------------------------------------------------------------- palette
def _palette(theme: Theme) -> QPalette:
    if theme.name == "light":
        return QApplication.style().standardPalette() if QApplication.style() else QPalette()
    p = QPalette()
    bg = QColor("#202124")
    base = QColor(theme.background)
    text = QColor(theme.foreground)
    p.setColor(QPalette.ColorRole.Window, bg)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#2a2c30"))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#303134"))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor("#2a2c30"))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(theme.error))
    p.setColor(QPalette.ColorRole.Highlight, QColor(theme.accent))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#202124"))
    p.setColor(QPalette.ColorRole.Link, QColor(theme.accent))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(theme.muted))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(theme.muted))
    return p
