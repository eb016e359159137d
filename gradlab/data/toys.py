"""Two-dimensional toy problems for the decision-boundary view (TensorFlow-Playground-like).

Every generator returns ``x: (n, 2)`` float64 and ``y: (n,)`` int64 with balanced classes (the
class sizes differ by at most one), rows ordered by class (the loader's split shuffles them).
``noise`` is the standard deviation of Gaussian noise added to each coordinate, in data units.

==============  ======================================  ==========================================
name            classes                                 coordinates (before noise)
==============  ======================================  ==========================================
spiral          ``arms`` interleaved spiral arms        radius up to 5: [-5, 5]
circles         outer ring r=1 (0), inner ring r=0.5    [-1, 1]
xor             sign(x) == sign(y) (0) or not (1)       [-1, 1], at least 0.15 from both axes
gaussians       ``blobs`` round blobs on a circle       radius 2 (more for many blobs): ~[-3, 3]
moons           two interleaved half moons              [-1.5, 1.5] x [-0.75, 0.75]
checkerboard    ``tiles`` x ``tiles`` board colours     [-1, 1]
==============  ======================================  ==========================================

:func:`grid_for` gives the evaluation grid of the decision-boundary view.
"""

from __future__ import annotations

import math

import numpy as np

from gradlab import validate
from gradlab.data.base import Dataset, RawData, register
from gradlab.params import Param


