"""Weight and bias initialisers (Keras names; PyTorch aliases accepted).

Every initialiser draws ``W: (fan_in, fan_out)`` (or a bias ``(fan_out,)``) from a
``np.random.Generator`` and takes a ``gain`` multiplier applied to the drawn values. Draws are made
in float64 and cast, so a float32 and a float64 network built from the same seed hold the same
numbers up to rounding.

Each initialiser also knows the second moment E[W^2] of what it draws (``second_moment``), which
the mean-field theory uses to predict layer variances at initialisation.

==================  =======================================  =================================
name                distribution (before ``gain``)           E[W^2]
==================  =======================================  =================================
zeros               0                                        0
constant(value)     value                                    value^2
normal(std, mean)   N(mean, std^2)                           std^2 + mean^2
uniform(limit)      U[-limit, limit]                         limit^2 / 3
glorot_standard     U[-1/sqrt(fan_in), 1/sqrt(fan_in)]       1 / (3 fan_in)
glorot_uniform      U[-l, l], l = sqrt(6 / (fan_in+fan_out))  2 / (fan_in + fan_out)
glorot_normal       N(0, 2 / (fan_in + fan_out))              2 / (fan_in + fan_out)
he_uniform          U[-l, l], l = sqrt(6 / fan_in)            2 / fan_in
he_normal           N(0, 2 / fan_in)                          2 / fan_in
lecun_uniform       U[-l, l], l = sqrt(3 / fan_in)            1 / fan_in
lecun_normal        N(0, 1 / fan_in)                          1 / fan_in
orthogonal          Q of a QR decomposition (Saxe et al.)    1 / max(fan_in, fan_out) ... *
==================  =======================================  =================================

``glorot_standard`` is what Glorot & Bengio (2010) call the "standard" initialisation, eq. (1);
``glorot_uniform`` is their "normalised" initialisation, eq. (16). The normal initialisers draw
plain (untruncated) normals, as PyTorch does. (*) orthogonal: columns orthonormal when
fan_in >= fan_out (E[W^2] = 1 / fan_in), rows orthonormal otherwise (1 / fan_out).

Each initialiser declares its parameters as :class:`~gradlab.params.Param` (``params``: ``gain``
for every one, plus ``std``/``mean``, ``limit`` or ``value``); the constructor validates through
them and the window builds its fields from them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from gradlab.errors import SpecError
from gradlab.params import Param, resolve
from gradlab.registry import Registry

REGISTRY: Registry[type[Initializer]] = Registry("initializer")

GAIN = Param(
    "gain",
    "float",
    1.0,
    "Gain: multiplies the drawn weights (5/3 for tanh, √2 for ReLU are the classic choices).",
    minimum=0.0,
    maximum=1000.0,
    label="Gain",
)
_STD = Param(
    "std",
    "float",
    0.01,
    "Standard deviation σ of the draw (CS231n's W = 0.01·randn: σ = 0.01).",
    minimum=0.0,
    maximum=1000.0,
    label="Std σ",
)
_MEAN = Param("mean", "float", 0.0, "Mean of the draw.", minimum=-1000.0, maximum=1000.0)
_LIMIT = Param(
    "limit",
    "float",
    0.05,
    "Half-width of the interval [-limit, limit].",
    minimum=0.0,
    maximum=1000.0,
)
_VALUE = Param(
    "value", "float", 0.0, "The value every entry takes.", minimum=-1000.0, maximum=1000.0
)


class Initializer:
    """Base class. ``sample(shape, rng, dtype)``; ``shape`` is ``(fan_in, fan_out)`` or ``(n,)``.

    ``params`` declares the constructor's keyword arguments; the validated values become
    attributes (``_attrs`` renames one where a method has the name: ``mean`` -> ``loc``).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = (GAIN,)
    #: True when it can only draw matrices (orthogonal), never a bias vector
    matrix_only: ClassVar[bool] = False
    _attrs: ClassVar[dict[str, str]] = {}

    def __init__(self, **given: Any):
        for key, value in resolve(self.params, given, "").items():
            setattr(self, self._attrs.get(key, key), value)

    def config(self) -> dict[str, Any]:
        return {"gain": self.gain} if self.gain != 1.0 else {}

    @staticmethod
    def fans(shape: tuple[int, ...]) -> tuple[int, int]:
        if len(shape) == 1:
            return shape[0], shape[0]
        return shape[0], shape[1]

    def draw(self, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """The float64 draw before the gain."""
        raise NotImplementedError

    def base_second_moment(self, fan_in: int, fan_out: int) -> float:
        raise NotImplementedError

    def sample(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: np.dtype | str = np.float32
    ) -> np.ndarray:
        w = self.draw(tuple(shape), rng)
        if self.gain != 1.0:
            w = w * self.gain
        return np.ascontiguousarray(w, dtype=dtype)

    def second_moment(self, fan_in: int, fan_out: int) -> float:
        """E[W^2] of the drawn values, gain included."""
        return self.gain**2 * self.base_second_moment(fan_in, fan_out)

    def mean(self) -> float:
        """E[W] of the drawn values, gain included (0 for every zero-centred initialiser)."""
        return 0.0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def get(spec: str | dict, prefix: str = "", field: str = "init", **extra: Any) -> Initializer:
    """An initialiser from a name or a dict ``{"name": ..., params}``.

    ``prefix`` is the spec path of the entry holding it; errors name ``{prefix}.{field}...``.

    >>> get({"name": "normal", "std": 0.01})
    Normal(std=0.01)
    >>> get("xavier_uniform", gain=2.0)
    GlorotUniform(gain=2.0)
    """
    path = f"{prefix}.{field}" if prefix else field
    if isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name", None)
        if name is None:
            raise SpecError(path, "an initialiser given as an object needs a 'name'")
    else:
        name, params = spec, {}
    params.update(extra)
    cls = REGISTRY.get(name, path)
    own = {p.name for p in cls.params}
    for bad in params:
        if bad not in own:
            raise SpecError(f"{path}.{bad}", f"{cls.name} takes no parameter {bad!r}")
    try:
        return cls(**params)
    except SpecError as err:
        raise err.prefixed(path) from None


def names() -> list[str]:
    return REGISTRY.names()


def info(name: str, field: str = "init") -> type[Initializer]:
    """The initialiser class for ``name``: its ``params`` and ``description``."""
    return REGISTRY.get(name, field)


def bias_names() -> list[str]:
    """The initialisers that can draw a bias vector (all but orthogonal, which needs a matrix)."""
    return [n for n in names() if not REGISTRY.get(n).matrix_only]


@REGISTRY.register("zeros", "zero")
class Zeros(Initializer):
    """All zeros (for weights: every unit of a layer stays identical: symmetry is never broken)."""

    name = "zeros"
    description = "all zeros: units stay identical (symmetry never broken)"

    def draw(self, shape, rng):
        return np.zeros(shape)

    def base_second_moment(self, fan_in, fan_out):
        return 0.0


@REGISTRY.register("constant", "constant_")
class Constant(Initializer):
    """All equal to ``value``."""

    name = "constant"
    description = "every value equal to `value`"
    params = (_VALUE, GAIN)

    def config(self):
        return {"value": self.value, **super().config()}

    def draw(self, shape, rng):
        return np.full(shape, self.value, dtype=np.float64)

    def base_second_moment(self, fan_in, fan_out):
        return self.value**2

    def mean(self):
        return self.gain * self.value


@REGISTRY.register("normal", "random_normal", "normal_", "gaussian")
class Normal(Initializer):
    """N(mean, std^2) (CS231n: ``0.01 * randn`` is ``normal`` with std 0.01)."""

    name = "normal"
    description = "normal with the given std (CS231n's W = std * randn)"
    params = (_STD, _MEAN, GAIN)
    _attrs = {"mean": "loc"}  # noqa: RUF012

    def config(self):
        cfg = {"std": self.std}
        if self.loc:
            cfg["mean"] = self.loc
        return {**cfg, **super().config()}

    def draw(self, shape, rng):
        w = rng.standard_normal(shape)
        w *= self.std
        w += self.loc
        return w

    def base_second_moment(self, fan_in, fan_out):
        return self.std**2 + self.loc**2

    def mean(self):
        return self.gain * self.loc


@REGISTRY.register("uniform", "random_uniform", "uniform_")
class Uniform(Initializer):
    """U[-limit, limit]."""

    name = "uniform"
    description = "uniform on [-limit, limit]"
    params = (_LIMIT, GAIN)

    def config(self):
        return {"limit": self.limit, **super().config()}

    def draw(self, shape, rng):
        return rng.uniform(-self.limit, self.limit, shape)

    def base_second_moment(self, fan_in, fan_out):
        return self.limit**2 / 3.0


class _ScaledUniform(Initializer):
    """U[-l, l] with l = sqrt(3 * variance(fan_in, fan_out))."""

    def variance(self, fan_in: int, fan_out: int) -> float:
        raise NotImplementedError

    def draw(self, shape, rng):
        limit = math.sqrt(3.0 * self.variance(*self.fans(shape)))
        return rng.uniform(-limit, limit, shape)

    def base_second_moment(self, fan_in, fan_out):
        return self.variance(fan_in, fan_out)


class _ScaledNormal(Initializer):
    """N(0, variance(fan_in, fan_out))."""

    def variance(self, fan_in: int, fan_out: int) -> float:
        raise NotImplementedError

    def draw(self, shape, rng):
        w = rng.standard_normal(shape)
        w *= math.sqrt(self.variance(*self.fans(shape)))
        return w

    def base_second_moment(self, fan_in, fan_out):
        return self.variance(fan_in, fan_out)


@REGISTRY.register("glorot_standard", "standard", "bengio_standard")
class GlorotStandard(_ScaledUniform):
    """Glorot & Bengio's "standard" init, eq. (1): U[-1/sqrt(fan_in), 1/sqrt(fan_in)].

    Var = 1 / (3 fan_in): with tanh, back-propagated gradients shrink layer after layer.
    """

    name = "glorot_standard"
    description = "Glorot & Bengio's 'standard' U[-1/sqrt(n_in), 1/sqrt(n_in)]"

    def variance(self, fan_in, fan_out):
        return 1.0 / (3.0 * fan_in)


@REGISTRY.register("glorot_uniform", "xavier_uniform", "xavier_uniform_", "normalized", "xavier")
class GlorotUniform(_ScaledUniform):
    """Glorot & Bengio's "normalised" init, eq. (16): U[-l, l], l = sqrt(6 / (fan_in + fan_out)).

    Var = 2 / (fan_in + fan_out), the compromise between keeping forward activations and
    backward gradients at constant variance.
    """

    name = "glorot_uniform"
    description = "Glorot & Bengio's 'normalised' (Xavier) uniform, Var = 2/(n_in+n_out)"

    def variance(self, fan_in, fan_out):
        return 2.0 / (fan_in + fan_out)


@REGISTRY.register("glorot_normal", "xavier_normal", "xavier_normal_")
class GlorotNormal(_ScaledNormal):
    """N(0, 2 / (fan_in + fan_out))."""

    name = "glorot_normal"
    description = "Xavier normal, Var = 2/(n_in+n_out)"

    def variance(self, fan_in, fan_out):
        return 2.0 / (fan_in + fan_out)


@REGISTRY.register("he_uniform", "kaiming_uniform", "kaiming_uniform_")
class HeUniform(_ScaledUniform):
    """U[-l, l], l = sqrt(6 / fan_in): Var = 2 / fan_in, for ReLU (He et al. 2015)."""

    name = "he_uniform"
    description = "He (Kaiming) uniform, Var = 2/n_in, for ReLU"

    def variance(self, fan_in, fan_out):
        return 2.0 / fan_in


@REGISTRY.register("he_normal", "kaiming_normal", "kaiming_normal_", "kaiming", "he")
class HeNormal(_ScaledNormal):
    """N(0, 2 / fan_in), for ReLU: it halves the variance, so double the weights' (CS231n)."""

    name = "he_normal"
    description = "He (Kaiming) normal, Var = 2/n_in, for ReLU"

    def variance(self, fan_in, fan_out):
        return 2.0 / fan_in


@REGISTRY.register("lecun_uniform")
class LecunUniform(_ScaledUniform):
    """U[-l, l], l = sqrt(3 / fan_in): Var = 1 / fan_in."""

    name = "lecun_uniform"
    description = "LeCun uniform, Var = 1/n_in"

    def variance(self, fan_in, fan_out):
        return 1.0 / fan_in


@REGISTRY.register("lecun_normal")
class LecunNormal(_ScaledNormal):
    """N(0, 1 / fan_in): CS231n's ``randn(fan_in, fan_out) / sqrt(fan_in)``; SELU's partner."""

    name = "lecun_normal"
    description = "LeCun normal, Var = 1/n_in (CS231n's randn/sqrt(n_in))"

    def variance(self, fan_in, fan_out):
        return 1.0 / fan_in


@REGISTRY.register("orthogonal", "orthogonal_")
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix, Saxe et al. (2014): Q from the QR decomposition of a Gaussian
    matrix, signs fixed by diag(R) so the draw is uniform (Haar) over orthogonal matrices.

    ``W: (fan_in, fan_out)`` has orthonormal columns when fan_in >= fan_out, rows otherwise.
    """

    name = "orthogonal"
    description = "random orthogonal matrix times gain (Saxe et al.)"
    matrix_only = True

    def draw(self, shape, rng):
        if len(shape) == 1:
            raise SpecError("", "orthogonal initialisation needs a matrix, not a bias vector")
        rows, cols = shape
        a = rng.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        return q if rows >= cols else q.T

    def base_second_moment(self, fan_in, fan_out):
        return 1.0 / max(fan_in, fan_out)
