"""The window at Max speed trains in a separate process (issue 17): the run the window shows is
the run a headless experiment trains, a learning rate changed mid-run reaches it, and closing
the window ends the process."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from gradlab.experiment import Experiment
from gradlab.experiment.remote import live_processes
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401
from tests.test_remote import assert_same_run

pytestmark = pytest.mark.qt


def fixed(win, qtbot, steps: int) -> dict:
    """The window's spiral with reproducible probes and a step budget, at Max speed."""
    win.max_btn.setChecked(True)
    spec = win.doc_spec
    spec["probes"] = {"every": 5}
    spec["training"]["steps"] = steps
    win._on_spec_edited(spec)
    qtbot.waitUntil(lambda: win.run.spec["training"]["steps"] == steps
                    and win.run.experiment.probe_every == 5, timeout=15000)  # fmt: skip
    return copy.deepcopy(win.run.experiment.spec)


def test_a_run_at_max_speed_trains_in_a_process_and_is_the_headless_run(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        spec = fixed(win, qtbot, 4000)
        win.toggle_run()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.remote, timeout=30000)
        assert win.snapshot.status == "running"  # the status bar shows it as any run
        qtbot.waitUntil(lambda: win.snapshot.status == "done", timeout=60000)
        worker = win.worker.worker
        assert worker._process is not None and worker._process.alive  # it trained there
        pid = worker._process.proc.pid
        assert pid in live_processes()
        win._tick(force=True)
        assert win.snapshot.step == 4000 and not win.snapshot.remote
        headless = Experiment(spec)
        headless.run()
        assert_same_run(headless, win.run.experiment)
    finally:
        stop_window(win)
    assert pid not in live_processes()  # closing the window ended it


def test_a_learning_rate_changed_mid_run_reaches_the_process(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        fixed(win, qtbot, 200_000)
        exp = win.run.experiment
        win.toggle_run()
        qtbot.waitUntil(lambda: exp.step_count > 200, timeout=30000)
        win.worker.post("set_lr", 0.05)
        qtbot.waitUntil(lambda: bool(exp.lr_changes), timeout=20000)
        at = exp.lr_changes[-1]["step"]
        assert exp.lr_changes[-1]["to"] == 0.05
        qtbot.waitUntil(lambda: exp.step_count > at + 200, timeout=30000)  # it runs on
        assert win.snapshot.status == "running" and win.worker.worker._process.alive
        win.toggle_run()  # pause: the process's state is the window's
        qtbot.waitUntil(lambda: win.snapshot.status == "paused", timeout=20000)
        steps = win.run.history.steps()
        after = steps["lr"][steps["step"] > at + 1]
        assert len(after) and np.all(after == 0.05)  # every step since trained at the new rate
        assert exp.base_lr == 0.05
    finally:
        stop_window(win)


def test_without_the_process_training_stays_in_the_thread(qtbot, settings, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GRADLAB_TRAINING_PROCESS", "0")
    win = make_window(qtbot, settings)
    try:
        fixed(win, qtbot, 300)
        win.toggle_run()
        qtbot.waitUntil(lambda: win.snapshot.status == "done", timeout=60000)
        assert win.worker.worker._process is None and win.snapshot.step == 300
    finally:
        stop_window(win)
