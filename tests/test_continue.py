"""Runs that continue: ``exp.run(steps=N)`` trains N more steps even past the budget (raising
it), a loaded session trains on, ``gradlab run SESSION --steps N --out NEW`` leaves the source
untouched, and 100 + 100 steps are 200 uninterrupted steps bit for bit."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

import gradlab


def stateful_spec(steps: int = 100, **training) -> dict:
    """Adam, dropout, batch-norm, L2 and clipping (state and randomness a continuation must
    carry), at a constant learning rate."""
    spec = {
        "name": "c",
        "seed": 11,
        "data": {"name": "spiral", "n": 300},
        "network": {
            "layers": [
                {"units": 12, "activation": "tanh", "batchnorm": True},
                {"units": 12, "activation": "relu", "dropout": 0.2},
            ]
        },
        "training": {
            "optimizer": "adam",
            "lr": 0.01,
            "batch_size": 16,
            "steps": steps,
            "l2": 1e-3,
            "clip": {"norm": 1.0},
        },
        "probes": {"every": 30, "jacobian_every": 0, "batch": 64},
    }
    spec["training"].update(training)
    return spec


def assert_same_run(a, b) -> None:
    for k, v in a.network.state_arrays().items():
        np.testing.assert_array_equal(v, b.network.state_arrays()[k], err_msg=k)
    sa, sb = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert sa["t"] == sb["t"]
    for slot, per in sa["slots"].items():
        for k, v in per.items():
            np.testing.assert_array_equal(v, sb["slots"][slot][k], err_msg=f"{slot}/{k}")
    for col in ("step", "loss", "grad_norm", "lr"):
        np.testing.assert_array_equal(a.history.steps()[col], b.history.steps()[col], err_msg=col)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    assert a.network.rng.bit_generator.state == b.network.rng.bit_generator.state


@pytest.fixture(scope="module")
def straight():
    exp = gradlab.Experiment(stateful_spec(200))
    exp.run()
    assert exp.status == "done" and exp.step_count == 200
    return exp


def test_a_finished_run_trains_n_more_raising_its_budget(straight):
    exp = gradlab.Experiment(stateful_spec(100))
    exp.run()
    assert exp.status == "done" and exp.total_steps == 100
    exp.run(steps=100)
    assert exp.step_count == 200 and exp.status == "done"
    assert exp.total_steps == 200 and exp.spec["training"]["steps"] == 200
    budget = [e for e in exp.history.events_copy() if e["kind"] == "budget"]
    assert len(budget) == 1 and budget[0]["step"] == 100 and "200" in budget[0]["message"]
    assert_same_run(exp, straight)


def test_100_plus_100_steps_through_a_session_equal_200_bit_for_bit(tmp_path, straight):
    first = gradlab.Experiment(stateful_spec(100))
    first.run()
    path = first.save(tmp_path / "a.gradlab")
    back = gradlab.load_session(path)
    assert back.status == "done"
    back.run(steps=100)  # it used to do nothing: the budget was reached
    assert back.step_count == 200 and back.status == "done"
    assert_same_run(back, straight)


def test_steps_within_the_budget_leave_it_alone():
    exp = gradlab.Experiment(stateful_spec(100))
    exp.run(steps=40)
    assert exp.step_count == 40 and exp.total_steps == 100 and exp.status == "paused"
    assert not [e for e in exp.history.events_copy() if e["kind"] == "budget"]


def test_an_epoch_budget_becomes_a_step_budget_when_raised():
    spec = stateful_spec()
    spec["training"].update(steps=None, epochs=2)
    exp = gradlab.Experiment(spec)
    exp.run()
    done = exp.step_count
    assert done == exp.total_steps == 2 * exp.steps_per_epoch
    exp.run(steps=7)
    assert exp.step_count == done + 7
    assert exp.spec["training"]["steps"] == done + 7 and exp.spec["training"]["epochs"] is None


def test_a_cosine_schedule_tied_to_the_budget_stays_at_its_end():
    """As the README says: the schedule was resolved against the old budget; it has annealed,
    and the steps past it run at its final rate."""
    spec = stateful_spec(50, schedule={"name": "cosine", "min_lr": 0.001})
    exp = gradlab.Experiment(spec)
    exp.run()
    exp.run(steps=20)
    lr = exp.history.steps()["lr"]
    assert lr[0] == pytest.approx(0.01) and lr[49] > 0.001
    np.testing.assert_allclose(lr[50:], 0.001)


def test_gradlab_run_continues_a_session_into_a_new_file(tmp_path, straight):
    first = gradlab.Experiment(stateful_spec(100))
    first.run()
    src = first.save(tmp_path / "a.gradlab")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    mtime = os.stat(src).st_mtime_ns
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = tmp_path / "b.gradlab"
    r = subprocess.run(
        [sys.executable, "-m", "gradlab", "run", str(src), "--steps", "100", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "saved" in r.stderr and "200 steps" in r.stderr
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before  # the source is untouched
    assert os.stat(src).st_mtime_ns == mtime
    longer = gradlab.load_session(out)
    assert longer.step_count == 200 and longer.status == "done"
    assert_same_run(longer, straight)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--steps", "5", "--out", "{src}"], "is the session itself"),
        (["--out", "{out}"], "give --steps N or --epochs N"),
        (["--steps", "5", "--set", "training.lr=1", "--out", "{out}"], "--set and --seed"),
        (["--steps", "5", "--preset", "spiral", "--out", "{out}"], "not both"),
        (["--steps", "-1", "--out", "{out}"], "--steps must be >= 0"),
    ],
)
def test_continuing_refuses_in_one_sentence(tmp_path, capsys, args, says):
    from gradlab.cli import main

    exp = gradlab.Experiment(stateful_spec(5))
    exp.run()
    src = exp.save(tmp_path / "a.gradlab")
    before = src.read_bytes()
    argv = ["run", str(src), *(a.format(src=src, out=tmp_path / "b.gradlab") for a in args)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1
    assert src.read_bytes() == before
    assert not (tmp_path / "b.gradlab").exists()
