"""The spec panels as a user drives them: the layer table, the quick builder and undo, the data
form and its preview, the training form; inline errors; set_spec never echoes; every preset
round-trips."""

from __future__ import annotations

import copy
import gzip

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QMainWindow, QVBoxLayout, QWidget

from gradlab import data as datasets
from gradlab.app.panels import DataPanel, NetworkPanel, TrainingPanel
from gradlab.app.panels.data import preview_service
from gradlab.app.panels.network import ACT, BN, DROP, INIT, UNITS
from gradlab.engine import resolve_layers
from gradlab.experiment import presets, resolve_spec
from gradlab.params import resolve as resolve_params

pytestmark = pytest.mark.qt

CTRL = Qt.KeyboardModifier.ControlModifier
ROLE_TIP = Qt.ItemDataRole.ToolTipRole
ROLE_BG = Qt.ItemDataRole.BackgroundRole


# ====================================================================== helpers
class Recorder:
    """Collects every spec a panel emits."""

    def __init__(self, panel):
        self.specs: list[dict] = []
        panel.specEdited.connect(lambda s: self.specs.append(copy.deepcopy(s)))

    @property
    def last(self) -> dict:
        return self.specs[-1]

    def __len__(self) -> int:
        return len(self.specs)


def make(qtbot, cls, spec=None):
    panel = cls()
    qtbot.addWidget(panel)
    panel.resize(360, 900)
    with qtbot.waitActive(panel):  # shortcuts need the active window
        panel.show()
        panel.activateWindow()
    panel.set_spec(spec if spec is not None else presets.load("spiral"))
    return panel


@pytest.fixture(autouse=True)
def _previews_finish():
    """No preview thread outlives its test."""
    yield
    assert preview_service().wait(20000)


def cell_center(view, row, col):
    return view.visualRect(view.model().index(row, col)).center()


def click_cell(qtbot, panel, row, col=UNITS):
    view = panel.view
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=cell_center(view, row, col))
    view.setFocus()


def type_in_cell(qtbot, panel, row, col, text):
    """Double-click the cell, type the text, press Enter (as a user does)."""
    view = panel.view
    index = view.model().index(row, col)
    pos = cell_center(view, row, col)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    editor = view.indexWidget(index)
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.indexWidget(index) is None)  # the delegate commits queued


def pick_in_cell(qtbot, panel, row, col, name):
    """F2 opens the cell's list; choose ``name`` with the keyboard and press Enter."""
    view = panel.view
    index = view.model().index(row, col)
    view.setFocus()
    view.setCurrentIndex(index)  # as the arrow keys would
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = view.indexWidget(index)
    i = editor.findData(name)
    assert i >= 0, name
    editor.setCurrentIndex(i)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.indexWidget(index) is None)


def key(qtbot, widget, k, modifier=Qt.KeyboardModifier.NoModifier):
    widget.setFocus()
    qtbot.keyClick(widget, k, modifier)


def hidden(spec) -> list[dict]:
    return spec["network"]["layers"]


def layer(units, act="tanh", init="glorot_uniform", **extra):
    return {"type": "dense", "units": units, "activation": act, "init": init, **extra}


def net_equivalent(a: dict, b: dict, n_classes: int) -> bool:
    return resolve_layers(hidden(a), n_classes) == resolve_layers(hidden(b), n_classes)


def data_params(spec: dict) -> dict:
    info = datasets.info(spec["data"]["name"])
    return resolve_params(info.params, spec["data"], "data", ignore=("name",))


def auto_probes() -> dict:
    """The spiral preset with its probe interval on "auto" (the preset itself fixes 20)."""
    spec = presets.load("spiral")
    spec["probes"]["every"] = "auto"
    return spec


def commit_spin(qtbot, spin, text):
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


