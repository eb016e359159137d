"""Input preprocessing (CS231n lecture 6): fitted on the training split, applied to every split.

Each method is a pair ``fit_<method>(x_train) -> state`` and ``apply_<method>(state, x) -> x'``,
where ``state`` is a dict of float64 arrays (what a session file stores as ``.npy``) and
``x: (n, d)``. Applying a stored state never refits, so a reopened session sees exactly the same
inputs.

=============  =========================================================  =================
method         formula (statistics over the training rows only)           state
=============  =========================================================  =================
none           x' = x                                                     {}
center         x' = x - μ                                                 mean (d,)
standardize    x' = (x - μ) / σ,  σ_j = 1 where σ_j <= 1e-8               mean, std (d,)
minmax         x' = (x - min) / (max - min),  range 1 where range <= 1e-8 min, range (d,)
pca_whiten     x' = ((x - μ) U) / sqrt(λ + ε)                             mean (d,),
                                                                          components (d, d),
                                                                          scale (d,)
=============  =========================================================  =================

Constant features: a pixel that never changes on the training images (MNIST's border) has
σ = 0. Dividing by a floor of 1e-8 would map it to 0 on train but blow any non-zero value it
takes on validation or test images up to ~1e8, so features whose spread is at or below the floor
are only shifted (divided by 1). On train they become exactly 0 either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gradlab.errors import SpecError

#: the preprocessing methods a spec may name, in the order a form should list them
METHODS = ("none", "center", "standardize", "minmax", "pca_whiten")

#: spreads at or below this are treated as a constant feature
SPREAD_FLOOR = 1e-8

State = dict[str, np.ndarray]


def _f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _out(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def fit_none(x: np.ndarray, **_: float) -> State:
    """No statistics."""
    return {}


def apply_none(state: State, x: np.ndarray) -> np.ndarray:
    """x' = x."""
    return _out(x)


def fit_center(x: np.ndarray, **_: float) -> State:
    """μ_j = mean_i x_ij over the training rows ``x: (n, d)``."""
    return {"mean": _f64(x).mean(axis=0)}


def apply_center(state: State, x: np.ndarray) -> np.ndarray:
    """x' = x - μ."""
    return _out(_f64(x) - state["mean"])


def fit_standardize(x: np.ndarray, **_: float) -> State:
    """μ_j and σ_j (population std) per feature; σ_j = 1 for constant features (σ_j <= 1e-8)."""
    x = _f64(x)
    std = x.std(axis=0)
    return {"mean": x.mean(axis=0), "std": np.where(std > SPREAD_FLOOR, std, 1.0)}


def apply_standardize(state: State, x: np.ndarray) -> np.ndarray:
    """x' = (x - μ) / σ: mean 0 and std 1 per feature on the training rows."""
    return _out((_f64(x) - state["mean"]) / state["std"])


def fit_minmax(x: np.ndarray, **_: float) -> State:
    """min_j and range_j = max_j - min_j per feature; range 1 for constant features."""
    x = _f64(x)
    lo = x.min(axis=0)
    rng = x.max(axis=0) - lo
    return {"min": lo, "range": np.where(rng > SPREAD_FLOOR, rng, 1.0)}


def apply_minmax(state: State, x: np.ndarray) -> np.ndarray:
    """x' = (x - min) / range: [0, 1] on the training rows (constant features -> 0)."""
    return _out((_f64(x) - state["min"]) / state["range"])


def fit_pca_whiten(x: np.ndarray, *, whiten_eps: float = 1e-5, **_: float) -> State:
    """PCA whitening statistics.

    Parameters
    ----------
    x : (n, d) training rows.
    whiten_eps : ε as a fraction of the largest eigenvalue: ε = whiten_eps · λ_max.

    Returns
    -------
    ``mean`` μ (d,); ``components`` U (d, d), the eigenvectors of the training covariance
    C = (x - μ)ᵀ(x - μ) / n as columns, largest eigenvalue first, each signed so its largest
    entry is positive; ``scale`` sqrt(λ + ε) (d,).

    Notes
    -----
    The whitened training rows have covariance diag(λ / (λ + ε)) ≈ I for every direction whose
    variance is well above ε; directions with (almost) no variance are damped instead of being
    blown up.
    """
    x = _f64(x)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(len(x), 1)
    lam, vecs = np.linalg.eigh(cov)
    order = np.argsort(lam)[::-1]
    lam = np.clip(lam[order], 0.0, None)
    vecs = vecs[:, order]
    # a deterministic sign, so the same data gives the same rotation on any BLAS
    big = np.argmax(np.abs(vecs), axis=0)
    signs = np.where(vecs[big, np.arange(vecs.shape[1])] < 0, -1.0, 1.0)
    vecs = vecs * signs
    eps = whiten_eps * lam[0] if lam.size and lam[0] > 0 else whiten_eps
    return {"mean": mean, "components": np.ascontiguousarray(vecs), "scale": np.sqrt(lam + eps)}


