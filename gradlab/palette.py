"""GradLab's colours as hex strings, with no Qt and no matplotlib: the window's theme and the
publication figures (:mod:`gradlab.figures`) draw from this one palette, so a layer, a run or a
class has the same colour on screen and on paper.

* **Layers**: viridis, from the first hidden layer (dark blue) to the output layer (yellow), as in
  Glorot & Bengio's overlaid histograms. Viridis is perceptually uniform, readable by the common
  forms of colour blindness and monotonic in lightness, so depth still reads in grey-scale print.
* **Runs** (pinned runs in Compare): Tableau 10, one colour per run.
* **Classes** (data preview, decision boundary): TensorFlow Playground's blue and orange, then
  Tableau 10.
* **Themes**: the light and dark themes' background, text and signal colours.

:func:`layer_colors` reproduces pyqtgraph's ``ColorMap.map(x, mode="qcolor")`` on its viridis
map exactly (linear interpolation between 256 eight-bit stops, then QColor's rounding), so the
window can take its layer colours from here without a visible change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: viridis as pyqtgraph holds it: 256 eight-bit stops at 0, 1/255, ..., 1 (CC0, mpl-colormaps)
_VIRIDIS_HEX = (
    "440154 440256 450457 450559 46075a 46085c 460a5d 460b5e 470d60 470e61 471063 471164 "
    "471365 481467 481668 481769 48186a 481a6c 481b6d 481c6e 481d6f 481f70 482071 482173 "
    "482374 482475 482576 482677 482878 482979 472a7a 472c7a 472d7b 472e7c 472f7d 46307e "
    "46327e 46337f 463480 453581 453781 453882 443983 443a83 443b84 433d84 433e85 423f85 "
    "424086 424186 414287 414487 404588 404688 3f4788 3f4889 3e4989 3e4a89 3e4c8a 3d4d8a "
    "3d4e8a 3c4f8a 3c508b 3b518b 3b528b 3a538b 3a548c 39558c 39568c 38588c 38598c 375a8c "
    "375b8d 365c8d 365d8d 355e8d 355f8d 34608d 34618d 33628d 33638d 32648e 32658e 31668e "
    "31678e 31688e 30698e 306a8e 2f6b8e 2f6c8e 2e6d8e 2e6e8e 2e6f8e 2d708e 2d718e 2c718e "
    "2c728e 2c738e 2b748e 2b758e 2a768e 2a778e 2a788e 29798e 297a8e 297b8e 287c8e 287d8e "
    "277e8e 277f8e 27808e 26818e 26828e 26828e 25838e 25848e 25858e 24868e 24878e 23888e "
    "23898e 238a8d 228b8d 228c8d 228d8d 218e8d 218f8d 21908d 21918c 20928c 20928c 20938c "
    "1f948c 1f958b 1f968b 1f978b 1f988b 1f998a 1f9a8a 1e9b8a 1e9c89 1e9d89 1f9e89 1f9f88 "
    "1fa088 1fa188 1fa187 1fa287 20a386 20a486 21a585 21a685 22a785 22a884 23a983 24aa83 "
    "25ab82 25ac82 26ad81 27ad81 28ae80 29af7f 2ab07f 2cb17e 2db27d 2eb37c 2fb47c 31b57b "
    "32b67a 34b679 35b779 37b878 38b977 3aba76 3bbb75 3dbc74 3fbc73 40bd72 42be71 44bf70 "
    "46c06f 48c16e 4ac16d 4cc26c 4ec36b 50c46a 52c569 54c568 56c667 58c765 5ac864 5cc863 "
    "5ec962 60ca60 63cb5f 65cb5e 67cc5c 69cd5b 6ccd5a 6ece58 70cf57 73d056 75d054 77d153 "
    "7ad151 7cd250 7fd34e 81d34d 84d44b 86d549 89d548 8bd646 8ed645 90d743 93d741 95d840 "
    "98d83e 9bd93c 9dd93b a0da39 a2da37 a5db36 a8db34 aadc32 addc30 b0dd2f b2dd2d b5de2b "
    "b8de29 bade28 bddf26 c0df25 c2df23 c5e021 c8e020 cae11f cde11d d0e11c d2e21b d5e21a "
    "d8e219 dae319 dde318 dfe318 e2e418 e5e419 e7e419 eae51a ece51b efe51c f1e51d f4e61e "
    "f6e620 f8e621 fbe723 fde725 "
).split()
VIRIDIS: tuple[tuple[int, int, int], ...] = tuple(
    (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)) for h in _VIRIDIS_HEX
)

# pyqtgraph's float stops: float32(byte / 255), at linspace(0, 1, 256)
_STOPS = np.linspace(0.0, 1.0, len(VIRIDIS))
_VIRIDIS_F = (np.array(VIRIDIS, np.float64) / 255.0).astype(np.float32).astype(np.float64)

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


@dataclass(frozen=True)
class ThemeColors:
    """A theme's colours (the fields of the window's ``Theme``)."""

    name: str
    background: str
    foreground: str
    grid_alpha: float
    accent: str
    warning: str
    error: str
    ok: str
    muted: str
    #: the second measured series beside ``accent`` (std beside mean, validation beside train)
    second: str


LIGHT = ThemeColors(
    "light", "#ffffff", "#202124", 0.25, "#1a73e8", "#b06000", "#c5221f", "#188038", "#80868b",
    "#e8710a",
)  # fmt: skip
DARK = ThemeColors(
    "dark", "#15171a", "#e8eaed", 0.2, "#8ab4f8", "#fdd663", "#f28b82", "#81c995", "#9aa0a6",
    "#fdd663",
)  # fmt: skip
THEMES = {"light": LIGHT, "dark": DARK}

#: the part of the viridis ramp the layers use: (light theme, dark theme) lower ends, upper end
_RAMP_LO = {"light": 0.0, "dark": 0.18}
_RAMP_HI = 0.92


def viridis(x: float) -> str:
    """The viridis colour at ``x`` in [0, 1] (clipped) as ``#rrggbb``, rounded as QColor does."""
    x = min(max(float(x), 0.0), 1.0)
    channels = (float(np.interp(x, _STOPS, _VIRIDIS_F[:, k])) for k in range(3))
    return "#" + "".join(f"{_qcolor_byte(f):02x}" for f in channels)


