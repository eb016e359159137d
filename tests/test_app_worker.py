"""The training worker, hardened: commands coalesce (a held N, repeated builds, Pause overtaking
what is queued), snapshots go through a one-slot mailbox, closing during a long build waits for
it, and no Qt thread or timer outlives a test."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from gradlab.app import worker as W
from gradlab.app.worker import MAX_COALESCED_STEPS, Snapshot, TrainingWorker, coalesce
from tests.conftest import qt_leftovers
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


def names(cmds):
    return [(n, *a) for n, a in cmds]


def test_a_held_n_key_queues_a_bounded_number_of_steps():
    cmds = [("step", (1,))] * 500
    assert names(coalesce(cmds)) == [("step", MAX_COALESCED_STEPS)]
    assert names(coalesce([("step", (1,)), ("speed", (10.0,)), ("step", (1,))])) == [
        ("step", 1),
        ("speed", 10.0),
        ("step", 1),
    ]


def test_pause_overtakes_the_steps_and_runs_queued_before_it():
    cmds = [("run", ()), ("step", (1,)), ("step", (1,)), ("pause", ()), ("step", (1,))]
    assert names(coalesce(cmds)) == [("pause",), ("step", 1)]


def test_repeated_builds_build_once_and_what_was_queued_for_the_old_run_is_dropped():
    a, b, c = {"name": "a"}, {"name": "b"}, {"name": "c"}
    cmds = [
        ("step", (1,)),
        ("build", (a,)),
        ("save", ("x.gradlab",)),
        ("set_lr", (0.1,)),
        ("build", (b,)),
        ("build", (c,)),
        ("run", ()),
    ]
    assert names(coalesce(cmds)) == [("save", "x.gradlab"), ("build", c), ("run",)]


def test_quit_ends_the_batch_but_a_save_before_it_still_happens():
    cmds = [("step", (1,)), ("save", ("x.gradlab",)), ("quit", ()), ("run", ())]
    assert names(coalesce(cmds)) == [("save", "x.gradlab"), ("quit",)]


def snap(step: int, message: str = "") -> Snapshot:
    return Snapshot(1, step, 0.0, 1.0, 0.01, 0.0, "running", 1, None, message)


def test_the_snapshot_mailbox_holds_the_newest_and_signals_once(qtbot):
    w = TrainingWorker()
    signals = []
    w.snapshotReady.connect(lambda: signals.append(1))
    w._post_snapshot(snap(1, "budget reached"))
    for step in range(2, 200):
        w._post_snapshot(snap(step))
    assert len(signals) == 1  # however many were posted, one signal waits
    got = w.take_snapshot()
    assert got.step == 199
    assert got.message == "budget reached"  # a message not yet read is not lost
    assert w.take_snapshot() is None
    w._post_snapshot(snap(200))
    assert len(signals) == 2


def test_closing_during_a_long_build_waits_for_it(qtbot, settings, monkeypatch):  # noqa: F811
    win = make_window(qtbot, settings)
    release = threading.Event()
    real = W.Experiment

    def slow_experiment(spec, **kw):
        release.wait(20)
        return real(spec, **kw)

    monkeypatch.setattr(W, "Experiment", slow_experiment)
    win.worker.post("build", win.doc.spec)
    qtbot.waitUntil(lambda: win.worker.busy == "building the experiment", timeout=5000)

    shown = []

    def keep_open():
        dlg = win.wait_dialog
        shown.append(dlg.labelText() if dlg else None)
        dlg.cancel()  # "Keep the window open"

    QTimer.singleShot(200, keep_open)
    assert not win.close()
    assert shown and "building the experiment" in shown[0]
    assert win.isVisible() and win.worker.thread.isRunning()

    def finish():
        shown.append(win.wait_dialog is not None)
        release.set()

    QTimer.singleShot(200, finish)
    assert win.close()  # waits for the build, then closes
    assert shown[-1] is True
    assert not win.worker.thread.isRunning()
    stop_window(win)


def test_the_leak_check_sees_a_running_timer_and_thread(qtbot):
    host = QWidget()
    qtbot.addWidget(host)
    timer = QTimer(host)
    timer.start(1000)
    thread = W.WorkerThread()
    thread.start()
    try:
        left = qt_leftovers()
        assert any("QTimer (1000 ms, of QWidget)" in x for x in left)
        assert any("gradlab-training" in x for x in left)
    finally:
        timer.stop()
        assert thread.stop()
    assert qt_leftovers() == []
