"""The dataset registry (gradlab.data.catalog): the shipped one lists MNIST, Fashion-MNIST and
the binary CIFAR-10 with several mirrors and their SHA-256; a registry file is checked before
anything is downloaded from it; the data folder and the registry follow the environment."""

from __future__ import annotations

import copy
import json

import pytest

from gradlab.data import catalog
from gradlab.errors import DataError

SHIPPED = catalog.load(catalog.shipped_path())


def test_the_shipped_registry_lists_the_three_datasets_with_their_checksums():
    assert list(SHIPPED.entries) == ["mnist", "fashion_mnist", "cifar10"]
    for name in ("mnist", "fashion_mnist"):
        entry = SHIPPED.get(name)
        assert entry.format == "idx" and entry.image_shape == (28, 28)
        assert [f.key for f in entry.files] == ["train_images", "train_labels", "test_images",
                                                "test_labels"]
        assert all(len(f.urls) >= 2 for f in entry.files), name      # mirrors
        assert len(entry.classes) == 10 and entry.checksums_from
    hosts = {u.split("/")[2] for f in SHIPPED.get("mnist").files for u in f.urls}
    assert len(hosts) == 3
    assert round(SHIPPED.get("mnist").download_size / 2**20) == 11        # "Download (11 MB)"


def test_cifar10_is_the_binary_version_never_the_pickled_one():
    entry = SHIPPED.get("cifar10")
    assert entry.format == "cifar10_binary"
    (archive,) = entry.files
    assert archive.filename == "cifar-10-binary.tar.gz"
    assert all("python" not in u and u.endswith("cifar-10-binary.tar.gz") for u in archive.urls)
    assert [m.filename for m in entry.members] == [*(f"data_batch_{i}.bin" for i in range(1, 6)),
                                                   "test_batch.bin"]
    assert all(m.size == 10_000 * 3073 and m.sha256 for m in entry.members)


def test_statuses_give_sizes_and_download_labels(tmp_path):
    rows = catalog.statuses(SHIPPED, tmp_path)
    assert [(r.name, r.cached, r.label) for r in rows] == [
        ("mnist", False, "Download (11 MB)"),
        ("fashion_mnist", False, "Download (29 MB)"),
        ("cifar10", False, "Download (162 MB)")]
    assert rows[0].folder == tmp_path / "mnist"


@pytest.mark.parametrize(("n", "text"), [(0, "0 bytes"), (1023, "1023 bytes"), (1536, "1.5 kB"),
                                         (11_594_722, "11 MB"), (3 * 2**30, "3.0 GB")])
def test_human_size(n, text):
    assert catalog.human_size(n) == text


def test_the_environment_moves_the_data_folder_and_replaces_the_registry(tmp_path,
                                                                          monkeypatch):
    monkeypatch.delenv(catalog.ENV_DIR, raising=False)
    monkeypatch.delenv(catalog.ENV_REGISTRY, raising=False)
    assert catalog.data_dir().name == "datasets" and "gradlab" in str(catalog.data_dir())
    assert catalog.registry_path() == catalog.shipped_path()
    mine = tmp_path / "mirror.json"
    mine.write_text(json.dumps({"mnist": raw_mnist()}))
    monkeypatch.setenv(catalog.ENV_DIR, str(tmp_path / "d"))
    monkeypatch.setenv(catalog.ENV_REGISTRY, str(mine))
    assert catalog.data_dir() == tmp_path / "d"
    assert catalog.load().names() == ["mnist"]
    assert catalog.load(catalog.shipped_path()).names() == SHIPPED.names()   # an argument wins


def raw_mnist() -> dict:
    return copy.deepcopy(json.loads(catalog.shipped_path().read_text())["mnist"])


def _edit(path, value):
    """Set ``path`` (keys separated by '.') of a copy of the shipped mnist entry."""
    entry = raw_mnist()
    keys = path.split(".")
    target = entry
    for k in keys[:-1]:
        target = target[k]
    if value is KeyError:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return entry


@pytest.mark.parametrize(("path", "value", "message"), [
    ("format", "hdf5", "has the format 'hdf5' (choose from: idx, npz, cifar10_binary)"),
    ("files.train_images.sha256", "abc", "has a sha256 of 'abc', not 64 hexadecimal digits"),
    ("files.train_images.filename", "../../.bashrc", "a file name without folders is needed"),
    ("files.train_images.urls", [], "needs 'urls', a list of 1 to 10 download addresses"),
    ("files.train_images.urls", ["file:///etc/passwd"], "URLs must start with http:// or https://"),
    ("files.train_images.size", -5, "has a 'size' of -5"),
    ("files.train_labels", KeyError, "needs the file 'train_labels'"),
    ("files.test_labels", KeyError, "must give all or none of test_images and test_labels"),
    ("files.archive", {}, "has the file 'archive', which the idx format does not use"),
    ("colour", "red", "has the unknown key 'colour'"),
    ("val_fraction", 2, "has the val_fraction 2; it must be a number from 0 to 0.9"),
])
def test_a_bad_registry_is_one_sentence_naming_the_file_and_the_field(tmp_path, path, value,
                                                                       message):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mnist": _edit(path, value)}))
    with pytest.raises(DataError) as err:
        catalog.load(bad)
    text = str(err.value)
    assert text.startswith(f"The dataset registry '{bad}', entry 'mnist',")
    assert message in text and text.endswith(".") and "\n" not in text


def test_a_cifar_member_must_be_whole_records_and_stay_inside_the_archive(tmp_path):
    entry = copy.deepcopy(json.loads(catalog.shipped_path().read_text())["cifar10"])
    entry["members"]["train"][0]["size"] = 1000
    with pytest.raises(DataError, match="not a whole number of 3073-byte CIFAR records"):
        catalog.parse({"cifar10": entry}, "r.json")
    entry["members"]["train"][0]["size"] = 3073
    entry["members"]["train"][0]["path"] = "../../etc/data_batch_1.bin"
    with pytest.raises(DataError, match=r"relative paths inside the archive without '\.\.'"):
        catalog.parse({"cifar10": entry}, "r.json")


@pytest.mark.parametrize(("content", "message"), [
    ("[1, 2]", "must hold a JSON object of datasets by name"),
    ("{", r"is not valid JSON \(line 1"),
    ('{"MNIST!": {}}', "names a dataset 'MNIST!'"),
])
def test_a_registry_that_is_not_a_registry(tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(DataError, match=message):
        catalog.load(bad)


def test_a_huge_or_missing_registry_is_refused_before_it_is_read(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        catalog.load(tmp_path / "nowhere.json")
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (catalog.MAX_CATALOG_BYTES + 1))
    with pytest.raises(DataError, match="more than the 1,048,576 a registry may hold"):
        catalog.load(huge)
