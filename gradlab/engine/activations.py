"""Activation functions and their derivatives.

Each activation maps a pre-activation ``z: (batch, units * pieces)`` to ``a: (batch, units)``
(``pieces`` is 1 except for maxout) and knows its derivative ``f'(z)``. Backward passes are
written with the derivative expressed through ``a`` where the formula allows it (tanh, sigmoid),
which is both cheaper and what the textbooks write.

``max_derivative`` is the largest value of f' over the real line; the probes call a unit
*saturated* where ``f'(z) < 1% * max_derivative`` (sigmoid, tanh, softsign: the flat tails; ReLU:
the zero side).

Activations that take parameters declare them as :class:`~gradlab.params.Param` (``params``):
leaky_relu, elu and prelu take ``alpha``, rrelu ``lower`` and ``upper``, maxout takes ``pieces``;
their constructors validate through those declarations, and the window builds its fields from
them.

Two activations go beyond an elementwise f (the dense block that holds them is a
:class:`~gradlab.engine.layers.ActDense`, so a network without them pays nothing):

- ``prelu`` *learns* its slopes: one α per unit, a parameter of the layer (``dense1.alpha``)
  that the optimiser updates (:attr:`Activation.learned`, :meth:`PReLU.build`);
- ``rrelu`` *draws* its slopes in training, from U(lower, upper) per element and per pass, and
  uses their mean at evaluation (:attr:`Activation.stochastic`, :meth:`RReLU.forward_train`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from gradlab.errors import SpecError
from gradlab.params import Param, resolve
from gradlab.registry import Registry

REGISTRY: Registry[type[Activation]] = Registry("activation")

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class Activation:
    """Base class: an elementwise f with derivative f'.

    Subclasses implement :meth:`forward` and :meth:`derivative`; :meth:`backward` multiplies.
    """

    name: ClassVar[str] = ""
    #: the largest value of f' (for the saturation threshold of the probes)
    max_derivative: ClassVar[float] = 1.0
    #: pieces per unit (maxout only): the dense layer feeding it has ``units * pieces`` outputs
    pieces: int = 1
    #: one-line description (tooltips)
    description: ClassVar[str] = ""
    #: where f' vanishes: "both" tails (sigmoid, tanh, softsign: saturation is a warning sign),
    #: "one" side (the ReLU family: the zero side is normal, dead units are the warning sign),
    #: or "none" (linear, maxout)
    saturates: ClassVar[str] = "one"
    #: the declared parameters (names, defaults, bounds, help)
    params: ClassVar[tuple[Param, ...]] = ()
    #: learns parameters of its own (PReLU's slopes): built per unit by the dense block
    learned: ClassVar[bool] = False
    #: behaves differently in training (RReLU's random slopes): see ``forward_train``
    stochastic: ClassVar[bool] = False

    def __init__(self, **given: Any):
        if given or self.params:  # (parameter-free activations are built in hot paths)
            for key, value in resolve(self.params, given, "").items():
                setattr(self, key, value)

    def config(self) -> dict[str, Any]:
        """JSON-able parameters (round-trips through :func:`get`)."""
        return {}

    def forward(self, z: np.ndarray) -> np.ndarray:
        """a = f(z)."""
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """f'(z) elementwise, shape of ``a`` (``a`` is ``forward(z)``, passed to save work)."""
        raise NotImplementedError

    def backward(self, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
        """dL/dz = dL/da * f'(z)."""
        d = self.derivative(z, a)
        d *= da
        return d

    def backward_over(self, z: np.ndarray, a: np.ndarray, da: np.ndarray) -> np.ndarray:
        """dL/dz = dL/da * f'(z), which may be written over ``da`` (a scratch array of the
        caller's that nothing else holds: the next block's dx); the same values as
        :meth:`backward`, bit for bit. By default :meth:`backward` (a new array); overridden
        where writing in place saves a pass over a fresh array (ReLU)."""
        return self.backward(z, a, da)

    def pointwise(self) -> Activation:
        """The same function with every unit alike, as at initialisation and in evaluation
        (PReLU: its initial slope; RReLU: its mean slope): what the mean-field theory
        integrates. ``self`` for the elementwise activations."""
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def get(name: str, prefix: str = "", **params: Any) -> Activation:
    """An activation instance by name (case-insensitive, aliases accepted).

    ``prefix`` is the spec path of the entry holding it (e.g. ``"layers[2]"``), so a bad name
    reports ``layers[2].activation`` and a bad parameter ``layers[2].alpha``.

    >>> get("leaky_relu", alpha=0.1)
    LeakyReLU(alpha=0.1)
    """
    cls = REGISTRY.get(name, f"{prefix}.activation" if prefix else "activation")
    own = {p.name for p in cls.params}
    for bad in params:
        if bad not in own:
            raise SpecError(
                f"{prefix}.{bad}" if prefix else bad, f"{cls.name} takes no parameter {bad!r}"
            )
    try:
        return cls(**params)
    except SpecError as err:
        raise err.prefixed(prefix) from None


def names() -> list[str]:
    return REGISTRY.names()


def info(name: str, field: str = "activation") -> type[Activation]:
    """The activation class for ``name``: its ``params``, ``description`` and ``saturates``."""
    return REGISTRY.get(name, field)


def param_names() -> tuple[str, ...]:
    """Every parameter name some activation declares (``alpha``, ``pieces``)."""
    return tuple(dict.fromkeys(p.name for n in names() for p in REGISTRY.get(n).params))


@REGISTRY.register("linear", "identity", "none")
class Linear(Activation):
    """f(z) = z, f'(z) = 1 (never saturates)."""

    saturates = "none"
    name = "linear"
    description = "identity: f(z) = z"

    def forward(self, z):
        return z

    def derivative(self, z, a):
        return np.ones_like(a)

    def backward(self, z, a, da):
        return da


@REGISTRY.register("sigmoid", "logistic")
class Sigmoid(Activation):
    """f(z) = 1 / (1 + e^{-z}) = (1 + tanh(z/2)) / 2;  f'(z) = a (1 - a), at most 1/4.

    The tanh form is exact and cannot overflow.
    """

    saturates = "both"
    name = "sigmoid"
    max_derivative = 0.25
    description = "logistic sigmoid, f' <= 1/4: not zero-centred, saturates at 0 and 1"

    def forward(self, z):
        a = np.multiply(z, 0.5)
        np.tanh(a, out=a)
        a += 1.0
        a *= 0.5
        return a

    def derivative(self, z, a):
        d = np.subtract(1.0, a)
        d *= a
        return d


@REGISTRY.register("tanh")
class Tanh(Activation):
    """f(z) = tanh z;  f'(z) = 1 - a^2."""

    saturates = "both"
    name = "tanh"
    description = "hyperbolic tangent, zero-centred, saturates at -1 and 1"

    def forward(self, z):
        return np.tanh(z)

    def derivative(self, z, a):
        d = np.multiply(a, a)
        np.subtract(1.0, d, out=d)
        return d


@REGISTRY.register("relu")
class ReLU(Activation):
    """f(z) = max(z, 0);  f'(z) = 1 if z > 0 else 0."""

    name = "relu"
    description = "rectified linear unit: dies where z <= 0 for every input"

    def forward(self, z):
        return np.maximum(z, 0.0)

    def derivative(self, z, a):
        return (z > 0).astype(a.dtype)

    def backward(self, z, a, da):
        d = np.multiply(da, z > 0)
        return d.astype(da.dtype, copy=False)

    def backward_over(self, z, a, da):
        """dL/dz = dL/da * [z > 0], written over da: (batch, units)."""
        return np.multiply(da, z > 0, out=da)


@REGISTRY.register("leaky_relu", "leakyrelu")
class LeakyReLU(Activation):
    """f(z) = z if z > 0 else alpha z;  f'(z) = 1 if z > 0 else alpha."""

    name = "leaky_relu"
    description = "ReLU with a small slope alpha on the negative side"

    params = (
        Param(
            "alpha",
            "float",
            0.01,
            "Slope α of the negative side (0 gives the plain ReLU).",
            minimum=0.0,
            exclusive_maximum=1.0,
            label="Slope α",
        ),
    )

    def config(self):
        return {"alpha": self.alpha}

    def forward(self, z):
        return np.where(z > 0, z, z * self.alpha)

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self.alpha).astype(a.dtype)


