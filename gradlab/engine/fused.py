"""A weight gradient kept as its two factors, and the update that uses it without forming it.

A dense layer's weight gradient is a sum of outer products over the batch::

    dW = x^T d        x: (batch, fan_in) the layer's input,  d: (batch, fan_out) = dL/dz_lin

so ``dW: (fan_in, fan_out)`` is as large as ``W``. On a training step that no probe reads, the
network may leave ``dW`` unformed (:meth:`gradlab.engine.network.Network.backward` with
``weight_grads=False`` keeps ``(x, d)`` in :attr:`~gradlab.engine.network.Network.deferred`)
and the optimiser forms it a block of rows at a time, in cache, right where it updates ``W``
(:func:`outer_update`): ``W`` and the optimiser's state are read and written once, and the
``fan_in x fan_out`` gradient never goes to memory. On a batch-10 step of Glorot's
1024-[1000]x5-9 network that is 20 MB of the ~100 MB a step would otherwise move.

The global gradient norm the trainer records (and clips by) needs ``||dW||``, which the factors
give without ``dW``::

    ||x^T d||_F^2 = sum_ij (x x^T)_ij (d d^T)_ij        (two (batch, batch) Gram matrices)

computed in float64 (:func:`outer_sq_norm`): ``2 b^2 (fan_in + fan_out)`` operations instead
of ``b fan_in fan_out``, so it is used where it is the cheaper of the two
(:func:`worth_deferring`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from gradlab.engine import regularization

#: rows of W per block of :func:`outer_update` are chosen so that a block holds about this many
#: elements: 64 K float32 = 256 KB per array, so W, its gradient, two state arrays and the
#: scratch of a block stay in a 2 MB L2 cache together
BLOCK_ELEMENTS = 65_536


def worth_deferring(batch: int, fan_in: int, fan_out: int) -> bool:
    """True when the Gram form of ``||x^T d||`` (2 b^2 (m + n) float64 operations, counted
    twice for the dtype) costs less than forming ``dW`` (b m n): small batches of wide layers."""
    return 4 * batch * (fan_in + fan_out) <= fan_in * fan_out


def outer_sq_norm(x: np.ndarray, d: np.ndarray) -> float:
    """``||x^T d||_F^2`` from the factors, in float64: ``sum((x x^T) * (d d^T))``.

    ``x: (batch, fan_in)``, ``d: (batch, fan_out)``. Each term is a product of two float64 dot
    products, so the result is at least as accurate as the float32 sum of squares of a formed
    ``dW`` (whose elements are float32 sums over the batch). NaN or inf in a factor gives a
    non-finite result, as it would in ``dW``.
    """
    x64 = x.astype(np.float64)
    d64 = d.astype(np.float64)
    gx = x64 @ x64.T
    gd = d64 @ d64.T
    return float(np.vdot(gx, gd))


def form(x: np.ndarray, d: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``dW = x^T d`` into ``out`` (the gradient as the unfused backward pass forms it)."""
    return np.matmul(x.T, d, out=out)


def outer_update(
    direction: Callable,
    w: np.ndarray,
    x: np.ndarray,
    d: np.ndarray,
    slots: tuple[np.ndarray, ...],
    bufs: tuple[np.ndarray, ...],
    c: tuple,
    scale: float | None,
    gblock: np.ndarray,
) -> None:
    """One optimiser step of ``w`` with gradient ``g = x^T d``, a block of rows at a time.

    For each block of rows ``r`` of ``w: (fan_in, fan_out)``::

        g_r = x[:, r]^T d                   (formed in ``gblock``, in cache)
        w_r <- scale * w_r                  (decoupled weight decay; skipped when None)
        w_r <- w_r + direction(g_r, slots_r, bufs_r)

    which is :meth:`gradlab.engine.optimizers.Optimizer.step` row block by row block: every
    rule is element-wise, so only the order of the elements changes, not the arithmetic (up to
    the rounding of the matrix product, whose blocking is the BLAS's choice). ``slots`` are
    the parameter's state arrays (shaped like ``w``), ``bufs`` its scratch (at least as large
    as a block), ``gblock`` a flat scratch of at least one block.
    """
    m, n = w.shape
    if x.shape[1] != m or d.shape[1] != n or x.shape[0] != d.shape[0]:
        raise ValueError(
            f"gradient factors {x.shape} and {d.shape} do not make a {w.shape} gradient"
        )
    rows = max(1, min(m, BLOCK_ELEMENTS // max(n, 1)))
    flat_bufs = tuple(b.reshape(-1) for b in bufs)
    xt = x.T
    matmul, add, multiply = np.matmul, np.add, np.multiply
    for r0 in range(0, m, rows):
        r1 = min(r0 + rows, m)
        size = (r1 - r0) * n
        g = gblock[:size].reshape(r1 - r0, n)
        matmul(xt[r0:r1], d, out=g)
        wr = w[r0:r1]
        if scale is not None:
            multiply(wr, scale, out=wr)
        delta = direction(
            g,
            tuple(s[r0:r1] for s in slots),
            tuple(b[:size].reshape(r1 - r0, n) for b in flat_bufs),
            c,
        )
        add(wr, delta, out=wr)


#: a global norm from factors at or above this is formed and summed again the usual way
#: (a float32 dW element, or a partial sum of one, could overflow where the float64 Gram
#: form did not)
SAFE_NORM = 1e30


def global_norm(
    grads: Mapping[str, np.ndarray], outer: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> float:
    """:func:`gradlab.engine.regularization.global_norm` of ``grads`` where the gradients named
    in ``outer`` are the factors ``(x, d)`` (``grads[name]`` is not read): the formed ones'
    squares plus :func:`outer_sq_norm` of each factored one in ``grads``."""
    if not outer:
        return regularization.global_norm(grads)
    formed = [k for k in grads if k not in outer]
    sq = regularization.global_norm(grads, formed) ** 2
    for name, (x, d) in outer.items():
        if name in grads:
            sq += outer_sq_norm(x, d)
    return math.sqrt(sq) if sq >= 0 else math.nan


def clip_by_global_norm(
    grads: Mapping[str, np.ndarray],
    outer: dict[str, tuple[np.ndarray, np.ndarray]],
    max_norm: float,
    norm: float,
) -> tuple[bool, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """:func:`gradlab.engine.regularization.clip_by_global_norm` with factored gradients: the
    formed gradients are scaled in place by ``c / norm`` when ``norm > c``, and each factored
    one by a scaled copy of its ``d`` (``x^T (s d) = s x^T d``; the layer's ``delta`` tap is
    left as it was). Returns ``(clipped, outer)``, ``outer`` with the scaled factors."""
    formed = {k: g for k, g in grads.items() if k not in outer} if outer else grads
    _, clipped = regularization.clip_by_global_norm(formed, max_norm, norm)
    if clipped and outer:
        s = max_norm / norm
        outer = {k: (x, d * s) for k, (x, d) in outer.items()}
    return clipped, outer
