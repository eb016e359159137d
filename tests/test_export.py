"""Exports: figures (PNG/SVG, one view or the dashboard, headless from a session file), the
statistics, and the network (weights .npz, PyTorch and Keras code)."""

from __future__ import annotations

import ast
import csv
import json

import numpy as np
import pytest
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QFileDialog

import gradlab
from gradlab.app import export
from gradlab.app.model import RunModel
from gradlab.app.views import RUN_VIEWS, VIEWS
from gradlab.experiment import Experiment
from gradlab.experiment.netexport import (
    keras_snippet,
    load_weights_npz,
    pytorch_snippet,
    save_weights_npz,
)
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


# ---------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def session_model(tmp_path_factory, qapp):
    """A trained 2-D run saved to a .gradlab file and loaded back, as the command line sees it."""
    exp = Experiment(
        {
            "name": "xor demo",
            "seed": 0,
            "data": {"name": "xor"},
            "network": {"layers": [{"units": 12, "activation": "tanh"}] * 2},
            "training": {"steps": 300, "lr": 0.02},
        }
    )
    exp.run()
    path = tmp_path_factory.mktemp("session") / "xor.gradlab"
    exp.save(path)
    loaded = gradlab.load_session(path)
    return RunModel.from_experiment(loaded, 1)


def pixels(path_or_image) -> np.ndarray:
    img = path_or_image if isinstance(path_or_image, QImage) else QImage(str(path_or_image))
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    buf = np.frombuffer(img.constBits(), np.uint8, img.sizeInBytes())
    return buf.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width(), :3].copy()


def rasterise(svg_path, w, h) -> np.ndarray:
    from PySide6.QtGui import QPainter

    img = QImage(w, h, QImage.Format.Format_RGB32)
    img.fill(0xFF00FF)
    painter = QPainter(img)
    QSvgRenderer(str(svg_path)).render(painter)
    painter.end()
    return pixels(img)


# ---------------------------------------------------------------------- figures
def test_png_has_the_requested_size_dpi_and_content(session_model, tmp_path):
    out = export.render_figure(
        session_model, "training", tmp_path / "fig.png", width=900, height=560, dpi=300
    )
    img = QImage(str(out))
    assert (img.width(), img.height()) == (900, 560)
    assert img.dotsPerMeterX() == pytest.approx(300 / 0.0254, abs=1)
    assert img.dotsPerMeterY() == pytest.approx(300 / 0.0254, abs=1)
    px = pixels(img)
    assert px.astype(float).var() > 0  # not a blank page
    # the default size is 1600 x 1000
    out = export.render_figure(session_model, "boundary", tmp_path / "default.png")
    assert QImage(str(out)).size().toTuple() == (1600, 1000)


def test_svg_is_a_valid_vector_drawing_with_the_plot(session_model, tmp_path):
    out = export.render_figure(
        session_model, "boundary", tmp_path / "fig.svg", width=800, height=600, dpi=200
    )
    renderer = QSvgRenderer(str(out))
    assert renderer.isValid()
    vb = renderer.viewBox()
    assert (vb.width(), vb.height()) == (800, 600)
    text = out.read_text(encoding="utf-8")
    assert text.count("<path") + text.count("<polyline") > 50  # axes, ticks, points as vectors
    assert "<image" in text  # the probability grid
    assert "x₁" in text and "training accuracy" in text  # labels stay text
    assert 'width="101.60mm"' in text  # 800 px at 200 DPI
    # drawn back, it shows the two class colours of the boundary
    px = rasterise(out, 800, 600).reshape(-1, 3).astype(int)
    orange = np.mean((px[:, 0] > 200) & (px[:, 2] < 150))
    blue = np.mean((px[:, 2] > 150) & (px[:, 0] < 120))
    assert orange > 0.05 and blue > 0.05


