"""Learning-rate schedules: the learning rate as a function of the step.

>>> from gradlab.engine import schedules
>>> sch = schedules.get("step", lr=0.1, step_size=100, gamma=0.5)
>>> sch.lr_at(0), sch.lr_at(99), sch.lr_at(100), sch.lr_at(250)
(0.1, 0.1, 0.05, 0.025)

``step`` counts the updates already made (the first update uses ``lr_at(0)``). ``constant``,
``step``, ``exponential``, ``power``, ``cosine`` and ``one_cycle`` are pure functions of the step,
so a resumed run gets the same learning rates without any state. ``reduce_on_plateau``
(Hands-On ML's *performance scheduling*) depends on the validation losses it was shown with
:meth:`Schedule.observe`; its state (best loss, bad count, cooldown, current lr) is in
:meth:`Schedule.state_dict`.

``one_cycle`` also schedules the optimiser's momentum (:meth:`Schedule.momentum_at`: heavy-ball
``momentum``, or Adam's ``beta1``), inversely to the learning rate; every other schedule returns
None there and leaves the momentum alone.

The live learning-rate control of the window is the trainer's business: it calls
:meth:`Schedule.lr_at` and multiplies or replaces the result before setting ``optimizer.lr``;
schedules never see the override.

``cosine`` and ``one_cycle`` may leave ``total_steps`` unset (``None``), meaning "the run's step
budget": the trainer calls :meth:`Schedule.resolve` with its budget before the first
:meth:`Schedule.lr_at` (every schedule accepts ``resolve``; only these two use it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from gradlab import validate
from gradlab.errors import SpecError
from gradlab.params import Param
from gradlab.params import resolve as resolve_params
from gradlab.registry import Registry

__all__ = [
    "Constant",
    "Cosine",
    "Exponential",
    "OneCycle",
    "Power",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "get",
    "info",
    "names",
]

_REGISTRY: Registry[type[Schedule]] = Registry("schedule")


def get(name: str, /, **hyper: Any) -> Schedule:
    """A new schedule by (case-insensitive) name or alias, its hyper-parameters validated.

    Raises :class:`~gradlab.errors.SpecError` naming the field for an unknown name (listing
    the choices), an unknown hyper-parameter or a value out of bounds.
    """
    return _REGISTRY.get(name)(**hyper)


def names() -> list[str]:
    """Canonical schedule names, sorted."""
    return _REGISTRY.names()


def info(name: str) -> type[Schedule]:
    """The schedule class for ``name``: its ``params`` (list of Param) and ``description``."""
    return _REGISTRY.get(name)


#: ``@_register("name", *aliases)``: registers the class and sets its ``name``
_register = _REGISTRY.register_class


_LR = Param("lr", "float", 0.01, "Initial (peak) learning rate η₀.", exclusive_minimum=0.0,
            log=True)
_MIN_LR = Param("min_lr", "float", 0.0, "The learning rate never goes below this value.",
                minimum=0.0)


def _step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, int):
        # numpy integers and whole floats are fine; anything else is a programming error.
        step = validate.integer(step.item() if hasattr(step, "item") else step, "step")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return step


class Schedule:
    """Base class: declared hyper-parameters, ``lr_at``, ``observe``, ``resolve``, state."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **hyper: Any):
        values = resolve_params(self.params, hyper, "")
        self._check(values)
        for key, value in values.items():
            setattr(self, key, value)

    @property
    def hyper(self) -> dict[str, Any]:
        """The hyper-parameters as given (JSON-able)."""
        return {p.name: getattr(self, p.name) for p in self.params}

    def _check(self, values: dict[str, Any]) -> None:
        if "min_lr" in values and values["min_lr"] > values["lr"]:
            raise SpecError("min_lr", f"must be <= lr ({values['lr']:g}), got {values['min_lr']:g}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({args})"

    def lr_at(self, step: int) -> float:
        """The learning rate for the update numbered ``step`` (0 for the first update)."""
        raise NotImplementedError

    def observe(self, step: int, metric: float) -> bool:
        """Show the schedule a validation loss; returns True if the learning rate changed.

        A no-op (returning False) for every schedule but ``reduce_on_plateau``.
        """
        return False

    #: True for a schedule that also sets the optimiser's momentum (:meth:`momentum_at`)
    schedules_momentum: ClassVar[bool] = False

    def momentum_at(self, step: int) -> float | None:
        """The momentum (heavy-ball μ or Adam's β1) for the update numbered ``step``, or None
        to leave the optimiser's own value (every schedule but ``one_cycle``)."""
        return None

    def resolve(self, total_steps: int | None) -> Schedule:
        """Give the run's step budget (``None``: open-ended); returns ``self``.

        Only ``cosine`` uses it, and only when its own ``total_steps`` was left ``None``.
        """
        return self

    def state_dict(self) -> dict[str, Any]:
        """JSON-able ``{"name", "hyper", "state"}``; ``state`` is empty for pure schedules."""
        return {"name": self.name, "hyper": self.hyper, "state": self._get_state()}

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (hyper-parameters and state)."""
        if d.get("name") != self.name:
            raise ValueError(f"schedule state is for {d.get('name')!r}, not {self.name!r}")
        values = resolve_params(self.params, d.get("hyper") or {}, "hyper")
        self._check(values)
        state = dict(d.get("state") or {})
        for key, value in values.items():
            setattr(self, key, value)
        self._set_state(state)

    def _get_state(self) -> dict[str, Any]:
        return {}

    def _set_state(self, state: dict[str, Any]) -> None:
        pass


@_register("constant", "const", "none")
class Constant(Schedule):
    """The same learning rate at every step.

    Notes
    -----
    .. math:: η_t = η_0
    """

    description = "Constant: η_t = η₀."
    params = (_LR,)

    def lr_at(self, step: int) -> float:
        _step(step)
        return self.lr


@_register("step", "step_decay", "staircase")
class StepDecay(Schedule):
    """Multiply the learning rate by γ every ``step_size`` steps (piecewise constant).

    Parameters
    ----------
    lr : float, default 0.01
        η₀, the learning rate of steps 0 .. step_size − 1.
    step_size : int, default 1000
        Steps between two decays.
    gamma : float, default 0.1
        γ in (0, 1]: the factor applied at each decay.

    Notes
    -----
    .. math:: η_t = η_0 \\, γ^{\\lfloor t / \\text{step\\_size} \\rfloor}

    (PyTorch's ``StepLR``.)
    """

    description = "Step decay: η_t = η₀ γ^⌊t / step_size⌋."
    params = (
        _LR,
        Param("step_size", "int", 1000, "Number of steps between two decays.", minimum=1),
        Param("gamma", "float", 0.1, "Factor γ applied at each decay.", exclusive_minimum=0.0,
              maximum=1.0),
    )

    def lr_at(self, step: int) -> float:
        return self.lr * self.gamma ** (_step(step) // self.step_size)


@_register("exponential", "exp", "exponential_decay")
class Exponential(Schedule):
    """Continuous exponential decay (Keras ``ExponentialDecay`` with ``staircase=False``).

    Parameters
    ----------
    lr : float, default 0.01
        η₀, the learning rate at step 0.
    gamma : float, default 0.96
        γ in (0, 1]: the factor applied over every ``decay_steps`` steps.
    decay_steps : int, default 1000
        Steps over which the rate is multiplied by γ.

    Notes
    -----
    .. math:: η_t = η_0 \\, γ^{t / \\text{decay\\_steps}}
    """

    description = "Exponential decay: η_t = η₀ γ^(t / decay_steps)."
    params = (
        _LR,
        Param("gamma", "float", 0.96, "Factor γ applied over every decay_steps steps.",
              exclusive_minimum=0.0, maximum=1.0),
        Param("decay_steps", "int", 1000, "Steps over which the rate is multiplied by γ.",
              minimum=1),
    )

    def lr_at(self, step: int) -> float:
        return self.lr * self.gamma ** (_step(step) / self.decay_steps)


@_register("power", "power_decay", "inverse_time")
class Power(Schedule):
    """Power scheduling (Hands-On ML): the learning rate falls as a power of the step.

    Parameters
    ----------
    lr : float, default 0.01
        η₀, the learning rate at step 0.
    step_size : int, default 1000
        s: after s steps the rate is η₀ / 2^c, after 3 s steps η₀ / 4^c (fast at first, then
        more and more slowly).
    power : float, default 1.0
        c > 0, the exponent (1 gives Keras' ``InverseTimeDecay``).

    Notes
    -----
    .. math:: η_t = η_0 / (1 + t / s)^c
    """

    description = "Power scheduling: η_t = η₀ / (1 + t / s)^c."
    params = (
        _LR,
        Param("step_size", "int", 1000,
              "s: the rate is halved (for c = 1) after s steps, divided by 3 after 2 s, ...",
              minimum=1),
        Param("power", "float", 1.0, "c: the exponent of the decay (usually 1).",
              exclusive_minimum=0.0, maximum=100.0),
    )

    def lr_at(self, step: int) -> float:
        return self.lr / (1.0 + _step(step) / self.step_size) ** self.power


@_register("cosine", "cosine_annealing", "cosine_decay")
class Cosine(Schedule):
    """Cosine annealing from ``lr`` to ``min_lr``, after an optional linear warm-up.

    Parameters
    ----------
    lr : float, default 0.01
        η₀, the peak learning rate (reached at the end of the warm-up).
    total_steps : int or None, default None
        T, the step at which the rate reaches ``min_lr`` (it stays there afterwards). ``None``
        means the run's step budget, given by the trainer through :meth:`resolve`.
    min_lr : float, default 0
        η_min <= η₀.
    warmup_steps : int, default 0
        W < T: steps of linear warm-up from 0.

    Notes
    -----
    Without warm-up (W = 0), SGDR's single cycle / PyTorch's ``CosineAnnealingLR``:

    .. math:: η_t = η_{min} + ½ (η_0 − η_{min}) (1 + \\cos(π \\min(t, T) / T))

    With warm-up, ``η_t = η_0 t / W`` for ``t < W`` (so the first update, t = 0, uses 0), then
    the cosine runs over the remaining steps with ``(t − W) / (T − W)`` in place of ``t / T``
    (the Hugging Face ``get_cosine_schedule_with_warmup`` convention, plus ``min_lr``).
    """

    description = ("Cosine annealing: η_t = η_min + ½(η₀ − η_min)(1 + cos(π t / T)), "
                   "optional warm-up.")
    params = (
        _LR,
        Param("total_steps", "int", None,
              "Steps until the rate reaches min_lr; empty means the run's number of steps.",
              minimum=1, optional=True),
        _MIN_LR,
        Param("warmup_steps", "int", 0, "Steps of linear warm-up from 0 to lr.", minimum=0),
    )

    def __init__(self, **hyper: Any):
        super().__init__(**hyper)
        self._total = self.total_steps

    def _check(self, values):
        super()._check(values)
        total = values["total_steps"]
        if total is not None and values["warmup_steps"] >= total:
            raise SpecError("warmup_steps",
                            f"must be < total_steps ({total}), got {values['warmup_steps']}")

    def resolve(self, total_steps: int | None) -> Cosine:
        if self.total_steps is not None:
            self._total = self.total_steps
            return self
        if total_steps is None:
            raise SpecError("total_steps", "the cosine schedule needs a number of steps: set "
                            "total_steps or give the run a step budget")
        total = validate.integer(total_steps, "total_steps", minimum=1)
        if self.warmup_steps >= total:
            raise SpecError("warmup_steps",
                            f"must be < total_steps ({total}), got {self.warmup_steps}")
        self._total = total
        return self

    def lr_at(self, step: int) -> float:
        t = _step(step)
        total = self._total
        if total is None:
            raise SpecError("total_steps", "not set: call resolve(total_steps) with the run's "
                            "step budget before lr_at")
        warm = self.warmup_steps
        if t < warm:
            return self.lr * t / warm
        progress = min(t - warm, total - warm) / (total - warm)
        return self.min_lr + 0.5 * (self.lr - self.min_lr) * (1.0 + math.cos(math.pi * progress))

    def _get_state(self):
        return {"total_steps": self._total}

    def _set_state(self, state):
        total = state.get("total_steps", self.total_steps)
        if self.total_steps is None and total is not None:
            self.resolve(total)
        else:
            self._total = self.total_steps


@_register("one_cycle", "1cycle", "onecycle", "one_cycle_policy")
class OneCycle(Schedule):
    """The 1cycle policy (Smith, 2018; Hands-On ML ch. 11), learning rate and momentum.

    Parameters
    ----------
    lr : float, default 0.01
        η_max, the peak learning rate (reached halfway through the cycle).
    total_steps : int or None, default None
        T, the length of the cycle (the rate stays at its last value after it). ``None``
        means the run's step budget, given by the trainer through :meth:`resolve`.
    div_factor : float, default 10
        The cycle starts and ends its two halves at η₀ = η_max / div_factor.
    final_div : float, default 1000
        The annihilation phase ends at η_last = η₀ / final_div.
    annihilation : float, default 0.1
        The fraction a of the steps given to the final phase: A = ⌊a T⌋ + 1 steps.
    max_momentum, min_momentum : float, default 0.95 and 0.85
        The momentum (heavy-ball μ, or β1 of Adam and Nadam) goes from max to min while the
        rate rises, back to max while it falls, and stays at max in the final phase.
    cycle_momentum : bool, default True
        Whether the momentum is cycled at all.

    Notes
    -----
    With A = ⌊a T⌋ + 1 and H = ⌊(T − A) / 2⌋ (Géron's ``OneCycleScheduler``: a = 0.1 gives
    ``T // 10 + 1``):

    .. math::

        η_t = η_0 + (η_{max} − η_0) \\, t / H                      \\quad t < H \\
        η_t = η_{max} − (η_{max} − η_0) (t − H) / H              \\quad H ≤ t < 2H \\
        η_t = η_0 + (η_{last} − η_0) \\min(t − 2H, T − 2H) / (T − 2H)  \\quad t ≥ 2H \\
        μ_t = μ_{max} − (μ_{max} − μ_{min}) \\, t / H              \\quad t < H \\
        μ_t = μ_{min} + (μ_{max} − μ_{min}) (t − H) / H           \\quad H ≤ t < 2H \\
        μ_t = μ_{max}                                             \\quad t ≥ 2H

    A linear rise to η_max over the first half, back down to η₀ over the second, then a linear
    fall of several orders of magnitude in the last A steps; the momentum moves the other way.
    A cycle needs T >= 3 steps (so that H >= 1).
    """

    description = ("1cycle: η rises linearly from η₀ = η_max / div to η_max over the first half, "
                   "falls back to η₀ over the second, then to η₀ / final_div; momentum cycled "
                   "inversely (0.95 → 0.85 → 0.95).")
    params = (
        Param("lr", "float", 0.01, "η_max: the peak learning rate, reached halfway.",
              exclusive_minimum=0.0, log=True),
        Param("total_steps", "int", None,
              "Steps in the cycle; empty means the run's number of steps.", minimum=3,
              optional=True),
        Param("div_factor", "float", 10.0,
              "η₀ = η_max / div_factor: the rate at the start and at the end of the two halves.",
              minimum=1.0, maximum=1e6),
        Param("final_div", "float", 1000.0,
              "The last phase ends at η₀ / final_div (several orders of magnitude lower).",
              minimum=1.0, maximum=1e9),
        Param("annihilation", "float", 0.1,
              "The fraction of the steps given to the final, falling phase.", minimum=0.0,
              maximum=0.5),
        Param("max_momentum", "float", 0.95,
              "The momentum (μ, or Adam's β1) at the start and the end of the cycle.",
              minimum=0.0, exclusive_maximum=1.0),
        Param("min_momentum", "float", 0.85,
              "The momentum halfway, when the learning rate peaks.", minimum=0.0,
              exclusive_maximum=1.0),
        Param("cycle_momentum", "bool", True,
              "Cycle the optimiser's momentum inversely to the learning rate.", label="Cycle μ"),
    )
    schedules_momentum = True

    def __init__(self, **hyper: Any):
        super().__init__(**hyper)
        self._total: int | None = None
        if self.total_steps is not None:
            self.resolve(self.total_steps)

    def _check(self, values):
        super()._check(values)
        if values["min_momentum"] > values["max_momentum"]:
            raise SpecError("min_momentum", f"must be <= max_momentum "
                            f"({values['max_momentum']:g}), got {values['min_momentum']:g}")

    def resolve(self, total_steps: int | None) -> OneCycle:
        total = self.total_steps if self.total_steps is not None else total_steps
        if total is None:
            raise SpecError("total_steps", "the 1cycle schedule needs a number of steps: set "
                            "total_steps or give the run a step budget")
        self._total = validate.integer(total, "total_steps", minimum=3)
        return self

    def phases(self) -> tuple[int, int, int]:
        """(T, A, H): the cycle's length, its final phase and its half (see Notes)."""
        total = self._total
        if total is None:
            raise SpecError("total_steps", "not set: call resolve(total_steps) with the run's "
                            "step budget before lr_at")
        last = min(math.floor(self.annihilation * total + 1e-9) + 1, total - 2)
        return total, last, (total - last) // 2

    def lr_at(self, step: int) -> float:
        t = _step(step)
        total, _, half = self.phases()
        top, low = self.lr, self.lr / self.div_factor
        if t < half:
            return low + (top - low) * t / half
        if t < 2 * half:
            return top - (top - low) * (t - half) / half
        end = low / self.final_div
        return low + (end - low) * min(t - 2 * half, total - 2 * half) / (total - 2 * half)

    def momentum_at(self, step: int) -> float | None:
        if not self.cycle_momentum:
            return None
        t = _step(step)
        _, _, half = self.phases()
        hi, lo = self.max_momentum, self.min_momentum
        if t < half:
            return hi - (hi - lo) * t / half
        if t < 2 * half:
            return lo + (hi - lo) * (t - half) / half
        return hi

    def _get_state(self):
        return {"total_steps": self._total}

    def _set_state(self, state):
        total = state.get("total_steps", self.total_steps)
        if self.total_steps is None and total is not None:
            self.resolve(total)
        elif self.total_steps is not None:
            self.resolve(self.total_steps)


@_register("reduce_on_plateau", "plateau", "reduce_lr_on_plateau", "performance",
           "performance_scheduling")
class ReduceOnPlateau(Schedule):
    """Performance scheduling (Hands-On ML): divide the learning rate when the validation loss
    stops improving.

    Parameters
    ----------
    lr : float, default 0.01
        η₀, the rate until the first reduction.
    factor : float, default 0.1
        Each reduction sets ``η ← max(η · factor, min_lr)``.
    patience : int, default 10
        Reduce at the ``patience``-th consecutive evaluation without improvement.
    threshold : float, default 1e-4
        Relative improvement needed to count as better (mode "min", PyTorch's ``'rel'``).
    cooldown : int, default 0
        Evaluations after a reduction that are not counted as bad.
    min_lr : float, default 0
        Floor of the learning rate.

    Notes
    -----
    At each :meth:`observe` of a loss ``L`` (lower is better), with ``best`` the best loss so far
    (initially +∞), ``bad`` the count of consecutive non-improving evaluations:

    - improved if ``L < best − threshold · |best|`` (equal to PyTorch's
      ``L < best · (1 − threshold)`` for ``best >= 0``; non-finite losses never improve);
      then ``best ← L, bad ← 0``;
    - otherwise, if in cooldown, ``bad ← 0``; else ``bad ← bad + 1``;
    - the cooldown counter decreases by one;
    - if ``bad >= patience``: ``η ← max(η · factor, min_lr)``, ``bad ← 0``,
      ``cooldown_counter ← cooldown``.

    So with ``patience = 10`` the 10th bad evaluation in a row triggers the reduction (Keras'
    ``ReduceLROnPlateau``; PyTorch waits for the 11th). :meth:`lr_at` returns the current rate
    whatever the step.
    """

    description = ("Performance scheduling (reduce on plateau): η ← max(η · factor, min_lr) after "
                   "`patience` evaluations without a relative improvement of the validation loss.")
    params = (
        _LR,
        Param("factor", "float", 0.1, "Factor applied to the rate at each reduction.",
              exclusive_minimum=0.0, exclusive_maximum=1.0),
        Param("patience", "int", 10,
              "Evaluations without improvement before the rate is reduced.", minimum=1),
        Param("threshold", "float", 1e-4,
              "Relative decrease of the loss that counts as an improvement.", minimum=0.0,
              exclusive_maximum=1.0),
        Param("cooldown", "int", 0, "Evaluations after a reduction that are not counted.",
              minimum=0),
        _MIN_LR,
    )

    def __init__(self, **hyper: Any):
        super().__init__(**hyper)
        self._set_state({})

    def lr_at(self, step: int) -> float:
        _step(step)
        return self.current_lr

    def observe(self, step: int, metric: float) -> bool:
        _step(step)
        metric = float(metric)
        best = self.best
        if math.isfinite(metric) and (best is None or metric < best - self.threshold * abs(best)):
            self.best = metric
            self.bad = 0
        elif self.cooldown_left > 0:
            self.bad = 0
        else:
            self.bad += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
        if self.bad >= self.patience:
            self.bad = 0
            self.cooldown_left = self.cooldown
            new = max(self.current_lr * self.factor, self.min_lr)
            if new < self.current_lr:
                self.current_lr = new
                self.num_reductions += 1
                return True
        return False

    def _get_state(self):
        return {"best": self.best, "bad": self.bad, "cooldown_left": self.cooldown_left,
                "lr": self.current_lr, "num_reductions": self.num_reductions}

    def _set_state(self, state):
        best = state.get("best")
        self.best = None if best is None else validate.number(best, "state.best")
        self.bad = validate.integer(state.get("bad", 0), "state.bad", minimum=0)
        self.cooldown_left = validate.integer(state.get("cooldown_left", 0),
                                              "state.cooldown_left", minimum=0)
        self.current_lr = validate.number(state.get("lr", self.lr), "state.lr", minimum=0.0)
        self.num_reductions = validate.integer(state.get("num_reductions", 0),
                                               "state.num_reductions", minimum=0)
