"""Sweeps: grid and random expansion, the results table, and real runs on the local process pool
(divergence marked, failures recorded, interruption and resumption, folders refused)."""

from __future__ import annotations

import csv
import json
import math

import pytest

from gradlab.cli import main
from gradlab.errors import SpecError
from gradlab.experiment import load_session
from gradlab.experiment.sweep import (
    LocalExecutor,
    SweepDef,
    SweepResults,
    TrialRecord,
    apply_field,
    load,
    parse_grid,
    parse_random,
    results_markdown,
    run,
)
from gradlab.experiment.sweep.presets import load_preset, preset_names

BASE = {
    "name": "tiny",
    "seed": 0,
    "data": {"name": "xor", "n": 200},
    "network": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}]},
    "training": {"optimizer": "sgd", "lr": 0.1, "batch_size": 16, "steps": 30},
}

# the data named only (its own defaults), so another dataset's name is a valid spec
BASE_BY_NAME = {**BASE, "data": {"name": "xor"}}


@pytest.fixture(scope="module")
def pool():
    with LocalExecutor(workers=2) as ex:
        yield ex


@pytest.fixture
def base_file(tmp_path):
    path = tmp_path / "base.json"
    path.write_text(json.dumps(BASE))
    return path


def rows_of(folder):
    with open(folder / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------------------- expansion
def test_grid_expands_to_the_cartesian_product_with_repeats_as_seeds():
    sw = SweepDef(
        base=BASE,
        grid=[parse_grid("network.activation=tanh,relu"), parse_grid("training.lr=0.01,0.1,1")],
        repeats=2,
        seed=5,
    )
    trials = sw.expand()
    assert len(trials) == sw.n_trials == 12
    assert [t.id for t in trials[:3]] == ["t0000", "t0001", "t0002"]
    settings = [(t.settings["network.activation"], t.settings["training.lr"]) for t in trials]
    assert settings[::2] == [(a, lr) for a in ("tanh", "relu") for lr in (0.01, 0.1, 1)]
    assert [t.seed for t in trials[:4]] == [5, 6, 5, 6]  # the same seeds in every cell
    spec = trials[3].spec(BASE, steps=7)
    assert spec["seed"] == 6 and spec["training"]["lr"] == 0.1
    assert spec["training"]["steps"] == 7 and spec["training"]["epochs"] is None
    assert all(layer["activation"] == "tanh" for layer in spec["network"]["layers"])


def test_random_draws_are_seeded_shared_by_cells_and_inside_their_bounds():
    def make(seed):
        return SweepDef(
            base=BASE,
            grid=[parse_grid("network.activation=tanh,relu")],
            random=[
                parse_random("training.lr=loguniform:1e-4:1e-1"),
                parse_random("training.optimizer=choice:sgd,adam"),
                parse_random("data.noise=uniform:0:0.5"),
            ],
            trials=20,
            seed=seed,
        )

    a, b, c = make(3).expand(), make(3).expand(), make(4).expand()
    assert [t.settings for t in a] == [t.settings for t in b]  # the same command, the same trials
    assert [t.settings for t in a] != [t.settings for t in c]
    lrs = [t.settings["training.lr"] for t in a[:20]]
    assert all(1e-4 <= lr <= 1e-1 for lr in lrs)
    assert min(lrs) < 1e-3 and max(lrs) > 1e-2  # spread over decades, not uniform
    assert {t.settings["training.optimizer"] for t in a} == {"sgd", "adam"}
    assert all(0 <= t.settings["data.noise"] <= 0.5 for t in a)
    # both activations see the same 20 samples
    assert [{**t.settings, "network.activation": None} for t in a[:20]] == [
        {**t.settings, "network.activation": None} for t in a[20:]
    ]


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("training.lr", "FIELD=v1,v2"),
        ("training.lr=", "no values"),
        ("training.lr=1,1", "twice"),
    ],
)
def test_bad_grid_options_are_refused_with_a_sentence(item, fragment):
    with pytest.raises(SpecError, match=fragment):
        parse_grid(item)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ("training.lr=loguniform:0:1", "LOW > 0"),
        ("training.lr=uniform:1:0", "LOW < HIGH"),
        ("training.lr=normal:0:1", "names no distribution"),
        ("training.lr=loguniform:a:b", "loguniform:LOW:HIGH"),
    ],
)
def test_bad_random_options_are_refused_with_a_sentence(item, fragment):
    with pytest.raises(SpecError, match=fragment):
        parse_random(item)