def test_dashboard_composes_every_run_view(session_model, tmp_path):
    w, h = 420, 260
    out = export.render_figure(session_model, "dashboard", tmp_path / "dash.png", width=w, height=h)
    img = QImage(str(out))
    cols = 3 if len(RUN_VIEWS) > 4 else 2
    rows = -(-len(RUN_VIEWS) // cols)
    assert img.width() == cols * w
    assert img.height() > rows * h
    px = pixels(img)
    top = img.height() - rows * (h + 34)
    for i in range(len(RUN_VIEWS)):  # every cell holds a drawn view
        r, c = divmod(i, cols)
        cell = px[top + r * (h + 34) : top + (r + 1) * (h + 34), c * w : (c + 1) * w]
        assert cell.astype(float).var() > 0, f"cell {i} ({RUN_VIEWS[i].key}) is blank"


def test_every_view_renders_from_a_saved_session(session_model, tmp_path):
    session_model.boundary = None
    for key in export.figure_keys():
        out = export.render_figure(
            session_model, key, tmp_path / f"{key}.png", width=360, height=240
        )
        assert out.exists() and QImage(str(out)).width() >= 360
    # the boundary was computed from the session's network
    assert session_model.boundary is not None
    assert session_model.boundary.shape == (export.BOUNDARY_RES, export.BOUNDARY_RES, 2)


@pytest.mark.parametrize("key", ["distributions", "training"])
def test_step_picks_that_probe(session_model, tmp_path, monkeypatch, key):
    cls = next(v for v in VIEWS if v.key == key)
    rows = []
    original = cls.refresh

    def spy(self, row=None):
        rows.append(row)
        return original(self, row)

    monkeypatch.setattr(cls, "refresh", spy)
    h = session_model.history
    steps = h.probe_column("step")
    r = int(np.flatnonzero(np.diff(steps) > 1)[0])  # (the first probes are log-spaced: 1, 2...)
    early = int(steps[r]) + 1  # between probes r and r + 1: probe r is drawn
    a = export.render_figure(
        session_model, key, tmp_path / "a.png", step=early, width=600, height=400
    )
    assert rows[-1] == r  # (set_model draws the newest first, then the figure is drawn at row r)
    rows.clear()
    b = export.render_figure(session_model, key, tmp_path / "b.png", width=600, height=400)
    assert set(rows) == {None}
    assert not np.array_equal(pixels(a), pixels(b))


def test_bad_view_suffix_or_folder_are_one_sentence_errors(session_model, tmp_path):
    with pytest.raises(ValueError, match="unknown view 'histograms': choose from") as err:
        export.render_figure(session_model, "histograms", tmp_path / "x.png")
    for key in [v.key for v in VIEWS] + ["dashboard"]:
        assert key in str(err.value)
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        export.render_figure(session_model, "training", tmp_path / "x.jpg")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match="does not exist"):
        export.render_figure(session_model, "training", blocker / "x.png")


# ---------------------------------------------------------------------- the dialogs in the window
def test_figure_dialog_exports_remembers_and_reports_errors(qtbot, settings, tmp_path):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.tabs.setCurrentWidget(next(v for v in win.views if v.key == "boundary"))
        dlg = export.ScreenExportDialog(win)
        qtbot.addWidget(dlg)
        assert (dlg.width_box.value(), dlg.height_box.value()) == (1600, 1000)  # the default
        dlg.width_box.setValue(700)
        dlg.height_box.setValue(450)
        dlg.dpi_box.setValue(120)
        dlg.format.setCurrentIndex(0)

        # an unwritable place: the dialog says why and stays open
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        dlg.file_edit.setText(str(blocker / "fig.png"))
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
        assert dlg.error.isVisible() or not dlg.error.isHidden()
        assert "does not exist" in dlg.error.text()
        assert dlg.result() != dlg.DialogCode.Accepted

        target = tmp_path / "boundary.png"
        dlg.file_edit.setText(str(target))
        dlg.buttons.button(dlg.buttons.StandardButton.Save).click()
        assert dlg.result() == dlg.DialogCode.Accepted
        img = QImage(str(target))
        assert (img.width(), img.height()) == (700, 450)
        assert img.dotsPerMeterX() == pytest.approx(120 / 0.0254, abs=1)

        # the next dialog remembers the choices and the folder
        again = export.ScreenExportDialog(win)
        qtbot.addWidget(again)
        assert (again.width_box.value(), again.height_box.value()) == (700, 450)
        assert again.dpi_box.value() == 120
        assert str(tmp_path) in again.file_edit.text()
        # SVG of the whole dashboard, via the same dialog
        again.what.setCurrentIndex(1)
        again.format.setCurrentIndex(1)
        assert again.file_edit.text().endswith("-dashboard.svg")
        assert again.export() is not None
        assert QSvgRenderer(again.file_edit.text()).isValid()
    finally:
        stop_window(win)


