"""The training loop: exact resume, determinism, divergence, health events, the step-0 probe,
the automatic probe interval, evaluation, stopping from another thread, learning-rate overrides."""

from __future__ import annotations

import copy
import math
import threading

import numpy as np
import pytest

import gradlab
from gradlab.errors import SpecError
from gradlab.experiment import Experiment
from gradlab.experiment.experiment import nice_interval
from gradlab.experiment.history import STEP_COLUMNS
from gradlab.experiment.probes import HIST_QUANTITIES, LAYER_STATS


def make_spec(**training) -> dict:
    spec = {
        "name": "t",
        "seed": 5,
        "data": {"name": "spiral", "n": 200},
        "network": {"layers": [{"units": 8, "activation": "tanh"}]},
        "training": {"optimizer": "adam", "lr": 0.01, "batch_size": 16, "steps": 60},
        "probes": {"every": 5, "per_decade": 0, "jacobian_every": 0, "batch": 64},
    }
    spec["training"].update(training)
    return spec


def full_spec(schedule=None, **training) -> dict:
    """Dropout, batch-norm, Adam, a step schedule, L2 and clipping by norm: everything with
    state or randomness that a resumed run must restore."""
    spec = make_spec(
        optimizer={"name": "adam", "beta1": 0.8},
        schedule=schedule or {"name": "step", "step_size": 20, "gamma": 0.5},
        l2=1e-3,
        clip={"norm": 1.0},
        **training,
    )
    spec["network"]["layers"] = [
        {"units": 8, "activation": "tanh", "batchnorm": True},
        {"units": 8, "activation": "relu", "dropout": 0.2},
        {"type": "dropout", "rate": 0.1},
        {"units": 6, "activation": "tanh"},
    ]
    spec["probes"] = {"every": 7, "jacobian_every": 2, "batch": 64}
    return spec


def softmax_ce(out: np.ndarray, y: np.ndarray) -> float:
    out = out.astype(np.float64)
    shifted = out - out.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def assert_same_state(a: Experiment, b: Experiment) -> None:
    sa, sb = a.network.state_arrays(), b.network.state_arrays()
    assert set(sa) == set(sb)
    for k in sa:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=f"network {k}")
    oa, ob = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert oa["t"] == ob["t"] and oa["hyper"] == ob["hyper"]
    assert set(oa["slots"]) == set(ob["slots"])
    for slot in oa["slots"]:
        for k in oa["slots"][slot]:
            np.testing.assert_array_equal(
                oa["slots"][slot][k], ob["slots"][slot][k], err_msg=f"optimizer {slot}/{k}"
            )


def assert_same_steps(a: Experiment, b: Experiment) -> None:
    sa, sb = a.history.steps(), b.history.steps()
    for k in STEP_COLUMNS:
        np.testing.assert_array_equal(sa[k], sb[k], err_msg=f"step column {k}")


# ----------------------------------------------------------------------------- (a) resume


@pytest.mark.parametrize(
    "schedule",
    [
        {"name": "step", "step_size": 20, "gamma": 0.5},
        {"name": "reduce_on_plateau", "patience": 1, "factor": 0.5, "threshold": 0.05},
    ],
    ids=["step", "reduce_on_plateau"],
)
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, schedule):
    spec = full_spec(schedule, eval_every=5)
    straight = Experiment(spec)
    straight.run()
    assert straight.step_count == 60 and straight.status == "done"

    first = Experiment(spec)
    first.run(steps=23)
    assert first.step_count == 23 and first.status == "paused"
    path = first.save(tmp_path / "half.gradlab")
    resumed = gradlab.load_session(path)
    assert resumed.step_count == 23
    resumed.run(steps=37)
    assert resumed.step_count == 60 and resumed.status == "done"

    assert_same_state(straight, resumed)
    assert_same_steps(straight, resumed)
    assert resumed.lr == straight.lr
    # the evaluations both runs made agree too
    ea, eb = straight.history.evals(), resumed.history.evals()
    common = np.intersect1d(ea["step"], eb["step"])
    assert common[-1] == 60
    for k in ("train_loss", "val_loss", "val_acc"):
        np.testing.assert_array_equal(
            ea[k][np.isin(ea["step"], common)], eb[k][np.isin(eb["step"], common)], err_msg=k
        )


