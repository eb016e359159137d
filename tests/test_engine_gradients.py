"""Finite-difference gradient checks (float64, central differences) for every activation, layer
type, loss, and for whole random networks.

A wrong gradient is the one bug a teacher cannot see in a plot, so every analytic derivative the
engine uses is compared against (f(x + h) - f(x - h)) / 2h with a relative error bound.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlab.engine import Network, activations, losses
from gradlab.errors import SpecError

H = 1e-6


def rel_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-4) -> float:
    """max |a - b| / max(|a| + |b|, floor), elementwise (CS231n's gradient_check measure).

    The floor keeps the finite-difference rounding noise (~1e-10 on values near 0) from
    reading as a relative error.
    """
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)))


def numeric_grad(f, x: np.ndarray, h: float = H) -> np.ndarray:
    """Central differences of the scalar function f() with respect to x, perturbed in place."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * h)
    return g


def away_from_kinks(z: np.ndarray, margin: float = 1e-3) -> np.ndarray:
    """Move values off 0, where ReLU-like derivatives jump."""
    return np.where(np.abs(z) < margin, np.sign(z + 1e-12) * margin * 2, z)


ACTIVATION_CASES = [
    ("linear", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {"alpha": 0.1}),
    ("elu", {"alpha": 1.3}),
    ("selu", {}),
    ("softsign", {}),
    ("softplus", {}),
    ("gelu", {}),
    ("silu", {}),
    ("maxout", {"pieces": 3}),
    ("prelu", {"alpha": 0.2}),
    ("rrelu", {"lower": 0.1, "upper": 0.3}),
]


def test_every_registered_activation_is_checked():
    assert {n for n, _ in ACTIVATION_CASES} == set(activations.names())


@pytest.mark.parametrize(("name", "params"), ACTIVATION_CASES)
def test_activation_backward_matches_finite_differences(name, params):
    rng = np.random.default_rng(1)
    act = activations.get(name, **params)
    z = away_from_kinks(rng.standard_normal((6, 4 * act.pieces)) * 2.5)
    da = rng.standard_normal((6, 4))
    a = act.forward(z)
    assert a.shape == (6, 4)
    dz = act.backward(z, a, da)
    num = numeric_grad(lambda: float(np.sum(act.forward(z) * da)), z)
    assert rel_error(dz, num) < 1e-6, f"{name}: analytic dz differs from finite differences"


@pytest.mark.parametrize(("name", "params"), [c for c in ACTIVATION_CASES if c[0] != "maxout"])
def test_activation_derivative_and_its_maximum(name, params):
    """f'(z) elementwise matches finite differences, and max_derivative is the real maximum."""
    act = activations.get(name, **params)
    z = away_from_kinks(np.linspace(-6, 6, 2001))[None, :]
    a = act.forward(z)
    d = act.derivative(z, a)
    num = (act.forward(z + H) - act.forward(z - H)) / (2 * H)
    assert rel_error(d, num) < 1e-5
    # the grid's largest slope is within 1% of the declared maximum (never above it)
    assert d.max() <= act.max_derivative * 1.0001
    assert d.max() >= act.max_derivative * 0.99


def test_sigmoid_derivative_is_a_quarter_at_zero_and_tiny_in_the_tails():
    act = activations.get("sigmoid")
    z = np.array([[0.0, 10.0, -10.0]])
    d = act.derivative(z, act.forward(z))
    assert d[0, 0] == pytest.approx(0.25)
    assert d[0, 1] < 0.01 * 0.25 and d[0, 2] < 0.01 * 0.25


def _loss_targets(name, rng, n, k):
    if name == "mse":
        return rng.standard_normal((n, k))
    return rng.integers(0, k, n)


@pytest.mark.parametrize("name", losses.names())
@pytest.mark.parametrize("label_form", ["labels", "dense"])
def test_loss_gradient_matches_finite_differences(name, label_form):
    rng = np.random.default_rng(2)
    n, k = 5, 4
    o = rng.standard_normal((n, k)) * 3
    y = rng.integers(0, k, n)
    if label_form == "dense":
        y = rng.random((n, k)) if name == "mse" else losses.one_hot(y, k, np.float64)
    loss = losses.get(name)
    _, d = loss(o.copy(), y)
    num = numeric_grad(lambda: loss(o.copy(), y)[0], o)
    assert rel_error(d, num) < 1e-6


def test_cross_entropy_values_by_hand():
    o = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([2, 1])
    expected = np.mean([-np.log(np.exp(3) / np.exp([1, 2, 3]).sum()), np.log(3)])
    assert losses.get("softmax_cross_entropy")(o, y)[0] == pytest.approx(expected, rel=1e-12)
    # Nielsen's quadratic cost (1/2n) sum ||a - y||^2 with one-hot targets
    a = np.array([[0.2, 0.7], [0.9, 0.1]])
    assert losses.get("mse")(a, np.array([1, 0]))[0] == pytest.approx(
        (0.2**2 + 0.3**2 + 0.1**2 + 0.1**2) / 4
    )
    # binary cross-entropy on sigmoid outputs: -(1/n) sum [y ln s + (1-y) ln(1-s)]
    z = np.array([[0.5, -1.0]])
    s = 1 / (1 + np.exp(-z))
    bce = -(np.log(s[0, 0]) + np.log(1 - s[0, 1]))
    assert losses.get("bce_with_logits")(z, np.array([0]))[0] == pytest.approx(bce, rel=1e-12)


def test_cross_entropy_survives_huge_logits():
    o = np.array([[1e4, -1e4, 0.0]], dtype=np.float32)
    value, d = losses.get("softmax_cross_entropy")(o, np.array([1]))
    assert np.isfinite(value) and value == pytest.approx(2e4, rel=1e-6)
    assert np.all(np.isfinite(d))


def check_network(
    layers, input_dim=3, output_dim=4, n=5, loss_name="softmax_cross_entropy", seed=0, tol=1e-5
):
    """Compare every parameter gradient and dL/dx with finite differences (float64)."""
    net = Network.from_spec(
        layers, input_dim=input_dim, output_dim=output_dim, seed=seed, dtype="float64"
    )
    rng = np.random.default_rng(seed + 100)
    x = rng.standard_normal((n, input_dim))
    y = rng.integers(0, output_dim, n)
    loss = losses.get(loss_name)

    # dropout masks must be the same in every evaluation: a fresh generator with a fixed seed
    def f():
        out = net.forward(x, training=True, rng=np.random.default_rng(7), update_stats=False)
        return loss(out, y)[0]

    out = net.forward(x, training=True, rng=np.random.default_rng(7), update_stats=False)
    _, dout = loss(out, y)
    dx = net.backward(dout)
    analytic = {k: g.copy() for k, g in net.grads.items()}
    for name, p in net.params.items():
        err = rel_error(analytic[name], numeric_grad(f, p))
        assert err < tol, f"{name}: relative error {err:.2e}"
    assert rel_error(dx, numeric_grad(f, x)) < tol, "dL/dx"
    return net


@pytest.mark.parametrize("bias", [True, False])
def test_dense_layer_gradients(bias):
    check_network(
        [
            {
                "units": 6,
                "activation": "tanh",
                "bias": bias,
                "bias_init": {"name": "normal", "std": 1.0},
            }
        ]
    )


def test_batchnorm_in_block_and_standalone_gradients():
    check_network(
        [
            {"units": 5, "activation": "tanh", "batchnorm": True},
            {"type": "batchnorm"},
            {"units": 4, "activation": "sigmoid"},
        ],
        n=7,
    )


def test_dropout_in_block_and_standalone_gradients():
    check_network(
        [
            {"units": 6, "activation": "softsign", "dropout": 0.3},
            {"type": "dropout", "rate": 0.5},
            {"units": 5, "activation": "elu"},
        ],
        n=6,
    )


def test_maxout_network_gradients():
    check_network([{"units": 5, "activation": "maxout", "pieces": 3}])


@pytest.mark.parametrize("loss_name", ["mse", "bce_with_logits"])
def test_network_gradients_under_each_loss(loss_name):
    check_network([{"units": 6, "activation": "sigmoid"}], loss_name=loss_name)


def test_batchnorm_gradient_in_evaluation_mode():
    net = Network.from_spec(
        [{"units": 4, "activation": "tanh", "batchnorm": True}],
        input_dim=3,
        output_dim=2,
        dtype="float64",
    )
    rng = np.random.default_rng(3)
    net.buffers["bn1.running_mean"][:] = rng.standard_normal(4)
    net.buffers["bn1.running_var"][:] = rng.random(4) + 0.5
    x = rng.standard_normal((4, 3))
    y = np.array([0, 1, 1, 0])
    loss = losses.get("ce")
    out = net.forward(x, training=False)
    net.backward(loss(out, y)[1])
    num = numeric_grad(lambda: loss(net.forward(x, training=False), y)[0], net.params["dense1.W"])
    assert rel_error(net.grads["dense1.W"], num) < 1e-5


smooth = ["tanh", "sigmoid", "softsign", "softplus", "gelu", "silu", "selu", "elu", "linear"]


@given(
    depth=st.integers(1, 4),
    widths=st.lists(st.integers(1, 6), min_size=4, max_size=4),
    acts=st.lists(st.sampled_from(smooth), min_size=4, max_size=4),
    bn=st.lists(st.booleans(), min_size=4, max_size=4),
    input_dim=st.integers(1, 4),
    output_dim=st.integers(1, 4),
    seed=st.integers(0, 1000),
)
def test_random_networks_gradients(depth, widths, acts, bn, input_dim, output_dim, seed):
    layers = [{"units": widths[i], "activation": acts[i], "batchnorm": bn[i]} for i in range(depth)]
    loss_name = "bce_with_logits" if output_dim == 1 else "softmax_cross_entropy"
    check_network(
        layers, input_dim=input_dim, output_dim=output_dim, n=6, seed=seed, loss_name=loss_name
    )


@given(
    seed=st.integers(0, 1000),
    pieces=st.integers(2, 3),
    act=st.sampled_from(["relu", "leaky_relu", "maxout", "prelu", "rrelu"]),
)
def test_random_piecewise_linear_networks_gradients(seed, pieces, act):
    extra = {"pieces": pieces} if act == "maxout" else {}
    # random biases: with zero biases an example whose ReLUs are all off gives z = 0 exactly in
    # the next layer, a kink where the finite difference is meaningless
    b = {"bias_init": {"name": "normal", "std": 0.5}}
    layers = [{"units": 5, "activation": act, **b, **extra},
              {"units": 4, "activation": act, **b, **extra}]
    # a kink within H of a pre-activation is astronomically unlikely at these scales
    check_network(layers, seed=seed)


# ============================================================================ PReLU and RReLU
def _net_loss(net, x, y, training, loss):
    def f():
        out = net.forward(x, training=training, rng=np.random.default_rng(7), update_stats=False)
        return loss(out, y)[0]

    return f


@pytest.mark.parametrize("training", [True, False])
def test_prelu_gradient_on_alpha_and_on_the_input(training):
    """PReLU's slopes are a parameter of the layer (one per unit, ``dense1.alpha``): dL/dα and
    dL/dx against central differences in float64, with slopes that differ from unit to unit."""
    net = Network.from_spec(
        [{"units": 6, "activation": "prelu", "bias_init": {"name": "normal", "std": 0.5}},
         {"units": 5, "activation": "prelu", "alpha": 0.1, "dropout": 0.2}],
        input_dim=3, output_dim=4, seed=2, dtype="float64",
    )
    rng = np.random.default_rng(5)
    net.params["dense1.alpha"][:] = rng.uniform(-0.3, 0.9, 6)
    net.params["dense2.alpha"][:] = rng.uniform(0.0, 0.5, 5)
    assert net.params["dense1.alpha"] is net.blocks[0].act.slopes  # the optimiser's array
    x, y = rng.standard_normal((7, 3)) * 2, rng.integers(0, 4, 7)
    loss = losses.get("ce")
    f = _net_loss(net, x, y, training, loss)
    out = net.forward(x, training=training, rng=np.random.default_rng(7), update_stats=False)
    dx = net.backward(loss(out, y)[1])
    analytic = {k: g.copy() for k, g in net.grads.items()}
    for name in ("dense1.alpha", "dense2.alpha", "dense1.W", "dense2.b"):
        err = rel_error(analytic[name], numeric_grad(f, net.params[name]))
        assert err < 1e-6, f"{name}: relative error {err:.2e}"
    assert np.abs(analytic["dense1.alpha"]).max() > 1e-3  # the check is not vacuous
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6


def test_prelu_alpha_gradient_formula_by_hand():
    """dL/dα_j = Σ_i dL/da_ij · min(z_ij, 0)."""
    act = activations.get("prelu", alpha=0.25)
    act.build(3, np.float64)
    z = np.array([[-1.0, 2.0, -0.5], [3.0, -2.0, -4.0]])
    da = np.array([[0.5, 1.0, 2.0], [1.0, 3.0, -1.0]])
    act.backward(z, act.forward(z), da)
    np.testing.assert_array_equal(act.dslopes, [-0.5, -6.0, -1.0 + 4.0])


def test_rrelu_gradient_with_a_fixed_draw_and_in_evaluation():
    """Training: a slope drawn per element from U(lower, upper) (the same draw in every pass of
    the check); evaluation: the mean slope. Both against central differences."""
    layers = [{"units": 6, "activation": "rrelu", "lower": 0.05, "upper": 0.6,
               "bias_init": {"name": "normal", "std": 0.5}},
              {"units": 4, "activation": "rrelu"}]
    check_network(layers, seed=3, tol=1e-6)
    net = Network.from_spec(layers, input_dim=3, output_dim=4, seed=3, dtype="float64")
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 4, 6)
    loss = losses.get("ce")
    f = _net_loss(net, x, y, False, loss)
    out = net.forward(x, training=False)
    dx = net.backward(loss(out, y)[1])
    assert rel_error(net.grads["dense1.W"].copy(), numeric_grad(f, net.params["dense1.W"])) < 1e-6
    assert rel_error(dx, numeric_grad(f, x)) < 1e-6


