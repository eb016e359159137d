"""Hands-On ML chapter 11 in the window: the lock column freezes a layer, the Training panel sets
early stopping and MC dropout, the Training view marks where a run stopped early, its best
evaluation, and MC dropout's accuracy beside the plain one."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.panels import NetworkPanel, TrainingPanel
from gradlab.app.panels.layer_table import INIT, TRAIN
from gradlab.app.preview import preview_service
from gradlab.app.views.training import TrainingView
from gradlab.experiment import Experiment, presets, resolve_spec
from gradlab.experiment.spec import catalog
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


@pytest.fixture(autouse=True)
def _light_and_no_preview_left(qapp):
    theme.apply("light")
    yield
    assert preview_service().wait(20000)


def make(qtbot, cls, spec):
    panel = cls()
    qtbot.addWidget(panel)
    panel.resize(420, 900)
    panel.show()
    panel.set_spec(spec)
    emitted: list[dict] = []
    panel.specEdited.connect(lambda s: emitted.append(copy.deepcopy(s)))
    return panel, emitted


def test_the_lock_column_freezes_and_unfreezes_a_layer(qtbot):
    net, emitted = make(qtbot, NetworkPanel, presets.load("spiral"))
    model = net.model
    tip = model.headerData(TRAIN, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tip == catalog.DENSE["trainable"].help  # the declared Param's help
    assert model.headerData(TRAIN, Qt.Orientation.Horizontal,
                            Qt.ItemDataRole.DecorationRole) is not None  # a padlock
    idx = model.index(1, TRAIN)
    assert idx.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert idx.data(Qt.ItemDataRole.DecorationRole) is None
    qtbot.mouseClick(net.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=net.view.visualRect(idx).center())
    assert emitted and emitted[-1]["network"]["layers"][1]["trainable"] is False
    idx = model.index(1, TRAIN)
    assert idx.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert idx.data(Qt.ItemDataRole.DecorationRole) is not None  # the lock shows
    assert "Frozen" in idx.data(Qt.ItemDataRole.ToolTipRole)
    resolved = resolve_spec(emitted[-1])
    assert resolved["network"]["layers"][1]["trainable"] is False
    net.undo_stack.undo()
    assert emitted[-1]["network"]["layers"][1].get("trainable", True) is True
    # the output layer can be frozen too
    out = model.rowCount() - 1
    assert model.setData(model.index(out, TRAIN), Qt.CheckState.Checked.value,
                         Qt.ItemDataRole.CheckStateRole)
    assert emitted[-1]["network"]["layers"][-1]["trainable"] is False


def test_a_reused_layer_says_where_it_comes_from(qtbot):
    spec = presets.load("handson-transfer")
    net, _ = make(qtbot, NetworkPanel, spec)
    # the network-level reuse is written into the layers the table shows as in effect
    shown = net.model.index(0, INIT).data()
    assert shown == "from preset:handson-transfer-base [1]"
    assert "Reused: starts from layer 1" in net.model.index(0, INIT).data(
        Qt.ItemDataRole.ToolTipRole)
    assert net.model.index(0, TRAIN).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert net.model.index(3, TRAIN).data(Qt.ItemDataRole.CheckStateRole) == (
        Qt.CheckState.Unchecked)  # the new output layer trains


def test_early_stopping_and_mc_dropout_from_the_training_panel(qtbot):
    tr, emitted = make(qtbot, TrainingPanel, presets.load("spiral"))
    es = tr.es_params
    assert not tr.early_stopping.value()
    assert not any(es.layout.isRowVisible(f) for f in es.fields.values())
    tr.early_stopping.set_value(True)
    tr.early_stopping.committed.emit()
    assert emitted[-1]["training"]["early_stopping"] is True
    assert all(es.layout.isRowVisible(f) for f in es.fields.values())
    es.fields["patience"].set_value(4)
    es.fields["patience"].committed.emit()
    assert emitted[-1]["training"]["early_stopping"] == {"patience": 4}
    assert resolve_spec(emitted[-1])["training"]["early_stopping"]["patience"] == 4
    tr.mc_dropout.set_value(20)
    tr.mc_dropout.committed.emit()
    assert emitted[-1]["training"]["mc_dropout"] == 20
    # the spiral net has no dropout: the field says why MC dropout cannot work
    assert "no dropout" in tr.mc_dropout.error()
    tr.set_spec(emitted[-1])
    assert tr.early_stopping.value() is True and es.fields["patience"].value() == 4


def _view(qtbot, exp):
    view = TrainingView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.set_model(RunModel.from_experiment(exp, run_id=1))
    view.refresh(None)
    return view


def test_the_training_view_marks_the_stop_and_the_best_step(qtbot):
    exp = Experiment({
        "name": "es", "seed": 0, "data": {"name": "moons", "n": 400},
        "network": {"layers": [{"units": 32, "activation": "relu"}] * 2},
        "training": {"steps": 3000, "lr": 0.05, "eval_every": 20,
                     "early_stopping": {"patience": 2}},
    })
    exp.run()
    assert exp.status == "stopped early"
    view = _view(qtbot, exp)
    assert view.stop_line.isVisible() and view.stop_line.value() == exp.step_count
    best = exp.early_stopping.best_step
    assert view.stop_line.label.format == f"stopped early · best step {best:,}"
    x, y = view.c_best_loss.getData()  # (a logarithmic axis: log10 of the loss)
    assert list(x) == [best] and 10 ** y[0] == pytest.approx(exp.early_stopping.best)
    # the x axis ends where the run stopped, not at its budget
    assert view.p_loss.viewRange()[0][1] < 3 * exp.step_count < 3000


def test_the_training_view_shows_mc_dropout_beside_the_plain_accuracy(qtbot):
    exp = Experiment({
        "name": "mc", "seed": 0, "data": {"name": "moons", "n": 400},
        "network": {"layers": [{"units": 32, "activation": "relu", "dropout": 0.3}] * 2},
        "training": {"steps": 100, "eval_every": 20, "mc_dropout": 10},
    })
    exp.run()
    view = _view(qtbot, exp)
    x, y = view.c_val_acc_mc.getData()
    ev = exp.history.evals()
    assert np.array_equal(x, ev["step"]) and np.allclose(y, ev["val_acc_mc"])
    # the accuracy plot's title keys the MC curve (its widest wording names it)
    assert "MC dropout" in view.p_acc.titleLabel._variants[0]
    plain = _view(qtbot, Experiment(presets.load("spiral")))
    assert "MC" not in " ".join(plain.p_acc.titleLabel._variants)


def test_the_window_says_a_run_stopped_early(qtbot, settings):  # noqa: F811
    """Run with early stopping in the window: the run ends 'stopped early', the status bar says
    where its best step was, and Run trains on (patience counted again)."""
    win = make_window(qtbot, settings)
    try:
        spec = win.doc_spec
        spec["data"] = {"name": "moons", "n": 400}
        spec["training"].update({"steps": 5000, "lr": 0.05, "eval_every": 20,
                                 "early_stopping": {"patience": 2}})
        win._on_spec_edited(spec)
        qtbot.waitUntil(lambda: win.run.spec["training"]["early_stopping"] is not False,
                        timeout=10000)
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None
                        and win.snapshot.status == "stopped early", timeout=20000)
        exp = win.run.experiment
        assert exp.step_count < 5000
        best = exp.early_stopping.best_step
        qtbot.waitUntil(lambda: "best was val_loss" in win.statusBar().currentMessage()
                        or win.snapshot.message.startswith("Stopped early"), timeout=5000)
        assert f"step {best:,}" in win.snapshot.message
        stopped = exp.step_count
        win.act_run.trigger()  # Run again: training goes on, patience counted from zero
        qtbot.waitUntil(lambda: win.snapshot.step > stopped
                        and win.snapshot.status != "running", timeout=20000)
        assert "stopped_early_over" in [e["kind"] for e in exp.history.events_copy()]
    finally:
        stop_window(win)
