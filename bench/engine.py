"""Engine throughput: GradLab's NumPy engine against PyTorch on the CPU, same MLP, threads, dtype.

Prints training samples/s (forward + softmax cross-entropy + backward + SGD update) for three
networks, GradLab's engine alone and inside the full training loop (Experiment.step: batch
sampling, gradient norm, history), and the same network in PyTorch when it is installed
(``pip install torch==2.13.0``). Runs are interleaved (GradLab, PyTorch, GradLab, ...) and the
ratio is taken per round, so a noisy shared machine affects both sides alike; the medians over
rounds are printed.

    python bench/engine.py [--threads 1] [--rounds 7] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

CONFIGS = [
    # name, input, width, depth, classes, batch, activation
    ("784-[512]x4-10 relu b128", 784, 512, 4, 10, 128, "relu"),
    ("500-[500]x10-10 tanh b1000", 500, 500, 10, 10, 1000, "tanh"),
    ("2-[8]x6-2 tanh b32", 2, 8, 6, 2, 32, "tanh"),
]


def timed(step, seconds: float) -> float:
    """Median seconds per call of ``step`` over about ``seconds`` of calls (after warm-up)."""
    for _ in range(3):
        step()
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def gradlab_engine(cfg):
    from gradlab.engine import Network, losses, optimizers

    _, d, width, depth, k, batch, act = cfg
    layers = [{"units": width, "activation": act, "init": "glorot_uniform"}] * depth
    net = Network.from_spec(layers, input_dim=d, output_dim=k, seed=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, d)).astype(np.float32)
    y = rng.integers(0, k, batch)
    loss = losses.get("softmax_cross_entropy")
    opt = optimizers.get("sgd", lr=1e-3)

    def step():
        _, d_out = loss(net.forward(x), y)
        net.backward(d_out, input_grad=False)
        opt.step(net.params, net.grads)

    return step


def gradlab_trainer(cfg):
    from gradlab.experiment import Experiment

    _, d, width, depth, k, batch, act = cfg
    spec = {
        "name": "bench", "seed": 0,
        "data": {"name": "gaussian", "n": max(batch * 8, 1024), "dim": d, "classes": k},
        "network": {"layers": [{"units": width, "activation": act}] * depth},
        "training": {"optimizer": "sgd", "lr": 1e-3, "batch_size": batch},
        "probes": {"every": 10**9},  # the training loop alone (bench/probes.py covers probes)
    }
    exp = Experiment(spec)
    exp.ensure_initial_probe()
    return exp.step


def torch_step(cfg, threads: int):
    import torch

    torch.set_num_threads(threads)
    _, d, width, depth, k, batch, act = cfg
    mods = []
    fan = d
    for _ in range(depth):
        mods += [torch.nn.Linear(fan, width), torch.nn.ReLU() if act == "relu" else torch.nn.Tanh()]
        fan = width
    mods.append(torch.nn.Linear(fan, k))
    model = torch.nn.Sequential(*mods)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, d, generator=g)
    y = torch.randint(0, k, (batch,), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        lossf(model(x), y).backward()
        opt.step()

    return step


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (default 1)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=1.0, help="timing per side per round")
    args = ap.parse_args()

    from gradlab.threads import configure_blas

    configure_blas(args.threads)
    try:
        import torch

        have_torch = True
        torch_version = torch.__version__
    except ImportError:
        have_torch, torch_version = False, None
    print(f"threads {args.threads}, float32, {args.rounds} rounds; numpy {np.__version__}, "
          f"torch {torch_version or 'not installed'}")
    header = (f"{'network':30s} {'engine':>12s} {'trainer':>12s} {'torch':>12s} "
              f"{'engine/torch':>13s} {'trainer/torch':>14s}")
    print(header)
    for cfg in CONFIGS:
        batch = cfg[5]
        eng, trn, tch = gradlab_engine(cfg), gradlab_trainer(cfg), None
        if have_torch:
            tch = torch_step(cfg, args.threads)
        r_eng, r_trn, r_tch, ratio_e, ratio_t = [], [], [], [], []
        for _ in range(args.rounds):
            te = timed(eng, args.seconds)
            tt = timed(trn, args.seconds)
            r_eng.append(batch / te)
            r_trn.append(batch / tt)
            if tch is not None:
                tp = timed(tch, args.seconds)
                r_tch.append(batch / tp)
                ratio_e.append(tp / te)
                ratio_t.append(tp / tt)
        med = statistics.median
        torch_s = f"{med(r_tch):12,.0f}" if r_tch else f"{'-':>12s}"
        re = f"{med(ratio_e):13.2f}" if ratio_e else f"{'-':>13s}"
        rt = f"{med(ratio_t):14.2f}" if ratio_t else f"{'-':>14s}"
        print(f"{cfg[0]:30s} {med(r_eng):12,.0f} {med(r_trn):12,.0f} {torch_s} {re} {rt}")
    print("samples/s, median over rounds; ratios > 1 mean GradLab is faster (median of the "
          "per-round ratios)")


if __name__ == "__main__":
    main()
