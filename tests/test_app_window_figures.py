"""Issue 11 in the window: File > Export Figure offers the publication figure (gradlab.figures) of
the current view with the view's settings, previewed in the dialog, written atomically in PDF,
SVG, PNG or EPS; the Compare view's figure is of the pinned runs; the "as on screen" export
writes atomically too; matplotlib is not imported before the dialog needs it; one rule for the
decision boundary's probabilities."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtGui import QImage

from gradlab.app import export
from gradlab.app.figure_dialog import PublicationFigureDialog, parse_layers, view_figure
from gradlab.experiment import Experiment
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt

MAGIC = {".pdf": b"%PDF", ".png": b"\x89PNG", ".svg": b"<?xml", ".eps": b"%!PS"}


def view(win, key):
    v = next(v for v in win.views if v.key == key)
    win.tabs.setCurrentWidget(v)
    return v


def dialog(qtbot, win):
    dlg = PublicationFigureDialog(win)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg


def trained(qtbot, settings, steps=30):  # noqa: F811
    win = make_window(qtbot, settings)
    win.step_once(steps)
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == steps,
                    timeout=15000)
    win._tick(force=True)
    return win


# ====================================================================== the view's settings
def test_the_dialog_draws_the_current_view_with_its_settings_and_previews_it(
    qtbot, settings, tmp_path  # noqa: F811
):
    win = trained(qtbot, settings)
    try:
        d = view(win, "distributions")
        d.quantity_box.setCurrentIndex(d.quantity_box.findData("delta"))
        d.logx_box.setChecked(True)  # the log10|delta| histograms
        d.layout_box.setCurrentIndex(d.layout_box.findData("multiples"))
        d.logy_box.setChecked(True)
        steps = win.run.history.probe_steps()
        win.timeline.select_step(int(steps[1]))
        dlg = dialog(qtbot, win)
        assert dlg.kind == "distributions"
        o = dlg.options()
        assert o["quantity"] == "delta_log" and o["layout"] == "multiples" and o["logy"]
        assert dlg.step() == int(steps[1])
        assert dlg.draw_preview(), dlg.error.text()
        assert dlg.preview_png.startswith(b"\x89PNG") and not dlg.preview.pixmap().isNull()
        fig = dlg.figure
        assert len(fig.axes) >= win.run.n_layers  # one small plot per layer
        texts = [a.get_title() for a in fig.axes] + [t.get_text() for t in fig.texts]
        assert f"step {int(steps[1])}" in " ".join(texts)  # the timeline's step
        assert "log10 |δ|" in texts
        assert "in, paper style, 300 dpi" in dlg.info.text()
        # every format, atomically written where asked
        for i, (_label, suffix) in enumerate(
            [(dlg.format_box.itemText(i), dlg.format_box.itemData(i))
             for i in range(dlg.format_box.count())]
        ):
            dlg.format_box.setCurrentIndex(i)
            target = tmp_path / f"fig{suffix}"
            dlg.file_edit.setText(str(target))
            assert dlg.export() == target, dlg.error.text()
            assert target.read_bytes()[:5].startswith(MAGIC[suffix])
            dlg.setResult(0)
        # the next dialog remembers the format and the folder
        again = dialog(qtbot, win)
        assert again.format_box.currentData() == ".eps"
        assert str(tmp_path) in again.file_edit.text()
    finally:
        stop_window(win)


def test_profile_and_heatmaps_settings_carry_over(qtbot, settings):  # noqa: F811
    win = trained(qtbot, settings)
    try:
        p = view(win, "profile")
        p.output_box.setChecked(False)
        assert view_figure(p) == ("profile", {"layers": "hidden"})
        h = view(win, "heatmaps")
        h.quantity_box.setCurrentIndex(h.quantity_box.findData("wgrad_log"))
        h.color_box.setCurrentIndex(h.color_box.findData("linear"))
        kind, opts = view_figure(h)
        assert (kind, opts) == ("heatmaps", {"quantity": "wgrad_log", "logc": False})
        dlg = dialog(qtbot, win)
        assert dlg.extra_boxes["logc"].currentData() is False
        assert dlg.draw_preview(), dlg.error.text()
        # a choice the figure cannot draw is one sentence in the dialog, not an exception
        dlg.layers_edit.setText("1, 99")
        assert not dlg.draw_preview()
        assert "99" in dlg.error.text() and dlg.error.text().endswith(".")
        assert parse_layers(" 1, 2 ,out") == [1, 2, "out"] and parse_layers("") is None
    finally:
        stop_window(win)


def test_the_boundary_figure_of_a_running_run_is_drawn_from_a_copy_of_its_network(
    qtbot, settings  # noqa: F811
):
    win = trained(qtbot, settings, steps=10)
    try:
        view(win, "boundary")
        win.act_run.trigger()  # training goes on while the dialog is open
        qtbot.waitUntil(lambda: win.snapshot.status == "running", timeout=10000)
        dlg = dialog(qtbot, win)
        qtbot.waitUntil(lambda: dlg.run.experiment is not None, timeout=10000)
        assert dlg.run.experiment.network is not win.run.experiment.network
        assert dlg.draw_preview(), dlg.error.text()
        taken = dlg.run.experiment.step_count
        title = dlg.figure.axes[0].get_title()
        assert f"step {taken:,}" in title
        qtbot.waitUntil(lambda: win.snapshot.step > taken + 20, timeout=20000)
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=10000)
        dlg.reject()
    finally:
        stop_window(win)


def test_the_compare_figure_is_of_the_pinned_runs(qtbot, settings, tmp_path):  # noqa: F811
    win = trained(qtbot, settings, steps=10)
    try:
        win.pin_current()
        view(win, "compare")
        dlg = dialog(qtbot, win)
        assert dlg.kind == "compare" and dlg.source() == win.pinned
        assert not dlg.draw_preview()
        assert "at least two runs" in dlg.error.text()
        win.step_once(10)
        qtbot.waitUntil(lambda: win.snapshot.step == 20, timeout=10000)
        win.pin_current()
        dlg = dialog(qtbot, win)
        assert dlg.draw_preview(), dlg.error.text()
        text = " ".join(t.get_text() for ax in dlg.figure.axes for t in ax.texts)
        text += " ".join(str(ax.get_legend_handles_labels()[1]) for ax in dlg.figure.axes)
        text += " ".join(str(t.get_text()) for t in dlg.figure.texts)
        legends = [lg for lg in dlg.figure.legends] + [
            ax.get_legend() for ax in dlg.figure.axes if ax.get_legend()
        ]
        names = " ".join(t.get_text() for lg in legends for t in lg.get_texts())
        assert all(run.name in names + text for run in win.pinned)
        assert "Unpin" not in names + text and "Clear all" not in names + text
    finally:
        stop_window(win)


# ====================================================================== writing safely
def test_a_failed_export_leaves_the_old_file_and_says_why(qtbot, settings, tmp_path,  # noqa: F811
                                                          monkeypatch):
    from gradlab.figures import _api

    win = trained(qtbot, settings, steps=5)
    try:
        view(win, "training")
        old = tmp_path / "kept.pdf"
        old.write_bytes(b"%PDF the old figure")
        dlg = dialog(qtbot, win)
        dlg.format_box.setCurrentIndex(dlg.format_box.findData(".pdf"))
        dlg.file_edit.setText(str(old))

        def full_disk(*_a, **_k):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(_api, "render", full_disk)  # what figures.save renders with
        assert dlg.export() is None
        assert "no space left on device" in dlg.error.text().lower()
        assert old.read_bytes() == b"%PDF the old figure"
        monkeypatch.undo()
        old.chmod(0o444)
        assert dlg.export() is None
        assert "read-only" in dlg.error.text() and dlg.error.text().endswith(".")
        assert old.read_bytes() == b"%PDF the old figure"
        assert dlg.result() != dlg.DialogCode.Accepted
        # the "as on screen" PNG does not write in place either
        png = tmp_path / "kept.png"
        png.write_bytes(b"old png")
        png.chmod(0o444)
        screen = export.ScreenExportDialog(win)
        qtbot.addWidget(screen)
        screen.width_box.setValue(300)
        screen.height_box.setValue(200)
        screen.file_edit.setText(str(png))
        assert screen.export() is None
        assert "read-only" in screen.error.text()
        assert png.read_bytes() == b"old png"
        png.chmod(0o644)
        assert screen.export() == png
        assert QImage(str(png)).width() == 300
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    finally:
        stop_window(win)


# ====================================================================== start-up cost
def test_matplotlib_is_imported_by_the_first_figure_not_by_the_window(tmp_path):
    code = textwrap.dedent(
        f"""
        import os
        import sys
        from PySide6.QtCore import QSettings
        from gradlab.app.dialogs import main_window_app
        app = main_window_app()
        from gradlab.app.window import MainWindow
        win = MainWindow(settings=QSettings({str(tmp_path / "s.ini")!r},
                                            QSettings.Format.IniFormat))
        win.show()
        while win.run is None:
            app.processEvents()
        print("window", "matplotlib" in sys.modules)
        win.tabs.setCurrentWidget(next(v for v in win.views if v.key == "distributions"))
        from gradlab.app.figure_dialog import PublicationFigureDialog
        dlg = PublicationFigureDialog(win)
        print("dialog", "matplotlib" in sys.modules)
        print("preview", dlg.draw_preview(), "matplotlib" in sys.modules)
        dlg.reject()
        win.doc.edited = False
        print("stopped", win.shutdown(), flush=True)
        # (the interpreter's own teardown of Qt objects is not what this test is about)
        os._exit(0)
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=180, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.split("\n")
    assert "window False" in lines and "dialog False" in lines, out.stdout
    assert "preview True True" in lines and "stopped True" in lines, out.stdout


