"""Shapeset-3x2: the label must be the set of shapes actually drawn, and they must be visible."""

import numpy as np
import pytest

from gradlab import data
from gradlab.data import shapeset


@pytest.fixture(scope="module")
def drawn():
    return shapeset.generate(900, np.random.default_rng(7), debug=True)


def test_nine_classes_named_by_the_shapes_they_hold():
    assert shapeset.CLASS_NAMES == [
        "triangle", "parallelogram", "ellipse",
        "triangle+triangle", "triangle+parallelogram", "triangle+ellipse",
        "parallelogram+parallelogram", "parallelogram+ellipse", "ellipse+ellipse",
    ]


def test_label_is_the_set_of_drawn_shape_types(drawn):
    for label, types in zip(drawn.labels, drawn.types):
        assert label == shapeset.label_of(types)
        names = sorted(shapeset.SHAPES[t] for t in types if t >= 0)
        assert sorted(shapeset.CLASS_NAMES[label].split("+")) == names
    assert np.array_equal(np.bincount(drawn.labels), np.full(9, 100))
    # pairs come in both drawing orders
    tp = drawn.types[drawn.labels == shapeset.CLASS_NAMES.index("triangle+ellipse")]
    assert {tuple(t) for t in tp} == {(0, 2), (2, 0)}


def test_every_shape_is_visible_and_the_second_hides_at_most_half_of_the_first(drawn):
    cov = drawn.coverage
    two = drawn.types[:, 1] >= 0
    area1 = cov[:, 0].sum(axis=(1, 2))
    area2 = cov[:, 1].sum(axis=(1, 2))
    assert area1.min() >= 20
    assert area2[two].min() >= 10
    assert np.all(area2[~two] == 0)
    hidden = (cov[:, 0] * cov[:, 1]).sum(axis=(1, 2))
    assert np.all(hidden <= 0.5 * area1 + 1.0)       # coverage products round at the edges
    visible1 = (cov[:, 0] * (1 - cov[:, 1])).sum(axis=(1, 2))
    assert np.all(visible1 >= 0.5 * area1 - 1.0)


def test_pixels_show_the_shape_that_covers_them(drawn):
    img, cov = drawn.images, drawn.coverage
    bg = drawn.background[:, None, None]
    g1 = drawn.grey[:, 0][:, None, None]
    g2 = np.nan_to_num(drawn.grey[:, 1])[:, None, None]
    empty = (cov[:, 0] == 0) & (cov[:, 1] == 0)
    only1 = (cov[:, 0] == 1) & (cov[:, 1] == 0)
    on2 = cov[:, 1] == 1
    assert np.allclose(img[empty], np.broadcast_to(bg, img.shape)[empty], atol=1e-6)
    assert np.allclose(img[only1], np.broadcast_to(g1, img.shape)[only1], atol=1e-6)
    assert np.allclose(img[on2], np.broadcast_to(g2, img.shape)[on2], atol=1e-6)
    # visible contrast against the background and between the two shapes
    assert np.abs(drawn.grey[:, 0] - drawn.background).min() >= shapeset.BG_CONTRAST - 1e-9
    two = drawn.types[:, 1] >= 0
    assert np.abs(drawn.grey[two, 1] - drawn.background[two]).min() >= shapeset.BG_CONTRAST - 1e-9
    assert np.abs(drawn.grey[two, 1] - drawn.grey[two, 0]).min() >= shapeset.SHAPE_CONTRAST - 1e-9


def test_rendered_area_matches_the_geometric_area(drawn):
    # the rasteriser draws the shape it claims: pixel coverage sums to the exact area
    for j in (0, 1):
        present = drawn.types[:, j] >= 0
        rendered = drawn.coverage[present, j].sum(axis=(1, 2))
        exact = drawn.areas[present, j]
        assert np.all(np.abs(rendered - exact) <= 0.06 * exact + 3), j


def test_each_first_shape_is_the_type_it_claims(drawn):
    # area / (4 pi sqrt(det C)), with C the covariance of the shape's pixels, does not change
    # under rotation, scaling or shearing, so it names the shape whatever its proportions:
    # 1 for any ellipse, 3/pi for any parallelogram, 3 sqrt(3) / (2 pi) for any triangle.
    ratios = {0: [], 1: [], 2: []}
    for i in range(len(drawn.labels)):
        t = drawn.types[i, 0]
        c = drawn.coverage[i, 0].astype(np.float64)
        yy, xx = np.mgrid[: c.shape[0], : c.shape[1]] + 0.5
        a = c.sum()
        mx, my = (c * xx).sum() / a, (c * yy).sum() / a
        cxx = (c * (xx - mx) ** 2).sum() / a
        cyy = (c * (yy - my) ** 2).sum() / a
        cxy = (c * (xx - mx) * (yy - my)).sum() / a
        ratios[t].append(a / (4 * np.pi * np.sqrt(max(cxx * cyy - cxy**2, 1e-12))))
    expected = np.array([3 * np.sqrt(3) / (2 * np.pi), 3 / np.pi, 1.0])
    for t, values in ratios.items():
        values = np.asarray(values)
        assert abs(np.median(values) - expected[t]) < 0.02, shapeset.SHAPES[t]
        nearest = np.abs(values[:, None] - expected[None, :]).argmin(axis=1)
        # at 32 x 32 a rare small, thin, axis-aligned ellipse pixelates like a stadium
        assert np.mean(nearest == t) >= 0.99, shapeset.SHAPES[t]


def test_images_are_in_unit_range_and_shapes_vary(drawn):
    assert drawn.images.dtype == np.float32
    assert drawn.images.min() >= 0 and drawn.images.max() <= 1
    assert drawn.areas[:, 0].std() > 20
    assert drawn.background.std() > 0.2


def test_load_shapeset_shapes_dtypes_and_determinism():
    spec = {"name": "shapeset", "n": 180}
    a = data.load(spec, seed=1)
    assert a.image_shape == (32, 32) and a.input_dim == 1024 and a.n_classes == 9
    assert a.x_train.shape == (144, 1024) and a.x_val.shape == (36, 1024)
    assert a.x_train.dtype == np.float32 and a.y_train.dtype == np.int64
    assert a.class_names[5] == "triangle+ellipse"
    y = np.concatenate([a.y_train, a.y_val])
    assert np.array_equal(np.bincount(y, minlength=9), np.full(9, 20))
    b = data.load(spec, seed=1)
    c = data.load(spec, seed=2)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_train, c.x_train)


def test_size_parameter_changes_the_image_side():
    ds = data.load({"name": "shapeset", "n": 18, "size": 24, "val_fraction": 0}, seed=0)
    assert ds.image_shape == (24, 24) and ds.x_train.shape == (18, 576)
