"""Health verdicts: what the probes say about a run, judged layer by layer against lines taken
from the seeds (CS231n lecture 6, Glorot & Bengio 2010, Nielsen ch. 5) and calibrated on real
runs of the presets.

A verdict is an *event* in the run's history, raised when a signal crosses its line and ended
(``"<kind>_over"``) when it is back well inside it (each line is relaxed while its verdict stands,
``health_rules.HYSTERESIS``, so a signal sitting on a line does not flicker). Every event keeps
the five keys older sessions have (``step``, ``kind``, ``severity``, ``layer``, ``message``)
and adds:

==============  ==================================================================================
``layers``      every layer past the line (``layer`` is the worst of them), or ``[]``
``quantity``    what was measured (``"delta_norm depth trend"``, ``"update_ratio"``...)
``value``       the number that crossed the line (finite float, or None)
``line``        the line it crossed
``cmp``         ``">"`` if values above the line are bad, ``"<"`` if values below it are
``source``      where the line comes from (``"CS231n lecture 6"``, ...)
==============  ==================================================================================

The kinds, worst first (:data:`KIND_ORDER`; ``error`` before ``warning``):

- ``nan``, ``diverged`` (errors, raised by the training loop): a non-finite loss or gradient, or
  the median loss of the last 10 batches above ``training.diverge_factor`` x its initial value
  (CS231n: "if the cost is ever much larger than the original cost, e.g. 3x, break out early").
  ``nonfinite``: a probe met NaN/inf values.
- ``saturation``: a two-sided activation (sigmoid, tanh, softsign) with most of its
  (example, unit) pairs where |f'| < 1% of its maximum (CS231n's W = 1.0 randn), or its mean
  activation driven next to a bound of its range (Glorot & Bengio fig. 2: the top sigmoid layer
  pushed to 0).
- ``dead``: most of a layer's units with |f'| < 1% of the maximum for every example of the
  probe batch.
- ``symmetric``: units of a layer with identical incoming and outgoing weights (a constant or
  zero initialisation): they receive identical gradients and never differentiate.
- ``exploding``: back-propagated gradients (or activations) growing geometrically across depth,
  or activations far larger than the input.
- ``vanishing``: back-propagated gradients shrinking geometrically going down (Glorot fig. 7;
  Nielsen's first hidden layer learning ~100x slower than the fourth).
- ``collapse``: activations shrinking geometrically going up, or far below the input's scale
  (CS231n's W = 0.01 randn; ReLU with Xavier init halving the variance every layer).
- ``frozen`` / ``thrashing``: ||dW|| / ||W|| per update below 1e-6 / above 1e-1 (CS231n: about
  1e-3 is healthy).
- ``stuck``: the training loss at chance (ln C for C balanced classes; in general the loss of
  the best constant prediction) over several evaluations.

The order puts the most specific explanation first: a saturated, dead or symmetric layer
explains the gradients that vanish or explode around it, which explain frozen or thrashing
updates, which explain a loss stuck at chance.

Headless API for any display: :func:`verdict` (the worst verdict standing at a step),
:func:`active_events`, :data:`LABELS`; :func:`judge_probe` and :func:`judge_evaluations` judge
statistics directly; :class:`HealthMonitor` turns probes and evaluations into events;
:class:`DivergenceWatch` is CS231n's 3x rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradlab.engine import Network
from gradlab.experiment.health_rules import (
    CS231N,
    DIVERGE_WINDOW,
    ERROR_KINDS,
    GLOROT,
    KIND_ORDER,
    LABELS,
    NIELSEN,
    STUCK_EVALS,
    Finding,
    LayerInfo,
    _finite,
    _rank,
    depth_trend,
    judge_evaluations,
    judge_probe,
    layer_infos,
    symmetric_units,
)


# ---------------------------------------------------------------------------------- chance
def chance_loss(loss: str, y: np.ndarray, n_outputs: int) -> float | None:
    """The loss of the best constant prediction on targets ``y`` (what a network that learned
    nothing but the class frequencies scores): ln C for C balanced classes with softmax
    cross-entropy, sum_j h(p_j) with sigmoid cross-entropy per output (h the binary entropy),
    1/2 sum_j Var(t_j) with the quadratic cost. None for an unknown loss or empty targets."""
    y = np.asarray(y)
    if y.size == 0:
        return None
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        if n_outputs == 1:
            t = y.astype(np.float64)[:, None]
        else:
            t = np.zeros((len(y), n_outputs))
            t[np.arange(len(y)), y] = 1.0
    else:
        t = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    p = t.mean(axis=0)
    if loss == "softmax_cross_entropy":
        q = p[p > 0]
        return float(-(q * np.log(q)).sum())
    if loss == "bce_with_logits":
        q = np.clip(p, 1e-12, 1 - 1e-12)
        h = -(q * np.log(q) + (1 - q) * np.log(1 - q))
        return float(np.where((p > 0) & (p < 1), h, 0.0).sum())
    if loss == "mse":
        return float(0.5 * t.var(axis=0).sum())
    return None


# ---------------------------------------------------------------------------------- the monitor
@dataclass
class HealthMonitor:
    """Turns probes and evaluations into events (see the module docstring): a verdict is raised
    when its signal crosses the line and ended when it is back inside the relaxed line.

    Its state (which verdicts stand, the reference input std and chance loss, the scheduled
    evaluation losses) is plain JSON and saved with a session.
    """

    layers: list[LayerInfo]
    input_std: float
    chance: float | None
    active: dict[str, dict] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)

    @classmethod
    def for_network(cls, net: Network, input_std: float, chance: float | None) -> HealthMonitor:
        return cls(layer_infos(net), float(input_std), chance)

    def state(self) -> dict[str, Any]:
        return {
            "input_std": _finite(self.input_std),
            "chance": _finite(self.chance),
            "active": {k: dict(v) for k, v in self.active.items()},
            "losses": [float(v) for v in self.losses[-STUCK_EVALS:]],
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state`; keys it lacks keep their present values."""
        if state.get("input_std") is not None:
            self.input_std = float(state["input_std"])
        if "chance" in state:
            self.chance = state["chance"]
        self.active = {k: dict(v) for k, v in (state.get("active") or {}).items()}
        self.losses = [float(v) for v in state.get("losses") or []]

    def probe(self, rec: Any, net: Network, history: Any) -> list[dict]:
        """Judge a probe record (``rec.step``, ``rec.stats``, ``rec.first_bad_layer``); add
        the events that begin or end to ``history``; return them."""
        events = []
        if rec.first_bad_layer is not None:
            if "nonfinite" not in self.active:
                name = self.layers[rec.first_bad_layer].name
                f = Finding(
                    "nonfinite",
                    f"Non-finite values in {name} at step {rec.step}: a value overflowed to "
                    f"infinity or NaN ({CS231N}: a NaN usually means the learning rate is too "
                    "high).",
                    (name,),
                    "nonfinite",
                    float(rec.stats["nonfinite"][rec.first_bad_layer]),
                    0.0,
                    ">",
                    CS231N,
                    "error",
                )
                events.append(self._begin(f, rec.step, history))
            return events  # the other signs mean nothing on non-finite statistics
        if "nonfinite" in self.active:
            events.append(self._end("nonfinite", rec.step, history, "all values finite again"))
        sym = symmetric_units(net)
        found = judge_probe(
            rec.stats, self.layers, input_std=self.input_std, symmetric=sym, active=self.active
        )
        by_kind = {f.kind: f for f in found}
        for kind in KIND_ORDER:
            if kind in ("nan", "diverged", "nonfinite", "stuck"):
                continue
            f = by_kind.get(kind)
            if f is not None and kind not in self.active:
                events.append(self._begin(f, rec.step, history))
            elif f is None and kind in self.active:
                events.append(self._end(kind, rec.step, history))
        return events

    def evaluation(self, step: int, train_loss: float, history: Any) -> list[dict]:
        """Judge a scheduled evaluation after step 0 (the stuck-at-chance rule)."""
        self.losses = [*self.losses, float(train_loss)][-STUCK_EVALS:]
        on = "stuck" in self.active
        f = judge_evaluations(self.losses, self.chance, active=on)
        if f is not None and not on:
            return [self._begin(f, step, history)]
        if f is None and on:
            return [self._end("stuck", step, history)]
        return []

    def _begin(self, f: Finding, step: int, history: Any) -> dict:
        ev = history.add_event(
            step, f.kind, f.message, layer=f.layer, severity=f.severity, **f.fields()
        )
        self.active[f.kind] = {"step": int(step)}
        return ev

    def _end(self, kind: str, step: int, history: Any, why: str = "") -> dict:
        since = self.active.pop(kind, {}).get("step")
        label = LABELS.get(kind, kind)
        msg = f"{label[0].upper()}{label[1:]} over" + (
            f" since step {since}" if since is not None else ""
        )
        msg += f": {why}." if why else ": back inside the line."
        return history.add_event(step, f"{kind}_over", msg, severity="info")


