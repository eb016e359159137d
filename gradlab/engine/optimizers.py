"""Optimisers: the textbook update rules, applied in place to a dict of parameter arrays.

>>> import numpy as np
>>> from gradlab.engine import optimizers
>>> params = {"dense1.W": np.ones((2, 3), np.float32)}
>>> grads = {"dense1.W": np.full((2, 3), 0.5, np.float32)}
>>> opt = optimizers.get("momentum", lr=0.1, momentum=0.9)
>>> opt.step(params, grads)          # v = -0.05, w = 1 - 0.05
>>> float(params["dense1.W"][0, 0]), opt.t
(0.949999988079071, 1)

Conventions
-----------
``params`` and ``grads`` map the same names (``"dense1.W"``: ``(fan_in, fan_out)``,
``"dense1.b"``: ``(fan_out,)``, ``"bn1.gamma"``...) to arrays of the same shape.
:meth:`Optimizer.step` updates every parameter that has a gradient **in place** (the network
holds references to the arrays) and never changes a dtype: the optimiser's state (velocity,
moments) is kept in each parameter's dtype and every scalar is a Python float, which NumPy 2
treats as "weak" (NEP 50), so a float32 network computes in float32 throughout.

State is created lazily, as zeros shaped and typed like the parameter, at the first step that sees
the parameter. ``g`` is the gradient, ``η`` (``lr``) the learning rate, ``t`` the step count after
the increment (the first step has ``t = 1``).

The trainer sets :attr:`Optimizer.lr` before every step (from the schedule, or the live control in
the window); the other hyper-parameters are fixed at construction.

Saving and resuming: :meth:`Optimizer.state_dict` returns plain data (``name``, JSON-able
``hyper``, the integer ``t`` and the state arrays by slot and parameter name);
:meth:`Optimizer.load_state_dict` restores it and the following steps are bit-identical to a run
that was never interrupted.

Speed
-----
Every rule is written with in-place ufuncs (``out=``) on preallocated scratch arrays, so after
the first step a step allocates no arrays; the scratch of the large parameters is one buffer per
dtype, reused parameter after parameter so that it stays in cache. Parameters with at most
:attr:`Optimizer.fuse_max_size` elements share flat state buffers and are updated by one run of
ufuncs over the concatenation instead of one run per parameter: tiny networks (2-[8]x6-2) are
bound by per-call overhead, and an Adam update is 12 ufunc calls. A rule without state (SGD)
whose parameters and gradients tile two buffers (the network's own layout) runs once over them.
Element-wise IEEE operations give the same bits whichever layout they run on
(:mod:`gradlab.engine.updateplan`). Weight gradients given as factors (``outer``) are formed a
block of rows at a time inside the update (:mod:`gradlab.engine.fused`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from gradlab.engine import fused, updateplan
from gradlab.errors import SpecError
from gradlab.params import Param, resolve
from gradlab.registry import Registry

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "AdamW",
    "Momentum",
    "Nadam",
    "Nesterov",
    "Optimizer",
    "RMSProp",
    "get",
    "info",
    "names",
]

_REGISTRY: Registry[type[Optimizer]] = Registry("optimizer")


def get(name: str, /, **hyper: Any) -> Optimizer:
    """A new optimiser by (case-insensitive) name or alias, its hyper-parameters validated.

    Raises :class:`~gradlab.errors.SpecError` for an unknown name (listing the choices), an
    unknown hyper-parameter or a value out of bounds, naming the field:
    ``get("adam", lr=-1)`` -> ``"lr: must be > 0, got -1"``.
    """
    return _REGISTRY.get(name)(**hyper)


def names() -> list[str]:
    """Canonical optimiser names, sorted."""
    return _REGISTRY.names()


def info(name: str) -> type[Optimizer]:
    """The optimiser class for ``name``: its ``params`` (list of Param) and ``description``."""
    return _REGISTRY.get(name)


#: ``@_register("name", *aliases)``: registers the class and sets its ``name``
_register = _REGISTRY.register_class


def _lr(default: float) -> Param:
    return Param("lr", "float", default, "Learning rate η: the size of each step.",
                 exclusive_minimum=0.0, log=True)


_MOMENTUM = Param("momentum", "float", 0.9,
                  "Momentum μ: the fraction of the previous velocity kept at each step "
                  "(0 gives plain SGD).", minimum=0.0, exclusive_maximum=1.0)
_EPS = Param("eps", "float", 1e-8,
             "ε added to the root-mean-square denominator to avoid division by zero.",
             exclusive_minimum=0.0, log=True)


class Optimizer:
    """Base class: hyper-parameters, lazy state, in-place step, state save/restore.

    Subclasses declare ``params`` (the hyper-parameters, each a :class:`~gradlab.params.Param`),
    ``slots`` (names of the per-parameter state arrays), ``n_scratch`` and implement
    :meth:`_coefs` (the per-step scalars) and :meth:`_direction` (the update ``Δw`` for one
    gradient array, so that ``w ← w + Δw``).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    slots: ClassVar[tuple[str, ...]] = ()
    n_scratch: ClassVar[int] = 1
    #: Parameters with at most this many elements share flat buffers (0: never fuse).
    fuse_max_size: ClassVar[int] = 0
    #: the hyper-parameter a momentum schedule (1cycle) cycles: "momentum" (heavy ball,
    #: Nesterov), "beta1" (Adam, AdamW, Nadam), or "" when the rule has no momentum term
    momentum_param: ClassVar[str] = ""

    def __init__(self, **hyper: Any):
        values = resolve(self.params, hyper, "")
        self._check(values)
        for key, value in values.items():
            setattr(self, key, value)
        self.t = 0
        # name -> tuple of state arrays (one per slot), views into flat buffers when fused.
        self._state: dict[str, tuple[np.ndarray, ...]] = {}
        # (grad names, singles, fused groups): rebuilt when the set of gradients changes.
        self._plan: tuple | None = None

    # -- hyper-parameters --------------------------------------------------------------------

    @property
    def lr(self) -> float:
        """The learning rate used by the next step, a Python float (the trainer sets it).

        Setting it accepts any real number ``>= 0`` (a schedule may reach 0); the constructor
        asks for ``> 0``.
        """
        return self._lr

    @lr.setter
    def lr(self, value: Any) -> None:
        self._lr = self._live_lr(value)

    @staticmethod
    def _live_lr(value: Any) -> float:
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError("lr", f"must be a number, got {value!r}")
        value = float(value)
        if not (0.0 <= value < math.inf):
            raise SpecError("lr", f"must be a finite number >= 0, got {value!r}")
        return value

    @property
    def hyper(self) -> dict[str, Any]:
        """The current hyper-parameters by name (JSON-able)."""
        return {p.name: getattr(self, p.name) for p in self.params}

    def _check(self, values: dict[str, Any]) -> None:
        """Cross-field checks (none by default)."""

    def current_momentum(self) -> float | None:
        """The momentum term in force (``momentum`` or ``beta1``, see :attr:`momentum_param`),
        None for a rule without one."""
        return getattr(self, self.momentum_param) if self.momentum_param else None

    def set_momentum(self, value: float) -> None:
        """Set the momentum term for the next step (a momentum schedule: 1cycle cycles it
        inversely to the learning rate). A no-op for a rule without one; ``0 <= value < 1``."""
        if not self.momentum_param:
            return
        value = float(value)
        if not 0.0 <= value < 1.0:
            raise SpecError(self.momentum_param, f"must be in [0, 1), got {value!r}")
        setattr(self, self.momentum_param, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({args})"

    # -- the update ----------------------------------------------------------------------------

    def _coefs(self) -> tuple:
        """Scalars for this step (after ``t`` was incremented), as Python floats."""
        raise NotImplementedError

    def _direction(self, g: np.ndarray, slots: tuple, bufs: tuple, c: tuple) -> np.ndarray:
        """Update the state in place and return ``Δw`` (a scratch or state array)."""
        raise NotImplementedError

    def _w_scale(self) -> float | None:
        """A factor applied to ``w`` before ``Δw`` is added (decoupled weight decay), or None."""
        return None

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
             outer: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None) -> None:
        """Apply one update to every parameter in ``grads``, in place, and increment :attr:`t`.

        ``outer`` gives some gradients as factors, ``name -> (x, d)`` with ``g = x^T d``
        (:attr:`gradlab.engine.network.Network.deferred`): those are formed a block of rows at a
        time where the update uses them (:func:`gradlab.engine.fused.outer_update`), and
        ``grads[name]`` is not read.

        Parameters
        ----------
        params : dict name -> ndarray
            The parameters, updated in place (their dtype never changes).
        grads : dict name -> ndarray
            dL/dparam, same names (a subset of ``params``) and shapes. Not modified.

        Raises
        ------
        ValueError
            If a gradient, its parameter and the optimiser state differ in shape (raised before
            that parameter or its state is touched; a new name, or a state restored by
            :meth:`load_state_dict`, is checked before anything is).
        """
        key = tuple(grads)
        plan = self._plan
        if plan is None or plan[0] != key:
            plan = self._plan = (key, *self._build_plan(params, grads))
        _, singles, groups, span = plan
        self.t += 1
        c = self._coefs()
        scale = self._w_scale()
        direction = self._direction
        add = np.add
        blockable = updateplan.blockable
        if span is not None and scale is None and not outer and span.holds(params, grads):
            # every parameter a view of one buffer, every gradient of another, at the same
            # offsets (Network's layout): one run of the rule over all of them (a block at a
            # time for a large network, updateplan.blocked_step)
            if span.blocked:
                updateplan.blocked_step(direction, span.w, span.g, (), span.bufs, c, None)
            else:
                add(span.w, direction(span.g, (), span.bufs, c), out=span.w)
            return
        for name, shape, slots, bufs in singles:
            w = params[name]
            if outer and name in outer:
                if w.shape != shape:
                    raise self._shape_error(name, w, w, bufs[0])
                x, d = outer[name]
                fused.outer_update(direction, w, x, d, slots, bufs, c, scale,
                                   self._gblock(w.dtype, shape[-1]))
                continue
            g = grads[name]
            if g.shape != shape or w.shape != shape:
                raise self._shape_error(name, w, g, bufs[0])
            if blockable(w, g, slots):  # a block at a time, the scratch in cache
                updateplan.blocked_step(direction, w, g, slots, bufs, c, scale)
                continue
            if scale is not None:
                np.multiply(w, scale, out=w)
            add(w, direction(g, slots, bufs, c), out=w)
        for grp in groups:
            copyto = np.copyto
            for name, gv in zip(grp.names, grp.g_views):
                if outer and name in outer:
                    fused.form(*outer[name], out=gv)
                    continue
                g = grads[name]
                if g.shape != gv.shape:
                    raise self._shape_error(name, params[name], g, gv)
                copyto(gv, g)
            delta = direction(grp.g, grp.slots, grp.bufs, c)
            for name, dv in zip(grp.names, grp.views[id(delta)]):
                w = params[name]
                if scale is not None:
                    np.multiply(w, scale, out=w)
                add(w, dv, out=w)

    def _gblock(self, dtype: np.dtype, row: int) -> np.ndarray:
        """The flat scratch one block of a factored gradient is formed in (one per dtype)."""
        blocks = self.__dict__.setdefault("_gblocks", {})
        if dtype not in blocks or blocks[dtype].size < row:
            blocks[dtype] = np.empty(max(fused.BLOCK_ELEMENTS, row), dtype)
        return blocks[dtype]

    @staticmethod
    def _shape_error(name, w, g, state) -> ValueError:
        return ValueError(
            f"parameter {name!r}: gradient shape {g.shape}, parameter shape {w.shape} and "
            f"optimizer state shape {state.shape} must all be equal"
        )

    def _build_plan(self, params, grads) -> tuple:
        """(singles, groups, span): see :func:`gradlab.engine.updateplan.build`."""
        return updateplan.build(self, params, grads)

    # -- save / restore -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Plain data: ``{"name", "hyper", "t", "slots": {slot: {param_name: ndarray}}}`` and,
        for a rule with scalar state of its own (Nadam), ``"extra": {name: float}``.

        The arrays are copies (later steps do not change them); ``hyper`` and ``t`` are JSON-able.
        """
        out = {
            "name": self.name,
            "hyper": self.hyper,
            "t": self.t,
            "slots": {
                slot: {name: arrays[i].copy() for name, arrays in self._state.items()}
                for i, slot in enumerate(self.slots)
            },
        }
        extra = self._extra_state()
        if extra:
            out["extra"] = extra
        return out

    def _extra_state(self) -> dict[str, float]:
        """Scalars of the rule's own state besides ``t`` (Nadam's momentum product), JSON-able."""
        return {}

    def _load_extra_state(self, extra: Mapping[str, Any]) -> None:
        """Restore :meth:`_extra_state` (raise ``ValueError`` when it does not fit)."""

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (hyper-parameters, ``t``, the state arrays and the
        rule's ``extra`` scalars).

        Raises ``ValueError`` (a :class:`~gradlab.errors.SpecError` for a bad hyper-parameter)
        when the dict is for another optimiser or is incomplete.
        """
        if d.get("name") != self.name:
            raise ValueError(f"optimizer state is for {d.get('name')!r}, not {self.name!r}")
        hyper = dict(d.get("hyper") or {})
        lr = self._live_lr(hyper.pop("lr", self.lr))  # may be 0 at the end of a schedule
        values = resolve([p for p in self.params if p.name != "lr"], hyper, "hyper")
        self._check({**values, "lr": lr})
        t = d.get("t")
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            raise ValueError(f"optimizer state: t must be an integer >= 0, got {t!r}")
        slots = d.get("slots") or {}
        if set(slots) != set(self.slots):
            raise ValueError(
                f"optimizer state has slots {sorted(slots)}, {self.name} needs {sorted(self.slots)}"
            )
        param_names = set().union(*(slots[s].keys() for s in self.slots)) if self.slots else set()
        state: dict[str, tuple[np.ndarray, ...]] = {}
        for pname in param_names:
            arrays = []
            for slot in self.slots:
                if pname not in slots[slot]:
                    raise ValueError(f"optimizer state {slot!r} is missing {pname!r}")
                a = np.array(slots[slot][pname], copy=True)
                if a.dtype.kind != "f":
                    raise ValueError(f"optimizer state {slot!r} of {pname!r} is not floating-point")
                arrays.append(a)
            state[pname] = tuple(arrays)
        extra = d.get("extra") or {}
        if not isinstance(extra, Mapping):
            raise ValueError("optimizer state: extra must be an object")
        for key, value in values.items():
            setattr(self, key, value)
        self._load_extra_state(extra)
        self._lr = lr
        self.t = int(t)
        self._state = state
        self._plan = None


