"""Generated stand-ins: Gaussian inputs with random labels, and an MNIST-like set of strokes.

``gaussian`` is the input of CS231n's initialisation experiment (``randn(1000, 500)``): what
matters there is how activations evolve layer by layer, not the labels.

``mnist_like`` lets the Nielsen and Glorot presets run without downloading MNIST: 28 x 28 images
of pen strokes in [0, 1]. Each class has one to three hand-writing variants of a digit-like
skeleton (lines and arcs: a 7 with or without a bar, a 4 open or closed, ...), and each image is
a random deformation of one of them (slant, rotation, scale, shift, a smooth elastic wobble,
stroke thickness). The constants are tuned so the pixel statistics match MNIST's (mean
about 0.13, std about 0.31, about 19% of the pixels non-zero) and a linear softmax classifier gets
well above chance but not everything right.
"""

from __future__ import annotations

import numpy as np

from gradlab.data.base import RawData, register
from gradlab.data.toys import class_counts
from gradlab.errors import SpecError
from gradlab.params import Param

# -- gaussian ------------------------------------------------------------------------------------

GAUSSIAN_MAX_VALUES = 50_000_000


def make_gaussian(n: int, dim: int, classes: int, rng: np.random.Generator):
    """x ~ N(0, I): (n, dim) float32, and balanced labels in random order: (n,) int64."""
    x = rng.standard_normal((n, dim), dtype=np.float32)
    y = rng.permutation(np.repeat(np.arange(classes, dtype=np.int64), class_counts(n, classes)))
    return x, y


@register("gaussian", "randn", kind="vector",
          description="Standard normal inputs with random labels (CS231n's initialisation "
                      "experiment).",
          default_val_fraction=0.0,
          params=(
              Param("n", "int", 1000, "Number of examples.", minimum=1, maximum=10_000_000),
              Param("dim", "int", 500, "Input dimension.", minimum=1, maximum=100_000),
              Param("classes", "int", 10, "Number of (random) classes.", minimum=2,
                    maximum=1000),
          ))
def _gaussian(p, rng, field):
    if p["n"] * p["dim"] > GAUSSIAN_MAX_VALUES:
        raise SpecError(f"{field}.dim" if field else "dim",
                        f"n x dim = {p['n'] * p['dim']:,} values is more than the "
                        f"{GAUSSIAN_MAX_VALUES:,} GradLab generates; lower n or dim")
    x, y = make_gaussian(p["n"], p["dim"], p["classes"], rng)
    return RawData(x=x, y=y, n_classes=p["classes"],
                   class_names=[f"class {c}" for c in range(p["classes"])])


# -- mnist_like ----------------------------------------------------------------------------------

MNIST_SIZE = 28
#: pen radius range in pixels, width of the anti-aliased edge ramp, and the intensity exponent
PEN_RADIUS = (0.65, 1.55)
EDGE_WIDTH = 1.35
GAMMA = 0.6
#: points sampled along each class skeleton
SKELETON_POINTS = 96


def _line(p0, p1, n=32):
    t = np.linspace(0.0, 1.0, n)[:, None]
    return (1 - t) * np.asarray(p0, float) + t * np.asarray(p1, float)


def _arc(cx, cy, rx, ry, a0, a1, n=64):
    """Points on an ellipse arc from angle a0 to a1 (degrees, counter-clockwise if a1 > a0)."""
    t = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


