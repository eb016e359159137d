"""A run just built (before Run) shows its starting point: the learning-rate plot (the Training
tab's and the Dashboard's) has the starting learning rate at step 0, and markers at step 0 are
drawn whole."""

from __future__ import annotations

import math

import pytest

from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401


@pytest.mark.parametrize("tab", ["dashboard", "training"])
def test_the_lr_plot_shows_the_starting_lr_before_run(qtbot, settings, tab):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        view = next(v for v in win.views if v.key == tab)
        win.tabs.setCurrentWidget(view)
        qtbot.waitUntil(lambda: view.built, timeout=20000)
        win._tick(force=True)
        training = view.parts[2] if tab == "dashboard" else view
        assert win.run.history.n_steps == 0  # nothing run yet
        lr = win.run.spec["training"]["lr"]

        def at_step_0():  # (xData/yData: the data as given, before the log axis' log10)
            return [
                float(item.yData[0])
                for item in training.p_lr.listDataItems()
                if item.xData is not None and len(item.xData) and item.xData[0] == 0.0
            ]

        qtbot.waitUntil(lambda: at_step_0() == [lr], timeout=5000)
        (x0, x1), (y0, y1) = training.p_lr.viewRange()
        assert x0 <= 0.0 <= x1 and y0 < math.log10(lr) < y1  # in view, not off the plot
    finally:
        stop_window(win)
