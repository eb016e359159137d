"""Gradient norms and clipping, L1/L2 penalties (checked by finite differences), max-norm."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlab.engine import regularization as reg
from gradlab.errors import SpecError


def grads_dict(rng, dtype=np.float64, scale=1.0):
    return {
        "dense1.W": (scale * rng.standard_normal((30, 20))).astype(dtype),
        "dense1.b": (scale * rng.standard_normal(20)).astype(dtype),
        "dense2.W": (scale * rng.standard_normal((20, 4))).astype(dtype),
        "dense2.b": (scale * rng.standard_normal(4)).astype(dtype),
    }


def by_hand(arrays):
    return math.sqrt(sum(float(x) ** 2 for a in arrays for x in a.ravel()))


def test_global_norm_matches_hand_computation():
    rng = np.random.default_rng(0)
    grads = grads_dict(rng)
    assert reg.global_norm(grads) == pytest.approx(by_hand(grads.values()), rel=1e-13)
    names = ["dense1.W", "dense2.W"]
    assert reg.global_norm(grads, names) == pytest.approx(
        by_hand([grads[n] for n in names]), rel=1e-13)
    assert isinstance(reg.global_norm(grads), float)
    assert reg.global_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}) == 5.0


def test_global_norm_float32():
    rng = np.random.default_rng(1)
    grads = grads_dict(rng, np.float32)
    assert reg.global_norm(grads) == pytest.approx(by_hand(grads.values()), rel=1e-5)


def test_global_norm_of_an_exploding_float32_gradient_is_finite():
    """Squares of 1e30 overflow float32; the norm is still reported (1e30 · √n), not inf."""
    grads = {"w": np.full((10, 10), 1e30, np.float32), "b": np.full(21, -1e30, np.float32)}
    assert reg.global_norm(grads) == pytest.approx(1e30 * 11.0, rel=1e-6)


def test_clip_by_value():
    g = {"w": np.array([[-3.0, 0.5], [2.0, -0.2]]), "b": np.array([0.9, -1.5])}
    assert reg.clip_by_value(g, 1.0) is True
    np.testing.assert_array_equal(g["w"], [[-1.0, 0.5], [1.0, -0.2]])
    np.testing.assert_array_equal(g["b"], [0.9, -1.0])
    before = {k: v.copy() for k, v in g.items()}
    assert reg.clip_by_value(g, 1.0) is False
    for k in g:
        np.testing.assert_array_equal(g[k], before[k])


def test_clip_by_value_keeps_dtype_and_arrays():
    g = {"w": np.array([5.0, -5.0, 0.25], np.float32)}
    arr = g["w"]
    assert reg.clip_by_value(g, 0.5)
    assert g["w"] is arr and arr.dtype == np.float32
    np.testing.assert_array_equal(arr, np.array([0.5, -0.5, 0.25], np.float32))


def test_clip_by_global_norm_scales_everything_together():
    rng = np.random.default_rng(2)
    grads = grads_dict(rng)
    before = {k: v.copy() for k, v in grads.items()}
    norm = by_hand(before.values())
    got, clipped = reg.clip_by_global_norm(grads, 1.0)
    assert clipped is True
    assert got == pytest.approx(norm, rel=1e-13)
    assert reg.global_norm(grads) == pytest.approx(1.0, rel=1e-13)
    for k in grads:  # direction kept: every element scaled by the same factor
        np.testing.assert_allclose(grads[k], before[k] / norm, rtol=1e-13)


def test_clip_by_global_norm_below_the_limit_does_nothing():
    rng = np.random.default_rng(3)
    grads = grads_dict(rng, scale=1e-3)
    before = {k: v.copy() for k, v in grads.items()}
    norm, clipped = reg.clip_by_global_norm(grads, 10.0)
    assert clipped is False and norm == pytest.approx(by_hand(before.values()), rel=1e-13)
    for k in grads:
        np.testing.assert_array_equal(grads[k], before[k])


def test_clip_by_global_norm_uses_a_precomputed_norm():
    grads = {"w": np.array([3.0, 4.0])}  # true norm 5
    norm, clipped = reg.clip_by_global_norm(grads, 1.0, norm=10.0)
    assert (norm, clipped) == (10.0, True)
    np.testing.assert_allclose(grads["w"], [0.3, 0.4], rtol=1e-15)


def test_clip_by_global_norm_leaves_non_finite_gradients_for_the_trainer():
    """A diverged step is reported as such, not silently turned into a zero gradient."""
    grads = {"w": np.array([3.0, 1.0]), "b": np.array([np.inf])}
    norm, clipped = reg.clip_by_global_norm(grads, 1.0)
    assert norm == math.inf and clipped is False
    np.testing.assert_array_equal(grads["w"], [3.0, 1.0])
    np.testing.assert_array_equal(grads["b"], [np.inf])
    grads = {"w": np.array([np.nan, 1.0])}
    norm, clipped = reg.clip_by_global_norm(grads, 1.0)
    assert math.isnan(norm) and clipped is False


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20), st.floats(1e-3, 1e3))
def test_clipped_norm_never_exceeds_the_limit(values, max_norm):
    grads = {"w": np.array(values)}
    reg.clip_by_global_norm(grads, max_norm)
    assert reg.global_norm(grads) <= max_norm * (1 + 1e-12)


def test_penalty_value():
    params = {"dense1.W": np.array([[1.0, -2.0], [0.5, 0.0]]), "dense1.b": np.array([10.0, 10.0])}
    names = ["dense1.W"]
    assert reg.penalty(params, 0.0, 0.0, names) == 0.0
    assert reg.penalty(params, 0.1, 0.0, names) == pytest.approx(0.1 * 3.5, rel=1e-15)
    assert reg.penalty(params, 0.0, 0.2, names) == pytest.approx(0.1 * 5.25, rel=1e-15)
    assert reg.penalty(params, 0.1, 0.2, names) == pytest.approx(0.35 + 0.525, rel=1e-15)
    # None means every parameter (biases included)
    assert reg.penalty(params, 0.0, 2.0, None) == pytest.approx(5.25 + 200.0, rel=1e-15)


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.3), (0.05, 0.0), (0.05, 0.3)])
def test_penalty_gradient_by_finite_differences(l1, l2):
    rng = np.random.default_rng(4)
    W = rng.standard_normal((5, 4))
    W += np.sign(W) * 0.1  # keep away from the kink of |w| at 0
    params = {"dense1.W": W, "dense2.W": rng.standard_normal((4, 3)) + 3.0,
              "dense1.b": rng.standard_normal(4)}
    names = ["dense1.W", "dense2.W"]
    grads = {k: rng.standard_normal(v.shape) for k, v in params.items()}
    before = {k: v.copy() for k, v in grads.items()}
    reg.add_penalty_grads(params, grads, l1, l2, names)
    np.testing.assert_array_equal(grads["dense1.b"], before["dense1.b"])
    h = 1e-6
    for name in names:
        analytic = grads[name] - before[name]
        numeric = np.zeros_like(analytic)
        p = params[name]
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = reg.penalty(params, l1, l2, names)
            p[idx] = old - h
            down = reg.penalty(params, l1, l2, names)
            p[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        rel = np.abs(analytic - numeric) / np.maximum(np.abs(analytic) + np.abs(numeric), 1e-12)
        assert rel.max() < 1e-7, f"{name}: relative error {rel.max():.2e}"


def test_l1_subgradient_is_zero_at_zero_and_dtype_is_kept():
    params = {"W": np.array([[0.0, 2.0], [-3.0, 0.0]], np.float32)}
    grads = {"W": np.zeros((2, 2), np.float32)}
    g = grads["W"]
    reg.add_penalty_grads(params, grads, 0.5, 0.1, ["W"])
    assert grads["W"] is g and g.dtype == np.float32
    np.testing.assert_allclose(g, [[0.0, 0.5 + 0.2], [-0.5 - 0.3, 0.0]], rtol=1e-6)


def test_max_norm_caps_columns_and_leaves_the_others_untouched():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((20, 8))
    W[:, :4] *= 0.1  # norms around 0.45: under the limit
    W[:, 4:] *= 3.0  # norms around 13: over it
    b = rng.standard_normal(8) * 100
    params = {"dense1.W": W, "dense1.b": b}
    before = {k: v.copy() for k, v in params.items()}
    reg.apply_max_norm(params, 2.0, ["dense1.W"])
    assert params["dense1.W"] is W
    norms = np.linalg.norm(W, axis=0)
    assert (norms <= 2.0 * (1 + 1e-12)).all()
    np.testing.assert_array_equal(W[:, :4], before["dense1.W"][:, :4])
    np.testing.assert_allclose(norms[4:], 2.0, rtol=1e-12)
    old = before["dense1.W"][:, 4:]
    np.testing.assert_allclose(W[:, 4:], old * (2.0 / np.linalg.norm(old, axis=0)), rtol=1e-12)
    np.testing.assert_array_equal(b, before["dense1.b"])


def test_max_norm_float32():
    rng = np.random.default_rng(6)
    W = (rng.standard_normal((50, 10)) * 2).astype(np.float32)
    reg.apply_max_norm({"W": W}, 1.0, ["W"])
    assert W.dtype == np.float32
    assert (np.linalg.norm(W.astype(np.float64), axis=0) <= 1.0 + 1e-6).all()


def test_max_norm_needs_a_matrix():
    with pytest.raises(ValueError, match=r"'dense1\.b'"):
        reg.apply_max_norm({"dense1.b": np.ones(3)}, 1.0, ["dense1.b"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: reg.clip_by_value({}, 0.0), "limit: must be > 0"),
        (lambda: reg.clip_by_global_norm({}, -1.0), "max_norm: must be > 0"),
        (lambda: reg.penalty({}, -0.1, 0.0, []), "l1: must be >= 0"),
        (lambda: reg.add_penalty_grads({}, {}, 0.0, float("nan"), []), "l2: must be finite"),
        (lambda: reg.apply_max_norm({}, 0.0, []), "max_norm: must be > 0"),
    ],
)
def test_bad_arguments_name_the_field(call, message):
    with pytest.raises(SpecError) as err:
        call()
    assert str(err.value).startswith(message)
