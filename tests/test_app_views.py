"""The four layer-wise views, each driven alone (no window): Distributions, Layer profile, Over
time and Heatmaps show what the history holds for the probe a user selects."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.app import theme
from gradlab.app.model import RunModel
from gradlab.app.views.common import grid_shape
from gradlab.app.views.distributions import DistributionsView
from gradlab.app.views.heatmaps import HeatmapsView, resample, step_columns
from gradlab.app.views.overtime import OverTimeView
from gradlab.app.views.profile import ProfileView
from gradlab.experiment import HIST_QUANTITIES, LAYER_STATS, Experiment, History, ProbeRecord

pytestmark = pytest.mark.qt

TINY = {
    "name": "tiny",
    "seed": 1,
    "data": {"name": "xor", "n": 400},
    "network": {"layers": [{"units": 16, "activation": "tanh"}] * 3},
    "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 32, "steps": 100},
    "probes": {"every": 5, "per_decade": 0, "bins": 20, "jacobian_every": 2, "batch": 128},
}


@pytest.fixture(scope="module")
def run() -> RunModel:
    """3 x 16 tanh on xor, 100 steps, a probe every 5 steps (21 probes, 4 layers)."""
    exp = Experiment(TINY)
    exp.run(steps=100)
    return RunModel.from_experiment(exp, run_id=1)


@pytest.fixture(autouse=True)
def light_theme(qapp):
    theme.apply("light")
    yield
    theme.apply("light")


def show(qtbot, cls, model, row=None, **options):
    view = cls()
    qtbot.addWidget(view)
    view.resize(900, 600)
    view.set_model(model)
    view.refresh(row)
    return view


def fractions(counts: np.ndarray) -> np.ndarray:
    c = counts.astype(np.float64)
    return c / c.sum(axis=-1, keepdims=True)


def select(combo, data) -> None:
    i = combo.findData(data)
    assert i >= 0, data
    combo.setCurrentIndex(i)


# ---------------------------------------------------------------------- Distributions
def test_distributions_draw_each_layers_normalised_histogram_of_the_newest_probe(qtbot, run):
    view = show(qtbot, DistributionsView, run)
    h = run.history
    p = h.probe(-1)
    L, bins = h.n_layers, h.bins
    assert len(view.curves) == L == 4
    ranges = p["ranges"]["act"]  # (L, 2): the hidden layers share a range, the output its own
    assert (ranges[:-1] == ranges[0]).all()
    for i, curve in enumerate(view.curves):
        x, y = curve.xData, curve.yData
        assert len(x) == bins + 1 and len(y) == bins
        np.testing.assert_allclose(x, np.linspace(*ranges[i], bins + 1))
        assert y.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(y, fractions(p["hists"]["act"][i]))
    assert f"step {p['step']:,}" in view.header.text
    # overlaid, the x axis is the hidden layers' stored range (the logits may be far wider)
    (x0, x1), _ = view.plots[0].viewRange()
    assert (x0, x1) == pytest.approx(tuple(ranges[0]))


def test_distributions_scrubbing_shows_the_selected_probe(qtbot, run):
    view = show(qtbot, DistributionsView, run)
    h = run.history
    newest = [c.yData.copy() for c in view.curves]
    view.refresh(2)
    p = h.probe(2)
    assert p["step"] == 10
    for i, curve in enumerate(view.curves):
        np.testing.assert_allclose(curve.yData, fractions(p["hists"]["act"][i]))
    assert "step 10" in view.header.text
    assert any(not np.allclose(a, c.yData) for a, c in zip(newest, view.curves))


def test_distributions_quantity_and_log_axis_switch_the_histogram(qtbot, run):
    view = show(qtbot, DistributionsView, run)
    p = run.history.probe(-1)
    act = [c.yData.copy() for c in view.curves]
    assert not view.logx_box.isEnabled()  # log10|x| is recorded for the gradients only
    select(view.quantity_box, "delta")
    assert view.logx_box.isEnabled()
    for i, curve in enumerate(view.curves):
        np.testing.assert_allclose(curve.yData, fractions(p["hists"]["delta"][i]))
    assert any(not np.allclose(a, c.yData) for a, c in zip(act, view.curves))
    view.logx_box.setChecked(True)
    for i, curve in enumerate(view.curves):
        lo, hi = p["ranges"]["delta_log"][i]
        np.testing.assert_allclose(curve.yData, fractions(p["hists"]["delta_log"][i]))
        assert curve.xData[0] == lo and curve.xData[-1] == hi
    assert view.plots[0].getAxis("bottom").labelText == "log10 |δ|"


def test_distributions_log_y_puts_empty_bins_on_a_floor(qtbot, run):
    view = show(qtbot, DistributionsView, run)
    view.logy_box.setChecked(True)
    p = run.history.probe(-1)
    for i, curve in enumerate(view.curves):
        y = curve.yData
        assert (y > 0).all()
        frac = fractions(p["hists"]["act"][i])
        np.testing.assert_allclose(y[frac > 0], frac[frac > 0])
        assert y[frac == 0].max(initial=0) < frac[frac > 0].min()
    assert view.plots[0].ctrl.logYCheck.isChecked()


def test_distributions_small_multiples_give_one_plot_per_layer(qtbot, run):
    view = show(qtbot, DistributionsView, run)
    select(view.layout_box, "multiples")
    L = run.n_layers
    assert len(view.plots) == L and len(view.curves) == L
    p = run.history.probe(-1)
    for i, (plot, curve) in enumerate(zip(view.plots, view.curves)):
        assert curve in plot.listDataItems()
        np.testing.assert_allclose(curve.yData, fractions(p["hists"]["act"][i]))
    assert "output" in view.plots[-1].titleLabel.text
    rows, cols = grid_shape(L)
    assert rows * cols >= L


# ---------------------------------------------------------------------- Layer profile
def test_profile_plots_the_probe_against_layer_index_with_the_theory(qtbot, run):
    view = show(qtbot, ProfileView, run)
    h = run.history
    p = h.probe(-1)
    L = run.n_layers
    np.testing.assert_array_equal(view.c_act_std.xData, np.arange(1, L + 1))
    np.testing.assert_allclose(view.c_act_std.yData, p["stats"]["act_std"])
    np.testing.assert_allclose(view.c_act_mean.yData, p["stats"]["act_mean"])
    np.testing.assert_allclose(view.c_pre_std.yData, p["stats"]["pre_std"])
    np.testing.assert_allclose(view.c_speed.yData, p["stats"]["bias_grad_norm"])
    np.testing.assert_allclose(view.b_sat.opts["height"], p["stats"]["act_saturated"])
    np.testing.assert_allclose(view.b_dead.opts["height"], p["stats"]["act_dead"])
    np.testing.assert_allclose(view.c_act_std_theory.yData, h.theory["act_std"])
    np.testing.assert_allclose(view.c_pre_std_theory.yData, h.theory["pre_std"])
    assert view.c_act_std_theory.isVisible()
    # the layer axis reads 1, 2, 3, out (every layer: there is room for them)
    axis = view.plots[0].getAxis("bottom")
    assert axis.labels == ["1", "2", "3", "out"]
    (_k, shown), _minor = axis.tickValues(0.5, 4.5, 300)
    assert axis.tickStrings(shown, 1, 1) == ["1", "2", "3", "out"]
    # in a narrow plot of eleven layers only some are labelled, the first and the output always
    axis.set_layers([str(i) for i in range(1, 11)] + ["out"])
    (_k, few), _minor = axis.tickValues(0.5, 11.5, 80)
    labels = axis.tickStrings(few, 1, 1)
    assert labels[0] == "1" and labels[-1] == "out" and len(labels) < 6
    assert "mean-field prediction (step 0)" in view.header.text


def test_profile_jacobian_is_the_newest_measurement_at_or_before_the_row(qtbot, run):
    h = run.history
    jac = h.probe_column("jacobian_sv_mean")
    measured = np.isfinite(jac).all(axis=1)
    assert measured[0] and not measured[1] and measured[2]  # jacobian_every = 2
    view = show(qtbot, ProfileView, run, row=3)
    np.testing.assert_allclose(view.c_jac.yData, jac[2])
    np.testing.assert_allclose(view.c_act_std.yData, h.probe(3)["stats"]["act_std"])
    assert "step 10" in view.plots[5].titleLabel.text  # probe 2 was taken at step 10


def test_profile_shows_the_cs231n_collapse_with_small_weights(qtbot):
    """CS231n lecture 6: tanh layers initialised with W ~ N(0, 0.01^2) on Gaussian input: the
    activations' std shrinks layer after layer towards 0."""
    spec = {
        "name": "cs231n-0.01",
        "seed": 0,
        "data": {"name": "gaussian", "n": 1000, "dim": 500},
        "network": {
            "layers": [
                {"units": 200, "activation": "tanh", "init": {"name": "normal", "std": 0.01}}
            ]
            * 6
        },
        "training": {"steps": 10},
        "probes": {"every": 5, "jacobian_every": 0, "batch": 256},
    }
    exp = Experiment(spec)
    exp.ensure_initial_probe()
    model = RunModel.from_experiment(exp, run_id=2)
    view = show(qtbot, ProfileView, model)
    hidden = view.c_act_std.yData[:-1]
    assert len(hidden) == 6
    assert (np.diff(hidden) < 0).all()
    assert hidden[-1] < 1e-3 * hidden[0]
    # the mean-field prediction agrees at step 0
    np.testing.assert_allclose(view.c_act_std_theory.yData[:3], hidden[:3], rtol=0.1)


