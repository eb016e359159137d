"""The tour's pictures (``packaging/screenshots.py``): the script drives the real window offscreen
on a healthy and a vanishing-gradient preset, and every picture it writes shows something, and
the two presets' pictures of the same view are not the same picture.

The script runs once (a subprocess, as CI and a user run it) on a few training steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "packaging" / "screenshots.py"
HEALTHY, VANISHING = "spiral", "cs231n-tanh-0.01"
RUN_VIEWS = ["dashboard", "distributions", "profile", "heatmaps", "training"]
EXPECTED = (
    [f"{HEALTHY}-{v}" for v in [*RUN_VIEWS, "over-time", "boundary"]]
    + [f"{HEALTHY}-panel-{p}" for p in ("network", "data", "training")]
    + [f"{HEALTHY}-export-figure"]
    + [f"{VANISHING}-{v}" for v in RUN_VIEWS]
    + [f"{VANISHING}-health", "compare"]
)
SIZE = (1280, 720)


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("tour")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--steps", "40,1"],
        capture_output=True, text=True, env=env, timeout=600, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r.stdout


def pixels(path: Path) -> np.ndarray:
    """The picture as (height, width, 3) uint8 RGB."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), f"{path.name} is not a readable PNG"
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w = rgb.height(), rgb.width()
    rows = np.frombuffer(rgb.constBits(), np.uint8).reshape(h, rgb.bytesPerLine())
    return rows[:, : 3 * w].reshape(h, w, 3).copy()  # (a copy: the QImage goes away)


def window_picture(name: str) -> bool:
    """A picture of the whole window (the others: a dialog, a panel)."""
    return not name.endswith(("-health", "-export-figure")) and "-panel-" not in name


def content(name: str, a: np.ndarray) -> np.ndarray:
    """Where the picture's subject is: a dialog or a panel whole; in a picture of the window,
    the view's plots (right of the docks, below the tabs and the view's controls)."""
    h, w, _ = a.shape
    if not window_picture(name):
        return a
    return a[int(0.2 * h) : int(0.9 * h), int(0.3 * w) : int(0.98 * w)]


def test_the_script_writes_every_view_and_says_so(tour):
    out, stdout = tour
    written = sorted(p.stem for p in out.glob("*.png"))
    assert written == sorted(EXPECTED)
    for name in EXPECTED:
        assert f"wrote {out / name}.png" in stdout
    for name in filter(window_picture, EXPECTED):  # (dialogs and panels have their own size)
        a = pixels(out / f"{name}.png")
        assert (a.shape[1], a.shape[0]) == SIZE, name


@pytest.mark.parametrize("name", EXPECTED)
def test_every_picture_shows_something(tour, name):
    out, _ = tour
    area = content(name, pixels(out / f"{name}.png"))
    colours, counts = np.unique(area.reshape(-1, 3), axis=0, return_counts=True)
    luminance = area.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert len(colours) >= 32, f"{name}: {len(colours)} colours"
    assert counts.max() / counts.sum() < 0.97, f"{name}: one colour covers the picture"
    assert luminance.std() > 10, f"{name}: flat ({luminance.std():.1f})"


@pytest.mark.parametrize("view", ["distributions", "profile", "dashboard"])
def test_healthy_and_vanishing_pictures_differ(tour, view):
    """The same view of the two presets: a clear share of the plot area is drawn differently
    (tanh units spread over [-1, 1] against activations collapsed to 0; a speed of learning
    around 1 against 1e-10)."""
    out, _ = tour
    a = content(view, pixels(out / f"{HEALTHY}-{view}.png")).astype(int)
    b = content(view, pixels(out / f"{VANISHING}-{view}.png")).astype(int)
    differ = (np.abs(a - b).sum(axis=-1) > 30).mean()
    assert differ > 0.05, f"{view}: only {differ:.1%} of the plot area differs"
