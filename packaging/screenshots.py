"""The user guide's tour: a picture of every view of the real window, made by the window itself.

    .venv/bin/python packaging/screenshots.py                 # -> docs/tour/*.png, 1280x720, light
    .venv/bin/python packaging/screenshots.py --theme dark --out shots/dark --size 1600x900

The script opens GradLab's main window offscreen (``QT_QPA_PLATFORM=offscreen``, no display
needed), trains two presets through the window's own training worker and saves
``QWidget.grab()`` of each view as a PNG:

* a healthy run, ``spiral`` (a small tanh net learning two spirals; every tab, the decision
  boundary included, the three spec panels and the Export Figure dialog);
* a vanishing-gradient run, ``cs231n-tanh-0.01`` (CS231n's 10 x 500 tanh net with
  ``W = 0.01 * randn``: activations and gradients collapse layer after layer; its run views and
  the health dialog);
* the Compare tab with both runs pinned.

Training is a fixed number of steps (``--steps``) posted to the worker as one "step" command; the
script then waits in Qt's event loop until a snapshot of that step (and a probe of it) has
arrived. Before a picture is taken, its tab is made current and events are processed until the
view reports it is built (a lazily built view) and two successive grabs are identical: the
pictures show what a user sees once the window has settled, never a half-drawn frame.

The window gets private settings (its default layout, the chosen theme) and an empty dataset
folder (``GRADLAB_DATA_DIR``), so the pictures do not depend on the machine they are made on.
Each PNG has a palette of 256 colours (``--exact``: every colour) and is written atomically
(:func:`gradlab.fileio.atomic_write_bytes`). ``tests/test_screenshots.py`` runs this script on a
few steps and checks its images. A failure is one sentence on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "tour"


@dataclass(frozen=True)
class Run:
    """A preset of the tour, how many steps it trains, and the views pictured of it."""

    preset: str
    steps: int
    views: tuple[str, ...]


#: the views pictured of each run (the vanishing run's data is not 2-D: no decision boundary;
#: its Over time has only a few probes)
HEALTHY_VIEWS = (
    "dashboard", "distributions", "profile", "over_time", "heatmaps", "training", "boundary"
)
VANISHING_VIEWS = ("dashboard", "distributions", "profile", "heatmaps", "training")
HEALTHY = "spiral"
VANISHING = "cs231n-tanh-0.01"
#: default steps: the spiral's whole budget (it learns its boundary, 98% on the training set);
#: CS231n's collapse is there from step 0 on (and each of its steps, a batch of 1,000 through
#: 10 x 500 units with a probe every 10, is slow)
DEFAULT_STEPS = (4000, 20)

#: waiting: how long a training run or a view may take before the script gives up (seconds)
TRAIN_TIMEOUT = 300.0
SETTLE_TIMEOUT = 20.0
#: between two grabs of a settling view (ms): a few frames of the window's ~30 Hz timer
SETTLE_MS = 50


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="screenshots.py",
        description="Pictures of every view of GradLab's window, made by the window offscreen.",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder (default docs/tour)")
    p.add_argument("--size", default="1280x720", help="window size WxH (default 1280x720)")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.add_argument(
        "--steps",
        default=f"{DEFAULT_STEPS[0]},{DEFAULT_STEPS[1]}",
        help=f"training steps of the healthy and the vanishing run, H,V "
        f"(default {DEFAULT_STEPS[0]},{DEFAULT_STEPS[1]})",
    )
    p.add_argument(
        "--exact", action="store_true",
        help="keep every colour (larger files; default: a 256-colour palette)",
    )
    args = p.parse_args(argv)
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
        if not (320 <= w <= 7680 and 240 <= h <= 4320):
            raise ValueError
    except ValueError:
        p.error(f"--size must be WxH between 320x240 and 7680x4320, not {args.size!r}")
    try:
        hs, vs = (int(v) for v in args.steps.split(","))
        if hs < 1 or vs < 1:
            raise ValueError
    except ValueError:
        p.error(f"--steps must be two positive numbers H,V, not {args.steps!r}")
    args.width, args.height = w, h
    args.runs = (
        Run(HEALTHY, hs, HEALTHY_VIEWS),
        Run(VANISHING, vs, VANISHING_VIEWS),
    )
    return args


class Tour:
    """The window, and the pictures taken of it."""

    def __init__(self, args: argparse.Namespace, settings_dir: Path):
        from PySide6.QtCore import QSettings

        from gradlab.app.window import MainWindow, main_window_app

        self.args = args
        self.app = main_window_app()
        quiet_offscreen_warnings()
        settings = QSettings(str(settings_dir / "settings.ini"), QSettings.Format.IniFormat)
        settings.setValue("theme", args.theme)
        figures = settings_dir / "figures"  # the folder Export Figure proposes (its field
        figures.mkdir()  # shows the end: ".../figures/spiral-distributions.pdf", not a home)
        settings.setValue("export/dir", str(figures))
        self.win = MainWindow(settings=settings, start=("preset", args.runs[0].preset))
        self.win.resize(args.width, args.height)
        self.win.show()
        self.written: list[Path] = []
        self.pump(0)
        size = self.win.size()
        if (size.width(), size.height()) != (args.width, args.height):
            print(f"note: the window is {size.width()}x{size.height()} (its smallest size), "
                  f"not {args.width}x{args.height}", file=sys.stderr)

    # ------------------------------------------------------------------ waiting
    def pump(self, ms: int) -> None:
        """Run Qt's event loop for ``ms`` milliseconds (timers, signals, paints)."""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_until(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")
            self.pump(20)

    def settled(self, widget, view=None):
        """``widget.grab()`` once ``view`` (if any) is built and two successive grabs agree."""
        if view is not None and hasattr(view, "built") and view.model is not None:
            # a view built lazily, in idle time (it says when its items exist)
            self.wait_until(lambda: view.built, SETTLE_TIMEOUT, f"the {view.title} view")
        deadline = time.monotonic() + SETTLE_TIMEOUT
        previous = None
        while True:
            self.pump(SETTLE_MS)
            self.win.statusBar().clearMessage()  # ("Pinned ...", "Preset ...": not the tour's)
            image = widget.grab().toImage()
            if image == previous:
                return image
            if time.monotonic() > deadline:
                print(f"note: {what_of(widget, view)} kept changing; taken as it was",
                      file=sys.stderr)
                return image
            previous = image

    # ------------------------------------------------------------------ the window
    def train(self, run: Run) -> None:
        """Build ``run``'s preset (the window's first one is built at start), train it for its
        steps with the window's worker, and wait for the snapshot and the probe of that step."""
        win = self.win
        t_build = time.perf_counter()
        if run is not self.args.runs[0]:  # (the first is the window's start preset)
            old = win.run.run_id if win.run is not None else None
            win.load_preset(run.preset, confirm=False)
        else:
            old = None
        self.wait_until(
            lambda: win.run is not None and win.run.run_id != old
            and win.run.history.n_probes >= 1 and win.snapshot is not None,
            TRAIN_TIMEOUT, f"{run.preset} to be built",
        )
        print(f"built {run.preset} ({time.perf_counter() - t_build:.1f} s)")
        t0 = time.perf_counter()
        start = win.snapshot.step if win.snapshot is not None else 0
        target = start + run.steps
        win.step_once(run.steps)
        win.worker.post("probe_now")  # the views' newest probe: the last step's
        self.wait_until(
            lambda: win.snapshot is not None and win.snapshot.step >= target
            and len(win.run.history.probe_steps()) > 0
            and win.run.history.probe_steps()[-1] >= target,
            TRAIN_TIMEOUT, f"{run.preset} to train {run.steps} steps",
        )
        banner = getattr(win, "banner", None)
        if banner is not None and banner.isVisible() and hasattr(banner, "close_btn"):
            banner.close_btn.click()  # "Finished: ... Train N more": closed, as a user would
        print(f"trained {run.preset} for {run.steps:,} steps ({time.perf_counter() - t0:.1f} s)")

    def show_tab(self, key: str):
        win = self.win
        view = next(v for v in win.views if v.key == key)
        win.tabs.setCurrentWidget(view)
        return view

    def save(self, image, name: str) -> Path:
        from gradlab.fileio import atomic_write_bytes

        path = self.args.out / f"{name}.png"
        atomic_write_bytes(path, encode_png(image, exact=self.args.exact))
        self.written.append(path)
        print(f"wrote {path} ({image.width()}x{image.height()}, {path.stat().st_size // 1024} KB)")
        return path

    def shoot_views(self, run: Run) -> None:
        for key in run.views:
            view = self.show_tab(key)
            self.save(self.settled(self.win, view), f"{run.preset}-{key.replace('_', '-')}")

    def shoot_panels(self, run: Run) -> None:
        """The Network, Data and Training panels, each raised in its dock and pictured alone, at
        the size the window gives it (every view's picture shows the window with the Network
        panel beside it)."""
        for dock, panel in zip(self.win.docks, self.win.panels):
            dock.raise_()
            name = type(panel).__name__.removesuffix("Panel").lower()
            self.save(self.settled(dock), f"{run.preset}-panel-{name}")
        self.win.docks[0].raise_()

    def shoot_compare(self) -> None:
        view = self.show_tab("compare")
        self.save(self.settled(self.win, view), "compare")

    def shoot_dialog(self, open_dialog, name: str, ready=None) -> None:
        """Picture the modal dialog that ``open_dialog`` (a window action) opens and runs with
        ``exec()``: from inside its event loop, wait until ``ready(dialog)`` and the dialog has
        settled, save it, and close it (Cancel)."""
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        failure: list[BaseException] = []
        deadline = time.monotonic() + SETTLE_TIMEOUT

        def take() -> None:
            dlg = QApplication.activeModalWidget()
            if dlg is None:
                if time.monotonic() < deadline:
                    QTimer.singleShot(20, take)
                else:
                    failure.append(TimeoutError(f"no dialog opened for {name}"))
                return
            try:
                if ready is not None:
                    self.wait_until(lambda: ready(dlg), SETTLE_TIMEOUT, f"the {name} dialog")
                self.save(self.settled(dlg), name)
            except BaseException as err:  # (raised again once exec() has returned)
                failure.append(err)
            finally:
                dlg.reject()

        QTimer.singleShot(0, take)
        open_dialog()
        if failure:
            raise failure[0]

    def shoot_health(self, run: Run) -> None:
        """Health Events (Ctrl+H, or the status bar's health button)."""
        self.shoot_dialog(self.win.show_events, f"{run.preset}-health")

    def shoot_export_figure(self, run: Run) -> None:
        """File > Export Figure (Ctrl+E) of the Distributions view, once its preview is drawn."""
        self.show_tab("distributions")
        self.shoot_dialog(
            self.win.export_figure,
            f"{run.preset}-export-figure",
            ready=lambda dlg: getattr(dlg, "preview_png", b"") is not None,
        )

    def close(self) -> None:
        win = self.win
        win.doc.edited = False  # no "save first?" question
        win._saved_step = win.snapshot.step if win.snapshot is not None else 0
        win.shutdown()
        win.close()