def test_network_shorthand_sets_every_hidden_dense_layer_but_not_the_output():
    spec = {
        "network": {
            "layers": [
                {"units": 4, "activation": "tanh"},
                {"type": "batchnorm"},
                {"units": 4, "activation": "tanh"},
                {"type": "output", "activation": "linear"},
            ]
        }
    }
    out = apply_field(spec, "network.activation", "softsign")
    acts = [layer.get("activation") for layer in out["network"]["layers"]]
    assert acts == ["softsign", None, "softsign", "linear"]
    assert spec["network"]["layers"][0]["activation"] == "tanh"  # the base is not touched
    assert apply_field(spec, "network.layers[0].units", 9)["network"]["layers"][0]["units"] == 9


def test_a_bad_value_in_the_grid_fails_before_any_trial_runs():
    sw = SweepDef(base=BASE, grid=[parse_grid("training.lr=0.1,-1")])
    with pytest.raises(SpecError, match=r"training\.lr.*-1"):
        sw.check_specs()


# ---------------------------------------------------------------------------- the table
def _results(records, grid, random=(), repeats=2):
    sw = SweepDef(base=BASE, grid=grid, random=list(random), repeats=repeats)
    return SweepResults(folder=None, sweep=sw, trials=records)


def test_the_table_shows_mean_and_std_and_picks_each_cells_best_learning_rate():
    grid = [("network.activation", ["tanh", "softsign"]), ("training.lr", [0.01, 0.1])]
    errors = {
        ("tanh", 0.01): (0.5, 0.7),
        ("tanh", 0.1): (0.2, 0.4),
        ("softsign", 0.01): (0.1, 0.1),
        ("softsign", 0.1): (0.3, 0.3),
    }
    records = []
    for (act, lr), errs in errors.items():
        for r, e in enumerate(errs):
            records.append(
                TrialRecord(
                    f"t{len(records):04d}",
                    {"network.activation": act, "training.lr": lr},
                    r,
                    r,
                    status="done",
                    steps=30,
                    val_error=e,
                    loss=e * 2,
                )
            )
    res = _results(records, grid)
    md = results_markdown(res, rows=["network.activation"], cols=[])
    section = md.split("## Final validation error (%)")[1].split("##")[0]
    assert "| tanh | 30.00 ± 14.14 (lr=0.1) |" in section
    assert "| softsign | 10.00 ± 0.00 (lr=0.01) |" in section
    # the layout like Table 1: rows x columns
    table = res.table(rows=["network.activation"], cols=["training.lr"])
    assert table.row_labels == ["tanh", "softsign"] and table.col_labels == ["0.01", "0.1"]
    assert math.isclose(table.cells[0][1].best.stat("val_error").mean, 0.3)
    with pytest.raises(SpecError, match="not swept"):
        res.table(rows=["training.batch_size"])


def test_a_setting_that_diverged_is_not_chosen_over_one_that_trained():
    grid = [("training.lr", [0.01, 10.0])]
    records = [
        TrialRecord("t0000", {"training.lr": 0.01}, 0, 0, status="done", val_error=0.4),
        TrialRecord(
            "t0001", {"training.lr": 10.0}, 0, 0, status="diverged", val_error=0.3, diverged_at=12
        ),
    ]
    res = _results(records, grid, repeats=1)
    cell = res.table(rows=[], cols=[]).cells[0][0]
    assert cell.best.settings == {"training.lr": 0.01}
    md = results_markdown(res)
    assert "| 10 | 1/1 | 30.00 |  | 1/1: 12 | 0 |" in md


