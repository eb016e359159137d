"""The window as a user drives it: it opens ready, Space runs and pauses, the worker stops."""

from __future__ import annotations

import numpy as np
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


def test_space_runs_and_pause_stops_it(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step > 50, timeout=10000)
        assert win.act_run.text() == "Pause"
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=5000)
        qtbot.waitUntil(lambda: win.act_run.text() == "Run", timeout=5000)
        step = win.snapshot.step
        # paused means paused: the worker takes no further step
        qtbot.wait(100)
        assert win.run.experiment.step_count == step
    finally:
        stop_window(win)


def test_closing_mid_run_stops_the_worker(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    win.act_run.trigger()
    qtbot.waitUntil(
        lambda: win.snapshot is not None and win.snapshot.status == "running", timeout=10000
    )
    assert win.shutdown()  # the thread ended (within the 5 s stop() allows)
    assert not win.worker.thread.isRunning()


def test_closing_over_unsaved_work_asks_and_saves_first(qtbot, settings, tmp_path,  # noqa: F811
                                                         monkeypatch):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    win = make_window(qtbot, settings)
    win.act_step.trigger()
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 1, timeout=10000)
    assert win.dirty and win.isWindowModified()
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Save)
    path = tmp_path / "closing.gradlab"
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *a, **k: (str(path), "GradLab sessions (*.gradlab)"))
    assert win.close()  # saved, then closed: the save is waited for
    assert asked and "unsaved" in asked[0]
    assert path.exists()
    assert not win.worker.thread.isRunning()


def test_cancelling_the_close_keeps_the_window_and_the_run(qtbot, settings,  # noqa: F811
                                                           monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    win = make_window(qtbot, settings)
    try:
        win.act_step.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 1,
                        timeout=10000)
        monkeypatch.setattr(QMessageBox, "question",
                            lambda *a, **k: QMessageBox.StandardButton.Cancel)
        assert not win.close()
        assert win.isVisible() and win.worker.thread.isRunning()
    finally:
        stop_window(win)


def test_a_diverging_run_pauses_and_says_where_it_went_bad(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        spec = win.doc_spec
        spec["network"]["layers"] = [{"units": 16, "activation": "relu"}] * 3
        spec["training"]["optimizer"] = "sgd"
        spec["training"]["lr"] = 1e6
        win._on_spec_edited(spec)  # not trained yet: rebuilt at once
        qtbot.waitUntil(lambda: win.run.spec["training"]["lr"] == 1e6, timeout=10000)
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.status == "diverged",
                        timeout=10000)
        win._tick(force=True)
        assert win.banner.isVisible() and "diverged at step" in win.banner.text()
        assert "dense" in win.banner.text()  # names the layer
        assert "NaN" in win.health_btn.text()
        params = win.run.experiment.network.params.values()
        assert all(np.isfinite(p).all() for p in params)  # the last good state
    finally:
        stop_window(win)
