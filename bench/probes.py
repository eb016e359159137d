"""Probe overhead and session save/load time.

1. Training throughput with probes at the default interval ("auto": probes may cost at most 10%
   of the time) against the same run with probes off, interleaved round by round; prints the
   interval "auto" chose, the cost of one probe, and the overhead (1 - probed/unprobed).
2. A 100,000-step session: train a small network for 100,000 steps with default probes, save it,
   and time saving and loading (the budget: load in under 1 s).

    python bench/probes.py [--rounds 5] [--steps 100000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

CONFIGS = [
    ("spiral 2-[16]x3-2 tanh b32", {"name": "spiral"}, [16] * 3, "tanh", 32),
    ("mnist_like 784-[512]x4-10 relu b128", {"name": "mnist_like", "n": 4000}, [512] * 4,
     "relu", 128),
    ("shapeset 1024-[1000]x5-9 tanh b10 (Glorot)", {"name": "shapeset", "n": 2000}, [1000] * 5,
     "tanh", 10),
]


def spec_for(data, widths, act, batch, every):
    return {
        "name": "bench", "seed": 0, "data": data,
        "network": {"layers": [{"units": w, "activation": act} for w in widths]},
        "training": {"optimizer": "sgd", "lr": 0.01, "batch_size": batch},
        "probes": {"every": every},
    }


def throughput(exp, seconds: float) -> float:
    """Steps per second over about ``seconds`` of training (the loop as the window runs it)."""
    n0, t0 = exp.step_count, time.perf_counter()
    for _ in exp.train(report_every=seconds):
        break
    return (exp.step_count - n0) / (time.perf_counter() - t0)


def bench_overhead(rounds: int, seconds: float) -> None:
    from gradlab.experiment import Experiment

    print("probe overhead at the default interval (probes 'auto' vs off)")
    print(f"{'run':44s} {'probed/s':>10s} {'off/s':>10s} {'overhead':>9s} {'interval':>9s} "
          f"{'probe ms':>9s}")
    for name, data, widths, act, batch in CONFIGS:
        probed = Experiment(spec_for(data, widths, act, batch, "auto"))
        off = Experiment(spec_for(data, widths, act, batch, 10**9))
        for exp in (probed, off):
            exp.ensure_initial_probe()
            throughput(exp, 0.5)  # warm up; lets "auto" settle its interval
        r_p, r_o, ratio = [], [], []
        for _ in range(rounds):
            a = throughput(probed, seconds)
            b = throughput(off, seconds)
            r_p.append(a)
            r_o.append(b)
            ratio.append(a / b)
        med = statistics.median
        print(f"{name:44s} {med(r_p):10,.0f} {med(r_o):10,.0f} {1 - med(ratio):9.1%} "
              f"{probed.probe_every:9d} {1000 * probed._t_probe:9.2f}")


def bench_session(steps: int) -> None:
    from gradlab.experiment import Experiment, load_session

    spec = spec_for({"name": "spiral"}, [8] * 3, "tanh", 16, "auto")
    spec["training"]["steps"] = steps
    exp = Experiment(spec)
    t0 = time.perf_counter()
    exp.run()
    t_train = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.gradlab"
        saves, loads = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            exp.save(path)
            saves.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            again = load_session(path)
            loads.append(time.perf_counter() - t0)
        size = path.stat().st_size
    h = again.history
    print(f"\n{steps:,}-step session (2-[8]x3-2, trained in {t_train:.1f} s): "
          f"{h.n_steps:,} step rows, {h.n_probes} probes kept, {size / 1e6:.1f} MB")
    print(f"save median {1000 * statistics.median(saves):.0f} ms, "
          f"load median {1000 * statistics.median(loads):.0f} ms "
          f"(max {1000 * max(loads):.0f} ms; budget 1000 ms)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0, help="per side per round")
    ap.add_argument("--steps", type=int, default=100_000, help="steps of the long session")
    args = ap.parse_args()
    from gradlab.threads import configure_blas

    configure_blas(1)
    bench_overhead(args.rounds, args.seconds)
    bench_session(args.steps)


if __name__ == "__main__":
    main()
