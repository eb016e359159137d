"""Small saved sessions and image helpers for the figure tests (test_figures*.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

import gradlab


def make_session(
    path: Path,
    name: str = "xor demo",
    activation: str = "tanh",
    init: str = "glorot_uniform",
    steps: int = 120,
    data: dict | None = None,
) -> Path:
    """Train a small network and save it: 2 hidden layers of 12 units, a probe every 10 steps."""
    exp = gradlab.Experiment(
        {
            "name": name,
            "seed": 0,
            "data": data or {"name": "xor"},
            "network": {"layers": [{"units": 12, "activation": activation, "init": init}] * 2},
            "training": {"steps": steps, "lr": 0.02},
            "probes": {"every": 10},
        }
    )
    exp.run()
    exp.save(path)
    return path


def make_sessions(folder: Path) -> dict[str, Path]:
    """xor (2-D, tanh, glorot), xor with ReLU and He (for comparisons), 20-D Gaussian data."""
    return {
        "xor": make_session(folder / "xor.gradlab"),
        "relu": make_session(folder / "relu.gradlab", "xor relu", "relu", "he_normal"),
        "gauss": make_session(
            folder / "gauss.gradlab",
            "gaussian",
            steps=30,
            data={"name": "gaussian", "n": 200, "dim": 20, "classes": 3},
        ),
    }


def gray(png: bytes) -> np.ndarray:
    """A PNG's pixels as grey levels in [0, 1] (white = 1)."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.float64) / 255.0


def blocks(a: np.ndarray, k: int) -> np.ndarray:
    """Mean of k x k blocks (a blur that forgives sub-pixel differences of anti-aliasing)."""
    h, w = (a.shape[0] // k) * k, (a.shape[1] // k) * k
    return a[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def ink(a: np.ndarray) -> float:
    """How much is drawn: the mean darkness of the image."""
    return float(np.abs(a - 1.0).mean())