# ====================================================================== Network
def test_building_a_network_in_the_table_emits_exactly_those_layers(qtbot):
    net = make(qtbot, NetworkPanel)
    rec = Recorder(net)
    assert net.model.rowCount() == 4  # three hidden layers and the output row

    click_cell(qtbot, net, 1)
    key(qtbot, net.view, Qt.Key.Key_Insert)  # a copy of the previous hidden layer, after it
    assert len(rec) == 1
    assert hidden(rec.last) == [layer(16)] * 4

    type_in_cell(qtbot, net, 2, UNITS, "64")
    pick_in_cell(qtbot, net, 2, ACT, "relu")
    pick_in_cell(qtbot, net, 2, INIT, "he_normal")
    assert len(rec) == 4  # one spec per committed edit
    assert hidden(rec.last)[2] == layer(64, "relu", "he_normal")

    click_cell(qtbot, net, 2)
    key(qtbot, net.view, Qt.Key.Key_D, CTRL)  # duplicate
    assert [e["units"] for e in hidden(rec.last)] == [16, 16, 64, 64, 16]
    assert net.view.currentIndex().row() == 3  # the copy is selected
    key(qtbot, net.view, Qt.Key.Key_Up, CTRL)  # past its twin: nothing changes but the row
    assert len(rec) == 5 and net.view.currentIndex().row() == 2
    key(qtbot, net.view, Qt.Key.Key_Up, CTRL)
    assert [e["units"] for e in hidden(rec.last)] == [16, 64, 16, 64, 16]
    key(qtbot, net.view, Qt.Key.Key_Down, CTRL)
    key(qtbot, net.view, Qt.Key.Key_Up, CTRL)
    assert [e["units"] for e in hidden(rec.last)] == [16, 64, 16, 64, 16]
    click_cell(qtbot, net, 0)
    key(qtbot, net.view, Qt.Key.Key_Delete)
    assert len(rec) == 9
    assert hidden(rec.last) == [
        layer(64, "relu", "he_normal"),
        layer(16),
        layer(64, "relu", "he_normal"),
        layer(16),
    ]
    # the output row is the last row and cannot be removed
    out = net.model.rowCount() - 1
    units = net.model.index(out, UNITS)
    qtbot.waitUntil(lambda: units.data() == "= 2")  # "= classes", once the data says how many
    assert units.data(ROLE_TIP).startswith("= classes")
    assert not units.flags() & Qt.ItemFlag.ItemIsEditable
    click_cell(qtbot, net, out)
    key(qtbot, net.view, Qt.Key.Key_Delete)
    assert len(rec) == 9
    assert net.errors() == []
    resolve_spec(rec.last)


def test_batchnorm_dropout_and_standalone_rows(qtbot):
    net = make(qtbot, NetworkPanel)
    rec = Recorder(net)
    # the BN check box in row 1
    qtbot.mouseClick(
        net.view.viewport(), Qt.MouseButton.LeftButton, pos=cell_center(net.view, 1, BN)
    )
    assert hidden(rec.last)[1]["batchnorm"] is True
    type_in_cell(qtbot, net, 1, DROP, "0.2")
    assert hidden(rec.last)[1]["dropout"] == 0.2
    click_cell(qtbot, net, 0)
    net.act_add_dropout.trigger()  # the "+" menu: a standalone dropout row after row 0
    assert hidden(rec.last)[1] == {"type": "dropout", "rate": 0.5}
    assert net.model.index(1, UNITS).data() == "dropout"
    type_in_cell(qtbot, net, 1, DROP, "0.3")
    assert hidden(rec.last)[1] == {"type": "dropout", "rate": 0.3}
    net.act_add_bn.trigger()
    assert hidden(rec.last)[2] == {"type": "batchnorm"}
    assert "batch norm" in net.model.index(2, UNITS).data()
    assert net.errors() == []
    resolve_spec(rec.last)


