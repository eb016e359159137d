"""Engine throughput: GradLab's NumPy engine against PyTorch on the CPU, same MLP, threads, dtype,
and against the two limits measured in the same run.

Prints training samples/s (forward + softmax cross-entropy + backward + SGD update) for four
networks: GradLab's engine alone ("engine": the path the trainer takes on a step no probe reads,
weight gradients formed inside the update, see gradlab/engine/fused.py), the same with every
weight gradient formed first ("unfused": the engine before issue 17), inside the full training
loop ("trainer": Experiment.step: batch sampling, gradient norm, history), and the same network
in PyTorch when it is installed (``pip install torch==2.13.0``). Then, per network:

- the GEMM-only ceiling: the matrix products a step cannot avoid, with NumPy's own BLAS on the
  network's own arrays (x @ W for every layer, x^T @ dZ for every layer, dZ @ W^T for every
  layer but the first); "engine/GEMM" is that time over the engine's step time;
- the bytes a step must move (W read by the forward pass, read again by the backward pass but
  for the first layer, then read and written by the update; with an optimiser with state, its
  state read and written too) against the bandwidth measured by copying a buffer as large as
  the parameters; "engine/bandwidth" is bytes / bandwidth over the engine's step time (1.0
  would be a step that does nothing but stream its unavoidable bytes).

Everything is interleaved round by round (engine, unfused, trainer, PyTorch, GEMMs, copy) and
each ratio is taken within a round, so a noisy shared machine affects both sides alike; the
medians over rounds are printed.

    python bench/engine.py [--threads 1] [--rounds 7] [--seconds 1.0] [--only NAME]
                           [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

CONFIGS = [
    # name, input, width, depth, classes, batch, activation
    ("1024-[1000]x5-9 tanh b10", 1024, 1000, 5, 9, 10, "tanh"),
    ("784-[512]x4-10 relu b128", 784, 512, 4, 10, 128, "relu"),
    ("500-[500]x10-10 tanh b1000", 500, 500, 10, 10, 1000, "tanh"),
    ("2-[8]x6-2 tanh b32", 2, 8, 6, 2, 32, "tanh"),
]


#: the clock each call is timed with: wall time (``time.perf_counter``, the default) or, with
#: ``--clock cpu``, the thread's CPU time (``time.thread_time``), which leaves out the time the
#: thread waits for a core while other processes run (a shared 2-core machine at load 4-6 adds
#: +-15-30% to single wall-clock rounds; cache and memory-bandwidth contention still count)
CLOCK = time.perf_counter


def timed(step, seconds: float) -> float:
    """Median seconds per call of ``step`` (on :data:`CLOCK`) over about ``seconds`` of wall
    time of calls (after warm-up)."""
    for _ in range(3):
        step()
    clock = CLOCK
    times = []
    t_end = time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 5:
        t0 = clock()
        step()
        times.append(clock() - t0)
    return statistics.median(times)


def gradlab_engine(cfg, fused: bool = True):
    """The engine's step; ``fused=False`` forms every weight gradient before the update."""
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
        net.backward(d_out, input_grad=False, weight_grads=not fused)
        opt.step(net.params, net.grads, outer=net.deferred)

    step.net = net
    return step


def gemm_ceiling(net, batch: int):
    """The matrix products of a step, alone, on ``net``'s own weights (NumPy's BLAS), each into
    a preallocated output: x @ W (every layer), x^T @ dZ (every layer), dZ @ W^T (all but the
    first)."""
    rng = np.random.default_rng(1)
    work = []
    for i, blk in enumerate(net.blocks):
        W = blk.params["W"]
        x = rng.standard_normal((batch, W.shape[0])).astype(W.dtype)
        dz = rng.standard_normal((batch, W.shape[1])).astype(W.dtype)
        work.append((x, W, dz, np.empty((batch, W.shape[1]), W.dtype), np.empty_like(W),
                     np.empty((batch, W.shape[0]), W.dtype) if i else None))

    def step():
        for x, W, _, z, _, _ in work:
            np.matmul(x, W, out=z)
        for x, W, dz, _, dW, dx in reversed(work):
            np.matmul(x.T, dz, out=dW)
            if dx is not None:
                np.matmul(dz, W.T, out=dx)

    return step