@pytest.mark.parametrize(
    "schedule",
    [
        {"name": "step", "step_size": 20, "gamma": 0.5},
        {"name": "reduce_on_plateau", "patience": 1, "factor": 0.5, "threshold": 0.05},
    ],
    ids=["step", "reduce_on_plateau"],
)
def test_pausing_without_saving_does_not_change_the_run(schedule):
    spec = full_spec(schedule, eval_every=5)
    straight = Experiment(spec)
    straight.run()
    paused = Experiment(spec)
    for chunk in (9, 1, 20, 30):
        paused.run(steps=chunk)
    assert paused.step_count == 60
    assert_same_state(straight, paused)
    assert_same_steps(straight, paused)


def test_resume_keeps_a_learning_rate_override(tmp_path):
    exp = Experiment(make_spec())
    exp.run(steps=10)
    exp.set_lr(0.003)
    exp.save(tmp_path / "lr.gradlab")
    back = gradlab.load_session(tmp_path / "lr.gradlab")
    assert back.lr == 0.003
    back.run(steps=5)
    np.testing.assert_array_equal(back.history.steps()["lr"][-5:], 0.003)
    assert [e["kind"] for e in back.history.events_copy()].count("lr") == 1


def test_a_loaded_session_shows_its_history_before_the_data_is_rebuilt(tmp_path):
    exp = Experiment(full_spec())
    exp.run(steps=30)
    exp.save(tmp_path / "h.gradlab")
    back = gradlab.load_session(tmp_path / "h.gradlab")
    assert back._dataset is None  # nothing rebuilt yet
    np.testing.assert_array_equal(back.history.probe_steps(), exp.history.probe_steps())
    for s in LAYER_STATS:
        np.testing.assert_array_equal(
            back.history.probe_column(s), exp.history.probe_column(s), err_msg=s
        )
    for q in HIST_QUANTITIES:
        for x, y in zip(back.history.hist_series(q), exp.history.hist_series(q)):
            np.testing.assert_array_equal(x, y, err_msg=q)
    assert back.history.events_copy() == exp.history.events_copy()
    np.testing.assert_array_equal(back.history.theory["q"], exp.history.theory["q"])
    assert back.spec == exp.spec


# ----------------------------------------------------------------------------- (b) determinism


def test_same_seed_and_spec_give_the_same_history():
    spec = full_spec()
    a, b = Experiment(spec), Experiment(spec)
    a.run()
    b.run()
    assert_same_state(a, b)
    assert_same_steps(a, b)
    for k, v in a.history.evals().items():
        np.testing.assert_array_equal(v, b.history.evals()[k], err_msg=k)
    np.testing.assert_array_equal(a.history.probe_steps(), b.history.probe_steps())
    for s in LAYER_STATS:
        np.testing.assert_array_equal(
            a.history.probe_column(s), b.history.probe_column(s), err_msg=s
        )
    for q in HIST_QUANTITIES:
        for x, y in zip(a.history.hist_series(q), b.history.hist_series(q)):
            np.testing.assert_array_equal(x, y, err_msg=q)
    assert a.history.events_copy() == b.history.events_copy()


def test_a_different_seed_gives_a_different_run():
    a = Experiment(make_spec(steps=5))
    other = make_spec(steps=5)
    other["seed"] = 6
    b = Experiment(other)
    a.run()
    b.run()
    assert not np.array_equal(a.history.steps()["loss"], b.history.steps()["loss"])


# ----------------------------------------------------------------------------- (c) divergence


def diverging_spec() -> dict:
    spec = make_spec(optimizer="sgd", lr=1e6, steps=200)
    spec["network"]["layers"] = [{"units": 16, "activation": "relu"}] * 2
    spec["probes"] = {"every": 1, "jacobian_every": 0, "batch": 64}
    return spec