# ---------------------------------------------------------------------------- real runs
def test_a_local_sweep_runs_marks_divergence_and_writes_sessions(tmp_path, pool):
    sw = SweepDef(
        base=BASE,
        grid=[parse_grid("network.activation=relu"), parse_grid("training.lr=0.1,1e8")],
        repeats=2,
    )
    out = tmp_path / "sw"
    outcome = run(sw, out, pool)
    assert outcome.ran == 4 and not outcome.interrupted
    rows = rows_of(out)
    assert [r["trial"] for r in rows] == ["t0000", "t0001", "t0002", "t0003"]
    assert [r["status"] for r in rows] == ["done", "done", "diverged", "diverged"]
    for r in rows[2:]:  # stopped early, at the step that went non-finite
        assert int(r["steps"]) < 30 and int(r["diverged_at"]) == int(r["steps"]) + 1
    for r in rows[:2]:
        assert int(r["steps"]) == 30 and r["diverged_at"] == "" and 0 <= float(r["val_error"]) <= 1
        exp = load_session(out / r["session"])
        assert exp.step_count == 30 and exp.seed == int(r["seed"])
        assert math.isclose(1 - exp.history.evals()["val_acc"][-1], float(r["val_error"]))
    md = (out / "results.md").read_text()
    assert "2 done, 2 diverged, 0 failed" in md
    # the window's loader: the rows and each trial's session
    res = load(out)
    assert [t.status for t in res.trials] == [r["status"] for r in rows]
    assert all(t.session.is_file() for t in res.trials)


def test_a_trial_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, pool):
    # mnist is a valid name but not downloaded: the trial fails when it runs, not before
    sw = SweepDef(base=BASE_BY_NAME, grid=[parse_grid("data.name=xor,mnist")])
    out = tmp_path / "sw"
    run(sw, out, pool)
    ok, failed = rows_of(out)
    assert ok["status"] == "done"
    assert failed["status"] == "error" and "mnist" in failed["error"]
    assert "\n" not in failed["error"] and failed["session"] == ""
    assert "## Failed trials" in (out / "results.md").read_text()
    again = run(sw, out, pool)  # a failed trial is tried again, a finished one is not
    assert again.ran == 1 and again.skipped == 1


def test_resuming_skips_finished_trials_and_keeps_their_files(tmp_path, pool):
    sw = SweepDef(base=BASE, grid=[parse_grid("training.lr=0.05,0.1,0.2")], repeats=2)
    out = tmp_path / "sw"
    run(sw, out, pool)
    before = {p.name: p.stat().st_mtime_ns for p in (out / "trials").iterdir()}
    (out / "trials" / "t0004.json").unlink()  # as if stopped before this trial was recorded
    again = run(sw, out, pool)
    assert again.ran == 1 and again.skipped == 5
    after = {p.name: p.stat().st_mtime_ns for p in (out / "trials").iterdir()}
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"t0004.json", "t0004.gradlab"}
    assert [r["status"] for r in rows_of(out)] == ["done"] * 6


def test_ctrl_c_keeps_finished_trials_and_the_same_command_finishes(tmp_path):
    sw = SweepDef(base=BASE, grid=[parse_grid("training.lr=0.01,0.02,0.03,0.04,0.05,0.06")])
    out = tmp_path / "sw"

    def interrupt(progress):
        if progress.done >= 1:
            raise KeyboardInterrupt

    with LocalExecutor(workers=1) as ex:
        first = run(sw, out, ex, on_progress=interrupt)
    assert first.interrupted and 1 <= first.ran < 6
    rows = rows_of(out)
    kept = [r for r in rows if r["status"] == "done"]
    assert len(kept) == first.ran and all(r["status"] in ("done", "pending") for r in rows)
    assert not list((out / "trials").glob(".*.tmp"))
    for r in kept:
        assert load_session(out / r["session"]).step_count == 30
    with LocalExecutor(workers=2) as ex:
        second = run(sw, out, ex)
    assert second.skipped == first.ran and second.ran == 6 - first.ran
    assert [r["status"] for r in rows_of(out)] == ["done"] * 6


