"""Losses: each returns the batch-mean loss and its gradient with respect to the network output.

``outputs: (batch, k)``; ``y`` is either integer class labels ``(batch,)`` or targets of the
outputs' shape (one-hot or soft for the cross-entropies, real values for the squared error).

>>> loss, d = get("softmax_cross_entropy")(np.zeros((2, 3)), np.array([0, 2]))
>>> round(loss, 4)            # log 3
1.0986
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from gradlab.registry import Registry

REGISTRY: Registry[type[Loss]] = Registry("loss")


def one_hot(y: np.ndarray, k: int, dtype: np.dtype) -> np.ndarray:
    """Integer labels (batch,) -> (batch, k) one-hot."""
    t = np.zeros((y.shape[0], k), dtype)
    t[np.arange(y.shape[0]), y] = 1
    return t


def _targets(outputs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Targets shaped like ``outputs``: one-hot for integer labels (a single output: y itself)."""
    y = np.asarray(y)
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        if outputs.shape[1] == 1:
            return y.astype(outputs.dtype)[:, None]
        return one_hot(y, outputs.shape[1], outputs.dtype)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape != outputs.shape:
        raise ValueError(f"targets of shape {y.shape} do not match outputs {outputs.shape}")
    return y.astype(outputs.dtype, copy=False)


class Loss:
    """Base: ``loss(outputs, y) -> (value, dvalue/doutputs)``; ``predict(outputs) -> labels``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: the output layer's activation this loss expects ("linear": it applies its own squashing)
    expects_linear_outputs: ClassVar[bool] = True

    def __call__(self, outputs: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        raise NotImplementedError

    def value(self, outputs: np.ndarray, y: np.ndarray) -> float:
        return self(outputs, y)[0]

    def predict(self, outputs: np.ndarray) -> np.ndarray:
        """Predicted class labels (batch,)."""
        if outputs.shape[1] == 1:
            return (outputs[:, 0] > self.threshold).astype(np.int64)
        return outputs.argmax(axis=1)

    threshold: ClassVar[float] = 0.0

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities of ``outputs: (batch, k)`` as float64 ``(batch, max(k, 2))``
        (what the decision-boundary view and figure colour by). Base rule, for outputs already
        in [0, 1] (the quadratic cost on sigmoid units): p = clip(o, 0, 1). One output o is
        the probability of class 1: the columns are (1 - p, p)."""
        return _two_columns(np.clip(np.asarray(outputs, dtype=np.float64), 0.0, 1.0))


def _two_columns(p: np.ndarray) -> np.ndarray:
    """(batch, 1) probabilities of class 1 -> (batch, 2) columns (1 - p, p); wider unchanged."""
    return np.concatenate([1.0 - p, p], axis=1) if p.shape[1] == 1 else p


def get(name: str, field: str = "loss") -> Loss:
    return REGISTRY.get(name, field)()


def names() -> list[str]:
    return REGISTRY.names()


