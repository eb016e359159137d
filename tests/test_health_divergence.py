"""CS231n's divergence rule: a loss above ``training.diverge_factor`` x its initial value
(median of 10 batches) diverges the run like a NaN does: paused at the last good state, an
error event, exit 3 from ``gradlab run`` with the session saved; and a diverged run can be
continued anyway."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import gradlab
from gradlab.experiment import health


def exploding_spec(**training) -> dict:
    """The issue's example: the spiral preset's net with plain SGD at lr 1e8 (loss 4e8 from a
    start at 0.8)."""
    spec = {
        "name": "boom",
        "seed": 0,
        "data": {"name": "spiral"},
        "network": {"layers": [{"units": 16, "activation": "tanh"}] * 3},
        "training": {"optimizer": "sgd", "lr": 1e8, "batch_size": 32, "steps": 200},
        "probes": {"every": 20, "jacobian_every": 0},
    }
    spec["training"].update(training)
    return spec


def same_params(a, b) -> None:
    for k, v in a.network.params.items():
        np.testing.assert_array_equal(v, b.network.params[k], err_msg=k)
    for k, v in a.network.buffers.items():
        np.testing.assert_array_equal(v, b.network.buffers[k], err_msg=k)


def test_a_loss_three_times_its_initial_value_diverges_the_run():
    exp = gradlab.Experiment(exploding_spec())
    reports = []
    exp.run(callback=reports.append)
    assert exp.status == "diverged" and reports[-1].status == "diverged"
    assert exp.step_count < 20  # not 200 steps at a loss of 4e8
    loss0 = exp.history.probe(0)["loss"]
    assert exp.watch.loss0 == pytest.approx(loss0)
    (ev,) = [e for e in exp.history.events_copy() if e["kind"] == "diverged"]
    assert ev["severity"] == "error" and ev["step"] == exp.step_count + 1
    assert ev["line"] == pytest.approx(3 * loss0) and ev["value"] > ev["line"]
    assert ev["source"] == health.CS231N and "CS231n" in ev["message"]
    assert f"paused at step {exp.step_count}" in ev["message"]
    assert reports[-1].message == ev["message"] == exp.diverged["message"]
    v = health.verdict(exp.history)
    assert v.kind == "diverged" and v.severity == "error"
    # the last good state: exactly a run stopped before the refused step
    twin = gradlab.Experiment(exploding_spec(diverge_factor=0))
    twin.run(steps=exp.step_count)
    same_params(exp, twin)
    assert exp.history.n_steps == exp.step_count  # the refused step is not in the history


def test_batch_norm_statistics_are_the_last_good_ones_too():
    spec = exploding_spec()
    spec["network"]["layers"] = [{"units": 16, "activation": "tanh", "batchnorm": True}] * 2
    spec["training"]["lr"] = 1e6
    exp = gradlab.Experiment(spec)
    exp.run()
    assert exp.status == "diverged"
    twin = gradlab.Experiment({**spec, "training": {**spec["training"], "diverge_factor": 0}})
    twin.run(steps=exp.step_count)
    same_params(exp, twin)


def test_a_zero_factor_turns_the_rule_off():
    exp = gradlab.Experiment(exploding_spec(diverge_factor=0, steps=40))
    exp.run()
    assert exp.status == "done" and exp.step_count == 40
    assert np.median(exp.history.steps()["loss"][-10:]) > 1e3 * exp.watch.loss0


def test_continue_anyway_after_a_loss_divergence():
    exp = gradlab.Experiment(exploding_spec())
    exp.run()
    stopped = exp.step_count
    assert exp.continue_after_divergence() is True
    assert exp.status == "paused" and exp.diverged is None
    assert exp.history.events_copy()[-1]["kind"] == "diverged_over"
    assert health.verdict(exp.history).kind != "diverged"
    assert exp.continue_after_divergence() is False  # nothing to continue from any more
    exp.run(steps=30)  # the rule rests while the loss stays above its line
    assert exp.step_count == stopped + 30 and exp.status != "diverged"


def test_pressing_run_on_a_diverged_run_continues_it_anyway():
    exp = gradlab.Experiment(exploding_spec())
    exp.run()
    stopped = exp.step_count
    exp.run(steps=5)
    assert exp.step_count == stopped + 5
    kinds = [e["kind"] for e in exp.history.events_copy()]
    assert kinds.index("diverged") < kinds.index("diverged_over")


@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_continue_anyway_after_a_nan():
    spec = exploding_spec(lr=1e30)
    spec["network"]["layers"] = [{"units": 16, "activation": "relu"}] * 2
    spec["dtype"] = "float32"
    exp = gradlab.Experiment(spec)
    exp.run()
    assert exp.status == "diverged" and exp.diverged["kind"] == "nan"
    assert health.verdict(exp.history).kind == "nan"
    assert exp.continue_after_divergence()
    assert [e["kind"] for e in exp.history.events_copy()][-1] == "nan_over"


def test_a_diverged_session_reopens_diverged_and_continues(tmp_path):
    exp = gradlab.Experiment(exploding_spec())
    exp.run()
    back = gradlab.load_session(exp.save(tmp_path / "d.gradlab"))
    assert back.status == "diverged" and back.diverged["kind"] == "diverged"
    assert back.watch.state() == exp.watch.state()
    assert health.verdict(back.history).kind == "diverged"
    stopped = back.step_count
    back.run(steps=3)
    assert back.step_count == stopped + 3


def test_gradlab_run_exits_3_with_the_session_saved(tmp_path):
    """The issue's command: it used to train 2000 steps at loss 4e8 and exit 0."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = tmp_path / "d.gradlab"
    r = subprocess.run(
        [sys.executable, "-m", "gradlab", "run", "--preset", "spiral", "--set",
         "training.lr=1e8", "--set", "training.optimizer=sgd", "--steps", "2000",
         "--out", str(out), "--quiet"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "diverged" in r.stderr and "Saved" in r.stderr
    back = gradlab.load_session(out)
    assert back.status == "diverged" and back.step_count < 20
