"""Optimisers: each checked step by step against its written update rule, dtype kept, in
place, bit-identical resume after a state save, a quadratic bowl minimised, bad hyper-parameters
refused."""

import io
import json
import math

import numpy as np
import pytest

from gradlab.engine import optimizers
from gradlab.errors import SpecError
from gradlab.params import Param

ALL = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "nadam"]

# Non-default hyper-parameters, so a rule that silently used a default would fail.
HYPER = {
    "sgd": {"lr": 0.05},
    "momentum": {"lr": 0.05, "momentum": 0.8},
    "nesterov": {"lr": 0.05, "momentum": 0.7},
    "adagrad": {"lr": 0.1, "eps": 1e-3},
    "rmsprop": {"lr": 0.01, "rho": 0.8, "eps": 1e-3},
    "adam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3},
    "adamw": {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3, "weight_decay": 0.3},
    "nadam": {"lr": 0.01, "beta1": 0.8, "beta2": 0.95, "eps": 1e-3, "momentum_decay": 0.3},
}


class Reference:
    """The update rules exactly as written in the docstrings, one array at a time."""

    def __init__(self, name, hyper):
        self.name = name
        self.h = {**optimizers.info(name)().hyper, **hyper}
        self.state = {}
        self.t = 0
        self.mu_product = 1.0

    def mu(self, t):
        """Nadam's momentum schedule μ_t = β1 (1 − ½ 0.96^(ψ t))."""
        return self.h["beta1"] * (1 - 0.5 * 0.96 ** (self.h["momentum_decay"] * t))

    def step(self, params, grads, lr):
        self.t += 1
        t, h = self.t, self.h
        if self.name == "nadam":
            self.mu_product *= self.mu(t)  # Π_t, once per step
        for k, g in grads.items():
            w = params[k]
            s = self.state.setdefault(k, {"a": np.zeros_like(w), "b": np.zeros_like(w)})
            if self.name == "sgd":
                w = w - lr * g
            elif self.name == "momentum":
                mu = h["momentum"]
                s["a"] = mu * s["a"] - lr * g
                w = w + s["a"]
            elif self.name == "nesterov":
                mu = h["momentum"]
                v_prev = s["a"]
                s["a"] = mu * s["a"] - lr * g
                w = w - mu * v_prev + (1 + mu) * s["a"]
            elif self.name == "adagrad":
                s["a"] = s["a"] + g * g
                w = w - lr * g / (np.sqrt(s["a"]) + h["eps"])
            elif self.name == "rmsprop":
                rho = h["rho"]
                s["a"] = rho * s["a"] + (1 - rho) * g * g
                w = w - lr * g / (np.sqrt(s["a"]) + h["eps"])
            elif self.name == "nadam":
                b1, b2, prod = h["beta1"], h["beta2"], self.mu_product
                mu_t, mu_next = self.mu(t), self.mu(t + 1)
                s["a"] = b1 * s["a"] + (1 - b1) * g
                s["b"] = b2 * s["b"] + (1 - b2) * g * g
                m_hat = mu_next * s["a"] / (1 - prod * mu_next) + (1 - mu_t) * g / (1 - prod)
                v_hat = s["b"] / (1 - b2**t)
                w = w - lr * m_hat / (np.sqrt(v_hat) + h["eps"])
            else:
                if self.name == "adamw":
                    w = w * (1 - lr * h["weight_decay"])
                b1, b2 = h["beta1"], h["beta2"]
                s["a"] = b1 * s["a"] + (1 - b1) * g
                s["b"] = b2 * s["b"] + (1 - b2) * g * g
                m_hat = s["a"] / (1 - b1**t)
                v_hat = s["b"] / (1 - b2**t)
                w = w - lr * m_hat / (np.sqrt(v_hat) + h["eps"])
            params[k] = w


def make_params(rng, dtype=np.float64):
    """A large weight (updated on its own) and small ones (fused into flat buffers)."""
    shapes = {"dense1.W": (120, 90), "dense1.b": (90,), "dense2.W": (90, 3), "dense2.b": (3,),
              "bn1.gamma": (90,)}
    return {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}