@_register("sgd", "gd", "gradient_descent")
class SGD(Optimizer):
    """Plain (stochastic) gradient descent.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate η.

    Notes
    -----
    .. math:: w ← w − η g
    """

    description = "Plain gradient descent: w ← w − η g."
    params = (_lr(0.01),)

    def _coefs(self):
        return (-self._lr,)

    def _direction(self, g, slots, bufs, c):
        (buf,) = bufs
        return np.multiply(g, c[0], out=buf)  # Δw = −η g


@_register("momentum", "sgd_momentum", "heavy_ball")
class Momentum(Optimizer):
    """Gradient descent with (heavy-ball) momentum, in the Hands-On ML / CS231n form.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate η.
    momentum : float, default 0.9
        μ in [0, 1): the fraction of the velocity kept from one step to the next.

    Notes
    -----
    .. math::

        v ← μ v − η g \\
        w ← w + v

    Hands-On ML writes the same rule with the opposite sign of the state,
    ``m ← β m + η g; θ ← θ − m`` (so ``m = −v``). PyTorch's ``SGD(momentum=μ)`` instead keeps
    ``b ← μ b + g; w ← w − η b``, which equals this rule while η is constant but not when η
    changes during training. State slot: ``velocity`` (v).
    """

    description = "Momentum: v ← μ v − η g; w ← w + v (velocity accumulates past gradients)."
    params = (_lr(0.01), _MOMENTUM)
    slots = ("velocity",)
    fuse_max_size = 1024
    momentum_param = "momentum"

    def _coefs(self):
        return (self.momentum, self._lr)

    def _direction(self, g, slots, bufs, c):
        mu, lr = c
        (v,) = slots
        (buf,) = bufs
        np.multiply(v, mu, out=v)
        np.multiply(g, lr, out=buf)
        np.subtract(v, buf, out=v)  # v = μ v − η g
        return v  # Δw = v


