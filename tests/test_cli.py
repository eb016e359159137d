"""End-to-end tests of the ``gradlab`` command: the real program in a subprocess, asserting what a
user sees (exit code, stdout, stderr, the files written)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradlab
from gradlab.experiment import LAYER_STATS, presets

PRESET_DIR = Path(__file__).resolve().parents[1] / "resources" / "presets"
SPIRAL_LAYERS = ["dense1", "dense2", "dense3", "dense4"]
PROGRESS_LINE = re.compile(r"^step [\d,]+/[\d,]+ \(\d+%\)")


def gradlab_cmd(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``gradlab ARGS`` as a user would (offscreen Qt), in ``cwd``."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "gradlab", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_error(r: subprocess.CompletedProcess, code: int = 2) -> str:
    """Assert ``r`` failed with ``code`` and a one-line message (no traceback); return it."""
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("gradlab"), lines[0]
    return lines[0]


def strict_json(text: str):
    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=no_constants)


@pytest.fixture(scope="module")
def spiral_session(tmp_path_factory) -> Path:
    """A real session: ``gradlab run --preset spiral --steps 50``, written once for the module."""
    d = tmp_path_factory.mktemp("spiral")
    r = gradlab_cmd("run", "--preset", "spiral", "--steps", "50", "--out", "s.gradlab", cwd=d)
    assert r.returncode == 0, r.stderr
    return d / "s.gradlab"


# ------------------------------------------------------------------------------ version, presets
def test_version(tmp_path):
    r = gradlab_cmd("--version", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"gradlab {gradlab.__version__}"


def test_presets_lists_every_preset_with_its_description_default_first(tmp_path):
    r = gradlab_cmd("presets", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    files = {}
    for path in sorted(PRESET_DIR.glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        files[spec["name"]] = spec["description"]
    listing, _, families = r.stdout.strip().partition("\n\n")  # the families come after
    assert "handson-activations" in families
    lines = listing.splitlines()
    assert len(lines) == len(files)
    listed = {}
    for line in lines:
        name, _, desc = line.partition(" ")
        listed[name] = desc.strip()
    assert listed == files
    assert lines[0].split()[0] == presets.DEFAULT == "spiral"


# ------------------------------------------------------------------------------ run, info, export
def test_run_writes_session_and_shows_progress(tmp_path):
    r = gradlab_cmd(
        "run", "--preset", "spiral", "--steps", "50", "--out", "s.gradlab", cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert (tmp_path / "s.gradlab").stat().st_size > 0
    assert re.search(r"^step 50/50 \(100%\)", r.stderr, re.M), r.stderr
    assert "saved s.gradlab" in r.stderr
    exp = gradlab.load_session(tmp_path / "s.gradlab")
    assert exp.step_count == 50


def test_info_names_preset_steps_and_network(spiral_session):
    r = gradlab_cmd("info", spiral_session.name, cwd=spiral_session.parent)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    assert re.search(r"^name\s+spiral\b", out, re.M), out
    assert re.search(r"\b50 steps\b", out), out
    net = gradlab.Experiment(presets.load("spiral")).network.describe()
    assert net == "2-[16]x3-2 tanh"
    assert re.search(rf"^network\s+{re.escape(net)}", out, re.M), out


def test_export_stats_json(spiral_session, tmp_path):
    r = gradlab_cmd("export", str(spiral_session), "--stats", "s.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = strict_json((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert data["layers"] == SPIRAL_LAYERS
    assert data["name"] == "spiral"
    probes = data["probes"]
    assert probes[0]["step"] == 0
    steps = [p["step"] for p in probes]
    assert steps == sorted(steps) and steps[-1] == 50
    for p in probes:
        assert len(p["layers"]) == 4
        for layer in p["layers"]:
            assert set(layer) == set(LAYER_STATS)
    first = probes[0]["layers"]
    for layer in first:
        assert isinstance(layer["act_std"], float) and layer["act_std"] > 0
        assert layer["update_ratio"] is None  # no update before step 0: not measured
    for q, h in probes[0]["hists"].items():
        assert len(h["counts"]) == len(h["edges"]) == 4, q
        for counts, edges in zip(h["counts"], h["edges"]):
            assert len(edges) == len(counts) + 1, q
            assert np.all(np.diff(edges) > 0), q
        assert h["edges"][0] == h["edges"][1] == h["edges"][2], q  # hidden layers share bins
    # every (example, unit) pair of the probe batch lands in a bin of the activation histogram
    act = probes[0]["hists"]["act"]["counts"]
    units = [16, 16, 16, 2]
    per_example = {sum(c) / u for c, u in zip(act, units)}
    assert len(per_example) == 1 and per_example.pop() > 0


def test_export_stats_csv(spiral_session, tmp_path):
    r = gradlab_cmd("export", str(spiral_session), "--stats", "s.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r2 = gradlab_cmd("export", str(spiral_session), "--stats", "s.json", cwd=tmp_path)
    assert r2.returncode == 0, r2.stderr
    probe_steps = [p["step"] for p in json.loads((tmp_path / "s.json").read_text())["probes"]]

    text = (tmp_path / "s.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["step", "layer", "stat", "value"]
    body = rows[1:]
    per_probe = len(SPIRAL_LAYERS) * len(LAYER_STATS) + 2
    assert len(body) == len(probe_steps) * per_probe
    keys = [(int(s), layer, stat) for s, layer, stat, _ in body]
    assert len(set(keys)) == len(keys)
    expected = {
        (s, layer, stat) for s in probe_steps for layer in SPIRAL_LAYERS for stat in LAYER_STATS
    }
    expected |= {(s, "", stat) for s in probe_steps for stat in ("loss", "lr")}
    assert set(keys) == expected
    for s, layer, stat, value in body:
        if value:
            assert np.isfinite(float(value)), (s, layer, stat, value)
    lr0 = [v for s, layer, stat, v in body if s == "0" and stat == "lr"]
    assert float(lr0[0]) == pytest.approx(0.01)


def test_steps_zero_records_exactly_the_step0_probe(tmp_path):
    r = gradlab_cmd("run", "--preset", "spiral", "--steps", "0", "--out", "z.gradlab", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = gradlab_cmd("export", "z.gradlab", "--stats", "z.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    data = strict_json((tmp_path / "z.json").read_text())
    assert [p["step"] for p in data["probes"]] == [0]
    assert gradlab.load_session(tmp_path / "z.gradlab").step_count == 0


def test_set_and_seed_change_the_saved_spec(tmp_path):
    r = gradlab_cmd(
        "run", "--preset", "spiral", "--steps", "2",
        "--set", "training.lr=0.05",
        "--set", "network.layers[0].units=7",
        "--seed", "3",
        "--out", "o.gradlab",
        cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    exp = gradlab.load_session(tmp_path / "o.gradlab")
    assert exp.spec["training"]["lr"] == 0.05
    assert exp.spec["network"]["layers"][0]["units"] == 7
    assert exp.spec["network"]["layers"][1]["units"] == 16
    assert exp.spec["seed"] == 3
    assert exp.network.describe().startswith("2-7-[16]x2-2")


MY_SPEC = {
    "name": "my-net",
    "seed": 1,
    "data": {"name": "spiral"},
    "network": {"layers": [{"type": "dense", "units": 5, "activation": "relu"}]},
    "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 16, "steps": 5},
}


def test_spec_file(tmp_path):
    (tmp_path / "my.json").write_text(json.dumps(MY_SPEC), encoding="utf-8")
    r = gradlab_cmd("run", "--spec", "my.json", "--out", "my.gradlab", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    exp = gradlab.load_session(tmp_path / "my.gradlab")
    assert exp.name == "my-net"
    assert exp.step_count == 5
    assert exp.network.describe() == "2-5-2 relu"
    assert exp.spec["training"]["batch_size"] == 16


def _bad_spec(path: str, value) -> dict:
    spec = json.loads(json.dumps(MY_SPEC))
    return gradlab.experiment.set_path(spec, path, value)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param("{bad json", ["my.json", "not valid json"], id="invalid-json"),
        pytest.param(None, ["my.json", "does not exist"], id="missing-file"),
        pytest.param("[1, 2]", ["my.json", "object"], id="not-an-object"),
        pytest.param(
            json.dumps(_bad_spec("training.batch_size", 0)), ["training.batch_size"], id="batch0"
        ),
        pytest.param(
            json.dumps(_bad_spec("network.layers[0].activation", "wiggle")),
            ["network.layers[0].activation", "wiggle"],
            id="unknown-activation",
        ),
        pytest.param(
            json.dumps(_bad_spec("training.optimizer", "nope")),
            [re.compile(r"^gradlab: training\.optimizer(\.name)?: "), "nope"],
            id="unknown-optimizer",
        ),
        pytest.param(
            json.dumps(_bad_spec("training.schedule", "nope")),
            [re.compile(r"^gradlab: training\.schedule(\.name)?: "), "nope"],
            id="unknown-schedule",
        ),
        pytest.param(json.dumps(_bad_spec("seed", -5)), ["seed"], id="negative-seed"),
    ],
)
def test_bad_spec_file_is_one_line_naming_the_field(tmp_path, content, words):
    if content is not None:
        (tmp_path / "my.json").write_text(content, encoding="utf-8")
    r = gradlab_cmd("run", "--spec", "my.json", "--out", "my.gradlab", cwd=tmp_path)
    msg = one_line_error(r)
    for w in words:
        if isinstance(w, re.Pattern):
            assert w.search(msg), msg  # the field path exactly, not repeated
        else:
            assert w.lower() in msg.lower(), msg
    assert not (tmp_path / "my.gradlab").exists()


# ------------------------------------------------------------------------------ invalid input
@pytest.fixture
def junk(tmp_path, spiral_session) -> Path:
    """tmp_path with a real session, a text file named .gradlab, a truncated session, a folder."""
    real = spiral_session.read_bytes()
    (tmp_path / "s.gradlab").write_bytes(real)
    (tmp_path / "notes.gradlab").write_text("these are my notes, not a session\n")
    (tmp_path / "half.gradlab").write_bytes(real[: len(real) // 2])
    (tmp_path / "folder").mkdir()
    (tmp_path / "dir.gradlab").mkdir()
    (tmp_path / "dir.png").mkdir()
    return tmp_path


INVALID = [
    ("unknown-preset", ["run", "--preset", "nope", "--out", "a.gradlab"], ["nope", "spiral"]),
    ("missing-out", ["run", "--preset", "spiral", "--steps", "1"], ["--out"]),
    ("out-suffix", ["run", "--preset", "spiral", "--out", "a.txt"], ["a.txt", ".gradlab"]),
    ("out-folder-missing", ["run", "--preset", "spiral", "--out", "nodir/a.gradlab"], ["nodir"]),
    (
        "out-is-a-folder",
        ["run", "--preset", "spiral", "--steps", "1", "--out", "dir.gradlab"],
        ["dir.gradlab"],
    ),
    (  # the "folder" is a file: the session cannot be written there
        "out-unwritable",
        ["run", "--preset", "spiral", "--steps", "1", "--out", "notes.gradlab/a.gradlab"],
        ["a.gradlab"],
    ),
    (
        "set-without-eq",
        ["run", "--preset", "spiral", "--set", "training.lr", "--out", "a.gradlab"],
        ["training.lr", "FIELD=VALUE"],
    ),
    (
        "set-unknown-field",
        ["run", "--preset", "spiral", "--set", "nope.x=1", "--out", "a.gradlab"],
        ["nope"],
    ),
    (
        "set-bad-value",
        ["run", "--preset", "spiral", "--set", "training.lr=abc", "--out", "a.gradlab"],
        ["training.lr"],
    ),
    (
        "steps-negative",
        ["run", "--preset", "spiral", "--steps", "-1", "--out", "a.gradlab"],
        ["--steps"],
    ),
    (
        "steps-not-int",
        ["run", "--preset", "spiral", "--steps", "abc", "--out", "a.gradlab"],
        ["--steps"],
    ),
    (
        "epochs-zero",
        ["run", "--preset", "spiral", "--epochs", "0", "--out", "a.gradlab"],
        ["--epochs"],
    ),
    ("export-missing", ["export", "none.gradlab", "--stats", "x.json"], ["none.gradlab"]),
    ("export-text-file", ["export", "notes.gradlab", "--stats", "x.json"], ["notes.gradlab"]),
    ("export-truncated", ["export", "half.gradlab", "--stats", "x.json"], ["half.gradlab"]),
    ("stats-suffix", ["export", "s.gradlab", "--stats", "x.txt"], [".txt"]),
    ("stats-folder-missing", ["export", "s.gradlab", "--stats", "nodir/x.json"], ["nodir"]),
    ("export-nothing", ["export", "s.gradlab"], ["--stats", "--figure"]),
    ("figure-without-out", ["export", "s.gradlab", "--figure", "training"], ["--out"]),
    ("figure-suffix", ["export", "s.gradlab", "--figure", "training", "--out", "f.bmp"], ["f.bmp"]),
    (
        "figure-bad-size",
        ["export", "s.gradlab", "--figure", "training", "--out", "f.png", "--width", "0"],
        ["width", "limit"],
    ),
    (
        "figure-out-is-a-folder",
        ["export", "s.gradlab", "--figure", "training", "--out", "dir.png"],
        ["dir.png"],
    ),
    (
        "figure-out-unwritable",
        ["export", "s.gradlab", "--figure", "training", "--out", "notes.gradlab/f.png"],
        ["f.png"],
    ),
    (
        "stats-out-unwritable",
        ["export", "s.gradlab", "--stats", "notes.gradlab/x.json"],
        ["x.json"],
    ),
    ("info-folder", ["info", "folder"], ["folder"]),
    ("info-text-file", ["info", "notes.gradlab"], ["notes.gradlab"]),
    ("info-missing", ["info", "none.gradlab"], ["none.gradlab"]),
    ("gui-missing-file", ["nonexistent.gradlab"], ["nonexistent.gradlab"]),
    ("gui-unknown-preset", ["--preset", "nope"], ["nope"]),
    ("presets-extra-arg", ["presets", "extra"], ["extra"]),
]


@pytest.mark.parametrize(("args", "words"), [pytest.param(a, w, id=i) for i, a, w in INVALID])
def test_invalid_input_is_one_line_exit_2(junk, args, words):
    before = sorted(p.name for p in junk.iterdir())
    r = gradlab_cmd(*args, cwd=junk, timeout=30)  # the GUI path must fail before any window
    msg = one_line_error(r)
    for w in words:
        assert w.lower() in msg.lower(), msg
    assert sorted(p.name for p in junk.iterdir()) == before  # nothing written
    assert r.stdout == ""


# ------------------------------------------------------------------------------ divergence
def test_diverged_run_is_saved_with_exit_3(tmp_path):
    # ReLU units and plain SGD at lr 1e6: the activations overflow within a few steps
    r = gradlab_cmd(
        "run", "--preset", "spiral", "--steps", "50",
        "--set", "training.lr=1e6", "--set", "training.optimizer=sgd",
        "--set", "network.layers[0].activation=relu",
        "--set", "network.layers[1].activation=relu",
        "--set", "network.layers[2].activation=relu",
        "--out", "d.gradlab",
        cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 3, r.stderr
    lines = r.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("gradlab")]
    assert errors == [lines[-1]], r.stderr  # one message, the last line
    assert all(PROGRESS_LINE.match(line) for line in lines[:-1]), r.stderr
    msg = lines[-1]
    m = re.search(r"diverged at step (\d+)", msg)
    assert m, msg
    assert re.search(r"\bdense\d\b", msg), msg
    assert "d.gradlab" in msg
    exp = gradlab.load_session(tmp_path / "d.gradlab")
    assert 0 < exp.step_count == int(m.group(1)) - 1  # the last good state
    for name, p in exp.network.params.items():
        assert np.isfinite(p).all(), name
    assert any(e["kind"] == "nan" for e in exp.history.events_copy())


# ------------------------------------------------------------------------------ Ctrl-C
def test_ctrl_c_saves_what_was_done(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-m", "gradlab", "run", "--preset", "spiral"]
    cmd += ["--steps", "10000000", "--out", "big.gradlab"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()  # blocks until the first progress line
        assert PROGRESS_LINE.match(first), first + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in rest, rest
    assert code == 130, rest
    assert "interrupted" in rest and "big.gradlab" in rest, rest
    exp = gradlab.load_session(tmp_path / "big.gradlab")
    assert exp.step_count > 0
    assert exp.history.n_probes >= 1
    for name, p in exp.network.params.items():
        assert np.isfinite(p).all(), name


# ------------------------------------------------------------------------------ figures
def _png_size(path: Path) -> tuple[int, int]:
    from PySide6.QtGui import QImage

    img = QImage(str(path))
    assert not img.isNull(), path
    return img.width(), img.height()


def _assert_ok(r: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr


def test_export_figure_training_png(spiral_session, tmp_path):
    r = gradlab_cmd("export", str(spiral_session), "--figure", "training", "--out", "f.png",
                    "--width", "8", "--height", "5", "--dpi", "100", cwd=tmp_path)  # fmt: skip
    _assert_ok(r)
    data = (tmp_path / "f.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert _png_size(tmp_path / "f.png") == (800, 500)  # inches x DPI


def test_export_figure_distributions_step0_sized_png(spiral_session, tmp_path):
    r = gradlab_cmd(
        "export", str(spiral_session), "--figure", "distributions", "--step", "0",
        "--width", "4", "--height", "2.5", "--dpi", "200", "--out", "d.png",
        cwd=tmp_path,
    )  # fmt: skip
    _assert_ok(r)
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _png_size(tmp_path / "d.png") == (800, 500)


def test_export_figure_svg(spiral_session, tmp_path):
    r = gradlab_cmd("export", str(spiral_session), "--figure", "distributions", "--step", "0",
                    "--out", "d.svg", cwd=tmp_path)  # fmt: skip
    _assert_ok(r)
    text = (tmp_path / "d.svg").read_text(encoding="utf-8")
    assert "<svg" in text and text.rstrip().endswith("</svg>")
    assert "step 0" in text  # the title is text, not outlines


def test_export_figure_unknown_view_names_the_choices(spiral_session, tmp_path):
    r = gradlab_cmd("export", str(spiral_session), "--figure", "nope", "--out", "n.png",
                    cwd=tmp_path)  # fmt: skip
    msg = one_line_error(r)
    assert "nope" in msg
    for view in ("distributions", "training", "dashboard"):
        assert view in msg, msg
    assert not (tmp_path / "n.png").exists()
