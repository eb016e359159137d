"""The data layer's public API: names, info, load (spec handling, split, determinism) and
thumbnail_grid."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradlab import data
from gradlab.errors import SpecError
from gradlab.params import Param

BUILT_IN = ["checkerboard", "circles", "gaussian", "gaussians", "mnist_like", "moons",
            "shapeset", "spiral", "xor"]


def test_names_lists_every_dataset():
    downloadable = ["cifar10", "fashion_mnist", "mnist"]   # see tests/test_datasets_*.py
    assert data.names() == sorted([*BUILT_IN, "csv", "digits", "idx", "npz", *downloadable])


@pytest.mark.parametrize("name", data.names())
def test_info_describes_each_dataset_for_the_window(name):
    info = data.info(name)
    assert info.name == name
    assert info.kind in ("2d", "image", "vector", "file")
    assert info.description and "\n" not in info.description
    assert all(isinstance(p, Param) and p.help for p in info.params)
    keys = [p.name for p in info.params]
    assert len(keys) == len(set(keys))
    assert {"val_fraction", "preprocess", "max_train"} <= set(keys)


def test_info_accepts_aliases_and_refuses_unknown_names():
    assert data.info("Shapeset-3x2").name == "shapeset"
    with pytest.raises(SpecError, match="unknown dataset 'cifar'"):
        data.info("cifar")


@pytest.mark.parametrize("name", BUILT_IN)
def test_resolved_spec_is_json_and_rebuilds_bit_identical_data(name):
    spec = {"name": name, "n": 90} if name != "gaussian" else {"name": name, "n": 90, "dim": 5}
    ds = data.load(spec, seed=21)
    text = json.dumps(ds.resolved)
    again = data.load(json.loads(text), seed=21)
    for field in ("x_train", "y_train", "x_val", "y_val"):
        assert np.array_equal(getattr(ds, field), getattr(again, field)), field
    assert set(ds.resolved) == {"name"} | {p.name for p in data.info(name).params}


def test_defaults_are_filled_in():
    ds = data.load({"name": "spiral"}, seed=0)
    assert ds.resolved == {"name": "spiral", "n": 1000, "noise": 0.25, "arms": 2,
                           "val_fraction": 0.2, "preprocess": "none", "max_train": None,
                           "whiten_eps": 1e-5}


def test_arrays_are_float32_int64_contiguous_and_read_only():
    ds = data.load({"name": "circles", "preprocess": "standardize"}, seed=0)
    for a in (ds.x_train, ds.x_val):
        assert a.dtype == np.float32 and a.flags["C_CONTIGUOUS"]
    with pytest.raises(ValueError):
        ds.x_train[0, 0] = 1.0
    with pytest.raises(ValueError):
        ds.preprocess_state["mean"][0] = 1.0
    with pytest.raises(AttributeError):
        ds.n_classes = 3


def test_val_fraction_zero_gives_an_empty_validation_set():
    ds = data.load({"name": "moons", "n": 100, "val_fraction": 0}, seed=0)
    assert ds.x_val.shape == (0, 2) and ds.y_val.shape == (0,) and len(ds.x_train) == 100


def test_changing_val_fraction_resplits_the_same_examples():
    a = data.load({"name": "moons", "n": 200, "val_fraction": 0.1}, seed=4)
    b = data.load({"name": "moons", "n": 200, "val_fraction": 0.5}, seed=4)
    rows = {tuple(r) for r in np.concatenate([a.x_train, a.x_val]).tolist()}
    assert rows == {tuple(r) for r in np.concatenate([b.x_train, b.x_val]).tolist()}
    assert len(b.x_val) == 100


def test_max_train_caps_training_and_shrinks_validation_in_proportion():
    ds = data.load({"name": "xor", "n": 1000, "max_train": 100}, seed=0)
    assert len(ds.x_train) == 100 and len(ds.x_val) == 25
    small = data.load({"name": "xor", "n": 100, "max_train": 500}, seed=0)
    assert len(small.x_train) == 80 and len(small.x_val) == 20


def test_the_split_is_shuffled_not_the_first_rows():
    ds = data.load({"name": "spiral", "n": 400, "val_fraction": 0.5}, seed=0)
    # rows are generated class by class: a plain cut would give one class per split
    assert set(ds.y_val) == {0, 1} and abs(np.mean(ds.y_val) - 0.5) < 0.15


def test_seed_must_be_a_non_negative_whole_number():
    with pytest.raises(SpecError, match=r"^seed: must be >= 0"):
        data.load({"name": "xor"}, seed=-1)
    with pytest.raises(SpecError, match=r"^seed: must be a whole number"):
        data.load({"name": "xor"}, seed=1.5)
    # a seed drawn with NumPy is as good as a Python int
    a = data.load({"name": "xor", "n": 20}, seed=np.int64(7))
    assert np.array_equal(a.x_train, data.load({"name": "xor", "n": 20}, seed=7).x_train)


@pytest.mark.parametrize(("spec", "message"), [
    ({"noise": 0.1}, r"^data\.name: is required"),
    ({"name": "spirl"}, r"^data\.name: unknown dataset 'spirl' \(choose from: checkerboard"),
    ({"name": "spiral", "noise": -1}, r"^data\.noise: must be >= 0, got -1$"),
    ({"name": "spiral", "arms": 2.5}, r"^data\.arms: must be a whole number, got 2\.5$"),
    ({"name": "spiral", "armz": 3}, r"^data\.armz: unknown field \(expected one of: arms,"),
    ({"name": "spiral", "val_fraction": 0.95}, r"^data\.val_fraction: must be <= 0\.9"),
    ({"name": "spiral", "max_train": 0}, r"^data\.max_train: must be >= 1"),
    ({"name": "shapeset", "n": "many"}, r"^data\.n: must be a whole number, got 'many'$"),
])
def test_bad_spec_values_name_their_field(spec, message):
    with pytest.raises(SpecError, match=message):
        data.load(spec, seed=0)


def test_the_field_prefix_follows_where_the_spec_lives():
    with pytest.raises(SpecError) as err:
        data.load({"name": "spiral", "noise": -1}, seed=0, field="runs[2].data")
    assert err.value.field == "runs[2].data.noise"
    with pytest.raises(SpecError, match=r"^data: must be an object"):
        data.load(["spiral"], seed=0)


def test_the_data_layer_imports_no_qt_and_no_engine():
    code = ("import sys, gradlab.data; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', "
            "'shiboken6', 'scipy', 'sklearn', 'PIL') or m.startswith(('gradlab.engine', "
            "'gradlab.experiment', 'gradlab.app'))]; print(bad)")
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=repo)
    assert out.stdout.strip() == "[]"


# -- thumbnail_grid ------------------------------------------------------------------------------

def test_thumbnail_grid_shape_and_sample_k_in_cell_k():
    h, w, n = 3, 4, 10
    x = np.zeros((n, h * w), np.float32)
    for k in range(n):
        x[k, k % (h * w)] = 1.0            # one bright pixel at a position that names k
    grid = data.thumbnail_grid(x, (h, w), n=n, cols=4, pad=1)
    assert grid.dtype == np.uint8
    assert grid.shape == (3 * (h + 1) + 1, 4 * (w + 1) + 1)
    for k in range(n):
        r, c = divmod(k, 4)
        cell = grid[1 + r * (h + 1): 1 + r * (h + 1) + h, 1 + c * (w + 1): 1 + c * (w + 1) + w]
        expected = np.zeros(h * w, np.uint8)
        expected[k % (h * w)] = 255
        assert np.array_equal(cell.ravel(), expected), k
    # the padding and the two empty cells at the end keep the pad value
    assert np.all(grid[0] == 128) and np.all(grid[:, 0] == 128)
    assert np.all(grid[-h - 1:-1, -2 * (w + 1):-1] == 128)


def test_thumbnail_grid_per_sample_range_or_fixed_levels():
    x = np.array([[0.0, 0.5, 1.0, 2.0], [-1.0, -1.0, -1.0, -1.0]])
    own = data.thumbnail_grid(x, (2, 2), cols=2, pad=0)
    assert own.shape == (2, 4)
    assert np.array_equal(own[:, :2], [[0, 64], [128, 255]])
    assert np.all(own[:, 2:] == 0)                             # a constant sample is black
    fixed = data.thumbnail_grid(x, (2, 2), cols=2, pad=0, levels=(0.0, 1.0))
    assert np.array_equal(fixed[:, :2], [[0, 128], [255, 255]])  # clipped above 1


def test_thumbnail_grid_of_real_datasets():
    ds = data.load({"name": "shapeset", "n": 90, "val_fraction": 0}, seed=0)
    grid = data.thumbnail_grid(ds.raw_train, ds.image_shape)
    assert grid.shape == (8 * 33 + 1, 8 * 33 + 1)
    first = grid[1:33, 1:33].astype(float) / 255
    img = ds.raw_train[0].reshape(32, 32)
    expected = (img - img.min()) / (img.max() - img.min())
    assert np.abs(first - expected).max() <= 0.5 / 255 + 1e-6
    few = data.thumbnail_grid(ds.raw_train[:3], ds.image_shape)
    assert few.shape == (33 + 1, 3 * 33 + 1)
    assert data.thumbnail_grid(ds.x_train[:0], ds.image_shape).shape == (0, 0)


def test_thumbnail_grid_refuses_the_wrong_image_shape():
    with pytest.raises(ValueError, match="3x3"):
        data.thumbnail_grid(np.zeros((4, 10)), (3, 3))