def quiet_offscreen_warnings() -> None:
    """Drop the offscreen platform's "does not support propagateSizeHints()" (one per dock
    shown); every other Qt message goes on to stderr as before."""
    from PySide6.QtCore import qInstallMessageHandler

    previous = None

    def handler(mode, context, message: str) -> None:
        if "propagateSizeHints" in message:
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)


def encode_png(image, exact: bool = False) -> bytes:
    """``image`` (a QImage) as PNG bytes: with a palette of 256 colours, optimised (a third of
    the size and the same picture to the eye: a window has few colours, flat fills and
    antialiased text and lines), or with every colour (``exact``). Pillow (it comes with
    matplotlib) encodes; without it, Qt does at its highest compression (slower, larger)."""
    try:
        from PIL import Image
    except ImportError:
        return qt_png(image)
    import io

    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    picture = Image.frombuffer(
        "RGB", (rgb.width(), rgb.height()), bytes(rgb.constBits()), "raw", "RGB",
        rgb.bytesPerLine(), 1,
    )
    if not exact:
        picture = picture.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    picture.save(out, "PNG", optimize=True)
    return out.getvalue()


def qt_png(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG", 0):  # quality 0: the highest compression
        raise OSError("Qt could not encode a PNG")
    buf.close()
    return bytes(data.data())


def what_of(widget, view) -> str:
    return f"the {view.title} view" if view is not None else type(widget).__name__


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # (the same pictures on any machine)
    try:
        return tour(args)
    except Exception as err:  # one sentence (GRADLAB_DEBUG=1: the traceback)
        if os.environ.get("GRADLAB_DEBUG"):
            raise
        from gradlab.errors import sentence

        print(f"screenshots.py: {sentence(err)}", file=sys.stderr)
        return 2


def tour(args: argparse.Namespace) -> int:
    """Make the pictures (see the module docstring); 0 when all are written."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gradlab-tour-") as tmp:
        os.environ["GRADLAB_DATA_DIR"] = str(Path(tmp) / "datasets")  # no downloads shown
        from gradlab.threads import configure_blas

        configure_blas()
        args.out.mkdir(parents=True, exist_ok=True)
        t = Tour(args, Path(tmp))
        try:
            healthy, vanishing = args.runs
            t.train(healthy)
            t.shoot_views(healthy)
            t.shoot_panels(healthy)
            t.shoot_export_figure(healthy)
            t.win.pin_current()
            t.train(vanishing)
            t.shoot_views(vanishing)
            t.shoot_health(vanishing)
            t.win.pin_current()
            t.shoot_compare()
        finally:
            t.close()
    print(f"{len(t.written)} pictures in {args.out} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
