"""The views a lecturer shows, in the real window at a projector's 1280x720: every plot title,
header and legend fits its cell (measured on the real widgets), legends never sit on the data,
the Dashboard's columns keep their widths while the timeline is scrubbed, the decision boundary
follows the timeline to earlier steps, and what a reopened session showed wrongly is right."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QCheckBox, QComboBox, QStyle, QStyleOptionComboBox

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.boundary import BoundaryView
from gradlab.app.views.heatmaps import HeatmapsView
from gradlab.app.views.training import TrainingView
from gradlab.experiment import Experiment, load_session
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt

#: a deep, narrow net on 2-D data: eleven layers of legends, quick to train
DEEP = {
    "name": "deep spiral",
    "seed": 0,
    "data": {"name": "spiral", "n": 300},
    "network": {"layers": [{"units": 12, "activation": "tanh"}] * 10},
    "training": {"optimizer": "adam", "lr": 0.01, "batch_size": 32, "steps": 3000},
    "probes": {"every": 20, "batch": 128},
}


@pytest.fixture(autouse=True)
def light(qapp):
    theme.apply("light")
    theme.set_zoom(1.0)
    yield
    theme.apply("light")
    theme.set_zoom(1.0)


def scene_items(view, kind):
    """The visible items of ``kind`` on every canvas of ``view`` (Dashboard: its panels)."""
    canvases = [w for w in view.findChildren(pg.GraphicsLayoutWidget) if w.isVisible()]
    out = []
    for canvas in canvases:
        for item in canvas.scene().items():
            if isinstance(item, kind) and item.isVisible() and item.scene() is canvas.scene():
                out.append((canvas, item))
    return out


def check_fits(view) -> list[str]:
    """What does not fit, as sentences (empty: everything reads whole)."""
    bad = []
    for _canvas, plot in scene_items(view, pg.PlotItem):
        label = plot.titleLabel
        if label.isVisible() and label.text.strip():
            text_w = label.item.boundingRect().width()
            if text_w > label.size().width() + 1:
                bad.append(f"{view.title}: title {label.text!r} {text_w:.0f} px in "
                           f"{label.size().width():.0f} px")  # fmt: skip
    titles = {id(p.titleLabel) for _c, p in scene_items(view, pg.PlotItem)}
    for _canvas, label in scene_items(view, pg.LabelItem):
        if id(label) not in titles and hasattr(label, "_variants") and label.text.strip():
            text_w = label.item.boundingRect().width()
            if text_w > label.size().width() + 1:
                bad.append(f"{view.title}: header {label.text!r} clipped")
    for canvas, leg in scene_items(view, pg.LegendItem):
        if not leg.items:
            continue
        box = leg.sceneBoundingRect()
        area = QRectF(canvas.viewport().rect())
        if not area.adjusted(-1, -1, 1, 1).contains(box):
            bad.append(f"{view.title}: a legend runs off its canvas")
        for _c, vb in scene_items(view, pg.ViewBox):
            if _c is canvas and vb.sceneBoundingRect().intersects(box.adjusted(1, 1, -1, -1)):
                bad.append(f"{view.title}: a legend sits on a plot's data area")
    return bad


def clipped_controls(view) -> list[str]:
    """The view's visible drop-downs whose chosen option, and check boxes whose text, do not
    read whole."""
    bad = []
    for combo in view.findChildren(QComboBox):
        if not combo.isVisible() or not combo.currentText():
            continue
        opt = QStyleOptionComboBox()
        combo.initStyleOption(opt)
        field = combo.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, opt, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        need = combo.fontMetrics().horizontalAdvance(combo.currentText())
        if need > field.width() + 1:
            bad.append(f"{view.title}: drop-down {combo.currentText()!r} {need} px in "
                       f"{field.width()} px")  # fmt: skip
    for box in view.findChildren(QCheckBox):
        if box.isVisible() and box.text() and box.width() < box.sizeHint().width() - 1:
            bad.append(f"{view.title}: check box {box.text()!r} clipped")
    return bad


def trained_window(qtbot, settings, spec, steps, size):  # noqa: F811
    win = make_window(qtbot, settings)
    win.resize(*size)
    win.doc_spec = spec
    win.worker.post("build", spec)
    qtbot.waitUntil(lambda: win.run is not None and win.run.name == spec["name"], timeout=20000)
    win.speed_box.setCurrentIndex(win.speed_box.findData(None))
    win.step_once(steps)
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == steps,
                    timeout=60000)
    return win


@pytest.mark.parametrize("size", [(1280, 720), (1600, 1000)])
def test_every_title_header_and_legend_fits_its_cell(qtbot, settings, size):  # noqa: F811
    win = trained_window(qtbot, settings, DEEP, 300, size)
    try:
        problems = []
        for view in win.views:
            win.tabs.setCurrentWidget(view)
            qtbot.waitUntil(lambda v=view: v.built or v is win.compare, timeout=20000)
            win._tick(force=True)
            try:  # layouts settle over the next turns of the event loop
                qtbot.waitUntil(lambda v=view: not check_fits(v), timeout=3000)
            except AssertionError:
                problems += check_fits(view)
            problems += clipped_controls(view)
        assert not problems, "\n".join(problems)
        # the subplots of Over time are readable, not 25 px slivers
        over = win.views[3]
        win.tabs.setCurrentWidget(over)
        qtbot.wait(50)
        assert min(p.vb.height() for p in over.plots) >= 100
    finally:
        stop_window(win)


def test_the_dashboards_controls_read_whole_at_1280x720(qtbot, settings):  # noqa: F811
    """Not 2-D data: the Dashboard's last cell is Over time, with its own drop-downs."""
    spec = {**DEEP, "name": "deep gaussian", "data": {"name": "gaussian", "n": 300, "dim": 8}}
    win = trained_window(qtbot, settings, spec, 40, (1280, 720))
    try:
        dash = win.views[0]
        win.tabs.setCurrentWidget(dash)
        qtbot.waitUntil(lambda: dash.built, timeout=20000)
        win._tick(force=True)
        assert dash.parts[3].isVisible()  # Over time, not the boundary
        try:
            qtbot.waitUntil(lambda: not clipped_controls(dash), timeout=3000)
        except AssertionError:
            pass
        assert not clipped_controls(dash), "\n".join(clipped_controls(dash))
        # the full names are kept for the tooltips and the views' own tabs
        quantity = dash.parts[0].quantity_box
        assert quantity.currentText() == "Activations a"
        assert "f(z)" in quantity.itemData(quantity.currentIndex(), 3)  # ToolTipRole
        assert win.views[1].quantity_box.currentText() == "Activations a = f(z)"
    finally:
        stop_window(win)