def _qcolor_byte(f: float) -> int:
    """The byte QColor reports for a channel set with ``fromRgbF(f)``: it keeps 16 bits,
    rounded in single precision, and divides them by 257, rounded."""
    v = int(np.floor(np.float32(f) * np.float32(65535.0) + np.float32(0.5)))
    return (v + 128 - ((v + 128) >> 8)) >> 8


def layer_colors(n: int, theme: str = "light") -> list[str]:
    """``n`` layer colours along the viridis ramp (first hidden layer dark, output bright).

    On a dark background the darkest end is lifted so the first layer stays visible.
    """
    lo = _RAMP_LO.get(theme, 0.0)
    if n <= 0:
        return []
    if n == 1:
        return [viridis(0.5 * (lo + _RAMP_HI))]
    return [viridis(lo + (_RAMP_HI - lo) * i / (n - 1)) for i in range(n)]


def run_color(i: int) -> str:
    """The colour of the ``i``-th pinned run (the palette repeats after ten)."""
    return CATEGORICAL[i % len(CATEGORICAL)]


def class_color(k: int) -> str:
    """The colour of class ``k`` (the palette repeats after ten)."""
    return CLASS_COLORS[k % len(CLASS_COLORS)]


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` -> (r, g, b) in 0..255."""
    h = color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def blend(color: str, background: str, amount: float) -> str:
    """``color`` mixed into ``background``: amount 1 is the colour, 0 the background."""
    c, b = hex_to_rgb(color), hex_to_rgb(background)
    mix = (round(b[k] + (c[k] - b[k]) * amount) for k in range(3))
    return "#" + "".join(f"{v:02x}" for v in mix)


__all__ = [
    "CATEGORICAL",
    "CLASS_COLORS",
    "DARK",
    "LIGHT",
    "THEMES",
    "VIRIDIS",
    "ThemeColors",
    "blend",
    "class_color",
    "hex_to_rgb",
    "layer_colors",
    "run_color",
    "viridis",
]
