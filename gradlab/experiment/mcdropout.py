"""Monte Carlo dropout (Gal & Ghahramani, 2016; Hands-On ML ch. 11): evaluate with dropout kept
on, N stochastic passes, and average their predicted probabilities.

For each example, with ``o_k`` the outputs of pass k (:meth:`Network.forward_mc_dropout`:
dropout on, batch norm on its running averages):

- softmax cross-entropy: ``p = (1/N) Σ_k softmax(o_k)``, loss ``−log p_y``, prediction
  ``argmax p``;
- sigmoid (binary) cross-entropy: ``p = (1/N) Σ_k σ(o_k)`` per output;
- squared error: the mean output ``(1/N) Σ_k o_k``.

The averaged probabilities are turned back into logits (``log p``; ``log p − log(1 − p)``) so
the run's own loss and accuracy score them exactly as they score a plain evaluation.
"""

from __future__ import annotations

import numpy as np

from gradlab.engine import Network, losses

#: probabilities are kept at least this far from 0 and 1 before taking logs
P_FLOOR = 1e-12


def _probabilities(loss: losses.Loss, out: np.ndarray) -> np.ndarray:
    o = out.astype(np.float64, copy=False)
    if loss.name == "softmax_cross_entropy":
        e = np.exp(o - o.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if loss.name == "bce_with_logits":
        return 0.5 * (1.0 + np.tanh(0.5 * o))
    return o.copy()


def _logits(loss: losses.Loss, p: np.ndarray) -> np.ndarray:
    if loss.name == "softmax_cross_entropy":
        return np.log(np.maximum(p, P_FLOOR))
    if loss.name == "bce_with_logits":
        p = np.clip(p, P_FLOOR, 1.0 - P_FLOOR)
        return np.log(p) - np.log1p(-p)
    return p


def averaged_outputs(net: Network, loss: losses.Loss, x: np.ndarray, passes: int,
                     rng: np.random.Generator) -> np.ndarray:
    """The MC-dropout outputs of ``x`` (batch, k), float64, as logits of the averaged
    probabilities of ``passes`` stochastic passes (masks from ``rng``)."""
    total = None
    for _ in range(passes):
        p = _probabilities(loss, net.forward_mc_dropout(x, rng))
        total = p if total is None else total + p
    return _logits(loss, total / passes)


def metrics(net: Network, loss: losses.Loss, x: np.ndarray, y: np.ndarray, passes: int,
            rng: np.random.Generator, chunk: int = 2000) -> tuple[float, float]:
    """(loss, accuracy) of MC dropout with ``passes`` passes on ``x, y``."""
    total = correct = 0.0
    with np.errstate(all="ignore"):
        for i in range(0, len(x), chunk):
            out = averaged_outputs(net, loss, x[i : i + chunk], passes, rng)
            value, _ = loss(out, y[i : i + chunk])
            total += value * len(out)
            correct += losses.accuracy(loss, out, y[i : i + chunk]) * len(out)
    return total / len(x), correct / len(x)
