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

#: head-room of a step axis while a run trains: the data fill at least 1/(1 + headroom) of it,
#: and a re-range (each re-lays out the axes, ~60 ms for all views) comes at every 1.5x growth
STEP_HEADROOM = 0.5
#: the fraction of a value axis kept free at each end (a marker there would be cut in half)
EDGE = 0.02
#: the fraction of a step axis kept free left of its first step: the step-0 probe's markers sit
#: on it and would otherwise be cut in half by the axis
STEP_LEAD = 0.02


def is_live(model) -> bool:
    """Whether the run is training now (its step axes grow; a frozen run's fit its steps)."""
    exp = getattr(model, "experiment", None)
    return exp is not None and exp.status == "running"


class GrowingRange:
    """Keeps one axis of a plot covering the data, with ``headroom`` to spare when it grows.

    ``log=True`` works in log10 units (for an axis in log mode). ``shrink`` lets the range shrink
    when the data occupies less than 1/shrink of it (e.g. after a reset), otherwise it only grows.
    ``lead``: the fraction of a step axis (:meth:`fit_steps`) shown left of its first step.
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
        lead: float = STEP_LEAD,
    ):
        self.plot = plot
        self.axis = axis
        self.headroom = headroom
        self.log = log
        self.floor = floor
        self.shrink = shrink
        self.pad = pad
        self.lead = lead
        self.lo: float | None = None
        self.hi: float | None = None

    def reset(self) -> None:
        self.lo = self.hi = None

    def fit_steps(self, lo: float, last: float, total: int | None, live: bool = True) -> bool:
        """A step axis that follows the data: while the run trains, [lo, last] with head-room
        (never past the step budget ``total``), grown 1.5x when outgrown; a run at rest fits
        [lo, last] exactly (a finished or reopened run shows its steps, not its budget). The view
        starts ``lead`` of the span before ``lo``, so a marker at ``lo`` (step 0) shows whole."""
        if not live:
            want = (lo, max(float(last), lo + 10.0))  # (a run at step 0 shows ten steps)
        else:
            last = max(float(last), lo + 1.0)
            inside = self.lo == lo and self.hi is not None and last <= self.hi
            loose = self.hi is not None and self.hi - lo > (1 + 2 * self.headroom) * (last - lo)
            if inside and not loose:
                return False
            hi = lo + (last - lo) * (1 + self.headroom)
            if total and last <= total:
                hi = min(hi, float(total))
            want = (lo, max(hi, last, lo + 10.0))
        if (self.lo, self.hi) == want:
            return False
        self.lo, self.hi = want
        self.plot.setXRange(want[0] - self.lead * (want[1] - want[0]), want[1], padding=0)
        return True

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
        # a marker on the very edge of the axis is cut in half: data must stay a little inside
        # (the floor's own ends may touch it)
        edge = EDGE * (self.hi - self.lo) if self.lo is not None else 0.0
        edge_lo = edge_hi = edge
        if self.floor is not None:
            edge_lo = edge if dmin < self.floor[0] else 0.0
            edge_hi = edge if dmax > self.floor[1] else 0.0
            dmin, dmax = min(dmin, self.floor[0]), max(dmax, self.floor[1])
        low = self.lo is not None and dmin < self.lo + edge_lo
        high = self.hi is not None and dmax > self.hi - edge_hi
        inside = self.lo is not None and not low and not high
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
            grow = max(self.headroom * span, 2 * edge)
            lo = min(self.lo, dmin - (grow if low else 0.0))
            hi = max(self.hi, dmax + (grow if high else 0.0))
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