def test_data_export_writes_the_stats_format(qtbot, settings, tmp_path, monkeypatch):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        target = tmp_path / "stats.json"
        monkeypatch.setattr(
            QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "JSON (*.json)")
        )
        assert export.export_data_dialog(win) == target
        doc = json.loads(target.read_text())
        assert doc["layers"] == win.run.layer_names
        assert doc["probes"][0]["step"] == 0
        assert set(doc["probes"][0]["layers"][0]) >= {"act_std", "bias_grad_norm"}
        edges = doc["probes"][0]["hists"]["act"]["edges"]
        assert len(edges) == win.run.n_layers
        assert all(len(e) == win.run.history.bins + 1 for e in edges)

        target = tmp_path / "stats.csv"
        monkeypatch.setattr(
            QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "CSV (*.csv)")
        )
        assert export.export_data_dialog(win) == target
        rows = list(csv.reader(target.open()))
        assert rows[0] == ["step", "layer", "stat", "value"]
        assert ["0", win.run.layer_names[0], "act_mean"] == rows[1][:3]
        assert win.settings.value("export/dir") == str(tmp_path)
    finally:
        stop_window(win)


# ---------------------------------------------------------------------- network export
ZOO = [  # one of everything the snippets must translate
    {"units": 12, "activation": "tanh", "init": "glorot_standard", "bias_init": "glorot_standard"},
    {"units": 10, "activation": "relu", "init": "he_normal", "batchnorm": True},
    {"type": "dropout", "rate": 0.2},
    {
        "units": 8,
        "activation": "leaky_relu",
        "alpha": 0.1,
        "init": {"name": "normal", "std": 0.3},
        "gain": 2.0,
        "bias_init": {"name": "uniform", "limit": 0.1},
    },
    {"units": 6, "activation": "maxout", "pieces": 3, "init": "lecun_uniform", "dropout": 0.1},
    {"type": "batchnorm", "momentum": 0.8, "eps": 1e-3},
    {"units": 7, "activation": "elu", "alpha": 0.5, "init": "orthogonal"},
    {"units": 7, "activation": "selu", "init": "lecun_normal"},
    {"units": 7, "activation": "gelu", "init": "glorot_normal", "gain": 1.5},
    {"units": 7, "activation": "silu", "init": "he_uniform"},
    {"units": 7, "activation": "softplus", "init": "glorot_uniform"},
    {"units": 7, "activation": "softsign", "init": {"name": "constant", "value": 0.1}},
    {"units": 7, "activation": "sigmoid", "bias": False, "init": "glorot_uniform"},
]


@pytest.fixture(scope="module")
def zoo_experiment():
    exp = Experiment(
        {
            "name": "zoo",
            "seed": 3,
            "data": {"name": "moons"},
            "network": {"layers": ZOO},
            "training": {"steps": 40},  # batch-norm running averages move off their start
        }
    )
    exp.run()
    return exp


