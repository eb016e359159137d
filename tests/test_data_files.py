"""The user's own files: IDX, NPZ, CSV (written by the tests), good and broken, and digits."""

import gzip
import struct
import sys
import types
import warnings

import numpy as np
import pytest

from gradlab import data
from gradlab.data.files import read_idx
from gradlab.errors import DataError, SpecError

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
             np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path, arr, *, gz=False):
    arr = np.asarray(arr)
    big = arr.astype(arr.dtype.newbyteorder(">")) if arr.dtype.itemsize > 1 else arr
    code = IDX_CODES[big.dtype]
    blob = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + \
        big.tobytes()
    path.write_bytes(gzip.compress(blob) if gz else blob)
    return path


def one_sentence_naming(err, path):
    msg = str(err.value)
    assert str(path) in msg, msg
    assert "\n" not in msg and msg.endswith(".") and msg[0].isupper(), msg
    # one sentence: no full stop followed by a new sentence (file names may hold dots)
    assert ". " not in msg.replace(str(path), "<file>"), msg
    return msg


def numbered_images(n, h=5, w=4):
    """Images whose first pixel is the image's index, labels index % 3."""
    x = np.zeros((n, h, w), np.uint8)
    x[:, 0, 0] = np.arange(n)
    x[:, h - 1, w - 1] = 255
    return x, (np.arange(n) % 3).astype(np.uint8)


@pytest.fixture
def mnist_files(tmp_path):
    x, y = numbered_images(40)
    xt, yt = numbered_images(9)
    return {
        "train_images": str(write_idx(tmp_path / "train-images-idx3-ubyte.gz", x, gz=True)),
        "train_labels": str(write_idx(tmp_path / "train-labels-idx1-ubyte", y)),
        "test_images": str(write_idx(tmp_path / "t10k-images-idx3-ubyte", xt)),
        "test_labels": str(write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", yt, gz=True)),
    }


# -- IDX -----------------------------------------------------------------------------------------

def test_idx_gzip_and_raw_files_load_as_scaled_images(mnist_files):
    ds = data.load({"name": "idx", **mnist_files, "val_fraction": 0.25}, seed=0)
    assert data.info("idx").kind == "file"
    assert ds.image_shape == (5, 4) and ds.input_dim == 20
    assert ds.x_train.shape == (30, 20) and ds.x_val.shape == (10, 20)
    assert ds.x_train.dtype == np.float32 and ds.x_train.max() == 1.0
    # every row kept its own label through the shuffle, and ubyte pixels were divided by 255
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val)):
        index = np.round(x[:, 0] * 255).astype(int)
        assert np.array_equal(y, index % 3)
    idx = np.concatenate([ds.x_train[:, 0], ds.x_val[:, 0]]) * 255
    assert sorted(np.round(idx).astype(int)) == list(range(40))
    # the test set stays separate and in file order
    assert np.array_equal(np.round(ds.x_test[:, 0] * 255), np.arange(9))
    assert np.array_equal(ds.y_test, np.arange(9) % 3)
    assert ds.n_classes == 3 and ds.class_names == ["0", "1", "2"]


def test_idx_without_a_test_set(mnist_files):
    spec = {"name": "idx", "train_images": mnist_files["train_images"],
            "train_labels": mnist_files["train_labels"]}
    ds = data.load(spec, seed=0)
    assert ds.x_test is None and ds.y_test is None
    assert len(ds.x_train) == 32 and len(ds.x_val) == 8


@pytest.mark.parametrize("dtype", [np.int8, ">i2", ">i4", ">f4", ">f8"])
def test_idx_other_value_types_are_kept_unscaled(tmp_path, dtype):
    x = (np.arange(6 * 3 * 2).reshape(6, 3, 2) % 100).astype(dtype)
    y = np.array([0, 1, 0, 1, 0, 1], dtype=np.int32)
    spec = {"name": "idx", "train_images": str(write_idx(tmp_path / "x.idx", x)),
            "train_labels": str(write_idx(tmp_path / "y.idx", y)), "val_fraction": 0}
    ds = data.load(spec, seed=0)
    assert sorted(ds.x_train[:, 1].tolist()) == sorted(x[:, 0, 1].astype(float).tolist())
    assert ds.y_train.dtype == np.int64


