"""Hostile specs and ``--set`` values: ``gradlab run`` refuses each in one sentence with exit 2,
in a process limited to 1.5 GB and 20 s of CPU, before training; and the session ``--out`` would
have replaced stays byte-identical."""

from __future__ import annotations

import json
import os
import socket

import pytest

from tests import hostile as H

SMALL = {"name": "small", "data": {"name": "spiral", "n": 200},
         "network": {"layers": [{"units": 4, "activation": "tanh"}]},
         "training": {"steps": 2}}


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return H.make_session(tmp_path_factory.mktemp("good") / "good.gradlab")


def run_refused(tmp_path, good, args, *words, env=None) -> str:
    """``gradlab run ARGS --out <a copy of good>``: refused, and the copy untouched."""
    out = tmp_path / "keep.gradlab"
    out.write_bytes(good.read_bytes())
    line = H.assert_refused(
        H.run_gradlab("run", *args, "--quiet", "--out", str(out), cwd=tmp_path, env=env), *words
    )
    assert out.read_bytes() == good.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    return line


def spec_file(tmp_path, content) -> str:
    path = tmp_path / "spec.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def with_field(*path_and_value) -> dict:
    *path, value = path_and_value
    spec = json.loads(json.dumps(SMALL))
    node = spec
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return spec


# ----------------------------------------------------------------------------- spec files
@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda d: "/dev/zero", ["/dev/zero is a character device, not a spec file"]),
        (lambda d: (os.mkfifo(d / "s.json"), str(d / "s.json"))[1], ["FIFO (named pipe)"]),
        (lambda d: (os.symlink("/dev/urandom", d / "s.json"), str(d / "s.json"))[1],
         ["character device"]),
        (lambda d: str(d), ["is a folder, not a spec file"]),
    ],
    ids=["dev-zero", "fifo", "link-to-urandom", "folder"],
)
def test_only_a_regular_file_is_read_as_a_spec(tmp_path, good, make, words):
    run_refused(tmp_path, good, ["--spec", make(tmp_path)], *words)


def test_a_spec_socket_is_refused_by_name(tmp_path, good):
    path = tmp_path / "s.json"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        run_refused(tmp_path, good, ["--spec", str(path)], "is a socket")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b" " * (17 * H.MiB), ["more than the 16.8 MB a spec file may take"],
                     id="17-MB"),
        pytest.param('{"reference": ' + H.nested(30_000) + "}", ["nested more than 64 levels"],
                     id="nested-30000"),
        pytest.param('{"reference": ' + H.nested(100) + "}", ["nested more than 64 levels"],
                     id="nested-100"),
        pytest.param('{"seed": 1e999}', ["1e999", "out of range"], id="1e999"),
        pytest.param('{"seed": NaN}', ["not valid JSON"], id="nan"),
        pytest.param('{"seed": ' + "7" * 5000 + "}", ["5,000 digits"], id="5000-digits"),
        pytest.param(b'{"name": "\xff"}', ["not UTF-8"], id="not-utf8"),
        pytest.param("[" * 400_000 + "]" * 400_000, ["more than 64", "nested"],
                     id="brackets-400000"),
        pytest.param("[" + "[]," * 1_500_000 + "[]]", ["more than 1,000,000 objects"],
                     id="1.5-million-lists"),
    ],
)
def test_spec_files_are_bounded_in_size_depth_and_numbers(tmp_path, good, content, words):
    run_refused(tmp_path, good, ["--spec", spec_file(tmp_path, content)], *words)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (("network", "layers", 0, "units", 10**9), ["network.layers[0].units", "1,000,000"]),
        (("network", "layers", 0, "units", 2**63), ["network.layers[0].units"]),
        (("network", "layers", 0, "units", 2**255), ["network.layers[0].units"]),
        (("network", "layers", 0, {"units": 4, "activation": "maxout", "pieces": 10**9}),
         ["network.layers[0].pieces", "16"]),
        (("network", "layers", 0, {"units": 4, "init": {"name": "normal", "std": 1e308}}),
         ["network.layers[0].init.std"]),
        (("network", "layers", 0, {"units": 4, "gain": 1e200}), ["network.layers[0]", "gain"]),
        (("network", "layers", 0, {"units": 4, "bias_init": {"name": "constant",
                                                             "value": -1e300}}),
         ["network.layers[0].bias_init"]),
        (("training", {"epochs": 1e308}), ["training.epochs", "1e+06"]),
        (("training", {"steps": 2**60}), ["training.steps"]),
        (("training", 5), ["training", "must be an object"]),
        (("probes", {"capacity": 10**9}), ["probes.capacity", "1,000,000"]),
        (("data", {"name": "gaussian", "n": 10**7, "dim": 10**5}),
         ["would take about", "dataset holds 1,000,000,000,000 values"]),
        (("network", "layers", [{"units": 20_000}] * 3), ["would take about",
                                                          "parameters"]),
    ],
    ids=["units-1e9", "units-2^63", "units-2^255", "pieces-1e9", "init-std-1e308",
         "gain-1e200", "bias-constant", "epochs-1e308", "steps-2^60", "training-5",
         "capacity-1e9", "gaussian-1e12", "wide-layers"],
)
def test_spec_values_are_bounded_before_anything_is_allocated(tmp_path, good, edit, words):
    run_refused(tmp_path, good, ["--spec", spec_file(tmp_path, with_field(*edit))], *words)