def random_grads(rng, params, scale=1.0):
    return {k: (scale * rng.standard_normal(w.shape)).astype(w.dtype) for k, w in params.items()}


def test_every_optimizer_is_registered_and_declares_its_params():
    assert optimizers.names() == sorted(ALL)
    for name in ALL:
        cls = optimizers.info(name)
        assert cls.name == name
        assert cls.description and "\n" not in cls.description
        assert all(isinstance(p, Param) and p.help for p in cls.params)
        lr = next(p for p in cls.params if p.name == "lr")
        assert lr.log and lr.exclusive_minimum == 0
        opt = optimizers.get(name)
        assert opt.hyper == {p.name: p.default for p in cls.params}
        assert "Notes" in cls.__doc__ and "←" in cls.__doc__


def test_defaults_and_aliases():
    assert optimizers.get("sgd").lr == 0.01
    assert optimizers.get("momentum").hyper == {"lr": 0.01, "momentum": 0.9}
    assert optimizers.get("nesterov").hyper == {"lr": 0.01, "momentum": 0.9}
    assert optimizers.get("adagrad").hyper == {"lr": 0.01, "eps": 1e-8}
    assert optimizers.get("rmsprop").hyper == {"lr": 0.001, "rho": 0.9, "eps": 1e-8}
    assert optimizers.get("adam").hyper == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    assert optimizers.get("adamw").hyper["weight_decay"] == 0.01
    assert optimizers.get("nadam").hyper == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999,
                                             "eps": 1e-8, "momentum_decay": 0.004}
    assert isinstance(optimizers.get("Adam"), optimizers.Adam)
    assert isinstance(optimizers.get("NAG"), optimizers.Nesterov)
    assert isinstance(optimizers.get("RMS-Prop"), optimizers.RMSProp)


@pytest.mark.parametrize("name", ALL)
def test_steps_follow_the_written_rule(name):
    rng = np.random.default_rng(1)
    params = make_params(rng)
    ref_params = {k: v.copy() for k, v in params.items()}
    opt = optimizers.get(name, **HYPER[name])
    ref = Reference(name, HYPER[name])
    arrays = dict(params)  # the network's references: updates must land in these arrays
    for i in range(6):
        grads = random_grads(rng, params, scale=10.0 ** (i % 3 - 1))
        lr = HYPER[name]["lr"] * (1.0 if i < 3 else 0.5)  # the trainer changes lr between steps
        opt.lr = lr
        opt.step(params, grads)
        ref.step(ref_params, grads, lr)
        assert opt.t == i + 1
        for k in params:
            assert params[k] is arrays[k]
            np.testing.assert_allclose(params[k], ref_params[k], rtol=1e-12, atol=1e-14,
                                       err_msg=f"{name} step {i + 1} {k}")


@pytest.mark.parametrize("name", ALL)
def test_float32_stays_float32_and_matches_float64(name):
    rng = np.random.default_rng(2)
    params = make_params(rng, np.float32)
    ref_params = {k: v.astype(np.float64) for k, v in params.items()}
    opt = optimizers.get(name, **HYPER[name])
    ref = Reference(name, HYPER[name])
    for _ in range(4):
        grads = random_grads(rng, params)
        opt.lr = np.float64(HYPER[name]["lr"])  # a strong float64 scalar from elsewhere
        assert type(opt.lr) is float
        opt.step(params, grads)
        ref.step(ref_params, {k: g.astype(np.float64) for k, g in grads.items()}, opt.lr)
    for k in params:
        assert params[k].dtype == np.float32
        np.testing.assert_allclose(params[k], ref_params[k], rtol=2e-4, atol=2e-5)
    for slot in opt.state_dict()["slots"].values():
        assert {a.dtype for a in slot.values()} == {np.dtype(np.float32)}