# the probe of the last good (but already overflowing) state warns "Mean of empty slice": that is
# test_probes.py::test_a_layer_with_no_finite_value_is_probed_without_warnings; here the
# divergence handling itself is under test
@pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")
def test_divergence_pauses_at_the_last_good_state_and_names_the_layer(tmp_path):
    exp = Experiment(diverging_spec())
    reports = []
    exp.run(callback=reports.append)
    last = reports[-1]
    assert last.status == "diverged"
    assert exp.status == "diverged"
    assert exp.step_count < 200
    assert last.step == exp.step_count
    assert "diverged" in last.message

    # the parameters are the last good ones: exactly those of a run stopped one step earlier
    for k, v in exp.network.params.items():
        assert np.isfinite(v).all(), k
    twin = Experiment(diverging_spec())
    twin.run(steps=exp.step_count)
    assert_same_state(exp, twin)

    events = [e for e in exp.history.events_copy() if e["kind"] == "nan"]
    assert len(events) == 1
    ev = events[0]
    assert ev["severity"] == "error"
    assert ev["step"] == exp.step_count + 1
    assert ev["layer"] in exp.network.layer_names
    assert ev["layer"] in ev["message"] and str(ev["step"]) in ev["message"]

    steps = exp.history.steps()
    assert np.isfinite(steps["loss"]).all()
    assert np.isfinite(steps["grad_norm"]).all()
    assert steps["step"][-1] == exp.step_count

    # a saved diverged session says so when reopened
    back = gradlab.load_session(exp.save(tmp_path / "div.gradlab"))
    assert back.status == "diverged"
    assert back.diverged["layer"] == ev["layer"]


# ----------------------------------------------------------------------------- (d) health


def kinds_at_step_0(spec) -> tuple[dict[str, dict], Experiment]:
    """The events recorded with the step-0 probe, by kind, and the experiment."""
    exp = Experiment(spec)
    exp.run(steps=0)
    return {e["kind"]: e for e in exp.history.events_copy() if e["step"] == 0}, exp


def test_deep_sigmoid_net_with_standard_init_warns_of_vanishing_gradients():
    spec = make_spec(steps=0)
    spec["data"] = {"name": "gaussian", "n": 200, "dim": 20, "classes": 3}
    spec["network"]["layers"] = [
        {"units": 30, "activation": "sigmoid", "init": "glorot_standard"}
    ] * 5
    events, exp = kinds_at_step_0(spec)
    assert "vanishing" in events
    assert events["vanishing"]["layer"] == "dense1"
    bg = exp.history.probe(0)["stats"]["bias_grad_norm"]
    assert bg[0] < 1e-2 * bg[4]  # what the warning says, measured


def test_a_chain_of_weights_100_warns_of_exploding_gradients():
    spec = make_spec(steps=0)
    spec["dtype"] = "float64"
    spec["data"] = {"name": "xor", "n": 100}
    # the output layer gets a random init: with equal weights both logits are equal and the
    # gradient reaching the chain cancels exactly
    spec["network"]["layers"] = [
        {"units": 1, "activation": "linear", "init": {"name": "constant", "value": 100.0}}
    ] * 4 + [{"type": "output", "init": "glorot_uniform"}]
    events, exp = kinds_at_step_0(spec)
    assert "exploding" in events
    assert "vanishing" not in events
    bg = exp.history.probe(0)["stats"]["bias_grad_norm"]
    assert bg[0] > 1e2 * bg[3]


def test_relu_net_with_biases_minus_10_warns_of_dead_units():
    spec = make_spec(steps=0)
    spec["data"] = {"name": "xor", "n": 100}
    spec["network"]["layers"] = [
        {"units": 8, "activation": "relu", "bias_init": {"name": "constant", "value": -10.0}}
    ] * 2
    events, exp = kinds_at_step_0(spec)
    assert "dead" in events
    assert events["dead"]["layer"] in ("dense1", "dense2")
    assert exp.history.probe(0)["stats"]["act_dead"][0] == 1.0


def test_a_healthy_net_raises_no_warning_at_step_0():
    events, _ = kinds_at_step_0(make_spec(steps=0))
    assert not events