def apply_pca_whiten(state: State, x: np.ndarray) -> np.ndarray:
    """x' = ((x - μ) U) / sqrt(λ + ε), ``x: (n, d)`` -> ``(n, d)``."""
    return _out(((_f64(x) - state["mean"]) @ state["components"]) / state["scale"])


FIT: dict[str, Callable[..., State]] = {
    "none": fit_none,
    "center": fit_center,
    "standardize": fit_standardize,
    "minmax": fit_minmax,
    "pca_whiten": fit_pca_whiten,
}

APPLY: dict[str, Callable[[State, np.ndarray], np.ndarray]] = {
    "none": apply_none,
    "center": apply_center,
    "standardize": apply_standardize,
    "minmax": apply_minmax,
    "pca_whiten": apply_pca_whiten,
}

#: the arrays each method's state holds, with their shape as a function of the input dimension d
STATE_SHAPES: dict[str, dict[str, Callable[[int], tuple[int, ...]]]] = {
    "none": {},
    "center": {"mean": lambda d: (d,)},
    "standardize": {"mean": lambda d: (d,), "std": lambda d: (d,)},
    "minmax": {"min": lambda d: (d,), "range": lambda d: (d,)},
    "pca_whiten": {
        "mean": lambda d: (d,), "components": lambda d: (d, d), "scale": lambda d: (d,)
    },
}


def check_state(method: str, state: Mapping[str, np.ndarray], dim: int, field: str) -> State:
    """A stored state as float64 arrays, or a SpecError saying which array is missing or wrong.

    ``field`` is the spec path of the ``preprocess`` key (e.g. ``"data.preprocess"``).
    """
    if not isinstance(state, Mapping):
        raise SpecError(field, f"stored statistics must be a dict of arrays, got "
                               f"{type(state).__name__}")
    wanted = STATE_SHAPES[method]
    extra = sorted(set(state) - set(wanted))
    if extra:
        raise SpecError(field, f"stored statistics for {method!r} hold unexpected arrays "
                               f"{', '.join(map(repr, extra))} (expected: "
                               f"{', '.join(wanted) or 'none'})")
    out: State = {}
    for key, shape_of in wanted.items():
        if key not in state:
            raise SpecError(field, f"stored statistics for {method!r} lack the array {key!r}")
        arr = np.asarray(state[key])
        if arr.dtype.kind not in "fiu":
            raise SpecError(field, f"stored statistics array {key!r} must be numeric, got "
                                   f"dtype {arr.dtype}")
        if arr.shape != shape_of(dim):
            raise SpecError(field, f"stored statistics array {key!r} has shape {arr.shape}, "
                                   f"but this dataset needs {shape_of(dim)}")
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise SpecError(field, f"stored statistics array {key!r} holds NaN or infinity")
        out[key] = arr
    for key in ("std", "range", "scale"):
        if key in out and np.any(out[key] <= 0):
            raise SpecError(field, f"stored statistics array {key!r} must be > 0 everywhere")
    return out


def fit(method: str, x_train: np.ndarray, *, whiten_eps: float = 1e-5) -> State:
    """Fit ``method`` on the training rows ``x_train: (n, d)``."""
    return FIT[method](x_train, whiten_eps=whiten_eps)


def apply(method: str, state: State, x: np.ndarray) -> np.ndarray:
    """Apply a fitted ``state`` to ``x: (n, d)``; float32, C-contiguous."""
    return APPLY[method](state, x)


__all__ = ["METHODS", "apply", "check_state", "fit"]