@_register("nesterov", "nag", "nesterov_momentum")
class Nesterov(Optimizer):
    """Nesterov accelerated gradient (NAG), in CS231n's look-ahead form.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate η.
    momentum : float, default 0.9
        μ in [0, 1).

    Notes
    -----
    Implemented exactly as

    .. math::

        v_{prev} ← v \\
        v ← μ v − η g \\
        w ← w − μ v_{prev} + (1 + μ) v

    which is Hands-On ML's ``m ← β m − η ∇J(θ + β m); θ ← θ + m`` rewritten in terms of the
    look-ahead point ``θ + β m`` (the gradient ``g`` is taken at the stored parameters, which
    play the role of the look-ahead point). Algebraically ``w ← w + μ v − η g``, the form
    PyTorch's ``SGD(nesterov=True)`` uses. State slot: ``velocity`` (v).
    """

    description = ("Nesterov momentum: v ← μ v − η g; w ← w − μ v_prev + (1 + μ) v "
                   "(gradient at the look-ahead point).")
    params = (_lr(0.01), _MOMENTUM)
    slots = ("velocity",)
    n_scratch = 2
    fuse_max_size = 1024
    momentum_param = "momentum"

    def _coefs(self):
        mu = self.momentum
        return (mu, self._lr, -mu, 1.0 + mu)

    def _direction(self, g, slots, bufs, c):
        mu, lr, neg_mu, one_plus_mu = c
        (v,) = slots
        b1, b2 = bufs
        np.multiply(v, neg_mu, out=b2)  # −μ v_prev
        np.multiply(v, mu, out=v)
        np.multiply(g, lr, out=b1)
        np.subtract(v, b1, out=v)  # v = μ v − η g
        np.multiply(v, one_plus_mu, out=b1)
        return np.add(b2, b1, out=b1)  # Δw = −μ v_prev + (1 + μ) v


