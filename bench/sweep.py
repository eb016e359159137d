"""Sweep throughput: trials/hour with 1 and 2 workers, on the local process pool and on a dask
LocalCluster; and the Table 1 preset at reduced scale on a 2-process LocalCluster.

    .venv/bin/python bench/sweep.py                      # throughput, 1 round
    .venv/bin/python bench/sweep.py --rounds 3 --trials 8 --steps 5000
    .venv/bin/python bench/sweep.py --table1 --table1-steps 500

Each measurement runs ``--trials`` identical-cost trials (the same small network, different
learning rates) on an executor that is already up (its workers started and warmed by one trial
each), so the figure is the steady-state rate a long sweep sees. The four set-ups are interleaved
round by round, and the ratios are taken within a round, because the machine is shared: the load
average before and after each round is printed beside the figures.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gradlab.experiment.sweep import DaskExecutor, LocalExecutor, SweepDef, run
from gradlab.experiment.sweep.presets import load_preset

#: a trial of a second or two: a 2-[64]x4-2 tanh net on the spiral, batch 32
BASE = {
    "name": "bench",
    "seed": 0,
    "data": {"name": "spiral", "n": 1000},
    "network": {"layers": [{"units": 64, "activation": "tanh"}] * 4},
    "training": {"optimizer": "sgd", "lr": 0.05, "batch_size": 32, "steps": 2000},
}


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def sweep_of(trials: int, steps: int, tag: int) -> SweepDef:
    lrs = [round(0.01 + 0.001 * i + 0.0001 * tag, 6) for i in range(trials)]
    return SweepDef(base=BASE, grid=[("training.lr", lrs)], steps=steps)


def timed_run(executor, trials: int, steps: int, tag: int) -> tuple[float, float]:
    """Wall seconds for the sweep, and a trial's mean seconds inside its worker."""
    folder = Path(tempfile.mkdtemp(prefix="gradlab-bench-sweep-"))
    try:
        t0 = time.perf_counter()
        out = run(sweep_of(trials, steps, tag), folder / "sw", executor)
        dt = time.perf_counter() - t0
        bad = [t for t in out.results.trials if t.status != "done"]
        if bad:
            raise SystemExit(f"bench trial failed: {bad[0].error or bad[0].status}")
        return dt, statistics.mean(t.seconds for t in out.results.trials)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def throughput(args) -> None:
    from distributed import LocalCluster

    setups = []
    for n in (1, 2):
        setups.append((f"local pool, {n} worker{'s' if n > 1 else ''}", "local", n))
    for n in (1, 2):
        setups.append((f"LocalCluster, {n} process{'es' if n > 1 else ''}", "dask", n))
    clusters = {
        n: LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        for n in (1, 2)
    }
    executors = {}
    try:
        for _, kind, n in setups:
            ex = (
                LocalExecutor(n) if kind == "local" else DaskExecutor(clusters[n].scheduler_address)
            )
            timed_run(ex, n, min(args.steps, 200), tag=99)  # start and warm every worker
            executors[(kind, n)] = ex
        rates: dict[str, list[float]] = {name: [] for name, _, _ in setups}
        busy: dict[str, list[float]] = {name: [] for name, _, _ in setups}
        trial_s: dict[str, list[float]] = {name: [] for name, _, _ in setups}
        ratios: dict[str, list[float]] = {"local": [], "dask": []}
        print(
            f"{args.trials} trials of {args.steps} steps each (2-[64]x4-2 tanh, spiral, batch 32); "
            "load average (1, 5, 15 min) shown per round"
        )
        for r in range(args.rounds):
            before = load()
            round_rates = {}
            for name, kind, n in setups:
                dt, per_trial = timed_run(executors[(kind, n)], args.trials, args.steps, tag=r)
                round_rates[(kind, n)] = args.trials / dt * 3600
                rates[name].append(round_rates[(kind, n)])
                # how busy the executor kept its workers: trial time over wall time x workers
                # (near 1: no idle gaps; a ratio below 2 then means the cores were not free)
                busy[name].append(args.trials * per_trial / (dt * n))
                trial_s[name].append(per_trial)
            for kind in ("local", "dask"):
                ratios[kind].append(round_rates[(kind, 2)] / round_rates[(kind, 1)])
            print(
                f"round {r + 1}: load {before} -> {load()}: "
                + ", ".join(f"{name} {rates[name][-1]:,.0f}/h" for name, _, _ in setups)
                + f"; 2/1 local {ratios['local'][-1]:.2f}x, dask {ratios['dask'][-1]:.2f}x"
            )
        print("\n| set-up | trials/hour | 2 workers / 1 | a trial, in its worker | workers busy |")
        print("|---|---:|---:|---:|---:|")
        for name, kind, n in setups:
            ratio = f"{statistics.median(ratios[kind]):.2f}x" if n == 2 else ""
            print(
                f"| {name} | {statistics.median(rates[name]):,.0f} | {ratio} | "
                f"{statistics.median(trial_s[name]):.2f} s | "
                f"{100 * statistics.median(busy[name]):.0f}% |"
            )
        print("(medians over the rounds)")
    finally:
        for ex in executors.values():
            ex.close()
        for c in clusters.values():
            c.close()


