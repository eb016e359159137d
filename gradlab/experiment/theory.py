"""Mean-field predictions at initialisation (Poole et al. 2016, Schoenholz et al. 2017).

With weights drawn independently with second moment E[W^2] and biases with E[b^2] = sigma_b^2,
the pre-activation of a wide layer is close to Gaussian with variance

    q(l) = sigma_w^2(l) * m(l-1) + sigma_b^2,    sigma_w^2(l) = fan_in(l) * E[W(l)^2],
    m(l) = E_z[ f(sqrt(q(l)) z)^2 ],             z ~ N(0, 1),

where m(0) is the mean square of the input features. The per-layer gradient gain is

    chi(l) = sigma_w^2(l) * E_z[ f'(sqrt(q(l)) z)^2 ]

(chi < 1 layer after layer: vanishing gradients; chi > 1: exploding). Gaussian expectations use
Gauss-Legendre quadrature on each side of z = 0 (where the ReLU family bends), which converges
exponentially on each smooth piece; for maxout the maximum of k independent pieces is
integrated against its order-statistic density.

Batch-norm inside a block makes q = 1 (gamma = 1, beta = 0 at initialisation) and divides the
gradient gain by the variance of what it normalises; dropout with rate p multiplies both the mean
square it passes on and the back-propagated second moment by 1 / (1 - p); a stand-alone batch-norm
resets the mean square to 1 (see :func:`predict` for every case).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from gradlab.engine import Network
from gradlab.engine.activations import Activation, Maxout
from gradlab.engine.layers import BatchNorm, Dense, Dropout

QUADRATURE_POINTS = 96  # Gauss-Legendre points on each side of the kink
LIMIT = 12.0  # the integrals run over z in [-12, 12] standard deviations


@lru_cache(maxsize=4)
def _legendre(n: int = QUADRATURE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _gaussian_nodes(kink: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights with sum_i w_i g(x_i) ~ E[g(z)], z ~ N(0, 1), for a g that is smooth
    except at ``kink`` (where ReLU-like activations bend or jump in derivative).

    Composite Gauss-Legendre on [-L, kink] and [kink, L]: exponential convergence on each
    smooth piece, where Gauss-Hermite (odd orders) puts a node on the kink and converges slowly.
    """
    t, w = _legendre()
    k = min(max(kink, -LIMIT), LIMIT)
    xs, ws = [], []
    for a, b in ((-LIMIT, k), (k, LIMIT)):
        if b - a > 1e-12:
            xs.append(0.5 * (b - a) * t + 0.5 * (a + b))
            ws.append(0.5 * (b - a) * w)
    x = np.concatenate(xs)
    wt = np.concatenate(ws) * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return x, wt


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


def gaussian_moments(act: Activation, q: float, mu: float = 0.0) -> tuple[float, float, float]:
    """(E[f(h)], E[f(h)^2], E[f'(h)^2]) for h = mu + sqrt(q) z, z ~ N(0, 1)."""
    s = math.sqrt(max(q, 0.0))
    if isinstance(act, Maxout):
        x, w = _max_density(act.pieces)
        a = mu + s * x
        return float(w @ a), float(w @ (a * a)), 1.0
    # the activations bend at z = 0 (ReLU family) or nowhere: split the integral there
    x, w = _gaussian_nodes(-mu / s if s > 0 else 0.0)
    z = (mu + s * x)[None, :]
    with np.errstate(over="ignore", invalid="ignore"):
        a = act.forward(z.copy())
        d = act.derivative(z, a)
    a, d = a[0], d[0]
    return float(w @ a), float(w @ (a * a)), float(w @ (d * d))