@_register("adagrad", "ada_grad")
class AdaGrad(Optimizer):
    """AdaGrad: a per-coordinate step shrunk by the root of the summed squared gradients.

    Parameters
    ----------
    lr : float, default 0.01
        Learning rate η.
    eps : float, default 1e-8
        ε added to the denominator.

    Notes
    -----
    .. math::

        s ← s + g ⊙ g \\
        w ← w − η g ⊘ (\\sqrt{s} + ε)

    ε is added **outside** the square root, as PyTorch and Keras do. Hands-On ML writes
    ``√(s + ε)``; the two differ only where ``s`` is about ε² or smaller. State starts at
    zero (Keras starts it at 0.1). State slot: ``sum_sq`` (s).
    """

    description = "AdaGrad: s ← s + g²; w ← w − η g / (√s + ε) (steps shrink as s grows)."
    params = (_lr(0.01), _EPS)
    slots = ("sum_sq",)
    fuse_max_size = 8192

    def _coefs(self):
        return (-self._lr, self.eps)

    def _direction(self, g, slots, bufs, c):
        neg_lr, eps = c
        (s,) = slots
        (buf,) = bufs
        np.multiply(g, g, out=buf)
        np.add(s, buf, out=s)  # s = s + g²
        np.sqrt(s, out=buf)
        np.add(buf, eps, out=buf)  # √s + ε
        np.divide(g, buf, out=buf)
        return np.multiply(buf, neg_lr, out=buf)  # Δw = −η g / (√s + ε)