def test_pytorch_snippet_is_python_with_the_right_layers(zoo_experiment):
    net = zoo_experiment.network
    src = pytorch_snippet(net.layers, net.input_dim, name="zoo")
    compile(src, "zoo_torch.py", "exec")
    for piece in (
        "nn.Linear(2, 12)",
        "nn.Tanh()",
        "nn.init.uniform_(model.dense1.weight, -1 / math.sqrt(2), 1 / math.sqrt(2))",
        "nn.init.uniform_(model.dense1.bias, -1 / math.sqrt(12), 1 / math.sqrt(12))",
        "nn.Linear(12, 10, bias=False)",
        'nn.init.kaiming_normal_(model.dense2.weight, nonlinearity="relu")',
        "nn.BatchNorm1d(10, momentum=0.1, eps=1e-05)",
        "nn.Dropout(0.2)",
        "nn.LeakyReLU(0.1)",
        "nn.init.normal_(model.dense3.weight, mean=0, std=0.6)",
        "nn.Linear(8, 18)",
        "Maxout(3)",
        "class Maxout(nn.Module)",
        "nn.BatchNorm1d(6, momentum=0.2, eps=0.001)",
        "nn.ELU(0.5)",
        "nn.SELU()",
        'nn.GELU(approximate="tanh")',
        "nn.init.xavier_normal_(model.dense7.weight, gain=1.5)",
        "nn.SiLU()",
        "nn.Softplus()",
        "nn.init.xavier_uniform_(model.dense9.weight)",
        "nn.Softsign()",
        "nn.Sigmoid()",
        "nn.Linear(7, 2, bias=False)",  # the output layer inherits bias=False
    ):
        assert piece in src, piece


def keras_layers(src: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """The layers of the snippet's keras.Sequential, read with ast: (callee, args, kwargs)."""
    tree = ast.parse(src)
    seq = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "keras.Sequential"
    )
    out = []
    for call in seq.args[0].elts:
        out.append(
            (
                ast.unparse(call.func),
                [ast.unparse(a) for a in call.args],
                {k.arg: ast.unparse(k.value) for k in call.keywords},
            )
        )
    return out


def test_keras_snippet_is_python_with_the_right_layers(zoo_experiment):
    net = zoo_experiment.network
    src = keras_snippet(net.layers, net.input_dim, name="zoo")
    compile(src, "zoo_keras.py", "exec")
    got = keras_layers(src)
    assert got[0] == ("keras.Input", [], {"shape": "(2,)"})
    dense = {kw["name"]: (args, kw) for f, args, kw in got if f == "layers.Dense"}
    assert len(dense) == len(net.blocks)
    args, kw = dense["'dense1'"]
    assert args == ["12"] and kw["activation"] == "'tanh'"
    assert kw["kernel_initializer"] == (
        "initializers.RandomUniform(-0.7071067811865475, 0.7071067811865475)"  # 1/sqrt(2)
    )
    args, kw = dense["'dense2'"]
    assert kw["use_bias"] == "False" and "activation" not in kw  # BN comes before the ReLU
    assert kw["kernel_initializer"] == (
        "initializers.VarianceScaling(scale=2, mode='fan_in', distribution='untruncated_normal')"
    )
    assert dense["'dense3'"][1]["kernel_initializer"] == (
        "initializers.RandomNormal(mean=0, stddev=0.6)"  # std 0.3 x gain 2
    )
    assert dense["'dense4'"][0] == ["18"]  # 6 maxout units x 3 pieces
    assert dense["'dense7'"][1]["activation"] == "gelu_tanh"
    assert dense["'dense9'"][1]["kernel_initializer"] == "initializers.GlorotUniform()"
    assert dense["'dense10'"][1]["kernel_initializer"] == "initializers.Constant(0.1)"
    names = [(f, kw.get("name")) for f, _, kw in got]
    for f, name in (
        ("layers.BatchNormalization", "'bn1'"),
        ("layers.Activation", "'act2'"),
        ("layers.Dropout", "'dropout1'"),
        ("layers.LeakyReLU", "'act3'"),
        ("Maxout", "'act4'"),
        ("layers.BatchNormalization", "'bn2'"),
        ("layers.ELU", "'act5'"),
    ):
        assert (f, name) in names
    bn2 = next(kw for f, _, kw in got if kw.get("name") == "'bn2'")
    assert (bn2["momentum"], bn2["epsilon"]) == ("0.8", "0.001")  # same convention as GradLab
    assert next(kw for f, _, kw in got if kw.get("name") == "'act3'")["negative_slope"] == "0.1"


