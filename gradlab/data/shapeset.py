"""Shapeset-3x2 (Glorot & Bengio, 2010), rendered with pure NumPy.

Each ``size`` x ``size`` grey image (32 x 32 in the paper) holds one or two shapes from
{triangle, parallelogram, ellipse} with random proportions (triangle angles, parallelogram side
ratio and angle, ellipse aspect), area, rotation, position and grey level, on a random grey
background. The label is the *set* of shape types present, which gives nine classes: the three
single shapes and the six unordered pairs (two shapes of the same type included).

Rules that keep the label honest:

* every shape's grey level differs from the background by at least ``BG_CONTRAST`` and the two
  shapes differ from each other by at least ``SHAPE_CONTRAST``;
* the second shape, drawn on top, may cover at most half of the first shape's area (the pair is
  redrawn otherwise), so the first is never hidden;
* shapes lie entirely inside the image with a one-pixel border.

Rendering: each shape is a set of at most four constraints ``c · m(p) <= 0`` over the monomials
m(p) = (x², xy, y², x, y, 1) of a point p: a convex polygon has one half-plane per edge, an
ellipse one quadratic form. On the 2x2 supersampled pixel grid a constraint is a column term plus
a row term (plus c_xy · x·y for an ellipse), so a batch of shapes is evaluated by broadcasting,
and a pixel's coverage is the fraction of its four sub-pixel points inside the shape
(anti-aliased edges). Coordinates are in pixels, x to the right,
y down, the image spanning [0, size]².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradlab.data.base import RawData, register
from gradlab.data.toys import class_counts
from gradlab.params import Param

SHAPES = ("triangle", "parallelogram", "ellipse")
TRIANGLE, PARALLELOGRAM, ELLIPSE = 0, 1, 2

#: the nine classes as sorted tuples of shape types, in label order
CLASSES: tuple[tuple[int, ...], ...] = (
    (0,), (1,), (2,), (0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2),
)
CLASS_NAMES = ["+".join(SHAPES[t] for t in c) for c in CLASSES]
_LABEL_OF = {c: i for i, c in enumerate(CLASSES)}

BG_CONTRAST = 0.3
SHAPE_CONTRAST = 0.2
#: shape area as a fraction of the image area (before shrinking a shape to fit)
AREA_RANGE = (0.06, 0.22)
SUPERSAMPLE = 2
_CHUNK = 512
#: images rendered together (bounds the sub-pixel masks held in memory)
_BLOCK = 2048
_MAX_ATTEMPTS = 1000


@dataclass
class ShapesetImages:
    """Rendered images and, for checking, what was drawn.

    images : (n, size, size) float32 in [0, 1].
    labels : (n,) int64, index into :data:`CLASSES`.
    types : (n, 2) int64 shape types in drawing order, -1 where there is no second shape.
    coverage : (n, 2, size, size) float32, each shape's own pixel coverage in [0, 1] before
        occlusion (0 for a missing second shape); only with ``debug=True``, else None.
    areas : (n, 2) exact geometric area of each shape in pixels² (0 when missing).
    background : (n,) background grey level.
    grey : (n, 2) grey level of each shape (NaN when missing).
    """

    images: np.ndarray
    labels: np.ndarray
    types: np.ndarray
    coverage: np.ndarray | None
    areas: np.ndarray
    background: np.ndarray
    grey: np.ndarray


def _subpixel_centres(size: int) -> np.ndarray:
    """Coordinates (S·size,) of the sub-pixel centres along one axis: (i + 0.5) / S."""
    return ((np.arange(size * SUPERSAMPLE) + 0.5) / SUPERSAMPLE).astype(np.float32)


def _rotation(theta: np.ndarray) -> np.ndarray:
    """R(θ): (m, 2, 2)."""
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def _unit_shapes(kind: np.ndarray, rng: np.random.Generator):
    """Random proportions of shapes of unit scale, centred on the origin.

    Returns ``verts (m, 4, 2)`` (triangles repeat their last vertex; ellipses hold the semi-axes
    in ``verts[:, 0]``) and ``area (m,)``.

    * triangle: vertices on the unit circle with arcs >= 0.15 turn between them (every angle
      >= 27°), moved so the centroid is at the origin;
    * parallelogram: sides u = (1, 0) and v = ρ (cos α, sin α), ρ ~ U(0.4, 1), α ~ U(50°, 130°);
    * ellipse: semi-axes 1 and ρ ~ U(0.4, 1).
    """
    m = len(kind)
    min_gap = 2 * np.pi * 0.15
    gaps = min_gap + (2 * np.pi - 3 * min_gap) * rng.dirichlet(np.ones(3), m)
    phi = np.cumsum(gaps, axis=1) - gaps[:, :1]
    tri = np.stack([np.cos(phi), np.sin(phi)], -1)
    tri -= tri.mean(axis=1, keepdims=True)
    tri = np.concatenate([tri, tri[:, 2:]], axis=1)
    (x0, y0), (x1, y1), (x2, y2) = tri[:, 0].T, tri[:, 1].T, tri[:, 2].T
    tri_area = 0.5 * np.abs((x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0))

    rho = rng.uniform(0.4, 1.0, m)
    alpha = rng.uniform(np.radians(50), np.radians(130), m)
    u = np.stack([np.ones(m), np.zeros(m)], -1)
    v = rho[:, None] * np.stack([np.cos(alpha), np.sin(alpha)], -1)
    par = np.stack([np.zeros((m, 2)), u, u + v, v], 1) - ((u + v) / 2)[:, None]
    par_area = rho * np.sin(alpha)

    b = rng.uniform(0.4, 1.0, m)
    ell = np.zeros((m, 4, 2))
    ell[:, 0, 0], ell[:, 0, 1] = 1.0, b
    ell_area = np.pi * b

    verts = np.where((kind == TRIANGLE)[:, None, None], tri,
                     np.where((kind == PARALLELOGRAM)[:, None, None], par, ell))
    area = np.where(kind == TRIANGLE, tri_area, np.where(kind == PARALLELOGRAM, par_area, ell_area))
    return verts, area


def _place(kind: np.ndarray, size: int, rng: np.random.Generator, area_scale: float = 1.0):
    """Random shapes in image coordinates: constraints (m, 4, 6) and exact areas (m,)."""
    m = len(kind)
    verts, unit_area = _unit_shapes(kind, rng)
    target = rng.uniform(*AREA_RANGE, m) * size * size * area_scale
    k = np.sqrt(target / unit_area)
    theta = rng.uniform(0.0, 2 * np.pi, m)
    rot = _rotation(theta)

    # extent of the rotated unit shape around its centre: (m, 2) low and high corners
    pts = np.einsum("mij,mvj->mvi", rot, verts)
    lo, hi = pts[:, :3].min(1), pts[:, :3].max(1)
    lo = np.where((kind == PARALLELOGRAM)[:, None], pts.min(1), lo)
    hi = np.where((kind == PARALLELOGRAM)[:, None], pts.max(1), hi)
    a, b = verts[:, 0, 0], verts[:, 0, 1]
    half = np.stack([np.hypot(a * np.cos(theta), b * np.sin(theta)),
                     np.hypot(a * np.sin(theta), b * np.cos(theta))], -1)
    is_ell = (kind == ELLIPSE)[:, None]
    lo, hi = np.where(is_ell, -half, lo), np.where(is_ell, half, hi)

    # shrink what does not fit in [1, size - 1], then place the centre uniformly
    room = size - 2.0
    k = np.minimum(k, room / (hi - lo).max(1))
    lo, hi = lo * k[:, None], hi * k[:, None]
    centre = 1.0 - lo + rng.uniform(0.0, 1.0, (m, 2)) * (room - (hi - lo))
    area = unit_area * k * k

    cons = np.zeros((m, 4, 6))
    # polygons: for each edge v_i -> v_{i+1} the half-plane cross(e, p - v_i) >= 0 when the
    # vertices run counter-clockwise, written as (e_y, -e_x, e_x v_y - e_y v_x) · (x, y, 1) <= 0
    poly = k[:, None, None] * pts + centre[:, None, :]
    signed = np.sum(poly[:, :, 0] * np.roll(poly[:, :, 1], -1, 1)
                    - np.roll(poly[:, :, 0], -1, 1) * poly[:, :, 1], axis=1)
    poly = np.where((signed < 0)[:, None, None], poly[:, ::-1], poly)
    e = np.roll(poly, -1, axis=1) - poly
    cons[:, :, 3] = e[..., 1]
    cons[:, :, 4] = -e[..., 0]
    cons[:, :, 5] = e[..., 0] * poly[..., 1] - e[..., 1] * poly[..., 0]
    # ellipse: (p - c)ᵀ Q (p - c) - 1 <= 0 with Q = R diag(1/a², 1/b²) Rᵀ
    ka = k * np.where(kind == ELLIPSE, a, 1.0)       # polygons' rows are discarded below
    kb = k * np.where(kind == ELLIPSE, b, 1.0)
    q = np.einsum("mij,mj,mkj->mik", rot, np.stack([1 / ka**2, 1 / kb**2], -1), rot)
    cx, cy = centre[:, 0], centre[:, 1]
    ell = np.stack([
        q[:, 0, 0], 2 * q[:, 0, 1], q[:, 1, 1],
        -2 * (q[:, 0, 0] * cx + q[:, 0, 1] * cy),
        -2 * (q[:, 0, 1] * cx + q[:, 1, 1] * cy),
        q[:, 0, 0] * cx**2 + 2 * q[:, 0, 1] * cx * cy + q[:, 1, 1] * cy**2 - 1.0,
    ], -1)
    cons = np.where((kind == ELLIPSE)[:, None, None],
                    np.concatenate([ell[:, None], np.zeros((m, 3, 6))], 1), cons)
    return cons, area


def _masks(cons: np.ndarray, kind: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Sub-pixel inside masks (m, P·P) bool, P = len(grid): every constraint <= 0.

    The constraint c · (x², xy, y², x, y, 1) splits into a term of the column x, a term of the row
    y and c_xy · x·y, so it is evaluated with broadcasting (no BLAS: the result does not depend on
    the number of BLAS threads). Polygons have no quadratic terms; an ellipse has one constraint.
    Sub-pixel points are ordered (row, sub-row, column, sub-column) once reshaped to
    (size, S, size, S).
    """
    p = len(grid)
    x, y = grid[None, None, :], grid[None, None, :]
    out = np.empty((len(cons), p, p), dtype=bool)
    poly = np.flatnonzero(kind != ELLIPSE)
    ell = np.flatnonzero(kind == ELLIPSE)
    for i in range(0, len(poly), _CHUNK):
        sel = poly[i:i + _CHUNK]
        c = cons[sel].astype(np.float32)                                  # (chunk, 4, 6)
        col = c[..., 3, None] * x + c[..., 5, None]                        # (chunk, 4, P)
        row = c[..., 4, None] * y
        vals = row[..., :, None] + col[..., None, :]                       # (chunk, 4, P, P)
        out[sel] = vals.max(axis=1) <= 0
    xy = grid[:, None] * grid[None, :]                                     # y_i · x_j
    for i in range(0, len(ell), _CHUNK):
        sel = ell[i:i + _CHUNK]
        c = cons[sel, 0].astype(np.float32)                               # (chunk, 6)
        col = (c[:, 0, None] * x[0] + c[:, 3, None]) * x[0] + c[:, 5, None]  # A x² + D x + F
        row = (c[:, 2, None] * y[0] + c[:, 4, None]) * y[0]                  # C y² + E y
        vals = row[:, :, None] + col[:, None, :] + c[:, 1, None, None] * xy
        out[sel] = vals <= 0
    return out.reshape(len(cons), p * p)