@_register("rmsprop", "rms_prop")
class RMSProp(Optimizer):
    """RMSProp: AdaGrad with an exponentially decaying average of squared gradients.

    Parameters
    ----------
    lr : float, default 0.001
        Learning rate η.
    rho : float, default 0.9
        ρ in [0, 1): decay of the squared-gradient average (Hands-On ML's β).
    eps : float, default 1e-8
        ε added to the denominator.

    Notes
    -----
    .. math::

        s ← ρ s + (1 − ρ) g ⊙ g \\
        w ← w − η g ⊘ (\\sqrt{s} + ε)

    ε outside the square root (PyTorch, Keras); Hands-On ML writes ``√(s + ε)``. No momentum
    term and no centring. State slot: ``mean_sq`` (s).
    """

    description = "RMSProp: s ← ρ s + (1 − ρ) g²; w ← w − η g / (√s + ε)."
    params = (
        _lr(0.001),
        Param("rho", "float", 0.9, "Decay ρ of the running average of squared gradients.",
              minimum=0.0, exclusive_maximum=1.0),
        _EPS,
    )
    slots = ("mean_sq",)
    fuse_max_size = 8192

    def _coefs(self):
        return (self.rho, 1.0 - self.rho, -self._lr, self.eps)

    def _direction(self, g, slots, bufs, c):
        rho, one_minus_rho, neg_lr, eps = c
        (s,) = slots
        (buf,) = bufs
        np.multiply(s, rho, out=s)
        np.multiply(g, g, out=buf)
        np.multiply(buf, one_minus_rho, out=buf)
        np.add(s, buf, out=s)  # s = ρ s + (1 − ρ) g²
        np.sqrt(s, out=buf)
        np.add(buf, eps, out=buf)  # √s + ε
        np.divide(g, buf, out=buf)
        return np.multiply(buf, neg_lr, out=buf)  # Δw = −η g / (√s + ε)