def test_weights_npz_round_trips_every_array_and_the_spec(zoo_experiment, tmp_path):
    net = zoo_experiment.network
    path = save_weights_npz(net, tmp_path / "w.npz")
    with np.load(path, allow_pickle=False) as f:
        names = set(f.files)
        assert names == set(net.state_arrays()) | {"spec", "meta"}
        for k, v in net.state_arrays().items():
            np.testing.assert_array_equal(f[k], v)
            assert f[k].dtype == v.dtype
        assert json.loads(str(f["spec"])) == net.layers
    again = load_weights_npz(path)
    x = np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x), net.predict(x))


def test_network_dialog_previews_copies_and_saves(qtbot, zoo_experiment, tmp_path, settings):  # noqa: F811
    net = export.network_copy(zoo_experiment.network)
    dlg = export.NetworkExportDialog(net, name="zoo", step=40, settings=settings)
    qtbot.addWidget(dlg)
    dlg.format.setCurrentIndex(dlg.format.findData("pytorch"))
    assert dlg.preview.isReadOnly()
    assert dlg.preview.toPlainText() == pytorch_snippet(net.layers, 2, name="zoo")
    dlg.copy_btn.click()
    assert QGuiApplication.clipboard().text() == dlg.preview.toPlainText()

    dlg.format.setCurrentIndex(dlg.format.findData("keras"))
    assert "keras.Sequential" in dlg.preview.toPlainText()
    out = dlg.save(tmp_path / "zoo_keras")
    assert out == tmp_path / "zoo_keras.py"
    assert out.read_text() == keras_snippet(net.layers, 2, name="zoo")

    dlg.format.setCurrentIndex(dlg.format.findData("npz"))
    assert "dense1.W" in dlg.preview.toPlainText()
    out = dlg.save(tmp_path / "zoo.npz")
    with np.load(out) as f:
        np.testing.assert_array_equal(f["dense1.W"], net.params["dense1.W"])
    assert settings.value("export/network/format") == "npz"

    assert dlg.save(tmp_path / "missing" / "zoo.npz") is None
    assert "does not exist" in dlg.error.text()


def test_network_export_copies_a_running_network_without_pausing_it(qtbot, settings,  # noqa: F811
                                                                     monkeypatch):
    win = make_window(qtbot, settings)
    try:
        shown = []
        monkeypatch.setattr(export.NetworkExportDialog, "exec", lambda self: shown.append(self))
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.status == "running")
        win.act_export_net.trigger()  # the worker answers with a copy; the dialog opens then
        qtbot.waitUntil(lambda: len(shown) == 1, timeout=10000)
        (dlg,) = shown
        assert win.snapshot.status == "running"  # training never paused for the copy
        assert dlg.step > 0
        assert "nn.Linear(2, 16)" in dlg.preview.toPlainText()  # the spiral preset's first layer
        # the copy is detached: training goes on without touching it
        before = dlg.network.params["dense1.W"].copy()
        qtbot.waitUntil(lambda: win.snapshot.step > dlg.step + 50 or win.snapshot.status == "done")
        np.testing.assert_array_equal(dlg.network.params["dense1.W"], before)
        assert win.run.experiment.network.params["dense1.W"] is not dlg.network.params["dense1.W"]
    finally:
        stop_window(win)


def test_a_folder_named_like_a_figure_is_refused(session_model, tmp_path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ValueError, match=r"dir\.png is a folder"):
        export.render_figure(session_model, "training", tmp_path / "dir.png")
