"""Mean-field predictions at initialisation (Poole et al. 2016, Schoenholz et al. 2017).

With weights drawn independently with second moment E[W^2] and biases with E[b^2] = sigma_b^2,
the pre-activation of a wide layer is close to Gaussian with variance

    q(l) = sigma_w^2(l) * m(l-1) + sigma_b^2,    sigma_w^2(l) = fan_in(l) * E[W(l)^2],
    m(l) = E_z[ f(sqrt(q(l)) z)^2 ],             z ~ N(0, 1),

where m(0) is the mean square of the input features. The per-layer gradient gain is

    chi(l) = sigma_w^2(l) * E_z[ f'(sqrt(q(l)) z)^2 ]

(chi < 1 layer after layer: vanishing gradients; chi > 1: exploding). Gaussian expectations use
Gauss-Hermite quadrature (probabilists' weights), which is exact for polynomials and converges
fast for the smooth activations; for maxout the maximum of k independent pieces is integrated
against its order-statistic density.

Batch-norm inside a block makes q = 1 (gamma = 1, beta = 0 at initialisation); dropout with rate
p multiplies the mean square it passes on by 1 / (1 - p); a stand-alone batch-norm resets the mean
square to 1.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from gradlab.engine import Network
from gradlab.engine.activations import Activation, Maxout
from gradlab.engine.layers import BatchNorm, Dense, Dropout

QUADRATURE_POINTS = 121


@lru_cache(maxsize=4)
def _gauss_hermite(n: int = QUADRATURE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with sum_i w_i g(x_i) ~ E[g(z)], z ~ N(0, 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / math.sqrt(2.0 * math.pi)


@lru_cache(maxsize=8)
def _max_density(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid and trapezoid weights of the density of max(z_1..z_k), z_i ~ N(0, 1) iid:
    k phi(x) Phi(x)^(k-1)."""
    x = np.linspace(-9.0, 9.0, 9001)
    phi = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    Phi = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in x]))
    dens = k * phi * Phi ** (k - 1)
    w = np.full_like(x, x[1] - x[0])
    w[0] = w[-1] = 0.5 * (x[1] - x[0])
    return x, dens * w


def gaussian_moments(act: Activation, q: float) -> tuple[float, float, float]:
    """(E[f(sqrt(q) z)], E[f(sqrt(q) z)^2], E[f'(sqrt(q) z)^2]) for z ~ N(0, 1)."""
    s = math.sqrt(max(q, 0.0))
    if isinstance(act, Maxout):
        x, w = _max_density(act.pieces)
        a = s * x
        return float(w @ a), float(w @ (a * a)), 1.0
    x, w = _gauss_hermite()
    z = (s * x)[None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        a = act.forward(z.copy())
        d = act.derivative(z, a)
    a, d = a[0], d[0]
    return float(w @ a), float(w @ (a * a)), float(w @ (d * d))


def predict(net: Network, input_mean_square: float) -> dict[str, np.ndarray]:
    """Per-block predictions at initialisation, from the network's initialisers (not its draws).

    Returns arrays of length L (one per dense block, output last): ``q`` (pre-activation
    variance), ``pre_std`` = sqrt(q), ``act_mean``, ``act_std`` (of f(z)), ``chi`` (gradient gain).
    """
    L = len(net.blocks)
    out = {k: np.full(L, np.nan) for k in ("q", "pre_std", "act_mean", "act_std", "chi")}
    m = float(input_mean_square)
    for mod in net.modules:
        if isinstance(mod, BatchNorm):
            m = 1.0
        elif isinstance(mod, Dropout):
            m /= 1.0 - mod.rate
        elif isinstance(mod, Dense):
            i = mod.index - 1
            sigma_w2 = mod.fan_in * mod.init.second_moment(mod.fan_in, mod.width)
            sigma_b2 = (
                mod.bias_init_obj.second_moment(mod.width, mod.width)
                if mod.bias_init_obj is not None
                else 0.0
            )
            q = 1.0 if mod.bn is not None else sigma_w2 * m + sigma_b2
            mean, m2, d2 = gaussian_moments(mod.act, q)
            out["q"][i] = q
            out["pre_std"][i] = math.sqrt(q)
            out["act_mean"][i] = mean
            out["act_std"][i] = math.sqrt(max(m2 - mean * mean, 0.0))
            out["chi"][i] = sigma_w2 * d2
            m = m2
            if mod.dropout is not None:
                m /= 1.0 - mod.dropout.rate
    return out