def _coverage(mask: np.ndarray, size: int) -> np.ndarray:
    """Pixel coverage (m, size, size) float32 from sub-pixel masks."""
    s = SUPERSAMPLE
    return mask.reshape(len(mask), size, s, size, s).mean(axis=(2, 4), dtype=np.float32)


def _uniform_in(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One uniform draw per row from the union of the disjoint intervals [lo_j, hi_j].

    ``lo, hi: (m, k)``; intervals with hi <= lo are empty. Rows whose union is empty get NaN.
    """
    length = np.clip(hi - lo, 0.0, None)
    cum = np.cumsum(length, axis=1)
    total = cum[:, -1]
    u = rng.uniform(0.0, 1.0, len(lo)) * total
    j = np.minimum((u[:, None] >= cum).sum(axis=1), lo.shape[1] - 1)
    rows = np.arange(len(lo))
    value = lo[rows, j] + (u - (cum[rows, j] - length[rows, j]))
    return np.where(total > 0, value, np.nan)


def _background_gaps(bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The grey levels a shape may take on background ``bg``: [0, bg - m] and [bg + m, 1]."""
    lo = np.stack([np.zeros_like(bg), bg + BG_CONTRAST], axis=1)
    hi = np.stack([bg - BG_CONTRAST, np.ones_like(bg)], axis=1)
    return lo, hi


def shape_greys(bg: np.ndarray, two: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey levels (m, 2) of the shapes on backgrounds ``bg`` (m,).

    Each is uniform over the levels at least ``BG_CONTRAST`` from the background; the second
    (only where ``two``) is also at least ``SHAPE_CONTRAST`` from the first. The allowed set
    always has room: it is at least 0.4 long, so its end farthest from the first grey is at
    least 0.2 away, and that end is the fallback when the rest of the set is empty.
    """
    lo, hi = _background_gaps(bg)
    g1 = _uniform_in(lo, hi, rng)
    # cut (g1 - c, g1 + c) out of both background gaps: four intervals
    cut_lo = np.concatenate([lo, np.maximum(lo, (g1 + SHAPE_CONTRAST)[:, None])], axis=1)
    cut_hi = np.concatenate([np.minimum(hi, (g1 - SHAPE_CONTRAST)[:, None]), hi], axis=1)
    g2 = _uniform_in(cut_lo, cut_hi, rng)
    ends = np.concatenate([lo, hi], axis=1)
    valid = hi[:, [0, 1, 0, 1]] >= lo[:, [0, 1, 0, 1]]
    far = np.where(valid, np.abs(ends - g1[:, None]), -1.0).argmax(axis=1)
    g2 = np.where(np.isnan(g2), ends[np.arange(len(bg)), far], g2)
    return np.stack([g1, np.where(two, g2, np.nan)], axis=1)


def generate(n: int, rng: np.random.Generator, *, size: int = 32,
             debug: bool = False) -> ShapesetImages:
    """Render ``n`` Shapeset-3x2 images with balanced classes (sizes differ by at most one).

    Parameters
    ----------
    n : number of images.
    rng : the generator every random choice is drawn from (same state, same images).
    size : image side in pixels.
    debug : also return each shape's own coverage map (memory: 8 · n · size² bytes).

    Memory: the images (4 · n · size² bytes) plus a fixed working set for one block of
    ``_BLOCK`` images.
    """
    grid = _subpixel_centres(size)
    labels = rng.permutation(np.repeat(np.arange(len(CLASSES)), class_counts(n, len(CLASSES))))
    types = np.full((n, 2), -1, dtype=np.int64)
    for c, shapes in enumerate(CLASSES):
        idx = np.flatnonzero(labels == c)
        if len(shapes) == 1:
            types[idx, 0] = shapes[0]
        else:
            swap = rng.uniform(size=len(idx)) < 0.5
            types[idx, 0] = np.where(swap, shapes[1], shapes[0])
            types[idx, 1] = np.where(swap, shapes[0], shapes[1])

    background = rng.uniform(0.0, 1.0, n)
    grey = shape_greys(background, types[:, 1] >= 0, rng)

    areas = np.zeros((n, 2))
    cons1, areas[:, 0] = _place(types[:, 0], size, rng)
    images = np.empty((n, size, size), dtype=np.float32)
    coverage = np.zeros((n, 2, size, size), dtype=np.float32) if debug else None
    grey2 = np.nan_to_num(grey[:, 1])
    for start in range(0, n, _BLOCK):
        idx = np.arange(start, min(start + _BLOCK, n))
        mask1 = _masks(cons1[idx], types[idx, 0], grid)
        cov1 = _coverage(mask1, size)
        has2 = np.flatnonzero(types[idx, 1] >= 0)
        mask2, areas[idx[has2], 1] = _second_shapes(types[idx[has2], 1], mask1[has2], size,
                                                    grid, rng)
        cov2 = np.zeros_like(cov1)
        cov2[has2] = _coverage(mask2, size)

        bg = background[idx, None, None].astype(np.float32)
        img = bg + cov1 * (grey[idx, 0, None, None].astype(np.float32) - bg)
        img += cov2 * (grey2[idx, None, None].astype(np.float32) - img)
        images[idx] = np.clip(img, 0.0, 1.0)
        if debug:
            coverage[idx, 0] = cov1
            coverage[idx, 1] = cov2
    return ShapesetImages(images, labels.astype(np.int64), types, coverage, areas, background,
                          grey)


def _second_shapes(kind: np.ndarray, mask1: np.ndarray, size: int, grid: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Place second shapes over first ones (sub-pixel masks ``mask1``), redrawing each one that
    covers more than half of its first shape. Returns masks (m, points) and areas (m,)."""
    mask2 = np.zeros((len(kind), len(grid) ** 2), dtype=bool)
    area2 = np.zeros(len(kind))
    area1 = np.count_nonzero(mask1, axis=1)
    pending = np.arange(len(kind))
    for attempt in range(_MAX_ATTEMPTS):
        if not len(pending):
            return mask2, area2
        scale = 1.0 if attempt < 20 else 0.5   # after many misses, smaller shapes fit anywhere
        c, a = _place(kind[pending], size, rng, area_scale=scale)
        m2 = _masks(c, kind[pending], grid)
        ok = np.count_nonzero(mask1[pending] & m2, axis=1) <= 0.5 * area1[pending]
        done = pending[ok]
        mask2[done], area2[done] = m2[ok], a[ok]
        pending = pending[~ok]
    raise RuntimeError(f"shapeset: could not place {len(pending)} second shapes without hiding "
                       f"the first one in {_MAX_ATTEMPTS} attempts")


def label_of(shape_types) -> int:
    """The class id of a collection of shape types (order does not matter)."""
    return _LABEL_OF[tuple(sorted(int(t) for t in shape_types if t >= 0))]


@register("shapeset", "shapeset3x2", "shapeset_3x2", kind="image",
          description="Shapeset-3x2 (Glorot & Bengio): one or two triangles, parallelograms or "
                      "ellipses; 9 classes.",
          params=(
              Param("n", "int", 10000, "Number of images (training + validation).",
                    minimum=9, maximum=100_000),
              Param("size", "int", 32, "Image side in pixels (32 in the paper).",
                    minimum=16, maximum=64),
          ))
def _shapeset(p, rng, field):
    out = generate(p["n"], rng, size=p["size"])
    return RawData(x=out.images.reshape(p["n"], -1), y=out.labels, n_classes=len(CLASSES),
                   class_names=list(CLASS_NAMES), image_shape=(p["size"], p["size"]))
