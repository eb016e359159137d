"""Preprocessing: statistics fitted on train only, checked against hand computation, reapplied
exactly from a stored state."""

import numpy as np
import pytest

from gradlab import data
from gradlab.data import preprocess as prep
from gradlab.errors import SpecError

METHODS = ["none", "center", "standardize", "minmax", "pca_whiten"]


def _xy(ds):
    return ds.x_train.astype(np.float64), ds.x_val.astype(np.float64)


def test_every_method_is_offered():
    assert tuple(METHODS) == data.PREPROCESSING
    param = next(p for p in data.info("spiral").params if p.name == "preprocess")
    assert param.choices == tuple(METHODS) and param.default == "none"
    assert next(p for p in data.info("csv").params if p.name == "preprocess").default == \
        "standardize"


def test_center_subtracts_the_training_mean_only():
    spec = {"name": "gaussians", "n": 400}
    raw = data.load(spec, seed=1)
    ds = data.load({**spec, "preprocess": "center"}, seed=1)
    mean = raw.x_train.astype(np.float64).mean(axis=0)
    assert np.allclose(ds.preprocess_state["mean"], mean)
    assert np.allclose(ds.x_train, raw.x_train - mean, atol=1e-5)
    assert np.allclose(ds.x_val, raw.x_val - mean, atol=1e-5)   # val uses train's mean
    assert np.abs(ds.x_train.mean(axis=0)).max() < 1e-5
    assert np.abs(ds.x_val.mean(axis=0)).max() > 1e-4             # ... so it is not centred


def test_standardize_gives_mean_0_std_1_on_train_and_uses_train_statistics_on_val():
    spec = {"name": "moons", "n": 500}
    raw = data.load(spec, seed=2)
    ds = data.load({**spec, "preprocess": "standardize"}, seed=2)
    xt, xv = _xy(raw)
    mean, std = xt.mean(0), xt.std(0)
    assert np.allclose(ds.preprocess_state["mean"], mean)
    assert np.allclose(ds.preprocess_state["std"], std)
    assert np.allclose(ds.x_train.mean(0), 0, atol=1e-6)
    assert np.allclose(ds.x_train.std(0), 1, atol=1e-5)
    assert np.allclose(ds.x_val, (xv - mean) / std, atol=1e-5)
    # raw_train keeps what the user would see as images / coordinates
    assert np.array_equal(ds.raw_train, raw.x_train)


def test_standardize_leaves_constant_pixels_finite_on_every_split():
    # mnist_like's corner pixel is 0 on every training image: its std is 0
    ds = data.load({"name": "mnist_like", "n": 200, "preprocess": "standardize"}, seed=0)
    assert np.all(np.isfinite(ds.x_train)) and np.all(np.isfinite(ds.x_val))
    corner = 0
    assert ds.raw_train[:, corner].max() == 0
    assert ds.preprocess_state["std"][corner] == 1.0
    assert np.all(ds.x_train[:, corner] == 0)


def test_minmax_maps_the_training_range_to_unit_interval():
    spec = {"name": "spiral", "n": 300}
    raw = data.load(spec, seed=3)
    ds = data.load({**spec, "preprocess": "minmax"}, seed=3)
    xt, xv = _xy(raw)
    lo, hi = xt.min(0), xt.max(0)
    assert np.allclose(ds.x_train.min(0), 0) and np.allclose(ds.x_train.max(0), 1)
    assert np.allclose(ds.x_val, (xv - lo) / (hi - lo), atol=1e-5)


def test_minmax_sends_constant_features_to_zero():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 5.0]])
    state = prep.fit("minmax", x)
    out = prep.apply("minmax", state, x)
    assert np.array_equal(out[:, 1], [0, 0, 0]) and np.allclose(out[:, 0], [0, 1, 0.5])