def test_the_dashboard_keeps_its_columns_while_scrubbing(qtbot, settings):  # noqa: F811
    win = trained_window(qtbot, settings, DEEP, 200, (1280, 720))
    try:
        dash = win.views[0]
        win.tabs.setCurrentWidget(dash)
        win._tick(force=True)
        qtbot.wait(100)
        widths = [p.width() for p in dash.parts]
        steps = win.run.history.probe_steps()
        for step in (steps[3], steps[len(steps) // 2], None):
            win.timeline.select_step(step)
            win._tick(force=True)
            qtbot.wait(150)
            assert [p.width() for p in dash.parts] == widths
        left, right = dash.parts[0].width(), dash.parts[1].width()
        assert abs(left - right) <= 2  # two columns of equal width
    finally:
        stop_window(win)


# ---------------------------------------------------------------------- the boundary's past
@pytest.fixture(scope="module")
def spiral_run():
    exp = Experiment({**DEEP, "network": {"layers": [{"units": 16, "activation": "tanh"}] * 3}})
    exp.run(steps=400)
    return exp


def test_the_boundary_follows_the_timeline_to_earlier_steps(qtbot, spiral_run):
    model = RunModel.from_experiment(spiral_run, 1)
    view = BoundaryView()
    qtbot.addWidget(view)
    view.resize(800, 640)
    view.show()
    view.set_model(model)
    steps = model.history.probe_steps()
    row = int(np.searchsorted(steps, 10))  # step 10
    view.refresh(row)
    at, early = model.boundary_at(int(steps[row]))
    assert at == steps[row] == 10
    assert view.image.image is not None and view.image.isVisible()
    assert not view.note.isVisible()  # no "cannot" banner
    assert "network at step 10" in view.plot.titleLabel.text
    shown_early = view.image.image.copy()
    view.refresh(None)  # live: the newest network (the worker's grid)
    _, newest = model.boundary_at(int(steps[-1]))
    assert not np.allclose(early, newest)  # the boundary moved during training
    view.refresh(row)
    np.testing.assert_array_equal(view.image.image, shown_early)


def test_training_points_shrink_in_a_small_cell_so_the_boundary_shows(qtbot, spiral_run):
    """Full-size points in the Dashboard's cell covered a spiral's boundary (it looked straight):
    a small boundary plot draws smaller points, a large one full-size ones."""
    model = RunModel.from_experiment(spiral_run, 1)
    sizes = {}
    for name, (w, h) in (("small", (380, 280)), ("large", (900, 700))):
        view = BoundaryView()
        qtbot.addWidget(view)
        view.resize(w, h)
        view.show()
        view.set_model(model)
        view.refresh(None)
        qtbot.waitUntil(lambda v=view: v.scatter is not None and v.plot.vb.height() > 50)
        view._keep_aspect()
        sizes[name] = float(view.scatter.opts["size"])
    assert sizes["large"] == theme.px(7)
    assert sizes["small"] <= 0.7 * sizes["large"]


def test_a_reopened_session_shows_its_last_boundary_and_says_so(qtbot, spiral_run, tmp_path):
    back = load_session(spiral_run.save(tmp_path / "r.gradlab"))
    model = RunModel.from_experiment(back, 2)
    from gradlab import data
    from gradlab.app.worker import boundary_probabilities

    _, _, pts = data.grid_for(back.data, 90)
    model.boundary = boundary_probabilities(back, pts.astype(back.network.dtype), 90)
    view = BoundaryView()
    qtbot.addWidget(view)
    view.resize(800, 640)
    view.show()
    view.set_model(model)
    view.refresh(2)
    assert view.note.isVisible() and "was not kept" in view.note.text()
    assert view.image.isVisible()


# ---------------------------------------------------------------------- reopened sessions
@pytest.fixture(scope="module")
def reopened(tmp_path_factory):
    spec = {**DEEP, "network": {"layers": [{"units": 8, "activation": "tanh"}] * 2}}
    spec["training"] = {**spec["training"], "steps": 3000}
    exp = Experiment(spec)
    exp.run()
    path = exp.save(tmp_path_factory.mktemp("s") / "three-thousand.gradlab")
    return path


def test_a_reopened_session_draws_every_step_not_a_sawtooth(qtbot, reopened):
    model = RunModel.from_experiment(load_session(reopened), 1)
    view = TrainingView()
    qtbot.addWidget(view)
    view.resize(240, 160)  # drawn first while narrow (a hidden tab)
    view.set_model(model)
    view.refresh(None)
    view.resize(1400, 800)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.p_loss.vb.width() > 500, timeout=5000)
    x, y = view.c_step_loss.getData()
    n = model.history.n_steps
    # at full width every step is drawn (a min/max pair per ~30 steps drew a regular sawtooth)
    assert len(x) == n == 3000
    np.testing.assert_allclose(10**y, model.history.steps()["loss"], rtol=1e-6)  # (log axis)


def test_a_reopened_sessions_heatmap_spans_its_steps_not_more(qtbot, reopened):
    model = RunModel.from_experiment(load_session(reopened), 1)
    view = HeatmapsView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.set_model(model)
    view.refresh(None)
    (x0, x1), _ = view.plots[0].viewRange()
    last = int(model.history.probe_steps()[-1])
    assert last == 3000
    assert x0 == 0 and last <= x1 <= 1.05 * last  # not 8,000 (an image: no lead before step 0)


def test_a_reopened_session_in_the_window(qtbot, settings, reopened):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.load_preset("dead-relu", confirm=False)
        qtbot.waitUntil(lambda: win.run.name == "dead-relu", timeout=30000)
        assert win.preset_box.currentText() == "dead-relu"
        win.open_file(str(reopened), confirm=False)
        qtbot.waitUntil(lambda: win.run.name == "deep spiral", timeout=30000)
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 3000,
                        timeout=10000)
        win._tick(force=True)
        # the Preset box lets go of the previous preset's name
        assert win.preset_box.currentIndex() == -1
        # the epoch the run reached, not step / 1
        epoch = win.run.history.latest_step()["epoch"]
        assert f"epoch {epoch:.2f}" in win.lbl_step.text()
        assert epoch < 1000
        header = [
            win.compare.metrics.horizontalHeaderItem(j).text()
            for j in range(win.compare.metrics.columnCount())
        ]
        assert "val err %" in header and "test err %" not in header
    finally:
        stop_window(win)


