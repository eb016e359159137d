"""Training in a separate process (gradlab.experiment.remote, issue 17): the window's experiment
mirrors the child's run call for call, so a run trained there, paused and resumed, is bit for bit
the run trained in the thread; a child that dies loses only its stretch of training; the pipe
carries data, never code."""

from __future__ import annotations

import copy
import dataclasses
import os
import signal
import sys

import numpy as np
import pytest

from gradlab.experiment import Experiment, presets
from gradlab.experiment.probes import ProbeRecord
from gradlab.experiment.remote import (
    RemoteError,
    RemoteRun,
    TrainingProcess,
    Unavailable,
    decode,
    encode,
    live_processes,
)


@pytest.fixture(scope="module")
def proc():
    p = TrainingProcess()
    yield p
    p.close()
    assert p.proc is None and not live_processes()


def spiral(steps: int = 600, **training) -> dict:
    spec = presets.load("spiral")
    spec["probes"]["every"] = 5  # ("auto" follows the clock: not reproducible)
    spec["training"]["steps"] = steps
    spec["training"].update(training)
    return spec


def state_of(exp: Experiment) -> dict[str, np.ndarray]:
    from gradlab.experiment import checkpoint

    manifest, arrays = checkpoint.state(exp)
    for k in ("t_step", "t_probe", "t_jacobian"):  # (timings: the clock's, not the run's)
        manifest["trainer"].pop(k)
    arrays["manifest"] = np.frombuffer(repr(manifest).encode(), np.uint8)
    return arrays


