"""Health verdicts on real runs: the table over every preset (at step 0, before any training,
and after a short run), random healthy networks raising no false alarm, symmetric units from a
constant initialisation, a loss stuck at chance, and the events a session keeps."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import gradlab
from gradlab import data as datasets
from gradlab.experiment import health, presets
from gradlab.experiment.spec import set_path

_DATA: dict[str, datasets.Dataset] = {}


@pytest.fixture(scope="module", autouse=True)
def _forget_the_data():
    """The shared datasets (tens of MB) go with the module: later tests fork this process."""
    yield
    _DATA.clear()


def dataset_for(spec: dict) -> datasets.Dataset:
    """Presets sharing their data (the five CS231n ones, the four Glorot ones) build it once."""
    key = json.dumps([spec["data"], spec.get("seed", 0)], sort_keys=True)
    if key not in _DATA:
        _DATA[key] = datasets.load(spec["data"], spec.get("seed", 0))
    return _DATA[key]


def warnings_of(exp) -> list[dict]:
    return [e for e in exp.history.events_copy() if e["severity"] in ("warning", "error")]


# ---------------------------------------------------------------------------- the preset table
#: preset: (short run in steps, spec overrides for it, verdict at step 0, verdict after the run,
#: kinds the run must have raised). Probes run at fixed intervals (no timing-dependent "auto")
#: and skip the Jacobian, which no verdict reads.
TABLE = {
    "cs231n-tanh-0.01": (5, {}, "vanishing", "vanishing", {"vanishing", "collapse", "frozen"}),
    "cs231n-tanh-1.0": (5, {}, "saturation", "saturation", {"saturation", "exploding"}),
    "cs231n-tanh-xavier": (5, {}, "healthy", "healthy", set()),
    # CS231n: "with ReLU, Xavier init halves the variance every layer and the distribution
    # collapses towards 0 again": the gradient shrinks 22x across the 10 layers
    "cs231n-relu-xavier": (5, {}, "vanishing", "vanishing", {"vanishing", "collapse"}),
    "cs231n-relu-he": (5, {}, "healthy", "healthy", set()),
    "glorot-tanh-standard": (10, {}, "vanishing", "vanishing", {"vanishing"}),
    "glorot-tanh-normalized": (10, {}, "healthy", "healthy", set()),
    "glorot-softsign-standard": (10, {}, "vanishing", "vanishing", {"vanishing"}),
    # Glorot fig. 2: the top hidden layer is driven to 0 once training starts; at the preset's
    # lr 0.01 that descent takes thousands of steps (its mean is 0.39 after 3,000), at 0.3 forty
    "glorot-sigmoid-standard": (
        80,
        {"training.lr": 0.3},
        "vanishing",
        "saturation",
        {"vanishing", "saturation"},
    ),
    "nielsen-sigmoid-3hidden": (1000, {}, "vanishing", "vanishing", {"vanishing"}),
    "nielsen-sigmoid-4hidden": (1000, {}, "vanishing", "vanishing", {"vanishing"}),
    # the chain explodes at initialisation; the first update drives every sigmoid into
    # saturation (the preset's own note), where the gradients are gone
    "exploding-chain": (20, {}, "exploding", "saturation", {"exploding", "saturation", "dead"}),
    "dead-relu": (50, {}, "healthy", "dead", {"dead"}),
    "batchnorm-rescue": (300, {}, "healthy", "healthy", set()),
    "spiral": (500, {}, "healthy", "healthy", set()),
    # every weight 0.1: the units of each layer stay one function (the blog's symmetry)
    "symmetric-init": (300, {}, "symmetric", "symmetric", {"symmetric"}),
    # Hands-On ML ch. 11: SELU keeps 100 layers healthy; of the activations only the ten
    # sigmoid layers vanish; clipping, 1cycle and the transfer runs train healthily, and the
    # layers handson-transfer freezes on purpose are not called "frozen"
    "handson-selu-deep": (20, {}, "healthy", "healthy", set()),
    **{f"handson-activations-{a}": (300, {}, "healthy", "healthy", set())
       for a in ("elu", "leaky_relu", "relu", "tanh")},
    "handson-activations-sigmoid": (300, {}, "vanishing", "vanishing", {"vanishing", "frozen"}),
    "handson-clipping": (300, {}, "healthy", "healthy", set()),
    "handson-transfer-base": (300, {}, "healthy", "healthy", set()),
    "handson-transfer": (300, {}, "healthy", "healthy", set()),
    "handson-transfer-finetune": (300, {}, "healthy", "healthy", set()),
    "handson-1cycle": (500, {}, "healthy", "healthy", set()),
}
EVERY = {5: 5, 10: 10, 20: 10, 50: 25, 80: 40, 300: 50, 500: 100, 1000: 500}
HEAVY = {n for n in TABLE if n.startswith(("cs231n", "glorot"))}


def test_the_table_covers_every_preset():
    assert set(TABLE) == set(presets.names())


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in TABLE]
)
def test_preset_verdicts_at_step_0_and_after_a_short_run(name):
    steps, overrides, at_0, after, raised = TABLE[name]
    spec = presets.load(name)
    spec["probes"]["every"] = EVERY[steps]
    spec["probes"]["jacobian_every"] = 0
    for path, value in overrides.items():
        spec = set_path(spec, path, value)
    exp = gradlab.Experiment(spec, dataset=dataset_for(spec))
    exp.run(steps=0)
    v0 = health.verdict(exp.history)
    assert v0.kind == at_0, [e["message"] for e in exp.history.events_copy()]
    assert all(e["step"] == 0 for e in exp.history.events_copy())  # before any training
    exp.run(steps=steps)
    assert exp.step_count == steps and exp.status != "diverged", exp.diverged
    v = health.verdict(exp.history)
    events = exp.history.events_copy()
    assert v.kind == after, [(e["step"], e["kind"], e["message"]) for e in events]
    assert raised <= {e["kind"] for e in events}
    if after == "healthy":
        assert v.healthy and v.severity == "ok"
        if not raised and name != "batchnorm-rescue":
            assert not warnings_of(exp), warnings_of(exp)
    else:
        assert v.severity == "warning" and v.sentence and v.source in v.sentence
        assert v.line is not None and v.value is not None
    if name == "glorot-sigmoid-standard":
        assert v.layers == ("dense5",)  # the top hidden layer, as in Glorot's fig. 2
    if name == "cs231n-tanh-0.01":
        # the numbers: activations 6.6e-8 by the output, weight gradients ~4e-10
        ev = next(e for e in events if e["kind"] == "vanishing")
        assert ev["value"] > 1e4 and ev["layer"] == "dense1"
    if name == "exploding-chain":
        ev = next(e for e in events if e["kind"] == "exploding")
        assert ev["step"] == 0 and ev["value"] == pytest.approx(25.0**3, rel=1e-3)


def test_the_lecture_example_is_no_longer_called_healthy():
    """The issue's first complaint, as a user meets it: cs231n-tanh-0.01 at step 0."""
    spec = presets.load("cs231n-tanh-0.01")
    spec["probes"]["jacobian_every"] = 0
    exp = gradlab.Experiment(spec, dataset=dataset_for(spec))
    exp.run(steps=0)
    v = health.verdict(exp.history)
    assert not v.healthy and v.label == "vanishing gradients"
    assert "CS231n" in " ".join(e["message"] for e in v.active)
    assert {e["kind"] for e in v.active} == {"vanishing", "collapse"}