def test_profile_hiding_the_output_layer_zooms_on_the_hidden_ones(qtbot, run):
    view = show(qtbot, ProfileView, run)
    L = run.n_layers
    assert view.plots[0].viewRange()[0] == pytest.approx([0.5, L + 0.5])
    view.output_box.setChecked(False)
    assert view.plots[0].viewRange()[0] == pytest.approx([0.5, L - 0.5])


# ---------------------------------------------------------------------- Over time
def over_time(qtbot, run, stat="all", layout="overlay", output=True):
    view = show(qtbot, OverTimeView, run)
    view.show()  # (linked axes follow each other on screen)
    qtbot.waitExposed(view)
    view.output_box.setChecked(output)
    select(view.layout_box, layout)
    select(view.stat_box, stat)
    view.refresh(None)
    return view


def lines(view, stat):
    """{layer: items} of the panel(s) showing ``stat``."""
    out = {}
    for panel in view.panels:
        if panel.stat == stat:
            out.update(panel.items)
    return out


def test_over_time_draws_one_line_per_layer_per_statistic_over_every_probe(qtbot, run):
    view = over_time(qtbot, run)
    h = run.history
    steps = h.probe_column("step")
    L = run.n_layers
    s = h.probe_stats(["act_mean", "act_p02", "act_p98", "bias_grad_norm", "wgrad_std"])
    assert [p.stat for p in view.panels] == ["act", "speed", "wgrad", "ratio", "jac"]
    for stat in ("act", "speed", "wgrad", "ratio"):
        items = lines(view, stat)
        assert sorted(items) == list(range(L))
        for group in items.values():
            for c in group:
                np.testing.assert_array_equal(c.xData, steps)
    act, speed, wgrad = lines(view, "act"), lines(view, "speed"), lines(view, "wgrad")
    for i in range(L):
        mean, lo, hi = act[i]
        np.testing.assert_allclose(mean.yData, s["act_mean"][:, i])
        # Glorot & Bengio's percentiles as lines of the layer's colour (not a merged band)
        np.testing.assert_allclose(lo.yData, s["act_p02"][:, i])
        np.testing.assert_allclose(hi.yData, s["act_p98"][:, i])
        assert lo.opts["pen"].color() == mean.opts["pen"].color()
        assert lo.opts["pen"].width() < mean.opts["pen"].width()
        # log plots: the curves hold log10 of the values (the axis labels them as values)
        np.testing.assert_allclose(speed[i][0].yData, np.log10(s["bias_grad_norm"][:, i]))
        np.testing.assert_allclose(wgrad[i][0].yData, np.log10(s["wgrad_std"][:, i]))
    # update ratio: NaN at step 0 (no update yet) is a gap, the rest is drawn
    ratio = lines(view, "ratio")[0][0].yData
    assert np.isnan(ratio[0]) and np.isfinite(ratio[1:]).all()


