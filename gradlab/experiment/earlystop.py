"""Early stopping (Hands-On ML ch. 11), with the semantics of Keras' ``EarlyStopping`` callback,
counted in evaluations where Keras counts epochs.

At each scheduled evaluation after step 0 (the ``i``-th, from 0, Keras' ``epoch``), with
``current`` the monitored metric, ``best`` the best so far (+∞ for a loss, −∞ for an
accuracy), ``wait`` the evaluations since the last improvement:

1. with ``restore_best_weights``, if no weights were kept yet, the current ones are kept (so a
   run that never improves restores the first evaluation's);
2. ``wait ← wait + 1``;
3. improved if ``current + min_delta < best`` (losses) or ``current − min_delta > best``
   (accuracies): then ``best ← current``, the weights are kept, ``wait ← 0``;
4. otherwise, if ``wait >= patience`` and ``i > 0``: the run stops.

So with ``patience = 2`` the run stops at the second evaluation in a row without improvement
(never at the first evaluation, whatever the patience), as Keras stops after two epochs. A NaN
metric never improves. The weights kept (``restore_best_weights``) are every parameter and
buffer (batch-norm running averages too, as Keras' ``get_weights``); they are put back when
training ends (stopped early, or the step budget reached), not the optimiser's state.

When the monitor is a validation metric and the data has no validation set, the training
subset's metric is monitored instead (said once in an event).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

#: the metric watched when the validation set is empty
FALLBACK = {"val_loss": "train_loss", "val_acc": "train_acc"}


class EarlyStopping:
    """The state of early stopping for one run (see the module docstring)."""

    def __init__(self, monitor: str, patience: int, min_delta: float, restore_best_weights: bool):
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = abs(float(min_delta))
        self.restore_best_weights = bool(restore_best_weights)
        self.maximize = monitor.endswith("acc")
        self.used = monitor  # the metric actually watched (see FALLBACK)
        self.wait = 0
        self.index = 0  # evaluations observed (Keras' epoch of the next one)
        self.best = -math.inf if self.maximize else math.inf
        self.best_step: int | None = None
        self.stopped_step: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    @classmethod
    def from_spec(cls, settings: Mapping[str, Any] | bool) -> EarlyStopping | None:
        """The early stopping a resolved ``training.early_stopping`` asks for (None: off)."""
        if not settings:
            return None
        return cls(settings["monitor"], settings["patience"], settings["min_delta"],
                   settings["restore_best_weights"])

    # ------------------------------------------------------------------ the rule
    def improved(self, current: float) -> bool:
        """Keras' ``_is_improvement(current, best)`` with its signed min_delta."""
        if self.maximize:
            return current - self.min_delta > self.best
        return current + self.min_delta < self.best

    def metric(self, metrics: Mapping[str, float]) -> float:
        """The monitored value among an evaluation's metrics (the training subset's when the
        validation metric is missing)."""
        value = metrics.get(self.used, math.nan)
        if self.used in FALLBACK and not math.isfinite(value) and self.index == 0:
            fallback = metrics.get(FALLBACK[self.used], math.nan)
            if math.isfinite(fallback):
                self.used = FALLBACK[self.used]
                value = fallback
        return float(value)

    def observe(self, step: int, metrics: Mapping[str, float],
                weights: Mapping[str, np.ndarray]) -> bool:
        """Show an evaluation (at ``step``, the network's ``weights`` as they are now); True
        when the run must stop here."""
        current = self.metric(metrics)
        epoch = self.index
        self.index += 1
        if self.restore_best_weights and self.best_weights is None:
            self._keep(step, weights)
        self.wait += 1
        if self.improved(current):
            self.best = current
            self.best_step = step
            if self.restore_best_weights:
                self._keep(step, weights)
            self.wait = 0
            return False
        if self.wait >= self.patience and epoch > 0:
            self.stopped_step = step
            return True
        return False

    def _keep(self, step: int, weights: Mapping[str, np.ndarray]) -> None:
        self.best_weights = {k: np.array(v, copy=True) for k, v in weights.items()}
        if self.best_step is None:
            self.best_step = step

    def restore(self, weights: Mapping[str, np.ndarray]) -> bool:
        """Copy the kept weights back into ``weights`` (in place); True if any were kept."""
        if not self.restore_best_weights or self.best_weights is None:
            return False
        for k, dst in weights.items():
            dst[...] = self.best_weights[k]
        return True

    def resume(self) -> None:
        """Training goes on after a stop (Keras' ``on_train_begin`` of a new ``fit``): the
        patience counts again from zero; the best so far is kept."""
        self.wait = 0
        self.stopped_step = None

    # ------------------------------------------------------------------ words
    def best_text(self) -> str:
        """``"val_loss 0.3124 at step 1,200"``."""
        if self.best_step is None or not math.isfinite(self.best):
            return "no finite value yet"
        return f"{self.used} {self.best:.4g} at step {self.best_step:,}"

    def stop_message(self, restored: bool) -> str:
        """The sentence of the stop event."""
        return (
            f"Stopped early at step {self.stopped_step:,}: {self.used} has not improved for "
            f"{self.wait} evaluation{'s' if self.wait != 1 else ''} (patience {self.patience}); "
            f"the best was {self.best_text()}"
            + (", whose weights are restored." if restored else ".")
        )

    # ------------------------------------------------------------------ saving
    def state(self) -> dict[str, Any]:
        """JSON-able state (the kept weights are saved as arrays: :attr:`best_weights`)."""
        return {
            "used": self.used,
            "wait": self.wait,
            "index": self.index,
            "best": self.best if math.isfinite(self.best) else None,
            "best_step": self.best_step,
            "stopped_step": self.stopped_step,
            "has_weights": self.best_weights is not None,
        }

    def load_state(self, state: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Restore :meth:`state` (checked by :func:`check_state`) and the kept weights."""
        self.used = state["used"]
        self.wait = state["wait"]
        self.index = state["index"]
        best = state.get("best")
        self.best = float(best) if best is not None else (
            -math.inf if self.maximize else math.inf
        )
        self.best_step = state.get("best_step")
        self.stopped_step = state.get("stopped_step")
        self.best_weights = dict(arrays) if state.get("has_weights") else None


def check_state(state: Any, monitor: str, step_count: int, fail) -> None:
    """Refuse (``fail(message)`` raises) a saved state that does not fit a run of
    ``step_count`` steps monitoring ``monitor``."""
    if not isinstance(state, dict):
        fail("trainer.early_stopping must be an object")
    used = state.get("used")
    if used not in (monitor, FALLBACK.get(monitor)):
        fail(f"trainer.early_stopping.used must be {monitor}")
    for key, hi in (("wait", 2**53), ("index", 2**53)):
        v = state.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= hi:
            fail(f"trainer.early_stopping.{key} must be a whole number >= 0")
    for key in ("best_step", "stopped_step"):
        v = state.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)
                              or not 0 <= v <= step_count):
            fail(f"trainer.early_stopping.{key} must be a step from 0 to {step_count:,}")
    best = state.get("best")
    if best is not None and (isinstance(best, bool) or not isinstance(best, (int, float))
                             or not math.isfinite(best)):
        fail("trainer.early_stopping.best must be a finite number")
    if not isinstance(state.get("has_weights"), bool):
        fail("trainer.early_stopping.has_weights must be true or false")