def test_idx_resolved_spec_rebuilds_the_same_arrays(mnist_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = {"name": "mnist", "train_images": "train-images-idx3-ubyte.gz",
            "train_labels": "train-labels-idx1-ubyte", "max_train": 20}
    ds = data.load(spec, seed=3)
    assert ds.name == "idx"
    assert ds.resolved["train_images"] == mnist_files["train_images"]     # absolute
    assert ds.resolved["max_train"] == 20 and ds.resolved["val_fraction"] == 0.2
    assert len(ds.x_train) == 20 and len(ds.x_val) == 5                  # val shrinks in step
    again = data.load(ds.resolved, seed=3)
    assert np.array_equal(again.x_train, ds.x_train) and np.array_equal(again.y_val, ds.y_val)


def _idx_spec(images, labels):
    return {"name": "idx", "train_images": str(images), "train_labels": str(labels)}


def test_idx_wrong_magic_number(tmp_path, mnist_files):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(bad, mnist_files["train_labels"]), seed=0)
    assert "magic number" in one_sentence_naming(err, bad)


def test_idx_unknown_type_code(tmp_path, mnist_files):
    bad = tmp_path / "weird.idx"
    bad.write_bytes(bytes([0, 0, 0x07, 1]) + struct.pack(">I", 2) + b"\x00\x01")
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(mnist_files["train_images"], bad), seed=0)
    assert "type code 0x07" in one_sentence_naming(err, bad)


def test_idx_truncated_raw_file(tmp_path):
    x, y = numbered_images(10)
    path = write_idx(tmp_path / "cut-images.idx", x)
    path.write_bytes(path.read_bytes()[:-7])
    labels = write_idx(tmp_path / "labels.idx", y)
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(path, labels), seed=0)
    assert "truncated" in one_sentence_naming(err, path)


def test_idx_truncated_gzip_file(tmp_path):
    x, y = numbered_images(10)
    path = write_idx(tmp_path / "cut-images.gz", x, gz=True)
    path.write_bytes(path.read_bytes()[:-12])
    labels = write_idx(tmp_path / "labels.idx", y)
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(path, labels), seed=0)
    assert "truncated" in one_sentence_naming(err, path)


def test_idx_image_and_label_counts_must_agree(tmp_path):
    x, _ = numbered_images(10)
    images = write_idx(tmp_path / "images.idx", x)
    labels = write_idx(tmp_path / "labels.idx", np.zeros(9, np.uint8))
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(images, labels), seed=0)
    msg = one_sentence_naming(err, labels)
    assert str(images) in msg and "9 labels" in msg and "10 images" in msg


def test_idx_missing_file(tmp_path, mnist_files):
    missing = tmp_path / "nowhere" / "train-labels.gz"
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(mnist_files["train_images"], missing), seed=0)
    assert "does not exist" in one_sentence_naming(err, missing)


def test_idx_files_swapped(mnist_files):
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(mnist_files["train_labels"], mnist_files["train_images"]), seed=0)
    assert "not images" in one_sentence_naming(err, mnist_files["train_labels"])


def test_idx_float_labels_that_are_not_integers(tmp_path):
    x, _ = numbered_images(4)
    images = write_idx(tmp_path / "images.idx", x)
    labels = write_idx(tmp_path / "labels.idx", np.array([0, 1, 0.5, 1], dtype=">f4"))
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(images, labels), seed=0)
    assert "not integers" in one_sentence_naming(err, labels)


def test_idx_spec_errors_name_the_field(mnist_files):
    with pytest.raises(SpecError, match=r"^data\.train_labels: is required"):
        data.load({"name": "idx", "train_images": mnist_files["train_images"]}, seed=0)
    with pytest.raises(SpecError, match=r"^data\.test_labels: is required when test_images"):
        data.load({"name": "idx", "train_images": mnist_files["train_images"],
                   "train_labels": mnist_files["train_labels"],
                   "test_images": mnist_files["test_images"]}, seed=0)
    with pytest.raises(SpecError, match=r"^data\.train_image: unknown field"):
        data.load({"name": "idx", "train_image": "x"}, seed=0)


# -- NPZ -----------------------------------------------------------------------------------------

def test_npz_images_are_flattened_and_the_test_set_kept(tmp_path):
    x, y = numbered_images(20, 6, 3)
    xt, yt = numbered_images(5, 6, 3)
    path = tmp_path / "my data.npz"
    np.savez(path, x_train=x, y_train=y.astype(np.int64), x_test=xt, y_test=yt,
             class_names=np.array(["cat", "dog", "eel"]))
    ds = data.load({"name": "npz", "path": str(path), "val_fraction": 0.1}, seed=1)
    assert ds.image_shape == (6, 3) and ds.x_train.shape == (18, 18) and len(ds.x_val) == 2
    assert np.array_equal(ds.y_train, np.round(ds.x_train[:, 0] * 255).astype(int) % 3)
    assert np.array_equal(ds.y_test, yt) and ds.x_test.shape == (5, 18)
    assert ds.class_names == ["cat", "dog", "eel"]