# ---------------------------------------------------------------------------------- divergence
@dataclass
class DivergenceWatch:
    """CS231n's rule: a run diverges when the loss of the last :data:`DIVERGE_WINDOW` batches,
    averaged by their median, exceeds ``factor`` x the initial loss (``factor`` 0: never).

    The median is the running average one bad batch cannot move: the dead-relu preset (Adam at
    lr 0.03) has a single batch at 35x its initial loss at step 2, which lifts a 10-batch mean
    to 4.6x, and then learns to 74%; a run that really diverges (the spiral at lr 1e8: 4e8 from
    step 1 on) crosses at once. After "continue anyway" the rule rests until the running median
    is back under the line."""

    factor: float
    loss0: float | None = None
    recent: list[float] = field(default_factory=list)
    armed: bool = True

    @property
    def line(self) -> float | None:
        if not self.factor or self.loss0 is None or not (self.loss0 > 0):
            return None
        return self.factor * self.loss0

    def check(self, loss: float) -> float | None:
        """Add one batch's loss. Returns the running median if it crossed the line (the loss
        is then not kept: the step is refused), else None."""
        recent = [*self.recent, float(loss)][-DIVERGE_WINDOW:]
        srt = sorted(recent)  # (ten floats: faster than numpy, which a tiny net would feel)
        mid = len(srt) // 2
        mean = srt[mid] if len(srt) % 2 else 0.5 * (srt[mid - 1] + srt[mid])
        line = self.line
        if line is not None and len(recent) == DIVERGE_WINDOW:
            if mean > line and self.armed:
                return mean
            if mean <= line:
                self.armed = True
        self.recent = recent
        return None

    def continue_anyway(self) -> None:
        self.armed = False

    def state(self) -> dict[str, Any]:
        return {"loss0": _finite(self.loss0), "recent": list(self.recent), "armed": self.armed}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.loss0 = state.get("loss0")
        self.recent = [float(v) for v in state.get("recent") or []]
        self.armed = bool(state.get("armed", True))