#: digit-like skeletons in a unit box (x in [-0.5, 0.5] to the right, y in [-0.5, 0.5] upwards):
#: for each class a few hand-writing variants, each a list of strokes (polylines)
_VARIANTS: dict[int, list[list[np.ndarray]]] = {
    0: [[_arc(0.0, 0.0, 0.3, 0.48, 0, 360)],
        [_arc(0.0, 0.0, 0.22, 0.5, 80, 440)]],
    1: [[_line((0.06, 0.5), (-0.04, -0.5))],
        [_line((0.06, 0.5), (-0.04, -0.5)), _line((-0.16, 0.3), (0.06, 0.5), 12)],
        [_line((0.04, 0.5), (0.0, -0.5)), _line((-0.14, 0.34), (0.04, 0.5), 12),
         _line((-0.2, -0.5), (0.2, -0.5), 12)]],
    2: [[np.concatenate([_arc(0.0, 0.22, 0.27, 0.26, 160, -20),
                         _line((0.25, 0.12), (-0.32, -0.5))]),
         _line((-0.32, -0.5), (0.34, -0.48))],
        [np.concatenate([_arc(0.0, 0.22, 0.27, 0.26, 160, -30),
                         _line((0.23, 0.09), (-0.2, -0.4)),
                         _arc(-0.2, -0.4, 0.1, 0.1, 250, -90),
                         _line((-0.2, -0.5), (0.34, -0.44))])]],
    3: [[_arc(-0.02, 0.26, 0.26, 0.23, 150, -90), _arc(0.0, -0.23, 0.29, 0.27, 90, -150)],
        [np.concatenate([_line((-0.28, 0.48), (0.28, 0.48)), _line((0.28, 0.48), (-0.05, 0.06)),
                         _arc(0.0, -0.2, 0.29, 0.28, 100, -150)])]],
    4: [[_line((0.12, 0.5), (-0.32, -0.12)), _line((-0.32, -0.12), (0.34, -0.12)),
         _line((0.16, 0.22), (0.14, -0.5))],
        [_line((-0.24, 0.5), (-0.28, -0.08)), _line((-0.28, -0.08), (0.34, -0.1)),
         _line((0.18, 0.46), (0.14, -0.5))]],
    5: [[_line((0.3, 0.5), (-0.2, 0.5)), _line((-0.2, 0.5), (-0.24, 0.06)),
         _arc(0.0, -0.2, 0.3, 0.29, 118, -150)],
        [np.concatenate([_line((-0.2, 0.5), (-0.24, 0.06)),
                         _arc(0.0, -0.2, 0.3, 0.29, 118, -150)]),
         _line((-0.2, 0.5), (0.3, 0.48), 16)]],
    6: [[np.concatenate([_arc(0.3, -0.06, 0.55, 0.56, 110, 180),
                         _arc(0.0, -0.22, 0.25, 0.26, 180, 540)])],
        [np.concatenate([_line((0.2, 0.5), (-0.24, -0.2)),
                         _arc(0.0, -0.26, 0.24, 0.23, 165, 525)])]],
    7: [[_line((-0.32, 0.48), (0.32, 0.48)), _line((0.32, 0.48), (-0.06, -0.5))],
        [_line((-0.32, 0.48), (0.32, 0.48)), _line((0.32, 0.48), (-0.06, -0.5)),
         _line((-0.06, 0.0), (0.3, 0.0), 16)],
        [np.concatenate([_line((-0.3, 0.36), (-0.3, 0.48), 8), _line((-0.3, 0.48), (0.3, 0.48)),
                         _line((0.3, 0.48), (0.08, -0.1)), _line((0.08, -0.1), (0.02, -0.5))])]],
    8: [[_arc(0.0, 0.26, 0.22, 0.22, -90, 270), _arc(0.0, -0.22, 0.28, 0.28, 90, 450)],
        [np.concatenate([_arc(0.0, 0.26, 0.2, 0.22, -60, 240), _line((-0.1, 0.07), (0.2, -0.1)),
                         _arc(0.0, -0.25, 0.26, 0.25, 30, 330), _line((0.22, -0.38),
                                                                      (0.1, 0.07))])]],
    9: [[_arc(0.0, 0.22, 0.26, 0.26, 0, 360), _line((0.26, 0.22), (0.14, -0.5))],
        [_arc(0.0, 0.24, 0.25, 0.24, 0, 360),
         np.concatenate([_line((0.25, 0.24), (0.24, -0.25)), _arc(0.04, -0.25, 0.2, 0.25, 0,
                                                                   -150)])]],
}


def _resample(strokes: list[np.ndarray], m: int) -> np.ndarray:
    """``m`` points spread evenly by arc length over all strokes: (m, 2)."""
    lengths = [np.linalg.norm(np.diff(s, axis=0), axis=1) for s in strokes]
    total = sum(seg.sum() for seg in lengths)
    out = []
    counts = [max(2, round(m * seg.sum() / total)) for seg in lengths]
    counts[-1] += m - sum(counts)
    for s, seg, k in zip(strokes, lengths, counts):
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        at = np.linspace(0.0, cum[-1], k)
        out.append(np.stack([np.interp(at, cum, s[:, 0]), np.interp(at, cum, s[:, 1])], 1))
    return np.concatenate(out)


def skeletons() -> tuple[np.ndarray, np.ndarray]:
    """The skeleton variants of the ten classes, in the unit box (y up).

    Returns ``points (10, V, SKELETON_POINTS, 2)`` (classes with fewer than V variants repeat
    their last one) and ``counts (10,)``, the number of variants of each class.
    """
    v = max(len(vs) for vs in _VARIANTS.values())
    pts = np.stack([
        np.stack([_resample(_VARIANTS[c][min(j, len(_VARIANTS[c]) - 1)], SKELETON_POINTS)
                  for j in range(v)])
        for c in range(10)
    ])
    return pts, np.array([len(_VARIANTS[c]) for c in range(10)])


