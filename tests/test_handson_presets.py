"""The Hands-On ML chapter 11 presets reproduce their claims (each preset's reference.measured
says what GradLab measured): SELU self-normalises 100 layers, the activation advice, gradient
clipping rescuing an exploding net, reusing and freezing layers with few labels, 1cycle.

Runs are short, as the presets are (at most 1,500 steps of small networks); the datasets a
preset family shares are generated once per module.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import gradlab
from gradlab.cli import main
from gradlab.experiment import Experiment, load_session, presets

_DATA: dict[str, object] = {}


@pytest.fixture(scope="module", autouse=True)
def _forget_the_data():
    """The datasets (tens of MB) go with the module: later tests fork this process."""
    yield
    _DATA.clear()
    gradlab.experiment.reuse.clear_cache()


def build(spec: dict) -> Experiment:
    """The experiment of ``spec``, its dataset generated once per module (same data, seed)."""
    key = json.dumps([spec["data"], spec["seed"]], sort_keys=True)
    exp = Experiment(spec, dataset=_DATA.get(key))
    _DATA[key] = exp.data
    return exp


def trained(spec: dict) -> Experiment:
    exp = build(spec)
    exp.run()
    assert exp.status == "done" and exp.step_count == exp.total_steps
    return exp


def val_acc(exp: Experiment) -> float:
    return float(exp.history.evals()["val_acc"][-1])


def val_loss(exp: Experiment) -> float:
    return float(exp.history.evals()["val_loss"][-1])


# ============================================================================ SELU
@pytest.mark.slow
def test_selu_keeps_100_layers_at_mean_0_and_std_1():
    exp = build(presets.load("handson-selu-deep"))
    assert len(exp.network.blocks) == 101
    exp.run(steps=0)
    st = exp.history.probe(0)["stats"]
    mean, std = st["act_mean"][:-1], st["act_std"][:-1]
    assert (np.abs(mean) < 0.1).all(), mean
    assert ((std > 0.85) & (std < 1.1)).all(), std
    # the same layers with ReLU and He init do not stay normalised over 100 layers
    spec = presets.load("handson-selu-deep")
    for layer in spec["network"]["layers"]:
        layer["activation"], layer["init"] = "relu", "he_normal"
    relu = build(spec)
    relu.run(steps=0)
    assert relu.history.probe(0)["stats"]["act_std"][:-1].min() < 0.3
    # and training keeps SELU's layers near the fixed point
    exp.run(steps=30)
    st = exp.history.probe(-1)["stats"]
    assert exp.history.probe(-1)["step"] == 30
    assert (np.abs(st["act_mean"][:-1]) < 0.25).all()
    assert ((st["act_std"][:-1] > 0.8) & (st["act_std"][:-1] < 1.5)).all()


# ============================================================================ activations
def test_the_activation_family_is_one_comparison():
    members = presets.family("handson-activations")
    assert members == [f"handson-activations-{a}"
                       for a in ("elu", "leaky_relu", "relu", "tanh", "sigmoid")]
    specs = [presets.load(m) for m in members]
    for s in specs:  # the same run but for the activation (and its textbook initialiser)
        assert "family" not in s
        assert s["data"] == {"name": "fashion_mnist", "fallback": "mnist_like",
                             "preprocess": "standardize"}
        assert s["training"] == specs[0]["training"]
        assert len(s["network"]["layers"]) == 10
    inits = {s["network"]["layers"][0]["activation"]: s["network"]["layers"][0]["init"]
             for s in specs}
    assert inits == {"elu": "he_normal", "leaky_relu": "he_normal", "relu": "he_normal",
                     "tanh": "glorot_uniform", "sigmoid": "glorot_uniform"}


@pytest.mark.slow
def test_elu_beats_the_relus_which_beat_tanh_which_beats_sigmoid():
    """Hands-On ML's ELU > leaky ReLU > ReLU > tanh > sigmoid, as measured: ELU first, the
    ReLUs (a tie here) before tanh, sigmoid at chance."""
    acc = {m.rsplit("-", 1)[1]: val_acc(trained(presets.load(m)))
           for m in presets.family("handson-activations")}
    assert acc["elu"] > max(acc["leaky_relu"], acc["relu"]), acc
    assert min(acc["leaky_relu"], acc["relu"]) > acc["tanh"], acc
    assert acc["tanh"] > acc["sigmoid"] + 0.5, acc
    assert acc["sigmoid"] < 0.2, acc


def test_a_family_runs_from_the_command_line(tmp_path, monkeypatch, capsys):
    """``gradlab run --preset FAMILY`` writes one session per member and prints them side by
    side; ``gradlab presets`` lists the families (a toy family of two quick presets here)."""
    monkeypatch.setattr(presets, "families",
                        lambda: {"toy": ["spiral", "exploding-chain"]})
    code = main(["run", "--preset", "toy", "--steps", "30", "--out",
                 str(tmp_path / "toy.gradlab"), "--quiet"])
    assert code == 0
    for member in ("spiral", "exploding-chain"):
        exp = load_session(tmp_path / f"toy-{member}.gradlab")
        assert exp.name == member and exp.step_count == 30
    out = capsys.readouterr().out
    assert "toy: 2 of 2 runs" in out and "toy-spiral.gradlab" in out and "val acc" in out
    monkeypatch.undo()
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert "handson-activations" in listing.split("families")[1]
    assert "elu, leaky_relu, relu, tanh, sigmoid" in listing


# ============================================================================ clipping
def test_norm_clipping_rescues_an_exploding_net():
    clipped = trained(presets.load("handson-clipping"))
    assert val_acc(clipped) > 0.75
    assert clipped.history.steps()["clipped"].sum() > 300
    spec = presets.load("handson-clipping")
    spec["training"]["clip"] = None
    plain = build(spec)
    plain.run()
    kinds = {e["kind"] for e in plain.history.events_copy()}
    assert plain.status == "diverged" or val_acc(plain) < 0.2
    assert kinds & {"dead", "diverged", "nan", "exploding", "collapse"}, kinds


# ============================================================================ transfer
@pytest.mark.slow
def test_reused_frozen_layers_beat_training_from_scratch_then_fine_tuning_helps():
    frozen = build(presets.load("handson-transfer"))
    base = gradlab.experiment.reuse.load_source("preset:handson-transfer-base", "test")
    for i in range(3):  # the reused layers are the base's, and stay bit-identical
        assert np.array_equal(frozen.network.blocks[i].params["W"], base.blocks[i].params["W"])
    before = {k: v.copy() for k, v in frozen.network.params.items()}
    frozen.run()
    for k in ("dense1.W", "dense1.b", "dense2.W", "dense2.b", "dense3.W", "dense3.b"):
        assert np.array_equal(frozen.network.params[k], before[k]), k
    assert not np.array_equal(frozen.network.params["dense4.W"], before["dense4.W"])
    assert (frozen.history.probe_column("update_ratio")[1:, :3] == 0).all()
    assert len(frozen.data.x_train) == 200

    scratch_spec = presets.load("handson-transfer")
    scratch_spec["network"].pop("reuse")
    scratch = trained(scratch_spec)
    assert val_acc(frozen) > val_acc(scratch) + 0.15, (val_acc(frozen), val_acc(scratch))

    fine = trained(presets.load("handson-transfer-finetune"))
    assert fine.spec["training"]["lr"] == frozen.spec["training"]["lr"] / 10
    assert all(b.trainable for b in fine.network.blocks)
    assert val_acc(fine) > val_acc(frozen), (val_acc(fine), val_acc(frozen))


# ============================================================================ 1cycle
@pytest.mark.slow
def test_one_cycle_ends_lower_than_a_constant_rate_in_the_same_steps():
    cycle = trained(presets.load("handson-1cycle"))
    lrs = cycle.history.steps()["lr"]
    peak = int(np.argmax(lrs))
    assert lrs[peak] == pytest.approx(0.02) and lrs[0] == pytest.approx(0.002)
    assert 0.4 * len(lrs) < peak < 0.5 * len(lrs) and lrs[-1] < 1e-4
    assert cycle.optimizer.momentum == pytest.approx(0.95)  # back up at the end
    for lr in (0.02, 0.01, 0.005):
        spec = presets.load("handson-1cycle")
        spec["training"]["schedule"], spec["training"]["lr"] = "constant", lr
        constant = trained(spec)
        assert val_loss(cycle) < val_loss(constant) - 0.05, (lr, val_loss(cycle),
                                                              val_loss(constant))
        assert val_acc(cycle) > val_acc(constant) - 0.01, lr