def assert_same_run(a: Experiment, b: Experiment) -> None:
    sa, sb = state_of(a), state_of(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert np.array_equal(sa[k], sb[k], equal_nan=True), k
    assert a.history.events_copy() == b.history.events_copy()
    if a.weights is not None:
        assert a.weights.steps() == b.weights.steps()
        for s in a.weights.steps():
            wa, wb = a.weights.at(s)[1], b.weights.at(s)[1]
            assert all(np.array_equal(wa[k], wb[k]) for k in wa)


# ----------------------------------------------------------------------------- the codec
def test_messages_carry_numbers_text_and_probe_records_and_nothing_else():
    rec = ProbeRecord(3, 0.5, 1.25, 0.1, {"mean": np.arange(3.0)},
                      {"a": np.ones((3, 4), np.int32)}, {"a": np.zeros((3, 2), np.float32)},
                      extra={"t": np.float64(2.5)})  # fmt: skip
    msg = {"log": [["h", "append_probe", [rec, 7], {}]], "big": 2**100, "nan": float("nan"),
           "flags": np.array([True, False]), "text": "é\x00x", "none": None}  # fmt: skip
    got = decode(encode(msg))
    r = got["log"][0][2][0]
    assert isinstance(r, ProbeRecord) and r.step == 3 and r.extra == {"t": 2.5}
    assert np.array_equal(r.hists["a"], rec.hists["a"]) and r.hists["a"].dtype == np.int32
    assert r.ranges["a"].dtype == np.float32 and r.stats["mean"].flags.writeable
    assert got["big"] == 2**100 and np.isnan(got["nan"]) and got["text"] == "é\x00x"
    assert got["flags"].dtype == np.bool_ and got["none"] is None

    with pytest.raises(TypeError):
        encode({"x": np.array([object()], dtype=object)})
    with pytest.raises(TypeError):
        encode({"x": {1, 2}})  # (only plain data)
    tampered = encode({"x": np.zeros(4, np.float64)}).replace(b'"<f8"', b'"|O8"')
    with pytest.raises((ValueError, TypeError)):
        decode(tampered)
    short = encode({"x": np.zeros(4, np.float64)})[:-8]
    with pytest.raises(ValueError):
        decode(short)


# ----------------------------------------------------------------------------- the run
def test_a_run_trained_in_the_process_and_paused_twice_is_the_run_trained_in_the_thread(proc):
    a = Experiment(spiral())
    a.run()
    b = Experiment(spiral())
    reports = 0
    sent = []
    send = proc.send
    proc.send = lambda header: (sent.append(header["cmd"]), send(header))
    for segment in range(3):  # paused after a few reports, twice, as a user pressing Space
        run = RemoteRun(b, proc, report_every=0.005)
        assert run.wait_ready() and b.status == "running"
        for report in run:
            reports += 1
            assert b.step_count == report.step  # the mirror keeps up with what it reports
            if segment < 2 and reports % 4 == 0:
                run.close()
                assert b.status == "paused" and 0 < b.step_count < 600
                break
    proc.send = send
    assert b.status == a.status == "done" and b.step_count == 600
    assert_same_run(a, b)
    # the data was prepared once: the later stretches went straight to the process
    assert sent.count("prepare") <= 1 and sent.count("start") == 3
    assert proc.alive  # one process serves every stretch


def test_a_divergence_in_the_process_is_the_threads(proc):
    a = Experiment(spiral(lr=80.0))
    a.run()
    assert a.status == "diverged"
    b = Experiment(spiral(lr=80.0))
    run = RemoteRun(b, proc)
    assert run.wait_ready()
    reports = list(run)
    last = reports[-1]
    assert last.status == "diverged" and last.message == a.diverged["message"]
    assert b.status == "diverged" and b.diverged == a.diverged
    assert_same_run(a, b)


def test_a_killed_process_loses_only_its_stretch_and_the_run_goes_on():
    proc = TrainingProcess()
    try:
        b = Experiment(spiral())
        for _ in b.train(100, report_every=1e9):
            pass
        run = RemoteRun(b, proc, report_every=0.005)
        assert run.wait_ready()
        next(run)
        assert b.step_count > 100
        os.kill(proc.proc.pid, signal.SIGKILL)
        with pytest.raises(RemoteError, match=r"ended unexpectedly.*back at step 100"):
            for _ in run:
                pass
        assert b.step_count == 100 and b.history.steps()["step"][-1] == 100
        assert b.weights.steps()[-1] <= 100
        b.run()  # the thread trains on from there: nothing of the lost stretch is left
        a = Experiment(spiral())
        for _ in a.train(100, report_every=1e9):
            pass
        a.run()
        assert_same_run(a, b)
    finally:
        proc.close()


def test_a_process_that_cannot_start_or_refuses_the_data_is_unavailable():
    dead = TrainingProcess([sys.executable, "-c", "pass"])
    with pytest.raises(Unavailable, match="did not start"):
        dead.ensure_started()
    with pytest.raises(Unavailable):  # (and it does not try again at every Run)
        dead.ensure_started()

    proc = TrainingProcess()
    try:
        b = Experiment(spiral())
        x = b.data.x_train.copy()
        x[0, 0] += 1.0  # not the data its spec builds: the child would differ
        b._dataset = dataclasses.replace(b.data, x_train=x)
        run = RemoteRun(b, proc)
        assert not run.wait_ready() and "data differs" in run.why_here
        reports = [next(run) for _ in range(3)]  # it trains here instead
        assert run.where == "here" and reports[-1].step == b.step_count > 0
        run.close()
        assert b.status == "paused"
    finally:
        proc.close()


def test_a_spec_with_a_lr_change_and_a_schedule_resumes_exactly(proc):
    spec = spiral(400, schedule={"name": "step", "step_size": 150, "gamma": 0.5})
    a = Experiment(copy.deepcopy(spec))
    for _ in a.train(200, report_every=1e9):
        pass
    a.set_lr(0.3)
    a.run()
    b = Experiment(copy.deepcopy(spec))
    run = RemoteRun(b, proc, steps=200)
    assert run.wait_ready()
    for _ in run:
        pass
    assert b.step_count == 200 and b.status == "paused"
    b.set_lr(0.3)
    run = RemoteRun(b, proc)
    assert run.wait_ready()
    for _ in run:
        pass
    assert_same_run(a, b)


def test_training_starts_at_once_and_moves_to_the_process_when_it_is_ready():
    """The first Run at Max speed does not wait for the child to start and build its data: the
    run trains in the thread meanwhile, then goes on in the process from where it got to."""
    proc = TrainingProcess()
    try:
        a = Experiment(spiral(3000))
        a.run()
        b = Experiment(spiral(3000))
        run = RemoteRun(b, proc, report_every=0.002)
        first = next(run)  # (the child is still starting: this step was trained here)
        assert run.where == "here" and first.step > 0
        for _ in run:
            if run.where == "process":
                break
        assert run.where == "process" and 0 < run.start_step < 3000
        for _ in run:
            pass
        assert_same_run(a, b)
    finally:
        proc.close()
