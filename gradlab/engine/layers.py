"""Layers: the dense block, batch normalisation and inverted dropout.

A block whose ``trainable`` setting is off is *frozen* (Hands-On ML's recipe for reused layers):
the network leaves its parameters out of the gradients the optimiser steps
(:meth:`gradlab.engine.network.Network.trainable_grads`), and its batch norm runs in evaluation
mode (running statistics, never updated), as Keras freezes a ``BatchNormalization`` layer.

A *dense block* is what the probes call a layer::

    x --(x @ W + b)--> z_lin --[batchnorm]--> z --f--> a --[dropout]--> out

``z`` (the input of the activation function) is the block's pre-activation and ``a`` its
activation; ``delta = dL/dz`` is Glorot & Bengio's back-propagated gradient. Every forward and
backward pass leaves these in ``block.taps`` so the probes read them without recomputing.

Standalone :class:`BatchNorm` and :class:`Dropout` modules act on the previous module's output.

Shapes: ``x: (batch, fan_in)``, ``W: (fan_in, fan_out)``, ``b: (fan_out,)``.
Parameter and gradient arrays keep their identity for the network's life: optimisers update
``params`` in place, and every backward overwrites ``grads`` in place.

Each layer declares the settings of its spec entry as :class:`~gradlab.params.Param` (``SPEC``):
:data:`DENSE_SPEC` for a dense block's entry, :attr:`BatchNorm.SPEC` and :attr:`Dropout.SPEC` for
the standalone rows. :func:`gradlab.engine.network.resolve_layers` validates entries through them
and the window builds its table and fields from them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gradlab.engine import activations, initializers
from gradlab.engine.activations import Activation, Maxout
from gradlab.params import Param, resolve

#: dx of a block is written column-major for batches up to this size when W has at least
#: COLMAJOR_DX_SIZE elements (bench/engine.py, 1024-[1000]x5-9 at batch 10)
COLMAJOR_DX_BATCH = 32
COLMAJOR_DX_SIZE = 65_536
#: a dense layer is at most this wide (units; maxout multiplies by its pieces)
MAX_UNITS = 1_000_000


_ONES: dict[tuple[int, np.dtype], np.ndarray] = {}


def ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of ``n`` ones of ``dtype`` (cached: the bias gradient's 1^T)."""
    key = (n, dtype)
    v = _ONES.get(key)
    if v is None:
        if len(_ONES) > 64:  # (a few batch sizes in practice: the training and probe batches)
            _ONES.clear()
        v = _ONES[key] = np.ones(n, dtype)
        v.flags.writeable = False
    return v


class Module:
    """Base: named, with ``params``/``grads`` dicts (keys are short: ``"W"``, ``"gamma"``)."""

    name: str = ""
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]  # non-learned state saved with a session (BN running stats)

    def forward(
        self, x: np.ndarray, training: bool, rng: np.random.Generator | None, update_stats: bool
    ) -> np.ndarray:
        raise NotImplementedError

    def backward(
        self, dout: np.ndarray, need_dx: bool = True, need_dW: bool = True,
        overwrite: bool = False,
    ) -> np.ndarray | None:
        """dL/dx from dL/dout (None when ``need_dx`` is False); fills ``grads``.

        ``need_dW=False``: a dense block may leave its weight gradient as factors.
        ``overwrite=True``: ``dout`` is the caller's scratch (a fresh array nothing else holds,
        as every module's dx is) and may be overwritten; the results are the same, bit for bit.
        """
        raise NotImplementedError


_MOMENTUM = Param(
    "momentum",
    "float",
    0.9,
    "Momentum of the running mean and variance used at evaluation "
    "(running = m·running + (1 - m)·batch).",
    minimum=0.0,
    exclusive_maximum=1.0,
    label="Momentum",
)
_EPS = Param(
    "eps",
    "float",
    1e-5,
    "ε added to the variance before dividing.",
    exclusive_minimum=0.0,
    maximum=1.0,
    log=True,
    label="ε",
)
_RATE = Param(
    "rate",
    "float",
    0.5,
    "The fraction of the previous layer's outputs zeroed during training.",
    minimum=0.0,
    exclusive_maximum=1.0,
    label="Rate",
)