def test_float64_params_keep_float64_state():
    opt = optimizers.get("adam")
    params = {"w": np.ones(3)}
    opt.step(params, {"w": np.full(3, 0.5)})
    assert params["w"].dtype == np.float64
    assert opt.state_dict()["slots"]["v"]["w"].dtype == np.float64


def test_state_is_created_lazily_as_zeros():
    opt = optimizers.get("momentum", lr=0.1, momentum=0.9)
    assert opt.state_dict() == {"name": "momentum", "hyper": {"lr": 0.1, "momentum": 0.9},
                                "t": 0, "slots": {"velocity": {}}}
    params = {"w": np.ones(2)}
    opt.step(params, {"w": np.ones(2)})
    # v = 0.9 · 0 − 0.1 · 1 on the first step: the state started at zero
    np.testing.assert_array_equal(opt.state_dict()["slots"]["velocity"]["w"], [-0.1, -0.1])
    np.testing.assert_array_equal(params["w"], [0.9, 0.9])


def test_adagrad_eps_is_outside_the_square_root():
    """√s + ε, not Hands-On ML's √(s + ε): the two differ where s is about ε² or smaller."""
    opt = optimizers.get("adagrad", lr=1.0, eps=1e-4)
    params = {"w": np.zeros(1)}
    opt.step(params, {"w": np.array([1e-5])})
    assert params["w"][0] == pytest.approx(-1e-5 / (1e-5 + 1e-4), rel=1e-12)  # ≈ −0.0909
    assert abs(params["w"][0] + 1e-5 / math.sqrt(1e-10 + 1e-4)) > 0.08  # √(s+ε) gives ≈ −0.001


def test_adamw_decay_is_decoupled_and_applied_first():
    """With a zero gradient Adam does nothing and AdamW only shrinks w by (1 − ηλ)."""
    params = {"w": np.array([2.0, -4.0])}
    zero = {"w": np.zeros(2)}
    optimizers.get("adam", lr=0.1).step(params, zero)
    np.testing.assert_array_equal(params["w"], [2.0, -4.0])
    opt = optimizers.get("adamw", lr=0.1, weight_decay=0.5)
    opt.step(params, zero)
    np.testing.assert_allclose(params["w"], [2.0 * 0.95, -4.0 * 0.95], rtol=1e-15)
    assert not opt.state_dict()["slots"]["m"]["w"].any()  # decay never enters the moments


