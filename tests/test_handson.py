"""Hands-On ML chapter 11's remedies, as a user meets them: early stopping counted as Keras counts
it, reused and frozen layers, MC dropout, and what sessions, ``gradlab run`` and ``gradlab info``
say about them."""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import gradlab
from gradlab.errors import SessionError, SpecError
from gradlab.experiment import Experiment, load_session, presets, reuse
from gradlab.experiment.earlystop import EarlyStopping
from gradlab.experiment.netexport import save_weights_npz
from gradlab.experiment.spec import check, resolve

MOONS = {"name": "moons", "n": 400, "noise": 0.2}


def spec(**training) -> dict:
    return {
        "name": "t",
        "seed": 0,
        "data": dict(MOONS),
        "network": {"layers": [{"units": 32, "activation": "relu"}] * 2},
        "training": {"steps": 200, "lr": 0.01, "eval_every": 20, **training},
        "probes": {"every": 20},
    }


# ============================================================================ early stopping
class KerasEarlyStopping:
    """keras/src/callbacks/early_stopping.py's on_epoch_end, transcribed (mode from the name,
    no baseline, start_from_epoch 0): returns the epoch at which training stops, or None."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0):
        self.patience = patience
        less = not monitor.endswith("acc")
        self.min_delta = -abs(min_delta) if less else abs(min_delta)
        self.op = (lambda a, b: a < b) if less else (lambda a, b: a > b)
        self.best = math.inf if less else -math.inf
        self.wait = 0
        self.best_epoch = 0

    def run(self, values):
        for epoch, current in enumerate(values):
            self.wait += 1
            if self.op(current - self.min_delta, self.best):
                self.best, self.best_epoch, self.wait = current, epoch, 0
                continue
            if self.wait >= self.patience and epoch > 0:
                return epoch
        return None


def gradlab_stop(values, monitor="val_loss", patience=0, min_delta=0.0):
    es = EarlyStopping(monitor, patience, min_delta, restore_best_weights=False)
    for i, v in enumerate(values):
        if es.observe(100 * (i + 1), {monitor: v}, {}):
            return i, es
    return None, es


SEQUENCES = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # Keras' docstring: patience 3 -> 4 epochs run
    [5.0, 4.0, 4.5, 4.4, 3.0, 3.1, 3.2, 3.3, 2.9, 3.0, 3.0, 3.0],
    [0.9, 0.8, 0.79995, 0.7999, 0.79, 0.8, 0.81],  # tiny improvements: min_delta matters
    [2.0, float("nan"), 1.5, float("nan"), float("nan"), 1.4, 1.45],
]


@pytest.mark.parametrize("values", SEQUENCES)
@pytest.mark.parametrize("patience", [0, 1, 2, 3])
@pytest.mark.parametrize("min_delta", [0.0, 0.001])
def test_patience_is_counted_as_keras_counts_it(values, patience, min_delta):
    keras = KerasEarlyStopping("val_loss", patience, min_delta)
    expected = keras.run(values)
    got, es = gradlab_stop(values, "val_loss", patience, min_delta)
    assert got == expected
    if keras.best_epoch is not None and math.isfinite(keras.best):
        assert es.best == keras.best
        assert es.best_step == 100 * (keras.best_epoch + 1)


def test_keras_docstring_example_runs_four_epochs():
    """keras.callbacks.EarlyStopping(monitor='loss', patience=3) on a loss that stops improving
    after the first epoch: 'Only 4 epochs are run.'"""
    stopped, _ = gradlab_stop([0.5] * 10, "val_loss", patience=3)
    assert stopped + 1 == 4


@pytest.mark.parametrize("patience", [0, 2])
def test_accuracy_is_maximised(patience):
    values = [0.5, 0.7, 0.69, 0.71, 0.70, 0.70, 0.72, 0.6, 0.6, 0.6]
    keras = KerasEarlyStopping("val_acc", patience, 0.005).run(values)
    assert gradlab_stop(values, "val_acc", patience, 0.005)[0] == keras


def test_a_run_stops_early_at_keras_step_with_the_best_weights():
    """A run with early stopping stops where Keras' rule says, on its own scheduled
    evaluations (every 20 steps), with status 'stopped early', and holds the weights of its
    best evaluation: evaluated again, they give that evaluation's validation loss."""
    exp = Experiment(spec(steps=3000, lr=0.05, early_stopping={"patience": 3}))
    reports = list(exp.train())
    assert reports[-1].status == exp.status == "stopped early"
    ev = exp.history.evals()
    scheduled = ev["step"] > 0
    val = ev["val_loss"][scheduled]
    stop = KerasEarlyStopping("val_loss", 3).run(list(val))
    assert stop is not None, "this run must stop before its budget"
    assert exp.step_count == int(ev["step"][scheduled][stop]) < 3000
    best = int(np.argmin(val[: stop + 1]))
    es = exp.early_stopping
    assert es.best_step == int(ev["step"][scheduled][best]) and es.best == val[best]
    assert exp.evaluate()["val_loss"] == pytest.approx(val[best], rel=1e-6)
    events = [e for e in exp.history.events_copy() if e["kind"] == "stopped_early"]
    assert len(events) == 1 and events[0]["best_step"] == es.best_step
    assert f"best was val_loss {val[best]:.4g}" in reports[-1].message


