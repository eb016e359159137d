"""Light and dark themes, and the colours that encode layers.

Layers are drawn in a perceptual colour ramp from the first hidden layer (dark blue) to the
output layer (yellow), as in Glorot & Bengio's overlaid histograms: depth reads as colour in every
view. Pens are 1 px and antialiasing is off (pyqtgraph's fast path).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    foreground: str
    grid_alpha: float
    accent: str
    warning: str
    error: str
    ok: str
    muted: str


LIGHT = Theme(
    "light", "#ffffff", "#202124", 0.25, "#1a73e8", "#b06000", "#c5221f", "#188038", "#80868b"
)
DARK = Theme(
    "dark", "#15171a", "#e8eaed", 0.2, "#8ab4f8", "#fdd663", "#f28b82", "#81c995", "#9aa0a6"
)
THEMES = {"light": LIGHT, "dark": DARK}

_current: Theme = LIGHT

#: a qualitative palette (Tableau 10): pinned runs get one colour each
CATEGORICAL = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
#: class colours, the same in the data preview and the decision boundary: TensorFlow
#: Playground's blue and orange for the first two classes, then Tableau 10
CLASS_COLORS = ("#0877bd", "#f59322", *CATEGORICAL[2:])


def current() -> Theme:
    return _current


def layer_colors(n: int, theme: Theme | None = None) -> list[QColor]:
    """``n`` colours along the viridis ramp (first layer dark, output layer bright).

    On a dark background the darkest end is lifted so the first layer stays visible.
    """
    theme = theme or _current
    cmap = pg.colormap.get("viridis")
    lo = 0.18 if theme.name == "dark" else 0.0
    hi = 0.92
    if n == 1:
        return [cmap.map(0.5 * (lo + hi), mode="qcolor")]
    return [cmap.map(lo + (hi - lo) * i / (n - 1), mode="qcolor") for i in range(n)]


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
