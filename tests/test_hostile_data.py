"""Hostile data files (IDX, npz, CSV): ``gradlab run`` refuses each in one sentence with exit 2,
in a process limited to 1.5 GB and 20 s of CPU, using well under 600 MB: nothing is inflated
beyond what a header declares, and nothing at all beyond the memory budget."""

from __future__ import annotations

import json
import os
import socket
import struct
import zipfile

import numpy as np
import pytest

from tests import hostile as H

LABELS = (np.arange(60_000) % 10).astype(np.uint8)


def run_on(tmp_path, data: dict, *words) -> str:
    spec = {"data": data, "network": {"layers": [{"units": 4}]}, "training": {"steps": 1}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return H.assert_refused(
        H.run_gradlab("run", "--spec", "spec.json", "--out", "o.gradlab", cwd=tmp_path), *words
    )


def idx_spec(tmp_path, images, n_labels: int = 60_000) -> dict:
    labels = tmp_path / "labels.idx"
    labels.write_bytes(H.idx_bytes((n_labels,), data=LABELS[:n_labels].tobytes()))
    return {"name": "idx", "train_images": str(images), "train_labels": str(labels)}


# ----------------------------------------------------------------------------- IDX
def test_an_idx_gzip_bomb_stops_one_byte_past_its_header(tmp_path):
    bomb = H.gzip_zero_bomb(tmp_path / "bomb.gz", H.idx_bytes((10_000, 28, 28), data=b""),
                            1536 * H.MiB)  # 1.5 GiB inflated from under 2 MB
    assert bomb.stat().st_size < 2 * H.MiB
    run_on(tmp_path, idx_spec(tmp_path, bomb, 10_000),
           "holds more bytes than the 10000 x 28 x 28")


def test_an_idx_header_announcing_more_than_memory_allows_is_refused_before_reading(tmp_path):
    bomb = H.gzip_zero_bomb(tmp_path / "huge.gz", H.idx_bytes((2_000_000, 28, 28), data=b""),
                            1536 * H.MiB)
    run_on(tmp_path, idx_spec(tmp_path, bomb), "announces 2000000 x 28 x 28",
           "would take about", "GradLab may use")


def test_a_raw_idx_file_whose_header_disagrees_with_its_size_is_not_read(tmp_path):
    path = tmp_path / "lie.idx"
    path.write_bytes(H.idx_bytes((4_000_000, 28, 28), data=b"\0" * 1000))
    run_on(tmp_path, idx_spec(tmp_path, path), "truncated", "3,136,000,000 bytes")


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        pytest.param(bytes([0, 0, 8, 255]) + struct.pack(">255I", *([1] * 255)) + b"\0",
                     ["declares 255 dimensions", "at most 16"], id="255-dims"),
        pytest.param(H.idx_bytes((20, 0, 0)), ["0 x 0", "no inputs"], id="20x0x0"),
        pytest.param(H.idx_bytes((0, 2**32 - 1, 2**32 - 1), data=b""),
                     ["items of 4294967295 x 4294967295"], id="0-images-of-2^64"),
        pytest.param(H.idx_bytes((3, 2), "f8", data=np.full(6, 1e300, ">f8").tobytes()),
                     ["too large for float32"], id="1e300"),
        pytest.param(H.idx_bytes((3, 2), "f8", data=np.full(6, np.nan, ">f8").tobytes()),
                     ["NaN"], id="nan"),
    ],
)
def test_idx_headers_and_values_are_range_checked(tmp_path, blob, words):
    path = tmp_path / "x.idx"
    path.write_bytes(blob)
    n = struct.unpack(">I", blob[4:8])[0] if blob[3] else 1
    run_on(tmp_path, idx_spec(tmp_path, path, min(n, 60_000) or 1), *words)


def test_idx_labels_beyond_int64_are_refused_not_wrapped(tmp_path):
    images = tmp_path / "x.idx"
    images.write_bytes(H.idx_bytes((3, 2), data=bytes(6)))
    labels = tmp_path / "y.idx"
    labels.write_bytes(H.idx_bytes((3,), "f8", data=np.array([0, 1, 1e300], ">f8").tobytes()))
    run_on(tmp_path, {"name": "idx", "train_images": str(images), "train_labels": str(labels)},
           "holds the label 1e+300", "class ids")


# ----------------------------------------------------------------------------- npz
def test_an_npz_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    head = H.npy_header((400_000, 1000), "<f4")
    y = H._npy_bytes((np.arange(400_000) % 2).astype(np.int64))
    path = H.write_zip(tmp_path / "bomb.npz", [
        H.zero_bomb("x_train.npy", len(head) + 400_000 * 1000 * 4, head),
        H.member("y_train.npy", y),
    ])
    assert path.stat().st_size < 10 * H.MiB
    run_on(tmp_path, {"name": "npz", "path": str(path)}, "would take about", "x_train, y_train")


def test_an_npz_member_whose_header_lies_about_its_size_is_not_inflated(tmp_path):
    head = H.npy_header((400_000, 1000), "<f4")  # 1.6 GB announced, 10 MB inflated
    path = H.write_zip(tmp_path / "lie.npz", [
        H.zero_bomb("x_train.npy", 10 * H.MiB, head),
        H.member("y_train.npy", H._npy_bytes(np.arange(3))),
    ])
    run_on(tmp_path, {"name": "npz", "path": str(path)}, "x_train", "damaged", "zip entry holds")


