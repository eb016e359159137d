"""Gaussian inputs (CS231n's initialisation experiment) and the MNIST-like stand-in."""

import numpy as np
import pytest

from gradlab import data
from gradlab.errors import SpecError


def test_gaussian_defaults_are_cs231n_randn_1000_by_500():
    ds = data.load({"name": "gaussian"}, seed=0)
    assert ds.x_train.shape == (1000, 500) and ds.x_val.shape == (0, 500)
    assert ds.resolved["val_fraction"] == 0.0 and ds.resolved["preprocess"] == "none"
    assert ds.n_classes == 10 and ds.y_train.dtype == np.int64
    assert abs(ds.x_train.mean()) < 0.01 and abs(ds.x_train.std() - 1.0) < 0.01
    assert np.array_equal(np.bincount(ds.y_train), np.full(10, 100))


def test_gaussian_dimension_and_classes_parameters():
    ds = data.load({"name": "gaussian", "n": 30, "dim": 7, "classes": 3}, seed=4)
    assert ds.x_train.shape == (30, 7) and ds.n_classes == 3 and set(ds.y_train) == {0, 1, 2}
    again = data.load({"name": "gaussian", "n": 30, "dim": 7, "classes": 3}, seed=4)
    other = data.load({"name": "gaussian", "n": 30, "dim": 7, "classes": 3}, seed=5)
    assert np.array_equal(ds.x_train, again.x_train)
    assert not np.array_equal(ds.x_train, other.x_train)


def test_gaussian_refuses_sizes_it_cannot_hold():
    with pytest.raises(SpecError, match=r"^data\.dim: n x dim"):
        data.load({"name": "gaussian", "n": 1_000_000, "dim": 1000}, seed=0)


@pytest.fixture(scope="module")
def mnist_like():
    return data.load({"name": "mnist_like", "n": 3000}, seed=0)


def test_mnist_like_shapes_and_labels(mnist_like):
    ds = mnist_like
    assert ds.image_shape == (28, 28) and ds.input_dim == 784 and ds.n_classes == 10
    assert ds.x_train.shape == (2400, 784) and ds.x_val.shape == (600, 784)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.class_names == [str(c) for c in range(10)]
    y = np.concatenate([ds.y_train, ds.y_val])
    assert np.array_equal(np.bincount(y), np.full(10, 300))


def test_mnist_like_has_mnist_pixel_statistics(mnist_like):
    x = mnist_like.x_train
    assert x.min() == 0.0 and x.max() <= 1.0
    assert abs(x.mean() - 0.1307) < 0.015
    assert abs(x.std() - 0.3081) < 0.02
    assert abs((x > 0).mean() - 0.19) < 0.02
    # like MNIST, a stroke's core is saturated, not a faint blur
    assert (x > 0.9).mean() > 0.04
    # and the digit sits in the middle: the 2-pixel border is almost always empty
    img = x.reshape(-1, 28, 28)
    border = np.concatenate([img[:, :2].ravel(), img[:, -2:].ravel(),
                             img[:, :, :2].ravel(), img[:, :, -2:].ravel()])
    assert (border > 0).mean() < 0.01


def test_mnist_like_is_learnable_but_not_trivially(mnist_like):
    # a linear softmax classifier (full-batch Adam, written here) learns it well above chance
    # (10%) yet does not get everything right, as on MNIST (~92%)
    ds = mnist_like
    x, y = ds.x_train, ds.y_train
    w, b = np.zeros((784, 10), np.float32), np.zeros(10, np.float32)
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    onehot = np.eye(10, dtype=np.float32)[y]
    for t in range(1, 101):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        d = (p - onehot) / len(x)
        for i, g in enumerate([x.T @ d, d.sum(0)]):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            (w, b)[i][...] -= 0.01 * (m[i] / (1 - 0.9**t)) / (np.sqrt(v[i] / (1 - 0.999**t)) + 1e-8)
    val_acc = ((ds.x_val @ w + b).argmax(axis=1) == ds.y_val).mean()
    print(f"linear softmax validation accuracy on mnist_like: {val_acc:.3f}")
    assert 0.6 < val_acc < 0.97


def test_mnist_like_classes_differ_more_than_samples_within_a_class(mnist_like):
    x, y = mnist_like.x_train.astype(np.float64), mnist_like.y_train
    means = np.stack([x[y == c].mean(0) for c in range(10)])
    within = np.mean([np.linalg.norm(x[y == c] - means[c], axis=1).mean() for c in range(10)])
    nearest = [np.linalg.norm(x - means[c], axis=1) for c in range(10)]
    assert (np.argmin(nearest, axis=0) == y).mean() > 0.5
    assert within > 3.0          # each class varies: not ten copies of one image


def test_mnist_like_is_deterministic_per_seed():
    a = data.load({"name": "mnist_like", "n": 50}, seed=9)
    b = data.load({"name": "mnist_like", "n": 50}, seed=9)
    c = data.load({"name": "mnist_like", "n": 50}, seed=10)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_train, c.x_train)