def divergence_finding(
    step: int, last_good: int, running: float, watch: DivergenceWatch
) -> Finding:
    """The ``diverged`` verdict of :class:`DivergenceWatch` at ``step`` (refused)."""
    return Finding(
        "diverged",
        f"Training diverged at step {step}: the median loss of the last {DIVERGE_WINDOW} batches "
        f"reached {running:.4g}, over {watch.factor:g}x its initial {watch.loss0:.4g} "
        f"({CS231N}: a loss far above the original one means the learning rate is too high), "
        f"so the run is paused at step {last_good}, its last good state.",
        (),
        f"median loss of {DIVERGE_WINDOW} batches",
        running,
        watch.line,
        ">",
        CS231N,
        "error",
    )


# ---------------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class Verdict:
    """The worst verdict standing (``kind`` "healthy" when none is)."""

    severity: str  # "ok", "warning" or "error"
    kind: str
    sentence: str
    step: int | None = None
    layers: tuple[str, ...] = ()
    value: float | None = None
    line: float | None = None
    source: str = ""
    active: tuple[dict, ...] = ()  # every standing verdict's event, worst first

    @property
    def healthy(self) -> bool:
        return self.kind == "healthy"

    @property
    def label(self) -> str:
        return LABELS.get(self.kind, self.kind)


def _events_of(source: Any) -> list[dict]:
    if hasattr(source, "events_copy"):
        return source.events_copy()
    return [dict(e) for e in source]


def active_events(source: Any, step: int | None = None) -> list[dict]:
    """The events of the verdicts standing at ``step`` (default: now), worst first. ``source``
    is a History or a list of event dicts (older sessions' events included: a kind is standing
    from its event until its ``<kind>_over`` event)."""
    standing: dict[str, dict] = {}
    for ev in _events_of(source):
        if step is not None and ev.get("step", 0) > step:
            break
        kind = str(ev.get("kind", ""))
        if kind in KIND_ORDER:
            standing[kind] = ev
        elif kind.endswith("_over"):
            standing.pop(kind.removesuffix("_over"), None)
    return sorted(standing.values(), key=_rank)


def verdict(source: Any, step: int | None = None) -> Verdict:
    """The worst verdict standing at ``step`` (default: now) in a History or event list."""
    active = active_events(source, step)
    if not active:
        return Verdict("ok", "healthy", "Healthy: no signal has crossed its line.", active=())
    ev = active[0]
    kind = ev["kind"]
    sev = ev.get("severity") or ("error" if kind in ERROR_KINDS else "warning")
    layers = ev.get("layers")
    if layers is None:
        layers = [ev["layer"]] if ev.get("layer") else []
    return Verdict(
        sev if sev in ("warning", "error") else "warning",
        kind,
        ev.get("message", ""),
        ev.get("step"),
        tuple(layers),
        ev.get("value"),
        ev.get("line"),
        ev.get("source", ""),
        tuple(active),
    )


__all__ = [
    "CS231N",
    "DIVERGE_WINDOW",
    "GLOROT",
    "KIND_ORDER",
    "LABELS",
    "NIELSEN",
    "DivergenceWatch",
    "Finding",
    "HealthMonitor",
    "LayerInfo",
    "Verdict",
    "active_events",
    "chance_loss",
    "depth_trend",
    "divergence_finding",
    "judge_evaluations",
    "judge_probe",
    "layer_infos",
    "symmetric_units",
    "verdict",
]