def test_npz_vectors_and_one_hot_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4))
    y = np.arange(30) % 4
    path = tmp_path / "onehot.npz"
    np.savez_compressed(path, x_train=x, y_train=np.eye(5)[y])
    ds = data.load({"name": "npz", "path": str(path), "val_fraction": 0}, seed=0)
    assert ds.image_shape is None and ds.input_dim == 4
    assert ds.n_classes == 5                      # the width of the one-hot rows
    order = np.argsort(ds.x_train[:, 0])
    assert np.array_equal(ds.y_train[order], y[np.argsort(x[:, 0])])
    assert np.allclose(np.sort(ds.x_train[:, 0]), np.sort(x[:, 0]).astype(np.float32))


def test_npz_whole_float_labels_are_accepted(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, x_train=np.ones((4, 2)), y_train=np.array([0.0, 1.0, 2.0, 1.0]))
    ds = data.load({"name": "npz", "path": str(path), "val_fraction": 0}, seed=0)
    assert ds.n_classes == 3 and ds.y_train.dtype == np.int64


@pytest.mark.parametrize(("arrays", "fragment"), [
    ({"x": np.ones((3, 2)), "y_train": np.arange(3)},
     "has no array 'x_train' (it holds: x, y_train)"),
    ({"x_train": np.ones((3, 2))}, "has no array 'y_train'"),
    ({"x_train": np.ones((3, 2)), "y_train": np.array([0, 1, 0.5])}, "not integers"),
    ({"x_train": np.ones((3, 2)), "y_train": np.array([0, -1, 1])}, "negative label"),
    ({"x_train": np.ones((3, 2)), "y_train": np.array(["a", "b", "a"])}, "must be integers"),
    ({"x_train": np.ones((3, 2)), "y_train": np.arange(4)}, "x_train holds 3 examples"),
    ({"x_train": np.ones(3), "y_train": np.arange(3)}, "inputs must be (n, d)"),
    ({"x_train": np.array([[1.0, np.nan]] * 3), "y_train": np.arange(3)}, "NaN"),
    ({"x_train": np.ones((3, 2)), "y_train": np.arange(3), "x_test": np.ones((2, 2))},
     "holds x_test without y_test"),
    ({"x_train": np.ones((3, 2)), "y_train": np.zeros(3, int)}, "a single class"),
])
def test_npz_problems_are_one_sentence_naming_the_file(tmp_path, arrays, fragment):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as err:
        data.load({"name": "npz", "path": str(path)}, seed=0)
    assert fragment in one_sentence_naming(err, path)


def test_npz_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x_train=np.array([[1, 2], [3]], dtype=object), y_train=np.arange(2))
    with pytest.raises(DataError) as err:
        data.load({"name": "npz", "path": str(path)}, seed=0)
    assert "never unpickles" in one_sentence_naming(err, path)


@pytest.mark.parametrize(("content", "fragment"), [
    (b"this is not a zip file at all", "is not an .npz archive"),
    (None, "holds a single array"),
])
def test_npz_that_is_not_an_archive(tmp_path, content, fragment):
    path = tmp_path / "x.npz"
    if content is None:
        with open(path, "wb") as f:
            np.save(f, np.ones(3))
    else:
        path.write_bytes(content)
    with pytest.raises(DataError) as err:
        data.load({"name": "npz", "path": str(path)}, seed=0)
    assert fragment in one_sentence_naming(err, path)


def test_npz_truncated_archive(tmp_path):
    path = tmp_path / "cut.npz"
    np.savez(path, x_train=np.ones((50, 20)), y_train=np.arange(50) % 2)
    path.write_bytes(path.read_bytes()[:-300])
    with pytest.raises(DataError) as err:
        data.load({"name": "npz", "path": str(path)}, seed=0)
    one_sentence_naming(err, path)


def test_npz_missing_file(tmp_path):
    path = tmp_path / "absent.npz"
    with pytest.raises(DataError) as err:
        data.load({"name": "npz", "path": str(path)}, seed=0)
    assert "does not exist" in one_sentence_naming(err, path)


# -- CSV -----------------------------------------------------------------------------------------

IRIS_LIKE = """sepal_length,sepal_width,species,petal_length
5.1,3.5,setosa,1.4
7.0,3.2,versicolor,4.7
6.3,3.3,virginica,6.0
4.9,3.0,setosa,1.4
6.4,3.2,versicolor,4.5

5.8,2.7,virginica,5.1
"""