def test_pca_whiten_gives_identity_covariance_on_train():
    # correlated inputs with different scales: covariance Q diag(s²) Qᵀ with a random rotation Q
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    x_raw = rng.standard_normal((3000, 6)) * np.array([5.0, 3.0, 2.0, 1.0, 1.0, 0.5]) @ q.T + 5.0
    state = prep.fit("pca_whiten", x_raw)
    x = prep.apply("pca_whiten", state, x_raw).astype(np.float64)
    cov = x.T @ x / len(x)
    assert np.abs(np.corrcoef(x_raw.T) - np.eye(6)).max() > 0.3
    assert np.allclose(x.mean(0), 0, atol=1e-5)
    assert np.allclose(cov, np.eye(6), atol=2e-3)
    assert set(state) == {"mean", "components", "scale"}
    u = state["components"]
    assert np.allclose(u.T @ u, np.eye(6), atol=1e-10)
    assert np.all(np.diff(state["scale"]) <= 0)      # largest eigenvalue first


def test_pca_whiten_decorrelates_the_spiral_by_hand_computation():
    spec = {"name": "spiral", "n": 1000}
    raw = data.load(spec, seed=5)
    ds = data.load({**spec, "preprocess": "pca_whiten"}, seed=5)
    xt = raw.x_train.astype(np.float64)
    xc = xt - xt.mean(0)
    lam = np.linalg.eigvalsh(xc.T @ xc / len(xt))
    eps = 1e-5 * lam.max()
    expected_cov = np.diag(np.sort(lam)[::-1] / (np.sort(lam)[::-1] + eps))
    got = ds.x_train.astype(np.float64)
    assert np.allclose(got.T @ got / len(got), expected_cov, atol=1e-4)
    assert np.allclose(ds.preprocess_state["scale"] ** 2, np.sort(lam)[::-1] + eps)


def test_whiten_eps_damps_low_variance_directions():
    ds = data.load({"name": "gaussian", "n": 500, "dim": 3, "preprocess": "pca_whiten",
                    "whiten_eps": 1.0}, seed=0)
    var = ds.x_train.astype(np.float64).var(axis=0)
    assert np.all(var < 0.6)       # λ / (λ + λ_max) <= 1/2


@pytest.mark.parametrize("method", METHODS)
def test_stored_state_is_reapplied_exactly(method, tmp_path):
    spec = {"name": "checkerboard", "n": 400, "preprocess": method}
    first = data.load(spec, seed=6)
    # the session stores each array as .npy and reads it back
    stored = {}
    for key, arr in first.preprocess_state.items():
        np.save(tmp_path / f"{key}.npy", arr)
        stored[key] = np.load(tmp_path / f"{key}.npy", allow_pickle=False)
    again = data.load(spec, seed=6, preprocess_state=stored)
    assert np.array_equal(again.x_train, first.x_train)
    assert np.array_equal(again.x_val, first.x_val)


def test_stored_state_wins_over_refitting():
    spec = {"name": "moons", "n": 200, "preprocess": "standardize"}
    state = {"mean": np.array([10.0, 0.0]), "std": np.array([2.0, 1.0])}
    ds = data.load(spec, seed=0, preprocess_state=state)
    raw = data.load({**spec, "preprocess": "none"}, seed=0)
    assert np.allclose(ds.x_train[:, 0], (raw.x_train[:, 0] - 10.0) / 2.0, atol=1e-5)
    assert np.array_equal(ds.preprocess_state["mean"], [10.0, 0.0])


@pytest.mark.parametrize(("state", "message"), [
    ({"mean": np.zeros(2)}, "lack the array 'std'"),
    ({"mean": np.zeros(3), "std": np.ones(3)}, r"has shape \(3,\), but this dataset needs \(2,\)"),
    ({"mean": np.zeros(2), "std": np.zeros(2)}, "must be > 0"),
    ({"mean": np.zeros(2), "std": np.ones(2), "scale": np.ones(2)}, "unexpected arrays 'scale'"),
])
def test_a_stored_state_that_does_not_fit_is_refused_naming_the_field(state, message):
    with pytest.raises(SpecError, match=message) as err:
        data.load({"name": "moons", "n": 50, "preprocess": "standardize"}, seed=0,
                  preprocess_state=state)
    assert err.value.field == "data.preprocess"


def test_unknown_preprocessing_is_refused_naming_the_choices():
    with pytest.raises(SpecError, match=r"^data\.preprocess: must be one of none, center"):
        data.load({"name": "xor", "preprocess": "whiten"}, seed=0)