@REGISTRY.register("prelu", "parametric_relu")
class PReLU(Activation):
    """Parametric ReLU (He et al., 2015): f(z_j) = z_j if z_j > 0 else α_j z_j, one α per unit,
    learned.

    Shapes: ``z, a: (batch, units)``, ``α: (units,)`` (the block's parameter ``alpha``, starting
    at the declared ``alpha`` for every unit).

    f'(z_j) = 1 if z_j > 0 else α_j;  dL/dα_j = Σ_i dL/da_ij · min(z_ij, 0) (summed over the
    batch like dL/db: the loss is a batch mean).
    """

    name = "prelu"
    description = "parametric ReLU: a negative-side slope α learned for every unit (He et al.)"
    learned = True

    params = (
        Param(
            "alpha",
            "float",
            0.25,
            "Initial slope α₀ of the negative side, the same for every unit; each unit then "
            "learns its own (He et al. start at 0.25).",
            minimum=0.0,
            exclusive_maximum=1.0,
            label="Slope α₀",
        ),
    )

    def __init__(self, **given: Any):
        super().__init__(**given)
        self.slopes: np.ndarray | None = None  # α: (units,), the layer's parameter
        self.dslopes: np.ndarray | None = None  # dL/dα: (units,)

    def build(self, units: int, dtype: np.dtype) -> None:
        """Create the per-unit slopes α = α₀ and their gradient (called by the dense block)."""
        self.slopes = np.full(units, self.alpha, dtype)
        self.dslopes = np.zeros(units, dtype)

    def config(self):
        return {"alpha": self.alpha}

    def _alpha(self):
        return self.alpha if self.slopes is None else self.slopes

    def forward(self, z):
        return np.where(z > 0, z, z * self._alpha())

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self._alpha()).astype(a.dtype, copy=False)

    def backward(self, z, a, da):
        if self.dslopes is not None:  # dL/dα_j = Σ_i dL/da_ij min(z_ij, 0)
            neg = np.minimum(z, 0.0)
            neg *= da
            np.sum(neg, axis=0, out=self.dslopes)
        d = self.derivative(z, a)
        d *= da
        return d

    def pointwise(self):
        return LeakyReLU(alpha=self.alpha)


