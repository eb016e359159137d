"""The 2-D toy datasets: what the decision-boundary view and a first experiment rely on."""

import numpy as np
import pytest

from gradlab import data

TOYS = ["spiral", "circles", "xor", "gaussians", "moons", "checkerboard"]


@pytest.mark.parametrize("name", TOYS)
def test_toy_shapes_dtypes_labels_and_balance(name):
    ds = data.load({"name": name, "n": 600}, seed=3)
    assert data.info(name).kind == "2d"
    assert ds.x_train.shape == (480, 2) and ds.x_val.shape == (120, 2)
    assert ds.x_train.dtype == np.float32 and ds.x_train.flags["C_CONTIGUOUS"]
    assert ds.y_train.dtype == np.int64 and ds.y_val.dtype == np.int64
    assert ds.input_dim == 2 and ds.image_shape is None
    assert ds.x_test is None and ds.y_test is None
    assert len(ds.class_names) == ds.n_classes
    y = np.concatenate([ds.y_train, ds.y_val])
    assert y.min() == 0 and y.max() == ds.n_classes - 1
    counts = np.bincount(y, minlength=ds.n_classes)
    assert counts.max() - counts.min() <= 1, counts
    # coordinates stay in the documented range (noise included)
    assert np.abs(np.concatenate([ds.x_train, ds.x_val])).max() < 7


@pytest.mark.parametrize("name", TOYS)
def test_toys_are_deterministic_per_seed(name):
    a = data.load({"name": name}, seed=11)
    b = data.load({"name": name}, seed=11)
    c = data.load({"name": name}, seed=12)
    for field in ("x_train", "y_train", "x_val", "y_val"):
        assert np.array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.x_train, c.x_train)


@pytest.mark.parametrize(("name", "key", "k"), [("spiral", "arms", 5), ("gaussians", "blobs", 7)])
def test_multi_class_toys_have_one_class_per_arm_or_blob(name, key, k):
    ds = data.load({"name": name, key: k, "n": 100 * k, "val_fraction": 0}, seed=0)
    assert ds.n_classes == k
    assert np.array_equal(np.bincount(ds.y_train), np.full(k, 100))


def test_spiral_arms_are_rotated_copies():
    ds = data.load({"name": "spiral", "noise": 0.0, "n": 2000, "val_fraction": 0}, seed=0)
    x, y = ds.x_train.astype(np.float64), ds.y_train
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 5.0 + 1e-5
    # rotating arm 1 by half a turn lands it on arm 0's curve
    arm1 = -x[y == 1]
    arm0 = x[y == 0]
    d = np.sqrt(((arm1[:, None, :] - arm0[None, :, :]) ** 2).sum(-1)).min(axis=1)
    assert np.median(d) < 0.05


def test_xor_labels_follow_the_quadrants_without_noise():
    ds = data.load({"name": "xor", "noise": 0.0, "val_fraction": 0}, seed=1)
    x, y = ds.x_train, ds.y_train
    assert np.array_equal(y, (x[:, 0] * x[:, 1] < 0).astype(int))
    assert np.abs(x).min() >= 0.15 - 1e-6


def test_circles_rings_have_radius_one_and_a_half_without_noise():
    ds = data.load({"name": "circles", "noise": 0.0, "val_fraction": 0}, seed=1)
    r = np.hypot(ds.x_train[:, 0], ds.x_train[:, 1])
    assert np.allclose(r[ds.y_train == 0], 1.0, atol=1e-5)
    assert np.allclose(r[ds.y_train == 1], 0.5, atol=1e-5)


def test_checkerboard_colour_matches_the_tile():
    ds = data.load({"name": "checkerboard", "noise": 0.0, "tiles": 3, "val_fraction": 0}, seed=2)
    x = ds.x_train.astype(np.float64)
    tile = np.floor((x + 1.0) / 2.0 * 3).clip(0, 2).astype(int)
    assert np.array_equal(ds.y_train, tile.sum(axis=1) % 2)


