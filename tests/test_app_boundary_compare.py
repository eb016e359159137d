"""The Decision boundary and Compare views, driven as a user sees them (offscreen)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

from gradlab import data
from gradlab.app.model import RunModel
from gradlab.app.views.boundary import CLASS_COLORS, BoundaryView, predicted_class_of_color
from gradlab.app.views.compare import EMPTY_TEXT, CompareView, spec_diff
from gradlab.app.worker import boundary_probabilities
from gradlab.experiment import Experiment

pytestmark = pytest.mark.qt


# ---------------------------------------------------------------------- helpers
def trained(dataset: str, steps: int = 400) -> Experiment:
    exp = Experiment(
        {
            "name": dataset,
            "seed": 0,
            "data": {"name": dataset},
            "network": {"layers": [{"units": 16, "activation": "tanh"}]},
            "training": {"steps": steps, "lr": 0.02},
        }
    )
    exp.run()
    return exp


def with_boundary(exp: Experiment, run_id: int = 1) -> RunModel:
    """A RunModel with the grid the worker would compute."""
    model = RunModel.from_experiment(exp, run_id)
    _, _, pts = data.grid_for(exp.data, 90)
    model.boundary = boundary_probabilities(exp, pts.astype(exp.network.dtype), 90)
    return model


def shown(qtbot, view, w=820, h=680):
    qtbot.addWidget(view)
    view.resize(w, h)
    view.show()
    qtbot.waitExposed(view)
    return view


def screen_classes(view: BoundaryView, points: np.ndarray) -> np.ndarray:
    """The class colour the user sees on screen under each data point (points hidden)."""
    img = view.canvas.grab().toImage()
    vb = view.plot.vb
    rgb = []
    for x, y in points:
        pos = view.canvas.mapFromScene(vb.mapViewToScene(QPointF(float(x), float(y))))
        c = img.pixelColor(pos)
        rgb.append((c.red(), c.green(), c.blue()))
    return predicted_class_of_color(np.array(rgb), view.n_classes)


# ---------------------------------------------------------------------- decision boundary
@pytest.mark.parametrize("dataset", ["xor", "moons"])  # moons is not symmetric in x <-> y
def test_boundary_image_predicts_the_training_points(qtbot, dataset):
    exp = trained(dataset)
    model = with_boundary(exp)
    view = shown(qtbot, BoundaryView())
    view.set_model(model)
    view.refresh(None)
    qtbot.waitUntil(lambda: view.plot.vb.width() > 300)

    # the axes are in data units over the grid's extent
    (x0, x1), (y0, y1) = view.plot.vb.viewRange()
    xmin, xmax, ymin, ymax = model.extent
    assert x0 <= xmin + 1e-6 and x1 >= xmax - 1e-6 and y0 <= ymin + 1e-6 and y1 >= ymax - 1e-6

    # the region colour on screen under each training point is the network's prediction there
    points = model.points
    predicted = exp.network.predict(points).argmax(axis=1)
    view.scatter.hide()
    seen = screen_classes(view, points)
    agreement = float(np.mean(seen == predicted))
    assert agreement > 0.95, f"{dataset}: only {agreement:.1%} of the pixels match"
    # ... and the network is good, so the picture separates the classes
    assert np.mean(seen == model.labels) > 0.9

    # the points are on top, coloured by their label, with an edge
    view.scatter.show()
    brushes = view.scatter.data["brush"]
    for label, brush in list(zip(model.labels, brushes))[:50]:
        assert brush.color().name() == QColor(CLASS_COLORS[int(label)]).name()
    assert view.scatter.zValue() > view.image.zValue()

    # the title reports the training accuracy
    acc = exp.history.evals()["train_acc"][-1]
    assert f"training accuracy {100 * acc:.1f}%" in view.plot.titleLabel.text


def test_boundary_follows_the_newest_grid_and_the_timeline(qtbot):
    exp = trained("xor", steps=60)
    model = with_boundary(exp)
    view = shown(qtbot, BoundaryView())
    view.set_model(model)
    view.refresh(None)
    assert not view.note.isVisible()

    # a new grid arrives (the worker's next snapshot): all class 1 -> the image turns orange
    grid = np.zeros_like(model.boundary)
    grid[..., 1] = 1.0
    model.boundary = grid
    view.refresh(None)
    classes = predicted_class_of_color(view.image.image.reshape(-1, 4), 2)
    assert (classes == 1).all()

    # scrubbing to an old probe shows the network of that probe (kept while training)
    view.refresh(0)
    assert not view.note.isVisible()
    assert "network at step 0" in view.plot.titleLabel.text
    assert model.boundary_at(0)[0] == 0
    view.refresh(None)
    classes = predicted_class_of_color(view.image.image.reshape(-1, 4), 2)
    assert (classes == 1).all()  # back to the newest grid
    # a run whose earlier networks were not kept (a reopened session) says so
    exp.weights = None
    view.refresh(0)
    assert view.note.isVisible() and "step 0 was not kept" in view.note.text()
    assert "newest step" in view.plot.titleLabel.text
    view.refresh(None)
    assert not view.note.isVisible()


def test_boundary_explains_why_it_is_empty_for_non_2d_inputs(qtbot):
    exp = Experiment(
        {
            "data": {"name": "gaussian", "n": 200, "dim": 20, "classes": 3},
            "network": {"layers": [{"units": 8}]},
            "training": {"steps": 2},
        }
    )
    model = RunModel.from_experiment(exp, 1)
    view = shown(qtbot, BoundaryView())
    view.set_model(model)
    view.refresh(None)
    assert view.empty.isVisible()
    assert not view.canvas.isVisible()
    assert view.empty.text() == (
        "The decision boundary needs 2-D inputs; this run's inputs have 20 dimensions."
    )
    assert view.figure_widget() is view.empty

    # a 2-D run afterwards brings the plot back
    view.set_model(with_boundary(trained("xor", steps=20)))
    assert view.canvas.isVisible() and not view.empty.isVisible()


def test_boundary_with_three_classes_blends_class_colours(qtbot):
    exp = Experiment(
        {
            "seed": 0,
            "data": {"name": "gaussians"},
            "network": {"layers": [{"units": 16, "activation": "tanh"}]},
            "training": {"steps": 300, "lr": 0.02},
        }
    )
    exp.run()
    model = with_boundary(exp)
    assert model.boundary.shape[-1] == 3
    view = shown(qtbot, BoundaryView())
    view.set_model(model)
    view.refresh(None)
    qtbot.waitUntil(lambda: view.plot.vb.width() > 300)
    view.scatter.hide()
    predicted = exp.network.predict(model.points).argmax(axis=1)
    assert np.mean(screen_classes(view, model.points) == predicted) > 0.95


# ---------------------------------------------------------------------- compare
def glorot_run(init: str, name: str, seed: int = 0, steps: int = 150) -> RunModel:
    exp = Experiment(
        {
            "name": name,
            "seed": seed,
            "data": {"name": "xor"},
            "network": {
                "layers": [
                    {"units": 12, "activation": "tanh", "init": init},
                    {"units": 12, "activation": "tanh", "init": init},
                    {"type": "output", "init": "glorot_uniform"},
                ]
            },
            "training": {"steps": steps, "lr": 0.01},
        }
    )
    exp.run()
    return RunModel.from_experiment(exp, -1)


@pytest.fixture(scope="module")
def glorot_runs():
    return (
        glorot_run("glorot_standard", "standard"),
        glorot_run("glorot_uniform", "normalised"),
        glorot_run("glorot_uniform", "other seed", seed=1),
    )


def test_compare_starts_with_an_explanation(qtbot):
    view = shown(qtbot, CompareView())
    assert view.empty.isVisible() and not view.body.isVisible()
    assert view.empty.text() == EMPTY_TEXT
    assert "Ctrl+P" in EMPTY_TEXT


def test_compare_overlays_two_pinned_runs(qtbot, glorot_runs):
    std, norm, _ = glorot_runs
    pinned = [std, norm]
    view = shown(qtbot, CompareView(), 1400, 900)
    view.set_runs(pinned)
    assert view.body.isVisible() and not view.empty.isVisible()

    # loss: one thin (every step) and one bold (validation) line per run, in the run's colour
    assert len(view.loss_items) == 2
    for run, (thin, bold) in zip(pinned, view.loss_items):
        s, e = run.history.steps(), run.history.evals()
        np.testing.assert_array_equal(thin.xData, s["step"])
        np.testing.assert_allclose(thin.yData, s["loss"])
        np.testing.assert_array_equal(bold.xData, e["step"])
        np.testing.assert_allclose(bold.yData, e["val_loss"])
        assert bold.opts["pen"].width() > thin.opts["pen"].width()
        assert bold.opts["pen"].color().name() == view.color(run).name()
    assert view.color(std) != view.color(norm)
    legend = [label.text for _, label in view.loss_legend.items]
    assert legend == ["standard", "normalised"]

    # speed of learning: one line per run, one point per layer (2 hidden + output)
    assert len(view.speed_items) == 2
    for run, item in zip(pinned, view.speed_items):
        np.testing.assert_array_equal(item.xData, [1, 2, 3])
        np.testing.assert_allclose(item.yData, run.history.probe(-1)["stats"]["bias_grad_norm"])

    # the final metrics table
    assert view.metrics.rowCount() == 2
    acc = norm.final_metrics()["val_acc"]
    assert view.metrics.item(1, 0).text() == "normalised"
    assert view.metrics.item(1, 3).text() == f"{100 * acc:.1f}%"

    # Glorot & Bengio's Table 1: rows activation, columns init, cells test error %
    t1 = view.table1
    rows = [t1.verticalHeaderItem(i).text() for i in range(t1.rowCount())]
    cols = [t1.horizontalHeaderItem(j).text() for j in range(t1.columnCount())]
    assert rows == ["tanh"] and cols == ["glorot_standard", "glorot_uniform"]
    for j, run in enumerate(pinned):
        cell = t1.item(0, j)
        err = 100 * (1 - run.final_metrics()["val_acc"])
        assert cell.text() == f"{err:.1f}"
        assert run.name in cell.toolTip()


def test_compare_ab_shows_what_differs_and_the_histograms(qtbot, glorot_runs):
    std, norm, other_seed = glorot_runs
    view = shown(qtbot, CompareView(), 1400, 900)
    view.set_runs([std, norm, other_seed])
    view.combo_a.setCurrentIndex(0)
    view.combo_b.setCurrentIndex(1)
    assert view.ab_runs() == (std, norm)

    # the diff names exactly the settings that changed
    assert [p for p, _, _ in spec_diff(std.spec, norm.spec)] == [
        "network.layers[0].init",
        "network.layers[1].init",
    ]
    text = view.diff_label.text()
    assert "network.layers[0–1].init</b>: glorot_standard → glorot_uniform" in text
    assert text.count("<b>") == 1  # nothing else is listed
    assert "Same seed" in view.seed_label.text()

    # the histograms of the chosen quantity at the chosen step: probe at or before it
    view.combo_q.setCurrentIndex(view.combo_q.findData("act"))
    view.step_box.setValue(0)
    for side, run in (("A", std), ("B", norm)):
        items = view.ab_items[side]
        assert len(items) == run.n_layers
        counts = run.history.probe(0)["hists"]["act"].astype(float)
        for l, item in enumerate(items):
            np.testing.assert_allclose(item.yData, counts[l] / counts[l].sum())
    assert "probe at step 0" in view.p_a.titleLabel.text

    step = int(norm.history.probe_column("step")[2]) + 1  # between two probes
    view.step_box.setValue(step)
    i = norm.history.probe_index_at(step)
    want = norm.history.probe(i)["hists"]["act"][0].astype(float)
    np.testing.assert_allclose(view.ab_items["B"][0].yData, want / want.sum())
    assert f"probe at step {int(norm.history.probe_column('step')[i]):,}" in (
        view.p_b.titleLabel.text
    )

    # different seeds: a warning
    view.combo_b.setCurrentIndex(2)
    assert "seeds differ" in view.seed_label.text()
    assert "<b>seed</b>: 0 → 1" in view.diff_label.text()


def test_unpin_and_clear_update_the_view_and_the_pinned_list(qtbot, glorot_runs, monkeypatch):
    std, norm, other = glorot_runs
    pinned = [std, norm, other]
    view = shown(qtbot, CompareView(), 1400, 900)
    view.set_runs(pinned)

    view.run_list.item(0).setSelected(True)
    view.pinnedChanged.connect(lambda runs: pinned.__setitem__(slice(None), runs))  # as the window
    with qtbot.waitSignal(view.pinnedChanged) as sig:
        view.btn_unpin.click()
    assert sig.args[0] == [norm, other]
    assert pinned == [norm, other]  # the window's list follows
    assert view.run_list.count() == 2
    assert len(view.loss_items) == 2
    assert [label.text for _, label in view.loss_legend.items] == ["normalised", "other seed"]
    cols = [view.table1.horizontalHeaderItem(j).text() for j in range(view.table1.columnCount())]
    assert cols == ["glorot_uniform"]  # the standard-init run is gone
    # two runs share the (tanh, glorot_uniform) cell: the latest pinned shows
    assert view.table1.item(0, 0).toolTip().startswith("other seed")

    # Clear asks first; Cancel keeps everything
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    view.btn_clear.click()
    assert len(view.runs) == 2
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    view.btn_clear.click()
    assert pinned == [] and view.runs == []
    assert view.empty.isVisible() and not view.body.isVisible()
    assert view.empty.text() == EMPTY_TEXT


def test_spec_diff_paths_and_values():
    a = {"name": "a", "seed": 0, "training": {"lr": 0.1}, "network": {"layers": [{"u": 1}]}}
    b = {"name": "b", "seed": 0, "training": {"lr": 0.01}, "network": {"layers": [{"u": 1}, {}]}}
    assert spec_diff(a, b) == [
        ("training.lr", 0.1, 0.01),
        ("network.layers[1]", None, {}),
    ]
    assert spec_diff(a, a) == []
    assert math.isnan(float("nan"))  # NaN == NaN for the diff
    assert spec_diff({"x": float("nan")}, {"x": float("nan")}) == []