def test_a_folder_made_by_other_settings_is_refused(tmp_path, base_file, capsys):
    out = tmp_path / "sw"
    cmd = [
        "sweep",
        "--spec",
        str(base_file),
        "--grid",
        "training.lr=0.1,0.2",
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
    ]
    assert main(cmd) == 0
    capsys.readouterr()
    assert main([*cmd, "--steps", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert "holds a different sweep" in err and "--steps" in err and len(err.splitlines()) == 1
    assert main([*cmd[:4], "training.lr=0.1,0.3", *cmd[5:]]) == 2
    assert "--grid differs" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert main([*cmd[:6], str(other), *cmd[7:]]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"


def test_the_command_line_reports_progress_skips_on_rerun_and_lays_out_the_table(
    tmp_path, base_file, capsys
):
    out = tmp_path / "sw"
    cmd = [
        "sweep",
        "--spec",
        str(base_file),
        "--grid",
        "network.activation=tanh,softsign",
        "--random",
        "training.lr=loguniform:0.01:0.3",
        "--trials",
        "2",
        "--out",
        str(out),
        "--workers",
        "2",
        "--rows",
        "training.lr",
        "--cols",
        "network.activation",
    ]
    assert main(cmd) == 0
    err = capsys.readouterr().err
    assert "4 trials on 2 local worker processes" in err
    assert "4/4 trials  running 0  diverged 0  failed 0  elapsed" in err and "remaining" in err
    md = (out / "results.md").read_text()
    header = md.split("## Final validation error (%)")[1].strip().splitlines()[0]
    assert header == "| lr \\ activation | tanh | softsign |"
    assert main(cmd) == 0
    assert "(4 already in the folder)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--trials", "3"], "--random"),
        (["--random", "training.lr=loguniform:0.01:0.3"], "--trials"),
        (["--grid", "training.lr=0.1,-1"], "training.lr"),
        (["--rows", "training.batch_size"], "not swept"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_command_lines_are_one_sentence_and_exit_2(
    tmp_path, base_file, capsys, extra, fragment
):
    out = tmp_path / "sw"
    code = main(["sweep", "--spec", str(base_file), "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and fragment in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_failed_trial_makes_the_command_exit_1_with_the_reason(tmp_path, capsys):
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(BASE_BY_NAME))
    out = tmp_path / "sw"
    code = main(
        [
            "sweep",
            "--spec",
            str(base_file),
            "--grid",
            "data.name=xor,mnist",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    assert code == 1
    assert "t0001" in capsys.readouterr().err


def test_the_glorot_table1_preset_is_glorots_setup():
    assert "glorot-table1" in preset_names()
    kw = load_preset("glorot-table1")
    sw = SweepDef(**kw)
    sw.check_specs()
    grid = dict(sw.grid)
    assert grid["network.activation"] == ["softsign", "tanh", "sigmoid"]
    assert grid["network.init"] == ["glorot_standard", "glorot_uniform"]
    assert len(grid["training.lr"]) >= 3  # the learning rate is chosen per cell
    trial = sw.expand()[0].spec(sw.base, sw.steps)
    assert trial["data"]["name"] == "shapeset" and trial["training"]["batch_size"] == 10
    assert trial["training"]["optimizer"] == "sgd"
    hidden = trial["network"]["layers"]
    assert len(hidden) == 5 and {layer["units"] for layer in hidden} == {1000}
    assert sw.rows == ["network.activation", "network.init"]


def test_the_small_table1_preset_is_the_same_sweep_scaled_down():
    full, small = (SweepDef(**load_preset(n)) for n in ("glorot-table1", "glorot-table1-small"))
    small.check_specs()
    assert [f for f, _ in small.grid] == [f for f, _ in full.grid]
    assert dict(small.grid)["network.activation"] == dict(full.grid)["network.activation"]
    assert small.steps < full.steps and small.repeats >= 2
    spec = small.expand()[0].spec(small.base, small.steps)
    assert len(spec["network"]["layers"]) == 5
    assert {layer["units"] for layer in spec["network"]["layers"]} == {100}
    assert spec["training"]["batch_size"] == 10 and spec["data"]["name"] == "shapeset"


def test_a_damaged_folder_loads_what_it_can_and_refuses_what_it_cannot(tmp_path, pool):
    sw = SweepDef(base=BASE, grid=[parse_grid("training.lr=0.05,0.1")])
    out = tmp_path / "sw"
    run(sw, out, pool)
    (out / "trials" / "t0000.json").write_text("{not json")  # a damaged record: not run
    (out / "trials" / "t0001.gradlab").unlink()  # a record without its session: not run
    res = load(out)
    assert [t.status for t in res.trials] == ["pending", "pending"]
    again = run(sw, out, pool)  # and the same command runs them again
    assert again.ran == 2 and [t.status for t in load(out).trials] == ["done", "done"]
    (out / "sweep.json").write_text('{"format": "gradlab-sweep", "version": 99}')
    with pytest.raises(SpecError, match="newer GradLab"):
        load(out)
    (out / "sweep.json").write_text("[1, 2")
    with pytest.raises(SpecError, match="cannot be read"):
        load(out)
    with pytest.raises(SpecError, match="holds no sweep"):
        load(tmp_path)