_ADAM_PARAMS = (
    _lr(0.001),
    Param("beta1", "float", 0.9, "β1: decay of the running mean of gradients (momentum).",
          minimum=0.0, exclusive_maximum=1.0),
    Param("beta2", "float", 0.999, "β2: decay of the running mean of squared gradients.",
          minimum=0.0, exclusive_maximum=1.0),
    _EPS,
)


@_register("adam")
class Adam(Optimizer):
    """Adam: momentum on the gradient and RMSProp scaling, both bias-corrected.

    Parameters
    ----------
    lr : float, default 0.001
        Learning rate η.
    beta1 : float, default 0.9
        β1 in [0, 1): decay of the first moment m.
    beta2 : float, default 0.999
        β2 in [0, 1): decay of the second moment v.
    eps : float, default 1e-8
        ε added to the denominator.

    Notes
    -----
    .. math::

        t ← t + 1 \\
        m ← β_1 m + (1 − β_1) g \\
        v ← β_2 v + (1 − β_2) g ⊙ g \\
        \\hat m = m / (1 − β_1^t), \\quad \\hat v = v / (1 − β_2^t) \\
        w ← w − η \\hat m ⊘ (\\sqrt{\\hat v} + ε)

    ε outside the square root (Kingma & Ba, PyTorch); Hands-On ML writes ``√(v̂ + ε)``.
    Computed, to save a pass over the arrays, in the algebraically identical form

    .. math:: w ← w − (η \\sqrt{1 − β_2^t} / (1 − β_1^t)) \\, m ⊘ (\\sqrt{v} + ε \\sqrt{1 − β_2^t})

    (the same ε as above, not the ε̂ of Kingma & Ba's "efficient version", which Keras uses).
    State slots: ``m``, ``v``.
    """

    description = "Adam: bias-corrected running means of g and g²; w ← w − η m̂ / (√v̂ + ε)."
    params = _ADAM_PARAMS
    slots = ("m", "v")
    fuse_max_size = 8192
    momentum_param = "beta1"

    def _coefs(self):
        b1, b2, t = self.beta1, self.beta2, self.t
        root_bias2 = math.sqrt(1.0 - b2**t)  # √(1 − β2^t)
        return (b1, 1.0 - b1, b2, 1.0 - b2,
                self.eps * root_bias2, -self._lr * root_bias2 / (1.0 - b1**t))

    def _direction(self, g, slots, bufs, c):
        b1, one_minus_b1, b2, one_minus_b2, eps_hat, neg_step = c
        m, v = slots
        (buf,) = bufs
        np.multiply(m, b1, out=m)
        np.multiply(g, one_minus_b1, out=buf)
        np.add(m, buf, out=m)  # m = β1 m + (1 − β1) g
        np.multiply(v, b2, out=v)
        np.multiply(g, g, out=buf)
        np.multiply(buf, one_minus_b2, out=buf)
        np.add(v, buf, out=v)  # v = β2 v + (1 − β2) g²
        np.sqrt(v, out=buf)
        np.add(buf, eps_hat, out=buf)  # √v + ε √(1 − β2^t)
        np.divide(m, buf, out=buf)
        return np.multiply(buf, neg_step, out=buf)  # Δw = −η m̂ / (√v̂ + ε)


