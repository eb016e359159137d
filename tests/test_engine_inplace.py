"""The engine's in-place and blocked paths (the 784-[512]x4-10 ReLU step of bench/engine.py):
a ReLU delta written over the next block's dx, the bias gradient as a GEMV, and an optimiser
update run a block of elements at a time give exactly the values of the formed, whole-array
computations; the caller's arrays are never overwritten; and the scratch arrays reused from step
to step carry nothing from one step into the next."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.engine import Network, activations, losses, optimizers, updateplan
from gradlab.engine.layers import Dense
from tests.test_engine_fused import HYPER as FUSED_HYPER
from tests.test_engine_fused import sgd_joint_and_apart

HYPER = FUSED_HYPER  # (one setting per optimiser, away from the defaults; covers every one)


@pytest.mark.parametrize("name", activations.names())
def test_backward_over_gives_the_bits_of_backward_for_every_activation(name):
    """dL/dz written over dL/da (what a hidden block does) equals the backward pass that forms
    a new array, bit for bit; ReLU's is in place (no new array), the others leave da alone."""
    rng = np.random.default_rng(1)
    act = activations.get(name)
    pieces = act.pieces
    if act.learned:
        act.build(6, np.dtype(np.float64))
        act.slopes[...] = rng.uniform(0.05, 0.5, 6)
    z = rng.standard_normal((5, 6 * pieces))
    z[0, :2] = 0.0  # the kink
    a = act.forward(z)
    da = rng.standard_normal(a.shape)
    expected = act.backward(z, a, da.copy())
    if act.learned:
        dslopes = act.dslopes.copy()
    scratch = da.copy()
    got = act.backward_over(z, a, scratch)
    np.testing.assert_array_equal(got, expected)
    if act.learned:
        np.testing.assert_array_equal(act.dslopes, dslopes)
    if name == "relu":
        assert got is scratch
    elif got is not scratch:
        np.testing.assert_array_equal(scratch, da)


def nets(dtype="float64"):
    """ReLU networks with every module a hidden block's dx can pass through on its way back:
    dropout inside a block, a standalone dropout, batch norm inside a block, a standalone batch
    norm, and a ReLU output layer (its dout is the caller's array)."""
    relu = {"units": 12, "activation": "relu"}
    specs = {
        "plain": [relu, relu, relu],
        "dropout": [{**relu, "dropout": 0.3}, relu, {"type": "dropout", "rate": 0.4}, relu],
        "batchnorm": [{**relu, "batchnorm": True}, {"type": "batchnorm"}, relu],
        "relu output": [relu, relu, {"type": "output", "activation": "relu"}],
    }
    return {k: Network.from_spec(v, input_dim=7, output_dim=4, seed=2, dtype=dtype)
            for k, v in specs.items()}


def backward_formed(net: Network, dout: np.ndarray) -> None:
    """Network.backward with every module forming new arrays (overwrite off): the reference."""
    for i in range(len(net.modules) - 1, -1, -1):
        dout = net.modules[i].backward(dout, True, True, False)


def grads_and_deltas(net: Network) -> dict[str, np.ndarray]:
    out = {k: g.copy() for k, g in net.grads.items()}
    for blk in net.blocks:
        out[blk.name + ".delta"] = blk.taps["delta"].copy()
    return out


@pytest.mark.parametrize("kind", ["plain", "dropout", "batchnorm", "relu output"])
def test_in_place_backward_equals_the_formed_one_and_spares_the_callers_dout(kind):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 7))
    net = nets()[kind]
    ref = nets()[kind]
    out = net.forward(x, rng=np.random.default_rng(4))
    ref.forward(x, rng=np.random.default_rng(4))
    dout = rng.standard_normal(out.shape)
    kept = dout.copy()
    net.backward(dout)
    assert np.array_equal(dout, kept), "the caller's dL/doutput was overwritten"
    backward_formed(ref, kept.copy())
    got, expected = grads_and_deltas(net), grads_and_deltas(ref)
    for k, v in expected.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-12, atol=1e-14, err_msg=k)
        np.testing.assert_array_equal(got[k], v, err_msg=k)  # (the same operations: same bits)
        assert np.any(v != 0), f"{k}: nothing flowed back"


def test_bias_gradient_is_the_batch_sum_of_delta():
    """db = 1^T dz (the GEMV) is sum over the batch of dL/dz, to float64 rounding."""
    net = nets()["plain"]
    rng = np.random.default_rng(6)
    out = net.forward(rng.standard_normal((33, 7)))
    net.backward(rng.standard_normal(out.shape))
    for blk in net.blocks:
        expected = blk.taps["delta"].sum(axis=0)
        np.testing.assert_allclose(blk.grads["b"], expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(HYPER))
