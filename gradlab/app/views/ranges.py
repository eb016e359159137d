"""Axis ranges that move rarely.

Auto-ranging every frame cost ~24% of a frame in the DESIGN.md profile, and regenerating ticks
another ~38%. :class:`GrowingRange` keeps an axis fixed while the data stays inside it and, when
the data escapes, jumps to a range with head-room, so a growing curve re-ranges a handful of times
over a run instead of every frame.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

#: head-room of a step axis when a run without a step budget outgrows it: doubling keeps the
#: re-ranges (each re-lays out the axes of every plot, ~60 ms for all views) logarithmically rare
STEP_HEADROOM = 1.0


class GrowingRange:
    """Keeps one axis of a plot covering the data, with ``headroom`` to spare when it grows.

    ``log=True`` works in log10 units (for an axis in log mode). ``shrink`` lets the range shrink
    when the data occupies less than 1/shrink of it (e.g. after a reset), otherwise it only grows.
    """

    def __init__(
        self,
        plot: pg.PlotItem,
        axis: str,
        *,
        headroom: float = 0.25,
        log: bool = False,
        floor: tuple[float, float] | None = None,
        shrink: float = 8.0,
        pad: float = 0.02,
    ):
        self.plot = plot
        self.axis = axis
        self.headroom = headroom
        self.log = log
        self.floor = floor
        self.shrink = shrink
        self.pad = pad
        self.lo: float | None = None
        self.hi: float | None = None

    def reset(self) -> None:
        self.lo = self.hi = None

    def fit_steps(self, lo: float, last: float, total: int | None) -> bool:
        """A step axis: exactly [lo, total] while a run with a step budget stays within it,
        otherwise growing with head-room from [lo, last]."""
        if total and last <= total:
            if (self.lo, self.hi) == (lo, float(total)):
                return False
            self.lo, self.hi = lo, float(total)
            self.plot.setXRange(lo, float(total), padding=0)
            return True
        return self.fit((lo, max(last, lo + 10.0)))

    def fit(self, values: np.ndarray | tuple[float, float]) -> bool:
        """Make the axis hold ``values`` (array, or (min, max)); True if the range changed."""
        v = np.asarray(values, dtype=np.float64).ravel()
        if self.log:
            v = v[v > 0]
            v = np.log10(v) if v.size else v
        v = v[np.isfinite(v)]
        if not v.size:
            return False
        dmin, dmax = float(v.min()), float(v.max())
        if self.floor is not None:
            dmin, dmax = min(dmin, self.floor[0]), max(dmax, self.floor[1])
        inside = self.lo is not None and self.lo <= dmin and dmax <= self.hi
        span_data = max(dmax - dmin, 1e-12)
        too_loose = (
            self.lo is not None
            and (self.hi - self.lo) > self.shrink * span_data * (1 + self.headroom)
            and self.shrink > 0
        )
        if inside and not too_loose:
            return False
        if self.log and dmax - dmin < 1.0:  # a constant on a log axis: show a decade around it
            mid = 0.5 * (dmin + dmax)
            dmin, dmax = mid - 0.5, mid + 0.5
        span = max(dmax - dmin, abs(dmax) * 1e-3, 1e-9)
        if self.lo is not None and inside is False and not too_loose:
            # grow towards the escaping side with head-room
            lo = min(self.lo, dmin - (self.headroom * span if dmin < self.lo else 0.0))
            hi = max(self.hi, dmax + (self.headroom * span if dmax > self.hi else 0.0))
        else:
            lo, hi = dmin - self.pad * span, dmax + self.headroom * span
        if self.log:
            lo, hi = math.floor(lo * 4) / 4, math.ceil(hi * 4) / 4
        self.lo, self.hi = lo, hi
        if self.axis == "x":
            self.plot.setXRange(lo, hi, padding=0)
        else:
            self.plot.setYRange(lo, hi, padding=0)
        return True