@REGISTRY.register("rrelu", "randomized_relu", "randomised_relu")
class RReLU(Activation):
    """Randomised leaky ReLU (Xu et al., 2015): f(z) = z if z > 0 else α z, where in training α
    is drawn from U(lower, upper) for every element and every pass, and at evaluation
    α = (lower + upper) / 2.

    f'(z) = 1 if z > 0 else α (the drawn α in training: recovered as a / z, so the backward pass
    and the probes need no copy of the draw; the mean α where z = 0).
    """

    name = "rrelu"
    description = (
        "randomised leaky ReLU: a random slope in U(lower, upper) in training, the mean at "
        "evaluation (Xu et al.)"
    )
    stochastic = True

    params = (
        Param("lower", "float", 0.125, "Smallest slope α drawn in training (1/8: Xu et al.).",
              minimum=0.0, exclusive_maximum=1.0, label="α low"),
        Param("upper", "float", 1.0 / 3.0, "Largest slope α drawn in training (1/3: Xu et al.).",
              minimum=0.0, exclusive_maximum=1.0, label="α high"),
    )

    def __init__(self, **given: Any):
        super().__init__(**given)
        if self.lower > self.upper:
            raise SpecError("upper", f"must be >= lower ({self.lower:g}), got {self.upper:g}")
        self.mean_alpha = 0.5 * (self.lower + self.upper)

    def config(self):
        return {"lower": self.lower, "upper": self.upper}

    def forward(self, z):
        """Evaluation: the mean slope."""
        return np.where(z > 0, z, z * self.mean_alpha)

    def draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype) -> np.ndarray:
        """Slopes α ~ U(lower, upper), one per element: ``shape`` of ``dtype``."""
        alpha = rng.random(shape, dtype=np.dtype(dtype))
        alpha *= self.upper - self.lower
        alpha += self.lower
        return alpha

    def forward_train(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Training: a fresh slope per element, drawn from ``rng``."""
        alpha = self.draw(z.shape, rng, z.dtype)
        alpha *= z
        return np.where(z > 0, z, alpha)

    def derivative(self, z, a):
        d = np.full(a.shape, self.mean_alpha, dtype=a.dtype)
        d[z > 0] = 1.0
        neg = z < 0
        np.divide(a, z, out=d, where=neg)  # the slope each element used: a = α z
        return d

    def pointwise(self):
        return LeakyReLU(alpha=self.mean_alpha)


@REGISTRY.register("elu")
class ELU(Activation):
    """f(z) = z if z > 0 else alpha (e^z - 1);  f'(z) = 1 if z > 0 else f(z) + alpha."""

    name = "elu"
    description = "exponential linear unit: smooth, negative values push the mean towards 0"

    params = (
        Param(
            "alpha",
            "float",
            1.0,
            "α: the value ELU tends to as z → -∞ (times -1).",
            exclusive_minimum=0.0,
            maximum=100.0,
            label="α",
        ),
    )

    def __init__(self, **given: Any):
        super().__init__(**given)
        # the largest slope is max(1, alpha) (alpha at z -> 0 from below)
        self.max_derivative = max(1.0, self.alpha)

    def config(self):
        return {"alpha": self.alpha}

    def forward(self, z):
        neg = np.minimum(z, 0.0)
        np.expm1(neg, out=neg)
        neg *= self.alpha
        return np.where(z > 0, z, neg)

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, a + self.alpha).astype(a.dtype)