def test_quick_builder_gives_five_layers_and_undo_restores(qtbot):
    net = make(qtbot, NetworkPanel)
    before = hidden(net.spec())
    rec = Recorder(net)
    net.quick.setFocus()
    qtbot.keyClicks(net.quick, "5 x 1000 tanh glorot_standard")
    assert len(rec) == 0  # typing emits nothing
    qtbot.keyClick(net.quick, Qt.Key.Key_Return)
    assert len(rec) == 1
    assert hidden(rec.last) == [layer(1000, "tanh", "glorot_standard")] * 5
    assert net.model.rowCount() == 6

    key(qtbot, net.view, Qt.Key.Key_Z, CTRL)  # undo
    assert len(rec) == 2
    assert hidden(rec.last) == before
    assert net.model.rowCount() == 4
    key(qtbot, net.view, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)  # redo
    assert hidden(rec.last) == [layer(1000, "tanh", "glorot_standard")] * 5

    # undo also reverts a cell edit
    type_in_cell(qtbot, net, 0, UNITS, "7")
    assert hidden(rec.last)[0]["units"] == 7
    key(qtbot, net.view, Qt.Key.Key_Z, CTRL)
    assert hidden(rec.last)[0]["units"] == 1000

    # a bad recipe marks the line instead of building
    n = len(rec)
    net.quick.clear()
    qtbot.keyClicks(net.quick, "5 x banana")
    qtbot.keyClick(net.quick, Qt.Key.Key_Return)
    assert len(rec) == n
    assert net.quick.property("error") is True
    assert "banana" in net.quick.toolTip()


@pytest.mark.parametrize(
    ("col", "text", "message"),
    [
        (UNITS, "0", "network.layers[1].units: must be >= 1, got 0"),
        (UNITS, "abc", "network.layers[1].units: must be a whole number, got 'abc'"),
        (DROP, "1.5", "network.layers[1].dropout: must be < 1, got 1.5"),
        (DROP, "lots", "network.layers[1].dropout: must be a number, got 'lots'"),
    ],
)
def test_a_bad_cell_is_marked_with_its_message_and_fixing_it_clears(qtbot, col, text, message):
    net = make(qtbot, NetworkPanel)
    index = net.model.index(1, col)
    with qtbot.waitSignal(net.errorsChanged):
        type_in_cell(qtbot, net, 1, col, text)
    assert net.errors() == [message]
    assert index.data(ROLE_TIP) == message
    assert index.data(ROLE_BG) is not None  # the red background
    assert "1 error" in net.summary_text()
    with qtbot.waitSignal(net.errorsChanged):
        type_in_cell(qtbot, net, 1, col, "8" if col == UNITS else "0.1")
    assert net.errors() == []
    assert index.data(ROLE_BG) is None
    assert index.data(ROLE_TIP) != message


def test_output_layer_row_edits_and_the_loss_rule(qtbot):
    net = make(qtbot, NetworkPanel)
    rec = Recorder(net)
    out = net.model.rowCount() - 1
    pick_in_cell(qtbot, net, out, ACT, "sigmoid")
    assert hidden(rec.last)[-1] == {"type": "output", "activation": "sigmoid"}
    # softmax cross-entropy wants linear logits: the cell says so
    assert "must be linear" in net.model.index(out, ACT).data(ROLE_TIP)
    assert net.errors()
    pick_in_cell(qtbot, net, out, ACT, "linear")
    assert len(hidden(rec.last)) == 3  # back to the default output: implicit again
    assert net.errors() == []
    # an explicit output initialiser is kept, and the row shows it
    pick_in_cell(qtbot, net, out, INIT, "he_normal")
    assert hidden(rec.last)[-1]["init"] == "he_normal"
    assert net.model.index(out, INIT).data() == "he_normal"
    resolve_spec(rec.last)


def test_double_click_opens_the_list_and_a_click_on_an_item_commits(qtbot):
    net = make(qtbot, NetworkPanel)
    rec = Recorder(net)
    view = net.view
    index = net.model.index(1, ACT)
    pos = cell_center(view, 1, ACT)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    editor = view.indexWidget(index)
    qtbot.waitUntil(lambda: editor.view().isVisible())  # the list opens by itself
    item = editor.view().visualRect(editor.model().index(editor.findData("relu"), 0))
    qtbot.mouseClick(editor.view().viewport(), Qt.MouseButton.LeftButton, pos=item.center())
    qtbot.waitUntil(lambda: view.indexWidget(index) is None)
    assert len(rec) == 1
    assert hidden(rec.last)[1]["activation"] == "relu"
    assert "dies" in index.data(ROLE_TIP)  # the tooltip explains the choice


