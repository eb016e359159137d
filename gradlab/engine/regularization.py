"""Regularisation and gradient clipping on the ``params`` / ``grads`` dicts.

Conventions
-----------
- **Penalty.** For the named weights (the trainer passes the ``"*.W"`` names, not biases or
  batch-norm parameters)

  .. math:: R(W) = λ_1 \\sum |W| + \\frac{λ_2}{2} \\sum W^2

  with gradient ``λ1 sign(W) + λ2 W``. The ½ makes ``l2`` the coefficient of the gradient, as in
  PyTorch's ``weight_decay`` (for SGD) and CS231n; Keras' ``l2(λ)`` is ``λ Σ W²`` (so Keras' λ is
  our ``l2 / 2``). ``sign(0) = 0`` is the sub-gradient used for ``|W|`` at 0.
- **Gradient clipping** (Pascanu et al.; Hands-On ML) either clips every element to
  ``[−limit, limit]`` (which can change the gradient's direction) or rescales all gradients
  together so that their global norm ``√(Σ ||g||²)`` is at most ``max_norm`` (direction kept).
- **Max-norm** (Hands-On ML, Srebro & Shraibman): after each step, every unit's incoming weight
  vector, the column ``W[:, j]`` of ``W: (fan_in, fan_out)``, is rescaled to
  ``w ← w · r / ||w||₂`` when ``||w||₂ > r``.

Functions that modify their argument say so and work in place; none changes a dtype. Sums are
accumulated in float64 and returned as Python floats.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np

from gradlab import validate

__all__ = [
    "add_penalty_grads",
    "apply_max_norm",
    "clip_by_global_norm",
    "clip_by_value",
    "global_norm",
    "penalty",
]


def _sum_sq(arrays) -> float:
    """Σ a² over the arrays, as a Python float (float64 accumulation across arrays).

    Each array's sum is ``np.vdot`` in its own dtype; if the total is not finite (float32
    squares overflow above about 1.8e19) the sums are redone in float64.
    """
    total = 0.0
    for a in arrays:
        r = a.ravel()
        total += float(np.vdot(r, r))
    if not math.isfinite(total):
        total = 0.0
        for a in arrays:
            r = a.ravel().astype(np.float64, copy=False)
            total += float(np.vdot(r, r))
    return total


def _selected(d: Mapping[str, np.ndarray], names: Iterable[str] | None):
    """The named arrays (all if ``names`` is None), as a collection that can be iterated twice."""
    return d.values() if names is None else [d[n] for n in names]


def global_norm(grads: Mapping[str, np.ndarray], names: Iterable[str] | None = None) -> float:
    """The global L2 norm of the named gradients (all of them if ``names`` is None).

    Returns
    -------
    float
        ``√(Σ_k ||g_k||²)``: each ``||g_k||²`` by ``np.vdot`` of the raveled array, summed in
        float64. Gradients so large that their float32 squares overflow are summed again in
        float64, so an exploding gradient reports its true norm instead of ``inf``.
    """
    return math.sqrt(_sum_sq(_selected(grads, names)))


def clip_by_value(grads: Mapping[str, np.ndarray], limit: float) -> bool:
    """Clip every gradient element to ``[−limit, limit]``, in place.

    Returns
    -------
    bool
        True if any element was outside the range (and was clipped).
    """
    limit = validate.number(limit, "limit", exclusive_minimum=0.0)
    clipped = False
    for g in grads.values():
        if g.size and (g.max() > limit or g.min() < -limit):
            np.clip(g, -limit, limit, out=g)
            clipped = True
    return clipped


def clip_by_global_norm(grads: Mapping[str, np.ndarray], max_norm: float,
                        norm: float | None = None) -> tuple[float, bool]:
    """Rescale all gradients together so that their global norm is at most ``max_norm``, in place.

    Parameters
    ----------
    grads : dict name -> ndarray
    max_norm : float
        c > 0.
    norm : float, optional
        The global norm of ``grads`` if already computed (e.g. for the probes); computed with
        :func:`global_norm` otherwise.

    Returns
    -------
    (norm_before, clipped) : (float, bool)
        When ``norm > c`` every gradient is multiplied by ``c / norm`` and ``clipped`` is True.
        A non-finite norm (a NaN or inf gradient) is returned as it is and nothing is scaled:
        the trainer treats it as a diverged step.
    """
    max_norm = validate.number(max_norm, "max_norm", exclusive_minimum=0.0)
    if norm is None:
        norm = global_norm(grads)
    norm = float(norm)
    if not (math.isfinite(norm) and norm > max_norm):
        return norm, False
    scale = max_norm / norm
    for g in grads.values():
        np.multiply(g, scale, out=g)
    return norm, True


def penalty(params: Mapping[str, np.ndarray], l1: float, l2: float,
            names: Iterable[str] | None) -> float:
    """The regularisation term added to the loss: ``l1 Σ|W| + (l2/2) Σ W²`` over ``names``.

    Parameters
    ----------
    params : dict name -> ndarray
    l1, l2 : float
        λ1, λ2 >= 0.
    names : iterable of str, or None
        The weights to penalise (the trainer passes the ``"*.W"`` names); None means all.
    """
    l1 = validate.number(l1, "l1", minimum=0.0)
    l2 = validate.number(l2, "l2", minimum=0.0)
    if l1 == 0.0 and l2 == 0.0:
        return 0.0
    weights = _selected(params, names)
    abs_sum = sum(float(np.abs(w).sum(dtype=np.float64)) for w in weights) if l1 else 0.0
    sq_sum = _sum_sq(weights) if l2 else 0.0
    return l1 * abs_sum + 0.5 * l2 * sq_sum


def add_penalty_grads(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
                      l1: float, l2: float, names: Iterable[str] | None) -> None:
    """Add the gradient of :func:`penalty` to ``grads``, in place: ``g += l1 sign(W) + l2 W``."""
    l1 = validate.number(l1, "l1", minimum=0.0)
    l2 = validate.number(l2, "l2", minimum=0.0)
    if l1 == 0.0 and l2 == 0.0:
        return
    for name in (params if names is None else names):
        w = params[name]
        g = grads[name]
        tmp = np.empty_like(w)
        if l1:
            np.sign(w, out=tmp)
            np.multiply(tmp, l1, out=tmp)
            np.add(g, tmp, out=g)
        if l2:
            np.multiply(w, l2, out=tmp)
            np.add(g, tmp, out=g)


def apply_max_norm(params: Mapping[str, np.ndarray], max_norm: float,
                   names: Iterable[str] | None) -> None:
    """Rescale, in place, each unit's incoming weight vector to an L2 norm of at most ``max_norm``.

    For ``W: (fan_in, fan_out)`` the vector of unit ``j`` is the column ``W[:, j]``; arrays with
    more dimensions are treated as ``(..., fan_out)`` (norm over all axes but the last). Columns
    whose norm is ``<= max_norm`` are left bit-for-bit unchanged; the others get norm
    ``max_norm`` (up to rounding in the parameter's dtype).
    """
    r = validate.number(max_norm, "max_norm", exclusive_minimum=0.0)
    for name in (params if names is None else names):
        w = params[name]
        if w.ndim < 2:
            raise ValueError(f"max-norm needs a weight matrix (fan_in, fan_out); {name!r} has "
                             f"shape {w.shape}")
        w2 = w.reshape(-1, w.shape[-1])
        norms = np.sqrt(np.einsum("ij,ij->j", w2, w2, dtype=np.float64))
        over = norms > r
        if not over.any():
            continue
        factor = np.ones_like(norms)
        np.divide(r, norms, out=factor, where=over)
        np.multiply(w, factor.astype(w.dtype, copy=False), out=w)