def test_over_time_small_multiples_share_their_axes(qtbot, run):
    view = over_time(qtbot, run, stat="act", layout="multiples", output=False)
    L = run.n_layers
    assert len(view.plots) == L - 1  # one per hidden layer (the output is off)
    assert [p.layers for p in view.panels] == [[i] for i in range(L - 1)]
    ranges = {tuple(map(tuple, p.viewRange())) for p in view.plots}
    assert len(ranges) == 1  # both axes shared
    # auto: one plot per layer from 5 layers on, else one plot
    select(view.layout_box, "auto")
    assert len(view.plots) == 1


def test_over_time_follows_the_data_not_the_budget(qtbot, run):
    view = over_time(qtbot, run, stat="speed")
    (x0, x1), _ = view.plots[0].viewRange()
    last = run.history.probe_column("step")[-1]
    assert last <= x1 <= 1.01 * last  # a finished run: its steps
    assert -0.03 * x1 <= x0 < 0  # (a little room left of step 0: its markers show whole)


def test_over_time_jacobian_points_only_where_measured(qtbot, run):
    view = over_time(qtbot, run, stat="jac")
    h = run.history
    steps = h.probe_column("step")
    jac = h.probe_column("jacobian_sv_mean")
    measured = np.isfinite(jac).any(axis=1)
    assert 0 < measured.sum() < len(steps)
    for i, (c,) in lines(view, "jac").items():
        np.testing.assert_array_equal(c.xData, steps[measured])
        np.testing.assert_allclose(c.yData, jac[measured, i])