def test_rrelu_draws_in_training_and_uses_the_mean_in_evaluation():
    act = activations.get("rrelu", lower=0.1, upper=0.3)
    z = -np.ones((2000, 5))
    a = act.forward_train(z, np.random.default_rng(0))
    slopes = -a
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3
    assert slopes.std() > 0.05  # a fresh slope per element
    assert slopes.mean() == pytest.approx(0.2, abs=0.005)
    np.testing.assert_allclose(act.derivative(z, a), slopes, rtol=1e-12)  # a / z: the draw
    np.testing.assert_array_equal(act.forward(z), np.full((2000, 5), -0.2))
    with pytest.raises(SpecError, match="upper: must be >= lower"):
        activations.get("rrelu", lower=0.3, upper=0.1)


def test_prelu_learns_a_slope_per_unit():
    """After training, the slopes have moved and differ between units."""
    from gradlab.engine import optimizers

    net = Network.from_spec([{"units": 8, "activation": "prelu"}], 2, 2, seed=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    opt = optimizers.get("adam", lr=0.05)
    loss = losses.get("ce")
    for _ in range(200):
        out = net.forward(x)
        net.backward(loss(out, y)[1], input_grad=False)
        opt.step(net.params, net.grads)
    alpha = net.params["dense1.alpha"]
    assert alpha.dtype == np.float32 and alpha.shape == (8,)
    assert np.abs(alpha - 0.25).max() > 0.05 and alpha.std() > 0.01