def test_csv_with_header_and_named_string_labels(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text(IRIS_LIKE)
    ds = data.load({"name": "csv", "path": str(path), "label": "species", "val_fraction": 0,
                    "preprocess": "none"}, seed=0)
    assert ds.class_names == ["setosa", "versicolor", "virginica"]
    assert ds.x_train.shape == (6, 3) and ds.n_classes == 3
    row = {tuple(np.round(r, 3)): c for r, c in zip(ds.x_train.tolist(), ds.y_train)}
    assert row[(5.1, 3.5, 1.4)] == 0 and row[(6.3, 3.3, 6.0)] == 2
    # by index too, and csv defaults to standardize
    ds2 = data.load({"name": "csv", "path": str(path), "label": 2, "val_fraction": 0}, seed=0)
    assert ds2.resolved["preprocess"] == "standardize"
    assert np.allclose(ds2.x_train.mean(0), 0, atol=1e-6)
    assert np.array_equal(ds2.raw_train, ds.x_train)


def test_csv_without_header_label_defaults_to_the_last_column(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("0.5,1.5,0\n1.0,2.0,1\n-1,3,2\n2,2,1\n")
    ds = data.load({"name": "csv", "path": str(path), "val_fraction": 0, "preprocess": "none"},
                   seed=0)
    assert ds.x_train.shape == (4, 2) and ds.n_classes == 3
    assert ds.class_names == ["0", "1", "2"]
    lookup = {tuple(r): c for r, c in zip(ds.x_train.tolist(), ds.y_train)}
    assert lookup[(-1.0, 3.0)] == 2


def test_csv_semicolons_and_a_test_file(tmp_path):
    train = tmp_path / "train.csv"
    test = tmp_path / "test.csv"
    train.write_text("a;b;label\n1;2;cat\n3;4;dog\n5;6;cat\n")
    test.write_text("a;b;label\n7;8;dog\n9;10;emu\n")
    ds = data.load({"name": "csv", "path": str(train), "test_path": str(test),
                    "delimiter": ";", "val_fraction": 0, "preprocess": "none"}, seed=0)
    assert ds.class_names == ["cat", "dog", "emu"]
    assert np.array_equal(ds.y_test, [1, 2]) and np.array_equal(ds.x_test, [[7, 8], [9, 10]])


@pytest.mark.parametrize(("text", "fragment"), [
    ("x,y,label\n1,2,0\n3,oops,1\n", "Line 3, column 2 ('y')"),
    ("1,2,0\n3,4,1\n5,,1\n", "Line 3, column 2"),
    ("x,y,label\n1,2,0\n3,4\n", "Line 3 of the CSV file"),
    ("x,y,label\n1,2,0\n3,nan,1\n", "not a finite number"),
    ("x,y,label\n1,2,0\n3,4,0.5\n", "must be whole numbers or class names"),
    ("x,y,label\n1,2,0\n3,4,0\n", "a single class"),
    ("x,y,label\n", "no data rows"),
    ("", "is empty"),
])
def test_csv_problems_are_one_sentence_naming_the_file(tmp_path, text, fragment):
    path = tmp_path / "table.csv"
    path.write_text(text)
    with pytest.raises(DataError) as err:
        data.load({"name": "csv", "path": str(path)}, seed=0)
    assert fragment in one_sentence_naming(err, path)


def test_csv_non_numeric_cell_message_reads_well(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y,label\n1,2,0\n3,oops,1\n")
    with pytest.raises(DataError) as err:
        data.load({"name": "csv", "path": str(path)}, seed=0)
    assert str(err.value) == (f"Line 3, column 2 ('y') of the CSV file '{path}' holds 'oops', "
                              f"which is not a number.")


def test_csv_unknown_label_column_names_the_field(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y,label\n1,2,0\n3,4,1\n")
    with pytest.raises(SpecError, match=r"^data\.label: no column named 'class'.*columns: x, y"):
        data.load({"name": "csv", "path": str(path), "label": "class"}, seed=0)
    with pytest.raises(SpecError, match=r"^data\.label: column index 5 is out of range"):
        data.load({"name": "csv", "path": str(path), "label": 5}, seed=0)


def test_csv_missing_file_and_binary_file(tmp_path):
    with pytest.raises(DataError) as err:
        data.load({"name": "csv", "path": str(tmp_path / "gone.csv")}, seed=0)
    one_sentence_naming(err, tmp_path / "gone.csv")
    binary = tmp_path / "image.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(DataError) as err:
        data.load({"name": "csv", "path": str(binary)}, seed=0)
    assert "not UTF-8" in one_sentence_naming(err, binary)


# -- digits (optional scikit-learn) --------------------------------------------------------------

def test_digits_is_listed_and_says_it_needs_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)       # as if not installed
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    assert "digits" in data.names()
    with pytest.raises(DataError, match="install scikit-learn"):
        data.load({"name": "digits"}, seed=0)


def test_digits_loads_from_scikit_learn_when_it_is_there(monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 17, (50, 8, 8)).astype(float)
    fake = types.ModuleType("sklearn.datasets")
    fake.load_digits = lambda: types.SimpleNamespace(images=images, target=np.arange(50) % 10)
    pkg = types.ModuleType("sklearn")
    pkg.datasets = fake
    monkeypatch.setitem(sys.modules, "sklearn", pkg)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", fake)
    assert data.info("digits").available
    ds = data.load({"name": "digits", "val_fraction": 0}, seed=0)
    assert ds.image_shape == (8, 8) and ds.x_train.shape == (50, 64) and ds.n_classes == 10
    assert ds.x_train.max() <= 1.0 and np.isclose(ds.x_train.max(), images.max() / 16)


# -- hostile files (more in test_hostile_data.py, each in a limited process) ---------------------

def test_float_inputs_beyond_float32_are_one_sentence_without_a_runtime_warning(tmp_path):
    path = tmp_path / "big.npz"
    np.savez(path, x_train=np.full((6, 2), 1e300), y_train=np.arange(6) % 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a stray RuntimeWarning would print before the error
        with pytest.raises(DataError) as err:
            data.load({"name": "npz", "path": str(path)}, seed=0)
    assert "too large for float32" in one_sentence_naming(err, path)


@pytest.mark.parametrize("dims", [(20, 0, 0), (20, 5, 0)])
def test_idx_images_without_pixels_are_refused(tmp_path, dims):
    images = tmp_path / "empty.idx"
    images.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", *dims))
    labels = write_idx(tmp_path / "labels.idx", np.arange(20, dtype=np.uint8) % 2)
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(images, labels), seed=0)
    assert "give a network no inputs" in one_sentence_naming(err, images)


def test_npz_examples_without_features_are_refused(tmp_path):
    path = tmp_path / "empty.npz"
    np.savez(path, x_train=np.zeros((30, 0), np.float32), y_train=np.arange(30) % 2)
    with pytest.raises(DataError) as err:
        data.load({"name": "npz", "path": str(path)}, seed=0)
    assert "no features" in one_sentence_naming(err, path)


@pytest.mark.parametrize("labels", [np.array([0, 1, 2**64 - 1], np.uint64),
                                    np.array([0.0, 1.0, 1e300]), np.array([0, 1, -(2**62)])])
def test_labels_are_range_checked_before_conversion(tmp_path, labels):
    path = tmp_path / "labels.npz"
    np.savez(path, x_train=np.ones((3, 2)), y_train=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError) as err:
            data.load({"name": "npz", "path": str(path)}, seed=0)
    assert "label" in one_sentence_naming(err, path)


def test_an_idx_gzip_with_trailing_data_stops_one_byte_past_the_header(tmp_path, monkeypatch):
    x, y = numbered_images(10)
    images = tmp_path / "images.gz"
    blob = bytes([0, 0, 8, 3]) + struct.pack(">3I", *x.shape) + x.tobytes() + bytes(10**6)
    images.write_bytes(gzip.compress(blob))
    labels = write_idx(tmp_path / "labels.idx", y)
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(images, labels), seed=0)
    assert "holds more bytes than the 10 x 5 x 4" in one_sentence_naming(err, images)


def test_a_data_file_larger_than_the_memory_budget_is_refused_before_reading(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("GRADLAB_MAX_MEMORY", "1M")
    images = write_idx(tmp_path / "images.idx", np.zeros((1000, 10, 10), np.uint8))
    labels = write_idx(tmp_path / "labels.idx", np.arange(1000, dtype=np.uint8) % 2)
    with pytest.raises(DataError) as err:
        data.load(_idx_spec(images, labels), seed=0)
    assert one_sentence_naming(err, images).endswith(
        "announces 1000 x 10 x 10 unsigned byte values, which would take about 2.5 MB of "
        "memory, more than the 1.05 MB GradLab may use (GRADLAB_MAX_MEMORY=1M).")


@pytest.mark.parametrize("code,dims", [(0x08, (4294967295, 0, 2**31)),
                                       (0x0E, (4294967295, 2**30, 0, 2))])
def test_idx_impossible_empty_shape_is_refused_in_one_sentence(tmp_path, code, dims):
    """A header whose zero makes the array empty but whose other sizes overflow numpy's limit."""
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims))
    with pytest.raises(DataError, match="impossible shape"):
        read_idx(str(path))
