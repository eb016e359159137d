"""Tab switches without a long stall (issue 17): a view switched to paints its plots one a turn
and then shows every plot with the current data; views built in idle time are drawn there once;
the Training view's step curves are thinned to the plot's width without losing a spike or the
newest step."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.app.model import RunModel
from gradlab.app.views.common import normalise
from gradlab.app.views.decimate import envelope
from gradlab.app.views.training import MIN_BUCKETS, TrainingView
from gradlab.experiment import Experiment
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

TINY = {
    "name": "tiny",
    "seed": 1,
    "data": {"name": "xor", "n": 400},
    "network": {"layers": [{"units": 8, "activation": "tanh"}] * 2},
    "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 32, "steps": 100},
    "probes": {"every": 10, "per_decade": 0, "bins": 20},
}


# ---------------------------------------------------------------------- thinning, headless
def test_envelope_keeps_a_one_row_spike_and_ends_on_the_newest_row():
    x = np.arange(100_000, dtype=np.float64)
    y = 1.0 / (1.0 + x)
    y[61_234] = 50.0  # one step's loss spike
    y[7] = -3.0  # and a dip
    tx, (ty,) = envelope(x, [y], 400)
    assert len(tx) == len(ty) == 801  # a (min, max) pair per bucket, then the newest row
    assert ty.max() == 50.0 and ty.min() == -3.0  # both still drawn
    assert tx[-1] == x[-1] and ty[-1] == y[-1]
    assert np.all(np.diff(tx) >= 0)  # still a line along the steps
    # every bucket's stroke covers exactly what its rows span
    starts = np.linspace(0, len(x), 400, endpoint=False).astype(int)
    ends = np.append(starts[1:], len(x))
    for k in (0, 153, 399):
        rows = y[starts[k]:ends[k]]
        assert (ty[2 * k], ty[2 * k + 1]) == (rows.min(), rows.max())


def test_envelope_leaves_short_curves_alone_and_keeps_gaps_where_nothing_was_measured():
    x = np.arange(50.0)
    y = np.sin(x)
    tx, (ty,) = envelope(x, [y], 100)
    assert np.array_equal(tx, x) and np.array_equal(ty, y)
    x = np.arange(10_000.0)
    y = np.ones_like(x)
    y[2_000:4_000] = np.nan  # a stretch with no finite value (a log axis' non-positive loss)
    y[5_000] = np.nan  # a single NaN inside a bucket: the bucket's other rows still draw
    tx, (ty,) = envelope(x, [y], 100)
    gaps = tx[:-1][np.isnan(ty[:-1])]
    assert len(gaps) and gaps.min() >= 2_000 and gaps.max() < 4_000
    assert np.all(ty[(tx >= 4_000) & (tx < 10_000)] == 1.0)


# ---------------------------------------------------------------------- the Training view
@pytest.mark.qt
def test_the_training_view_draws_a_long_run_thinned_with_its_spike_and_newest_step(qtbot):
    exp = Experiment(TINY)
    exp.run(steps=100)
    model = RunModel.from_experiment(exp, run_id=1)
    h = model.history
    for s in range(101, 15_001):  # a long run: 15,000 step rows
        h.append_step(s, s / 10, 1.0 / s if s != 9_001 else 40.0, 0.1, 1.0, False)
    view = TrainingView()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.show()
    qtbot.waitExposed(view)
    view.set_model(model)
    view.refresh(None)
    x, y = view.c_step_loss.xData, view.c_step_loss.yData
    assert len(x) <= 2 * max(MIN_BUCKETS, int(view.p_loss.vb.width())) + 1 < 15_000 / 5
    assert np.nanmax(y) == 40.0  # the one-step spike is drawn
    assert x[-1] == 15_000 and y[-1] == pytest.approx(1 / 15_000)  # the newest step, last
    assert view.c_gn.xData[-1] == 15_000 and view.c_lr.yData[-1] == pytest.approx(0.1)


# ---------------------------------------------------------------------- the window
def plot_items(view) -> list:
    return view.canvas_items()


def assert_newest_probe(dist) -> None:
    """The Distributions view's curves are the newest probe's histograms."""
    h = dist.model.history
    p = h.probe(h.n_probes - 1)
    frac = normalise(p["hists"][dist.hist_key])
    assert len(dist.curves) == len(frac)
    for curve, y in zip(dist.curves, frac):
        assert curve.yData is not None and np.allclose(curve.yData, y)


@pytest.mark.qt
def test_a_view_switched_to_paints_a_plot_a_turn_then_shows_every_plot_up_to_date(
    qtbot, settings  # noqa: F811
):
    win = make_window(qtbot, settings)
    try:
        win.speed_box.setCurrentIndex(win.speed_box.findData(None))  # Max speed
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.run.history.n_probes >= 4, timeout=20000)
        win.act_run.trigger()  # paused: the data the view must show stays put
        qtbot.waitUntil(lambda: win.snapshot.status != "running", timeout=10000)
        qtbot.waitUntil(lambda: not win._prebuild_timer.isActive(), timeout=20000)
        h = win.run.history
        dist = next(v for v in win.views if v.key == "distributions")
        training = next(v for v in win.views if v.key == "training")
        for view in (dist, training):
            win.tabs.setCurrentWidget(view)
            items = plot_items(view)
            assert len(items) > 1
            # the switch itself paints no plot: they come one a turn
            assert not view.revealed and all(it.opacity() == 0 for it in items)
            qtbot.waitUntil(lambda v=view: v.revealed, timeout=5000)
            assert all(it.opacity() == 1 and it.isVisible() for it in plot_items(view))
        # ...with the current data: the newest step and the newest probe
        assert training.c_step_loss.xData[-1] == h.latest_step()["step"]
        assert_newest_probe(dist)
    finally:
        stop_window(win)


@pytest.mark.qt
def test_a_view_left_before_its_plots_were_all_painted_is_whole_when_shown_again(
    qtbot, settings  # noqa: F811
):
    win = make_window(qtbot, settings)
    try:
        qtbot.waitUntil(lambda: not win._prebuild_timer.isActive(), timeout=20000)
        dist = next(v for v in win.views if v.key == "distributions")
        profile = next(v for v in win.views if v.key == "profile")
        win.tabs.setCurrentWidget(dist)
        assert not dist.revealed
        win.tabs.setCurrentWidget(profile)  # away at once
        assert dist.revealed and all(it.opacity() == 1 for it in plot_items(dist))
        qtbot.waitUntil(lambda: profile.revealed, timeout=5000)
        assert all(it.opacity() == 1 for it in plot_items(profile))
        # an exported figure never catches a view half painted
        win.tabs.setCurrentWidget(dist)
        dist.figure_widget()
        assert dist.revealed and all(it.opacity() == 1 for it in plot_items(dist))
        dash = next(v for v in win.views if v.key == "dashboard")
        win.tabs.setCurrentWidget(dash)
        assert not all(part.revealed for part in dash.shown)
        dash.figure_widget()
        for part in dash.shown:
            assert part.revealed and all(it.opacity() == 1 for it in plot_items(part))
    finally:
        stop_window(win)


@pytest.mark.qt
def test_a_view_built_in_idle_time_is_drawn_there_before_its_first_visit(
    qtbot, settings  # noqa: F811
):
    win = make_window(qtbot, settings)
    try:
        qtbot.waitUntil(lambda: not win._prebuild_timer.isActive(), timeout=20000)
        dist = next(v for v in win.views if v.key == "distributions")
        assert win.tabs.currentWidget() is not dist and dist.built
        # never shown, yet its curves hold the newest probe: the first visit only updates them
        assert_newest_probe(dist)
    finally:
        stop_window(win)
