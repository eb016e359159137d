"""The window's frames while training runs flat out (issue 17): they take only their share of the
time, the user's own requests (a tab switch) are drawn at once with the newest data, a paused run
shows its last state, and views nobody sees do no drawing work."""

from __future__ import annotations

import pytest

from gradlab.app.pacing import FramePacer
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401


class Clocks:
    """A wall clock and the window thread's CPU clock, moved by the test."""

    def __init__(self) -> None:
        self.wall = 100.0
        self.cpu = 10.0


def pacer(clocks: Clocks, share: float = 0.2, max_gap: float = 0.25) -> FramePacer:
    return FramePacer(share, max_gap, clock=lambda: clocks.wall, cpu_clock=lambda: clocks.cpu)


def test_a_costly_frame_delays_the_next_until_the_window_is_back_under_its_share():
    c = Clocks()
    p = pacer(c)
    assert p.due(busy=True)  # the first frame is always drawn
    p.drawn()
    c.wall += 0.033
    c.cpu += 0.020  # the frame and its paint took 20 ms of the window's thread
    assert not p.due(busy=True)  # 20 ms in 33 ms is over a 20% share: held back
    assert p.held == 1
    c.wall += 0.077  # 110 ms since the frame: 20 ms is within its share
    assert p.due(busy=True)
    p.drawn()
    assert p.held == 0
    c.wall += 0.033
    c.cpu += 0.002  # a cheap frame: the next one comes at the timer's pace
    assert p.due(busy=True)


def test_training_in_its_own_process_leaves_the_frames_a_larger_share():
    c = Clocks()
    p = pacer(c)
    p.remote_share = 0.5
    p.drawn()
    c.wall += 0.050
    c.cpu += 0.020  # 40% of the time: over the thread's 20%, within the process's 50%
    assert not p.due(busy=True)
    assert p.due(busy=True, remote=True)
    assert p.wait() == 0.0
    assert not p.due(busy=True) and p.wait() == pytest.approx(0.1 - 0.05)


def test_frames_are_never_held_when_training_is_not_flat_out_nor_for_longer_than_the_gap():
    c = Clocks()
    p = pacer(c)
    p.drawn()
    c.wall += 0.033
    c.cpu += 0.030
    assert p.due(busy=False)  # paused or paced: every frame is drawn
    assert not p.due(busy=True)
    c.wall += 0.25  # however costly the frames, one is drawn every max_gap seconds
    c.cpu += 0.25
    assert p.due(busy=True)


@pytest.mark.qt
def test_held_frames_still_show_the_newest_data_on_a_tab_switch_and_on_pause(
    qtbot, settings  # noqa: F811
):
    win = make_window(qtbot, settings)
    try:
        win.pacer.share, win.pacer.max_gap = 0.0, 1e9  # every unrequested frame is held
        training = next(v for v in win.views if v.key == "training")
        win.tabs.setCurrentWidget(training)
        win.speed_box.setCurrentIndex(win.speed_box.findData(None))  # Max speed
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step > 200, timeout=20000)
        drawn = training._last
        h = win.run.history
        qtbot.waitUntil(lambda: h.latest_step()["step"] > drawn + 200, timeout=20000)
        assert training._last == drawn  # the frames were held back while training ran
        assert win.pacer.held > 0
        # a tab switch is the user's: drawn at once, with the newest data
        profile = next(v for v in win.views if v.key == "profile")
        seen: list[tuple[int | None, int]] = []
        original = profile.draw
        profile.draw = lambda model, row: (seen.append((row, model.history.n_probes)),
                                           original(model, row))
        probes = h.n_probes
        assert probes > 5
        win.tabs.setCurrentWidget(profile)
        assert seen and seen[0][0] is None and seen[0][1] >= probes  # the newest probe, live
        before = h.latest_step()["step"]
        win.tabs.setCurrentWidget(training)
        assert training._last >= before
        # paused: the run is no longer flat out, so the last state is drawn
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=10000)
        qtbot.waitUntil(lambda: training._last == h.latest_step()["step"], timeout=5000)
    finally:
        stop_window(win)


@pytest.mark.qt
def test_views_nobody_sees_do_no_drawing_work_while_training(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        # the hidden views are built, and drawn once, in idle time after the run is built
        # (viewbuild.py, issue 17's first visits): that is done before training is watched
        qtbot.waitUntil(lambda: not win._prebuild_timer.isActive(), timeout=20000)
        drawn: dict[str, int] = {}
        views = [v for v in win.views if v.key not in ("dashboard", "compare")]
        dash = next(v for v in win.views if v.key == "dashboard")
        for view in [*views, *dash.parts]:
            original = view.draw

            def counted(model, row, _orig=original, _key=view.key, _v=view):
                key = f"dashboard/{_key}" if _v in dash.parts else _key
                drawn[key] = drawn.get(key, 0) + 1
                _orig(model, row)

            view.draw = counted
        training = next(v for v in views if v.key == "training")
        win.tabs.setCurrentWidget(training)
        win.speed_box.setCurrentIndex(win.speed_box.findData(None))  # Max speed
        win.act_run.trigger()
        qtbot.waitUntil(lambda: drawn.get("training", 0) >= 5, timeout=20000)
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=10000)
        assert set(drawn) == {"training"}  # only the view on screen drew anything
    finally:
        stop_window(win)


def test_a_held_frame_says_how_long_until_it_is_due():
    c = Clocks()
    p = pacer(c)
    p.drawn()
    c.wall += 0.033
    c.cpu += 0.030  # 30 ms at a 20% share: the next frame is due 150 ms after this one
    assert not p.due(busy=True)
    assert abs(p.wait() - (0.150 - 0.033)) < 1e-9
    c.cpu += 0.100  # never longer than the longest gap
    assert abs(p.wait() - (0.25 - 0.033)) < 1e-9