def test_the_blocked_update_equals_the_whole_array_update(name, dtype, monkeypatch):
    """Blocks of 100 elements: a 61x17 parameter (1,037 elements, the last block partial) is
    updated in 11 blocks; every rule gives the bits of the one-run update, and so does its
    state, over several steps."""
    rng = np.random.default_rng(7)
    shapes = {"a.W": (61, 17), "a.b": (17,), "b.W": (17, 40)}
    start = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    steps = [{k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
             for _ in range(4)]

    def run(block):
        monkeypatch.setattr(updateplan, "BLOCK_ELEMENTS", block)
        params = {k: v.copy() for k, v in start.items()}
        opt = optimizers.get(name, **HYPER[name])
        for grads in steps:
            opt.step(params, grads)
        return params, opt.state_dict()

    whole, whole_state = run(10**9)
    blocked, blocked_state = run(100)
    assert updateplan.blockable(blocked["a.W"], steps[0]["a.W"], ())
    for k, w in whole.items():
        np.testing.assert_array_equal(blocked[k], w, err_msg=k)
        assert not np.array_equal(w, start[k]), f"{k} never moved"
    for slot, per in whole_state["slots"].items():
        for k, v in per.items():
            np.testing.assert_array_equal(blocked_state["slots"][slot][k], v)


def test_sgd_runs_over_a_large_network_in_blocks_with_the_bits_of_the_per_array_update(
    monkeypatch,
):
    """A network larger than a block (here, blocks of 100 elements) is still one span for SGD,
    run a block at a time; the result is the per-array update's, bit for bit."""
    monkeypatch.setattr(updateplan, "BLOCK_ELEMENTS", 100)
    net = Network.from_spec([{"units": 20, "activation": "relu"}] * 2, input_dim=9,
                            output_dim=3, seed=0)
    assert net.n_params > 100
    opt, opt_apart, apart, _ = sgd_joint_and_apart(net, seed=8)
    span = opt._plan[3]
    assert span is not None and span.blocked and span.bufs[0].size == 100
    assert opt_apart._plan[3] is None
    for k, w in apart.items():
        np.testing.assert_array_equal(net.params[k], w, err_msg=k)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_reused_scratch_carries_nothing_from_one_step_into_the_next(name, monkeypatch):
    """A step on a batch that makes every gradient NaN, then a step on a good batch of another
    size: the second step's gradients, deltas and updated parameters equal those of a fresh
    network (and optimiser) given the same weights and that batch alone."""
    monkeypatch.setattr(updateplan, "BLOCK_ELEMENTS", 100)  # several blocks per parameter
    loss = losses.get("softmax_cross_entropy")
    rng = np.random.default_rng(9)
    layers = [{"units": 24, "activation": "relu"}, {"units": 24, "activation": "relu"}]

    def build():
        return (Network.from_spec(layers, input_dim=10, output_dim=3, seed=1, dtype="float64"),
                optimizers.get(name, **HYPER[name]))

    used, opt = build()
    x_bad = rng.standard_normal((16, 10))
    x_bad[3, 4] = np.nan
    _, dout = loss(used.forward(x_bad), rng.integers(0, 3, 16))
    used.backward(dout, input_grad=False)
    assert np.isnan(used.grads["dense1.W"]).all() and np.isnan(used.grads["dense2.b"]).all()
    # (the NaN step is not applied: the trainer refuses it; its arrays are what is left over)
    weights = {k: v.copy() for k, v in used.params.items()}
    opt.step({k: np.zeros_like(v) for k, v in weights.items()},
             {k: np.ones_like(v) for k, v in weights.items()})  # fills the scratch
    for arrays in opt._state.values():  # a fresh state, kept in place with the used scratch
        for a in arrays:
            a[...] = 0.0
    opt.t = 0
    fresh, opt_fresh = build()
    fresh.load_state_arrays(weights)
    x, y = rng.standard_normal((11, 10)), rng.integers(0, 3, 11)
    for net, o in ((used, opt), (fresh, opt_fresh)):
        _, dout = loss(net.forward(x), y)
        net.backward(dout, input_grad=False)
        o.step(net.params, net.grads)
    got, expected = grads_and_deltas(used), grads_and_deltas(fresh)
    for k, v in expected.items():
        assert np.isfinite(got[k]).all(), k
        np.testing.assert_array_equal(got[k], v, err_msg=k)
    for k, w in fresh.params.items():
        np.testing.assert_array_equal(used.params[k], w, err_msg=k)


def test_a_dense_block_given_the_callers_array_leaves_it_alone():
    """Dense.backward without ``overwrite`` (what the network does with the caller's dout, and
    what any other caller gets by default) never writes into dout."""
    net = nets()["plain"]
    rng = np.random.default_rng(10)
    net.forward(rng.standard_normal((5, 7)))
    blk = net.blocks[1]
    assert isinstance(blk, Dense)
    dout = rng.standard_normal((5, 12))
    kept = dout.copy()
    blk.backward(dout)
    np.testing.assert_array_equal(dout, kept)
