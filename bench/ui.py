"""Window performance while training glorot-tanh-normalized (5 x 1000 tanh on Shapeset-3x2).

Prints:
- headless training throughput (steps/s of Experiment.train, no window);
- the window as it is used (one view visible, the tabs cycling every 2 s through every view):
  training throughput against headless (budget >= 80%) and the longest UI stall;
- the window's training throughput with every view live, and its ratio to headless (budget
  >= 80%);
- the Dashboard tab (every run view live at once): training throughput, how many times a second
  each view is redrawn (budget >= 30), the window's frame cost;
- the longest UI stall in both: the largest gap between two ticks of a 5 ms timer on the UI
  thread, beyond the 5 ms (budget <= 50 ms);
- with ``--tabs``: only the stall of each tab switch, first visit (a lazily built view is built
  then) and second, training and paused;
- with ``--before-after ROUNDS``: only issue 17's comparison, interleaved in one process: the
  window (tabs cycling) with every frame drawn and with its frames paced, each against headless.
- with ``--tabs-ab ROUNDS``: only the tab-switch work of issue 17, interleaved in one process:
  a fresh window each time, with views shown whole at a switch and step curves sent whole
  (before), and with views drawn once while hidden, shown a plot a turn and curves thinned to
  the plot's width (after, :mod:`gradlab.app.views.reveal`): the ``--tabs`` stalls (training
  and paused) and the window as used (tabs cycling; throughput and longest stall).
- with ``--thread-vs-process ROUNDS``: only where training runs, interleaved in one process: the
  window as used (tabs cycling, frames paced) training in its worker thread and in the training
  process (:mod:`gradlab.experiment.remote`), each against headless.

Runs offscreen (QT_QPA_PLATFORM=offscreen) unless a display is set; the window is the real one.

    python bench/ui.py [--seconds 20] [--n 2000] [--preset NAME]
                       [--tabs | --before-after N | --tabs-ab N | --thread-vs-process N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def headless(spec: dict, seconds: float) -> float:
    from gradlab.experiment import Experiment

    exp = Experiment(spec)
    exp.ensure_initial_probe()
    for _ in exp.train(report_every=2.0):  # warm up (and let "auto" size the probe interval)
        break
    n0, t0 = exp.step_count, time.perf_counter()
    for _ in exp.train(report_every=seconds):
        break
    return (exp.step_count - n0) / (time.perf_counter() - t0)


def run_events(seconds: float) -> None:
    """Run the Qt event loop (idle-waiting, as the real application does) for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def wait_until(condition, timeout: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.setInterval(20)
    poll.timeout.connect(lambda: condition() and loop.quit())
    poll.start()
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    poll.stop()


def measure_ticks(seconds: float, on_tick=None, cpu: list | None = None) -> list[float]:
    """Run the event loop for ``seconds`` with a 5 ms timer; the gaps between its ticks (ms).
    ``cpu``: filled with the UI thread's CPU time (ms) within each gap (how much of a stall is
    the window's own work, how much waiting for the GIL or for a core)."""
    from PySide6.QtCore import QElapsedTimer, QTimer

    clock = QElapsedTimer()
    clock.start()
    gaps: list[float] = []
    last = [clock.nsecsElapsed()]
    last_cpu = [time.thread_time()]

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now
        if cpu is not None:
            t = time.thread_time()
            cpu.append(1000 * (t - last_cpu[0]))
            last_cpu[0] = t
        if on_tick is not None:
            on_tick()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    run_events(seconds)
    timer.stop()
    return gaps


def max_speed(win) -> None:
    """Train as fast as possible (the window's default is the lecture pace)."""
    if hasattr(win, "speed_box"):
        win.speed_box.setCurrentIndex(win.speed_box.findData(None))


def open_window(spec: dict, tab=None):
    """The real window at 1600x1000 with private settings, ``tab`` (a view) current, the run of
    ``spec`` built (exits with a sentence if it is not within 120 s)."""
    from PySide6.QtCore import QSettings

    from gradlab.app.window import MainWindow, main_window_app

    main_window_app()
    settings = QSettings(os.path.join(tempfile.mkdtemp(), "bench.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, start=None)
    win.resize(1600, 1000)
    win.show()
    if tab is not None:
        win.tabs.setCurrentWidget(tab(win))
    win.doc_spec = spec
    win.worker.post("build", spec)
    wait_until(lambda: win.run is not None, 120)
    if win.run is None:
        sys.exit("the experiment was not built within 120 s")
    return win


def window_only(spec: dict, seconds: float) -> dict:
    """The application as it is used: the real window, one view visible at a time (the tabs
    cycle every 2 s through every run view), training at full speed."""

    from gradlab.app.views import RUN_VIEWS

    win = open_window(spec)
    max_speed(win)
    win.worker.post("run")
    run_events(3.0)
    exp = win.run.experiment
    keys = [v.key for v in RUN_VIEWS if v.key != "boundary"]
    t_switch = [time.perf_counter()]
    index = [0]

    def cycle():
        if time.perf_counter() - t_switch[0] > 2.0:
            t_switch[0] = time.perf_counter()
            index[0] = (index[0] + 1) % len(keys)
            view = next(v for v in win.views if v.key == keys[index[0]])
            win.tabs.setCurrentWidget(view)

    n0, t0, c0 = exp.step_count, time.perf_counter(), time.thread_time()
    gaps = measure_ticks(seconds, cycle)
    elapsed = time.perf_counter() - t0
    rate = (exp.step_count - n0) / elapsed
    ui_cpu = (time.thread_time() - c0) / elapsed  # the window thread's share of a core
    win.shutdown()
    win.close()
    return {
        "rate": rate,
        "ui_cpu": ui_cpu,
        "stall": max(gaps) - 5.0,
        "p99": sorted(gaps)[int(0.99 * (len(gaps) - 1))] - 5.0,
    }


def windowed(spec: dict, seconds: float) -> dict:
    """The window with its Dashboard tab showing every run view at once, training at full
    speed: training throughput, how often each view is redrawn, frame cost, longest stall."""

    from gradlab.app.views import DashboardView

    def dashboard(w):
        return next(v for v in w.views if isinstance(v, DashboardView))

    win = open_window(spec, dashboard)
    dash = dashboard(win)

    counts = {v.key: 0 for v in dash.parts}
    frames: list[float] = []
    for part in dash.parts:  # count each view's redraws
        original = part.refresh

        def counted(row=None, _orig=original, _key=part.key):
            counts[_key] += 1
            _orig(row)

        part.refresh = counted
    tick = win._tick

    def timed_tick(force=False):
        t0 = time.perf_counter()
        tick(force)
        frames.append(time.perf_counter() - t0)

    win.timer.timeout.disconnect()
    win.timer.timeout.connect(timed_tick)

    max_speed(win)
    win.worker.post("run")
    run_events(3.0)
    exp = win.run.experiment
    for k in counts:
        counts[k] = 0
    frames.clear()
    n0, t0 = exp.step_count, time.perf_counter()
    gaps = measure_ticks(seconds)
    elapsed = time.perf_counter() - t0
    rate = (exp.step_count - n0) / elapsed
    win.shutdown()
    win.close()
    visible = {v.key for v in dash.shown}
    shown = {k: c / elapsed for k, c in counts.items() if k in visible}
    return {
        "rate": rate,
        "fps_min": min(shown.values()),
        "fps": shown,
        "frame_med": 1000 * statistics.median(frames),
        "frame_max": 1000 * max(frames),
        "stall": max(gaps) - 5.0,
        "p99": sorted(gaps)[int(0.99 * (len(gaps) - 1))] - 5.0,
        "probes": win.run.history.n_probes,
        "every": exp.probe_every,
    }


def tab_switches(spec: dict, seconds_per_tab: float = 0.8, train: bool = True) -> dict:
    """The longest UI stall after each tab switch, first visit (a view built lazily is built
    then) and second visit, with the run training (``train``) or paused: the gap a 5 ms timer
    on the UI thread sees, beyond its 5 ms (budget <= 50 ms; issue 17 targets the switch)."""


    win = open_window(spec)
    max_speed(win)
    win.worker.post("run")
    run_events(2.0)
    if not train:
        win.worker.post("pause")
        run_events(0.5)
    out: dict[str, list[float]] = {}
    cpu_of: dict[str, list[float]] = {}  # the window thread's CPU within each longest gap
    for _visit in (0, 1):
        for i in range(win.tabs.count()):

            def switch(i=i, switched=[False]):  # noqa: B006 (one list per tab and visit)
                if not switched[0]:
                    switched[0] = True
                    win.tabs.setCurrentIndex(i)

            cpu: list[float] = []
            gaps = measure_ticks(seconds_per_tab, switch, cpu)
            j = max(range(1, len(gaps)), key=gaps.__getitem__)
            out.setdefault(win.tabs.tabText(i), []).append(gaps[j] - 5.0)
            cpu_of.setdefault(win.tabs.tabText(i), []).append(cpu[j])
    win.shutdown()
    win.close()
    return {"stall": out, "cpu": cpu_of}


class Interleaved:
    """The window as it is used (tabs cycling every 2 s, training at Max speed) measured in
    several set-ups one after another in one process, each against headless training measured
    between them (the window's run paused, the window idle): ratios within a round."""

    def __init__(self, spec: dict, seconds: float):
        from gradlab.app.views import RUN_VIEWS
        from gradlab.experiment import Experiment

        self.seconds = seconds
        self.win = win = open_window(spec)
        max_speed(win)
        win.worker.post("run")
        run_events(3.0)
        self.base = Experiment(spec)
        self.base.ensure_initial_probe()
        for _ in self.base.train(report_every=2.0):  # warm up
            break
        self.keys = [v.key for v in RUN_VIEWS if v.key != "boundary"]
        self.state = {"t": time.perf_counter(), "i": 0}

    def cycle(self) -> None:
        win, state = self.win, self.state
        if time.perf_counter() - state["t"] > 2.0:
            state["t"] = time.perf_counter()
            state["i"] = (state["i"] + 1) % len(self.keys)
            win.tabs.setCurrentWidget(next(v for v in win.views if v.key == self.keys[state["i"]]))

    def restart(self, remote: bool) -> None:
        """Pause and run again, training in the worker thread or in the training process."""
        win = self.win
        os.environ["GRADLAB_TRAINING_PROCESS"] = "1" if remote else "0"
        win.worker.post("pause")
        wait_until(lambda: win.snapshot is not None and win.snapshot.status != "running", 60)
        win.worker.post("run")
        wait_until(lambda: win.snapshot is not None and win.snapshot.status == "running"
                   and win.snapshot.remote == remote, 120)  # fmt: skip
        run_events(1.0)

    def windowed(self) -> tuple[float, float, float]:
        """(steps/s, longest UI stall ms, frames drawn/s) of the window as it is now."""
        win, exp = self.win, self.win.run.experiment
        drawn = [0]
        original = win.pacer.drawn

        def counted():
            drawn[0] += 1
            original()

        win.pacer.drawn = counted
        n0, t0 = exp.step_count, time.perf_counter()
        gaps = measure_ticks(self.seconds, self.cycle)
        elapsed = time.perf_counter() - t0
        win.pacer.drawn = original
        return (exp.step_count - n0) / elapsed, max(gaps) - 5.0, drawn[0] / elapsed

    def headless(self) -> float:
        win, base = self.win, self.base
        win.worker.post("pause")
        wait_until(lambda: win.snapshot is not None and win.snapshot.status != "running", 60)
        n0, t0 = base.step_count, time.perf_counter()
        for _ in base.train(report_every=self.seconds):
            break
        rate = (base.step_count - n0) / (time.perf_counter() - t0)
        win.worker.post("run")
        run_events(1.0)
        return rate

    def close(self) -> None:
        self.win.shutdown()
        self.win.close()


def _line(label: str, m: tuple[float, float, float], head: float) -> str:
    return (f"{label} {m[0]:.1f} ({m[0] / head:.0%}, stall {m[1]:.0f} ms, "
            f"{m[2]:.1f} frames/s)")  # fmt: skip


def before_after(spec: dict, seconds: float, rounds: int) -> list[dict]:
    """Issue 17's comparison of frame pacing, in the worker thread (:class:`Interleaved`): the
    frames paced (:mod:`gradlab.app.pacing`) and every frame drawn (the pacer's share at 100%:
    the window before issue 17)."""
    os.environ["GRADLAB_TRAINING_PROCESS"] = "0"
    run = Interleaved(spec, seconds)
    share = run.win.pacer.share
    out = []
    for r in range(rounds):
        head = run.headless()
        run.win.pacer.share = 1.0
        old = run.windowed()
        run.win.pacer.share = share
        new = run.windowed()
        out.append({"head": head, "old": old, "new": new})
        print(f"round {r + 1}: headless {head:.1f} steps/s; "
              f"{_line('every frame drawn', old, head)}; {_line('paced', new, head)}",
              flush=True)  # fmt: skip
    run.close()
    return out


def thread_vs_process(spec: dict, seconds: float, rounds: int) -> list[dict]:
    """Issue 17's comparison of where training runs (:class:`Interleaved`, frames paced): in
    the worker thread, sharing the GIL with the window's painting, and in the training process
    (:mod:`gradlab.experiment.remote`, the window's default at Max speed)."""
    run = Interleaved(spec, seconds)
    pacer = run.win.pacer
    wide = pacer.remote_share
    out = []
    for r in range(rounds):
        head = run.headless()
        run.restart(remote=False)
        old = run.windowed()
        run.restart(remote=True)
        new = run.windowed()
        pacer.remote_share = pacer.share  # (the frames held to the thread's share)
        narrow = run.windowed()
        pacer.remote_share = wide
        out.append({"head": head, "old": old, "new": new, "narrow": narrow})
        print(f"round {r + 1}: headless {head:.1f} steps/s; {_line('worker thread', old, head)}"
              f"; {_line('training process', new, head)}; "
              f"{_line(f'process, frames at {pacer.share:.0%}', narrow, head)}",
              flush=True)  # fmt: skip
    run.close()
    os.environ.pop("GRADLAB_TRAINING_PROCESS", None)
    return out


def tabs_ab(spec: dict, seconds: float, rounds: int) -> None:
    """Issue 17's tab-switch work against the window before it, interleaved in one process
    (``--tabs-ab``): per round and setting, the ``--tabs`` stalls (training, paused) and the
    window as used (tabs cycling for ``seconds``); medians of the rounds."""
    from gradlab.app.views import reveal

    med = statistics.median
    rows: dict[str, list[dict]] = {"before": [], "after": []}
    for r in range(rounds):
        for label, on in (("before", False), ("after", True)) if r % 2 == 0 else (
            ("after", True), ("before", False)
        ):
            reveal.enabled = on
            t_res, p_res = tab_switches(spec, train=True), tab_switches(spec, train=False)
            out = {
                "training": t_res["stall"],
                "paused": p_res["stall"],
                "cpu": {m: r["cpu"] for m, r in (("training", t_res), ("paused", p_res))},
                "cycling": window_only(spec, seconds),
            }
            rows[label].append(out)
            plot_tabs = [t for t in out["training"] if t not in ("Compare",)]
            worst, m, t = max(
                (max(out[m][t]), m, t) for m in ("training", "paused") for t in plot_tabs
            )
            v = out[m][t].index(worst)
            print(
                f"round {r + 1} {label:<6}: longest tab-switch stall {worst:.0f} ms ({t}, {m}, "
                f"window thread CPU in it {out['cpu'][m][t][v]:.0f} ms); tabs "
                f"cycling {out['cycling']['rate']:.1f} steps/s, stall "
                f"{out['cycling']['stall']:.0f} ms, p99 {out['cycling']['p99']:.0f} ms, window "
                f"thread {out['cycling']['ui_cpu']:.0%} of a core",
                flush=True,
            )
    reveal.enabled = True
    for mode in ("training", "paused"):
        print(f"tab switches, run {mode}: longest UI stall (ms), first / second visit, median "
              f"of {rounds} rounds: before -> after")
        for tab in rows["after"][0][mode]:
            b = [med(x[mode][tab][v] for x in rows["before"]) for v in (0, 1)]
            a = [med(x[mode][tab][v] for x in rows["after"]) for v in (0, 1)]
            cb = [med(x["cpu"][mode][tab][v] for x in rows["before"]) for v in (0, 1)]
            ca = [med(x["cpu"][mode][tab][v] for x in rows["after"]) for v in (0, 1)]
            print(f"  {tab:<20} {b[0]:5.0f} / {b[1]:5.0f}  ->  {a[0]:5.0f} / {a[1]:5.0f}   "
                  f"(window thread CPU in it {cb[0]:3.0f} / {cb[1]:3.0f} -> "
                  f"{ca[0]:3.0f} / {ca[1]:3.0f})")
    for label in ("before", "after"):
        c = [x["cycling"] for x in rows[label]]
        print(
            f"window open, tabs cycling, {label}: {med(x['rate'] for x in c):.1f} steps/s, "
            f"longest UI stall {med(x['stall'] for x in c):.0f} ms (median of the rounds'; "
            f"range {min(x['stall'] for x in c):.0f}-{max(x['stall'] for x in c):.0f}), p99 "
            f"{med(x['p99'] for x in c):.0f} ms, window thread {med(x['ui_cpu'] for x in c):.0%} "
            "of a core"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--n", type=int, default=2000, help="Shapeset examples (build time only)")
    ap.add_argument(
        "--preset",
        default="glorot-tanh-normalized",
        help="the preset to train (default glorot-tanh-normalized)",
    )
    ap.add_argument(
        "--tabs",
        action="store_true",
        help="only measure the stall of each tab switch (first and second visit)",
    )
    ap.add_argument(
        "--before-after",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only compare, interleaved, the window with every frame drawn and with paced "
        "frames (issue 17), each against headless",
    )
    ap.add_argument(
        "--thread-vs-process",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only compare, interleaved, the window training in its worker thread and in the "
        "training process (issue 17), each against headless",
    )
    ap.add_argument(
        "--tabs-ab",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only compare, interleaved, tab switches and the window as used with and without "
        "issue 17's staged tab paint",
    )
    args = ap.parse_args()
    from gradlab.app.views.dashboard import PART_RATE
    from gradlab.experiment import presets
    from gradlab.threads import configure_blas

    configure_blas()
    spec = presets.load(args.preset)
    if spec["data"]["name"] == "shapeset":
        spec["data"]["n"] = args.n
    spec["training"]["steps"] = None  # run until stopped
    # the early log-spaced probes are a fixed cost at the start of a run (a Glorot probe is
    # ~0.4 s): left out, so the measurements compare the same steady state
    spec.setdefault("probes", {})["per_decade"] = 0
    print(
        f"{args.preset} ({spec['data']['name']} n={spec['data'].get('n', 'default')}), "
        f"{args.seconds:g} s per measurement, "
        f"platform {os.environ.get('QT_QPA_PLATFORM', 'native')}"
    )
    compare = None
    if args.before_after:
        rows = before_after(spec, args.seconds, args.before_after)
        compare = (("every frame drawn (before)", "old"), ("frames paced (after)", "new"))
    elif args.thread_vs_process:
        rows = thread_vs_process(spec, args.seconds, args.thread_vs_process)
        compare = (("in the worker thread (before)", "old"),
                   ("in the training process (after)", "new"),
                   ("in the training process, frames at the thread's share", "narrow"))  # fmt: skip
    if compare:
        for label, k in compare:
            ratio = statistics.median(r[k][0] / r["head"] for r in rows)
            stall = statistics.median(r[k][1] for r in rows)
            fps = statistics.median(r[k][2] for r in rows)
            print(
                f"window open, tabs cycling, {label}: median ({ratio:.0%} of headless; budget "
                f">= 80%); longest UI stall {stall:.0f} ms (median of the rounds' longest; "
                f"budget <= 50 ms); {fps:.1f} frames/s drawn"
            )
        return
    if args.tabs_ab:
        tabs_ab(spec, args.seconds, args.tabs_ab)
        return
    if args.tabs:
        for train in (True, False):
            res = tab_switches(spec, train=train)
            print(f"tab switches, run {'training' if train else 'paused'}: longest UI stall "
                  "(ms), first visit / second visit (the window thread's CPU in it)")
            for tab, (first, second) in res["stall"].items():
                c1, c2 = res["cpu"][tab]
                print(f"  {tab:<20} {first:6.0f} / {second:6.0f}   ({c1:3.0f} / {c2:3.0f})")
        return
    base = headless(spec, args.seconds)
    print(f"headless training           {base:8.1f} steps/s")
    a = window_only(spec, args.seconds)
    print(
        f"window open, tabs cycling   {a['rate']:8.1f} steps/s  ({a['rate'] / base:.0%} of "
        f"headless; budget >= 80%); longest UI stall {a['stall']:.0f} ms, p99 "
        f"{a['p99']:.0f} ms (budget <= 50 ms)"
    )
    w = windowed(spec, args.seconds)
    print(
        f"Dashboard tab, 4 views live {w['rate']:8.1f} steps/s  ({w['rate'] / base:.0%} of "
        f"headless; budget >= 80%)"
    )
    per_view = ", ".join(f"{k} {v:.0f}" for k, v in w["fps"].items())
    print(
        f"Dashboard panel redraws     {w['fps_min']:8.1f} /s at least (each panel is capped at "
        f"{PART_RATE:g}/s; the window ticks at 30/s, fewer while training runs flat out): "
        f"{per_view}"
    )
    print(
        f"window frame (timer tick)   median {w['frame_med']:.1f} ms, max {w['frame_max']:.1f} ms"
    )
    print(
        f"longest UI stall            {w['stall']:8.1f} ms, p99 {w['p99']:.0f} ms (budget <= 50 ms)"
    )
    print(f"probes in the history: {w['probes']}, probe interval {w['every']} steps")


if __name__ == "__main__":
    main()