def test_over_time_cursor_follows_the_timeline(qtbot, run):
    view = over_time(qtbot, run)
    assert not any(c.isVisible() for c in view.cursor)  # newest: no cursor
    view.refresh(4)
    assert all(c.isVisible() and c.value() == 20 for c in view.cursor)
    view.output_box.setChecked(False)
    assert sorted(lines(view, "act")) == list(range(run.n_layers - 1))


# ---------------------------------------------------------------------- Heatmaps
def test_heatmaps_one_image_per_layer_with_normalised_columns(qtbot, run):
    view = show(qtbot, HeatmapsView, run)
    select(view.color_box, "linear")
    select(view.x_box, "probe")
    h = run.history
    n, L, bins = h.n_probes, run.n_layers, h.bins
    counts, ranges = h.hist_series("act")  # (n, L, bins), (n, L, 2)
    assert len(view.images) == L
    for i, img in enumerate(view.images):
        lo, hi = ranges[:, i, 0].min(), ranges[:, i, 1].max()
        expected = resample(counts[:, i : i + 1], ranges[:, i], lo, hi)[:, 0]
        a = img.image
        assert a.shape == (bins, n) and a.dtype == np.float32 and a.flags.c_contiguous
        np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-5)
        np.testing.assert_allclose(a.T, fractions(expected), rtol=1e-5, atol=1e-7)
        rect = img.mapRectToParent(img.boundingRect())
        assert (rect.left(), rect.width()) == pytest.approx((-0.5, n))
        assert (rect.top(), rect.height()) == pytest.approx((lo, hi - lo))
        assert img.levels is not None and tuple(img.levels) == view.colorbar.levels()
    select(view.quantity_box, "delta_log")
    c2, _ = h.hist_series("delta_log")
    np.testing.assert_allclose(view.images[0].image[:, -1], fractions(c2[-1, 0]), rtol=1e-5)


def test_heatmaps_step_axis_holds_each_probe_until_the_next(qtbot, run):
    view = show(qtbot, HeatmapsView, run)
    select(view.color_box, "linear")
    h = run.history
    steps = h.probe_column("step")
    a = view.images[1].image
    _rows, x0, span = step_columns(steps, a.shape[1])
    assert x0 == 0 and span == steps[-1] + 5  # one probe interval past the last probe
    counts, ranges = h.hist_series("act")
    r1 = ranges[:, 1]  # layer 2's ranges over the probes
    dens = fractions(resample(counts[:, 1:2], r1, r1[:, 0].min(), r1[:, 1].max())[:, 0])
    col = a.shape[1] // 3
    centre = x0 + (col + 0.5) * span / a.shape[1]
    probe = np.searchsorted(steps, centre, side="right") - 1
    np.testing.assert_allclose(a[:, col], dens[probe], rtol=1e-5)
    # log colour: log10 of the same fractions, floored
    select(view.color_box, "log")
    b = view.images[1].image
    np.testing.assert_allclose(b[:, col], np.log10(np.maximum(dens[probe], 1e-5)), atol=1e-5)
    view.refresh(3)
    assert all(c.isVisible() and c.value() == steps[3] for c in view.cursor)


def _record(step: int, counts: list[int], rng: tuple[float, float], L: int = 2) -> ProbeRecord:
    return ProbeRecord(
        step=step,
        epoch=0.0,
        loss=1.0 + step,
        lr=0.1,
        stats={s: np.full(L, 0.5) for s in LAYER_STATS},
        hists={q: np.tile(np.array(counts, np.int32), (L, 1)) for q in HIST_QUANTITIES},
        ranges={q: np.tile(np.array(rng, float), (L, 1)) for q in HIST_QUANTITIES},
    )


