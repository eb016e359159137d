"""Window performance while training glorot-tanh-normalized (5 x 1000 tanh on Shapeset-3x2).

Prints:
- headless training throughput (steps/s of Experiment.train, no window);
- the window's training throughput with every view live, and its ratio to headless (budget
  >= 80%);
- redraw frames/s with every run view live (all six views refreshed and painted each frame, in
  one dashboard; budget >= 30) and the median / 95th percentile frame time;
- the longest UI stall: the largest gap between two ticks of a 5 ms timer on the UI thread,
  beyond the 5 ms (budget <= 50 ms).

Runs offscreen (QT_QPA_PLATFORM=offscreen) unless a display is set; the window is the real one.

    python bench/ui.py [--seconds 20] [--n 2000]
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


def windowed(spec: dict, seconds: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
    from PySide6.QtWidgets import QGridLayout, QWidget

    from gradlab.app.views import RUN_VIEWS
    from gradlab.app.window import MainWindow, main_window_app

    app = main_window_app()  # noqa: F841 (kept alive for the duration)
    tmp = tempfile.mkdtemp()
    settings = QSettings(os.path.join(tmp, "bench.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings=settings, start=None)
    win.resize(1600, 1000)
    win.show()
    win.doc_spec = spec
    win.worker.post("build", spec)
    wait_until(lambda: win.run is not None, 120)
    if win.run is None:
        sys.exit("the experiment was not built within 120 s")

    # every run view live at once: a dashboard of fresh views on the same run, redrawn each
    # frame by the window's own timer tick, besides the window's visible tab
    dash = QWidget()
    grid = QGridLayout(dash)
    views = [cls() for cls in RUN_VIEWS]
    for i, v in enumerate(views):
        v.set_model(win.run)
        grid.addWidget(v, i // 3, i % 3)
    dash.resize(1800, 1000)
    dash.show()

    frames: list[float] = []
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last_tick = [clock.nsecsElapsed()]

    def frame():
        t0 = time.perf_counter()
        for v in views:
            v.refresh(None)
        dash.repaint()  # paint now, synchronously: the frame's full cost
        frames.append(time.perf_counter() - t0)

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last_tick[0]) / 1e6)
        last_tick[0] = now

    t_frame = QTimer()
    t_frame.setInterval(33)
    t_frame.timeout.connect(frame)
    t_stall = QTimer()
    t_stall.setInterval(5)
    t_stall.timeout.connect(tick)

    win.worker.post("run")
    run_events(3.0)
    exp = win.run.experiment
    t_frame.start()
    t_stall.start()
    frames.clear()
    gaps.clear()
    n0, t0 = exp.step_count, time.perf_counter()
    run_events(seconds)
    rate = (exp.step_count - n0) / (time.perf_counter() - t0)
    elapsed = time.perf_counter() - t0
    t_frame.stop()
    t_stall.stop()
    win.shutdown()
    return {
        "rate": rate,
        "fps": len(frames) / elapsed,
        "frame_med": 1000 * statistics.median(frames),
        "frame_p95": 1000 * sorted(frames)[int(0.95 * (len(frames) - 1))],
        "stall": max(gaps) - 5.0 if gaps else float("nan"),
        "probes": win.run.history.n_probes,
        "every": exp.probe_every,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--n", type=int, default=2000, help="Shapeset examples (build time only)")
    args = ap.parse_args()
    from gradlab.experiment import presets
    from gradlab.threads import configure_blas

    configure_blas()
    spec = presets.load("glorot-tanh-normalized")
    spec["data"]["n"] = args.n
    spec["training"]["steps"] = None  # run until stopped
    print(f"glorot-tanh-normalized, Shapeset n={args.n}, {args.seconds:g} s per measurement, "
          f"platform {os.environ.get('QT_QPA_PLATFORM', 'native')}")
    base = headless(spec, args.seconds)
    print(f"headless training           {base:8.1f} steps/s")
    w = windowed(spec, args.seconds)
    print(f"window open, all views live {w['rate']:8.1f} steps/s  ({w['rate'] / base:.0%} of "
          f"headless; budget >= 80%)")
    print(f"redraw, 6 views per frame   {w['fps']:8.1f} frames/s (budget >= 30); frame median "
          f"{w['frame_med']:.1f} ms, p95 {w['frame_p95']:.1f} ms")
    print(f"longest UI stall            {w['stall']:8.1f} ms (budget <= 50 ms)")
    print(f"probes in the history: {w['probes']}, probe interval {w['every']} steps")


if __name__ == "__main__":
    main()