def class_counts(n: int, k: int) -> np.ndarray:
    """Balanced class sizes: ``n // k`` each, the first ``n % k`` classes one more."""
    counts = np.full(k, n // k, dtype=np.int64)
    counts[: n % k] += 1
    return counts


def _labels(counts: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)


def _noisy(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return x + noise * rng.standard_normal(x.shape)


def make_spiral(n: int, noise: float, arms: int, rng: np.random.Generator):
    """``arms`` spirals of 1.75 turns, radius 0 -> 5, arm c rotated by 2πc / arms.

    For s along the arm (s = sqrt(u), u ~ U(0, 1), so points are evenly spread along its length):
    r = 5 s, t = 1.75 · 2π s + 2π c / arms, x = (r sin t, r cos t) + noise · N(0, I).
    """
    counts = class_counts(n, arms)
    y = _labels(counts)
    s = np.sqrt(rng.uniform(0.0, 1.0, n))
    r = 5.0 * s
    t = 1.75 * 2.0 * np.pi * s + 2.0 * np.pi * y / arms
    x = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
    return _noisy(x, noise, rng), y


def make_circles(n: int, noise: float, rng: np.random.Generator):
    """Two concentric rings: class 0 on radius 1, class 1 on radius 0.5 (scikit-learn's layout).

    x = r_c (cos φ, sin φ) + noise · N(0, I), φ ~ U(0, 2π).
    """
    counts = class_counts(n, 2)
    y = _labels(counts)
    r = np.where(y == 0, 1.0, 0.5)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    x = np.stack([r * np.cos(phi), r * np.sin(phi)], axis=1)
    return _noisy(x, noise, rng), y


def make_xor(n: int, noise: float, rng: np.random.Generator):
    """Points in the four quadrants, at least 0.15 from both axes; class 0 where x·y > 0.

    |x|, |y| ~ U(0.15, 1), quadrant drawn among the two of the class, then noise · N(0, I).
    """
    counts = class_counts(n, 2)
    y = _labels(counts)
    mag = rng.uniform(0.15, 1.0, (n, 2))
    sx = rng.choice([-1.0, 1.0], n)
    sy = np.where(y == 0, sx, -sx)
    x = mag * np.stack([sx, sy], axis=1)
    return _noisy(x, noise, rng), y


def blob_centres(blobs: int) -> np.ndarray:
    """Centres ``(blobs, 2)`` evenly spaced on a circle of radius max(2, 1 / sin(π / blobs)).

    The radius keeps neighbouring centres at least 2 apart.
    """
    radius = max(2.0, 1.0 / math.sin(math.pi / blobs))
    ang = 2.0 * np.pi * np.arange(blobs) / blobs + np.pi / 2
    return radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)


def make_gaussians(n: int, noise: float, blobs: int, rng: np.random.Generator):
    """One round Gaussian blob per class: x = centre_c + noise · N(0, I)."""
    counts = class_counts(n, blobs)
    y = _labels(counts)
    return _noisy(blob_centres(blobs)[y], noise, rng), y


def make_moons(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved half circles (scikit-learn's moons), centred on the origin.

    Class 0: (cos t, sin t); class 1: (1 - cos t, 0.5 - sin t); t ~ U(0, π); shifted by
    (-0.5, -0.25); then noise · N(0, I).
    """
    counts = class_counts(n, 2)
    y = _labels(counts)
    t = rng.uniform(0.0, np.pi, n)
    x = np.where(
        (y == 0)[:, None],
        np.stack([np.cos(t), np.sin(t)], axis=1),
        np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1),
    ) - np.array([0.5, 0.25])
    return _noisy(x, noise, rng), y


def make_checkerboard(n: int, noise: float, tiles: int, rng: np.random.Generator):
    """A ``tiles`` x ``tiles`` board on [-1, 1]²; class = (column + row) mod 2.

    Each point picks a tile of its class uniformly, then a uniform position inside it.
    """
    counts = class_counts(n, 2)
    y = _labels(counts)
    cells = np.array([(i, j) for i in range(tiles) for j in range(tiles)])
    colour = cells.sum(axis=1) % 2
    x = np.empty((n, 2))
    for c in (0, 1):
        mine = cells[colour == c]
        idx = np.flatnonzero(y == c)
        pick = mine[rng.integers(0, len(mine), len(idx))]
        x[idx] = -1.0 + (pick + rng.uniform(0.0, 1.0, (len(idx), 2))) * (2.0 / tiles)
    return _noisy(x, noise, rng), y


def _n_param(default: int = 1000) -> Param:
    return Param("n", "int", default, "Number of points (training + validation).",
                 minimum=10, maximum=1_000_000)


def _noise_param(default: float, note: str = "") -> Param:
    return Param("noise", "float", default,
                 "Standard deviation of the Gaussian noise added to each coordinate, in data "
                 f"units{note}.", minimum=0.0, maximum=10.0)


def _raw(x: np.ndarray, y: np.ndarray, class_names: list[str]) -> RawData:
    return RawData(x=x, y=y, n_classes=len(class_names), class_names=class_names)


@register("spiral", "spirals", kind="2d",
          description="Interleaved spiral arms in the plane (TensorFlow Playground); radius 5.",
          params=(_n_param(), _noise_param(0.25, " (the arms are 1.4 apart)"),
                  Param("arms", "int", 2, "Number of spiral arms (one class each).",
                        minimum=2, maximum=10)))
def _spiral(p, rng, field):
    x, y = make_spiral(p["n"], p["noise"], p["arms"], rng)
    return _raw(x, y, [f"arm {c}" for c in range(p["arms"])])


@register("circles", kind="2d",
          description="A ring of radius 1 around a ring of radius 0.5.",
          params=(_n_param(), _noise_param(0.1, " (the rings are 0.5 apart)")))
def _circles(p, rng, field):
    x, y = make_circles(p["n"], p["noise"], rng)
    return _raw(x, y, ["outer", "inner"])


@register("xor", kind="2d",
          description="Four quadrants of [-1, 1]²: same-sign corners against opposite-sign ones.",
          params=(_n_param(), _noise_param(0.1, " (points keep 0.15 from the axes)")))
def _xor(p, rng, field):
    x, y = make_xor(p["n"], p["noise"], rng)
    return _raw(x, y, ["same sign", "opposite sign"])


@register("gaussians", "blobs", kind="2d",
          description="Round Gaussian blobs on a circle, one class each.",
          params=(_n_param(), _noise_param(0.5, " (the blob's std; centres are >= 2 apart)"),
                  Param("blobs", "int", 3, "Number of blobs (one class each).",
                        minimum=2, maximum=10)))
def _gaussians(p, rng, field):
    x, y = make_gaussians(p["n"], p["noise"], p["blobs"], rng)
    return _raw(x, y, [f"blob {c}" for c in range(p["blobs"])])


@register("moons", kind="2d",
          description="Two interleaved half moons.",
          params=(_n_param(), _noise_param(0.1)))
def _moons(p, rng, field):
    x, y = make_moons(p["n"], p["noise"], rng)
    return _raw(x, y, ["upper", "lower"])


@register("checkerboard", kind="2d",
          description="A checkerboard of tiles x tiles squares on [-1, 1]².",
          params=(_n_param(), _noise_param(0.02, " (tiles are 2/tiles wide)"),
                  Param("tiles", "int", 4, "Squares per side of the board.",
                        minimum=2, maximum=12)))
def _checkerboard(p, rng, field):
    x, y = make_checkerboard(p["n"], p["noise"], p["tiles"], rng)
    return _raw(x, y, ["dark", "light"])


def grid_for(ds: Dataset, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An evaluation grid over a 2-D dataset, for drawing the decision boundary.

    The grid covers the bounding box of every split of ``ds`` (train, validation, test) with a
    10% margin on each side, in the same (preprocessed) space as ``ds.x_train``.

    Parameters
    ----------
    ds : a dataset with ``input_dim == 2``.
    resolution : number of grid points per axis (2 .. 2000).

    Returns
    -------
    xx, yy : (resolution, resolution) float32 from ``np.meshgrid``: ``xx[i, j]`` grows with j,
        ``yy[i, j]`` with i.
    points : (resolution * resolution, 2) float32, ``points[i * resolution + j] = (xx[i, j],
        yy[i, j])``: feed it to the network and reshape its output to (resolution, resolution).
    """
    resolution = validate.integer(resolution, "resolution", minimum=2, maximum=2000)
    if ds.input_dim != 2:
        raise ValueError(f"grid_for needs a 2-D dataset; {ds.name!r} has {ds.input_dim} inputs")
    parts = [a for a in (ds.x_train, ds.x_val, ds.x_test) if a is not None and len(a)]
    allx = np.concatenate(parts).astype(np.float64)
    lo, hi = allx.min(axis=0), allx.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - 0.1 * span, hi + 0.1 * span
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(lo[1], hi[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    points = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return xx.astype(np.float32), yy.astype(np.float32), np.ascontiguousarray(points, np.float32)