def test_nesterov_equals_momentum_at_the_look_ahead_point():
    """Hands-On ML's NAG (gradient at θ + βm) is CS231n's rule on the look-ahead parameters."""
    rng = np.random.default_rng(3)
    A = np.diag([1.0, 3.0, 10.0])
    grad = lambda w: A @ w  # noqa: E731
    mu, lr = 0.9, 0.02
    theta = rng.standard_normal(3)
    m = np.zeros(3)
    params = {"w": theta.copy()}  # stores the look-ahead point θ + μ m (m = 0 at the start)
    opt = optimizers.get("nesterov", lr=lr, momentum=mu)
    for _ in range(20):
        m = mu * m - lr * grad(theta + mu * m)
        theta = theta + m
        opt.step(params, {"w": grad(params["w"])})
        np.testing.assert_allclose(params["w"], theta + mu * m, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_state_dict_round_trip_resumes_bit_identically(name):
    rng = np.random.default_rng(4)
    params = make_params(rng, np.float32)
    grads_seq = [random_grads(rng, params) for _ in range(7)]
    lrs = [HYPER[name]["lr"] * f for f in (1, 1, 0.5, 0.5, 0.25, 0.1, 0.0)]

    def run(opt, p, steps):
        for i in steps:
            opt.lr = lrs[i]
            opt.step(p, grads_seq[i])

    straight = {k: v.copy() for k, v in params.items()}
    run(optimizers.get(name, **HYPER[name]), straight, range(7))

    resumed = {k: v.copy() for k, v in params.items()}
    first = optimizers.get(name, **HYPER[name])
    run(first, resumed, range(3))
    saved = first.state_dict()
    run(first, {k: v.copy() for k, v in resumed.items()}, range(3, 5))  # saved copies must not move
    # through a session file: JSON for the plain part, .npy for the arrays (no pickles)
    keys = ("name", "hyper", "t", "extra") if "extra" in saved else ("name", "hyper", "t")
    meta = json.loads(json.dumps({k: saved[k] for k in keys}))
    slots = {}
    for slot, arrays in saved["slots"].items():
        slots[slot] = {}
        for pname, a in arrays.items():
            buf = io.BytesIO()
            np.save(buf, a, allow_pickle=False)
            buf.seek(0)
            slots[slot][pname] = np.load(buf, allow_pickle=False)
    second = optimizers.get(name)  # default hyper-parameters: the state brings its own
    second.load_state_dict({**meta, "slots": slots})
    assert second.t == 3 and second.hyper == first.hyper | {"lr": lrs[2]}
    run(second, resumed, range(3, 7))
    for k in params:
        assert np.array_equal(resumed[k], straight[k]), (name, k)


def test_a_parameter_without_gradient_is_left_alone_and_keeps_its_state():
    rng = np.random.default_rng(5)
    params = make_params(rng)
    ref_params = {k: v.copy() for k, v in params.items()}
    opt = optimizers.get("adam", **HYPER["adam"])
    ref = Reference("adam", HYPER["adam"])
    for subset in (None, ["dense1.W", "dense2.b"], None, ["dense1.b"], None):
        grads = random_grads(rng, params)
        if subset is not None:
            grads = {k: grads[k] for k in subset}
        before = {k: v.copy() for k, v in params.items()}
        opt.lr = 0.01
        opt.step(params, grads)
        ref.step(ref_params, grads, 0.01)
        for k in params:
            if k not in grads:
                assert np.array_equal(params[k], before[k])
            np.testing.assert_allclose(params[k], ref_params[k], rtol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_minimises_a_quadratic_bowl(name):
    """f(w) = ½ wᵀ A w (eigenvalues 0.5 .. 5) falls to below 1e-3 of its start."""
    rng = np.random.default_rng(6)
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    A = Q @ np.diag(np.linspace(0.5, 5.0, 10)) @ Q.T
    lr = {"sgd": 0.3, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "rmsprop": 0.01,
          "adam": 0.05, "adamw": 0.05, "nadam": 0.05}[name]
    params = {"w": rng.standard_normal((2, 5))}
    grads = {"w": np.zeros((2, 5))}
    f0 = 0.5 * params["w"].ravel() @ A @ params["w"].ravel()
    opt = optimizers.get(name, lr=lr)
    for _ in range(500):
        grads["w"][...] = (A @ params["w"].ravel()).reshape(2, 5)
        opt.step(params, grads)
    w = params["w"].ravel()
    assert 0.5 * w @ A @ w < 1e-3 * f0


def test_momentum_beats_plain_sgd_in_a_narrow_valley():
    """Condition number 100, same learning rate: momentum gets much further in 200 steps."""
    rng = np.random.default_rng(7)
    Q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    A = Q @ np.diag(np.geomspace(1.0, 100.0, 10)) @ Q.T
    w0 = rng.standard_normal(10)
    losses = {}
    for name in ("sgd", "momentum", "nesterov"):
        params, grads = {"w": w0.copy()}, {"w": np.zeros(10)}
        opt = optimizers.get(name, lr=0.005)
        for _ in range(200):
            grads["w"][...] = A @ params["w"]
            opt.step(params, grads)
        losses[name] = 0.5 * params["w"] @ A @ params["w"]
    assert losses["momentum"] < 1e-3 * losses["sgd"]
    assert losses["nesterov"] < 1e-3 * losses["sgd"]


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("adam", {"lr": -1}, "lr: must be > 0, got -1"),
        ("sgd", {"lr": 0}, "lr: must be > 0, got 0"),
        ("sgd", {"lr": "fast"}, "lr: must be a number"),
        ("adam", {"lr": float("nan")}, "lr: must be finite"),
        ("adam", {"beta1": 1.0}, "beta1: must be < 1, got 1"),
        ("adamw", {"beta2": -0.1}, "beta2: must be >= 0"),
        ("adam", {"eps": 0.0}, "eps: must be > 0"),
        ("momentum", {"momentum": 1.5}, "momentum: must be < 1"),
        ("nesterov", {"momentum": -0.5}, "momentum: must be >= 0"),
        ("rmsprop", {"rho": 1.0}, "rho: must be < 1"),
        ("adamw", {"weight_decay": -0.01}, "weight_decay: must be >= 0"),
        ("sgd", {"momentum": 0.9}, "momentum: unknown field"),
        ("adam", {"beta3": 0.9}, "beta3: unknown field (expected one of: beta1, beta2, eps, lr)"),
    ],
)
def test_bad_hyper_parameters_name_the_field(name, hyper, message):
    with pytest.raises(SpecError) as err:
        optimizers.get(name, **hyper)
    assert str(err.value).startswith(message)
    assert err.value.prefixed("training").field.startswith("training.")


