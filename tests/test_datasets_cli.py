"""``gradlab data list``, ``gradlab data fetch NAME`` and ``gradlab run`` on a fetched dataset, as a
user types them, against a loopback server and a registry of its own: progress on stderr, one
sentence and exit code 2 for every failure, nothing fetched twice."""

from __future__ import annotations

import json

import pytest

from gradlab import cli
from tests import datasets_loopback as lb

SPEC = {
    "name": "tiny-mnist",
    "seed": 0,
    "data": {"name": "mnist", "max_train": 40},
    "network": {"layers": [{"type": "dense", "units": 8, "activation": "tanh"}]},
    "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 10},
}


@pytest.fixture
def server():
    with lb.serve() as s:
        yield s


@pytest.fixture
def reg(server, tmp_path):
    return lb.write_registry(tmp_path / "registry.json", lb.publish(server))


@pytest.fixture
def root(tmp_path, monkeypatch):
    root = tmp_path / "data"
    monkeypatch.setenv("GRADLAB_DATA_DIR", str(root))
    monkeypatch.delenv("GRADLAB_DATA_REGISTRY", raising=False)
    return root


def gradlab(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradlab: "), err
    assert "Traceback" not in err
    return lines[0]


def test_list_shows_sizes_and_what_is_downloaded(capsys, reg, root):
    code, out, _ = gradlab(capsys, "data", "list", "--registry", reg)
    assert code == 0
    rows = out.splitlines()
    assert rows[0].split()[:2] == ["mnist", "61"] and "not downloaded" in rows[0]
    assert [r.split()[0] for r in rows[:3]] == ["mnist", "fashion_mnist", "cifar10"]
    assert f"data folder: {root}" in out and f"registry:    {reg}" in out
    assert gradlab(capsys, "data", "fetch", "mnist", "--registry", reg)[0] == 0
    out = gradlab(capsys, "data", "list", "--registry", reg)[1]
    assert "  downloaded" in out.splitlines()[0] and "not downloaded" in out.splitlines()[1]


def test_the_shipped_registry_is_listed_by_default(capsys, root):
    code, out, _ = gradlab(capsys, "data", "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["mnist", "11", "MB", "not", "downloaded", "MNIST"]
    assert "registry:" not in out


def test_fetch_shows_progress_then_a_second_fetch_downloads_nothing(capsys, server, reg, root):
    code, _, err = gradlab(capsys, "data", "fetch", "mnist", "--registry", reg)
    assert code == 0
    lines = err.strip().splitlines()
    assert lines[0] == "mnist: downloading 0% of 61 kB"
    assert "mnist: downloading 100% of 61 kB" in lines
    assert lines[-1] == f"mnist: 61 kB downloaded and verified (SHA-256) in {root / 'mnist'}."
    n = len(server.requests)
    code, _, err = gradlab(capsys, "data", "fetch", "mnist", "--registry", reg)
    assert code == 0 and len(server.requests) == n
    assert err.strip() == (f"mnist is already downloaded and verified in {root / 'mnist'}; "
                           f"nothing to fetch.")


def test_the_registry_can_come_from_the_environment(capsys, reg, root, monkeypatch):
    monkeypatch.setenv("GRADLAB_DATA_REGISTRY", str(reg))
    code, _, err = gradlab(capsys, "data", "fetch", "cifar10", "--quiet")
    assert code == 0 and err == ""
    assert lb.files_in(root / "cifar10") == ["data_batch_1.bin", "data_batch_2.bin",
                                            "test_batch.bin"]


def test_a_wrong_checksum_is_one_sentence_and_exit_2(capsys, server, tmp_path, root):
    registry = lb.publish(server)
    registry["mnist"]["files"]["train_images"]["sha256"] = "0" * 64
    reg = lb.write_registry(tmp_path / "bad.json", registry)
    code, _, err = gradlab(capsys, "data", "fetch", "mnist", "--registry", reg, "--retries", "0")
    assert code == 2
    progress, error = err.strip().splitlines()[:-1], err.strip().splitlines()[-1]
    assert all(line.startswith("mnist: downloading") for line in progress)
    msg = one_sentence(error)
    assert "SHA-256 checksum does not match" in msg and "nothing was kept" in msg
    assert lb.files_in(root) == []


def test_a_server_that_is_down_is_exit_2(capsys, server, tmp_path, root):
    registry = lb.publish(server)
    for f in registry["mnist"]["files"].values():
        f["urls"] = [lb.closed_port_url()]
    reg = lb.write_registry(tmp_path / "down.json", registry)
    code, _, err = gradlab(capsys, "data", "fetch", "mnist", "--registry", reg, "--retries", "0",
                           "--quiet")
    assert code == 2
    assert "cannot connect" in one_sentence(err)
    assert lb.files_in(root) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["data", "fetch", "svhn"], "no dataset 'svhn' in the dataset registry"),
    (["data", "fetch", "mnist", "--retries", "-1"], "--retries must be >= 0"),
    (["data", "list", "--registry", "nowhere.json"], "nowhere.json' does not exist"),
    (["data"], "the following arguments are required"),
])
def test_bad_input_is_one_sentence(capsys, root, argv, message):
    code, _, err = gradlab(capsys, *argv)
    assert code == 2 and message in one_sentence(err)


def test_a_bad_registry_file_is_one_sentence(capsys, tmp_path, root):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mnist": {"format": "idx", "files": {
        "train_images": {"filename": "../x.gz", "size": 1, "sha256": "0" * 64,
                         "urls": ["https://example.org/x.gz"]},
        "train_labels": {"filename": "y.gz", "size": 1, "sha256": "0" * 64,
                         "urls": ["https://example.org/y.gz"]}}}}))
    code, _, err = gradlab(capsys, "data", "list", "--registry", bad)
    assert code == 2
    assert "file 'train_images' has the filename '../x.gz'" in one_sentence(err)


# ================================================================================ gradlab run
def test_run_on_the_fetched_dataset(capsys, tmp_path, reg, root, monkeypatch):
    monkeypatch.setenv("GRADLAB_DATA_REGISTRY", str(reg))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "run.gradlab"
    code, _, err = gradlab(capsys, "run", "--spec", spec, "--steps", "4", "--out", out)
    assert code == 2
    assert "run 'gradlab data fetch mnist'" in one_sentence(err) and not out.exists()
    assert gradlab(capsys, "data", "fetch", "mnist", "--quiet")[0] == 0
    code, _, err = gradlab(capsys, "run", "--spec", spec, "--steps", "4", "--out", out, "--quiet")
    assert code == 0, err
    code, info, _ = gradlab(capsys, "info", out)
    assert code == 0
    assert "data        mnist (784 inputs, 10 outputs)" in info
    assert "4 steps" in info