def render_strokes(points: np.ndarray, thickness: np.ndarray) -> np.ndarray:
    """Draw point chains as pen strokes.

    Parameters
    ----------
    points : (n, m, 2) stroke points in pixel coordinates (x right, y down).
    thickness : (n,) pen radius in pixels.

    Returns
    -------
    (n, 28, 28) float32 in [0, 1]: intensity = clip((r - d) / EDGE_WIDTH + 0.5, 0, 1) ** GAMMA
    with d the distance from the pixel centre to the nearest stroke point and r the pen radius
    (solid inside, an anti-aliased ramp EDGE_WIDTH pixels wide at the edge, exactly 0 outside).
    """
    c = np.arange(MNIST_SIZE, dtype=np.float32) + np.float32(0.5)       # pixel centres
    out = np.empty((len(points), MNIST_SIZE * MNIST_SIZE), dtype=np.float32)
    chunk = 512
    for i in range(0, len(points), chunk):
        s = points[i:i + chunk].astype(np.float32)                         # (k, m, 2)
        dx2 = (c[None, :, None] - s[:, None, :, 0]) ** 2                   # (k, 28, m)
        dy2 = (c[None, :, None] - s[:, None, :, 1]) ** 2
        # min over the stroke points of |p - s|² for every pixel (row y, column x), one point
        # at a time by broadcasting (no BLAS: the images do not depend on BLAS threads)
        d2 = dy2[:, :, None, 0] + dx2[:, None, :, 0]                       # (k, 28, 28)
        tmp = np.empty_like(d2)
        for j in range(1, s.shape[1]):
            np.add(dy2[:, :, None, j], dx2[:, None, :, j], out=tmp)
            np.minimum(d2, tmp, out=d2)
        d = np.sqrt(d2).reshape(len(s), -1)
        r = thickness[i:i + chunk, None].astype(np.float32)
        v = np.clip((r - d) / np.float32(EDGE_WIDTH) + np.float32(0.5), 0.0, 1.0)
        out[i:i + chunk] = v ** np.float32(GAMMA)
    return out.reshape(len(points), MNIST_SIZE, MNIST_SIZE)


def make_mnist_like(n: int, rng: np.random.Generator):
    """``n`` images ``(n, 28, 28)`` float32 in [0, 1] and balanced labels ``(n,)`` in random order.

    Each image picks one of its class's skeleton variants (unit box) and moves every point p by
    p' = A p + elastic(p) + centre, with A = rotation(±12°) · shear(±0.45) · diag(width, height)
    (height 15..21 px, width 0.8..1.15 x height), elastic(p) a sum of three sine waves along random
    directions (0.5..2 periods over the digit, amplitude up to 1.2 px each) and the centre within
    ±2 px of the image centre; then :func:`render_strokes` draws it with a pen radius in
    ``PEN_RADIUS``.
    """
    labels = rng.permutation(np.repeat(np.arange(10, dtype=np.int64), class_counts(n, 10)))
    variants, counts = skeletons()
    which = (rng.uniform(0.0, 1.0, n) * counts[labels]).astype(np.int64)
    pts = variants[labels, which]                                   # (n, m, 2), y up
    pts[..., 1] *= -1.0                                             # y down

    height = 19.0 * rng.uniform(0.8, 1.1, n)
    width = height * rng.uniform(0.8, 1.15, n)
    rot = np.radians(rng.uniform(-12.0, 12.0, n))
    shear = rng.uniform(-0.45, 0.45, n)
    c, s = np.cos(rot), np.sin(rot)
    # A = R(rot) @ [[1, shear], [0, 1]] @ diag(width, height)
    a = np.empty((n, 2, 2))
    a[:, 0, 0] = c * width
    a[:, 0, 1] = (c * shear - s) * height
    a[:, 1, 0] = s * width
    a[:, 1, 1] = (s * shear + c) * height
    out = np.einsum("nij,nmj->nmi", a, pts)

    # elastic wobble: three sine waves per axis with random direction, frequency and phase
    for _ in range(3):
        ang = rng.uniform(0.0, 2 * np.pi, (n, 1, 2))
        freq = rng.uniform(0.5, 2.0, (n, 1, 2))
        phase = rng.uniform(0.0, 2 * np.pi, (n, 1, 2))
        amp = rng.uniform(0.0, 1.2, (n, 1, 2))
        proj = pts[..., :1] * np.cos(ang) + pts[..., 1:] * np.sin(ang)
        out += amp * np.sin(2 * np.pi * freq * proj + phase)

    centre = MNIST_SIZE / 2 + rng.uniform(-2.0, 2.0, (n, 1, 2))
    out += centre
    thickness = rng.uniform(*PEN_RADIUS, n)
    return render_strokes(out, thickness), labels


@register("mnist_like", "fake_mnist", kind="image",
          description="Synthetic 28x28 digit-like pen strokes with MNIST's pixel statistics; "
                      "10 classes, no download.",
          params=(Param("n", "int", 10000, "Number of images (training + validation).",
                        minimum=10, maximum=100_000),))
def _mnist_like(p, rng, field):
    x, y = make_mnist_like(p["n"], rng)
    return RawData(x=x.reshape(len(x), -1), y=y, n_classes=10,
                   class_names=[str(c) for c in range(10)], image_shape=(MNIST_SIZE, MNIST_SIZE))