class BatchNorm(Module):
    """Batch normalisation over the batch axis (Ioffe & Szegedy, 2015).

    Training: mu = mean_b(x), var = var_b(x) (biased), xhat = (x - mu) / sqrt(var + eps),
    y = gamma * xhat + beta; running averages r <- m r + (1 - m) batch_stat (the running variance
    uses the unbiased batch variance, as PyTorch does). Evaluation: the running averages replace
    the batch statistics.

    Backward (training): dxhat = dy * gamma,
    dx = (1 / N) / sqrt(var + eps) * (N dxhat - sum_b dxhat - xhat * sum_b(dxhat * xhat)).
    """

    #: the settings of a standalone ``{"type": "batchnorm"}`` entry
    SPEC: ClassVar[tuple[Param, ...]] = (_MOMENTUM, _EPS)

    def __init__(
        self,
        name: str,
        features: int,
        dtype: np.dtype,
        momentum: float = _MOMENTUM.default,
        eps: float = _EPS.default,
    ):
        self.name = name
        self.features = features
        v = resolve(self.SPEC, {"momentum": momentum, "eps": eps}, "")
        self.momentum = v["momentum"]
        self.eps = v["eps"]
        self.params = {"gamma": np.ones(features, dtype), "beta": np.zeros(features, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {
            "running_mean": np.zeros(features, dtype),
            "running_var": np.ones(features, dtype),
        }
        self._cache: tuple | None = None

    def forward(self, x, training, rng=None, update_stats=True):
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            n = x.shape[0]
            mu = x.mean(axis=0)
            xc = x - mu
            var = np.einsum("ij,ij->j", xc, xc) / n
            inv_std = 1.0 / np.sqrt(var + self.eps)
            xhat = xc
            xhat *= inv_std
            if update_stats:
                m = self.momentum
                rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
                rm *= m
                rm += (1.0 - m) * mu
                rv *= m
                rv += (1.0 - m) * (var * (n / max(n - 1, 1)))
            self._cache = (xhat, inv_std, True)
        else:
            inv_std = 1.0 / np.sqrt(self.buffers["running_var"] + self.eps)
            xhat = (x - self.buffers["running_mean"]) * inv_std
            self._cache = (xhat, inv_std, False)
        y = xhat * gamma
        y += beta
        return y

    def scale(self) -> np.ndarray:
        """dy/dx per feature when the statistics are held fixed: gamma / sqrt(var + eps)."""
        return self.params["gamma"] * self._cache[1]

    def set_frozen(self, frozen: bool) -> None:
        """Frozen: evaluation mode even in training (running statistics, never updated). Set
        per instance, so an unfrozen batch norm's forward pass is not slowed by a check."""
        self.frozen = frozen
        if frozen:
            self.forward = self._forward_frozen  # (an instance attribute shadows the method)
        else:
            self.__dict__.pop("forward", None)

    def _forward_frozen(self, x, training, rng=None, update_stats=True):
        return BatchNorm.forward(self, x, False, rng, update_stats)

    def backward(self, dout, need_dx=True, need_dW=True, overwrite=False):
        xhat, inv_std, batch_stats = self._cache
        g = self.grads
        np.einsum("ij,ij->j", dout, xhat, out=g["gamma"])
        np.sum(dout, axis=0, out=g["beta"])
        if not need_dx:
            return None
        if not batch_stats:  # evaluation mode: an affine map per feature
            return dout * (self.params["gamma"] * inv_std)
        n = dout.shape[0]
        # dxhat = dout * gamma;  sum_b dxhat = gamma * dbeta;  sum_b dxhat * xhat = gamma * dgamma
        dx = xhat * (g["gamma"] / n)
        dx -= dout
        dx += g["beta"] / n
        dx *= -(self.params["gamma"] * inv_std)
        return dx


class Dropout(Module):
    """Inverted dropout: out = x * m / (1 - rate), m ~ Bernoulli(1 - rate); identity in evaluation.

    E[out] = x, so nothing changes between training and evaluation.
    """

    #: the settings of a standalone ``{"type": "dropout"}`` entry
    SPEC: ClassVar[tuple[Param, ...]] = (_RATE,)

    def __init__(self, name: str, rate: float):
        self.name = name
        self.rate = resolve(self.SPEC, {"rate": rate}, "")["rate"]
        self.params, self.grads, self.buffers = {}, {}, {}
        self._mask: np.ndarray | None = None

    def forward(self, x, training, rng=None, update_stats=True):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        if rng is None:
            raise ValueError(f"{self.name}: dropout in training mode needs a random generator")
        keep = rng.random(x.shape, dtype=np.float32) >= self.rate
        self._mask = keep.astype(x.dtype)
        self._mask *= 1.0 / (1.0 - self.rate)
        return x * self._mask

    def backward(self, dout, need_dx=True, need_dW=True, overwrite=False):
        """dx = dout * m / (1 - rate) (the mask as drawn, scaled); dout itself in evaluation."""
        if not need_dx:
            return None
        if self._mask is None:
            return dout
        if overwrite:
            return np.multiply(dout, self._mask, out=dout)
        return dout * self._mask


#: the settings of a dense layer's spec entry (``{"type": "dense", "units": 500, ...}``)
DENSE_SPEC: tuple[Param, ...] = (
    Param(
        "units",
        "int",
        16,
        "Units: the layer's width, the number of neurons (fan-out of W).",
        minimum=1,
        maximum=MAX_UNITS,
        label="Units",
    ),
    Param(
        "activation",
        "choice",
        "relu",
        "Activation f(z): hover an item for how it saturates or dies.",
        choices=tuple(activations.names()),
        choice_help=tuple(activations.info(n).description for n in activations.names()),
        label="Activation",
    ),
    Param(
        "init",
        "choice",
        "glorot_uniform",
        "Initialisation of W: hover an item for its variance formula (n_in = fan-in).",
        choices=tuple(initializers.names()),
        choice_help=tuple(initializers.info(n).description for n in initializers.names()),
        label="Init",
    ),
    initializers.GAIN,
    Param(
        "bias",
        "bool",
        True,
        "Whether the layer adds a bias b (off by default with batch norm, whose β takes its role).",
        label="Bias",
    ),
    Param(
        "bias_init",
        "choice",
        "zeros",
        "How the bias is drawn (Nielsen's network2: normal with σ = 1).",
        choices=tuple(initializers.bias_names()),
        choice_help=tuple(initializers.info(n).description for n in initializers.bias_names()),
        label="Bias init",
    ),
    Param(
        "batchnorm",
        "bool",
        False,
        "BN: batch normalisation of z = xW (+ b) before the activation (Ioffe & Szegedy).",
        label="BN",
    ),
    Param(
        "dropout",
        "float",
        0.0,
        "Dropout: the fraction of this layer's outputs zeroed during training (0 = off).",
        minimum=0.0,
        exclusive_maximum=1.0,
        label="Drop",
    ),
    Param(
        "trainable",
        "bool",
        True,
        "Trainable: off freezes the layer (a lock in the table): its weights, bias, batch norm "
        "and learned slopes stay as they are and the optimiser never touches them (Hands-On "
        "ML: freeze reused layers, train the new ones, then unfreeze with a lower learning "
        "rate).",
        label="Train",
    ),
)
#: what the output layer takes that a hidden layer does not (its other settings follow the last
#: hidden layer's initialiser, gain and bias)
OUTPUT_DEFAULTS: dict[str, Any] = {"activation": "linear"}


class Dense(Module):
    """A dense block: z_lin = x @ W + b, [z = BN(z_lin)], a = f(z), [out = dropout(a)].

    Parameters
    ----------
    fan_in, units : sizes; W is (fan_in, units * pieces) (maxout has ``pieces`` per unit).
    activation : the :class:`~gradlab.engine.activations.Activation`.
    W, b : initial arrays (b may be None: no bias).
    batchnorm : a :class:`BatchNorm` applied to z_lin, or None.
    dropout : a :class:`Dropout` applied to a, or None.

    Taps after forward: ``x, z, a``; after backward: ``delta`` (dL/dz), and ``grads``.
    """

    def __init__(
        self,
        name: str,
        index: int,
        activation: Activation,
        W: np.ndarray,
        b: np.ndarray | None,
        batchnorm: BatchNorm | None = None,
        dropout: Dropout | None = None,
        spec: dict[str, Any] | None = None,
    ):
        self.name = name
        self.index = index
        self.act = activation
        self.fan_in, self.width = W.shape
        self.units = self.width // activation.pieces
        self.params = {"W": W}
        if b is not None:
            self.params["b"] = b
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.buffers = {}
        self.bn = batchnorm
        self.dropout = dropout
        self.spec = spec or {}
        self.taps: dict[str, np.ndarray | None] = {}

    @property
    def has_bias(self) -> bool:
        return "b" in self.params

    def forward(self, x, training, rng=None, update_stats=True):
        W = self.params["W"]
        z = x @ W
        if "b" in self.params:
            z += self.params["b"]
        if self.bn is not None:
            z = self.bn.forward(z, training, rng, update_stats)
        a = self.act.forward(z)
        self.taps = {"x": x, "z": z, "a": a, "delta": None}
        if self.dropout is not None:
            return self.dropout.forward(a, training, rng, update_stats)
        return a

    def backward(self, dout, need_dx=True, need_dW=True, overwrite=False):
        """delta = f'(z) * dout (through dropout and BN), dW = x^T dz_lin, db = sum_b dz_lin
        = 1^T dz_lin, dx = dz_lin W^T (dout, delta, dz_lin: (batch, width); 1: (batch,)).
        ``overwrite=True``: delta may be written over ``dout`` (see :meth:`Module.backward`;
        a ReLU block's delta then takes no new array). With ``need_dW=False`` dW is not
        formed: :attr:`factors` keeps ``(x, dz_lin)`` (:mod:`gradlab.engine.fused`) and
        ``grads["W"]`` is left as it was."""
        taps = self.taps
        da = dout
        if self.dropout is not None:
            da = self.dropout.backward(dout, True, True, overwrite)
        if overwrite:
            delta = self.act.backward_over(taps["z"], taps["a"], da)
        else:
            delta = self.act.backward(taps["z"], taps["a"], da)
        taps["delta"] = delta
        dz_lin = self.bn.backward(delta) if self.bn is not None else delta
        x = taps["x"]
        if need_dW:
            np.matmul(x.T, dz_lin, out=self.grads["W"])
        else:
            self.factors = (x, dz_lin)
        if "b" in self.grads:  # db = 1^T dz_lin: a GEMV, about 2x faster than sum(axis=0)
            np.dot(ones(dz_lin.shape[0], dz_lin.dtype), dz_lin, out=self.grads["b"])
        if not need_dx:
            return None
        n = dz_lin.shape[0]
        if n > COLMAJOR_DX_BATCH or self.fan_in * self.width < COLMAJOR_DX_SIZE:
            return dz_lin @ self.params["W"].T
        # dx = dz_lin W^T written column-major (that is, dx^T = W dz_lin^T row-major): for a
        # small batch OpenBLAS runs this product about 1.3x faster than with a row-major dx
        dx = np.empty((n, self.fan_in), dz_lin.dtype, order="F")
        return np.matmul(dz_lin, self.params["W"].T, out=dx)

    def derivative(self) -> np.ndarray:
        """f'(z) per (example, unit) from the last forward: (batch, units)."""
        return self.act.derivative(self.taps["z"], self.taps["a"])

    def jacobian(self, rows: slice | np.ndarray) -> np.ndarray:
        """d a / d x for the examples ``rows`` of the last forward: (k, units, fan_in).

        J_e = diag(f'(z_e)) [diag(BN scale)] W^T; BN is taken with its statistics held fixed
        (the batch's in training). For maxout, row j of J_e is the column of W of unit j's
        winning piece.
        """
        W = self.params["W"]
        z = self.taps["z"][rows]
        scale = self.bn.scale() if self.bn is not None else None
        Wt = W.T if scale is None else W.T * scale[:, None]  # (width, fan_in)
        if isinstance(self.act, Maxout):
            win = self.act.winners(z)  # (k, units)
            cols = np.arange(self.units)[None, :] * self.act.pieces + win
            return Wt[cols]  # (k, units, fan_in)
        d = self.act.derivative(z, self.taps["a"][rows])  # (k, units)
        return d[:, :, None] * Wt[None, :, :]


class ActDense(Dense):
    """A dense block whose activation learns parameters or draws in training.

    PReLU (``act.learned``): its slopes α (units,) are the block's parameter ``alpha`` (network
    name ``denseL.alpha``) with their gradient ``grads["alpha"]``, filled by the activation's
    backward pass. RReLU (``act.stochastic``): in training the forward pass draws the slopes
    from ``rng`` (:meth:`~gradlab.engine.activations.RReLU.forward_train`). Everything else is
    the plain :class:`Dense` block, which the other activations use, so they pay nothing.
    """

    def __init__(self, name, index, activation, W, b, batchnorm=None, dropout=None, spec=None):
        super().__init__(name, index, activation, W, b, batchnorm, dropout, spec)
        if activation.learned:
            activation.build(self.width, W.dtype)
            self.params["alpha"] = activation.slopes
            self.grads["alpha"] = activation.dslopes

    def forward(self, x, training, rng=None, update_stats=True):
        W = self.params["W"]
        z = x @ W
        if "b" in self.params:
            z += self.params["b"]
        if self.bn is not None:
            z = self.bn.forward(z, training, rng, update_stats)
        act = self.act
        if training and act.stochastic:
            if rng is None:
                raise ValueError(f"{self.name}: {act.name} in training mode needs a random "
                                 "generator")
            a = act.forward_train(z, rng)
        else:
            a = act.forward(z)
        self.taps = {"x": x, "z": z, "a": a, "delta": None}
        if self.dropout is not None:
            return self.dropout.forward(a, training, rng, update_stats)
        return a
