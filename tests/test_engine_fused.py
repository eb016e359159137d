"""The fused path (gradlab.engine.fused): a training step that leaves its weight gradients as
factors (x, dz) and forms them inside the update moves every parameter exactly as the step that
forms them first, for every optimiser; the global norm and clipping from the factors equal those
of the formed gradients; and the trainer, which takes the fused path on every step, gives the
same run with or without probes, and resumes a saved session bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import gradlab
from gradlab.engine import Network, fused, losses, optimizers, regularization
from tests.test_optimizers import HYPER  # (non-default settings: a rule got wrong shows)


def test_every_optimizer_is_covered():
    assert sorted(HYPER) == optimizers.names()


def wide_net(dtype="float64", **extra):
    """Two wide layers (their dW deferred at batch 6) and a narrow output layer (formed)."""
    layers = [{"units": 72, "activation": "tanh", **extra}, {"units": 72, "activation": "relu"}]
    return Network.from_spec(layers, input_dim=64, output_dim=3, seed=3, dtype=dtype)


def batches(n, dtype=np.float64):
    rng = np.random.default_rng(5)
    return [(rng.standard_normal((6, 64)).astype(dtype), rng.integers(0, 3, 6)) for _ in range(n)]


@pytest.mark.parametrize("name", sorted(HYPER))
def test_the_fused_update_equals_the_formed_one_for_every_optimizer(name, monkeypatch):
    # blocks of 100 elements: a 64x72 W is updated in 64 blocks of one row (and a 72x72 W too),
    # so the block loop, not one block, is what is checked
    monkeypatch.setattr(fused, "BLOCK_ELEMENTS", 100)
    nets = [wide_net(), wide_net()]
    opts = [optimizers.get(name, **HYPER[name]) for _ in nets]
    loss = losses.get("softmax_cross_entropy")
    for x, y in batches(6):
        for formed, net, opt in zip((True, False), nets, opts):
            _, dout = loss(net.forward(x), y)
            net.backward(dout, input_grad=False, weight_grads=formed)
            opt.step(net.params, net.grads, outer=net.deferred)
    assert sorted(nets[1].deferred) == ["dense1.W", "dense2.W"]  # the output layer's is formed
    assert nets[0].deferred == {}
    for k, w in nets[0].params.items():
        np.testing.assert_allclose(nets[1].params[k], w, rtol=1e-12, atol=1e-15, err_msg=k)
        assert not np.array_equal(w, wide_net().params[k]), f"{k} never moved"
    sa, sb = opts[0].state_dict(), opts[1].state_dict()
    assert sa["t"] == sb["t"] == 6 and sa.get("extra") == sb.get("extra")
    for slot, per in sa["slots"].items():
        for k, v in per.items():
            np.testing.assert_allclose(sb["slots"][slot][k], v, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["adam", "nesterov"])
def test_small_parameters_updated_together_take_their_gradient_from_the_factors(name):
    """Parameters small enough to share flat buffers (Optimizer.fuse_max_size) are formed from
    the factors straight into the shared gradient buffer."""
    rng = np.random.default_rng(0)
    shapes = {"a.W": (5, 4), "a.b": (4,), "b.W": (4, 3)}
    p1 = {k: rng.standard_normal(s) for k, s in shapes.items()}
    p2 = {k: v.copy() for k, v in p1.items()}
    o1, o2 = optimizers.get(name, **HYPER[name]), optimizers.get(name, **HYPER[name])
    for _ in range(4):
        factors = {"a.W": (rng.standard_normal((7, 5)), rng.standard_normal((7, 4))),
                   "b.W": (rng.standard_normal((7, 4)), rng.standard_normal((7, 3)))}
        g = {"a.b": rng.standard_normal(4)}
        formed = {**g, **{k: x.T @ d for k, (x, d) in factors.items()}}
        stale = {**g, **{k: np.full(shapes[k], np.nan) for k in factors}}  # never read
        o1.step(p1, formed)
        o2.step(p2, stale, outer=factors)
    for k in shapes:
        np.testing.assert_allclose(p2[k], p1[k], rtol=1e-13, err_msg=k)
        assert np.isfinite(p2[k]).all()


def test_the_norm_from_the_factors_is_the_norm_of_the_formed_gradient():
    rng = np.random.default_rng(1)
    x, d = rng.standard_normal((9, 30)), rng.standard_normal((9, 20))
    assert fused.outer_sq_norm(x, d) == pytest.approx(float(np.sum((x.T @ d) ** 2)), rel=1e-12)
    # float32 factors: summed in float64, at least as close as the float32 formed gradient
    x32, d32 = x.astype(np.float32), d.astype(np.float32)
    exact = float(np.sum((x32.astype(np.float64).T @ d32.astype(np.float64)) ** 2))
    assert fused.outer_sq_norm(x32, d32) == pytest.approx(exact, rel=1e-12)
    x[2, 3] = np.nan
    assert np.isnan(fused.outer_sq_norm(x, d))


def test_global_norm_and_clipping_from_factors_equal_the_formed_ones():
    net_a, net_b = wide_net(), wide_net()
    loss = losses.get("softmax_cross_entropy")
    (x, y), = batches(1)
    for net, formed in ((net_a, True), (net_b, False)):
        _, dout = loss(net.forward(x), y)
        net.backward(dout, input_grad=False, weight_grads=formed)
    norm = regularization.global_norm(net_a.grads)
    assert fused.global_norm(net_b.grads, net_b.deferred) == pytest.approx(norm, rel=1e-12)
    clipped_a = regularization.clip_by_global_norm(net_a.grads, norm / 4, norm)[1]
    clipped_b, outer = fused.clip_by_global_norm(net_b.grads, net_b.deferred, norm / 4, norm)
    assert clipped_a and clipped_b
    delta = net_b.blocks[0].taps["delta"]
    assert outer["dense1.W"][1] is not delta  # the tap is left as the backward pass left it
    for k, g in net_a.grads.items():
        got = fused.form(*outer[k], out=np.empty_like(g)) if k in outer else net_b.grads[k]
        np.testing.assert_allclose(got, g, rtol=1e-12, atol=1e-15, err_msg=k)
    # and formed on request (what a diverged step does before it names the bad layer)
    net_b.form_deferred()
    assert net_b.deferred == {}
    for k, g in net_a.grads.items():
        if k not in outer:
            continue
        np.testing.assert_allclose(net_b.grads[k] * (1 / 4), g, rtol=1e-12, err_msg=k)


def test_a_factored_gradient_of_the_wrong_shape_is_refused_before_any_update():
    opt = optimizers.get("sgd", lr=0.1)
    params = {"W": np.ones((4, 3))}
    grads = {"W": np.zeros((4, 3))}
    with pytest.raises(ValueError, match="do not make"):
        opt.step(params, grads, outer={"W": (np.ones((2, 5)), np.ones((2, 3)))})
    np.testing.assert_array_equal(params["W"], 1.0)


def trainer_spec(**training) -> dict:
    return {
        "name": "fused", "seed": 4, "dtype": "float64",
        "data": {"name": "gaussian", "n": 400, "dim": 64, "classes": 3},
        "network": {"layers": [{"units": 72, "activation": "tanh"},
                               {"units": 72, "activation": "tanh", "trainable": True}]},
        "training": {"optimizer": "adamw", "lr": 0.01, "batch_size": 6, "steps": 40,
                     **training},
        "probes": {"every": 10**9, "per_decade": 0, "jacobian_every": 0},
    }


def deferred_by_a_step(spec) -> list[str]:
    """The weight gradients one training step (no probe after it) left as factors."""
    exp = gradlab.Experiment(spec)
    exp.ensure_initial_probe()
    exp.step()
    return sorted(exp.network.deferred)


def run(spec, monkeypatch=None, formed=False):
    exp = gradlab.Experiment(spec)
    if formed:  # the trainer as it was: every weight gradient formed before the update
        monkeypatch.setattr(fused, "worth_deferring", lambda *a: False)
    exp.run()
    if formed:
        monkeypatch.undo()
    return exp


@pytest.mark.parametrize("training", [
    {},
    {"clip": {"norm": 0.05}},
    {"optimizer": "nadam"},
])
def test_the_trainer_on_the_fused_path_trains_as_with_formed_gradients(training, monkeypatch):
    spec = trainer_spec(**training)
    assert deferred_by_a_step(spec) == ["dense1.W", "dense2.W"]
    fast = run(spec)
    slow = run(spec, monkeypatch, formed=True)
    assert not any(slow.network._defer_cache.values())  # (every dW formed there)
    for k, w in slow.network.params.items():
        np.testing.assert_allclose(fast.network.params[k], w, rtol=1e-9, atol=1e-12, err_msg=k)
    a, b = fast.history.steps(), slow.history.steps()
    np.testing.assert_allclose(a["grad_norm"], b["grad_norm"], rtol=1e-9)
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-9)
    if "clip" in training:
        assert b["clipped"].any() and np.array_equal(a["clipped"], b["clipped"])


def test_a_frozen_layer_stays_frozen_on_the_fused_path():
    spec = trainer_spec()
    spec["network"]["layers"][0]["trainable"] = False
    assert deferred_by_a_step(spec) == ["dense1.W", "dense2.W"]  # factored, not stepped
    exp = gradlab.Experiment(spec)
    w0 = exp.network.params["dense1.W"].copy()
    exp.run()
    np.testing.assert_array_equal(exp.network.params["dense1.W"], w0)
    assert not np.array_equal(exp.network.params["dense2.W"], gradlab.Experiment(spec)
                              .network.params["dense2.W"])


def test_probes_do_not_change_the_run():
    """A probe takes its own forward and backward pass: a run probed every step ends with the
    very same parameters as one never probed after step 0."""
    quiet = gradlab.Experiment(trainer_spec())
    quiet.run()
    spec = trainer_spec()
    spec["probes"]["every"] = 1
    probed = gradlab.Experiment(spec)
    probed.run()
    assert probed.history.n_probes > 40 > quiet.history.n_probes
    for k, w in quiet.network.state_arrays().items():
        np.testing.assert_array_equal(probed.network.state_arrays()[k], w, err_msg=k)


def test_a_session_saved_mid_run_resumes_bit_for_bit_on_the_fused_path(tmp_path):
    spec = trainer_spec(steps=40, clip={"norm": 0.05})
    straight = gradlab.Experiment(spec)
    straight.run()
    first = gradlab.Experiment({**spec, "training": {**spec["training"], "steps": 20}})
    first.run()
    back = gradlab.load_session(first.save(tmp_path / "half.gradlab"))
    back.run(steps=20)
    assert back.step_count == straight.step_count == 40
    for k, w in straight.network.state_arrays().items():
        np.testing.assert_array_equal(back.network.state_arrays()[k], w, err_msg=k)
    np.testing.assert_array_equal(back.history.steps()["grad_norm"],
                                  straight.history.steps()["grad_norm"])


def test_a_diverged_fused_step_still_names_the_layer_that_went_bad():
    spec = trainer_spec(optimizer="sgd", lr=1e9)
    exp = gradlab.Experiment(spec)
    exp.run()
    assert exp.status == "diverged"
    for k, w in exp.network.params.items():  # paused at the last good state
        assert np.isfinite(w).all(), k
    info = exp.diverged
    assert info["part"] in ("activations", "gradients", "loss")
    if info["part"] == "gradients":
        assert info["layer"] is not None


def test_sgd_updates_a_small_network_in_one_run_with_the_same_bits():
    """A small network's parameters tile one buffer and its gradients another; SGD then runs
    once over both (updateplan.Span), and the result is bit for bit the per-array update."""
    layers = [{"units": 8, "activation": "tanh"}] * 3
    net = Network.from_spec(layers, input_dim=2, output_dim=2, seed=0)
    opt, opt_apart, apart, grads = sgd_joint_and_apart(net, seed=2)
    assert opt._plan[3] is not None and opt_apart._plan[3] is None  # (one run; one per array)
    for k, w in apart.items():
        np.testing.assert_array_equal(net.params[k], w, err_msg=k)
    # the same names bound to other arrays: those are updated, not the network's
    before = {k: v.copy() for k, v in net.params.items()}
    opt.step(apart, grads)
    for k, w in before.items():
        np.testing.assert_array_equal(net.params[k], w, err_msg=k)
    assert not np.array_equal(apart["dense1.W"], before["dense1.W"])


def test_a_frozen_first_layer_leaves_the_rest_in_one_run():
    layers = [{"units": 8, "activation": "tanh", "trainable": False},
              {"units": 8, "activation": "tanh"}]
    net = Network.from_spec(layers, input_dim=2, output_dim=2, seed=0)
    w1 = net.params["dense1.W"].copy()
    opt = optimizers.get("sgd", lr=0.1)
    x, y = np.ones((4, 2), np.float32), np.array([0, 1, 0, 1])
    _, dout = losses.get("softmax_cross_entropy")(net.forward(x), y)
    net.backward(dout)
    w2 = net.params["dense2.W"].copy()
    opt.step(net.params, net.trainable_grads())
    assert opt._plan[3] is not None  # the trainable parameters are one stretch of the buffer
    np.testing.assert_array_equal(net.params["dense1.W"], w1)
    expected = w2 - np.float32(0.1) * net.grads["dense2.W"]
    np.testing.assert_array_equal(net.params["dense2.W"], expected)


def sgd_joint_and_apart(net: Network, seed: int, steps: int = 3):
    """``steps`` SGD steps of ``net`` on random batches, its parameters updated as the engine
    does (one run over its buffers when it can) and, beside them, a copy updated array by array
    with the same gradients: (the optimiser, the per-array one, the per-array parameters, the
    last step's gradients)."""
    loss = losses.get("softmax_cross_entropy")
    rng = np.random.default_rng(seed)
    opt, opt_apart = optimizers.get("sgd", lr=0.1), optimizers.get("sgd", lr=0.1)
    apart = {k: v.copy() for k, v in net.params.items()}  # separate arrays: one run per array
    for _ in range(steps):
        x = rng.standard_normal((16, net.input_dim)).astype(np.float32)
        y = rng.integers(0, net.output_dim, 16)
        _, dout = loss(net.forward(x), y)
        net.backward(dout, input_grad=False)
        grads = {k: g.copy() for k, g in net.grads.items()}
        opt.step(net.params, net.grads)
        opt_apart.step(apart, grads)
    return opt, opt_apart, apart, grads