def test_heatmaps_rebin_older_probes_onto_the_widened_range(qtbot):
    """Probe 0 was binned on [-1, 1], probe 1 on [-1.5, 1.5] after the range widened: probe 0
    is re-binned onto the new bins, each old bin's count shared by the new bins it overlaps."""
    h = History(["dense1", "dense2"], bins=4)
    h.append_probe(_record(0, [4, 0, 0, 6], (-1.0, 1.0)), 0)
    h.append_probe(_record(10, [1, 2, 3, 4], (-1.5, 1.5)), 1)
    model = RunModel(
        run_id=3,
        name="by hand",
        spec={},
        history=h,
        layer_names=["dense1", "dense2"],
        input_dim=2,
        output_dim=2,
    )
    view = show(qtbot, HeatmapsView, model)
    select(view.color_box, "linear")
    select(view.x_box, "probe")
    a = view.images[0].image
    assert a.shape == (4, 2)
    # old bins of width 0.5 on [-1, 1]; new bins of width 0.75 on [-1.5, 1.5]:
    # [-1, -0.5] splits half and half into [-1.5, -0.75] and [-0.75, 0]; [0.5, 1] likewise
    np.testing.assert_allclose(a[:, 0], [0.2, 0.2, 0.3, 0.3], rtol=1e-6)
    np.testing.assert_allclose(a[:, 1], [0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    np.testing.assert_allclose(a.sum(axis=0), 1.0, rtol=1e-6)
    rect = view.images[0].mapRectToParent(view.images[0].boundingRect())
    assert (rect.top(), rect.bottom()) == pytest.approx((-1.5, 1.5))


def test_resample_keeps_every_probes_mass():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 50, size=(6, 3, 10))
    ranges = np.array([[-1, 1], [-1, 1], [-1.3, 1.3], [-2, 2], [-2.5, 2.5], [-2.5, 2.5]], float)
    out = resample(counts, ranges, -2.5, 2.5)
    np.testing.assert_allclose(out.sum(axis=-1), counts.sum(axis=-1))
    np.testing.assert_array_equal(out[-2:], counts[-2:])  # already on the common bins

    # the mean of each distribution (bin centres weighted by counts) is kept too
    def mean(c, lo, hi):
        centres = lo + (np.arange(10) + 0.5) * (hi - lo) / 10
        return (c * centres).sum(-1) / c.sum(-1)

    for k in range(4):
        np.testing.assert_allclose(
            mean(out[k], -2.5, 2.5), mean(counts[k], *ranges[k]), atol=(5 / 10) / 2
        )


# ---------------------------------------------------------------------- every view
@pytest.mark.parametrize("cls", [DistributionsView, ProfileView, OverTimeView, HeatmapsView])
def test_a_theme_switch_keeps_the_data(qtbot, run, cls):
    view = show(qtbot, cls, run, row=5)
    before = _snapshot(view)
    assert before
    theme.apply("dark")
    view.retheme()
    after = _snapshot(view)
    assert len(after) == len(before)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert view.canvas.backgroundBrush().color().name() == theme.DARK.background


@pytest.mark.parametrize("cls", [DistributionsView, ProfileView, OverTimeView, HeatmapsView])
def test_a_new_run_starts_empty_and_reuses_the_plots_when_the_layers_match(qtbot, run, cls):
    view = show(qtbot, cls, run)
    plots = list(view.plots)
    assert _snapshot(view)[0].size
    fresh = RunModel.from_experiment(Experiment(TINY), run_id=9)  # no probe yet
    assert fresh.history.n_probes == 0 and fresh.n_layers == run.n_layers
    view.set_model(fresh)
    assert view.plots == plots  # the same items, not rebuilt
    assert all(a is None or a.size == 0 for a in _snapshot(view, empty_ok=True))
    view.set_model(run)  # and it draws the next run in full
    assert _snapshot(view)[0].size
    # another number of layers: new items
    other = dict(TINY, network={"layers": [{"units": 8, "activation": "relu"}] * 2})
    view.set_model(RunModel.from_experiment(Experiment(other), run_id=10))
    assert view.plots != plots


def _snapshot(view, empty_ok: bool = False) -> list[np.ndarray]:
    if empty_ok:
        items = (
            view.images
            if isinstance(view, HeatmapsView)
            else view.curves
            if isinstance(view, DistributionsView)
            else view._curves
            if isinstance(view, ProfileView)
            else _over_time_curves(view)
        )
        return [
            getattr(i, "image", None) if isinstance(view, HeatmapsView) else i.yData for i in items
        ]
    if isinstance(view, HeatmapsView):
        return [img.image.copy() for img in view.images]
    if isinstance(view, DistributionsView):
        return [c.yData.copy() for c in view.curves]
    if isinstance(view, ProfileView):
        return [view.c_act_std.yData.copy(), view.c_speed.yData.copy(), view.c_jac.yData.copy()]
    return [c.yData.copy() for c in _over_time_curves(view)]


def _over_time_curves(view) -> list:
    return [item for p in view.panels for group in p.items.values() for item in group]