@_register("adamw", "adam_w")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), in PyTorch's order.

    Parameters
    ----------
    lr, beta1, beta2, eps
        As :class:`Adam` (lr default 0.001).
    weight_decay : float, default 0.01
        λ >= 0: the fraction of ``w`` removed per unit of learning rate.

    Notes
    -----
    .. math::

        w ← w (1 − η λ) \\
        \\text{then the Adam step on } w \\text{ (same } m, v, t \\text{ rules)}

    i.e. ``w ← w(1 − ηλ) − η m̂ ⊘ (√v̂ + ε)``. The decay is not part of the gradient, so it
    never enters ``m`` or ``v`` (unlike an L2 penalty with Adam). It applies to every
    parameter the optimiser steps, biases included (as ``torch.optim.AdamW`` with one
    parameter group).
    """

    description = "AdamW: w ← w (1 − η λ), then the Adam step (decoupled weight decay)."
    params = (
        *_ADAM_PARAMS,
        Param("weight_decay", "float", 0.01,
              "Decoupled weight decay λ: w shrinks by the factor (1 − η λ) every step.",
              minimum=0.0),
    )

    def _w_scale(self):
        decay = self._lr * self.weight_decay
        return None if decay == 0.0 else 1.0 - decay


@_register("nadam", "nesterov_adam")
class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), with its momentum schedule.

    Parameters
    ----------
    lr : float, default 0.001
        Learning rate η.
    beta1 : float, default 0.9
        β1 in [0, 1): decay of the first moment m (and the ceiling of the momentum schedule).
    beta2 : float, default 0.999
        β2 in [0, 1): decay of the second moment v.
    eps : float, default 1e-8
        ε added to the denominator (outside the square root, as for Adam).
    momentum_decay : float, default 0.004
        ψ of the momentum schedule μ_t = β1 (1 − ½ · 0.96^(ψ t)).

    Notes
    -----
    Dozat's variant with the momentum schedule, as PyTorch's ``NAdam`` and tf.keras 2's
    ``Nadam`` compute it (ψ = 0.004; Keras 3's ``Nadam`` is the same rule with ψ = 1):

    .. math::

        t ← t + 1 \\
        μ_t = β_1 (1 − ½ \\, 0.96^{ψ t}), \\quad μ_{t+1} = β_1 (1 − ½ \\, 0.96^{ψ (t+1)}) \\
        Π_t = Π_{t−1} μ_t \\quad (Π_0 = 1) \\
        m ← β_1 m + (1 − β_1) g \\
        v ← β_2 v + (1 − β_2) g ⊙ g \\
        \\hat m = μ_{t+1} m / (1 − Π_t μ_{t+1}) + (1 − μ_t) g / (1 − Π_t) \\
        \\hat v = v / (1 − β_2^t) \\
        w ← w − η \\hat m ⊘ (\\sqrt{\\hat v} + ε)

    The Nesterov look-ahead is the first term of m̂: the next step's momentum μ_{t+1} applied to
    the moment that includes this gradient. Computed as Adam is, in the identical form
    ``w ← w − η √(1 − β2^t) m̂ ⊘ (√v + ε √(1 − β2^t))``. The product Π_t is the rule's own
    scalar state (:meth:`state_dict` ``"extra"``); a momentum schedule (1cycle) that changes
    β1 changes μ from the next step on. State slots: ``m``, ``v``.
    """

    description = ("Nadam: Adam with Nesterov momentum (Dozat): m̂ = μ_{t+1} m / (1 − Π μ_{t+1}) "
                   "+ (1 − μ_t) g / (1 − Π); w ← w − η m̂ / (√v̂ + ε).")
    params = (
        *_ADAM_PARAMS,
        Param("momentum_decay", "float", 0.004,
              "ψ of Nadam's momentum schedule μ_t = β1 (1 − ½·0.96^(ψ t)) (Dozat, PyTorch: "
              "0.004; Keras 3: 1).", minimum=0.0),
    )
    slots = ("m", "v")
    n_scratch = 2
    fuse_max_size = 8192
    momentum_param = "beta1"

    def __init__(self, **hyper: Any):
        super().__init__(**hyper)
        self.mu_product = 1.0  # Π_t

    def _mu(self, t: int) -> float:
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (self.momentum_decay * t))

    def _coefs(self):
        b1, b2, t = self.beta1, self.beta2, self.t
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        self.mu_product *= mu_t  # Π_t (t was just incremented: once per step)
        prod = self.mu_product
        root_bias2 = math.sqrt(1.0 - b2**t)  # √(1 − β2^t)
        return (b1, 1.0 - b1, b2, 1.0 - b2,
                mu_next / (1.0 - prod * mu_next),  # coefficient of m in m̂
                (1.0 - mu_t) / (1.0 - prod),  # coefficient of g in m̂
                self.eps * root_bias2, -self._lr * root_bias2)

    def _direction(self, g, slots, bufs, c):
        b1, one_minus_b1, b2, one_minus_b2, c_m, c_g, eps_hat, neg_step = c
        m, v = slots
        b1buf, b2buf = bufs
        np.multiply(m, b1, out=m)
        np.multiply(g, one_minus_b1, out=b1buf)
        np.add(m, b1buf, out=m)  # m = β1 m + (1 − β1) g
        np.multiply(v, b2, out=v)
        np.multiply(g, g, out=b1buf)
        np.multiply(b1buf, one_minus_b2, out=b1buf)
        np.add(v, b1buf, out=v)  # v = β2 v + (1 − β2) g²
        np.multiply(m, c_m, out=b1buf)
        np.multiply(g, c_g, out=b2buf)
        np.add(b1buf, b2buf, out=b1buf)  # m̂
        np.sqrt(v, out=b2buf)
        np.add(b2buf, eps_hat, out=b2buf)  # √v + ε √(1 − β2^t)
        np.divide(b1buf, b2buf, out=b1buf)
        return np.multiply(b1buf, neg_step, out=b1buf)  # Δw = −η m̂ / (√v̂ + ε)

    def _extra_state(self):
        return {"mu_product": self.mu_product}

    def _load_extra_state(self, extra):
        prod = extra.get("mu_product", 1.0)
        if isinstance(prod, bool) or not isinstance(prod, (int, float)) or not 0.0 <= prod <= 1.0:
            raise ValueError(f"optimizer state: mu_product must be a number in [0, 1], got "
                             f"{prod!r}")
        self.mu_product = float(prod)