def test_one_key_window_shortcuts_do_not_steal_keys_from_the_panels(qtbot):
    host = QMainWindow()
    qtbot.addWidget(host)
    fired = []
    for key_ in ("Space", "N"):
        act = QAction(key_, host)
        act.setShortcut(QKeySequence(key_))
        act.triggered.connect(lambda _c=False, k=key_: fired.append(k))
        host.addAction(act)
    tr = TrainingPanel()
    tr.set_spec(auto_probes())
    net = NetworkPanel()
    net.set_spec(presets.load("spiral"))
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.addWidget(net)
    lay.addWidget(tr)
    host.setCentralWidget(box)
    with qtbot.waitActive(host):
        host.show()
        host.activateWindow()
    auto = tr.probe_every.auto
    key(qtbot, auto, Qt.Key.Key_Space)
    assert not auto.isChecked()  # Space toggled the check box, it did not start a run
    net.view.setCurrentIndex(net.model.index(0, UNITS))
    key(qtbot, net.view, Qt.Key.Key_N)
    assert net.view.indexWidget(net.model.index(0, UNITS)) is not None  # typing edits the cell
    assert fired == []


def test_summary_shows_architecture_and_parameter_count(qtbot):
    net = make(qtbot, NetworkPanel)
    qtbot.waitUntil(lambda: "parameters" in net.summary_text(), timeout=10000)
    assert "2-[16]x3-2" in net.summary_text()
    assert "626 parameters" in net.summary_text()  # 48 + 272 + 272 + 34
    net.set_spec(presets.load("nielsen-sigmoid-3hidden"))
    # (the preview generates the 10,000 mnist_like images first: seconds on a busy machine)
    qtbot.waitUntil(lambda: "784-[30]x3-10" in net.summary_text(), timeout=30000)
    assert "25.7 k parameters" in net.summary_text()  # 23,550 + 930 + 930 + 310 = 25,720


def test_details_edit_the_initialiser_std_of_the_selected_layer(qtbot):
    net = make(qtbot, NetworkPanel, presets.load("cs231n-tanh-0.01"))
    rec = Recorder(net)
    click_cell(qtbot, net, 3)
    assert net.details.isVisible()
    field = net.details_params.fields["init.std"]
    assert field.value() == 0.01
    commit_spin(qtbot, field.editor, "0.05")
    assert len(rec) == 1
    assert hidden(rec.last)[3]["init"] == {"name": "normal", "std": 0.05}
    assert hidden(rec.last)[2]["init"] == {"name": "normal", "std": 0.01}


def test_set_spec_keeps_the_selection_and_the_undo_history(qtbot):
    net = make(qtbot, NetworkPanel)
    rec = Recorder(net)
    type_in_cell(qtbot, net, 1, UNITS, "32")
    click_cell(qtbot, net, 2)
    spec = rec.last
    # the window hands the same network back (resolved, output explicit): nothing moves
    resolved = copy.deepcopy(spec)
    resolved["network"]["layers"] = resolve_layers(hidden(spec), 2)
    with qtbot.assertNotEmitted(net.specEdited):
        net.set_spec(resolved)
    assert net.view.currentIndex().row() == 2
    assert net.undo_stack.canUndo()
    assert net.model.rowCount() == 4