# ----------------------------------------------------------------------------- (e) step 0


def test_the_step_0_probe_is_taken_before_any_update():
    exp = Experiment(make_spec())
    initial = {k: v.copy() for k, v in exp.network.params.items()}
    exp.run(steps=5)
    assert exp.step_count == 5
    first = exp.history.probe(0)
    assert first["step"] == 0 and first["index"] == 0
    for l, name in enumerate(exp.network.layer_names):
        w = initial[f"{name}.W"]
        assert first["stats"]["weight_norm"][l] == pytest.approx(np.linalg.norm(w), rel=1e-6)
    assert np.isnan(first["stats"]["update_ratio"]).all()
    assert exp.history.evals()["step"][0] == 0
    # the probe at step 5 (every 5) reports the update that led there
    last = exp.history.probe(-1)
    assert last["step"] == 5
    assert np.isfinite(last["stats"]["update_ratio"]).all()
    assert (last["stats"]["update_ratio"] > 0).all()


def test_run_zero_steps_takes_exactly_the_step_0_probe():
    exp = Experiment(make_spec())
    before = {k: v.copy() for k, v in exp.network.params.items()}
    exp.run(steps=0)
    exp.run(steps=0)
    assert exp.history.n_probes == 1
    assert exp.history.probe(0)["step"] == 0
    assert exp.history.n_steps == 0
    assert exp.step_count == 0
    for k, v in before.items():
        np.testing.assert_array_equal(exp.network.params[k], v)
    assert len(exp.history.theory["q"]) == len(exp.network.layer_names)


def test_a_zero_step_budget_is_done_after_the_step_0_probe():
    exp = Experiment(make_spec(steps=0))
    reports = []
    exp.run(callback=reports.append)
    assert exp.history.n_probes == 1 and exp.history.n_steps == 0
    assert exp.status == "done"
    assert reports[-1].status == "done" and reports[-1].probes == 1


def test_the_last_step_of_the_budget_is_always_probed():
    exp = Experiment(make_spec(steps=23))  # probes every 5: 0, 5, ..., 20, and 23
    exp.run()
    steps = exp.history.probe_steps()
    np.testing.assert_array_equal(steps, [0, 5, 10, 15, 20, 23])
    assert exp.history.evals()["step"][-1] == 23


# ----------------------------------------------------------------------------- (f) auto interval


@pytest.mark.parametrize(
    ("k", "nice"),
    [
        (0.2, 1),
        (1, 1),
        (1.5, 2),
        (2, 2),
        (3, 5),
        (5, 5),
        (7, 10),
        (10, 10),
        (11, 20),
        (49, 50),
        (51, 100),
        (120, 200),
        (999, 1000),
    ],
)
def test_nice_interval_is_the_next_1_2_5_number(k, nice):
    assert nice_interval(k) == nice


def test_auto_probe_interval_grows_when_probes_are_expensive():
    steps = 200
    spec = make_spec(optimizer="sgd", lr=0.01, batch_size=1, steps=steps, eval_every=1000)
    spec["data"] = {"name": "spiral", "n": 800}
    spec["network"]["layers"] = [{"units": 64, "activation": "tanh"}] * 3
    # a probe forwards and backwards 500 examples, measures 8 Jacobians and bins 100 ways;
    # a step is one example
    spec["probes"] = {
        "every": "auto",
        "bins": 100,
        "batch": 500,
        "jacobian_every": 1,
        "jacobian_examples": 8,
        "per_decade": 0,  # (the early log-spaced probes are a fixed number: not timed)
    }
    exp = Experiment(spec)
    exp.run()
    assert exp.step_count == steps
    k = exp.probe_every
    decade = 10 ** math.floor(math.log10(k))
    assert k // decade in (1, 2, 5) and k % decade == 0, f"{k} is not a 1-2-5 number"
    assert k > 10  # it started at 10 and grew
    assert exp.prober.count < steps / 10
    kept = exp.history.probe_steps()
    assert kept[0] == 0 and kept[-1] == steps  # the first and the last are always there


