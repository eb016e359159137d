"""Fetching a dataset of the registry (gradlab.data.download.fetch) from a loopback HTTP server:
a fetch keeps verified files only, a second fetch downloads nothing, and a wrong checksum, a
server that is down, a transfer cut off, a full disk or a cancel leave nothing half-written.
No network: every URL is on 127.0.0.1."""

from __future__ import annotations

import errno
import threading
from collections import namedtuple

import numpy as np
import pytest

from gradlab.data import catalog, cifar, download
from gradlab.errors import DataError
from tests import datasets_loopback as lb

MNIST_FILES = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
               "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


@pytest.fixture
def server():
    with lb.serve() as s:
        yield s


@pytest.fixture
def reg(server):
    """The fixtures' registry (a dict); ``write(reg)`` saves it and returns the file."""
    return lb.publish(server)


@pytest.fixture
def write(tmp_path):
    def write(registry: dict):
        return lb.write_registry(tmp_path / "registry.json", registry)

    return write


@pytest.fixture
def root(tmp_path):
    return tmp_path / "data"


def fetch(name, registry_path, root, **kw):
    kw.setdefault("retries", 0)
    return download.fetch(name, registry=registry_path, root=root, **kw)


# ================================================================================ a good fetch
def test_fetch_downloads_verifies_and_keeps_every_file(server, reg, write, root):
    seen = []
    result = fetch("mnist", write(reg), root, progress=seen.append)
    folder = root / "mnist"
    assert result.folder == folder and not result.was_cached
    assert sorted(result.downloaded) == MNIST_FILES
    assert lb.files_in(folder) == MNIST_FILES            # nothing else: no temporary file
    for spec in reg["mnist"]["files"].values():
        assert lb.sha256((folder / spec["filename"]).read_bytes()) == spec["sha256"]
    assert sorted(server.gets("/mnist/")) == sorted(f"/mnist/{f}" for f in MNIST_FILES)
    # progress: dataset-wide bytes, never backwards, ending at the total
    total = sum(f["size"] for f in reg["mnist"]["files"].values())
    assert result.downloaded_bytes == total
    assert all(p.stage == "download" and p.total == total for p in seen)
    done = [p.done for p in seen]
    assert done == sorted(done) and done[-1] == total


def test_a_second_fetch_downloads_nothing(server, reg, write, root):
    path = write(reg)
    fetch("mnist", path, root)
    before = list(server.requests)
    again = fetch("mnist", path, root)
    assert again.was_cached and again.downloaded_bytes == 0
    assert server.requests == before
    assert catalog.is_cached(catalog.load(path).get("mnist"), root / "mnist")


def test_a_damaged_cached_file_is_fetched_again(server, reg, write, root):
    path = write(reg)
    fetch("mnist", path, root)
    damaged = root / "mnist" / "train-labels-idx1-ubyte.gz"
    data = bytearray(damaged.read_bytes())
    data[-1] ^= 0xFF                                      # same size, other bytes
    damaged.write_bytes(bytes(data))
    n = len(server.requests)
    result = fetch("mnist", path, root)
    assert result.downloaded == ["train-labels-idx1-ubyte.gz"]
    assert server.requests[n:] == ["/mnist/train-labels-idx1-ubyte.gz"]
    assert lb.sha256(damaged.read_bytes()) == reg["mnist"]["files"]["train_labels"]["sha256"]


def test_the_next_mirror_is_tried_when_one_fails(server, reg, write, root):
    f = reg["mnist"]["files"]["train_images"]
    f["urls"] = [lb.closed_port_url(), server.url("/gone/train-images.gz"), *f["urls"]]
    result = fetch("mnist", write(reg), root)
    assert "train-images-idx3-ubyte.gz" in result.downloaded
    assert "/gone/train-images.gz" in server.requests      # the 404 mirror was asked, then the next


def test_names_are_found_in_any_spelling_and_unknown_ones_are_listed(reg, write, root):
    path = write(reg)
    assert fetch("Fashion-MNIST", path, root).name == "fashion_mnist"
    with pytest.raises(DataError, match=r"no dataset 'svhn' .* \(it lists: cifar10, "
                                        r"fashion_mnist, mnist\)"):
        fetch("svhn", path, root)


# ================================================================================ failures
def only_verified_files(folder, registry_entry) -> bool:
    """Every file left in ``folder`` is a complete file with the registry's checksum."""
    good = {f["filename"]: f["sha256"] for f in registry_entry["files"].values()}
    return all(good.get(name) == lb.sha256((folder / name).read_bytes())
               for name in lb.files_in(folder))


def test_a_wrong_checksum_is_one_sentence_and_keeps_nothing(server, reg, write, root):
    reg["mnist"]["files"]["train_images"]["sha256"] = "0" * 64
    with pytest.raises(DataError) as err:
        fetch("mnist", write(reg), root)
    msg = str(err.value)
    assert msg.startswith("train-images-idx3-ubyte.gz of MNIST could not be downloaded")
    assert "SHA-256 checksum does not match" in msg and "nothing was kept" in msg
    assert msg.count(". ") == 0 and "\n" not in msg
    assert lb.files_in(root / "mnist") == []


def test_a_server_that_is_down(reg, write, root):
    for f in reg["mnist"]["files"].values():
        f["urls"] = [lb.closed_port_url()]
    with pytest.raises(DataError, match=r"from its mirror \(127\.0\.0\.1:\d+: cannot connect\)"):
        fetch("mnist", write(reg), root)
    assert lb.files_in(root) == []