@pytest.mark.parametrize(
    ("arrays", "words"),
    [
        ({"x_train": np.zeros((30, 0), np.float32), "y_train": np.arange(30) % 2},
         ["shape (30, 0)", "no features"]),
        ({"x_train": np.full((30, 2), 1e300), "y_train": np.arange(30) % 2},
         ["NaN or infinite values (or values too large for float32)"]),
        ({"x_train": np.ones((3, 2)), "y_train": np.array([0, 1, 2**64 - 1], np.uint64)},
         ["holds the label 1.84467e+19"]),
        ({"x_train": np.ones((3, 2)), "y_train": np.array([0, 1, 1e300])},
         ["holds the label 1e+300"]),
    ],
    ids=["30x0", "1e300", "uint64-label", "float-label-1e300"],
)
def test_npz_shapes_and_values_are_range_checked(tmp_path, arrays, words):
    np.savez(tmp_path / "d.npz", **arrays)
    line = run_on(tmp_path, {"name": "npz", "path": str(tmp_path / "d.npz")}, *words)
    assert "RuntimeWarning" not in line


# ----------------------------------------------------------------------------- CSV
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a,b\n1e300,0\n2,1\n", ["Line 2, column 1 ('a')", "too large for float32"]),
        ("a,b\n1,1e300\n2,1\n", ["holds the label 1e+300"]),
        ("a,b\n1,0\n" + "2," * 200_000 + "1\n", ["Line 3", "cells"]),
    ],
    ids=["feature-1e300", "label-1e300", "200000-cells"],
)
def test_csv_values_are_range_checked(tmp_path, text, words):
    (tmp_path / "d.csv").write_text(text)
    run_on(tmp_path, {"name": "csv", "path": str(tmp_path / "d.csv")}, *words)


def test_a_csv_larger_than_the_memory_budget_allows_is_not_read(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "wb") as f:
        f.truncate(40 * H.MiB)  # sparse: 40 MB that costs no disk
    (tmp_path / "spec.json").write_text(json.dumps({"data": {"name": "csv", "path": str(path)}}))
    out = H.run_gradlab("run", "--spec", "spec.json", "--out", "o.gradlab", cwd=tmp_path,
                        env={"GRADLAB_MAX_MEMORY": "512M"})
    H.assert_refused(out, "big.csv", "41.9 MB, more than the 13.4 MB")


# ----------------------------------------------------------------------------- not regular files
@pytest.mark.parametrize("kind", ["idx", "npz", "csv"])
@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "socket"])
def test_data_paths_that_are_not_regular_files_are_refused_by_name(tmp_path, kind, target):
    if target == "fifo":
        target = str(tmp_path / "data.fifo")
        os.mkfifo(target)
    sock = None
    if target == "socket":
        target = str(tmp_path / "data.sock")
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(target)
    try:
        data = ({"name": "idx", "train_images": target, "train_labels": target} if kind == "idx"
                else {"name": kind, "path": target})
        run_on(tmp_path, data, "not a data file", "GradLab reads only regular files")
    finally:
        if sock is not None:
            sock.close()


def test_an_npz_member_in_an_unknown_compression_is_one_sentence(tmp_path):
    x = H.member("x_train.npy", H._npy_bytes(np.ones((4, 2))))
    x.method = 99  # AES-encrypted members say 99
    H.write_zip(tmp_path / "aes.npz", [x, H.member("y_train.npy", H._npy_bytes(np.arange(4)))])
    run_on(tmp_path, {"name": "npz", "path": str(tmp_path / "aes.npz")},
           "x_train", "compression method is not supported")


# ----------------------------------------------------------------------------- weights files
def _weights(tmp_path, **change):
    from gradlab.engine import Network
    from gradlab.experiment.netexport import save_weights_npz

    path = tmp_path / "w.npz"
    save_weights_npz(Network.from_spec([{"units": 3}], 2, 2), path)
    if change:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        arrays.update(change)
        np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"meta": np.array(json.dumps({"input_dim": 10**9, "output_dim": 2}))},
         ["would take about"]),
        ({"spec": np.array(json.dumps([{"units": 10**9}]))}, ["units"]),
        ({"spec": np.array("[" * 100 + "]" * 100)}, ["nested more than 64"]),
        ({"dense1.W": np.array([["1.5"] * 3] * 2)}, ["'dense1.W' of shape (2, 3) and type"]),
        ({"meta": np.array("{}")}, ["meta is damaged"]),
    ],
    ids=["input-dim-1e9", "units-1e9", "nested", "string-weights", "no-dims"],
)
def test_a_weights_file_is_read_like_any_file_from_anyone(tmp_path, change, words):
    from gradlab.errors import InputError
    from gradlab.experiment.netexport import load_weights_npz

    with pytest.raises(InputError) as err:
        load_weights_npz(_weights(tmp_path, **change))
    for w in words:
        assert w in str(err.value) and "\n" not in str(err.value), str(err.value)


def test_a_weights_file_reads_only_the_arrays_its_network_needs(tmp_path, monkeypatch):
    from gradlab.experiment.netexport import load_weights_npz

    path = _weights(tmp_path)
    head = H.npy_header((3 * H.GiB,), "|u1")
    with zipfile.ZipFile(path) as zf:
        members = [H.member(i.filename, zf.read(i)) for i in zf.infolist()]
    H.write_zip(path, [*members, H.zero_bomb("bomb.npy", 3 * H.GiB + len(head), head)])
    assert load_weights_npz(path).n_params == 2 * 3 + 3 + 3 * 2 + 2
    os.mkfifo(tmp_path / "f.npz")
    with pytest.raises(ValueError, match="FIFO"):
        load_weights_npz(tmp_path / "f.npz")
