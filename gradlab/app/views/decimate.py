"""Step curves thinned to what a plot can show, spikes kept (issue 17).

The Training view sent up to 20,000 rows per curve to pyqtgraph on every frame, which copied,
checked and downsampled them again each time (a frame grew from ~25 to ~75 ms as a run grew).
:func:`envelope` keeps, for each of ``buckets`` consecutive runs of rows (about one per pixel of
the plot's width), the smallest and the largest value, drawn as a vertical stroke at the run's
first step: what a line through every point would cover in that pixel column, so a one-step spike
of the loss is still drawn. The newest row is always the last point. (The view thins a curve only
beyond 5 rows a pixel, where pyqtgraph's own downsampling would start.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def envelope(
    x: np.ndarray, ys: Sequence[np.ndarray], buckets: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """``x`` (n,) ascending and curves ``ys`` (each (n,)) -> at most ``2 * buckets + 1`` points:
    per bucket (min, max) of each curve at the bucket's first x (NaN only where a bucket has no
    finite value: a gap), then the last point. Fewer than ``2 * buckets`` rows: unchanged."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if buckets < 1 or n <= 2 * buckets:
        return x, [np.asarray(y, dtype=np.float64) for y in ys]
    starts = np.linspace(0, n, buckets, endpoint=False).astype(np.intp)
    out_x = np.empty(2 * buckets + 1)
    out_x[:-1] = np.repeat(x[starts], 2)
    out_x[-1] = x[-1]
    out_ys = []
    for y in ys:
        y = np.asarray(y, dtype=np.float64)
        out = np.empty(2 * buckets + 1)
        with np.errstate(invalid="ignore"):
            out[0:-1:2] = np.fmin.reduceat(y, starts)
            out[1:-1:2] = np.fmax.reduceat(y, starts)
        out[-1] = y[-1]
        out_ys.append(out)
    return out_x, out_ys