def test_unknown_optimizer_lists_the_choices():
    with pytest.raises(SpecError) as err:
        optimizers.get("adamm")
    msg = str(err.value)
    assert "'adamm'" in msg
    for name in ALL:
        assert name in msg


def test_live_lr_may_reach_zero_but_not_below():
    opt = optimizers.get("sgd", lr=0.1)
    params = {"w": np.ones(3)}
    opt.lr = 0
    opt.step(params, {"w": np.ones(3)})
    np.testing.assert_array_equal(params["w"], np.ones(3))
    opt.lr = np.float32(0.5)
    assert type(opt.lr) is float and opt.lr == 0.5
    for bad in (-0.1, float("inf"), "0.1", None):
        with pytest.raises(SpecError, match=r"^lr: "):
            opt.lr = bad
    assert opt.lr == 0.5


def test_shape_mismatch_is_refused_before_any_update():
    opt = optimizers.get("sgd")
    params = {"w": np.ones((2, 3))}
    with pytest.raises(ValueError, match="'w'"):
        opt.step(params, {"w": np.ones(3)})  # would broadcast silently
    assert opt.t == 0
    np.testing.assert_array_equal(params["w"], np.ones((2, 3)))
    adam = optimizers.get("adam")
    adam.step(params, {"w": np.ones((2, 3))})
    params["w"] = np.ones((3, 2))
    with pytest.raises(ValueError, match="'w'"):
        adam.step(params, {"w": np.ones((3, 2))})


def test_a_parameter_replaced_by_another_shape_is_refused_without_touching_state():
    opt = optimizers.get("adam")
    params = {"dense1.W": np.ones((100, 100))}
    opt.step(params, {"dense1.W": np.ones((100, 100))})
    before = opt.state_dict()
    params = {"dense1.W": np.ones(100)}  # would broadcast into the (100, 100) state
    with pytest.raises(ValueError, match=r"'dense1\.W'"):
        opt.step(params, {"dense1.W": np.ones(100)})
    after = opt.state_dict()
    for slot in ("m", "v"):
        assert np.array_equal(after["slots"][slot]["dense1.W"], before["slots"][slot]["dense1.W"])


def test_load_state_dict_refuses_foreign_or_broken_state():
    adam = optimizers.get("adam")
    adam.step({"w": np.ones(2)}, {"w": np.ones(2)})
    state = adam.state_dict()
    with pytest.raises(ValueError, match="'adam', not 'rmsprop'"):
        optimizers.get("rmsprop").load_state_dict(state)
    with pytest.raises(ValueError, match="missing 'w'"):
        optimizers.get("adam").load_state_dict({**state, "slots": {"m": state["slots"]["m"],
                                                                  "v": {}}})
    with pytest.raises(SpecError, match=r"hyper\.beta1"):
        optimizers.get("adam").load_state_dict({**state, "hyper": {"beta1": 2.0}})
    restored = optimizers.get("adam")
    restored.load_state_dict(state)
    with pytest.raises(ValueError, match="'w'"):
        restored.step({"w": np.ones(3)}, {"w": np.ones(3)})  # state shape (2,) vs param (3,)