def test_noise_is_in_data_units():
    a = data.load({"name": "circles", "noise": 0.0, "val_fraction": 0}, seed=5)
    b = data.load({"name": "circles", "noise": 0.3, "val_fraction": 0}, seed=5)
    # the same seed draws the same clean points, so the difference is the noise itself
    diff = (b.x_train - a.x_train).astype(np.float64)
    assert abs(diff.std() - 0.3) < 0.02


def test_grid_for_covers_the_data_with_a_margin_in_preprocessed_space():
    ds = data.load({"name": "moons", "preprocess": "standardize"}, seed=0)
    xx, yy, pts = data.grid_for(ds, 50)
    assert xx.shape == yy.shape == (50, 50)
    assert pts.shape == (2500, 2) and pts.dtype == np.float32
    assert np.array_equal(pts[7 * 50 + 3], [xx[7, 3], yy[7, 3]])
    allx = np.concatenate([ds.x_train, ds.x_val])
    lo, hi = allx.min(0), allx.max(0)
    span = hi - lo
    assert np.allclose(pts.min(0), lo - 0.1 * span, atol=1e-4)
    assert np.allclose(pts.max(0), hi + 0.1 * span, atol=1e-4)
    assert xx[0, 0] < xx[0, -1] and yy[0, 0] < yy[-1, 0]


def test_grid_for_refuses_non_2d_data():
    ds = data.load({"name": "gaussian", "n": 20, "dim": 3}, seed=0)
    with pytest.raises(ValueError, match="2-D"):
        data.grid_for(ds, 10)


def _train_tiny_mlp(ds, hidden=24, steps=900, lr=0.05, seed=0):
    """A 2-layer tanh MLP, softmax cross-entropy, full-batch Adam, all written out here."""
    rng = np.random.default_rng(seed)
    x, y = ds.x_train.astype(np.float64), ds.y_train
    d, k = ds.input_dim, ds.n_classes
    params = [rng.standard_normal((d, hidden)) / np.sqrt(d), np.zeros(hidden),
              rng.standard_normal((hidden, k)) / np.sqrt(hidden), np.zeros(k)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    onehot = np.eye(k)[y]
    for t in range(1, steps + 1):
        w1, b1, w2, b2 = params
        h = np.tanh(x @ w1 + b1)
        z = h @ w2 + b2
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - onehot) / len(x)
        dh = dz @ w2.T * (1 - h * h)
        grads = [x.T @ dh, dh.sum(0), h.T @ dz, dz.sum(0)]
        for i, g in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] -= lr * (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
    w1, b1, w2, b2 = params
    pred = (np.tanh(ds.x_val.astype(np.float64) @ w1 + b1) @ w2 + b2).argmax(axis=1)
    return float((pred == ds.y_val).mean())


@pytest.mark.parametrize("name", ["xor", "circles", "spiral"])
def test_a_tiny_network_reaches_95_percent_at_default_parameters(name):
    ds = data.load({"name": name}, seed=0)
    assert len(ds.y_val) == 200
    assert _train_tiny_mlp(ds) > 0.95


@pytest.mark.parametrize("name", ["xor", "circles", "spiral"])
def test_default_toys_are_not_linearly_separable(name):
    # a logistic regression on the raw coordinates stays far from the tiny network's accuracy
    ds = data.load({"name": name}, seed=0)
    x = np.c_[ds.x_train.astype(np.float64), np.ones(len(ds.x_train))]
    w = np.zeros(3)
    for _ in range(500):
        p = 1 / (1 + np.exp(-(x @ w)))
        w -= 0.5 * x.T @ (p - ds.y_train) / len(x)
    xv = np.c_[ds.x_val.astype(np.float64), np.ones(len(ds.x_val))]
    assert ((xv @ w > 0) == ds.y_val).mean() < 0.8
