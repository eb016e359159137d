"""Time from launch to a visible window: ``python startup_time.py APP [--runs N]``.

Starts ``APP`` (the frozen ``gradlab`` or any ``gradlab``) with ``GRADLAB_QUIT_WHEN_SHOWN=0``:
the app prints when its splash and its window are first drawn and quits. Measured with the
offscreen platform, and under a virtual X server (``Xvfb``, xcb platform) when one is installed;
prints the median of the runs for each. Exit 1 if a run fails.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

SHOWN = re.compile(r"gradlab: (splash|window) shown at ([0-9.]+)")


def one_run(app: str, env: dict) -> dict[str, float]:
    env = dict(env, GRADLAB_QUIT_WHEN_SHOWN="0")
    t0 = time.time()
    proc = subprocess.run([app], env=env, capture_output=True, text=True, timeout=180)
    if proc.returncode != 0:
        raise SystemExit(f"{app} exited with {proc.returncode}: {proc.stderr.strip()[-400:]}")
    times = {m[1]: float(m[2]) - t0 for m in SHOWN.finditer(proc.stderr)}
    if "window" not in times:
        raise SystemExit(f"{app} never reported its window: {proc.stderr.strip()[-400:]}")
    return times


def measure(app: str, env: dict, runs: int, label: str) -> None:
    results = [one_run(app, env) for _ in range(runs)]
    for what, name in (("splash", "first window (splash)"), ("window", "main window")):
        values = [r[what] for r in results if what in r]
        if values:
            target = " (target < 3 s)" if what == "splash" else ""
            print(f"{name:<22} {statistics.median(values):5.2f} s  {label}, median of "
                  f"{len(values)}{target}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("app")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    base = {k: v for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    measure(args.app, dict(base, QT_QPA_PLATFORM="offscreen"), args.runs, "offscreen")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("(no Xvfb here: not measured on an X server)")
        return
    # a free display number, chosen by Xvfb and written to the pipe once it is ready
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            display = ":" + pipe.readline().strip()
        measure(args.app, dict(base, DISPLAY=display, QT_QPA_PLATFORM="xcb"), args.runs,
                "X11 (Xvfb)")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