# ====================================================================== Data
def test_switching_dataset_rebuilds_the_form(qtbot):
    data = make(qtbot, DataPanel)
    rec = Recorder(data)
    assert {"n", "noise", "arms"} <= set(data.params.fields)
    i = data.combo.findData("gaussian")
    data.combo.setCurrentIndex(i)
    data.combo.activated.emit(i)
    assert len(rec) == 1
    assert rec.last["data"] == {"name": "gaussian"}
    assert set(data.params.fields) == {"n", "dim", "classes"}
    assert "arms" not in data.params.fields
    assert {"val_fraction", "preprocess", "max_train"} <= set(data.shared.fields)
    # switching back restores what spiral had
    commit_spin(qtbot, data.params.fields["dim"].editor, "20")
    assert rec.last["data"] == {"name": "gaussian", "dim": 20}
    i = data.combo.findData("spiral")
    data.combo.setCurrentIndex(i)
    data.combo.activated.emit(i)
    assert rec.last["data"] == {"name": "spiral"}
    resolve_spec(rec.last)


def test_spiral_preview_is_a_scatter_of_two_classes(qtbot):
    data = make(qtbot, DataPanel)
    qtbot.waitUntil(lambda: data.preview() is not None, timeout=10000)
    pv = data.preview()
    assert pv.error == "" and pv.n_classes == 2
    assert data.pane.stack.currentWidget() is data.pane.plot
    shown = [it for it in data.pane.scatter_items if it.isVisible() and len(it.data)]
    assert len(shown) == 2
    assert sum(len(it.data) for it in shown) == 800  # the training points
    assert "800" in data.pane.summary.text() and "2</b> classes" in data.pane.summary.text()


def test_shapeset_preview_is_a_thumbnail_grid_built_in_the_background(qtbot):
    data = make(qtbot, DataPanel)
    qtbot.waitUntil(lambda: data.preview() is not None, timeout=10000)
    with qtbot.waitSignal(data.previewUpdated, timeout=20000):
        data.set_spec(presets.load("glorot-tanh-standard"))  # 10,000 images
        assert data.pane.status.text() == "building preview…"  # set_spec did not wait
    pv = data.preview()
    assert pv.image_shape == (32, 32) and pv.reduced
    assert (pv.n_train, pv.n_val) == (8000, 2000)  # the counts of the real spec
    assert data.pane.stack.currentWidget() is data.pane.thumbs
    assert data.pane.thumbs.count() >= 9  # every class shows
    image = data.pane.thumbs.grab().toImage()
    assert image.width() > 100 and image.height() > 50


def test_a_missing_idx_file_shows_the_sentence_inline(qtbot, tmp_path):
    data = make(qtbot, DataPanel)
    rec = Recorder(data)
    i = data.combo.findData("idx")
    data.combo.setCurrentIndex(i)
    data.combo.activated.emit(i)
    assert data.errors()  # no files chosen yet
    missing = str(tmp_path / "train-images-idx3-ubyte.gz")
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x00\x01"))
    edit = data.params.fields["train_labels"].editor
    edit.setFocus()
    qtbot.keyClicks(edit, str(labels))
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    edit = data.params.fields["train_images"].editor
    edit.setFocus()
    with qtbot.waitSignal(data.previewUpdated, timeout=10000):
        qtbot.keyClicks(edit, missing)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
    sentence = f"The file '{missing}' does not exist."
    assert rec.last["data"]["train_images"] == missing
    assert data.message.isVisible() and data.message.text() == sentence
    assert sentence in data.errors()
    field = data.params.fields["train_images"]
    assert field.property("error") and field.editor.toolTip() == sentence
    assert QApplication.activeModalWidget() is None  # inline, not a dialog


def test_a_bad_data_value_is_marked_and_fixing_it_clears(qtbot):
    data = make(qtbot, DataPanel)
    rec = Recorder(data)
    spin = data.shared.fields["val_fraction"].editor
    commit_spin(qtbot, spin, "0.95")
    message = "data.val_fraction: must be <= 0.9, got 0.95"
    assert data.errors() == [message]
    assert spin.property("error") and spin.toolTip() == message
    commit_spin(qtbot, spin, "0.3")
    assert data.errors() == []
    assert not spin.property("error")
    assert rec.last["data"]["val_fraction"] == 0.3