def test_pausing_does_not_change_where_a_run_stops():
    straight = Experiment(spec(steps=3000, lr=0.05, early_stopping={"patience": 2}))
    straight.run()
    paused = Experiment(spec(steps=3000, lr=0.05, early_stopping={"patience": 2}))
    while paused.status != "stopped early":
        for _ in paused.train(steps=7):
            pass
        paused.probe_now()
    assert paused.step_count == straight.step_count
    for k, v in straight.network.params.items():
        assert np.array_equal(paused.network.params[k], v), k


def test_restore_best_weights_at_the_end_of_the_budget_too():
    """Keras restores the best weights whenever training ends, not only when it stopped."""
    exp = Experiment(spec(steps=200, lr=0.3, early_stopping={"patience": 1000}))
    exp.run()
    assert exp.status == "done"
    es = exp.early_stopping
    ev = exp.history.evals()
    if es.best_step != exp.step_count:
        kinds = [e["kind"] for e in exp.history.events_copy()]
        assert "restored_best" in kinds
        assert exp.evaluate()["val_loss"] == pytest.approx(es.best, rel=1e-6)
    assert es.best == float(np.min(ev["val_loss"][ev["step"] > 0]))


def test_without_restore_the_last_weights_stay():
    exp = Experiment(spec(steps=3000, lr=0.05,
                          early_stopping={"patience": 2, "restore_best_weights": False}))
    exp.run()
    assert exp.status == "stopped early"
    assert exp.early_stopping.best_weights is None
    assert exp.evaluate()["val_loss"] == pytest.approx(exp.history.evals()["val_loss"][-1])


def test_early_stopping_settings_are_checked():
    assert resolve(spec(early_stopping=True))["training"]["early_stopping"] == {
        "monitor": "val_loss", "patience": 10, "min_delta": 0.0, "restore_best_weights": True}
    assert resolve(spec())["training"]["early_stopping"] is False
    problems = check(spec(early_stopping={"patience": -1, "monitor": "accuracy"})).by_field()
    assert "training.early_stopping.patience" in problems
    assert "training.early_stopping.monitor" in problems
    assert check(spec(early_stopping="yes")).messages()[0].startswith(
        "training.early_stopping: must be false, true or an object")


def test_no_validation_set_watches_the_training_subset():
    s = spec(steps=3000, lr=0.05, early_stopping={"patience": 2})
    s["data"]["val_fraction"] = 0.0
    exp = Experiment(s)
    exp.run()
    assert exp.status == "stopped early" and exp.early_stopping.used == "train_loss"
    assert any(e["kind"] == "early_stopping" and "train_loss" in e["message"]
               for e in exp.history.events_copy())