@REGISTRY.register("selu")
class SELU(Activation):
    """f(z) = lambda z if z > 0 else lambda alpha (e^z - 1), lambda ~ 1.0507, alpha ~ 1.6733.

    f'(z) = lambda if z > 0 else f(z) + lambda alpha; the largest slope is lambda alpha ~ 1.758.
    """

    name = "selu"
    max_derivative = _SELU_SCALE * _SELU_ALPHA
    description = "scaled ELU (Klambauer et al.): self-normalising with lecun_normal init"

    def forward(self, z):
        neg = np.minimum(z, 0.0)
        np.expm1(neg, out=neg)
        neg *= _SELU_ALPHA
        a = np.where(z > 0, z, neg)
        a *= _SELU_SCALE
        return a

    def derivative(self, z, a):
        return np.where(z > 0, _SELU_SCALE, a + _SELU_SCALE * _SELU_ALPHA).astype(a.dtype)


@REGISTRY.register("softsign")
class Softsign(Activation):
    """f(z) = z / (1 + |z|);  f'(z) = 1 / (1 + |z|)^2 (polynomial tails, Glorot & Bengio)."""

    saturates = "both"
    name = "softsign"
    description = "z / (1 + |z|): like tanh but with polynomial, gentler saturation"

    def forward(self, z):
        d = np.abs(z)
        d += 1.0
        return np.divide(z, d, out=d)

    def derivative(self, z, a):
        d = np.abs(z)
        d += 1.0
        np.multiply(d, d, out=d)
        np.reciprocal(d, out=d)
        return d