# ----------------------------------------------------------------------------- (g) evaluate


def test_evaluate_matches_a_hand_computation_in_evaluation_mode():
    spec = full_spec(steps=20)
    spec["data"] = {"name": "spiral", "n": 3000, "val_fraction": 0.8}  # 2,400 val: two chunks
    exp = Experiment(spec)
    exp.run()
    buffers = {k: v.copy() for k, v in exp.network.buffers.items()}
    m = exp.evaluate()
    ds = exp.data
    net = exp.network
    out_val = net.predict(ds.x_val)
    out_train = net.predict(ds.x_train)  # 600 examples: the whole training set is the subset
    assert m["val_acc"] == pytest.approx(np.mean(out_val.argmax(axis=1) == ds.y_val), abs=1e-12)
    assert m["train_acc"] == pytest.approx(
        np.mean(out_train.argmax(axis=1) == ds.y_train), abs=1e-12
    )
    assert m["val_loss"] == pytest.approx(softmax_ce(out_val, ds.y_val), rel=1e-5)
    assert m["train_loss"] == pytest.approx(softmax_ce(out_train, ds.y_train), rel=1e-5)
    for k, v in buffers.items():  # evaluating does not move batch-norm's running averages
        np.testing.assert_array_equal(exp.network.buffers[k], v)
    # the recorded evaluation at the end of the run is this one
    ev = exp.history.evals()
    assert ev["step"][-1] == 20
    assert ev["val_acc"][-1] == m["val_acc"]


def test_evaluate_without_a_validation_set_gives_nan():
    spec = make_spec(steps=3)
    spec["data"] = {"name": "xor", "n": 100, "val_fraction": 0.0}
    exp = Experiment(spec)
    m = exp.evaluate()
    assert math.isnan(m["val_loss"]) and math.isnan(m["val_acc"])
    assert 0.0 <= m["train_acc"] <= 1.0


# ----------------------------------------------------------------------------- (h) stop


def test_request_stop_from_another_thread_stops_run_promptly():
    spec = make_spec(steps=None)  # no budget: it would run forever
    exp = Experiment(spec)
    first_report = threading.Event()
    stop_sent = threading.Event()
    after_stop = []
    calls = []

    def callback(report):
        calls.append(report)
        first_report.set()
        if stop_sent.is_set():
            after_stop.append(report)
        return len(calls) < 10_000  # failsafe: never hang the suite

    def stopper():
        first_report.wait()
        exp.request_stop()
        stop_sent.set()

    t = threading.Thread(target=stopper)
    t.start()
    exp.run(callback=callback)
    t.join()
    assert stop_sent.is_set()
    assert len(calls) < 10_000, "run() ignored request_stop"
    assert len(after_stop) <= 1, "run() went on for more than one report after the stop"
    assert exp.status == "paused"
    stopped_at = exp.step_count
    assert stopped_at > 0
    # it can go on afterwards (the stop request does not stick)
    exp.run(steps=3)
    assert exp.step_count == stopped_at + 3


# ----------------------------------------------------------------------------- (i) set_lr


def test_set_lr_moves_the_schedule_and_is_recorded_as_a_change_of_the_run():
    spec = make_spec(schedule={"name": "step", "step_size": 4, "gamma": 0.5}, steps=30)
    exp = Experiment(spec)
    exp.run(steps=6)
    np.testing.assert_allclose(exp.history.steps()["lr"], [0.01] * 4 + [0.005] * 2)
    exp.set_lr(0.1)  # the rate the schedule starts from: the decay so far applies to it
    assert exp.lr == pytest.approx(0.05)
    exp.run(steps=6)
    np.testing.assert_allclose(exp.history.steps()["lr"][6:], [0.05] * 2 + [0.025] * 4)
    assert exp.lr_changes == [{"step": 6, "from": 0.01, "to": 0.1}]
    assert exp.spec["training"]["lr"] == 0.01  # the run's spec keeps what it started with
    assert exp.current_spec()["training"]["lr"] == 0.1
    assert "adam lr 0.01 -> 0.1 at step 6" in exp.describe()
    lr_events = [e for e in exp.history.events_copy() if e["kind"] == "lr"]
    assert len(lr_events) == 1 and lr_events[0]["step"] == 6
    assert "0.01 -> 0.1" in lr_events[0]["message"]
    exp.set_lr(None)  # back to the spec's rate
    assert exp.lr == pytest.approx(0.01 * 0.5**3)
    exp.run(steps=2)
    np.testing.assert_allclose(exp.history.steps()["lr"][-2:], 0.01 * 0.5**3)
    assert exp.lr_changes[-1] == {"step": 12, "from": 0.1, "to": 0.01}
    assert len([e for e in exp.history.events_copy() if e["kind"] == "lr"]) == 2