def test_a_truncated_download_keeps_nothing(server, reg, write, root):
    server.truncate.add("/mnist/train-images-idx3-ubyte.gz")
    with pytest.raises(DataError, match="the transfer was cut off"):
        fetch("mnist", write(reg), root)
    assert lb.files_in(root / "mnist") == []
    # a retry round asks the server again (and fails the same way)
    n = len(server.gets("/mnist/train-images"))
    with pytest.raises(DataError):
        fetch("mnist", write(reg), root, retries=1, backoff=0)
    assert len(server.gets("/mnist/train-images")) == n + 2


def test_a_failure_after_good_files_keeps_only_verified_files(server, reg, write, root):
    reg["mnist"]["files"]["test_labels"]["sha256"] = "f" * 64   # the last file of the four
    with pytest.raises(DataError, match="t10k-labels"):
        fetch("mnist", write(reg), root)
    folder = root / "mnist"
    assert "t10k-labels-idx1-ubyte.gz" not in lb.files_in(folder)
    assert only_verified_files(folder, lb.publish(server)["mnist"])


def test_cancel_stops_within_a_chunk_and_keeps_nothing(reg, write, root):
    cancel = threading.Event()
    calls = []

    def progress(p):
        calls.append(p)
        cancel.set()          # the Cancel button, pressed during the first file

    with pytest.raises(download.Cancelled):
        fetch("mnist", write(reg), root, progress=progress, cancel=cancel)
    assert len(calls) == 1
    assert lb.files_in(root) == [] and not (root / "mnist").exists()


def test_not_enough_free_space_is_refused_before_downloading(server, reg, write, root,
                                                             monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(download.shutil, "disk_usage", lambda _p: usage(10**6, 10**6 - 100, 100))
    with pytest.raises(DataError, match=r"not enough free space for MNIST .* it needs "
                                        r"[\d.]+ kB and 100 bytes are free"):
        fetch("mnist", write(reg), root)
    assert server.requests == [] and lb.files_in(root) == []


def test_a_disk_that_fills_up_mid_download_keeps_nothing(server, reg, write, root):
    def progress(p):   # once the first chunk is written, the next write fails as on a full disk
        if p.done:
            raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DataError, match=r"filled up while train-images-idx3-ubyte\.gz of MNIST "
                                        r"was written; nothing half-written was kept"):
        fetch("mnist", write(reg), root, progress=progress)
    assert lb.files_in(root) == []


# ================================================================================ CIFAR-10
def test_cifar_archive_is_unpacked_checked_and_dropped(server, reg, write, root):
    stages = []
    result = fetch("cifar10", write(reg), root, progress=stages.append)
    folder = root / "cifar10"
    assert result.downloaded == ["cifar-10-binary.tar.gz"]
    assert lb.files_in(folder) == ["data_batch_1.bin", "data_batch_2.bin", "test_batch.bin"]
    assert {p.stage for p in stages} == {"download", "extract"}
    last = stages[-1]
    assert last.stage == "extract" and last.done == last.total == 3073 * (lb.CIFAR_TRAIN
                                                                          + lb.CIFAR_TEST)
    # cached: the members are there, the archive is not needed again
    n = len(server.requests)
    assert fetch("cifar10", write(reg), root).was_cached and len(server.requests) == n


def test_a_cifar_member_with_the_wrong_checksum_is_not_kept(reg, write, root):
    reg["cifar10"]["members"]["test"][0]["sha256"] = "a" * 64
    with pytest.raises(DataError, match=r"test_batch\.bin' in the archive .* does not have the "
                                        r"SHA-256"):
        fetch("cifar10", write(reg), root)
    assert not any(f.endswith(".bin") for f in lb.files_in(root / "cifar10"))


def test_a_cifar_member_of_another_size_is_refused(reg, write, root):
    reg["cifar10"]["members"]["train"][0]["size"] = 3073 * 99
    with pytest.raises(DataError, match=r"holds 'cifar-10-batches-bin/data_batch_1.bin' with "
                                        r"18,438 bytes instead of the 304,227"):
        fetch("cifar10", write(reg), root)
    assert not any(f.endswith(".bin") for f in lb.files_in(root / "cifar10"))


def test_cifar_batches_of_the_wrong_size_or_labels_are_refused(tmp_path):
    good = tmp_path / "good.bin"
    good.write_bytes(lb.cifar_records(3, 0))
    x, y = cifar.read_batch(str(good))
    assert x.shape == (3, 3072) and x.dtype == np.uint8 and list(y) == [0, 1, 2]
    assert list(x[:, 0]) == [0, 1, 2]                    # the first red pixel of each record
    short = tmp_path / "short.bin"
    short.write_bytes(lb.cifar_records(3, 0)[:-1])
    with pytest.raises(DataError, match="9,218 bytes long, not a whole number of 3,073-byte "
                                        "records"):
        cifar.read_batch(str(short))
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="0 bytes long"):
        cifar.read_batch(str(empty))
    bad = bytearray(lb.cifar_records(2, 0))
    bad[3073] = 10                                        # the second record's label
    (tmp_path / "label.bin").write_bytes(bytes(bad))
    with pytest.raises(DataError, match="holds the label 10, but CIFAR-10 has 10 classes"):
        cifar.read_batch(str(tmp_path / "label.bin"))