def test_the_refusal_says_how_much_it_would_take_and_how_to_change_the_limit(tmp_path, good):
    spec = with_field("network", "layers", [{"units": 3000}] * 3)
    line = run_refused(tmp_path, good, ["--spec", spec_file(tmp_path, spec)],
                       "this experiment would take about", "more than the 67.1 MB GradLab may use",
                       "GRADLAB_MAX_MEMORY=64M", env={"GRADLAB_MAX_MEMORY": "64M"})
    # refused before the data is read: one input and one output assumed, so "at least"
    assert "the network has at least 18,015,001 parameters" in line


def test_a_bad_memory_setting_is_one_sentence(tmp_path, good):
    run_refused(tmp_path, good, ["--spec", spec_file(tmp_path, SMALL)],
                "GRADLAB_MAX_MEMORY=lots is neither a share", env={"GRADLAB_MAX_MEMORY": "lots"})


# ----------------------------------------------------------------------------- --set
@pytest.mark.parametrize(
    ("sets", "words"),
    [
        (["data.noise=" + H.nested(30_000)], ["--set data.noise", "nested more than 64"]),
        (["a" + ".a" * 100 + "=1"], ["at most 64 levels"]),
        (["training=5"], ["training: must be an object"]),
        (["training=null", "training.lr=x"], ["training.lr"]),
        (["network=[]"], ["network"]),
        (["network.layers[0].units=1e9"], ["units"]),
        (["network.layers[0].units=" + "9" * 400], ["digits, which is out of range"]),
        (["training.lr=1e999"], ["1e999", "out of range"]),
        (["network.layers[0].activation=maxout", "network.layers[0].pieces=1000000000"],
         ["pieces"]),
        (['network.layers[0].init={"name": "normal", "std": 1e308}'], ["init.std"]),
        (["name=\x1b]0;owned\x07"], None),
    ],
    ids=["nested-30000", "path-100-deep", "training-5", "training-null", "network-list",
         "units-1e9", "units-400-digits", "lr-1e999", "pieces-1e9", "std-1e308", "escapes"],
)
def test_set_values_are_bounded_like_spec_files(tmp_path, good, sets, words):
    args = ["--preset", "spiral", "--steps", "1"]
    for s in sets:
        args += ["--set", s]
    if words is None:  # accepted: the name is stored as given, and shown escaped (test_info)
        out = H.run_gradlab("run", *args, "--quiet", "--out", "e.gradlab", cwd=tmp_path)
        assert out.code == 0, out.stderr
        return
    run_refused(tmp_path, good, args, *words)


@pytest.mark.parametrize("epochs", ["1e308", "inf", "nan", "-1"])
def test_epochs_out_of_range_on_the_command_line(tmp_path, good, epochs):
    run_refused(tmp_path, good, ["--preset", "spiral", "--epochs", epochs], "epochs")
