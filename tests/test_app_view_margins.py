"""Plots keep off the window's edges: Over time's last column has room on its right, and a
marker at step 0 on a step axis is drawn whole, not cut in half by the axis."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.overtime import OverTimeView
from gradlab.app.views.training import TrainingView
from gradlab.experiment import Experiment

DEEP = {
    "name": "deep gaussian",
    "seed": 1,
    "data": {"name": "gaussian", "n": 300, "dim": 8},
    "network": {"layers": [{"units": 16, "activation": "tanh"}] * 6},
}


@pytest.fixture(scope="module")
def deep_run():
    exp = Experiment(DEEP)
    exp.run(steps=60)
    return exp


def right_gap(view: OverTimeView) -> float:
    """Pixels between the rightmost plot's frame and the canvas' right edge."""
    canvas = view.canvas
    right = max(
        canvas.mapFromScene(QPointF(p.vb.sceneBoundingRect().right(), 0.0)).x()
        for p in view.plots
    )
    return canvas.viewport().width() - right


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)], ids=["1280x720", "1600x1000"])
@pytest.mark.parametrize("layout", ["multiples", "overlay"])
def test_over_time_leaves_room_right_of_its_plots(qtbot, deep_run, size, layout):
    view = OverTimeView()
    qtbot.addWidget(view)
    view.layout_box.setCurrentIndex(view.layout_box.findData(layout))
    view.resize(*size)
    view.show()
    view.set_model(RunModel.from_experiment(deep_run, 1))
    view.ensure_built()
    view.refresh(None)
    assert len(view.plots) == (6 if layout == "multiples" else 1)
    qtbot.waitUntil(lambda: right_gap(view) >= theme.px(10), timeout=5000)


def step0_room(plot) -> float:
    """Pixels between the plot's left edge and step 0 (a marker there needs half its size)."""
    vb = plot.vb
    return vb.mapViewToScene(QPointF(0.0, 0.0)).x() - vb.sceneBoundingRect().left()


def markers_at_step_0(plot) -> list[float]:
    """The symbol sizes of the plot's items that draw a marker at step 0."""
    return [
        float(item.opts["symbolSize"])
        for item in plot.listDataItems()
        if isinstance(item, pg.PlotDataItem)
        and item.opts.get("symbol") is not None
        and item.xData is not None
        and len(item.xData)
        and item.xData[0] == 0.0
    ]


def test_markers_at_step_0_are_whole_on_over_times_step_axes(qtbot, deep_run):
    view = OverTimeView()
    qtbot.addWidget(view)
    view.stat_box.setCurrentIndex(view.stat_box.findData("jac"))  # dots where measured
    view.resize(1280, 720)
    view.show()
    view.set_model(RunModel.from_experiment(deep_run, 1))
    view.ensure_built()
    view.refresh(None)
    sizes = markers_at_step_0(view.plots[0])
    assert sizes, "the step-0 probe's Jacobian dot is drawn"
    qtbot.waitUntil(lambda: step0_room(view.plots[0]) >= max(sizes) / 2, timeout=5000)


def test_markers_at_step_0_are_whole_in_a_fresh_runs_training_plots(qtbot):
    view = TrainingView()
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    exp = Experiment(DEEP)
    exp.ensure_initial_probe()  # as the window's worker does: the step-0 probe and evaluation
    assert exp.history.n_steps == 0  # built, not run
    view.set_model(RunModel.from_experiment(exp, 1))
    view.ensure_built()
    view.refresh(None)
    sizes = markers_at_step_0(view.p_loss)
    assert sizes, "the step-0 evaluation's loss dots are drawn"
    qtbot.waitUntil(lambda: step0_room(view.p_loss) >= max(sizes) / 2, timeout=5000)