def step_bytes(net, state_slots: int = 0) -> int:
    """The bytes a step cannot avoid moving: every W read by the forward pass and (but the
    first) by the backward pass, then every parameter read and written by the update, with
    ``state_slots`` state arrays per parameter read and written too (SGD: 0)."""
    blocks = net.blocks
    w_bytes = [b.params["W"].nbytes for b in blocks]
    params = sum(p.nbytes for p in net.params.values())
    return sum(w_bytes) + sum(w_bytes[1:]) + 2 * params * (1 + state_slots)


def copy_bandwidth(nbytes: int):
    """A step that copies ``nbytes`` (reads and writes them: 2 x nbytes moved)."""
    src = np.ones(max(nbytes // 4, 1), np.float32)
    dst = np.empty_like(src)

    def step():
        np.copyto(dst, src)

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
    ap.add_argument("--only", default="", help="only the networks whose name contains this")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time calls by wall clock (default) or by the thread's CPU time")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter

    from gradlab.threads import configure_blas

    configure_blas(args.threads)
    try:
        import torch

        have_torch = True
        torch_version = torch.__version__
    except ImportError:
        have_torch, torch_version = False, None
    print(f"threads {args.threads}, float32, {args.rounds} rounds, {args.clock} clock; "
          f"numpy {np.__version__}, "
          f"torch {torch_version or 'not installed'}")
    med = statistics.median
    rows = []
    for cfg in CONFIGS:
        if args.only not in cfg[0]:
            continue
        batch = cfg[5]
        eng = gradlab_engine(cfg)
        unf = gradlab_engine(cfg, fused=False)
        trn = gradlab_trainer(cfg)
        tch = torch_step(cfg, args.threads) if have_torch else None
        gemm = gemm_ceiling(eng.net, batch)
        nbytes = step_bytes(eng.net)
        pbytes = sum(p.nbytes for p in eng.net.params.values())
        copy = copy_bandwidth(pbytes)
        r = {k: [] for k in ("eng", "unf", "trn", "tch", "e/t", "u/t", "r/t", "e/g", "u/g",
                             "gbs", "e/bw")}
        for _ in range(args.rounds):
            te, tu, tt = (timed(fn, args.seconds) for fn in (eng, unf, trn))
            tg = timed(gemm, args.seconds)
            tc = timed(copy, args.seconds / 2)
            r["eng"].append(batch / te)
            r["unf"].append(batch / tu)
            r["trn"].append(batch / tt)
            r["e/g"].append(tg / te)
            r["u/g"].append(tg / tu)
            bw = 2 * pbytes / tc  # bytes/s (a copy reads and writes them)
            r["gbs"].append(bw / 1e9)
            r["e/bw"].append(nbytes / bw / te)
            if tch is not None:
                tp = timed(tch, args.seconds)
                r["tch"].append(batch / tp)
                r["e/t"].append(tp / te)
                r["u/t"].append(tp / tu)
                r["r/t"].append(tp / tt)
        m = {k: (med(v) if v else None) for k, v in r.items()}
        rows.append((cfg[0], m, nbytes))

    def f(v, fmt):
        return format(v, fmt) if v is not None else "-"

    print("\nsamples/s (median over rounds)")
    print(f"{'network':28s} {'engine':>10s} {'unfused':>10s} {'trainer':>10s} {'torch':>10s}")
    for name, m, _ in rows:
        print(f"{name:28s} {f(m['eng'], '10,.0f')} {f(m['unf'], '10,.0f')} "
              f"{f(m['trn'], '10,.0f')} {f(m['tch'], '>10,.0f')}")
    print("\nratios (median of the per-round ratios; > 1 means GradLab is faster; the limits are "
          "<= 1)")
    print(f"{'network':28s} {'eng/torch':>9s} {'unf/torch':>9s} {'trn/torch':>9s} "
          f"{'eng/GEMM':>9s} {'unf/GEMM':>9s} {'MB/step':>8s} {'GB/s':>6s} {'eng/bw':>7s}")
    for name, m, nbytes in rows:
        print(f"{name:28s} {f(m['e/t'], '9.2f')} {f(m['u/t'], '9.2f')} {f(m['r/t'], '9.2f')} "
              f"{f(m['e/g'], '9.2f')} {f(m['u/g'], '9.2f')} {nbytes / 1e6:8.2f} "
              f"{f(m['gbs'], '6.1f')} {f(m['e/bw'], '7.2f')}")
    print("eng/GEMM: the GEMM-only ceiling's time over the engine's step time; eng/bw: the "
          "unavoidable bytes (MB/step) at the copy bandwidth measured alongside (GB/s, a copy "
          "of the parameters' size) over the engine's step time.")


if __name__ == "__main__":
    main()