def table1(args) -> None:
    """The glorot-table1 preset at --table1-steps steps per trial on a 2-process LocalCluster:
    the total, and the cost of a full-scale trial from the cost of a training step (the
    training loop's own time, probes and evaluations included) plus what a trial pays once (data
    generation, start-up, saving)."""
    from distributed import LocalCluster

    kw = load_preset("glorot-table1")
    full_steps = kw["steps"]
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        DaskExecutor(cluster.scheduler_address) as ex,
    ):
        folder = Path(tempfile.mkdtemp(prefix="gradlab-bench-table1-"))
        try:
            before = load()
            t0 = time.perf_counter()
            out = run(SweepDef(**{**kw, "steps": args.table1_steps}), folder / "t1", ex)
            total = time.perf_counter() - t0
            trials = out.results.trials
            secs = [t.seconds for t in trials if t.seconds]
            print(
                f"glorot-table1 at {args.table1_steps} steps/trial on a 2-process LocalCluster "
                f"(load {before} -> {load()}):"
            )
            print(
                f"  {len(trials)} trials in {total:,.0f} s wall ({total / 60:.1f} min); "
                f"a trial {statistics.median(secs):.1f} s median (data generation included)"
            )
            # the cost of a step: one more trial of the first cell at 4x the steps; the
            # difference of the two training loops' times (the data, the start-up, the first
            # probes and evaluations are paid once per trial and cancel)
            first = trials[0]
            one = SweepDef(
                **{**kw, "grid": [(f, v[:1]) for f, v in kw["grid"]], "steps": 4 * first.steps}
            )
            longer = run(one, folder / "t1-long", ex).results.trials[0]
            per_step = (longer.train_seconds - first.train_seconds) / (longer.steps - first.steps)
            fixed = statistics.median(t.seconds - per_step * t.steps for t in trials if t.steps)
            full = fixed + per_step * full_steps
            n = len(trials)
            print(
                f"  training {per_step * 1e3:.1f} ms a step ({1 / per_step:.0f} steps/s, probes "
                f"and evaluations included), {fixed:.0f} s a trial besides (data, start, first "
                "probes and evaluations, save); "
                f"at the preset's {full_steps:,} steps: {full / 3600:.1f} h a trial, "
                f"{n * full / 3600:,.0f} core-hours for {n} trials, {n * full / 3600 / 2:,.0f} h "
                "on these 2 workers"
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--trials", type=int, default=8, help="trials per measurement")
    p.add_argument("--steps", type=int, default=5000, help="steps per trial")
    p.add_argument("--table1", action="store_true", help="measure the glorot-table1 preset")
    p.add_argument("--table1-steps", type=int, default=500)
    args = p.parse_args()
    print(f"load average at start: {load()} ({os.cpu_count()} cores)", file=sys.stderr)
    if args.table1:
        table1(args)
    else:
        throughput(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
