"""Layer-wise probe statistics against a hand computation, histograms, ranges, and the promise
that probing never changes training."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from gradlab.engine import Network, activations, losses
from gradlab.experiment.probes import (
    HIST_QUANTITIES,
    LAYER_STATS,
    LOG_QUANTITIES,
    HistRange,
    Prober,
    bin_counts,
)

N = 6  # probe batch
IN = 3


# ---------------------------------------------------------------------------- hand computation


def softmax_ce(out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    n, k = out.shape
    e = np.exp(out - out.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    t = np.eye(k)[y]
    loss = float(-np.mean(np.sum(t * np.log(p), axis=1)))
    return loss, (p - t) / n


ACT = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2, 1.0),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float), 1.0),
    "sigmoid": (
        lambda z: 1.0 / (1.0 + np.exp(-z)),
        lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2,
        0.25,
    ),
    "linear": (lambda z: z, lambda z: np.ones_like(z), 1.0),
}


def hand_pass(layers, x, y):
    """Forward and backward through plain dense layers written out by hand.

    ``layers``: list of dicts with W, b (or None), act name. Returns per layer dicts with
    z, a, f' (fprime), dz (dL/dz of the batch-mean loss), dW, and the loss.
    """
    out = []
    h = x
    for layer in layers:
        f, fp, fmax = ACT[layer["act"]]
        z = h @ layer["W"]
        if layer["b"] is not None:
            z = z + layer["b"]
        a = f(z)
        out.append({"x": h, "z": z, "a": a, "fprime": fp(z), "fmax": fmax, "W": layer["W"]})
        h = a
    loss, g = softmax_ce(h, y)
    for rec in reversed(out):
        dz = g * rec["fprime"]
        rec["dz"] = dz
        rec["dW"] = rec["x"].T @ dz
        g = dz @ rec["W"].T
    return out, loss


def expected_stats(rec, n, jac_rows=None):
    """Every statistic of the probes.py table, from the hand pass of one layer."""
    z, a, dz, W, dW = rec["z"], rec["a"], rec["dz"], rec["W"], rec["dW"]
    delta = n * dz
    flat = rec["fprime"] < 0.01 * rec["fmax"]
    st = {
        "act_mean": a.mean(),
        "act_std": a.std(),
        "act_p02": np.percentile(a, 2),
        "act_p98": np.percentile(a, 98),
        "pre_mean": z.mean(),
        "pre_std": z.std(),
        "act_saturated": flat.mean(),
        "act_dead": flat.all(axis=0).mean(),
        "delta_std": delta.std(),
        "delta_norm": np.mean([np.linalg.norm(row) for row in delta]),
        "bias_grad_norm": np.linalg.norm(dz.sum(axis=0)),
        "wgrad_std": dW.std(),
        "wgrad_norm": np.linalg.norm(dW),
        "weight_std": W.std(),
        "weight_norm": np.linalg.norm(W),
    }
    if jac_rows is not None:
        svs = []
        for e in range(jac_rows):
            J = np.diag(rec["fprime"][e]) @ W.T
            svs.append(np.linalg.svd(J, compute_uv=False).mean())
        st["jacobian_sv_mean"] = float(np.mean(svs))
    return st


def hand_values(hand, n):
    """The values each histogram quantity counts, per layer."""
    vals = {q: [] for q in HIST_QUANTITIES}
    for rec in hand:
        delta = n * rec["dz"]
        vals["act"].append(rec["a"].ravel())
        vals["pre"].append(rec["z"].ravel())
        vals["delta"].append(delta.ravel())
        vals["wgrad"].append(rec["dW"].ravel())
        vals["weight"].append(rec["W"].ravel())
        for q, v in (("delta_log", delta), ("wgrad_log", rec["dW"])):
            v = np.abs(v.ravel())
            vals[q].append(np.log10(v[v > 0]))
    return vals


# ---------------------------------------------------------------------------- fixtures


def tiny_net() -> tuple[Network, np.ndarray, np.ndarray]:
    """3 -> 4 tanh -> 5 relu -> 2 linear, float64, with a saturated tanh unit and two dead ReLUs."""
    net = Network.from_spec(
        [
            {"units": 4, "activation": "tanh", "bias_init": {"name": "normal", "std": 0.3}},
            {"units": 5, "activation": "relu"},
        ],
        input_dim=IN,
        output_dim=2,
        seed=7,
        dtype="float64",
    )
    p = net.params
    p["dense1.W"][:, 0] *= 25.0  # tanh unit 0 saturates for most examples
    # tanh outputs are in [-1, 1] and |W2| <= sqrt(6/9): |a1 @ W2| < 4 * 0.82 < 5, so units 0-1
    # are below zero for every example (dead) and units 2-4 above zero for every example
    p["dense2.b"][:] = [-100.0, -100.0, 5.0, 5.0, 5.0]
    p["dense3.b"][:] = [0.1, -0.2]
    x = np.random.default_rng(1).normal(size=(N, IN))
    y = np.array([0, 1, 1, 0, 1, 0])
    return net, x, y


def layers_of(net):
    return [{"W": b.params["W"], "b": b.params.get("b"), "act": b.act.name} for b in net.blocks]


def make_prober(net, x, y, **kw) -> Prober:
    kw.setdefault("bins", 10)
    kw.setdefault("jacobian_every", 1)
    kw.setdefault("jacobian_examples", 3)
    return Prober(net, losses.get("softmax_cross_entropy"), x, y, **kw)


# ---------------------------------------------------------------------------- statistics


def test_every_statistic_matches_a_hand_computation():
    net, x, y = tiny_net()
    hand, loss = hand_pass(layers_of(net), x, y)
    rec = make_prober(net, x, y).probe(step=0, epoch=0.0, lr=0.1)
    assert rec.step == 0 and rec.lr == 0.1
    assert rec.loss == pytest.approx(loss, rel=1e-12)
    assert rec.jacobian is True
    assert rec.first_bad_layer is None
    assert set(rec.stats) == set(LAYER_STATS)
    for l, h in enumerate(hand):
        want = expected_stats(h, N, jac_rows=3)
        for name, value in want.items():
            got = rec.stats[name][l]
            # the Jacobian goes through eigenvalues of J J^T: a zero singular value (dead unit)
            # comes back as sqrt(round-off), ~1e-9 of the largest
            rel = 1e-7 if name == "jacobian_sv_mean" else 1e-9
            assert got == pytest.approx(value, rel=rel, abs=1e-13), f"layer {l + 1} {name}"
        assert rec.stats["nonfinite"][l] == 0
        assert math.isnan(rec.stats["update_ratio"][l]), "no update yet: update_ratio is NaN"


def test_saturated_and_dead_fractions_are_exact():
    net, x, y = tiny_net()
    rec = make_prober(net, x, y).probe(step=0, epoch=0.0, lr=0.1)
    # ReLU layer: units 0 and 1 have z < 0 for every example, units 2-4 z > 0 for every example
    assert rec.stats["act_dead"][1] == 2 / 5
    assert rec.stats["act_saturated"][1] == 2 / 5
    # the linear output layer never saturates
    assert rec.stats["act_saturated"][2] == 0.0
    assert rec.stats["act_dead"][2] == 0.0
    # the tanh layer: its blown-up unit 0 is saturated on at least some examples
    assert rec.stats["act_saturated"][0] > 0


def test_sigmoid_saturation_threshold_is_one_percent_of_a_quarter():
    # one sigmoid unit per column, pre-activations placed either side of the threshold
    # f'(z) = 0.0025 <=> z ~ 5.99: z = 5.5 (f' = 0.0041) is not saturated, z = 6.5 (0.0015) is
    net = Network.from_spec(
        [{"units": 4, "activation": "sigmoid", "init": "zeros", "bias": True}],
        input_dim=1,
        output_dim=2,
        seed=0,
        dtype="float64",
    )
    net.params["dense1.b"][:] = [5.5, 6.5, -6.5, 0.0]
    x = np.zeros((3, 1))
    rec = make_prober(net, x, np.array([0, 1, 0])).probe(0, 0.0, 0.1)
    assert rec.stats["act_saturated"][0] == pytest.approx(2 / 4)
    assert rec.stats["act_dead"][0] == pytest.approx(2 / 4)


def test_update_ratio_is_the_update_norm_over_the_weight_norm():
    net, x, y = tiny_net()
    norms = {"dense1": 0.3, "dense2": 0.0, "dense3": 1.5}
    rec = make_prober(net, x, y).probe(1, 0.1, 0.1, update_norms=norms)
    for l, name in enumerate(net.layer_names):
        W = net.params[f"{name}.W"]
        assert rec.stats["update_ratio"][l] == pytest.approx(norms[name] / np.linalg.norm(W))


def test_bias_grad_norm_without_a_bias_and_with_batchnorm():
    """A block with batch-norm reports ||dL/dbeta||, a block without bias the gradient a bias
    would get; the whole BN block (statistics of the batch, gamma, beta) computed by hand."""
    net = Network.from_spec(
        [
            {"units": 4, "activation": "tanh", "batchnorm": True},
            {"units": 3, "activation": "tanh", "bias": False},
        ],
        input_dim=IN,
        output_dim=2,
        seed=3,
        dtype="float64",
    )
    rng = np.random.default_rng(5)
    gamma, beta = net.params["bn1.gamma"], net.params["bn1.beta"]
    gamma[:] = rng.uniform(0.5, 2.0, 4)
    beta[:] = rng.normal(size=4)
    x = rng.normal(size=(N, IN))
    y = np.array([1, 0, 0, 1, 1, 0])
    assert "dense1.b" not in net.params and "dense2.b" not in net.params
    eps = net.blocks[0].bn.eps
    W1, W2, W3 = (net.params[f"dense{i}.W"] for i in (1, 2, 3))
    b3 = net.params.get("dense3.b", 0.0)  # the output layer inherits the last hidden's bias

    # forward, batch statistics (biased variance)
    zl = x @ W1
    mu, var = zl.mean(axis=0), zl.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (zl - mu) * inv_std
    z1 = gamma * xhat + beta
    a1 = np.tanh(z1)
    z2 = a1 @ W2
    a2 = np.tanh(z2)
    z3 = a2 @ W3 + b3
    loss, dz3 = softmax_ce(z3, y)
    dz2 = (dz3 @ W3.T) * (1 - a2**2)
    dz1 = (dz2 @ W2.T) * (1 - a1**2)
    dbeta = dz1.sum(axis=0)
    dxhat = dz1 * gamma
    dzl = inv_std / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    dW1 = x.T @ dzl

    rec = make_prober(net, x, y, jacobian_examples=2).probe(0, 0.0, 0.1)
    st = rec.stats
    assert rec.loss == pytest.approx(loss, rel=1e-12)
    assert st["bias_grad_norm"][0] == pytest.approx(np.linalg.norm(dbeta), rel=1e-9)
    assert st["bias_grad_norm"][0] == pytest.approx(np.linalg.norm(net.grads["bn1.beta"]), rel=1e-9)
    assert st["bias_grad_norm"][1] == pytest.approx(np.linalg.norm(dz2.sum(axis=0)), rel=1e-9)
    assert st["pre_mean"][0] == pytest.approx(z1.mean(), rel=1e-9, abs=1e-14)
    assert st["pre_std"][0] == pytest.approx(z1.std(), rel=1e-9)
    assert st["wgrad_norm"][0] == pytest.approx(np.linalg.norm(dW1), rel=1e-9)
    assert st["wgrad_std"][0] == pytest.approx(dW1.std(), rel=1e-9)
    assert st["delta_std"][0] == pytest.approx((N * dz1).std(), rel=1e-9)
    # Jacobian through the BN block with its statistics held fixed
    scale = gamma * inv_std
    svs = [
        np.linalg.svd(np.diag(1 - a1[e] ** 2) @ (W1.T * scale[:, None]), compute_uv=False).mean()
        for e in range(2)
    ]
    assert st["jacobian_sv_mean"][0] == pytest.approx(np.mean(svs), rel=1e-9)


def test_jacobian_only_on_its_schedule():
    net, x, y = tiny_net()
    prober = make_prober(net, x, y, jacobian_every=3)
    recs = [prober.probe(k, 0.0, 0.1) for k in range(5)]
    assert [r.jacobian for r in recs] == [True, False, False, True, False]
    for r in recs:
        assert np.isnan(r.stats["jacobian_sv_mean"]).all() != r.jacobian
    never = make_prober(net, x, y, jacobian_every=0).probe(0, 0.0, 0.1)
    assert not never.jacobian and np.isnan(never.stats["jacobian_sv_mean"]).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonfinite_inputs_are_counted_per_layer():
    net, x, y = tiny_net()
    x[2, 1] = np.nan  # one bad example: its row goes NaN in every layer, and every dW
    with np.errstate(all="ignore"):
        hand, _ = hand_pass(layers_of(net), x, y)
    rec = make_prober(net, x, y).probe(3, 0.0, 0.1)
    for l, h in enumerate(hand):
        arrays = (h["z"], h["a"], N * h["dz"], h["dW"], h["W"])
        expected = sum(int((~np.isfinite(v)).sum()) for v in arrays)
        assert expected > 0
        assert rec.stats["nonfinite"][l] == expected, f"layer {l + 1}"
        # the statistics describe the finite values
        a = h["a"][np.isfinite(h["a"])]
        assert rec.stats["act_mean"][l] == pytest.approx(a.mean(), rel=1e-9, abs=1e-13)
    assert rec.first_bad_layer == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nonfinite_values_are_counted_per_layer():
    net, x, y = tiny_net()
    net.params["dense1.W"][0, 0] = np.nan
    with np.errstate(all="ignore"):
        hand, _ = hand_pass(layers_of(net), x, y)
    rec = make_prober(net, x, y).probe(3, 0.0, 0.1)
    for l, h in enumerate(hand):
        arrays = (h["z"], h["a"], N * h["dz"], h["dW"], h["W"])
        expected = sum(int((~np.isfinite(v)).sum()) for v in arrays)
        assert expected > 0
        assert rec.stats["nonfinite"][l] == expected, f"layer {l + 1}"
    assert rec.first_bad_layer == 0
    assert not rec.jacobian or np.isnan(rec.stats["jacobian_sv_mean"]).all()
    for q in HIST_QUANTITIES:  # the histograms count only the finite values and stay usable
        for lo, hi in rec.ranges[q]:
            assert math.isfinite(lo) and math.isfinite(hi) and lo < hi


def test_a_layer_with_no_finite_value_is_probed_without_warnings():
    """When a network blows up, every value of a layer can be NaN: the probe reports NaN stats
    and a count, not RuntimeWarnings on the console (the house makes gradlab's RuntimeWarnings
    errors)."""
    net, x, y = tiny_net()
    x[:, 0] = np.nan  # every pre-activation, activation and gradient becomes NaN
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rec = make_prober(net, x, y).probe(3, 0.0, 0.1)
    assert rec.first_bad_layer == 0
    sizes = [N * 4 * 3 + 3 * 4, N * 5 * 3 + 4 * 5, N * 2 * 3 + 5 * 2]  # z, a, delta; dW
    np.testing.assert_array_equal(rec.stats["nonfinite"], sizes)
    for s in ("act_mean", "pre_std", "delta_norm", "wgrad_norm"):
        assert np.isnan(rec.stats[s]).all(), s
    np.testing.assert_allclose(
        rec.stats["weight_norm"], [np.linalg.norm(b.params["W"]) for b in net.blocks]
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_an_inf_weight_in_the_last_layer_is_caught_too():
    net, x, y = tiny_net()
    net.params["dense3.W"][2, 1] = np.inf
    rec = make_prober(net, x, y).probe(3, 0.0, 0.1)
    assert rec.stats["nonfinite"][2] > 0
    assert rec.first_bad_layer is not None


# ---------------------------------------------------------------------------- histograms


def test_histograms_count_every_value_like_numpy_histogram():
    net, x, y = tiny_net()
    bins = 10
    hand, _ = hand_pass(layers_of(net), x, y)
    vals = hand_values(hand, N)
    rec = make_prober(net, x, y, bins=bins).probe(0, 0.0, 0.1)
    assert set(rec.hists) == set(HIST_QUANTITIES)
    for q in HIST_QUANTITIES:
        counts = rec.hists[q]
        assert counts.shape == (3, bins) and rec.ranges[q].shape == (3, 2)
        for l in range(3):
            lo, hi = rec.ranges[q][l]
            v = vals[q][l]
            assert counts[l].sum() == v.size, f"{q} layer {l + 1}: every value counted once"
            assert lo <= v.min() and v.max() <= hi, f"{q}: values escape the range"
            # np.histogram with the documented rule: an edge value belongs to the bin above it
            # (interior edges nudged down by a hair; numpy itself rounds its linspace edges)
            edges = np.linspace(lo, hi, bins + 1)
            edges[1:-1] -= 1e-9 * (hi - lo) / bins
            np.testing.assert_array_equal(
                counts[l], np.histogram(v, edges)[0], err_msg=f"{q} layer {l + 1}"
            )


def test_log_histograms_skip_exact_zeros():
    net, x, y = tiny_net()
    rec = make_prober(net, x, y).probe(0, 0.0, 0.1)
    # dead ReLU units have delta exactly 0 for every example: 2 units x N examples not counted
    relu = 1
    assert rec.hists["delta"][relu].sum() == 5 * N
    assert rec.hists["delta_log"][relu].sum() == 5 * N - 2 * N
    # ... and so are the rows of dW that feed them (4 inputs x 2 dead units)
    assert rec.hists["wgrad_log"][relu].sum() == 4 * 5 - 4 * 2


def test_log_range_is_in_whole_decades_and_holds_every_gradient():
    net, x, y = tiny_net()
    rec = make_prober(net, x, y).probe(0, 0.0, 0.1)
    for q in LOG_QUANTITIES:
        for lo, hi in rec.ranges[q]:
            assert lo == math.floor(lo) and hi == math.floor(hi)
            assert lo <= -10 and hi >= 1  # at least the initial decades


def test_bin_counts_equals_numpy_histogram_for_random_values():
    rng = np.random.default_rng(0)
    for lo, hi in [(-1.0, 1.0), (0.0, 3.7), (-2.2, 2.2), (-13.0, 4.0)]:
        for bins in (4, 50, 101):
            x = rng.uniform(lo, hi, 5000)
            x[:2] = lo, hi  # both ends included
            np.testing.assert_array_equal(
                bin_counts(x, lo, hi, bins), np.histogram(x, bins, (lo, hi))[0]
            )


def test_bin_counts_puts_edge_values_in_the_bin_above_them():
    """Exact zeros (ReLU activations, dead units' gradients) sit on the middle edge of every
    symmetric range with an even number of bins: they must land in the bin [0, w) every time,
    whatever the rounding of the range (np.histogram puts them left or right depending on its
    rounded linspace edges); values inside bins agree with np.histogram."""
    for r in (0.5, 0.9, 1.0, 2.2, 3.3, 1e-7, 123.4):
        got = bin_counts(np.zeros(7), -r, r, 50)
        assert got[25] == 7, f"range +-{r}: zeros in bin {np.flatnonzero(got)}"
        rng = np.random.default_rng(0)
        inside = rng.uniform(-r, r, 10_000)
        w = 2 * r / 50
        pos = (inside + r) / w
        inside = inside[np.abs(pos - np.round(pos)) > 1e-6]  # away from edges
        np.testing.assert_array_equal(
            bin_counts(inside, -r, r, 50), np.histogram(inside, 50, (-r, r))[0]
        )
    # dyadic edges are exact: each edge value goes to the bin above, the top edge to the last
    edges = np.linspace(-1.0, 1.0, 33)  # w = 1/16
    np.testing.assert_array_equal(bin_counts(edges, -1.0, 1.0, 32), [1] * 31 + [2])


# ---------------------------------------------------------------------------- ranges


def test_hist_range_linear_fixed_while_values_fit_and_widening_when_they_escape():
    r = HistRange(log=False)
    assert r.fit(-1.0, 2.0) is True
    assert (r.lo, r.hi) == pytest.approx((-2.2, 2.2))  # symmetric, 10% margin at creation
    assert r.fit(-0.5, 0.5) is False  # values inside: nothing moves (never narrows)
    assert (r.lo, r.hi) == pytest.approx((-2.2, 2.2))
    assert r.fit(-2.2, 2.2) is False
    assert r.fit(-3.0, 1.0) is True
    assert (r.lo, r.hi) == pytest.approx((-3.75, 3.75))  # 25% beyond when widened
    assert r.fit(-0.1, 0.1) is False
    assert (r.lo, r.hi) == pytest.approx((-3.75, 3.75))


def test_hist_range_stays_one_sided_for_non_negative_values():
    r = HistRange(log=False)
    r.fit(0.0, 1.0)
    assert (r.lo, r.hi) == pytest.approx((0.0, 1.1))
    assert r.fit(0.0, 0.5) is False
    assert r.fit(0.2, 2.0) is True
    assert (r.lo, r.hi) == pytest.approx((0.0, 2.5))
    # a negative value turns it symmetric, still holding everything seen before
    assert r.fit(-1.0, 1.0) is True
    assert r.lo <= -1.0 and r.hi >= 2.5 and r.lo == -r.hi


def test_hist_range_of_all_zeros_is_valid():
    r = HistRange(log=False)
    r.fit(0.0, 0.0)
    assert r.lo == 0.0 and r.hi > 0.0


def test_hist_range_ignores_non_finite_bounds():
    r = HistRange(log=False)
    r.fit(-1.0, 1.0)
    before = (r.lo, r.hi)
    assert r.fit(-math.inf, 1.0) is False and (r.lo, r.hi) == before
    assert r.fit(0.0, math.nan) is False and (r.lo, r.hi) == before


def test_hist_range_log_widens_by_whole_decades():
    r = HistRange(log=True)
    r.fit(-3.5, -0.2)
    assert (r.lo, r.hi) == (-10.0, 1.0)  # the initial decades hold these
    assert r.fit(-9.0, 0.5) is False
    assert r.fit(-12.3, 2.5) is True
    assert (r.lo, r.hi) == (-13.0, 3.0)
    assert r.fit(-5.0, 0.0) is False
    assert (r.lo, r.hi) == (-13.0, 3.0)


def test_probe_ranges_stay_fixed_while_values_fit_and_widen_when_they_escape():
    net, x, y = tiny_net()
    W = {k: v.copy() for k, v in net.params.items()}
    prober = make_prober(net, x, y)
    first = prober.probe(0, 0.0, 0.1)

    # smaller weights: weights, pre-activations and activations shrink; their ranges stay put
    for k in W:
        if k.endswith(".W"):
            net.params[k][...] = 0.5 * W[k]
    second = prober.probe(1, 0.0, 0.1)
    for q in ("weight", "pre", "act"):
        np.testing.assert_array_equal(second.ranges[q], first.ranges[q], err_msg=q)

    # bigger weights: the weight range widens, never narrows, and holds every value
    for k in W:
        if k.endswith(".W"):
            net.params[k][...] = 4.0 * W[k]
    third = prober.probe(2, 0.0, 0.1)
    hand, _ = hand_pass(layers_of(net), x, y)
    vals = hand_values(hand, N)
    for q in HIST_QUANTITIES:
        for l in range(3):
            lo0, hi0 = second.ranges[q][l]
            lo, hi = third.ranges[q][l]
            assert lo <= lo0 and hi >= hi0, f"{q} narrowed"
            v = vals[q][l]
            assert lo <= v.min() and v.max() <= hi, f"{q} layer {l + 1} does not hold its values"
        assert third.hists[q].sum() == sum(v.size for v in vals[q])
    assert not np.array_equal(third.ranges["weight"], first.ranges["weight"])
    # the state keeps one range per group: the hidden layers', then the output layer's
    w = third.ranges["weight"]
    assert prober.state()["ranges"]["weight"] == [list(w[0]), list(w[-1])]


def test_hidden_layers_share_a_range_and_the_output_layer_has_its_own():
    """Overlaid histograms of the hidden layers must be comparable (one range), while the
    output's logits, often far wider than tanh units, must not squash them into a few bins."""
    net, x, y = tiny_net()
    net.params[f"dense{len(net.blocks)}.W"][...] *= 100.0  # huge logits
    rec = make_prober(net, x, y).probe(0, 0.0, 0.1)
    for q in HIST_QUANTITIES:
        r = rec.ranges[q]
        np.testing.assert_array_equal(r[0], r[1], err_msg=q)  # hidden layers 1 and 2 share
    hidden, out = rec.ranges["act"][0], rec.ranges["act"][-1]
    assert out[1] - out[0] > 20 * (hidden[1] - hidden[0])
    # the hidden layers' range is set by their own values (10% margin), not by the logits
    top = max(abs(rec.stats["act_p02"][:-1]).max(), abs(rec.stats["act_p98"][:-1]).max())
    assert hidden[1] < 1.3 * max(abs(b.taps["a"]).max() for b in net.blocks[:-1])
    assert top > 0


def test_prober_state_round_trip_keeps_ranges_and_count():
    net, x, y = tiny_net()
    a = make_prober(net, x, y, jacobian_every=2)
    a.probe(0, 0.0, 0.1)
    a.probe(1, 0.0, 0.1)
    b = make_prober(net, x, y, jacobian_every=2)
    b.load_state(a.state())
    ra, rb = a.probe(2, 0.0, 0.1), b.probe(2, 0.0, 0.1)
    assert ra.jacobian == rb.jacobian
    for q in HIST_QUANTITIES:
        np.testing.assert_array_equal(ra.ranges[q], rb.ranges[q])
    for q in HIST_QUANTITIES:
        np.testing.assert_array_equal(ra.hists[q], rb.hists[q])


# ---------------------------------------------------------------------------- non-interference


def training_net() -> Network:
    return Network.from_spec(
        [
            {"units": 6, "activation": "tanh", "batchnorm": True, "dropout": 0.3},
            {"type": "batchnorm"},
            {"units": 5, "activation": "relu"},
            {"type": "dropout", "rate": 0.2},
        ],
        input_dim=IN,
        output_dim=2,
        seed=11,
        dtype="float64",
    )


def test_probing_does_not_change_training():
    net, twin = training_net(), training_net()
    rng = np.random.default_rng(2)
    x_train = rng.normal(size=(8, IN))
    # some training first, so running averages and the dropout generator have moved
    for n in (net, twin):
        n.forward(x_train, training=True)
    params = {k: v.copy() for k, v in net.params.items()}
    buffers = {k: v.copy() for k, v in net.buffers.items()}
    rng_state = net.rng.bit_generator.state

    xp = rng.normal(size=(N, IN))
    prober = make_prober(net, xp, np.array([0, 1, 0, 1, 1, 0]))
    prober.probe(0, 0.0, 0.1)
    prober.probe(1, 0.0, 0.1)

    for k, v in params.items():
        np.testing.assert_array_equal(net.params[k], v, err_msg=k)
    for k, v in buffers.items():
        np.testing.assert_array_equal(net.buffers[k], v, err_msg=f"{k} moved")
    assert net.rng.bit_generator.state == rng_state, "the probe drew from the training generator"
    # the next training step is exactly what it would have been without the probes
    out, out_twin = net.forward(x_train, training=True), twin.forward(x_train, training=True)
    np.testing.assert_array_equal(out, out_twin)
    for k in buffers:
        np.testing.assert_array_equal(net.buffers[k], twin.buffers[k])


def test_probes_with_dropout_are_reproducible_from_their_seed():
    net = training_net()
    xp = np.random.default_rng(4).normal(size=(N, IN))
    y = np.array([0, 1, 0, 1, 1, 0])
    a = make_prober(net, xp, y, seed=9)
    b = make_prober(net, xp, y, seed=9)
    for k in range(2):
        ra, rb = a.probe(k, 0.0, 0.1), b.probe(k, 0.0, 0.1)
        for s in LAYER_STATS:
            np.testing.assert_array_equal(ra.stats[s], rb.stats[s], err_msg=s)


# ---------------------------------------------------------------------------- |f'| and CS231n


def one_layer(activation: str, **extra) -> tuple[Network, np.ndarray, np.ndarray]:
    """40 units of ``activation`` with pre-activations spread over [-6, 6] and more."""
    net = Network.from_spec(
        [{"units": 40, "activation": activation, "init": {"name": "normal", "std": 2.0}, **extra}],
        input_dim=IN,
        output_dim=2,
        seed=3,
        dtype="float64",
    )
    x = np.random.default_rng(5).normal(size=(200, IN))
    return net, x, np.arange(200) % 2


@pytest.mark.parametrize(
    "activation", [a for a in activations.names() if a != "maxout"] + ["maxout"]
)
def test_saturated_and_dead_use_the_magnitude_of_the_slope(activation):
    """|f'(z)| < 1% of max |f'|, for every activation: GELU and SiLU have negative slopes
    (down to -0.13 and -0.10) that still carry gradient; tanh, sigmoid, softsign, SELU have
    slopes that rise and fall."""
    net, x, y = one_layer(activation)
    rec = make_prober(net, x, y, jacobian_every=0).probe(0, 0.0, 0.1)
    blk = net.blocks[0]
    d = blk.derivative()
    flat = np.abs(d) < 0.01 * blk.act.max_derivative
    assert rec.stats["act_saturated"][0] == pytest.approx(flat.mean(), abs=1e-12)
    assert rec.stats["act_dead"][0] == pytest.approx(flat.all(axis=0).mean(), abs=1e-12)


@pytest.mark.parametrize(("activation", "z0"), [("gelu", -1.5), ("silu", -2.4)])
def test_a_unit_on_the_negative_slope_of_gelu_or_silu_is_neither_saturated_nor_dead(activation, z0):
    net, x, y = one_layer(activation)
    net.params["dense1.W"][:, :10] = 0.0  # ten units sit at z0 for every example
    net.params["dense1.b"][:10] = z0
    rec = make_prober(net, x, y, jacobian_every=0).probe(0, 0.0, 0.1)
    d = net.blocks[0].derivative()
    assert (d[:, :10] < -0.09).all()  # a negative slope, far from flat
    signed = d < 0.01 * net.blocks[0].act.max_derivative  # what the probes used to count
    assert rec.stats["act_dead"][0] < signed.all(axis=0).mean() - 0.2
    assert rec.stats["act_saturated"][0] < signed.mean() - 0.2


def test_update_ratio_divides_by_the_weights_before_the_update():
    """CS231n's ratio ||W_after - W_before|| / ||W_before||, measured through the experiment."""
    import gradlab

    spec = {
        "name": "u",
        "data": {"name": "spiral", "n": 200},
        "network": {"layers": [{"units": 8, "activation": "tanh"}]},
        "training": {"optimizer": "sgd", "lr": 2.0, "steps": 5},
        "probes": {"every": 1, "jacobian_every": 0},
    }
    exp = gradlab.Experiment(spec)
    exp.run(steps=2)
    before = {k: v.copy() for k, v in exp.network.params.items()}
    exp.run(steps=1)
    ratio = exp.history.probe(-1)["stats"]["update_ratio"]
    for l, name in enumerate(exp.network.layer_names):
        w0, w1 = before[f"{name}.W"], exp.network.params[f"{name}.W"]
        assert ratio[l] == pytest.approx(np.linalg.norm(w1 - w0) / np.linalg.norm(w0), rel=1e-5)
        after = np.linalg.norm(w1 - w0) / np.linalg.norm(w1)
        assert abs(ratio[l] - after) > 1e-3 * after  # (over ||W_after|| it would differ)


def test_update_ratio_over_given_weight_norms_before():
    net, x, y = tiny_net()
    norms = {"dense1": 0.3, "dense2": 0.0, "dense3": 1.5}
    before = {"dense1": 2.0, "dense2": 1.0, "dense3": 0.5}
    rec = make_prober(net, x, y).probe(1, 0.1, 0.1, update_norms=norms, weight_norms_before=before)
    for l, name in enumerate(net.layer_names):
        assert rec.stats["update_ratio"][l] == pytest.approx(norms[name] / before[name])
