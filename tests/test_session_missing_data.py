"""A session whose data file has moved still opens: its history can be viewed and exported; only
resuming needs the data, and says which file is missing."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import gradlab
from gradlab.errors import DataError


@pytest.fixture
def orphan_session(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    csv = tmp_path / "points.csv"
    np.savetxt(csv, np.column_stack([x, y]), delimiter=",", header="a,b,label", comments="")
    spec = {"name": "csv-run", "data": {"name": "csv", "path": str(csv)},
            "network": {"layers": [{"units": 8, "activation": "tanh"}]},
            "training": {"steps": 60}, "probes": {"every": 10}}
    exp = gradlab.Experiment(spec)
    exp.run()
    path = exp.save(tmp_path / "run.gradlab")
    csv.unlink()
    return path, exp.history.n_probes


def test_the_history_opens_without_the_data(orphan_session):
    path, n_probes = orphan_session
    exp = gradlab.load_session(path)
    assert exp.history.n_probes == n_probes
    assert exp.step_count == 60
    with pytest.raises(DataError, match=r"points\.csv"):
        exp.data  # noqa: B018 (the lazy load is what is tested)
    assert "points.csv" in exp.data_error
    with pytest.raises(DataError, match=r"points\.csv"):
        next(exp.train(10))


def test_info_and_export_work_on_it(orphan_session, tmp_path):
    path, _ = orphan_session
    run = [sys.executable, "-m", "gradlab"]
    info = subprocess.run([*run, "info", str(path)], capture_output=True, text=True)
    assert info.returncode == 0 and "60 steps" in info.stdout
    out = tmp_path / "stats.csv"
    exp = subprocess.run([*run, "export", str(path), "--stats", str(out)], capture_output=True,
                         text=True)
    assert exp.returncode == 0 and out.read_text().startswith("step,layer,stat,value")
