"""Mean-field theory at initialisation: Gaussian moments against closed forms and Monte Carlo,
the q recursion against a hand computation, and the overlay against a measured wide network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gradlab.engine import Network, activations, losses
from gradlab.experiment import Experiment
from gradlab.experiment.theory import gaussian_moments, predict

QS = [0.25, 1.0, 4.0]


def expect(g, q: float) -> float:
    """E[g(sqrt(q) z)], z ~ N(0, 1), by the trapezoid rule on a fine grid (for smooth g)."""
    z = np.linspace(-12.0, 12.0, 48001)
    phi = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    f = g(math.sqrt(q) * z) * phi
    return float((f.sum() - 0.5 * (f[0] + f[-1])) * (z[1] - z[0]))  # trapezoid rule


def tanh2(x):
    return np.tanh(x) ** 2


def dtanh2(x):
    return (1.0 - np.tanh(x) ** 2) ** 2


# ------------------------------------------------------------------------- Gaussian moments


@pytest.mark.parametrize("q", QS)
def test_linear_moments(q):
    mean, m2, d2 = gaussian_moments(activations.get("linear"), q)
    assert mean == pytest.approx(0.0, abs=1e-12)
    assert m2 == pytest.approx(q, rel=1e-10)
    assert d2 == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize("q", QS)
def test_relu_second_moment_is_half_q(q):
    _, m2, _ = gaussian_moments(activations.get("relu"), q)
    assert m2 == pytest.approx(q / 2, rel=1e-6)


@pytest.mark.parametrize("q", QS)
def test_relu_derivative_moment_is_one_half(q):
    # f'(z)^2 = 1{z > 0}: half the Gaussian mass, whatever q. He initialisation (chi = 2 * 1/2
    # = 1) rests on this number.
    _, _, d2 = gaussian_moments(activations.get("relu"), q)
    assert d2 == pytest.approx(0.5, abs=1e-3)


@pytest.mark.parametrize("q", QS)
def test_relu_mean_is_sqrt_q_over_2pi(q):
    mean, _, _ = gaussian_moments(activations.get("relu"), q)
    assert mean == pytest.approx(math.sqrt(q / (2 * math.pi)), rel=1e-3)


def test_leaky_relu_derivative_moment():
    alpha = 0.2
    _, m2, d2 = gaussian_moments(activations.get("leaky_relu", alpha=alpha), 1.0)
    assert m2 == pytest.approx((1 + alpha**2) / 2, rel=1e-6)
    assert d2 == pytest.approx((1 + alpha**2) / 2, abs=1e-3)


@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
@pytest.mark.parametrize("q", [0.5, 2.0, 8.0])
def test_smooth_activation_moments_match_monte_carlo(name, q):
    act = activations.get(name)
    z = np.sqrt(q) * np.random.default_rng(123).standard_normal(400_000)
    a = act.forward(z.copy())
    d = act.derivative(z, a)
    n = len(z)
    got = gaussian_moments(act, q)
    for value, sample in zip(got, (a, a * a, d * d)):
        se = sample.std() / math.sqrt(n)
        assert abs(value - sample.mean()) < 5 * se + 1e-12, (name, q, value, sample.mean(), se)


def test_sigmoid_mean_is_one_half_and_its_slope_is_at_most_a_quarter():
    mean, m2, d2 = gaussian_moments(activations.get("sigmoid"), 3.0)
    assert mean == pytest.approx(0.5, abs=1e-12)
    assert 0.25 < m2 < 1.0
    assert 0 < d2 < 0.25**2


def test_maxout_two_pieces_closed_form():
    act = activations.get("maxout", pieces=2)
    mean, m2, d2 = gaussian_moments(act, 1.0)
    assert mean == pytest.approx(1 / math.sqrt(math.pi), rel=1e-6)
    # max^2 + min^2 = z1^2 + z2^2 and both have the same law by symmetry: E[max^2] = 1
    assert m2 == pytest.approx(1.0, rel=1e-6)
    assert d2 == 1.0
    mean4, m24, _ = gaussian_moments(act, 4.0)
    assert mean4 == pytest.approx(2 / math.sqrt(math.pi), rel=1e-6)
    assert m24 == pytest.approx(4.0, rel=1e-6)


def test_maxout_three_pieces_mean():
    # E[max of 3 iid N(0,1)] = 3 / (2 sqrt(pi))
    mean, _, _ = gaussian_moments(activations.get("maxout", pieces=3), 1.0)
    assert mean == pytest.approx(3 / (2 * math.sqrt(math.pi)), rel=1e-6)


# ------------------------------------------------------------------------- predict()


def net_of(layers, input_dim=10, output_dim=5, dtype="float64"):
    return Network.from_spec(layers, input_dim, output_dim, seed=0, dtype=dtype)


def test_predict_follows_the_q_recursion_for_a_tanh_net():
    bias = {"name": "normal", "std": 0.1}
    net = net_of(
        [
            {"units": 20, "activation": "tanh", "init": "glorot_uniform", "bias_init": bias},
            {"units": 30, "activation": "tanh", "init": "glorot_uniform", "bias_init": bias},
            {"type": "output", "init": "glorot_uniform", "bias_init": bias},
        ]
    )
    m0 = 1.7
    sb2 = 0.1**2
    sw2 = [10 * 2 / (10 + 20), 20 * 2 / (20 + 30), 30 * 2 / (30 + 5)]
    q1 = sw2[0] * m0 + sb2
    m1 = expect(tanh2, q1)
    q2 = sw2[1] * m1 + sb2
    m2 = expect(tanh2, q2)
    q3 = sw2[2] * m2 + sb2
    p = predict(net, m0)
    np.testing.assert_allclose(p["q"], [q1, q2, q3], rtol=1e-6)
    np.testing.assert_allclose(p["pre_std"], np.sqrt([q1, q2, q3]), rtol=1e-6)
    np.testing.assert_allclose(p["act_mean"], [0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p["act_std"], np.sqrt([m1, m2, q3]), rtol=1e-6)
    chi = [sw2[0] * expect(dtanh2, q1), sw2[1] * expect(dtanh2, q2), sw2[2]]
    np.testing.assert_allclose(p["chi"], chi, rtol=1e-6)


def test_predict_uses_the_initialisers_second_moment_with_gain():
    net = net_of([{"units": 40, "activation": "linear", "init": "lecun_normal", "gain": 3.0}])
    p = predict(net, 2.0)
    assert p["q"][0] == pytest.approx(9.0 * 2.0)  # fan_in * (9 / fan_in) * m0
    # the output layer inherits the hidden layer's init and gain: q = 9 * 18
    assert p["q"][1] == pytest.approx(9.0 * 18.0)


def test_batchnorm_in_a_block_makes_q_one():
    net = net_of(
        [
            {
                "units": 20,
                "activation": "tanh",
                "init": {"name": "normal", "std": 3.0},
                "batchnorm": True,
            },
            {"units": 20, "activation": "tanh", "init": "glorot_uniform"},
        ]
    )
    p = predict(net, 5.0)
    assert p["q"][0] == 1.0
    m1 = expect(tanh2, 1.0)
    assert p["q"][1] == pytest.approx(20 * 2 / 40 * m1, rel=1e-6)


def test_standalone_batchnorm_resets_the_mean_square():
    net = net_of(
        [
            {"units": 20, "activation": "relu", "init": {"name": "normal", "std": 3.0}},
            {"type": "batchnorm"},
            {"units": 20, "activation": "tanh", "init": "lecun_normal"},
        ]
    )
    p = predict(net, 5.0)
    assert p["q"][1] == pytest.approx(1.0, rel=1e-9)  # 20 * (1/20) * 1


@pytest.mark.parametrize("standalone", [False, True])
def test_dropout_scales_the_mean_square_by_one_over_keep(standalone):
    rate = 0.4
    hidden = {"units": 20, "activation": "tanh", "init": "lecun_normal"}
    if standalone:
        layers = [hidden, {"type": "dropout", "rate": rate}, dict(hidden)]
    else:
        layers = [{**hidden, "dropout": rate}, dict(hidden)]
    net = net_of(layers)
    p = predict(net, 1.0)
    q1 = 10 * (1 / 10) * 1.0
    m1 = expect(tanh2, q1)
    assert p["q"][0] == pytest.approx(q1)
    assert p["q"][1] == pytest.approx(m1 / (1 - rate), rel=1e-6)


def test_he_initialised_relu_net_is_critical():
    # He et al.: sigma_w^2 = 2 makes the gradient gain chi = 2 E[f'^2] = 1 at every layer
    net = net_of([{"units": 50, "activation": "relu", "init": "he_normal"}] * 4)
    p = predict(net, 1.0)
    np.testing.assert_allclose(p["chi"][:4], 1.0, atol=1e-3)
    np.testing.assert_allclose(p["q"][:4], 2.0, rtol=1e-6)  # q stays at 2 m0


def test_theory_overlay_matches_a_wide_tanh_network_at_step_zero():
    spec = {
        "name": "wide",
        "seed": 3,
        "data": {"name": "gaussian", "n": 400, "dim": 1000, "classes": 10},
        "network": {
            "layers": [{"units": 1000, "activation": "tanh", "init": "glorot_uniform"}] * 6
        },
        "training": {"steps": 0},
        "probes": {"jacobian_every": 0, "batch": 400},
    }
    exp = Experiment(spec)
    exp.run(steps=0)
    theory = exp.history.theory
    measured = exp.history.probe(0)["stats"]
    assert len(theory["pre_std"]) == 7
    np.testing.assert_allclose(measured["pre_std"], theory["pre_std"], rtol=0.05)
    np.testing.assert_allclose(measured["act_std"][:6], theory["act_std"][:6], rtol=0.05)
    # the network really shrinks layer after layer (the overlay shows a trend, not a constant)
    assert theory["pre_std"][5] < 0.8 * theory["pre_std"][0]


# ------------------------------------------------------------------------- measured gains


def measured_gains(layers, n: int = 500, d: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(measured, predicted) per-layer gains of the back-propagated second moment on a real
    network: measured[k] = E||delta_k||^2 / E||delta_(k+1)||^2 between hidden blocks k and k+1
    (one forward and backward pass in training mode on Gaussian inputs), predicted = chi[k]."""
    net = Network.from_spec(layers, d, 10, seed=0, dtype="float64")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, d))
    y = rng.integers(0, 10, n)
    out = net.forward(x, training=True, rng=np.random.default_rng(2))
    _, g = losses.get("softmax_cross_entropy")(out, y)
    net.backward(g, input_grad=False)
    ms = np.array([np.mean(np.sum(b.taps["delta"] ** 2, axis=1)) for b in net.blocks])
    chi = predict(net, float(np.mean(x**2)), float(np.mean(np.var(x, axis=0))))["chi"]
    return ms[:-2] / ms[1:-1], chi[:-2]


