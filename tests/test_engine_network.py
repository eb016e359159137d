"""Initialisers' variances, batch-norm and dropout behaviour, spec errors and determinism."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gradlab.engine import Network, initializers, losses
from gradlab.errors import SpecError

FAN_IN, FAN_OUT = 400, 300

# name, params, expected variance of W (fan_in=400, fan_out=300), expected mean
INIT_CASES = [
    ("zeros", {}, 0.0),
    ("constant", {"value": 0.5}, 0.0),
    ("normal", {"std": 0.01}, 0.01**2),
    ("uniform", {"limit": 0.2}, 0.2**2 / 3),
    ("glorot_standard", {}, 1 / (3 * FAN_IN)),
    ("glorot_uniform", {}, 2 / (FAN_IN + FAN_OUT)),
    ("glorot_normal", {}, 2 / (FAN_IN + FAN_OUT)),
    ("he_uniform", {}, 2 / FAN_IN),
    ("he_normal", {}, 2 / FAN_IN),
    ("lecun_uniform", {}, 1 / FAN_IN),
    ("lecun_normal", {}, 1 / FAN_IN),
    ("orthogonal", {}, 1 / FAN_IN),
]


def test_every_registered_initializer_is_checked():
    assert {n for n, _, _ in INIT_CASES} == set(initializers.names())


@pytest.mark.parametrize(("name", "params", "var"), INIT_CASES)
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_initializer_sample_variance_matches_its_formula(name, params, var, gain):
    init = initializers.get({"name": name, **params}, gain=gain)
    W = init.sample((FAN_IN, FAN_OUT), np.random.default_rng(0), np.float64)
    assert W.shape == (FAN_IN, FAN_OUT)
    n = W.size
    expected = gain**2 * var
    if expected == 0:
        assert W.var() == 0
    else:
        # sample variance of n draws has relative standard error sqrt(2/n) (normal) or less
        assert W.var() == pytest.approx(expected, rel=6 * math.sqrt(2 / n))
    assert init.second_moment(FAN_IN, FAN_OUT) == pytest.approx(np.mean(W**2), rel=0.02, abs=1e-12)


def test_uniform_initialisers_respect_their_limits():
    W = initializers.get("glorot_standard").sample((100, 50), np.random.default_rng(0))
    assert np.abs(W).max() <= 1 / math.sqrt(100)
    W = initializers.get("glorot_uniform").sample((100, 50), np.random.default_rng(0))
    assert np.abs(W).max() <= math.sqrt(6 / 150) + 1e-7
    assert np.abs(W).max() > 0.95 * math.sqrt(6 / 150)


@pytest.mark.parametrize("shape", [(50, 20), (20, 50)])
def test_orthogonal_is_orthogonal_times_gain(shape):
    W = initializers.get("orthogonal", gain=1.5).sample(shape, np.random.default_rng(1), np.float64)
    small = min(shape)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, 1.5**2 * np.eye(small), atol=1e-10)


def test_pytorch_aliases_name_the_same_initialisers():
    assert type(initializers.get("xavier_uniform")) is type(initializers.get("glorot_uniform"))
    assert type(initializers.get("kaiming_normal")) is type(initializers.get("he_normal"))


def test_biases_get_their_own_initialiser():
    net = Network.from_spec(
        [
            {"units": 2000, "activation": "sigmoid", "bias_init": {"name": "normal", "std": 1.0}},
            {"units": 30, "activation": "sigmoid"},
        ],
        input_dim=4,
        output_dim=2,
        seed=0,
        dtype="float64",
    )
    assert net.params["dense1.b"].std() == pytest.approx(1.0, rel=0.1)  # Nielsen's N(0, 1)
    assert np.all(net.params["dense2.b"] == 0)  # zeros by default


# ---------------------------------------------------------------------------- batch norm


def test_batchnorm_training_normalises_each_feature_and_eval_uses_running_averages():
    net = Network.from_spec(
        [{"type": "batchnorm", "momentum": 0.5}], input_dim=3, output_dim=3, dtype="float64"
    )
    rng = np.random.default_rng(0)
    bn = net.modules[0]
    x = rng.standard_normal((256, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 10.0]
    y = bn.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    v = x.var(axis=0)
    np.testing.assert_allclose(y.std(axis=0), np.sqrt(v / (v + 1e-5)), rtol=1e-10)
    # running stats moved half-way (momentum 0.5) from (0, 1) to the batch statistics
    np.testing.assert_allclose(net.buffers["bn1.running_mean"], 0.5 * x.mean(axis=0))
    np.testing.assert_allclose(net.buffers["bn1.running_var"], 0.5 + 0.5 * x.var(axis=0, ddof=1))
    # evaluation: (x - running_mean) / sqrt(running_var + eps), independent of the batch
    one = x[:1]
    rm, rv = net.buffers["bn1.running_mean"], net.buffers["bn1.running_var"]
    np.testing.assert_allclose(bn.forward(one, training=False), (one - rm) / np.sqrt(rv + 1e-5))
    # probes look without touching the running averages
    before = rm.copy()
    bn.forward(x * 3, training=True, update_stats=False)
    np.testing.assert_array_equal(rm, before)


def test_batchnorm_gamma_and_beta_are_learned_parameters():
    net = Network.from_spec(
        [{"units": 4, "activation": "relu", "batchnorm": True}], input_dim=2, output_dim=2
    )
    assert {"bn1.gamma", "bn1.beta"} <= set(net.params)
    assert "dense1.b" not in net.params  # beta replaces the bias before batch-norm


# ---------------------------------------------------------------------------- dropout


def test_inverted_dropout_keeps_the_expectation_and_drops_the_rate():
    net = Network.from_spec(
        [{"type": "dropout", "rate": 0.3}], input_dim=1000, output_dim=2, dtype="float64"
    )
    drop = net.modules[0]
    x = np.ones((200, 1000))
    out = drop.forward(x, training=True, rng=np.random.default_rng(0))
    assert np.mean(out == 0) == pytest.approx(0.3, abs=0.005)
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7])
    np.testing.assert_array_equal(drop.forward(x, training=False), x)


# ---------------------------------------------------------------------------- determinism


def _train(seed, steps=20, dtype="float32"):
    from gradlab.engine import optimizers

    layers = [
        {"units": 16, "activation": "tanh", "dropout": 0.2},
        {"units": 16, "activation": "relu", "batchnorm": True},
    ]
    net = Network.from_spec(layers, input_dim=5, output_dim=3, seed=seed, dtype=dtype)
    opt = optimizers.get("adam", lr=1e-2)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 5)).astype(dtype)
    y = rng.integers(0, 3, 64)
    loss = losses.get("ce")
    for _ in range(steps):
        _, d = loss(net.forward(x), y)
        net.backward(d, input_grad=False)
        opt.step(net.params, net.grads)
    return net


def test_same_seed_same_spec_gives_bit_identical_parameters():
    a, b = _train(3), _train(3)
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    c = _train(4)
    assert not np.array_equal(a.params["dense1.W"], c.params["dense1.W"])


def test_float64_on_request_and_same_draws_as_float32():
    n32 = Network.from_spec([{"units": 8}], input_dim=3, output_dim=2, seed=1)
    n64 = Network.from_spec([{"units": 8}], input_dim=3, output_dim=2, seed=1, dtype="float64")
    assert n32.params["dense1.W"].dtype == np.float32
    assert n64.params["dense1.W"].dtype == np.float64
    np.testing.assert_allclose(n32.params["dense1.W"], n64.params["dense1.W"], rtol=1e-6)
    out = n32.forward(np.ones((2, 3)))
    assert out.dtype == np.float32


# ---------------------------------------------------------------------------- spec


def test_output_layer_is_appended_and_inherits_the_hidden_initialiser():
    net = Network.from_spec(
        [
            {
                "units": 10,
                "activation": "tanh",
                "init": {"name": "normal", "std": 0.01},
                "bias": False,
            }
        ],
        input_dim=4,
        output_dim=3,
    )
    out = net.layers[-1]
    assert out["output"] and out["units"] == 3 and out["activation"] == "linear"
    assert out["init"] == {"name": "normal", "std": 0.01} and out["bias"] is False
    assert net.layer_names == ["dense1", "dense2"]
    json.dumps(net.layers)  # the resolved spec is JSON-able


def test_an_explicit_output_layer_is_used_as_given():
    net = Network.from_spec(
        [{"units": 10, "activation": "sigmoid"}, {"type": "output", "activation": "sigmoid"}],
        input_dim=4,
        output_dim=3,
    )
    assert len(net.blocks) == 2 and net.blocks[-1].act.name == "sigmoid"


@pytest.mark.parametrize(
    ("layers", "field"),
    [
        ([{"units": 10, "activation": "tanhh"}], "layers[0].activation"),
        ([{"units": 0}], "layers[0].units"),
        ([{"units": 5}, {"units": -3}], "layers[1].units"),
        ([{"units": 5, "dropout": -0.5}], "layers[0].dropout"),
        ([{"units": 5, "dropout": 1.0}], "layers[0].dropout"),
        ([{"type": "dropout", "rate": -0.1}], "layers[0].rate"),
        ([{"type": "dropout"}], "layers[0].rate"),
        ([{"units": 5, "init": "glorot_unifrom"}], "layers[0].init"),
        ([{"units": 5, "init": {"name": "normal", "std": -1}}], "layers[0].init.std"),
        ([{"units": 5, "activation": "leaky_relu", "alpha": -1}], "layers[0].alpha"),
        ([{"units": 5, "activation": "maxout", "pieces": 1}], "layers[0].pieces"),
        ([{"units": 5, "activaton": "relu"}], "layers[0].activaton"),
        ([{"type": "conv", "units": 5}], "layers[0].type"),
        ([{"units": "many"}], "layers[0].units"),
        ([{"units": 5}, {"type": "output", "units": 7}], "layers[1].units"),
        ([{"type": "output"}, {"units": 5}], "layers[1]"),
        ([{"units": 5, "activation": "tanh", "batchnorm": "yes"}], "layers[0].batchnorm"),
    ],
)
def test_bad_specs_raise_one_clear_value_error_naming_the_field(layers, field):
    with pytest.raises(ValueError) as info:
        Network.from_spec(layers, input_dim=4, output_dim=3)
    assert isinstance(info.value, SpecError)
    assert info.value.field == field
    message = str(info.value)
    assert message.startswith(field) and "\n" not in message


def test_unknown_activation_error_lists_the_choices():
    with pytest.raises(SpecError, match=r"choose from: .*tanh"):
        Network.from_spec([{"units": 3, "activation": "tanhh"}], input_dim=2, output_dim=2)


def test_forward_refuses_inputs_of_the_wrong_width():
    net = Network.from_spec([{"units": 3}], input_dim=2, output_dim=2)
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        net.forward(np.ones((4, 5)))


def test_taps_hold_every_layer_quantity_after_a_pass():
    net = Network.from_spec(
        [{"units": 7, "activation": "tanh"}, {"units": 5}],
        input_dim=3,
        output_dim=2,
        dtype="float64",
    )
    x = np.random.default_rng(0).standard_normal((4, 3))
    out = net.forward(x)
    net.backward(losses.get("ce")(out, np.array([0, 1, 1, 0]))[1])
    b1 = net.blocks[0]
    np.testing.assert_allclose(b1.taps["z"], x @ net.params["dense1.W"] + net.params["dense1.b"])
    np.testing.assert_allclose(b1.taps["a"], np.tanh(b1.taps["z"]))
    # dL/db is the batch sum of delta (the loss is already a batch mean)
    np.testing.assert_allclose(net.grads["dense1.b"], b1.taps["delta"].sum(axis=0))
    np.testing.assert_allclose(net.grads["dense1.W"], x.T @ b1.taps["delta"])


def test_jacobian_matches_finite_differences_between_layers():
    net = Network.from_spec(
        [
            {"units": 6, "activation": "tanh"},
            {"units": 5, "activation": "softsign", "batchnorm": True},
        ],
        input_dim=4,
        output_dim=3,
        dtype="float64",
    )
    x = np.random.default_rng(2).standard_normal((3, 4))
    net.forward(x, update_stats=False)
    J = net.jacobians(slice(0, 3))
    assert [j.shape for j in J] == [(3, 6, 4), (3, 5, 6), (3, 3, 5)]
    # block 2 with BN statistics held fixed: a2 = f(gamma (a1 W + b - mu) / sd + beta)
    b2 = net.blocks[1]
    a1 = net.blocks[0].taps["a"][0]
    bn = b2.bn
    mu = b2.taps["x"] @ net.params["dense2.W"]
    mu = mu.mean(axis=0)
    sd = 1 / bn._cache[1]

    def g(v):
        z = ((v @ net.params["dense2.W"]) - mu) / sd * bn.params["gamma"] + bn.params["beta"]
        return z / (1 + np.abs(z))

    num = np.zeros((5, 6))
    for i in range(6):
        e = np.zeros(6)
        e[i] = 1e-6
        num[:, i] = (g(a1 + e) - g(a1 - e)) / 2e-6
    np.testing.assert_allclose(J[1][0], num, rtol=1e-6, atol=1e-9)
