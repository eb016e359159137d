"""The window in front of a class, driven as a lecturer drives it: Space runs from any field but a
free-text one, the zoom is remembered, the timeline jumps where it is clicked, runs play at a
lecture pace with Max speed one click away, and the status bar shows the speed achieved."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from gradlab.app import theme
from gradlab.app.lecture import RateMeter, lecture_rate
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


@pytest.fixture(autouse=True)
def normal_size(qapp):
    theme.set_zoom(1.0)
    yield
    theme.set_zoom(1.0)
    theme.apply("light")


def focus(qtbot, win, widget) -> None:
    win.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=5000)


def running(win) -> bool:
    return win.snapshot is not None and win.snapshot.status == "running"


# ---------------------------------------------------------------------- Space
def test_space_in_a_numeric_field_commits_the_value_and_runs(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        box = win.lr_box
        focus(qtbot, win, box)
        box.selectAll()
        qtbot.keyClicks(box, "0.05")
        qtbot.keyClick(box, Qt.Key.Key_Space)
        assert win.doc.lr() == 0.05  # the typed rate was committed, not blanked
        assert " " not in box.text()
        qtbot.waitUntil(lambda: running(win), timeout=10000)
        qtbot.waitUntil(lambda: win.run.experiment.lr == 0.05, timeout=10000)
        assert QApplication.focusWidget() is not box  # the focus went to the views
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: not running(win), timeout=10000)
    finally:
        stop_window(win)


def test_space_on_a_drop_down_runs_instead_of_opening_it(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        combo = win.panels[2].optimizer  # the Training panel's optimiser
        win.docks[2].raise_()
        focus(qtbot, win, combo)
        qtbot.keyClick(combo, Qt.Key.Key_Space)
        assert QApplication.activePopupWidget() is None  # no list opened
        assert not combo.view().isVisible()
        qtbot.waitUntil(lambda: running(win), timeout=10000)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: not running(win), timeout=10000)
    finally:
        stop_window(win)


def test_the_quick_builder_takes_spaces_and_esc_hands_focus_back(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        quick = win.panels[0].quick
        win.docks[0].raise_()
        focus(qtbot, win, quick)
        qtbot.keyClicks(quick, "3 x 8 relu")
        assert quick.text() == "3 x 8 relu"  # free text: the spaces are text
        assert not running(win)
        qtbot.keyClick(quick, Qt.Key.Key_Escape)
        views = QApplication.focusWidget()
        assert views is win.tabs.tabBar()  # the views have it (the tabs' bar)
        qtbot.keyClick(views, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: running(win), timeout=10000)
        win.toggle_run()
        qtbot.waitUntil(lambda: not running(win), timeout=10000)
    finally:
        stop_window(win)


# ---------------------------------------------------------------------- zoom
def test_zoom_scales_the_views_and_persists_across_a_restart(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    base = QApplication.font().pointSizeF()
    view = win.views[1]  # Distributions
    win.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.built, timeout=10000)
    small = view.plots[0].getAxis("bottom").style["tickFont"].pointSizeF()
    pen = view.curves[0].opts["pen"].width()
    table = win.panels[0].view  # the layer table sets its own smaller font and row height
    table_pt, row_h = table.font().pointSizeF(), table.verticalHeader().defaultSectionSize()
    quick_pt = win.panels[0].quick.font().pointSizeF()
    win.act_zoom_in.trigger()
    win.act_zoom_in.trigger()
    assert theme.zoom() == 1.25
    assert QApplication.font().pointSizeF() == pytest.approx(base * 1.25)
    # the panels' text, not only the plots'
    assert table.font().pointSizeF() == pytest.approx(table_pt * 1.25)
    assert table.verticalHeader().defaultSectionSize() >= row_h * 1.2
    assert win.panels[0].quick.font().pointSizeF() == pytest.approx(quick_pt * 1.25)
    qtbot.waitUntil(lambda: view.built, timeout=10000)
    assert view.plots[0].getAxis("bottom").style["tickFont"].pointSizeF() == pytest.approx(
        small * 1.25
    )
    assert view.curves[0].opts["pen"].width() > pen
    stop_window(win)
    win.close()
    theme.set_zoom(1.0)  # a new launch starts at 100% until the settings say otherwise

    again = make_window(qtbot, settings)
    try:
        assert theme.zoom() == 1.25
        assert QApplication.font().pointSizeF() == pytest.approx(base * 1.25)
        # the panels are built at the remembered zoom
        assert again.panels[0].view.font().pointSizeF() == pytest.approx(table_pt * 1.25)
        assert again.panels[0].quick.font().pointSizeF() == pytest.approx(quick_pt * 1.25)
        assert again.lr_box.font().pointSizeF() == pytest.approx(base * 1.25)
        qtbot.keyClick(again.tabs, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
        assert theme.zoom() == 1.0
        assert QApplication.font().pointSizeF() == pytest.approx(base)
        assert float(settings.value("zoom")) == 1.0
    finally:
        stop_window(again)


# ---------------------------------------------------------------------- the timeline
def test_a_timeline_click_lands_where_clicked(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.step_once(600)
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 600,
                        timeout=20000)
        win._tick(force=True)
        slider = win.timeline.slider
        n = slider.maximum() + 1
        assert n > 30
        handle = slider.handle_rect()
        for fraction in (0.3, 0.75):
            x = round(handle.width() / 2 + fraction * (slider.width() - handle.width()))
            qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, slider.height() // 2))
            row = slider.value()
            assert abs(row - fraction * (n - 1)) <= 1.5  # there, not one page towards it
            steps = win.run.history.probe_steps()
            assert win.timeline.selected_step == steps[row]
            assert win.timeline.row() == row
    finally:
        stop_window(win)


# ---------------------------------------------------------------------- pace and speed
def test_runs_play_at_a_lecture_pace_with_max_speed_one_click_away(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings, run_at_start=True)  # gradlab --run
    try:
        exp = win.run.experiment
        assert win.speed_setting == "lecture"
        assert win.steps_per_second() == pytest.approx(4000 / 60)  # spiral: 4,000 steps
        qtbot.waitUntil(lambda: exp.pace == pytest.approx(60 / 4000), timeout=10000)
        assert "67 steps/s" in win.speed_box.currentText()
        qtbot.mouseClick(win.max_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: exp.pace is None, timeout=10000)
        assert win.speed_box.currentText() == "Max speed"
        qtbot.mouseClick(win.max_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: exp.pace is not None, timeout=10000)
        assert win.speed_setting == "lecture"
        win.toggle_run()
        qtbot.waitUntil(lambda: not running(win), timeout=10000)
        win.load_preset("exploding-chain", confirm=False)  # a preset with its own pace
        qtbot.waitUntil(lambda: win.run.name == "exploding-chain", timeout=20000)
        assert win.steps_per_second() == pytest.approx(300 / 30)
        qtbot.waitUntil(lambda: win.run.experiment.pace == pytest.approx(0.1), timeout=10000)
    finally:
        stop_window(win)


def test_the_rate_meter_measures_steps_over_time():
    clock = [0.0]
    meter = RateMeter(window=1.5, clock=lambda: clock[0])
    assert meter.rate() is None
    for i in range(60):  # 30 snapshots a second, 2 steps each: 60 steps/s
        clock[0] = i / 30
        meter.add(2 * i)
    assert meter.rate() == pytest.approx(60.0)
    meter.add(0)  # a new run
    assert meter.rate() is None
    assert lecture_rate(4000) == pytest.approx(66.67, rel=1e-3)
    assert lecture_rate(30) == 1.0 and lecture_rate(None) == 30.0


def test_the_status_bar_shows_the_speed_achieved_not_a_burst(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        win.speed_box.setCurrentIndex(win.speed_box.findData(30.0))
        win.toggle_run()
        qtbot.waitUntil(lambda: "steps/s" in win.lbl_rate.text(), timeout=10000)
        qtbot.waitUntil(lambda: win.snapshot.step > 40, timeout=10000)
        shown = float(re.match(r"([\d,.]+) steps/s", win.lbl_rate.text())[1].replace(",", ""))
        # capped at 30 steps/s: the achieved speed (the burst rate of a chunk was thousands)
        assert 0 < shown <= 45
        win.toggle_run()
        qtbot.waitUntil(lambda: not running(win), timeout=10000)
    finally:
        stop_window(win)