# ====================================================================== Training
def test_choosing_adam_shows_its_betas(qtbot):
    tr = make(qtbot, TrainingPanel, presets.load("cs231n-tanh-0.01"))  # sgd
    rec = Recorder(tr)
    assert "beta1" not in tr.opt_params.fields
    i = tr.optimizer.findData("adam")
    tr.optimizer.setCurrentIndex(i)
    tr.optimizer.activated.emit(i)
    assert {"beta1", "beta2", "eps"} == set(tr.opt_params.fields)
    qtbot.waitUntil(tr.opt_params.fields["beta1"].isVisible)  # the layout shows it queued
    assert tr.forms[0].labelForField(tr.opt_params.fields["beta1"]).text() == "β₁"
    assert rec.last["training"]["optimizer"] == {"name": "adam"}
    commit_spin(qtbot, tr.opt_params.fields["beta1"].editor, "0.8")
    assert rec.last["training"]["optimizer"] == {"name": "adam", "beta1": 0.8}
    # momentum carries over between momentum and nesterov
    for name in ("momentum", "nesterov"):
        i = tr.optimizer.findData(name)
        tr.optimizer.setCurrentIndex(i)
        tr.optimizer.activated.emit(i)
        if name == "momentum":
            commit_spin(qtbot, tr.opt_params.fields["momentum"].editor, "0.95")
    assert rec.last["training"]["optimizer"] == {"name": "nesterov", "momentum": 0.95}
    resolve_spec(rec.last)


def test_lr_from_the_log_spin_box(qtbot):
    tr = make(qtbot, TrainingPanel)
    rec = Recorder(tr)
    tr.lr.setFocus()
    tr.lr.selectAll()
    qtbot.keyClicks(tr.lr, "0.003")
    assert len(rec) == 0  # not per keystroke
    qtbot.keyClick(tr.lr, Qt.Key.Key_Return)
    assert len(rec) == 1
    assert rec.last["training"]["lr"] == 0.003
    qtbot.keyClick(tr.lr, Qt.Key.Key_Up)  # a quarter decade
    assert rec.last["training"]["lr"] == pytest.approx(0.00533, rel=1e-2)


def test_budget_epochs_replaces_steps(qtbot):
    tr = make(qtbot, TrainingPanel)
    rec = Recorder(tr)
    qtbot.mouseClick(tr.radio["epochs"], Qt.MouseButton.LeftButton)
    assert "steps" not in rec.last["training"]
    assert rec.last["training"]["epochs"] == 10.0
    assert tr.epochs.isVisible() and not tr.steps.isVisible()
    commit_spin(qtbot, tr.epochs.editor, "3")
    assert rec.last["training"]["epochs"] == 3.0 and "steps" not in rec.last["training"]
    qtbot.mouseClick(tr.radio["none"], Qt.MouseButton.LeftButton)
    assert "steps" not in rec.last["training"] and "epochs" not in rec.last["training"]
    qtbot.mouseClick(tr.radio["steps"], Qt.MouseButton.LeftButton)
    assert rec.last["training"]["steps"] == 4000  # the preset's budget comes back
    resolve_spec(rec.last)


def test_clip_by_global_norm(qtbot):
    tr = make(qtbot, TrainingPanel)
    rec = Recorder(tr)
    i = tr.clip_kind.findData("norm")
    tr.clip_kind.setCurrentIndex(i)
    tr.clip_kind.activated.emit(i)
    commit_spin(qtbot, tr.clip_value, "5")
    assert rec.last["training"]["clip"] == {"norm": 5.0}
    commit_spin(qtbot, tr.clip_value, "0")
    assert tr.errors() == ["training.clip.norm: must be > 0, got 0"]
    assert tr.clip_value.property("error")
    i = tr.clip_kind.findData(None)
    tr.clip_kind.setCurrentIndex(i)
    tr.clip_kind.activated.emit(i)
    assert rec.last["training"]["clip"] is None
    assert tr.errors() == []