# ============================================================================ Nadam
def test_nadam_first_step_by_hand():
    """Step 1 written out: μ1 = β1(1 − ½·0.96^ψ), μ2 likewise, Π1 = μ1, m = (1 − β1) g,
    v = (1 − β2) g², m̂ = μ2 m / (1 − μ1 μ2) + (1 − μ1) g / (1 − μ1), v̂ = g²."""
    b1, b2, psi, lr, eps = 0.9, 0.999, 0.004, 0.1, 1e-8
    g = np.array([0.5, -2.0, 0.0])
    params = {"w": np.zeros(3)}
    opt = optimizers.get("nadam", lr=lr, beta1=b1, beta2=b2, eps=eps, momentum_decay=psi)
    opt.step(params, {"w": g})
    mu1 = b1 * (1 - 0.5 * 0.96**psi)
    mu2 = b1 * (1 - 0.5 * 0.96 ** (2 * psi))
    m_hat = mu2 * (1 - b1) * g / (1 - mu1 * mu2) + (1 - mu1) * g / (1 - mu1)
    expected = -lr * m_hat / (np.abs(g) + eps)
    np.testing.assert_allclose(params["w"], expected, rtol=1e-13)
    assert opt.state_dict()["extra"] == {"mu_product": pytest.approx(mu1, rel=1e-15)}


def test_nadam_with_keras3_schedule_and_its_nesterov_look_ahead():
    """ψ = 1 is Keras 3's Nadam (μ_t = β1(1 − ½·0.96^t)). After many steps μ_t → β1 and Π_t → 0:
    m̂ → β1 m + (1 − β1) g, the Nesterov look-ahead of Adam's m (Dozat's eq.), with no bias."""
    rng = np.random.default_rng(8)
    opt = optimizers.get("nadam", lr=0.01, momentum_decay=1.0)
    ref = Reference("nadam", {"lr": 0.01, "momentum_decay": 1.0})
    params = {"w": rng.standard_normal(4)}
    ref_params = {"w": params["w"].copy()}
    for _ in range(400):
        g = {"w": rng.standard_normal(4)}
        opt.lr = 0.01
        opt.step(params, g)
        ref.step(ref_params, g, 0.01)
    np.testing.assert_allclose(params["w"], ref_params["w"], rtol=1e-10)
    assert opt.mu_product < 1e-15
    assert ref.mu(400) == pytest.approx(0.9, rel=1e-7)


def test_momentum_is_exposed_to_a_schedule():
    """1cycle sets heavy-ball μ, Nesterov's μ, or Adam's / Nadam's β1; SGD has none."""
    assert optimizers.get("momentum").current_momentum() == 0.9
    assert optimizers.get("adam").current_momentum() == 0.9
    assert optimizers.get("sgd").current_momentum() is None
    for name, param in (("momentum", "momentum"), ("nesterov", "momentum"), ("adam", "beta1"),
                        ("nadam", "beta1")):
        opt = optimizers.get(name)
        opt.set_momentum(0.85)
        assert opt.hyper[param] == 0.85
    with pytest.raises(SpecError, match="beta1"):
        optimizers.get("adam").set_momentum(1.0)
    # a momentum changed between steps changes the next update as the rule says
    params, ref_params = {"w": np.ones(2)}, {"w": np.ones(2)}
    opt = optimizers.get("momentum", lr=0.1)
    ref = Reference("momentum", {"lr": 0.1})
    for mu in (0.95, 0.9, 0.85):
        g = {"w": np.array([1.0, -0.5])}
        opt.set_momentum(mu)
        ref.h["momentum"] = mu
        opt.step(params, g)
        ref.step(ref_params, g, 0.1)
    np.testing.assert_allclose(params["w"], ref_params["w"], rtol=1e-14)
