"""Sweeps on a real dask.distributed LocalCluster (2 worker processes): the same results as the
local process pool for the same seeds, resumption, divergence, and the command line's
--scheduler."""

from __future__ import annotations

import csv
import json

import pytest
from distributed import LocalCluster

from gradlab.cli import main
from gradlab.errors import SpecError
from gradlab.experiment.sweep import DaskExecutor, LocalExecutor, SweepDef, parse_grid, run

BASE = {
    "name": "tiny",
    "seed": 0,
    "data": {"name": "circles", "n": 300},
    "network": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}]},
    "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 16, "steps": 40},
}
#: what a trial computes (seconds and session paths aside)
FIGURES = ("trial", "seed", "status", "steps", "val_error", "val_loss", "loss", "diverged_at")


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as c:
        yield c


def figures(folder):
    with open(folder / "results.csv", newline="") as fh:
        return [{k: row[k] for k in FIGURES} for row in csv.DictReader(fh)]


def sweep():
    return SweepDef(
        base=BASE,
        grid=[parse_grid("network.activation=tanh,relu"), parse_grid("training.lr=0.05,1e8")],
        repeats=2,
        seed=3,
    )


def test_a_local_cluster_and_the_local_pool_give_the_same_results(tmp_path, cluster):
    with DaskExecutor(cluster.scheduler_address) as ex:
        assert ex.slots == 2
        run(sweep(), tmp_path / "dask", ex)
    with LocalExecutor(workers=2) as ex:
        run(sweep(), tmp_path / "local", ex)
    on_dask, on_pool = figures(tmp_path / "dask"), figures(tmp_path / "local")
    assert on_dask == on_pool
    assert len(on_dask) == 8 and {r["seed"] for r in on_dask} == {"3", "4"}
    statuses = [r["status"] for r in on_dask]
    assert "diverged" in statuses and "done" in statuses  # relu at lr 1e8 blows up
    assert all(r["diverged_at"] for r in on_dask if r["status"] == "diverged")
    # a different seed gives different figures (the comparison above can fail)
    other = SweepDef(
        base=BASE,
        grid=[("network.activation", ["tanh"]), ("training.lr", [0.05])],
        repeats=2,
        seed=9,
    )
    with DaskExecutor(cluster.scheduler_address) as ex:
        run(other, tmp_path / "other", ex)
    assert [r["val_loss"] for r in figures(tmp_path / "other")] != [
        r["val_loss"] for r in on_dask[:2]
    ]


def test_resuming_on_the_cluster_skips_finished_trials(tmp_path, cluster):
    out = tmp_path / "sw"
    with DaskExecutor(cluster.scheduler_address) as ex:
        run(sweep(), out, ex)
        for trial_id in ("t0001", "t0006"):
            (out / "trials" / f"{trial_id}.json").unlink()
        again = run(sweep(), out, ex)
    assert again.ran == 2 and again.skipped == 6
    assert len(json.loads((out / "sweep.json").read_text())["trial_list"]) == 8


def test_the_command_line_runs_on_a_scheduler(tmp_path, cluster, capsys):
    spec = tmp_path / "base.json"
    spec.write_text(json.dumps(BASE))
    out = tmp_path / "sw"
    code = main(
        [
            "sweep",
            "--spec",
            str(spec),
            "--grid",
            "training.lr=0.05,0.1",
            "--out",
            str(out),
            "--scheduler",
            cluster.scheduler_address,
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "on the dask cluster at" in err and "2 done, 0 diverged, 0 failed" in err
    assert [r["status"] for r in figures(out)] == ["done", "done"]


def test_an_unreachable_scheduler_is_one_sentence():
    with pytest.raises(
        SpecError, match=r"cannot reach a dask scheduler at tcp://127\.0\.0\.1:9"
    ) as err:
        DaskExecutor("tcp://127.0.0.1:9", timeout=2)
    assert "\n" not in str(err.value)
