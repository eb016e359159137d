"""The history of a run: columnar, bounded, safe to read from another thread.

Three tables and a list:

- **steps**: one row per training step (``step``, ``epoch``, ``loss``, ``lr``, ``grad_norm``,
  ``clipped``). Rows are kept for every step up to ``step_capacity``; past it, every other row
  is dropped and from then on only every 2nd (4th, ...) step is kept, so memory stays bounded.
- **evals**: one row per evaluation (``step``, ``train_loss``, ``train_acc``, ``val_loss``,
  ``val_acc``, and ``val_loss_mc``, ``val_acc_mc``: MC dropout's, NaN when it is off; sessions
  from before these columns load with NaN in them).
- **probes**: one row per kept probe: ``step``, ``epoch``, ``loss``, ``lr``, ``index`` (the
  probe's serial number), each per-layer statistic as an (n, L) column, and each histogram as
  (n, L, bins) counts with its per-layer (n, L, 2) ranges. When the rows reach
  ``probe_capacity`` they are thinned evenly: only probes whose serial number is a multiple of
  a doubling stride are kept, plus always the newest. The step-0 probe (serial 0) is never
  dropped.
- **events**: dicts ``{"step", "kind", "severity", "layer", "message"}``, and for health verdicts
  more keys (see :mod:`gradlab.experiment.health`).

The trainer appends from its thread while the window reads from its own: every method takes a
lock, and readers get copies. ``version`` increases with every change, so a reader can tell
whether anything is new.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradlab.experiment.probes import HIST_QUANTITIES, LAYER_STATS, ProbeRecord

STEP_COLUMNS = {
    "step": np.int64,
    "epoch": np.float64,
    "loss": np.float64,
    "lr": np.float64,
    "grad_norm": np.float64,
    "clipped": np.bool_,
}
EVAL_COLUMNS = {
    "step": np.int64,
    "train_loss": np.float64,
    "train_acc": np.float64,
    "val_loss": np.float64,
    "val_acc": np.float64,
    "val_loss_mc": np.float64,
    "val_acc_mc": np.float64,
}
#: eval columns a session may lack (added later): they load as NaN
OPTIONAL_EVAL_COLUMNS = ("val_loss_mc", "val_acc_mc")
PROBE_SCALARS = {
    "step": np.int64,
    "epoch": np.float64,
    "loss": np.float64,
    "lr": np.float64,
    "index": np.int64,
}


class _Table:
    """Growable columns (amortised doubling), each a 1-D or N-D numpy array."""

    def __init__(self, columns: dict[str, tuple[tuple[int, ...], Any]], capacity: int = 256):
        self.shapes = {k: s for k, (s, _) in columns.items()}
        self.cols = {k: np.zeros((capacity, *s), dt) for k, (s, dt) in columns.items()}
        self.n = 0

    def _grow(self, need: int) -> None:
        cap = len(next(iter(self.cols.values())))
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for k, v in self.cols.items():
            bigger = np.zeros((new, *v.shape[1:]), v.dtype)
            bigger[: self.n] = v[: self.n]
            self.cols[k] = bigger

    def append(self, row: dict[str, Any]) -> None:
        self._grow(self.n + 1)
        for k, v in self.cols.items():
            v[self.n] = row[k]
        self.n += 1

    def keep(self, mask_or_index: np.ndarray) -> None:
        for v in self.cols.values():
            kept = v[: self.n][mask_or_index]
            v[: len(kept)] = kept
        self.n = len(kept)

    def column(self, name: str) -> np.ndarray:
        return self.cols[name][: self.n].copy()

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n].copy() for k, v in self.cols.items()}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        n = len(next(iter(arrays.values())))
        self.n = 0
        self._grow(n)
        for k in self.cols:
            self.cols[k][:n] = arrays[k]
        self.n = n


class History:
    """See the module docstring. ``layer_names`` are the dense blocks, output last."""

    def __init__(
        self,
        layer_names: Sequence[str],
        bins: int,
        *,
        probe_capacity: int = 1000,
        step_capacity: int = 1_000_000,
    ):
        self.layer_names = list(layer_names)
        self.bins = bins
        self.probe_capacity = probe_capacity
        self.step_capacity = step_capacity
        self.step_stride = 1
        self.probe_stride = 1
        self._last_is_provisional = False
        self.events: list[dict] = []
        self.theory: dict[str, np.ndarray] = {}
        self.version = 0
        self._lock = threading.Lock()
        L = len(self.layer_names)
        self._steps = _Table({k: ((), dt) for k, dt in STEP_COLUMNS.items()}, 1024)
        self._evals = _Table({k: ((), dt) for k, dt in EVAL_COLUMNS.items()}, 64)
        pcols: dict[str, tuple[tuple[int, ...], Any]] = {
            k: ((), dt) for k, dt in PROBE_SCALARS.items()
        }
        pcols.update({f"stat/{s}": ((L,), np.float64) for s in LAYER_STATS})
        pcols.update({f"hist/{q}": ((L, bins), np.int32) for q in HIST_QUANTITIES})
        pcols.update({f"range/{q}": ((L, 2), np.float64) for q in HIST_QUANTITIES})
        self._probes = _Table(pcols, 16)

    # ------------------------------------------------------------------ writing
    def append_step(
        self, step: int, epoch: float, loss: float, lr: float, grad_norm: float, clipped: bool
    ) -> None:
        if step % self.step_stride:
            return
        with self._lock:
            self._steps.append(
                {
                    "step": step,
                    "epoch": epoch,
                    "loss": loss,
                    "lr": lr,
                    "grad_norm": grad_norm,
                    "clipped": clipped,
                }
            )
            if self._steps.n >= self.step_capacity:
                self.step_stride *= 2
                self._steps.keep(self._steps.cols["step"][: self._steps.n] % self.step_stride == 0)
            self.version += 1

    def append_eval(
        self,
        step: int,
        train_loss: float,
        train_acc: float,
        val_loss: float,
        val_acc: float,
        val_loss_mc: float = np.nan,
        val_acc_mc: float = np.nan,
    ) -> None:
        with self._lock:
            self._evals.append(
                {
                    "step": step,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "val_loss": val_loss,
                    "val_acc": val_acc,
                    "val_loss_mc": val_loss_mc,
                    "val_acc_mc": val_acc_mc,
                }
            )
            self.version += 1

    def append_probe(self, rec: ProbeRecord, index: int) -> None:
        """Append probe number ``index`` (0 for the first probe of the run)."""
        row: dict[str, Any] = {
            "step": rec.step,
            "epoch": rec.epoch,
            "loss": rec.loss,
            "lr": rec.lr,
            "index": index,
        }
        row.update({f"stat/{s}": rec.stats[s] for s in LAYER_STATS})
        row.update({f"hist/{q}": rec.hists[q] for q in HIST_QUANTITIES})
        row.update({f"range/{q}": rec.ranges[q] for q in HIST_QUANTITIES})
        with self._lock:
            t = self._probes
            if self._last_is_provisional and t.n > 1:
                t.n -= 1  # the previous newest was off-stride: the new one replaces it
            t.append(row)
            self._last_is_provisional = index % self.probe_stride != 0
            if t.n >= self.probe_capacity:
                self._thin_probes()
            self.version += 1

    def _thin_probes(self) -> None:
        t = self._probes
        while t.n >= self.probe_capacity:
            self.probe_stride *= 2
            idx = t.cols["index"][: t.n]
            keep = idx % self.probe_stride == 0
            keep[-1] = True
            t.keep(keep)
            self._last_is_provisional = int(t.cols["index"][t.n - 1]) % self.probe_stride != 0

    def add_event(
        self,
        step: int,
        kind: str,
        message: str,
        *,
        layer: str | None = None,
        severity: str = "warning",
        **extra: Any,
    ) -> dict:
        """Record an event; ``extra`` keys (JSON-able: the health verdicts' ``layers``,
        ``value``, ``line``, ``source``...) are kept beside the five every event has."""
        ev = {
            "step": int(step),
            "kind": kind,
            "severity": severity,
            "layer": layer,
            "message": message,
            **extra,
        }
        with self._lock:
            self.events.append(ev)
            self.version += 1
        return ev

    def set_theory(self, theory: dict[str, np.ndarray]) -> None:
        with self._lock:
            self.theory = {k: np.asarray(v, np.float64).copy() for k, v in theory.items()}
            self.version += 1

    def truncate_after(self, step: int) -> None:
        """Forget everything recorded after ``step`` (resuming a session from an earlier point)."""
        with self._lock:
            for t in (self._steps, self._evals, self._probes):
                t.keep(t.cols["step"][: t.n] <= step)
            self.events = [e for e in self.events if e["step"] <= step]
            self._last_is_provisional = False
            self.version += 1

    # ------------------------------------------------------------------ reading (copies)
    @property
    def n_steps(self) -> int:
        return self._steps.n

    @property
    def n_events(self) -> int:
        return len(self.events)

    @property
    def n_evals(self) -> int:
        return self._evals.n

    @property
    def n_probes(self) -> int:
        return self._probes.n

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    def steps(self, max_rows: int | None = None) -> dict[str, np.ndarray]:
        """Step-level columns (copies). With ``max_rows``, a long table is read at an even
        stride (the last row always included), so a plot of a million steps copies ~max_rows."""
        with self._lock:
            t = self._steps
            if max_rows is None or t.n <= max_rows:
                return t.arrays()
            idx = np.linspace(0, t.n - 1, max_rows).astype(np.intp)
            return {k: v[idx] for k, v in t.cols.items()}

    def latest_step(self) -> dict[str, float] | None:
        """The newest step row as plain numbers (cheap: no column copies), or None."""
        with self._lock:
            t = self._steps
            if t.n == 0:
                return None
            return {k: v[t.n - 1].item() for k, v in t.cols.items()}

    def evals(self) -> dict[str, np.ndarray]:
        with self._lock:
            return self._evals.arrays()

    def probe_steps(self) -> np.ndarray:
        with self._lock:
            return self._probes.column("step")

    def probe_column(self, name: str) -> np.ndarray:
        """``"step"``, ``"loss"``... (n,), a stat ``"act_std"`` (n, L)."""
        key = name if name in PROBE_SCALARS else f"stat/{name}"
        with self._lock:
            return self._probes.column(key)

    def probe_stats(self, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Several per-layer stats at once, (n, L) each, under one lock."""
        with self._lock:
            return {s: self._probes.column(f"stat/{s}") for s in names}

    def hist_series(self, quantity: str) -> tuple[np.ndarray, np.ndarray]:
        """(counts (n, L, bins), ranges (n, L, 2)) of one histogram quantity over all probes."""
        with self._lock:
            return self._probes.column(f"hist/{quantity}"), self._probes.column(f"range/{quantity}")

    def probe(self, i: int) -> dict[str, Any]:
        """Probe row ``i`` (negative counts from the end): scalars, ``stats`` {name: (L,)},
        ``hists`` {q: (L, bins)}, ``ranges`` {q: (L, 2) per-layer (lo, hi)}."""
        with self._lock:
            n = self._probes.n
            if not -n <= i < n:
                raise IndexError(f"probe {i} out of range (the history holds {n})")
            i %= n
            c = self._probes.cols
            return {
                **{k: c[k][i].item() for k in PROBE_SCALARS},
                "stats": {s: c[f"stat/{s}"][i].copy() for s in LAYER_STATS},
                "hists": {q: c[f"hist/{q}"][i].copy() for q in HIST_QUANTITIES},
                "ranges": {q: c[f"range/{q}"][i].copy() for q in HIST_QUANTITIES},
            }

    def probe_index_at(self, step: int) -> int:
        """Row of the last probe taken at or before ``step`` (0 if none)."""
        with self._lock:
            steps = self._probes.cols["step"][: self._probes.n]
            return max(int(np.searchsorted(steps, step, side="right")) - 1, 0)

    def events_copy(self) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self.events]

    # ------------------------------------------------------------------ persistence
    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, named arrays) for a session file."""
        with self._lock:
            arrays = {}
            for prefix, t in (
                ("steps", self._steps),
                ("evals", self._evals),
                ("probes", self._probes),
            ):
                for k, v in t.arrays().items():
                    arrays[f"history/{prefix}/{k}"] = v
            for k, v in self.theory.items():
                arrays[f"history/theory/{k}"] = v.copy()
            meta = {
                "layer_names": self.layer_names,
                "bins": self.bins,
                "probe_capacity": self.probe_capacity,
                "step_capacity": self.step_capacity,
                "step_stride": self.step_stride,
                "probe_stride": self.probe_stride,
                "last_is_provisional": self._last_is_provisional,
                "events": [dict(e) for e in self.events],
            }
            return meta, arrays

    @classmethod
    def from_arrays(cls, meta: dict, arrays: dict[str, np.ndarray]) -> History:
        h = cls(
            meta["layer_names"],
            meta["bins"],
            probe_capacity=meta["probe_capacity"],
            step_capacity=meta["step_capacity"],
        )
        h.step_stride = meta["step_stride"]
        h.probe_stride = meta["probe_stride"]
        h._last_is_provisional = meta["last_is_provisional"]
        h.events = [dict(e) for e in meta["events"]]
        for prefix, t in (("steps", h._steps), ("evals", h._evals), ("probes", h._probes)):
            cols = {k: arrays[f"history/{prefix}/{k}"] for k in t.cols
                    if f"history/{prefix}/{k}" in arrays or prefix != "evals"}
            if prefix == "evals":  # columns added later: NaN in older sessions
                rows = len(cols["step"])
                for k in OPTIONAL_EVAL_COLUMNS:
                    cols.setdefault(k, np.full(rows, np.nan))
            t.load(cols)
        h.theory = {
            k.rsplit("/", 1)[1]: v for k, v in arrays.items() if k.startswith("history/theory/")
        }
        return h

    @staticmethod
    def array_names(meta_like: dict) -> list[str]:
        """Names of the arrays :meth:`to_arrays` writes (without theory), for validation."""
        names = [f"history/steps/{k}" for k in STEP_COLUMNS]
        names += [f"history/evals/{k}" for k in EVAL_COLUMNS]
        names += [f"history/probes/{k}" for k in PROBE_SCALARS]
        names += [f"history/probes/stat/{s}" for s in LAYER_STATS]
        names += [f"history/probes/hist/{q}" for q in HIST_QUANTITIES]
        names += [f"history/probes/range/{q}" for q in HIST_QUANTITIES]
        return names