def test_lr_changes_at_one_step_merge_and_a_change_back_leaves_none():
    exp = Experiment(make_spec(steps=30))
    exp.run(steps=3)
    exp.set_lr(0.02)
    exp.set_lr(0.03)
    assert exp.lr_changes == [{"step": 3, "from": 0.01, "to": 0.03}]
    exp.set_lr(0.01)
    assert exp.lr_changes == [] and exp.lr == 0.01


@pytest.mark.parametrize("bad", [0.0, -1.0, math.inf, math.nan])
def test_set_lr_refuses_a_bad_rate(bad):
    exp = Experiment(make_spec())
    with pytest.raises(SpecError) as info:
        exp.set_lr(bad)
    assert info.value.field == "training.lr"
    assert exp.lr == 0.01


# ----------------------------------------------------------------------------- (j) loss/output


@pytest.mark.parametrize(
    "layers",
    [
        [{"units": 4}, {"type": "output", "activation": "sigmoid"}],
        [
            {"units": 4},
            {"type": "dropout", "rate": 0.1},
            {"type": "output", "activation": "sigmoid"},
        ],
    ],
)
def test_softmax_cross_entropy_with_a_sigmoid_output_is_refused(layers):
    spec = make_spec(loss="softmax_cross_entropy")
    spec["network"]["layers"] = layers
    with pytest.raises(SpecError) as info:
        Experiment(spec)
    k = len(layers) - 1
    assert info.value.field == f"network.layers[{k}].activation"
    assert "\n" not in str(info.value)
    assert "sigmoid" in str(info.value)


def test_mse_with_a_sigmoid_output_is_accepted():
    spec = make_spec(loss="mse", steps=2)
    spec["network"]["layers"] = [{"units": 4}, {"type": "output", "activation": "sigmoid"}]
    exp = Experiment(spec)
    exp.run()
    assert exp.step_count == 2


# ----------------------------------------------------------------------------- memory


@pytest.mark.slow
def test_a_long_run_with_a_probe_every_step_keeps_its_probe_table_bounded():
    spec = make_spec(optimizer="sgd", lr=0.1, batch_size=8, steps=2000, eval_every=100_000)
    spec["data"] = {"name": "xor", "n": 100}
    spec["network"]["layers"] = [{"units": 3, "activation": "tanh"}]
    spec["probes"] = {"every": 1, "capacity": 16, "bins": 8, "jacobian_every": 0, "batch": 16}
    exp = Experiment(spec)
    most = 0
    for _ in exp.train(max_steps_per_yield=50):
        most = max(most, exp.history.n_probes)
    assert exp.step_count == 2000
    assert exp.prober.count == 2001
    assert most < 16
    idx = exp.history.probe_column("index")
    assert idx[0] == 0 and idx[-1] == 2000
    _, arrays = exp.history.to_arrays()
    probe_bytes = sum(v.nbytes for k, v in arrays.items() if "/probes/" in k)
    assert probe_bytes < 16 * 4096


def test_experiment_spec_is_resolved_and_explicit():
    exp = Experiment(make_spec())
    layers = exp.spec["network"]["layers"]
    assert layers[-1]["output"] is True and layers[-1]["units"] == 2
    assert exp.spec["data"]["noise"] == 0.25  # dataset defaults filled in
    again = Experiment(copy.deepcopy(exp.spec))
    assert again.spec == exp.spec