# ---------------------------------------------------------------------------- healthy networks
FAMILIES = [
    ("tanh", "lecun_normal"),
    ("tanh", "lecun_uniform"),
    ("tanh", "glorot_uniform"),
    ("tanh", "glorot_normal"),
    ("relu", "he_normal"),
    ("relu", "he_uniform"),
]
#: the corners (depth 20 at width 1000 and 32) and a seeded sample of the rest
_rng = np.random.default_rng(20100)
HEALTHY = [
    (("tanh", "lecun_normal"), 20, 1000, "gaussian"),
    (("relu", "he_normal"), 20, 1000, "gaussian"),
    (("tanh", "glorot_uniform"), 20, 32, "spiral"),
    (("relu", "he_uniform"), 20, 32, "mnist_like"),
] + [
    (
        FAMILIES[int(_rng.integers(len(FAMILIES)))],
        int(_rng.integers(1, 21)),
        round(math.exp(_rng.uniform(math.log(32), math.log(400)))),
        ("gaussian", "mnist_like", "spiral")[int(_rng.integers(3))],
    )
    for _ in range(12)
]
HEALTHY_DATA = {
    # inputs as the initialisations assume them: standardised (the raw spiral has std 2.5,
    # which saturates LeCun-initialised tanh units before any training)
    "gaussian": {"name": "gaussian", "n": 300, "dim": 100, "classes": 5},
    "mnist_like": {"name": "mnist_like", "n": 1000},
    "spiral": {"name": "spiral", "preprocess": "standardize"},
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("family", "depth", "width", "data"),
    HEALTHY,
    ids=[f"{f[0]}-{f[1]}-{d}x{w}-{ds}" for f, d, w, ds in HEALTHY],
)
def test_healthy_networks_raise_no_false_alarm(family, depth, width, data):
    """LeCun/Glorot init with tanh and He init with ReLU, 1 to 20 layers of 32 to 1000 units:
    nothing at step 0, nor after a few plain SGD steps at lr 0.01 (Adam at lr 1e-3 does saturate
    a 20 x 1000 tanh net within 25 steps: its loss rises, and the verdicts say so)."""
    act, init = family
    wide = width > 400
    steps = 4 if wide else 10  # (a step of the 20 x 1000 nets costs 4 GFLOP)
    spec = {
        "name": "healthy",
        "seed": depth * 1000 + width,
        "data": HEALTHY_DATA[data],
        "network": {"layers": [{"units": width, "activation": act, "init": init}] * depth},
        "training": {"optimizer": "sgd", "lr": 0.01, "batch_size": 32, "steps": steps},
        "probes": {"every": steps // 2, "jacobian_every": 0, "batch": 64 if wide else 256},
    }
    exp = gradlab.Experiment(spec, dataset=dataset_for(spec))
    exp.run(steps=0)
    assert health.verdict(exp.history).healthy, warnings_of(exp)
    exp.run()
    assert exp.step_count == steps
    assert not warnings_of(exp), warnings_of(exp)


# ---------------------------------------------------------------------------- symmetric units


def test_a_constant_init_is_called_symmetric_at_step_0_and_stays_so():
    """The issue's example: 2 x 16 tanh with constant init 0.3 keeps all 16 units of each layer
    bit-identical after 500 steps; GradLab now says so before the first step."""
    const = {"name": "constant", "value": 0.3}
    spec = {
        "name": "symmetric",
        "data": {"name": "spiral"},
        "network": {"layers": [{"units": 16, "activation": "tanh", "init": const}] * 2},
        "training": {"steps": 500},
        "probes": {"every": 50, "jacobian_every": 0},
    }
    exp = gradlab.Experiment(spec)
    exp.run(steps=0)
    v = health.verdict(exp.history)
    assert v.kind == "symmetric" and v.step == 0 and v.layers == ("dense1", "dense2")
    assert "16 units" in v.sentence and "one function" in v.sentence
    exp.run()
    W = exp.network.params["dense1.W"]
    assert (W == W[:, :1]).all()  # still identical: the verdict is right
    assert health.verdict(exp.history).kind == "symmetric"
    # random init: no such verdict
    spec["network"]["layers"] = [{"units": 16, "activation": "tanh"}] * 2
    exp = gradlab.Experiment(spec)
    exp.run(steps=0)
    assert "symmetric" not in {e["kind"] for e in exp.history.events_copy()}


# ---------------------------------------------------------------------------- stuck at chance


def test_a_collapsed_net_is_stuck_at_ln_c_and_a_learning_one_is_not():
    spec = {
        "name": "stuck",
        "data": {"name": "gaussian", "n": 400, "dim": 20, "classes": 4},
        "network": {
            "layers": [{"units": 32, "activation": "tanh", "init": {"name": "normal", "std": 0.01}}]
            * 5
        },
        "training": {"optimizer": "sgd", "lr": 0.01, "steps": 40, "eval_every": 10},
        "probes": {"every": 10, "jacobian_every": 0},
    }
    exp = gradlab.Experiment(spec)
    exp.run()
    stuck = [e for e in exp.history.events_copy() if e["kind"] == "stuck"]
    assert len(stuck) == 1 and stuck[0]["step"] == 30  # the third evaluation after step 0
    assert "ln C" in stuck[0]["message"] and f"{math.log(4):.4g}" in stuck[0]["message"]
    assert exp.monitor.chance == pytest.approx(math.log(4), rel=1e-3)
    spec["network"]["layers"] = [{"units": 32, "activation": "tanh"}] * 2
    spec["training"].update(optimizer="adam", lr=0.01)
    exp = gradlab.Experiment(spec)
    exp.run()
    assert "stuck" not in {e["kind"] for e in exp.history.events_copy()}


# ---------------------------------------------------------------------------- sessions


def test_verdicts_survive_a_session_and_old_sessions_still_load(tmp_path):
    from gradlab import session

    spec = {
        "name": "nielsen-like",
        "data": {"name": "gaussian", "n": 300, "dim": 20, "classes": 3},
        "network": {
            "layers": [{"units": 30, "activation": "sigmoid", "init": "glorot_standard"}] * 4
        },
        "training": {"optimizer": "sgd", "lr": 0.1, "steps": 20},
        "probes": {"every": 10, "jacobian_every": 0},
    }
    exp = gradlab.Experiment(spec)
    exp.run()
    path = exp.save(tmp_path / "n.gradlab")
    back = gradlab.load_session(path)
    assert back.history.events_copy() == exp.history.events_copy()
    assert health.verdict(back.history) == health.verdict(exp.history)
    assert back.monitor.active.keys() == exp.monitor.active.keys() == {"vanishing"}
    # a session written before the verdicts: its trainer kept four booleans
    manifest, arrays = session.read(path)
    manifest["trainer"]["health"] = {
        "vanishing": True,
        "exploding": False,
        "saturation": False,
        "dead": False,
    }
    for ev in manifest["history"]["events"]:
        for key in ("layers", "quantity", "value", "line", "cmp", "source"):
            ev.pop(key, None)
    session.write(tmp_path / "old.gradlab", manifest, arrays)
    old = gradlab.load_session(tmp_path / "old.gradlab")
    assert health.verdict(old.history).kind == "vanishing"
    assert old.watch.loss0 == pytest.approx(exp.history.probe(0)["loss"])
    old.run(steps=10)  # no second "vanishing" event: the standing verdict was recovered
    assert [e["kind"] for e in old.history.events_copy()].count("vanishing") == 1


def test_the_command_line_says_the_verdict(tmp_path, capsys):
    from gradlab.cli import main

    spec = {
        "name": "tiny-init",
        "data": {"name": "gaussian", "n": 200, "dim": 20, "classes": 4},
        "network": {
            "layers": [{"units": 32, "activation": "tanh", "init": {"name": "normal", "std": 0.01}}]
            * 5
        },
        "training": {"steps": 0},
        "probes": {"jacobian_every": 0},
    }
    (tmp_path / "s.json").write_text(json.dumps(spec), encoding="utf-8")
    out = tmp_path / "s.gradlab"
    assert main(["run", "--spec", str(tmp_path / "s.json"), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "health: Vanishing gradients:" in err
    assert main(["info", str(out)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("health"))
    assert "vanishing gradients since step 0 (and 1 more): Vanishing gradients" in line
    spec["network"]["layers"] = [{"units": 32, "activation": "tanh"}] * 2
    (tmp_path / "s.json").write_text(json.dumps(spec), encoding="utf-8")
    assert main(["run", "--spec", str(tmp_path / "s.json"), "--out", str(out)]) == 0
    assert "health" not in capsys.readouterr().err
    main(["info", str(out)])
    assert "health      healthy" in capsys.readouterr().out