def geometric_mean(v: np.ndarray) -> float:
    return float(np.exp(np.mean(np.log(v))))


def test_batchnorm_divides_the_gain_by_the_variance_before_it():
    """20 x 500 tanh + batch-norm, LeCun init: the gradients grow 1.18x a layer going down;
    chi = sigma_w^2 E[f'(z)^2] alone says 0.46."""
    layers = [{"units": 500, "activation": "tanh", "init": "lecun_normal", "batchnorm": True}]
    measured, chi = measured_gains(layers * 20)
    mid = slice(4, 16)
    assert geometric_mean(measured[mid]) == pytest.approx(1.18, rel=0.03)
    np.testing.assert_allclose(chi[mid], geometric_mean(measured[mid]), rtol=0.03)
    # (the first block normalises unit-variance inputs: its gain is E[f'^2] = 0.47; the others
    # normalise tanh outputs of variance 0.39)
    assert chi[0] == pytest.approx(0.4665, rel=1e-3) and (chi[1:] > 1.1).all()


def test_dropout_multiplies_the_gain_by_one_over_keep():
    """Inverted dropout with p = 0.5 in every block: E[(m / (1 - p))^2] = 2 on the backward
    second moment (the variance it adds to the forward pass lowers E[f'^2] a little)."""
    layers = [{"units": 500, "activation": "tanh", "init": "lecun_normal", "dropout": 0.5}]
    measured, chi = measured_gains(layers * 20)
    mid = slice(6, 16)
    assert geometric_mean(measured[mid]) > 1.05  # the gradients grow: without dropout 0.93
    np.testing.assert_allclose(chi[mid], geometric_mean(measured[mid]), rtol=0.03)
    plain, _ = measured_gains([{**layers[0], "dropout": 0.0}] * 20)
    assert geometric_mean(plain[mid]) < 0.97


