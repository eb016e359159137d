"""How often the window redraws while training takes every cycle it can (issue 17).

A small network's training is pure Python between small NumPy calls, so it shares the GIL with
the window's thread, where pyqtgraph paints in Python: every millisecond the window spends on a
frame is a millisecond the run does not train. At 30 frames a second the window's thread took
25-40% of the time (a frame: the views' ``setData`` and the paint that follows, 10-20 ms), and
the spiral preset trained at about half its headless speed.

:class:`FramePacer` gives the window a share of the time instead of a frame rate: while the run
trains as fast as it can, a frame is drawn only when the window's thread has used at most
:data:`UI_SHARE` of the time since the previous frame was drawn (its CPU time, measured by
``time.thread_time``: the frame's drawing, its paint, the status bar, everything the thread did).
So a cheap frame still comes 30 times a second, a costly one less often (the spiral's views: 4-5
a second on the loaded 2-core machine of bench/README.md; the Glorot net's, ~20), and training
keeps the rest. A frame is never held back
longer than :data:`MAX_GAP` seconds, and never when the user asked for it (a tab switch, the
timeline moved: the window forces those), nor when training is paused or paced (the worker then
sleeps between steps and needs no share of the GIL).

The pacer is pure bookkeeping with injectable clocks, so its rule is tested without a window.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: the share of the time the window's thread may spend while training runs at full speed
UI_SHARE = 0.15
#: the share while training runs in its own process (gradlab.experiment.remote): the frames then
#: take no GIL from it, only the CPU of the window's own core and the worker thread's time to
#: mirror the run
REMOTE_SHARE = 0.5
#: a frame is drawn at least this often (seconds), whatever it costs
MAX_GAP = 0.25


class FramePacer:
    """Decides whether the window's next frame is drawn now (see the module docstring)."""

    def __init__(
        self,
        share: float = UI_SHARE,
        max_gap: float = MAX_GAP,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.thread_time,
    ) -> None:
        self.share = share
        #: the share while training runs in the training process (:meth:`due`'s ``remote``)
        self.remote_share = REMOTE_SHARE
        self._share = share  # the one in force
        self.max_gap = max_gap
        self.clock = clock
        self.cpu_clock = cpu_clock
        self._wall = -float("inf")  # when the last frame was drawn
        self._cpu = 0.0  # the thread's CPU time then
        #: frames held back since the last one drawn (the window draws them as one)
        self.held = 0

    def due(self, busy: bool, remote: bool = False) -> bool:
        """Whether to draw a frame now. ``busy``: training runs as fast as it can (else every
        frame is due); ``remote``: in the training process (:attr:`remote_share` then). A frame
        drawn is :meth:`drawn`'s to record."""
        self._share = self.remote_share if remote else self.share
        if not busy:
            return True
        elapsed = self.clock() - self._wall
        if elapsed >= self.max_gap:
            return True
        spent = self.cpu_clock() - self._cpu
        if spent <= self._share * elapsed:
            return True
        self.held += 1
        return False

    def wait(self) -> float:
        """Seconds until a frame held back now would be due, if the window's thread did nothing
        meanwhile (the window's timer sleeps that long instead of asking every 33 ms)."""
        elapsed = self.clock() - self._wall
        spent = self.cpu_clock() - self._cpu
        return max(0.0, min(spent / self._share if self._share > 0 else self.max_gap,
                            self.max_gap) - elapsed)

    def drawn(self) -> None:
        """A frame is drawn now: the window's time from here on is the next frame's."""
        self._wall = self.clock()
        self._cpu = self.cpu_clock()
        self.held = 0
