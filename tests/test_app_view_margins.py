"""Plots keep off the window's edges: Over time's last column has room on its right, and a
marker at step 0 on a step axis is drawn whole, not cut in half by the axis."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.overtime import OverTimeView
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
