"""A small network's weights at its probes, so the decision boundary of an earlier step can be
redrawn (the window's timeline scrubs every view, the boundary too).

The experiment keeps them for runs on 2-D data (:attr:`Experiment.weights`): at each probe the
parameters and batch-norm buffers are copied (a 2-[16]x3-2 net: 626 numbers). Memory stays
bounded: at most ``capacity`` snapshots and ``max_bytes`` in all; past either, every other one is
dropped and from then on only snapshots whose probe number is a multiple of a doubling stride
are kept (the history thins its probes the same way), the first (step 0) and the newest always.

The trainer writes from its thread and the window reads from its own: every method takes a lock,
and the boundary is computed on a network of the reader's own (built from the same layers), never
on the one being trained.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np

from gradlab.engine import Network, losses

#: the most bytes the kept weights may take
MAX_BYTES = 32 * 2**20


def class_probabilities(outputs: np.ndarray, loss_name: str) -> np.ndarray:
    """Network outputs (n, k) -> class probabilities (n, max(k, 2)) float64: what the loss says
    its outputs mean (:meth:`gradlab.engine.losses.Loss.probabilities`, the one rule the live
    boundary, its export and the figure use). A diverged network's NaN stays NaN (no colour)."""
    with np.errstate(all="ignore"):
        return losses.get(loss_name).probabilities(outputs)


class WeightHistory:
    """Parameters and buffers of a network at its probes (see the module docstring).

    ``layers``, ``input_dim``, ``output_dim``, ``seed``, ``dtype``: the network's construction
    (a reader builds its own copy from them)."""

    def __init__(
        self,
        layers: list[dict],
        input_dim: int,
        output_dim: int,
        seed: int,
        dtype: str,
        *,
        capacity: int = 1000,
        max_bytes: int = MAX_BYTES,
    ):
        self._build = (layers, input_dim, output_dim, seed, dtype)
        self.capacity = max(int(capacity), 2)
        self.max_bytes = int(max_bytes)
        self.stride = 1
        self._steps: list[int] = []
        self._index: list[int] = []
        self._arrays: list[dict[str, np.ndarray]] = []
        self._bytes = 0
        self._lock = threading.Lock()
        self._reader: Network | None = None
        self._loaded: int | None = None  # the step whose weights the reader holds

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def nbytes(self) -> int:
        return self._bytes

    def steps(self) -> list[int]:
        with self._lock:
            return list(self._steps)

    def add(self, index: int, step: int, network: Network) -> None:
        """Keep the weights of probe number ``index`` (taken at ``step``); called between two
        training steps by the thread that trains ``network``."""
        self.add_arrays(index, step, network.state_arrays())

    def add_arrays(self, index: int, step: int, arrays: dict[str, np.ndarray]) -> None:
        """:meth:`add` from the network's state arrays (copied): the training process sends
        them (:mod:`gradlab.experiment.remote`)."""
        arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
        size = sum(a.nbytes for a in arrays.values())
        with self._lock:
            if self._steps and step <= self._steps[-1]:
                self._drop_from(bisect.bisect_left(self._steps, step))  # resumed earlier
            if self._steps and len(self._steps) > 1 and self._index[-1] % self.stride:
                self._pop(len(self._steps) - 1)  # the previous newest was off-stride
            self._steps.append(int(step))
            self._index.append(int(index))
            self._arrays.append(arrays)
            self._bytes += size
            while len(self._steps) > self.capacity or (
                self._bytes > self.max_bytes and len(self._steps) > 2
            ):
                self._thin()

    def _thin(self) -> None:
        self.stride *= 2
        keep = [
            i
            for i in range(len(self._steps))
            if i == 0 or i == len(self._steps) - 1 or self._index[i] % self.stride == 0
        ]
        if len(keep) == len(self._steps):  # nothing left to thin but the first and newest
            keep = [0, len(self._steps) - 1]
        self._steps = [self._steps[i] for i in keep]
        self._index = [self._index[i] for i in keep]
        self._arrays = [self._arrays[i] for i in keep]
        self._bytes = sum(sum(a.nbytes for a in arr.values()) for arr in self._arrays)

    def _pop(self, i: int) -> None:
        self._bytes -= sum(a.nbytes for a in self._arrays[i].values())
        del self._steps[i], self._index[i], self._arrays[i]

    def _drop_from(self, i: int) -> None:
        while len(self._steps) > i:
            self._pop(len(self._steps) - 1)

    def truncate_after(self, step: int) -> None:
        """Forget the snapshots after ``step`` (a session resumed from an earlier point)."""
        with self._lock:
            self._drop_from(bisect.bisect_right(self._steps, step))

    def at(self, step: int) -> tuple[int, dict[str, np.ndarray]] | None:
        """(the step, the arrays) of the newest snapshot at or before ``step``, or None."""
        with self._lock:
            i = bisect.bisect_right(self._steps, step) - 1
            if i < 0:
                return None
            return self._steps[i], self._arrays[i]

    def predict_at(self, step: int, x: np.ndarray) -> tuple[int, np.ndarray] | None:
        """(the snapshot's step, the outputs (n, k) of the network as it was then on ``x``), or
        None without a snapshot at or before ``step``. Computed on a network of the caller's
        (one reader thread at a time: the window's)."""
        found = self.at(step)
        if found is None:
            return None
        at, arrays = found
        if self._reader is None:
            self._reader = Network(*self._build)
        if self._loaded != at:
            self._reader.load_state_arrays(arrays)
            self._loaded = at
        with np.errstate(all="ignore"):
            return at, self._reader.predict(np.asarray(x, self._reader.dtype))


def keeps_weights(input_dim: int, n_params: int) -> bool:
    """Whether a run keeps its weights at probes: 2-D data (the decision boundary) and a network
    whose snapshots stay small (at most 2 MB each)."""
    return input_dim == 2 and n_params * 8 <= 2 * 2**20
