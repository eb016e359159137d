"""The window as a user drives it: it opens ready, Space runs and pauses, the worker stops."""

from __future__ import annotations

import time

import pytest

from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


def test_window_opens_with_the_default_experiment_ready(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        assert win.run.name == "spiral"
        assert win.run.history.n_probes == 1  # the step-0 probe is there before any step
        assert win.act_run.isEnabled()
        assert "spiral" in win.windowTitle()
    finally:
        stop_window(win)


def test_space_runs_and_pause_responds_within_200_ms(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step > 50, timeout=10000)
        assert win.act_run.text() == "Pause"
        t0 = time.perf_counter()
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=2000)
        assert time.perf_counter() - t0 < 0.2
        step = win.snapshot.step
        # paused means paused: the worker takes no further step
        qtbot.wait(100)
        assert win.run.experiment.step_count == step
    finally:
        stop_window(win)


def test_closing_mid_run_stops_the_worker_promptly(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    win.act_run.trigger()
    qtbot.waitUntil(
        lambda: win.snapshot is not None and win.snapshot.status == "running", timeout=10000
    )
    t0 = time.perf_counter()
    assert win.shutdown()
    assert time.perf_counter() - t0 < 0.2
    assert not win.worker.thread.isRunning()