def predict(
    net: Network, input_mean_square: float, input_variance: float | None = None
) -> dict[str, np.ndarray]:
    """Per-block predictions at initialisation, from the network's initialisers (not its draws).

    Parameters
    ----------
    net : the network (its modules in order: dense blocks, stand-alone batch-norm and dropout).
    input_mean_square : m(0), the mean of x^2 over the inputs.
    input_variance : the mean over input features of their variance (what a batch-norm in the
        first block sees: it removes each feature's mean); default ``input_mean_square``
        (centred inputs).

    Returns
    -------
    Arrays of length L (one per dense block, output last): ``q`` (variance of z, the input of
    f), ``pre_std`` = sqrt(q), ``act_mean``, ``act_std`` (of f(z)), and ``chi``, the gain of the
    block's own map out(l-1) -> out(l) on the back-propagated second moment (the mean squared
    singular value of that Jacobian):

    - plain block: chi = sigma_w^2 E[f'(z)^2];
    - batch-norm in the block: back-propagation through BN divides by the batch std of
      z_lin = x W + b, so chi = sigma_w^2 E[f'(z)^2] / var(z_lin), with
      var(z_lin) = sigma_w^2 * (mean variance of the block's input features) (BN removes the
      means and the bias) and z ~ N(0, 1) (gamma = 1, beta = 0 at initialisation);
    - inverted dropout with drop probability p on the block's output (in the block, or a
      stand-alone dropout right after it): out = a m / (1 - p) with m ~ Bernoulli(1 - p), so
      E[(m / (1 - p))^2] = 1 / (1 - p) multiplies chi (and the mean square passed on);
    - a stand-alone batch-norm before the block divides its chi by the variance of what it
      normalises (and resets the mean square passed on to 1);
    - a stand-alone dropout before the first block counts in the first block's chi.

    Biases may have a non-zero mean (z is then N(mean, q)); weights must be zero-centred: from
    the first block whose weights are not (a constant initialisation), the predictions are NaN,
    since the units of a layer are then no longer independent.
    """
    L = len(net.blocks)
    out = {k: np.full(L, np.nan) for k in ("q", "pre_std", "act_mean", "act_std", "chi")}
    m = float(input_mean_square)  # mean square of the signal entering the next module
    var = float(input_variance) if input_variance is not None else m  # its mean feature variance
    mean = math.sqrt(max(m - var, 0.0))  # its mean (the same for every feature)
    pending = 1.0  # gain of stand-alone modules waiting for the next block
    prev: int | None = None  # index of the last block seen
    for mod in net.modules:
        if isinstance(mod, BatchNorm):
            pending /= var if var > 0 else math.nan
            m, var, mean = 1.0, 1.0, 0.0
        elif isinstance(mod, Dropout):
            keep = 1.0 - mod.rate
            m /= keep
            var = m - mean * mean
            if prev is not None:
                out["chi"][prev] /= keep
            else:
                pending /= keep
        elif isinstance(mod, Dense):
            i = mod.index - 1
            if mod.init is None:
                break  # reused (trained) weights: not a random draw, no prediction from here
            if mod.init.mean() != 0.0:
                break  # correlated units (a constant init): mean-field does not apply from here
            sigma_w2 = mod.fan_in * mod.init.second_moment(mod.fan_in, mod.width)
            b = mod.bias_init_obj
            mu_b = b.mean() if b is not None else 0.0
            var_b = b.second_moment(mod.width, mod.width) - mu_b**2 if b is not None else 0.0
            if mod.bn is not None:
                q, mu = 1.0, 0.0
                q_lin = sigma_w2 * var
                gain = 1.0 / q_lin if q_lin > 0 else math.nan
            else:
                q, mu = sigma_w2 * m + var_b, mu_b
                gain = 1.0
            a_mean, m2, d2 = gaussian_moments(mod.act.pointwise(), q, mu)
            out["q"][i] = q
            out["pre_std"][i] = math.sqrt(q)
            out["act_mean"][i] = a_mean
            out["act_std"][i] = math.sqrt(max(m2 - a_mean * a_mean, 0.0))
            out["chi"][i] = sigma_w2 * d2 * gain * pending
            pending = 1.0
            prev = i
            m, mean = m2, a_mean
            if mod.dropout is not None:
                keep = 1.0 - mod.dropout.rate
                m /= keep
                out["chi"][i] /= keep
            var = max(m - mean * mean, 0.0)
    return out