# ====================================================================== one boundary rule
@pytest.mark.parametrize(
    ("loss", "activation"),
    [("softmax_cross_entropy", "linear"), ("bce_with_logits", "linear"), ("mse", "sigmoid")],
)
def test_one_rule_for_the_boundary_probabilities(loss, activation):
    from gradlab import data
    from gradlab.app.render import ensure_boundary
    from gradlab.app.worker import boundary_probabilities
    from gradlab.figures.boundary_grid import boundary_probabilities as figure_rule

    spec = {"data": {"name": "moons", "n": 200},
            "network": {"layers": [{"units": 6, "activation": "tanh"},
                                   {"output": True, "activation": activation}]},
            "training": {"loss": loss, "steps": 5}}
    exp = Experiment(spec)
    _, _, pts = data.grid_for(exp.data, 12)
    pts = pts.astype(exp.network.dtype)
    window = boundary_probabilities(exp, pts, 12)
    paper = figure_rule(exp, pts, 12)
    assert window.dtype == np.float32 and window.shape == paper.shape
    np.testing.assert_allclose(window, paper, rtol=1e-6, atol=1e-7)
    out = exp.network.predict(pts).astype(np.float64)
    if loss == "softmax_cross_entropy":
        e = np.exp(out - out.max(axis=1, keepdims=True))
        want = e / e.sum(axis=1, keepdims=True)
    elif loss == "bce_with_logits":
        s = 1.0 / (1.0 + np.exp(-out))
        want = np.concatenate([1 - s, s], axis=1) if s.shape[1] == 1 else s
    else:
        c = np.clip(out, 0, 1)
        want = np.concatenate([1 - c, c], axis=1) if c.shape[1] == 1 else c
    np.testing.assert_allclose(paper.reshape(-1, paper.shape[-1]), want, rtol=1e-9, atol=1e-12)

    class Model:  # what the "as on screen" export hands ensure_boundary
        boundary = None
        experiment = exp
        input_dim = 2

    m = Model()
    assert ensure_boundary(m, res=12)
    np.testing.assert_allclose(m.boundary, window)
