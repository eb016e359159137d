"""Checkpoints carry what names a run: its learning-rate changes and its name survive a save and
a load (and a session written before lr changes were recorded still opens); the dataset of a run
is built once however many threads ask for it at the same moment."""

from __future__ import annotations

import threading

import numpy as np

import gradlab
from gradlab import data as datasets
from gradlab.experiment import Experiment, presets
from gradlab.experiment import experiment as experiment_module
from gradlab.session import format as session_format


def small() -> dict:
    spec = presets.load("spiral")
    spec["training"]["steps"] = 40
    spec["probes"]["every"] = 10
    return spec


def test_lr_changes_and_the_name_survive_save_and_load(tmp_path):
    exp = Experiment(small())
    exp.run(steps=10)
    exp.set_lr(0.05)
    exp.run(steps=5)
    exp.save(tmp_path / "s.gradlab")
    back = gradlab.load_session(tmp_path / "s.gradlab")
    assert back.lr_changes == [{"step": 10, "from": 0.01, "to": 0.05}]
    assert back.base_lr == 0.05 and back.lr == 0.05
    assert back.name == "spiral"  # the spec it started from is the preset's
    assert back.describe().endswith("adam lr 0.01 -> 0.05 at step 10")
    back.run(steps=5)
    np.testing.assert_array_equal(back.history.steps()["lr"][-5:], 0.05)


def test_a_session_from_before_lr_changes_opens_with_its_override(tmp_path):
    exp = Experiment(small())
    exp.run(steps=4)
    exp.save(tmp_path / "old.gradlab")
    manifest, arrays = session_format.read(tmp_path / "old.gradlab")
    trainer = manifest["trainer"]
    del trainer["lr_changes"]
    trainer["lr_override"] = 0.002  # what older versions wrote
    session_format.write(tmp_path / "old.gradlab", manifest, arrays)
    back = gradlab.load_session(tmp_path / "old.gradlab")
    assert back.lr == 0.002
    assert back.lr_changes == [{"step": 4, "from": 0.01, "to": 0.002}]


def test_the_dataset_is_built_once_when_two_threads_ask_at_once(monkeypatch):
    exp = Experiment(small())
    exp._dataset = None  # as a loaded session: built on first use
    calls = []
    real = datasets.load
    gate = threading.Barrier(2)

    def counting_load(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(experiment_module.datasets, "load", counting_load)
    got = []

    def ask():
        gate.wait()
        got.append(exp.data)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert got[0] is got[1]