# ---------------------------------------------------------------------- notes
def test_each_views_note_says_what_its_statistics_are(qapp):
    from gradlab.app.views import VIEWS

    notes = {v.key: v.summary + " " + v.details for v in VIEWS}
    assert "n·dL/dz" in notes["distributions"] and "per-example" in notes["distributions"]
    assert "d a(l) / d a(l-1)" in notes["profile"] and "|f'(z)|" in notes["profile"]
    assert "d a(l) / d a(l-1)" in notes["over_time"]
    assert "before it" in notes["over_time"]  # the update ratio's ||W||
    assert "look first" in notes["dashboard"]
    assert "validation error" in notes["compare"]


# ---------------------------------------------------------------------- CS231n's collapse
@pytest.fixture(scope="module")
def collapse():
    """CS231n lecture 6's tanh net with W ~ N(0, 0.01^2), small: the signal dies layer after
    layer and the output's logits are ~1e-7."""
    exp = Experiment({
        "name": "collapse", "seed": 0, "data": {"name": "gaussian", "n": 300, "dim": 100},
        "network": {"layers": [{"units": 100, "activation": "tanh",
                                "init": {"name": "normal", "std": 0.01}}] * 8},
        "training": {"steps": 6, "batch_size": 100},
        "probes": {"every": 2, "batch": 200},
    })  # fmt: skip
    exp.run()
    return RunModel.from_experiment(exp, 1)


