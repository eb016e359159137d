"""A whole session in the real window, driven through its widgets: build a network in the table,
run with Space, pause, scrub, save, reopen, pin and compare, export; a bad cell blocks Run; the
window rendered mid-training holds data for every layer in every view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gradlab.app import export
from gradlab.app.panels.network import UNITS
from gradlab.app.views import (
    DashboardView,
    DistributionsView,
    HeatmapsView,
    OverTimeView,
    ProfileView,
    TrainingView,
)
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401
from tests.test_app_panels import type_in_cell

pytestmark = pytest.mark.qt


def fractions(counts: np.ndarray) -> np.ndarray:
    c = counts.astype(np.float64)
    return c / c.sum()


def view_of(win, cls):
    return next(v for v in win.views if type(v) is cls)


def settle(qtbot, win) -> None:
    """Wait until the worker has handled every command posted so far (FIFO queue: a probe_now
    posted last is answered by a snapshot only after all the others)."""
    before = win.snapshot
    win.worker.post("probe_now")
    qtbot.waitUntil(lambda: win.snapshot is not before, timeout=20000)


def test_build_run_pause_scrub_save_reopen_compare_export(qtbot, settings, tmp_path,  # noqa: F811
                                                          monkeypatch):
    win = make_window(qtbot, settings)
    try:
        net = win.panels[0]
        # build 2 x 12 tanh with the quick builder, as typed by the user
        net.quick.clear()
        qtbot.keyClicks(net.quick, "2 x 12 tanh glorot_uniform")
        qtbot.mouseClick(net.quick_button, Qt.MouseButton.LeftButton)
        # not trained yet: the window rebuilds the experiment at once with the new network
        qtbot.waitUntil(lambda: win.run.layer_names == ["dense1", "dense2", "dense3"]
                        and win.run.spec["network"]["layers"][0]["units"] == 12, timeout=20000)
        assert win.run.history.n_probes == 1

        # Space runs (the focus is on the views, not on a text field)
        win.tabs.setFocus()
        qtbot.keyClick(win.tabs, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step >= 300,
                        timeout=20000)
        qtbot.keyClick(win.tabs, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=2000)
        h = win.run.history
        assert h.n_probes >= 3

        # scrub back to the second probe: the views show that probe, not the newest
        dist = view_of(win, DistributionsView)
        win.tabs.setCurrentWidget(dist)
        win.timeline.slider.setValue(1)
        assert win.timeline.selected_step == int(h.probe_column("step")[1])
        win._tick(force=True)
        p1 = h.probe(1)
        for i, curve in enumerate(dist.curves):
            np.testing.assert_allclose(curve.yData, fractions(p1["hists"]["act"][i]))
        assert f"step {p1['step']:,}" in dist.header.text

        # save (Ctrl+S asks for a name the first time)
        path = tmp_path / "session.gradlab"
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *a, **k: (str(path), "GradLab sessions (*.gradlab)"))
        win.act_save.trigger()
        qtbot.waitUntil(lambda: path.exists() and not win.dirty, timeout=20000)
        assert not win.isWindowModified()
        steps, probes = win.snapshot.step, h.n_probes

        # reopen it: the same history comes back, ready to resume
        old_run = win.run.run_id
        win.open_file(str(path), confirm=False)
        qtbot.waitUntil(lambda: win.run.run_id != old_run, timeout=20000)
        assert win.path == path
        assert win.run.experiment.step_count == steps
        assert win.run.history.n_probes == probes
        assert "session.gradlab" in win.windowTitle()

        # pin it and compare
        win.act_pin.trigger()
        assert len(win.pinned) == 1 and win.compare.runs == win.pinned

        # export the current view as a figure
        out = export.export_window_figure(win, tmp_path / "fig.png", width=800, height=500,
                                          dpi=None)
        img = QImage(str(out))
        assert (img.width(), img.height()) == (800, 500)
    finally:
        stop_window(win)


def test_a_bad_cell_shows_an_inline_error_and_does_not_start_a_run(qtbot, settings,  # noqa: F811
                                                                   monkeypatch):
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    win = make_window(qtbot, settings)
    try:
        net = win.panels[0]
        net.show()
        with qtbot.waitSignal(net.errorsChanged):
            type_in_cell(qtbot, net, 1, UNITS, "0")
        assert net.errors() == ["network.layers[1].units: must be >= 1, got 0"]
        assert not win.act_run.isEnabled()
        win.tabs.setFocus()
        qtbot.keyClick(win.tabs, Qt.Key.Key_Space)  # the disabled Run does nothing
        win.toggle_run()  # and asking directly explains why
        assert warnings and "units" in warnings[-1]
        settle(qtbot, win)
        assert win.run.experiment.step_count == 0
        assert win.snapshot.status != "running"
    finally:
        stop_window(win)


def test_window_rendered_mid_training_holds_data_for_every_layer(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.worker.post("run")
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.status == "running"
                        and win.run.history.n_probes >= 4, timeout=20000)
        L = win.run.n_layers
        dash = view_of(win, DashboardView)
        win.tabs.setCurrentWidget(dash)
        win._tick(force=True)
        qtbot.waitUntil(lambda: not dash._pending, timeout=5000)  # every part had its turn
        image = win.grab().toImage()  # rendered offscreen while the worker trains
        assert image.width() > 0 and not image.isNull()
        kinds = (DistributionsView, ProfileView, TrainingView)
        parts = {k: next(p for p in dash.parts if isinstance(p, k)) for k in kinds}
        assert all(len(c.yData) == win.run.history.bins
                   for c in parts[DistributionsView].curves)
        assert len(parts[DistributionsView].curves) == L
        prof = parts[ProfileView]
        assert len(prof.c_act_std.yData) == L and np.isfinite(prof.c_act_std.yData).all()
        assert len(prof.c_speed.yData) == L
        assert len(parts[TrainingView].c_step_loss.yData) > 0
        assert win.run.boundary is not None  # the spiral is 2-D: the boundary is drawn live
        # the other tabs, visited mid-run, hold one curve/image per layer with data
        for cls in (OverTimeView, HeatmapsView):
            win.tabs.setCurrentWidget(view_of(win, cls))
            win._tick(force=True)
        ot = view_of(win, OverTimeView)
        n = win.run.history.n_probes
        means = [items[0] for p in ot.panels for items in p.items.values()]  # (hidden layers)
        assert len(means) == L - 1 and all(len(c.yData) >= 4 for c in means)
        hm = view_of(win, HeatmapsView)
        assert len(hm.images) == L
        assert all(img.image is not None and img.image.shape[0] == win.run.history.bins
                   for img in hm.images)
        assert n >= 4
        assert win.snapshot.status == "running"  # drawing never stopped training
    finally:
        stop_window(win)
