"""What the lecture-ready views rest on, headless: log-spaced probes (dense early, where the
initialisation shows), the Jacobian at every probe when asked, the small network's weights kept
at the probes (bounded) so an earlier decision boundary can be redrawn, the lecture pace of a
preset, and the epoch of a reopened session before its data is rebuilt."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.experiment import Experiment, load_session, presets
from gradlab.experiment.probes import log_steps
from gradlab.experiment.snapshots import WeightHistory, class_probabilities
from gradlab.experiment.spec import fields as F
from gradlab.figures import numbers


def spec(steps: int = 300, **probes) -> dict:
    return {
        "name": "lecture",
        "seed": 3,
        "data": {"name": "spiral", "n": 200},
        "network": {"layers": [{"units": 8, "activation": "tanh"}] * 2},
        "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 16, "steps": steps},
        "probes": {"every": 100, "jacobian_every": 0, "batch": 64, **probes},
    }


# ---------------------------------------------------------------------- the probe schedule
def test_probes_are_log_spaced_early_then_every_n_steps():
    exp = Experiment(spec(300))
    exp.run()
    steps = exp.history.probe_steps().tolist()
    # ten a decade by default: every one of the first steps, thinning out, then every 100
    assert steps[:11] == [0, 1, 2, 3, 4, 5, 6, 8, 10, 13, 16]
    assert {100, 200, 300} <= set(steps)
    assert {126, 158, 251} <= set(steps)
    early = sum(1 for s in steps if s <= 100)
    late = sum(1 for s in steps if s > 100)
    assert early >= 18 and late <= 6  # dense where the initialisation shows


def test_the_density_is_a_declared_setting_and_zero_means_evenly():
    param = F.PROBES_BY_NAME["per_decade"]
    assert param.default == 10 and param.minimum == 0
    assert "decade" in param.help
    exp = Experiment(spec(300, per_decade=0))
    exp.run()
    np.testing.assert_array_equal(exp.history.probe_steps(), [0, 100, 200, 300])
    sparse = Experiment(spec(1000, per_decade=2))
    sparse.run()
    assert sparse.history.probe_steps().tolist() == [0, 1, 3, 10, 32, 100, 200, 300, 316,
                                                     400, 500, 600, 700, 800, 900, 1000]


def test_log_steps_grow_by_a_fixed_ratio():
    s = sorted(log_steps(10, last=10**6))
    assert s[0] == 1 and s[-1] == 10**6
    ratios = np.array(s[10:], float)[1:] / np.array(s[10:], float)[:-1]
    np.testing.assert_allclose(ratios, 10 ** 0.1, rtol=0.05)  # past the rounding of 1..10
    assert log_steps(0) == frozenset()


def test_the_jacobian_can_be_measured_at_every_probe():
    exp = Experiment(spec(60, jacobian_every=1))
    exp.run()
    jac = exp.history.probe_column("jacobian_sv_mean")
    assert exp.history.n_probes > 10
    assert np.isfinite(jac).all()  # every probe, the first steps included
    every3 = Experiment(spec(60, jacobian_every=3))
    every3.run()
    measured = np.isfinite(every3.history.probe_column("jacobian_sv_mean")).all(axis=1)
    assert measured[::3].all() and not measured[1::3].any()


# ---------------------------------------------------------------------- weights at probes
def test_a_2d_run_keeps_its_network_at_every_probe():
    exp = Experiment(spec(200))
    exp.run()
    assert exp.weights is not None
    assert exp.weights.steps() == exp.history.probe_steps().tolist()
    x = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    at, early = exp.weights.predict_at(9, x)  # the newest probe at or before step 9
    assert at == 8
    _, newest = exp.weights.predict_at(200, x)
    np.testing.assert_allclose(newest, exp.network.predict(x), rtol=1e-5, atol=1e-6)
    assert not np.allclose(early, newest)  # training moved the network
    # the weights at step 0 are the initial ones
    fresh = Experiment(spec(200))
    np.testing.assert_allclose(exp.weights.predict_at(0, x)[1], fresh.network.predict(x))


def test_kept_weights_stay_bounded():
    exp = Experiment(spec(10))
    kept = WeightHistory(
        exp.network.layers, 2, exp.output_dim, 0, "float32", capacity=8, max_bytes=10**9
    )
    for i in range(100):
        kept.add(i, 10 * i, exp.network)
    assert len(kept) <= 8
    steps = kept.steps()
    assert steps[0] == 0 and steps[-1] == 990  # the first and the newest always stay
    assert steps == sorted(steps)
    one = kept.nbytes / len(kept)
    small = WeightHistory(
        exp.network.layers, 2, exp.output_dim, 0, "float32", max_bytes=int(5.5 * one)
    )
    for i in range(50):
        small.add(i, i, exp.network)
    assert small.nbytes <= 5.5 * one and small.steps()[0] == 0 and small.steps()[-1] == 49


def test_a_run_on_wide_inputs_keeps_no_weights():
    s = spec(10)
    s["data"] = {"name": "gaussian", "n": 200, "dim": 20}
    assert Experiment(s).weights is None


def test_class_probabilities_follow_the_loss():
    logits = np.array([[0.0, 0.0], [2.0, -2.0]])
    p = class_probabilities(logits, "softmax_cross_entropy")
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 0] == pytest.approx(0.5) and p[1, 0] > 0.9
    one = class_probabilities(np.array([[0.0], [10.0]]), "bce_with_logits")
    np.testing.assert_allclose(one[:, 1], [0.5, 1 / (1 + np.exp(-10))])


# ---------------------------------------------------------------------- presets and sessions
def test_a_preset_plays_out_in_about_a_minute_unless_it_says_otherwise():
    assert presets.LECTURE_SECONDS == 60
    assert presets.lecture_seconds("spiral") == 60
    assert presets.lecture_seconds("exploding-chain") == 30  # its own
    assert presets.lecture_seconds("no such preset") == 60
    assert "lecture_seconds" not in presets.load("exploding-chain")  # not a spec field
    Experiment(presets.load("exploding-chain"))  # the spec stays valid


def test_a_reopened_session_knows_its_epoch_before_its_data(tmp_path):
    exp = Experiment(spec(300))
    exp.run()
    path = exp.save(tmp_path / "s.gradlab")
    back = load_session(path)
    assert back._dataset is None  # (the data is rebuilt on first use)
    assert back.epoch_float == pytest.approx(exp.epoch_float)
    assert back.epoch_float < 100  # not step / 1


def test_the_figures_helpers_need_no_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, gradlab.figures, gradlab.figures.numbers, gradlab.app.views.heatmaps, "
        "gradlab.app.views.compare; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert numbers.step_columns(np.array([0, 1, 2, 4, 8]), 8)[2] == 12  # last gap 4
