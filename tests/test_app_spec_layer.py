"""The window shows what the spec layer declares and never mislabels a run: every declared
default appears in the form built from it; the Network panel's architecture and parameter count
are the engine's; one learning rate (toolbar and Training panel, undoable) whose changes during
a run are told by its label, its pins, Compare, the saved session and ``gradlab info``; names
that follow the content (custom (from spiral), File > Rename) and a title with the file name."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from gradlab import cli
from gradlab import data as datasets
from gradlab.app.panels import DataPanel, NetworkPanel, TrainingPanel
from gradlab.app.panels.network import human_count
from gradlab.engine import Network
from gradlab.experiment import presets
from gradlab.experiment.spec import catalog
from gradlab.experiment.spec import fields as F
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


def panel(qtbot, cls, spec):
    p = cls()
    qtbot.addWidget(p)
    p.resize(380, 900)
    p.set_spec(spec)
    return p


def shown(field):
    """What a form field shows: its value, or for an optional number switched off, None."""
    return field.value()


# ====================================================================== defaults in the forms
def test_every_training_and_probe_default_shows_in_the_training_form(qtbot):
    tr = panel(qtbot, TrainingPanel, {})
    forms = (tr.run_params, tr.reg_params, tr.probe_params, tr.run_id_params)
    fields = {name: f for form in forms for name, f in form.fields.items()}
    declared = [*F.TRAINING, *F.PROBES, F.SEED, F.DTYPE]
    for p in declared:
        if p.name in fields:
            assert shown(fields[p.name]) == p.default, p.name
            assert fields[p.name].toolTip() == p.help, p.name
    assert tr.optimizer.currentData() == F.OPTIMIZER.default
    assert tr.schedule.currentData() == F.SCHEDULE.default
    assert tr.lr.value() == F.optimizer_lr(F.OPTIMIZER.default)
    assert tr.clip_kind.currentData() is None
    assert tr.clip_value.value() == F.CLIP_THRESHOLD.default
    assert tr.budget_mode() == "none"  # steps and epochs default to None: no budget
    placed = set(fields) | {"optimizer", "schedule", "lr", "clip", "steps", "epochs"}
    assert {p.name for p in declared} <= placed  # every declared field has a place on screen
    assert tr.errors() == []


@pytest.mark.parametrize("kind", ["optimizer", "schedule"])
def test_every_component_parameter_default_shows_in_its_form(qtbot, kind):
    tr = panel(qtbot, TrainingPanel, {})
    form = tr.opt_params if kind == "optimizer" else tr.sched_params
    for name in catalog.names(kind):
        tr.set_spec({"training": {kind: name}})
        own = [p for p in catalog.get(kind, name).params if p.name != "lr"]
        assert list(form.fields) == [p.name for p in own], name
        for p in own:
            assert form.fields[p.name].value() == p.default, (name, p.name)


def test_every_dataset_parameter_default_shows_in_the_data_form(qtbot):
    dp = panel(qtbot, DataPanel, presets.load("spiral"))
    for name in datasets.names():
        dp.set_spec({"data": {"name": name}})
        info = datasets.info(name)
        fields = {**dp.params.fields, **dp.shared.fields}
        assert set(fields) == {p.name for p in info.params}, name
        for p in info.params:
            assert fields[p.name].value() == p.default, (name, p.name)


def test_every_layer_setting_default_shows_in_the_layer_details(qtbot):
    net = panel(qtbot, NetworkPanel, presets.load("spiral"))
    for init in catalog.names("initializer"):
        net.set_spec({**presets.load("spiral"), "network": {"layers": [
            {"units": 4, "init": init, "activation": "maxout"},
            {"type": "batchnorm"},
        ]}})
        net.view.setCurrentIndex(net.model.index(0, 0))
        f = net.details_params.fields
        for p in catalog.get("initializer", init).params:
            if p.name != "gain":
                assert f[f"init.{p.name}"].value() == p.default, (init, p.name)
        pieces = catalog.get("activation", "maxout").params[0]
        assert f["pieces"].value() == pieces.default
        assert f["bias"].value() == catalog.DENSE["bias"].default
    net.view.setCurrentIndex(net.model.index(1, 0))
    for p in catalog.BATCHNORM:
        assert net.details_params.fields[p.name].value() == p.default


# ====================================================================== the summary is the engine's
_LAYER = st.one_of(
    st.fixed_dictionaries(
        {
            "units": st.integers(1, 24),
            "activation": st.sampled_from(catalog.names("activation")),
            "batchnorm": st.booleans(),
            "bias": st.booleans(),
        },
        optional={"pieces": st.integers(2, 4)},
    ),
    st.just({"type": "batchnorm"}),
    st.just({"type": "dropout", "rate": 0.3}),
)


@pytest.fixture(scope="module")
def spiral_panel(qapp):
    net = NetworkPanel()
    net.resize(380, 900)
    net.set_spec(presets.load("spiral"))
    yield net
    net.deleteLater()


@hsettings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(layers=st.lists(_LAYER, max_size=5))
def test_the_panel_shows_the_engines_architecture_and_parameter_count(qtbot, spiral_panel, layers):
    layers = [
        {k: v for k, v in e.items() if k != "pieces" or e.get("activation") == "maxout"}
        for e in layers
    ]
    net = spiral_panel
    spec = copy.deepcopy(presets.load("spiral"))
    spec["network"]["layers"] = layers
    net.set_spec(spec)
    qtbot.waitUntil(lambda: "parameter" in net.summary_text(), timeout=10000)  # the data's size
    engine = Network.from_spec(layers, input_dim=2, output_dim=2)
    arch, count = net.summary_text().split(", ", 1)
    assert arch == engine.describe().split(" ")[0]
    assert count.startswith(human_count(engine.n_params))
    assert net.summary.toolTip().startswith(f"{engine.n_params:,} learned parameters")


# ====================================================================== one learning rate
def commit(qtbot, box, text):
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key.Key_Return)


def train(qtbot, win, steps):
    target = (win.snapshot.step if win.snapshot else 0) + steps
    win.step_once(steps)  # (a rebuild an edit asked for goes first)
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == target, timeout=20000)


def test_one_learning_rate_from_the_toolbar_to_gradlab_info(qtbot, settings, tmp_path,  # noqa: F811
                                                            monkeypatch, capsys):
    win = make_window(qtbot, settings)
    try:
        training = next(p for p in win.panels if isinstance(p, TrainingPanel))
        # the toolbar box and the Training panel edit the same value
        commit(qtbot, win.lr_box, "0.03")
        assert win.doc.spec["training"]["lr"] == 0.03
        assert training.lr.value() == 0.03
        qtbot.waitUntil(lambda: win.run.spec["training"]["lr"] == 0.03, timeout=20000)
        win.act_undo.trigger()  # undoable
        assert win.doc.spec["training"]["lr"] == 0.01 and win.lr_box.value() == 0.01
        assert training.lr.value() == 0.01
        win.act_redo.trigger()
        assert win.lr_box.value() == 0.03
        assert win.doc.name == "custom (from spiral)"  # not the preset's lr any more

        train(qtbot, win, 20)
        assert "adam lr 0.03," not in win.run.describe()  # (no change yet: nothing after it)
        assert win.run.describe().endswith("adam lr 0.03")
        win.act_pin.trigger()

        # changed during the run, from the Training panel: the run goes on and records it
        commit(qtbot, training.lr, "0.1")
        assert win.lr_box.value() == 0.1
        qtbot.waitUntil(lambda: win.run.lr_changes == [{"step": 20, "from": 0.03, "to": 0.1}],
                        timeout=10000)
        assert not win.pending_changes and not win.banner.isVisible()
        train(qtbot, win, 10)
        assert (win.run.history.steps()["lr"][-10:] == 0.1).all()
        story = "adam lr 0.03 -> 0.1 at step 20"
        assert win.run.describe().endswith(story)
        win.act_pin.trigger()
        assert win.pinned[1].describe().endswith(story)
        assert win.pinned[0].describe().endswith("adam lr 0.03")
        win.compare._show_diff(win.pinned[0], win.pinned[1])
        assert "training.lr</b>: A 0.03, B 0.03 -> 0.1 at step 20" in win.compare.diff_label.text()
        assert "Same settings" not in win.compare.diff_label.text()

        path = tmp_path / "lr.gradlab"
        monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
        assert win._save_to(path, wait=True)
        assert cli.main(["info", str(path)]) == 0
        info = capsys.readouterr().out
        assert "training    adam lr 0.03 -> 0.1 at step 20," in info

        # Reset: a new run from the spec, whose learning rate is the one set last
        monkeypatch.setattr(QMessageBox, "question",
                            lambda *a, **k: QMessageBox.StandardButton.Reset)
        old = win.run.run_id
        win.act_reset.trigger()
        qtbot.waitUntil(lambda: win.run.run_id != old, timeout=20000)
        assert win.lr_box.value() == 0.1
        assert win.run.spec["training"]["lr"] == 0.1 and win.run.lr_changes == []
    finally:
        stop_window(win)


# ====================================================================== names follow content
def test_a_run_is_named_after_its_content_and_can_be_renamed(qtbot, settings, tmp_path,  # noqa: F811
                                                             monkeypatch, capsys):
    win = make_window(qtbot, settings)
    try:
        data = next(p for p in win.panels if isinstance(p, DataPanel))
        i = data.combo.findData("moons")
        data.combo.setCurrentIndex(i)
        data.combo.activated.emit(i)
        qtbot.waitUntil(lambda: win.run.spec["data"]["name"] == "moons", timeout=20000)
        assert win.run.name == "custom (from spiral)"
        assert "custom (from spiral)" in win.windowTitle() and win.isWindowModified()
        assert "moons data" in win.doc.spec["description"]
        assert "Two interleaved spirals" not in win.doc.spec["description"]

        monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("lecture demo", True))
        win.act_rename.trigger()
        assert win.doc.name == "lecture demo" and win.run.name == "lecture demo"
        assert "lecture demo" in win.windowTitle()
        path = tmp_path / "demo.gradlab"
        assert win._save_to(path, wait=True)
        assert win.windowTitle().startswith("demo.gradlab (lecture demo)")
        assert not win.isWindowModified()
        assert cli.main(["info", str(path)]) == 0
        out = capsys.readouterr().out
        assert "name        lecture demo: Custom experiment (from the spiral preset" in out
        win.act_undo.trigger()  # the rename is undoable
        assert win.doc.name == "custom (from spiral)"
    finally:
        stop_window(win)


def test_one_undo_history_for_the_table_the_panels_and_the_toolbar(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        net = next(p for p in win.panels if isinstance(p, NetworkPanel))
        training = next(p for p in win.panels if isinstance(p, TrainingPanel))
        before = win.doc.spec
        net.quick.clear()
        qtbot.keyClicks(net.quick, "2 x 12 relu he_normal")
        qtbot.keyClick(net.quick, Qt.Key.Key_Return)
        assert [e["units"] for e in win.doc.spec["network"]["layers"]] == [12, 12]
        commit(qtbot, training.batch_size.editor, "64")
        commit(qtbot, win.lr_box, "0.02")
        assert win.act_undo.text().endswith("Set the learning rate to 0.02")
        net.view.setFocus()
        qtbot.keyClick(net.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        assert win.doc.spec["training"]["lr"] == 0.01 and win.lr_box.value() == 0.01
        win.act_undo.trigger()
        assert win.doc.spec["training"]["batch_size"] == 32
        assert training.batch_size.value() == 32
        win.act_undo.trigger()  # the table's edit, undone from the window
        assert win.doc.spec["network"] == before["network"]
        assert net.model.rowCount() == 4
        assert win.doc.name == "spiral"  # back to the preset's settings: back to its name
        win.act_redo.trigger()
        assert [e["units"] for e in win.doc.spec["network"]["layers"]] == [12, 12]
    finally:
        stop_window(win)