def accuracy(loss: Loss, outputs: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples whose predicted label equals the label (argmax for soft targets)."""
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0.5).astype(np.int64)
    return float(np.mean(loss.predict(outputs) == y))


@REGISTRY.register(
    "softmax_cross_entropy",
    "cross_entropy",
    "ce",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "nll",
)
class SoftmaxCrossEntropy(Loss):
    """L = -(1/n) sum_i sum_j t_ij log softmax(o_i)_j;  dL/do = (softmax(o) - t) / n.

    Computed with the log-sum-exp shift, so large logits neither overflow nor lose precision.
    """

    name = "softmax_cross_entropy"
    description = "softmax + cross-entropy on the logits (classification)"

    def __call__(self, outputs, y):
        # (the ufuncs' own reduce methods and a cached row index: a tiny network's step is
        # bound by per-call overhead, and the wrappers np.max / np.mean cost more than the work)
        n = outputs.shape[0]
        shifted = outputs - np.maximum.reduce(outputs, axis=1, keepdims=True)
        exp = np.exp(shifted)
        sums = np.add.reduce(exp, axis=1, keepdims=True)
        log_z = np.log(sums)
        y = np.asarray(y)
        if y.ndim == 1 and y.dtype.kind in "iu":
            rows = self._rows(n)
            # the mean in float64, as np.mean(..., dtype=np.float64) computes it
            loss = float(np.add.reduce(log_z[:, 0] - shifted[rows, y], dtype=np.float64)) / n
            grad = exp
            grad /= sums
            grad[rows, y] -= 1.0
        else:
            t = _targets(outputs, y)
            loss = float(np.mean(np.sum(t * (log_z - shifted), axis=1), dtype=np.float64))
            grad = exp
            grad /= sums
            grad -= t
        grad /= n
        return loss, grad

    def probabilities(self, outputs):
        """p = softmax(o) = exp(o - max o) / sum exp(o - max o), row by row."""
        o = np.array(outputs, dtype=np.float64)
        o -= o.max(axis=1, keepdims=True)
        np.exp(o, out=o)
        o /= o.sum(axis=1, keepdims=True)
        return _two_columns(o)

    def _rows(self, n: int) -> np.ndarray:
        """0..n-1 (kept for the last batch size; read-only)."""
        rows = self.__dict__.get("_rows_n")
        if rows is None or rows.shape[0] != n:
            rows = np.arange(n)
            rows.flags.writeable = False
            self._rows_n = rows
        return rows


@REGISTRY.register("mse", "mean_squared_error", "quadratic", "squared_error")
class MeanSquaredError(Loss):
    """Nielsen's quadratic cost: L = (1 / 2n) sum_i ||o_i - t_i||^2;  dL/do = (o - t) / n.

    Integer labels become one-hot targets. Put a sigmoid on the output layer for Nielsen's
    network.py set-up.
    """

    name = "mse"
    description = "quadratic cost (1/2n) sum ||output - target||^2 (Nielsen)"
    expects_linear_outputs = False
    threshold = 0.5

    def __call__(self, outputs, y):
        n = outputs.shape[0]
        diff = outputs - _targets(outputs, y)
        loss = 0.5 * float(np.vdot(diff, diff)) / n
        diff /= n
        return loss, diff


@REGISTRY.register(
    "bce_with_logits", "binary_cross_entropy", "bce", "sigmoid_cross_entropy", "binary_crossentropy"
)
class BinaryCrossEntropyWithLogits(Loss):
    """Cross-entropy of sigmoid outputs, computed on the logits o:

    L = (1/n) sum_i sum_j [max(o, 0) - o t + log(1 + e^{-|o|})]
      = -(1/n) sum [t log s(o) + (1 - t) log(1 - s(o))];   dL/do = (s(o) - t) / n.

    With integer labels and k > 1 outputs the targets are one-hot: Nielsen's network2.py cost
    (cross-entropy on sigmoid output neurons). With one output, y is 0 or 1.
    """

    name = "bce_with_logits"
    description = "sigmoid + binary cross-entropy per output, on the logits (Nielsen's network2)"

    def __call__(self, outputs, y):
        n = outputs.shape[0]
        t = _targets(outputs, y)
        o64 = outputs.astype(np.float64, copy=False)
        per = np.maximum(o64, 0) - o64 * t + np.log1p(np.exp(-np.abs(o64)))
        loss = float(per.sum() / n)
        s = np.multiply(outputs, 0.5)
        np.tanh(s, out=s)
        s += 1.0
        s *= 0.5
        s -= t
        s /= n
        return loss, s

    def probabilities(self, outputs):
        """p = s(o) = 1 / (1 + e^{-o}) = (1 + tanh(o / 2)) / 2 per output (no overflow)."""
        o = np.asarray(outputs, dtype=np.float64)
        return _two_columns(0.5 * (1.0 + np.tanh(0.5 * o)))