def test_probe_interval_auto_or_a_number_and_cross_field_errors(qtbot):
    tr = make(qtbot, TrainingPanel, auto_probes())
    rec = Recorder(tr)
    qtbot.mouseClick(tr.probe_every.auto, Qt.MouseButton.LeftButton)
    assert rec.last["probes"]["every"] == 10
    commit_spin(qtbot, tr.probe_every.spin, "25")
    assert rec.last["probes"]["every"] == 25
    commit_spin(qtbot, tr.bins.editor, "2")
    assert tr.errors() == ["probes.bins: must be >= 4, got 2"]
    commit_spin(qtbot, tr.bins.editor, "40")
    # min_lr above lr: the spec's own rule, shown on the field
    i = tr.schedule.findData("cosine")
    tr.schedule.setCurrentIndex(i)
    tr.schedule.activated.emit(i)
    commit_spin(qtbot, tr.sched_params.fields["min_lr"].editor, "0.5")
    assert len(tr.errors()) == 1 and "min_lr" in tr.errors()[0]
    assert tr.sched_params.fields["min_lr"].property("error")
    commit_spin(qtbot, tr.sched_params.fields["min_lr"].editor, "0.0001")
    assert tr.errors() == []
    resolve_spec(rec.last)


# ====================================================================== every panel, every preset
def _noop_edit(qtbot, panel):
    """Change a value and change it back (two committed edits)."""
    if isinstance(panel, NetworkPanel):
        for _ in range(2):
            qtbot.mouseClick(
                panel.view.viewport(),
                Qt.MouseButton.LeftButton,
                pos=cell_center(panel.view, 0, BN),
            )
    elif isinstance(panel, DataPanel):
        f = panel.shared.fields["val_fraction"]
        old = f.value()
        commit_spin(qtbot, f.editor, "0.5")
        commit_spin(qtbot, f.editor, f"{old:.17g}")
    else:
        old = panel.seed.value()
        commit_spin(qtbot, panel.seed.editor, str(old + 1))
        commit_spin(qtbot, panel.seed.editor, str(old))


def _real_edit(qtbot, panel):
    if isinstance(panel, NetworkPanel):
        click_cell(qtbot, panel, 0)
        key(qtbot, panel.view, Qt.Key.Key_D, CTRL)
    elif isinstance(panel, DataPanel):
        commit_spin(qtbot, panel.shared.fields["val_fraction"].editor, "0.25")
    else:
        commit_spin(qtbot, panel.batch_size.editor, "17")


@pytest.mark.parametrize("cls", [NetworkPanel, DataPanel, TrainingPanel])
def test_every_preset_round_trips_and_stays_valid(qtbot, cls):
    panel = make(qtbot, cls)
    rec = Recorder(panel)
    for name in presets.names():
        preset = presets.load(name)
        with qtbot.assertNotEmitted(panel.specEdited):
            panel.set_spec(preset)
        assert panel.errors() == [], name
        n = len(rec)
        _noop_edit(qtbot, panel)
        assert len(rec) == n + 2, name
        got = resolve_spec(rec.last)
        want = resolve_spec(preset)
        if cls is NetworkPanel:
            assert net_equivalent(got, want, 10), name
            got.pop("network"), want.pop("network")
        if cls is DataPanel:  # a value set back to its default is kept, explicitly
            assert data_params(got) == data_params(want), name
            got.pop("data"), want.pop("data")
        assert got == want, name
        _real_edit(qtbot, panel)
        resolve_spec(rec.last)
        assert panel.errors() == [], name


def test_set_spec_never_emits_even_with_errors_in_it(qtbot):
    spec = presets.load("spiral")
    spec["network"]["layers"][1]["units"] = 0
    spec["training"]["batch_size"] = 0
    spec["data"]["noise"] = -1
    for cls in (NetworkPanel, DataPanel, TrainingPanel):
        panel = cls()
        qtbot.addWidget(panel)
        with qtbot.assertNotEmitted(panel.specEdited):
            panel.set_spec(spec)
        assert len(panel.errors()) == 1, cls.__name__
