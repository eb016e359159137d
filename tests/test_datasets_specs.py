"""Downloaded datasets in specs: ``{"data": {"name": "mnist"}}`` reads the verified files with
the usual split, max_train and preprocessing; a dataset that is not downloaded stops the load
with the fetch command, or loads its declared fallback, and a load never downloads. The Nielsen
presets run on MNIST when it is there and on mnist_like otherwise, and say which."""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradlab
from gradlab import data
from gradlab.data import catalog, download
from gradlab.errors import DataError, SpecError
from gradlab.experiment import presets
from tests import datasets_loopback as lb


@pytest.fixture
def server():
    with lb.serve() as s:
        yield s


@pytest.fixture
def env(server, tmp_path, monkeypatch):
    """The fixtures' registry and an empty data folder, in force through the environment."""
    reg = lb.write_registry(tmp_path / "registry.json", lb.publish(server))
    root = tmp_path / "data"
    monkeypatch.setenv("GRADLAB_DATA_REGISTRY", str(reg))
    monkeypatch.setenv("GRADLAB_DATA_DIR", str(root))
    return root


def fetched(*names):
    for name in names:
        download.fetch(name, retries=0)


def test_mnist_by_name_reads_the_fetched_files(env):
    fetched("mnist")
    ds = data.load({"name": "mnist"}, seed=0)
    assert ds.name == "mnist" and ds.image_shape == (28, 28) and ds.input_dim == 784
    assert len(ds.x_train) == 50 and len(ds.x_val) == 10          # val_fraction 1/6 by default
    assert len(ds.x_test) == lb.N_TEST and ds.n_classes == 10
    assert ds.class_names == [str(c) for c in range(10)]
    # every example kept its label: pixel (0, 0) is the image's index, its label index % 10
    for x, y in ((ds.x_train, ds.y_train), (ds.x_val, ds.y_val), (ds.x_test, ds.y_test)):
        index = np.round(x[:, 0] * 255).astype(int)
        assert np.array_equal(y, index % 10)
    assert ds.x_train.max() <= 1.0 and ds.note == ""
    assert ds.resolved["name"] == "mnist" and ds.resolved["fallback"] is None


def test_split_max_train_and_preprocessing_apply(env):
    fetched("mnist")
    spec = {"name": "mnist", "val_fraction": 0.5, "max_train": 20, "preprocess": "standardize"}
    ds = data.load(spec, seed=3)
    assert len(ds.x_train) == 20 and len(ds.x_val) == 20
    assert np.allclose(ds.x_train.mean(axis=0)[ds.x_train.std(axis=0) > 0], 0, atol=1e-5)
    again = data.load(json.loads(json.dumps(ds.resolved)), seed=3)
    assert np.array_equal(again.x_train, ds.x_train) and np.array_equal(again.y_val, ds.y_val)


def test_fashion_mnist_from_an_npz_and_cifar10_from_binary_batches(env):
    fetched("fashion_mnist", "cifar10")
    fashion = data.load({"name": "fashion-mnist", "val_fraction": 0}, seed=0)
    assert fashion.name == "fashion_mnist" and len(fashion.x_train) == 30
    assert fashion.class_names[9] == "Ankle boot" and fashion.image_shape == (28, 28)
    cifar = data.load({"name": "cifar10", "val_fraction": 0}, seed=0)
    assert cifar.input_dim == 3072 and len(cifar.x_train) == lb.CIFAR_TRAIN
    assert len(cifar.x_test) == lb.CIFAR_TEST and cifar.class_names[0] == "airplane"
    # labels index % 10 within each batch, first red pixel = index within the batch
    index = np.round(cifar.x_train[:, 0] * 255).astype(int)
    assert np.array_equal(cifar.y_train, index % 10)


def test_not_downloaded_gives_the_fetch_command_and_downloads_nothing(env, server):
    with pytest.raises(DataError) as err:
        data.load({"name": "mnist"}, seed=0)
    size = catalog.human_size(catalog.load().get("mnist").download_size)
    assert str(err.value) == (f"MNIST is not downloaded yet: run 'gradlab data fetch mnist' "
                              f"({size}) first, or give the data entry a \"fallback\" dataset.")
    assert server.requests == [] and not env.exists()


def test_the_fallback_is_loaded_while_the_dataset_is_missing(env, server):
    spec = {"name": "mnist", "val_fraction": 0.25, "max_train": 60, "fallback": "Moons"}
    ds = data.load(spec, seed=0)
    # the fallback's own defaults, the entry's split
    assert ds.name == "moons" and len(ds.x_train) == 60 and len(ds.x_val) == 20
    # the resolved spec names the data the run used, so a saved session reopens on it
    assert ds.resolved == {**data.load({"name": "moons"}, seed=0).resolved,
                           "val_fraction": 0.25, "max_train": 60}
    assert ds.note == ("MNIST is not downloaded (gradlab data fetch mnist), so this runs on "
                       "moons instead.")
    assert server.requests == []
    assert data.load({"name": "cifar10", "fallback": "xor"}, seed=0).name == "xor"
    # once fetched, the same spec loads MNIST and the resolved spec forgets the fallback
    fetched("mnist")
    ds = data.load(spec, seed=0)
    assert ds.name == "mnist" and ds.resolved["fallback"] is None and ds.note == ""


@pytest.mark.parametrize(("fallback", "message"), [
    ("cifar10", "data.fallback: must be a dataset that needs no download"),
    (3, "data.fallback: must be the name of a dataset"),
    ({"name": "mnist_like"}, "data.fallback: must be the name of a dataset"),
    ("mnist_lik", "data.fallback: unknown dataset 'mnist_lik'"),
])
def test_a_bad_fallback_names_its_field(env, fallback, message):
    with pytest.raises(SpecError, match=message):
        data.load({"name": "mnist", "fallback": fallback}, seed=0)
    fetched("mnist")   # checked the same when the dataset is there and the fallback unused
    with pytest.raises(SpecError, match=message):
        data.load({"name": "mnist", "fallback": fallback}, seed=0)


def test_own_copies_of_the_files_still_go_to_the_idx_loader(tmp_path):
    x, y = lb.digits(12, 0)
    spec = {"name": "mnist", "train_images": str(tmp_path / "x.gz"),
            "train_labels": str(tmp_path / "y.gz")}
    (tmp_path / "x.gz").write_bytes(lb.idx_bytes(x))
    (tmp_path / "y.gz").write_bytes(lb.idx_bytes(y))
    ds = data.load(spec, seed=0)
    assert ds.name == "idx" and len(ds.x_train) + len(ds.x_val) == 12


# ================================================================================ presets
@pytest.mark.parametrize("name", ["nielsen-sigmoid-3hidden", "nielsen-sigmoid-4hidden"])
def test_nielsen_presets_run_on_mnist_like_until_mnist_is_fetched(env, name):
    exp = gradlab.Experiment(presets.load(name))
    assert exp.spec["data"] == {"name": "mnist_like", "n": 10000, "val_fraction": 1 / 6,
                                "preprocess": "none", "max_train": None, "whiten_eps": 1e-5}
    assert "MNIST is not downloaded" in exp.data.note
    assert "mnist_like until fetched" in presets.describe(name)
    fetched("mnist")
    exp = gradlab.Experiment(presets.load(name))
    assert exp.spec["data"]["name"] == "mnist" and exp.data.note == ""
    exp.run(steps=2)
    assert exp.step_count == 2
    assert np.isfinite(exp.history.probe(0)["stats"]["bias_grad_norm"]).all()