def test_standalone_batchnorm_and_dropout_count_in_the_gain():
    relu_bn = [{"units": 500, "activation": "relu", "init": "he_normal"}, {"type": "batchnorm"}]
    measured, chi = measured_gains(relu_bn * 10)
    # the BN after block k divides block k+1's gain by var(relu(z)) = q (1/2 - 1/(2 pi)), q = 2
    np.testing.assert_allclose(chi[2:-1], geometric_mean(measured[2:]), rtol=0.03)
    assert chi[3] == pytest.approx(1.0 / (2.0 * (0.5 - 1.0 / (2.0 * np.pi))), rel=1e-3)
    tanh_drop = [
        {"units": 500, "activation": "tanh", "init": "lecun_normal"},
        {"type": "dropout", "rate": 0.3},
    ]
    measured, chi = measured_gains(tanh_drop * 10)
    np.testing.assert_allclose(chi[5:], geometric_mean(measured[5:]), rtol=0.03)


def test_the_overlay_uses_the_inputs_variance_for_a_first_batchnorm():
    """Non-centred inputs (pixels in [0, 1]): BN removes their mean, so the first block's gain
    divides by sigma_w^2 var(x), not by sigma_w^2 E[x^2]."""
    spec = {
        "name": "bn",
        "data": {"name": "mnist_like", "n": 600},
        "network": {
            "layers": [
                {"units": 64, "activation": "tanh", "init": "lecun_normal", "batchnorm": True}
            ]
        },
        "training": {"steps": 0},
        "probes": {"jacobian_every": 0, "batch": 256},
    }
    exp = Experiment(spec)
    exp.run(steps=0)
    x = exp.prober.x.astype(np.float64)
    var, ms = float(np.mean(np.var(x, axis=0))), float(np.mean(x**2))
    assert ms > 1.5 * var
    want = predict(exp.network, ms, var)["chi"]
    np.testing.assert_allclose(exp.history.theory["chi"], want)
    assert want[0] == pytest.approx(predict(exp.network, ms)["chi"][0] * ms / var, rel=1e-9)