@REGISTRY.register("softplus")
class Softplus(Activation):
    """f(z) = log(1 + e^z);  f'(z) = sigmoid(z)."""

    name = "softplus"
    description = "smooth ReLU: log(1 + e^z)"

    def forward(self, z):
        return np.logaddexp(0.0, z).astype(z.dtype, copy=False)

    def derivative(self, z, a):
        return Sigmoid.forward(Sigmoid(), z)


@REGISTRY.register("gelu")
class GELU(Activation):
    """GELU, tanh form: f(z) = z/2 (1 + tanh(u)), u = sqrt(2/pi) (z + 0.044715 z^3).

    f'(z) = (1 + t)/2 + z/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2), t = tanh(u);
    the largest slope is about 1.129 (at z ~ 1.5).
    """

    name = "gelu"
    max_derivative = 1.1289
    description = "Gaussian error linear unit (tanh approximation), as in BERT/GPT"

    @staticmethod
    def _t(z):
        u = z * z
        u *= _GELU_C
        u += 1.0
        u *= z
        u *= _SQRT_2_OVER_PI
        return np.tanh(u, out=u)

    def forward(self, z):
        t = self._t(z)
        t += 1.0
        t *= z
        t *= 0.5
        return t

    def derivative(self, z, a):
        t = self._t(z)
        z2 = z * z
        inner = z2 * (3.0 * _GELU_C)
        inner += 1.0
        inner *= _SQRT_2_OVER_PI
        inner *= 1.0 - t * t
        inner *= z
        inner += 1.0 + t
        inner *= 0.5
        return inner


@REGISTRY.register("silu", "swish")
class SiLU(Activation):
    """f(z) = z sigmoid(z);  f'(z) = s + z s (1 - s) = s + a (1 - s), s = sigmoid(z).

    The largest slope is about 1.0998 (at z ~ 2.4).
    """

    name = "silu"
    max_derivative = 1.0998
    description = "sigmoid-weighted linear unit (swish): z * sigmoid(z)"

    def forward(self, z):
        s = Sigmoid.forward(Sigmoid(), z)
        s *= z
        return s

    def derivative(self, z, a):
        s = Sigmoid.forward(Sigmoid(), z)
        d = np.subtract(1.0, s)
        d *= a
        d += s
        return d


@REGISTRY.register("maxout")
class Maxout(Activation):
    """Maxout with k pieces: a_j = max_{i < k} z_{j k + i}.

    ``z: (batch, units * k)`` (the pieces of unit j are the k adjacent columns ``j*k .. j*k+k-1``),
    ``a: (batch, units)``. The gradient flows to the winning piece only; per unit, f' = 1 always
    (a maxout unit never saturates nor dies), so :meth:`derivative` returns ones.
    """

    saturates = "none"
    name = "maxout"
    description = "max over k linear pieces per unit (Goodfellow et al.)"

    params = (
        Param(
            "pieces",
            "int",
            2,
            "Linear pieces k per unit: the layer computes units·k pre-activations.",
            minimum=2,
            maximum=16,
            label="Pieces k",
        ),
    )

    def config(self):
        return {"pieces": self.pieces}

    def _grouped(self, z):
        n, m = z.shape
        return z.reshape(n, m // self.pieces, self.pieces)

    def forward(self, z):
        return self._grouped(z).max(axis=2)

    def winners(self, z: np.ndarray) -> np.ndarray:
        """Index of the winning piece per (example, unit): (batch, units) int."""
        return self._grouped(z).argmax(axis=2)

    def derivative(self, z, a):
        return np.ones_like(a)

    def backward(self, z, a, da):
        g = self._grouped(z)
        win = g.argmax(axis=2)
        dz = np.zeros_like(g)
        np.put_along_axis(dz, win[:, :, None], da[:, :, None], axis=2)
        return dz.reshape(z.shape)


def saturation_threshold(act: Activation) -> float:
    """f' below this value counts as saturated (1% of the largest derivative)."""
    return 0.01 * float(act.max_derivative)