def test_a_stopped_session_reopens_stopped_and_trains_on(tmp_path):
    exp = Experiment(spec(steps=3000, lr=0.05, early_stopping={"patience": 2}))
    exp.run()
    path = exp.save(tmp_path / "es.gradlab")
    back = load_session(path)
    assert back.status == "stopped early"
    assert back.early_stopping.state() == exp.early_stopping.state()
    for k, v in exp.early_stopping.best_weights.items():
        assert np.array_equal(back.early_stopping.best_weights[k], v)
    stopped_at = back.step_count
    back.run(steps=200)  # a new "fit": patience counts from zero again
    assert back.step_count > stopped_at
    kinds = [e["kind"] for e in back.history.events_copy()]
    assert "stopped_early_over" in kinds


def test_cli_run_and_info_say_stopped_early(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec(steps=3000, lr=0.05, early_stopping={"patience": 2})))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}

    def cli(*args):
        r = subprocess.run([sys.executable, "-m", "gradlab", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r

    r = cli("run", "--spec", "s.json", "--out", "s.gradlab")
    assert "early stopping: Stopped early at step" in r.stderr
    info = cli("info", "s.gradlab").stdout
    assert "status stopped early" in info
    assert "early stop  stopped at step" in info and "holds the weights of step" in info


# ============================================================================ reuse and freeze
@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A trained 2-[32]x2-2 network saved as a session and as an npz."""
    exp = Experiment(spec(steps=150))
    exp.run()
    folder = tmp_path_factory.mktemp("base")
    return exp, exp.save(folder / "base.gradlab"), save_weights_npz(exp.network,
                                                                      folder / "base.npz")


@pytest.mark.parametrize("kind", ["session", "npz"])
def test_a_layer_starts_from_another_network(base, kind):
    src, session, npz = base
    path = str(session if kind == "session" else npz)
    s = spec()
    s["network"]["layers"] = [{"units": 32, "activation": "tanh", "init": {"from": path}},
                              {"units": 32, "activation": "relu",
                               "init": {"from": path, "layer": 2}}]
    exp = Experiment(s)
    for blk in exp.network.blocks[:2]:  # layer 1 from its own number, layer 2 as named
        assert np.array_equal(blk.params["W"], src.network.params[f"{blk.name}.W"])
        assert np.array_equal(blk.params["b"], src.network.params[f"{blk.name}.b"])
    assert not np.array_equal(exp.network.params["dense3.W"], src.network.params["dense3.W"])


def test_network_level_reuse_is_written_into_the_layers(base):
    _, session, _ = base
    s = spec()
    s["network"]["reuse"] = {"from": str(session), "layers": [1, 2], "trainable": False}
    r = resolve(s)
    assert "reuse" not in r["network"]
    assert [e["init"] for e in r["network"]["layers"]] == [
        {"from": str(session), "layer": 1}, {"from": str(session), "layer": 2}]
    assert [e["trainable"] for e in r["network"]["layers"]] == [False, False]
    problems = check({**s, "network": {**s["network"], "reuse": {"from": "x", "layers": [4]}}})
    assert problems.messages()[0] == ("network.reuse.layers[0]: layer 4 is not in the network, "
                                      "which has 3 layers (the output layer last)")
    with_output = resolve({**s, "network": {**s["network"], "reuse": {"from": "x",
                                                                      "layers": [3]}}})
    assert with_output["network"]["layers"][-1] == {"type": "output",
                                                    "init": {"from": "x", "layer": 3}}


def test_a_shape_mismatch_is_one_sentence_naming_the_layer(base, tmp_path):
    _, session, _ = base
    s = spec()
    s["network"]["layers"] = [{"units": 16, "activation": "relu",
                               "init": {"from": str(session), "layer": 1}}]
    with pytest.raises(SpecError) as err:
        Experiment(s)
    msg = str(err.value)
    assert msg == ("network.layers[0].init: layer 1 of base.gradlab has weights of shape 2 x 32, "
                   "but this layer needs 2 x 16 (2 inputs, 16 outputs)")
    s["network"]["layers"][0]["init"] = {"from": str(session), "layer": 9}
    with pytest.raises(SpecError, match=r"^network.layers\[0\].init: base.gradlab has 3 layers, "
                                        r"so it has no layer 9$"):
        Experiment(s)
    s["network"]["layers"][0]["init"] = {"from": str(tmp_path / "gone.gradlab"), "layer": 1}
    with pytest.raises(SpecError, match=r"gone\.gradlab does not exist"):
        Experiment(s)
    bad = tmp_path / "bad.gradlab"
    bad.write_bytes(b"not a zip")
    s["network"]["layers"][0]["init"] = {"from": str(bad), "layer": 1}
    with pytest.raises(SpecError) as err:
        Experiment(s)
    assert str(err.value).startswith("network.layers[0].init: ")
    assert "bad.gradlab is not a GradLab session" in str(err.value)
    assert "\n" not in str(err.value)


def test_a_frozen_layer_is_bit_identical_after_training_and_its_update_ratio_reads_0():
    s = spec(steps=100, optimizer="adam", clip={"norm": 1.0}, max_norm=2.0, l2=1e-3)
    s["network"]["layers"] = [{"units": 32, "activation": "relu", "batchnorm": True,
                               "trainable": False},
                              {"units": 32, "activation": "prelu"}]
    exp = Experiment(s)
    before = {k: v.copy() for k, v in exp.network.state_arrays().items()}
    exp.run()
    frozen = {"dense1.W", "bn1.gamma", "bn1.beta", "bn1.running_mean", "bn1.running_var"}
    for k, v in exp.network.state_arrays().items():
        if k in frozen:
            assert np.array_equal(v, before[k]), k  # bit-identical, BN statistics included
        else:
            assert not np.array_equal(v, before[k]), k
    ratios = exp.history.probe_column("update_ratio")[1:]
    assert (ratios[:, 0] == 0).all() and (ratios[:, 1] > 0).all()
    state = exp.optimizer.state_dict()
    assert not any(k in frozen for slot in state["slots"].values() for k in slot)


def test_a_session_that_reused_weights_reopens_without_its_source(base, tmp_path):
    _, _, npz = base
    src = tmp_path / "src.npz"
    src.write_bytes(npz.read_bytes())
    s = spec(steps=30)
    s["network"]["reuse"] = {"from": str(src), "layers": [1, 2], "trainable": False}
    exp = Experiment(s)
    exp.run()
    out = exp.save(tmp_path / "reused.gradlab")
    src.unlink()
    reuse.clear_cache()
    back = load_session(out)
    for k, v in exp.network.params.items():
        assert np.array_equal(back.network.params[k], v)
    back.run(steps=10)  # and it trains on
    assert back.step_count == 40
    with pytest.raises(SpecError, match=r"src\.npz does not exist"):
        Experiment(s)  # a new run needs the source


def test_reuse_from_a_preset_trains_it_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADLAB_DATA_DIR", str(tmp_path))
    reuse.clear_cache()
    s = presets.load("spiral")
    s["training"]["steps"] = 20
    s["network"]["reuse"] = {"from": "preset:spiral", "layers": [1, 2, 3]}
    exp = Experiment(s)
    kept = list((tmp_path / "pretrained").glob("spiral-*.npz"))
    assert len(kept) == 1
    trained = Experiment(presets.load("spiral"))
    trained.run()
    assert np.array_equal(exp.network.params["dense2.W"], trained.network.params["dense2.W"])
    reuse.clear_cache()
    again = Experiment(s)  # from the kept file now
    assert np.array_equal(again.network.params["dense2.W"], trained.network.params["dense2.W"])


def test_the_output_layer_does_not_inherit_a_source():
    s = spec()
    s["network"]["layers"] = [{"units": 32, "init": {"from": "x.gradlab", "layer": 1}}]
    layers = gradlab.experiment.spec.effective_layers(s)
    assert layers[-1]["output"] and layers[-1]["init"] == "glorot_uniform"


# ============================================================================ MC dropout
def test_mc_dropout_accuracy_is_recorded_beside_the_plain_one():
    s = spec(steps=200, mc_dropout=20)
    s["network"]["layers"] = [{"units": 64, "activation": "relu", "dropout": 0.3}] * 2
    exp = Experiment(s)
    exp.run()
    ev = exp.history.evals()
    assert np.isfinite(ev["val_acc_mc"]).all() and np.isfinite(ev["val_loss_mc"]).all()
    assert not np.array_equal(ev["val_loss_mc"], ev["val_loss"])
    assert abs(ev["val_acc_mc"][-1] - ev["val_acc"][-1]) < 0.1
    # the same run without MC dropout follows the same course: its masks are its own
    plain = Experiment({**s, "training": {**s["training"], "mc_dropout": 0}})
    plain.run()
    assert np.array_equal(plain.network.params["dense1.W"], exp.network.params["dense1.W"])
    assert np.isnan(plain.history.evals()["val_acc_mc"]).all()


def test_mc_dropout_averages_the_probabilities_of_stochastic_passes():
    from gradlab.experiment import mcdropout

    s = spec(mc_dropout=5)
    s["network"]["layers"] = [{"units": 16, "activation": "tanh", "dropout": 0.5}]
    exp = Experiment(s)
    x = exp.data.x_val[:7]
    out = mcdropout.averaged_outputs(exp.network, exp.loss, x, 5, np.random.default_rng(3))
    rng = np.random.default_rng(3)
    probs = []
    for _ in range(5):
        o = exp.network.forward_mc_dropout(x, rng).astype(np.float64)
        e = np.exp(o - o.max(axis=1, keepdims=True))
        probs.append(e / e.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(np.exp(out), np.mean(probs, axis=0), rtol=1e-12)
    # dropout on, everything else in evaluation mode: two passes differ, predict() does not
    a, b = (exp.network.forward_mc_dropout(x, rng) for _ in range(2))
    assert not np.array_equal(a, b)


def test_mc_dropout_needs_dropout_and_shows_in_info(tmp_path):
    assert check(spec(mc_dropout=10)).messages()[0].startswith(
        "training.mc_dropout: the network has no dropout")
    s = spec(steps=60, mc_dropout=10)
    s["network"]["layers"] = [{"units": 32, "activation": "relu", "dropout": 0.2}]
    (tmp_path / "s.json").write_text(json.dumps(s))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "gradlab", "run", "--spec", "s.json", "--out",
                        "m.gradlab", "--quiet", "--set", "training.mc_dropout=20"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert load_session(tmp_path / "m.gradlab").spec["training"]["mc_dropout"] == 20
    info = subprocess.run([sys.executable, "-m", "gradlab", "info", "m.gradlab"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300).stdout
    assert "mc dropout  20 passes at step 60: validation acc" in info and "(without: " in info


# ============================================================================ sessions
def test_old_sessions_without_mc_columns_still_open(tmp_path):
    """A session written before the MC-dropout columns existed loads with NaN in them."""
    import zipfile

    exp = Experiment(spec(steps=20))
    exp.run()
    path = exp.save(tmp_path / "new.gradlab")
    old = tmp_path / "old.gradlab"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(old, "w") as zout:
        manifest = json.loads(zin.read("manifest.json"))
        for name in ("history/evals/val_acc_mc", "history/evals/val_loss_mc"):
            manifest["arrays"].pop(name)
        for item in zin.infolist():
            if item.filename == "manifest.json":
                zout.writestr(item, json.dumps(manifest))
            elif not item.filename.startswith(("arrays/history/evals/val_acc_mc",
                                               "arrays/history/evals/val_loss_mc")):
                zout.writestr(item, zin.read(item.filename))
    back = load_session(old)
    assert np.isnan(back.history.evals()["val_acc_mc"]).all()
    assert len(back.history.evals()["step"]) == len(exp.history.evals()["step"])


def test_a_session_with_a_foreign_early_stopping_state_is_refused(tmp_path):
    import zipfile

    exp = Experiment(spec(steps=3000, lr=0.05, early_stopping={"patience": 2}))
    exp.run()
    path = exp.save(tmp_path / "es.gradlab")
    bad = tmp_path / "bad.gradlab"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
        manifest = json.loads(zin.read("manifest.json"))
        manifest["trainer"]["early_stopping"]["best_step"] = 10**9
        for item in zin.infolist():
            data = json.dumps(manifest) if item.filename == "manifest.json" else zin.read(
                item.filename)
            zout.writestr(item, data)
    with pytest.raises(SessionError, match=r"trainer\.early_stopping\.best_step must be a step"):
        load_session(bad)


def test_nadam_and_1cycle_resume_bit_identically(tmp_path):
    """Nadam's momentum product and 1cycle's momentum are saved with the run."""
    s = spec(steps=120, optimizer="nadam", schedule={"name": "one_cycle"}, lr=0.02)
    straight = Experiment(copy.deepcopy(s))
    straight.run()
    first = Experiment(copy.deepcopy(s))
    first.run(steps=47)
    back = load_session(first.save(tmp_path / "n.gradlab"))
    back.run()
    assert back.optimizer.mu_product == straight.optimizer.mu_product
    assert back.optimizer.beta1 == straight.optimizer.beta1
    for k, v in straight.network.params.items():
        assert np.array_equal(back.network.params[k], v), k


def test_one_cycle_cycles_the_optimisers_momentum_during_a_run():
    s = spec(steps=100, optimizer="momentum", schedule={"name": "one_cycle"}, lr=0.05,
             eval_every=100)
    exp = Experiment(s)
    seen = []
    for _ in range(100):
        exp.step()
        seen.append(exp.optimizer.momentum)
    sched = exp.schedule
    assert seen == [sched.momentum_at(t) for t in range(100)]
    lrs = exp.history.steps()["lr"]
    assert lrs[:100] == pytest.approx([sched.lr_at(t) for t in range(100)])
    assert max(lrs) == pytest.approx(0.05) and lrs[0] == pytest.approx(0.005)


# ============================================================================ export
def test_prelu_rrelu_and_reused_layers_export_as_code(base):
    from gradlab.experiment.netexport import keras_snippet, pytorch_snippet

    _, session, _ = base
    s = spec(steps=1)
    s["network"]["layers"] = [
        {"units": 32, "activation": "prelu", "init": {"from": str(session), "layer": 1}},
        {"units": 8, "activation": "rrelu", "lower": 0.1, "upper": 0.3},
    ]
    net = Experiment(s).network
    torch_src = pytorch_snippet(net.layers, net.input_dim)
    compile(torch_src, "t.py", "exec")
    assert '("act1", nn.PReLU(32, init=0.25))' in torch_src
    assert '("act2", nn.RReLU(0.1, 0.3))' in torch_src
    assert "reused from base.gradlab layer 1" in torch_src
    assert 'module = "act" + module[len("dense"):]' in torch_src  # alpha -> actL.weight
    keras_src = keras_snippet(net.layers, net.input_dim)
    compile(keras_src, "k.py", "exec")
    assert 'layers.PReLU(alpha_initializer=initializers.Constant(0.25), name="act1")' in keras_src
    assert 'RReLU(0.1, 0.3, name="act2")' in keras_src and "class RReLU(layers.Layer)" in keras_src