def test_the_output_layers_heatmap_is_not_blank(qtbot, collapse):
    view = HeatmapsView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_model(collapse)
    view.refresh(None)
    out_plot, out_img = view.plots[-1], view.images[-1]
    rect = out_img.mapRectToParent(out_img.boundingRect())
    (_x0, _x1), (y0, y1) = out_plot.viewRange()
    assert abs(rect.height()) < 0.05  # the logits are tiny...
    # ...and the output's own y axis frames them (shared with the hidden layers, it was blank)
    h = abs(rect.height())
    assert rect.top() - 0.1 * h <= y0 < y1 <= rect.bottom() + 0.1 * h and y1 - y0 > 0.2 * h
    assert np.nanmax(out_img.image) > -5  # (log colour: not all at the floor, some values)
    assert view.plots[0].viewRange()[1][1] > 0.1  # the hidden layers keep their axis


def test_tick_labels_never_overlap(qtbot, collapse):
    from PySide6.QtGui import QImage, QPainter

    from gradlab.app.views.profile import ProfileView

    view = ProfileView()
    qtbot.addWidget(view)
    view.resize(420, 300)  # a Dashboard cell's plots: ~100 px for nine layers
    view.show()
    qtbot.waitExposed(view)
    view.set_model(collapse)
    view.refresh(None)
    image = QImage(10, 10, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        for plot in view.plots:
            for name in ("bottom", "left"):
                axis = plot.getAxis(name)
                _axis, _ticks, texts = axis.generateDrawSpecs(painter)
                rects = sorted((r for r, _f, t in texts if t), key=lambda r: (r.left(), r.top()))
                for a, b in itertools.pairwise(rects):
                    assert not a.intersects(b), f"{name}: {a} and {b} overlap"
        labels = [t for _r, _f, t in view.plots[0].getAxis("bottom").generateDrawSpecs(painter)[2]]
        assert labels[0] == "1" and labels[-1] == "out" and len(labels) < 9
    finally:
        painter.end()


def test_an_empty_compare_tab_offers_to_pin_the_run(qtbot, settings):  # noqa: F811
    from PySide6.QtCore import Qt

    win = make_window(qtbot, settings)
    try:
        win.tabs.setCurrentWidget(win.compare)
        qtbot.waitUntil(lambda: win.compare.pin_btn.isVisible(), timeout=5000)
        label = win.compare.empty
        assert "Ctrl+P" in label.text()
        qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()), timeout=3000)
        assert not win.compare.body.isVisible()
        qtbot.mouseClick(win.compare.pin_btn, Qt.MouseButton.LeftButton)
        assert [r.spec["name"] for r in win.pinned] == [win.run.spec["name"]]
        qtbot.waitUntil(lambda: win.compare.body.isVisible(), timeout=5000)
        assert not win.compare.pin_btn.isVisible()
        assert win.compare.run_list.count() == 1
    finally:
        stop_window(win)


def test_a_growing_value_never_sits_on_the_edge_of_its_axis(qapp):
    """A point on the very edge of a plot shows half a marker (the Layer profile's output
    layer, creeping up between probes): the range grows before the data reach its end."""
    from gradlab.app.views.ranges import EDGE, GrowingRange

    for log, floor, values in (
        (False, (0.0, 1.2), np.linspace(2.0, 2.6, 200)),
        (True, None, np.geomspace(1e-3, 1e2, 300)),
    ):
        plot = pg.PlotItem()
        rng = GrowingRange(plot, "y", headroom=0.1, log=log, floor=floor)
        changes = 0
        for v in values:
            changes += rng.fit(np.array([1e-4, v]))
            top = np.log10(v) if log else v
            assert top <= rng.hi - EDGE * (rng.hi - rng.lo) + 1e-12
            assert plot.vb.viewRange()[1][1] == pytest.approx(rng.hi)
        assert changes <= 20  # it grows in jumps (of 300 frames), not every frame
        assert not rng.fit(np.array([1e-4, values[-1]]))  # and then rests
