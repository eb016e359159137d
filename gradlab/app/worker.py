"""The training worker: one QThread that owns the experiment and runs it.

The window never touches the experiment's computing parts; it posts commands to a thread-safe
queue and reads small immutable :class:`Snapshot` s from a one-slot mailbox: the worker puts the
newest snapshot in the slot (replacing one not yet read) and signals only when the slot was empty,
so however fast training goes, at most one snapshot signal waits in the window's event queue. The
window redraws at its own pace from the history, whose readers take copies under the history's
lock. Training never waits for drawing, and a command (pause, step, set the learning rate, save,
stop) is seen within one chunk of the loop (~1/30 s), well inside the 200 ms a user notices.

Commands are taken from the queue in batches and coalesced (:func:`coalesce`): a held N key or
repeated preset changes do not queue hundreds of steps or builds, and Pause overtakes the steps
and runs queued before it. A command that needs data back is answered by a signal carrying it
(``copy_network`` -> :attr:`TrainingWorker.networkCopied`).

Every experiment gets a new ``run_id``; the window drops snapshots from an older run (a reset or an
opened session replaced it), as napari drops stale worker results. :attr:`TrainingWorker.busy`
names a long command in progress (a build, an open, a save) so the window can say what closing
waits for; a QThread is never destroyed while it runs (:class:`WorkerThread`).
"""

from __future__ import annotations

import math
import os
import queue
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from gradlab import data as datasets
from gradlab.errors import DataError, InputError, sentence
from gradlab.experiment import Experiment, load_session, remote
from gradlab.figures.boundary_grid import boundary_probabilities as _grid_probabilities

#: seconds between snapshots while running (30 Hz)
FRAME = 1.0 / 30.0
#: decision-boundary grid resolution and refresh period
BOUNDARY_RES = 90
BOUNDARY_EVERY = 0.15
#: a held N key queues steps faster than a big network takes them: at most this many at once
MAX_COALESCED_STEPS = 20
#: commands that replace the run: what was queued for the old one before them is dropped
_REPLACING = ("build", "open")
#: commands aimed at the run in place (dropped when a build or open follows them)
_RUN_COMMANDS = (
    "run", "step", "pause", "probe_now", "set_lr", "advance", "continue", "set_budget"
)
#: long commands the window may have to wait for when it closes
BUSY = {"build": "building the experiment", "open": "opening the session", "save": "saving"}


def coalesce(commands: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    """The commands worth running of a batch taken from the queue, in order.

    * ``quit`` ends everything: nothing after it runs, the pending steps before it neither.
    * a ``build`` or ``open`` replaces the run: earlier builds, opens and commands for the old
      run (run, step, pause, probe, set_lr) are dropped (a ``save`` before it is kept);
    * ``pause`` overtakes the steps and runs queued before it;
    * consecutive ``step`` s merge into one of at most :data:`MAX_COALESCED_STEPS`;
    * consecutive ``speed`` s, ``set_lr`` s, ``rename`` s and ``set_budget`` s keep the last.
    """
    for i, (name, _) in enumerate(commands):
        if name == "quit":
            keep = [c for c in commands[:i] if c[0] in ("save", "rename", "copy_network")]
            return [*keep, commands[i]]
    last_replace = max((i for i, c in enumerate(commands) if c[0] in _REPLACING), default=-1)
    out: list[tuple[str, tuple]] = []
    for i, (name, args) in enumerate(commands):
        if i < last_replace and name in (*_REPLACING, *_RUN_COMMANDS):
            continue
        if name == "pause":
            out = [c for c in out if c[0] not in ("run", "step")]
        elif out and name == out[-1][0] == "step":
            n = (out[-1][1][0] if out[-1][1] else 1) + (args[0] if args else 1)
            out[-1] = ("step", (min(n, MAX_COALESCED_STEPS),))
            continue
        elif out and name == out[-1][0] and name in ("speed", "set_lr", "rename", "set_budget"):
            out[-1] = (name, args)
            continue
        out.append((name, args))
    return out


@dataclass(frozen=True)
class Snapshot:
    """What the window needs each frame, besides the history."""

    run_id: int
    step: int
    epoch: float
    loss: float
    lr: float
    steps_per_sec: float
    status: str  # "ready", "running", "paused", "done", "diverged"
    probes: int
    total_steps: int | None
    message: str = ""
    boundary: np.ndarray | None = None  # (res, res, n_classes) float32 class probabilities
    #: training runs in the training process (gradlab.experiment.remote), not the worker thread
    remote: bool = False


@dataclass(frozen=True)
class RunInfo:
    """Sent when the worker starts on a new experiment (built, reset or loaded)."""

    run_id: int
    experiment: Experiment
    path: Path | None = None


class TrainingWorker(QObject):
    """Lives in its own QThread; :meth:`post` commands from any thread."""

    #: a snapshot is waiting in the mailbox (:meth:`take_snapshot`); sent only when it was empty
    snapshotReady = Signal()
    runChanged = Signal(object)  # RunInfo
    failed = Signal(str, str)  # (what was being done, one-sentence message)
    saved = Signal(str)  # path
    #: the answer to ``copy_network``: (token, a detached copy of the network, step, run name)
    networkCopied = Signal(object, object, int, str)
    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.commands: queue.Queue[tuple[str, tuple]] = queue.Queue()
        self._pending: list[tuple[str, tuple]] = []  # taken from the queue, not yet run
        self._mail: Snapshot | None = None
        self._mail_lock = threading.Lock()
        #: what a long command in progress is doing ("" when idle between commands)
        self.busy = ""
        self.exp: Experiment | None = None
        self.run_id = 0
        self._gen = None
        self._speed: float | None = None  # max steps per second (None: as fast as possible)
        self._last_boundary = 0.0
        self._boundary_grid: np.ndarray | None = None
        self._last_rate = 0.0
        self._next_frame = 0.0
        #: the training process runs at Max speed train in (started on first use)
        self._process: remote.TrainingProcess | None = None

    # ------------------------------------------------------------------ from any thread
    def post(self, name: str, *args: Any) -> None:
        self.commands.put((name, args))

    def take_snapshot(self) -> Snapshot | None:
        """The newest snapshot, emptying the mailbox (the window's side)."""
        with self._mail_lock:
            snap, self._mail = self._mail, None
        return snap

    def _post_snapshot(self, snap: Snapshot) -> None:
        """Put ``snap`` in the mailbox; a message or boundary of an unread one carries over."""
        with self._mail_lock:
            old = self._mail
            if old is not None and old.run_id == snap.run_id:
                if not snap.message and old.message:
                    snap = replace(snap, message=old.message)
                if snap.boundary is None and old.boundary is not None:
                    snap = replace(snap, boundary=old.boundary)
            self._mail = snap
        if old is None:
            self.snapshotReady.emit()

    def _next_command(self, timeout: float | None) -> tuple[str, tuple] | None:
        """The next command to run: everything queued is taken at once and coalesced."""
        if not self._pending:
            try:
                first = (
                    self.commands.get(timeout=timeout)
                    if timeout != 0.0
                    else self.commands.get_nowait()
                )
            except queue.Empty:
                return None
            batch = [first]
            while True:
                try:
                    batch.append(self.commands.get_nowait())
                except queue.Empty:
                    break
            self._pending = coalesce(batch)
        return self._pending.pop(0) if self._pending else None

    # ------------------------------------------------------------------ the loop (worker thread)
    def loop(self) -> None:
        from gradlab.threads import configure_blas

        configure_blas()
        try:
            while True:
                timeout = None if self._gen is None else 0.0
                if self._gen is not None and self._speed is not None:
                    timeout = self._pace_wait
                cmd = self._next_command(timeout)
                name, args = cmd if cmd is not None else (None, ())
                if name == "quit":
                    self._pause(probe=False)
                    return
                if name is not None:
                    self._handle(name, args)
                    continue
                if self._gen is not None:
                    self._handle("advance", ())
        finally:
            if self._process is not None:
                self._process.close()
            self.finished.emit()

    @property
    def _pace_wait(self) -> float:
        return max(0.0, self._next_frame - time.perf_counter())

    def _handle(self, name: str, args: tuple) -> None:
        self.busy = BUSY.get(name, "")
        try:
            getattr(self, f"_cmd_{name}")(*args)
        except Exception as err:  # never take the thread down: one sentence to the window
            self._pause(probe=False)
            if not isinstance(err, (ValueError, MemoryError, RecursionError, OSError)):
                traceback.print_exc()  # a bug, most likely: keep its trace for a report
            self.failed.emit(name, failure_sentence(name, err, args))
        finally:
            self.busy = ""

    # ------------------------------------------------------------------ commands
    def _adopt(self, exp: Experiment, path: Path | None = None) -> None:
        self._pause(probe=False)
        self.exp = exp
        exp.pace = None if self._speed is None else 1.0 / self._speed
        self.run_id += 1
        self._boundary_grid = None
        self._last_boundary = 0.0
        if exp.data_error is None:
            try:
                exp.ensure_initial_probe()
            except DataError:
                pass  # a session whose data file is gone: its history is still worth showing
        self.runChanged.emit(RunInfo(self.run_id, exp, path))
        self._emit(force_boundary=True)

    def _cmd_build(self, spec: dict) -> None:
        self._adopt(Experiment(spec))

    def _cmd_open(self, path: str) -> None:
        self._adopt(load_session(path), Path(path))

    def _cmd_run(self) -> None:
        exp = self._require()
        if exp.data_error:
            raise InputError(f"Cannot train: {exp.data_error}")
        if self._gen is not None:
            return
        if exp.status == "diverged":  # never continued without being asked (the banner asks)
            self._emit(message=DIVERGED_HINT)
            return
        if exp.status == "done":
            self._emit(message=DONE_HINT)
            return
        self._start()

    def _cmd_continue(self) -> None:
        """Continue anyway after a divergence (the banner's button), and run."""
        exp = self._require()
        if exp.data_error:
            raise InputError(f"Cannot train: {exp.data_error}")
        self._pause(probe=False)
        exp.continue_after_divergence()
        self._start()

    def _cmd_set_budget(self, steps: int | None, epochs: float | None = None) -> None:
        """Give the run the budget of ``training.steps`` / ``training.epochs`` (Train N more, or
        a new budget in the Training panel), if it is above the run's step: a finished run can
        then run again, a running one goes on to it. A budget at or below the run's step (or
        none) is the next run's: the run keeps its own, and says so."""
        exp = self._require()
        total = steps
        if total is None and epochs is not None:
            total = max(1, round(float(epochs) * exp.steps_per_epoch))
        if total == exp.total_steps:
            self._emit()
            return
        if total is None or total <= exp.step_count:
            kept = exp.total_steps
            self._emit(
                message=(
                    f"This run is at step {exp.step_count:,}: it keeps its budget"
                    + (f" of {kept:,} steps" if kept else "")
                    + "; the new budget applies to the next run (Reset)."
                )
            )
            return
        running = self._gen is not None
        if running:  # its generator aims at the old budget: aim it at the new one
            self._gen.close()
            self._gen = None
        exp.raise_budget(int(total))
        if running:
            self._start()
        self._emit()

    def _start(self, steps: int | None = None) -> None:
        exp = self._require()
        if self._speed is None and use_process() and remote.usable(exp):
            # flat out: in the training process, so the window's painting takes nothing from it
            # (it starts here and moves there once the process holds the data; if the process
            # cannot start or refuses the run, it simply goes on here)
            if self._process is None:
                self._process = remote.TrainingProcess()
            self._gen = remote.RemoteRun(exp, self._process, steps, report_every=FRAME)
            self._next_frame = time.perf_counter()
            return
        per_yield = None
        if self._speed is not None:
            per_yield = max(1, round(self._speed * FRAME))
            self._interval = per_yield / self._speed  # (below 30 steps/s: longer than a frame)
        self._gen = exp.train(steps, report_every=FRAME, max_steps_per_yield=per_yield)
        self._next_frame = time.perf_counter()

    def _cmd_pause(self) -> None:
        self._pause(probe=True)
        self._emit()

    def _cmd_step(self, n: int = 1) -> None:
        exp = self._require()
        self._pause(probe=False)
        if exp.data_error:
            raise InputError(f"Cannot train: {exp.data_error}")
        if exp.status == "diverged":
            self._emit(message=DIVERGED_HINT)
            return
        gen = exp.train(n, report_every=math.inf)
        for _ in gen:
            pass
        self._emit(force_boundary=True)

    def _cmd_set_lr(self, lr: float | None) -> None:
        """Change the run's learning rate from the next step on (recorded by the run)."""
        exp = self._require()
        resume = self._sync()
        exp.set_lr(lr)
        if resume:
            self._start()
        self._emit()

    def _cmd_rename(self, name: str, description: str | None) -> None:
        """Name the run (names change no setting: the run goes on)."""
        exp = self._require()
        exp.spec["name"] = name
        if description:
            exp.spec["description"] = description
        else:
            exp.spec.pop("description", None)

    def _cmd_copy_network(self, token: Any) -> None:
        """Answer with a detached copy of the network, taken between two steps."""
        exp = self._require()
        resume = self._sync()
        self.networkCopied.emit(token, exp.network.copy(), int(exp.step_count), exp.name)
        if resume:
            self._start()

    def _cmd_speed(self, steps_per_sec: float | None) -> None:
        self._speed = steps_per_sec
        if self.exp is not None:
            self.exp.pace = None if steps_per_sec is None else 1.0 / steps_per_sec
        if self._gen is not None:  # restart the generator with the new pace
            self._gen.close()
            self._gen = None
            self._start()

    def _cmd_save(self, path: str) -> None:
        exp = self._require()
        was_running = self._gen is not None
        if was_running:
            self._gen.close()
            self._gen = None
        exp.save(path)
        self.saved.emit(str(path))
        if was_running:
            self._start()

    def _cmd_probe_now(self) -> None:
        exp = self._require()
        resume = self._sync()
        exp.probe_now()
        if resume:
            self._start()
        self._emit()

    def _sync(self) -> bool:
        """End a stretch of training in the training process, its state made the experiment's
        (a command that reads or changes the run needs it here); True if one was running."""
        if isinstance(self._gen, remote.RemoteRun):
            self._gen.close()
            self._gen = None
            return True
        return False

    def _require(self) -> Experiment:
        if self.exp is None:
            raise InputError("No experiment is loaded.")
        return self.exp

    # ------------------------------------------------------------------ running
    def _pause(self, probe: bool) -> None:
        if self._gen is not None:
            self._gen.close()
            self._gen = None
            if probe and self.exp is not None and self.exp.status != "diverged":
                self.exp.probe_now()

    def _cmd_advance(self) -> None:
        self._advance()

    def _advance(self) -> None:
        try:
            report = next(self._gen)
        except StopIteration:
            self._gen = None
            self._emit()
            return
        self._last_rate = report.steps_per_sec
        if report.status in ("done", "diverged", "stopped early"):
            self._gen.close()
            self._gen = None
            self._emit(message=report.message, force_boundary=True)
            return
        self._emit()
        if self._speed is not None:
            self._next_frame = max(self._next_frame + self._interval, time.perf_counter() - FRAME)

    def _boundary(self, force: bool) -> np.ndarray | None:
        exp = self.exp
        if exp is None or exp.data_error is not None or exp.input_dim != 2:
            return None
        now = time.perf_counter()
        if not force and now - self._last_boundary < BOUNDARY_EVERY:
            return None
        self._last_boundary = now
        if self._boundary_grid is None:
            _, _, pts = datasets.grid_for(exp.data, BOUNDARY_RES)
            self._boundary_grid = np.ascontiguousarray(pts, dtype=exp.network.dtype)
        return boundary_probabilities(exp, self._boundary_grid, BOUNDARY_RES)

    def _emit(self, message: str = "", force_boundary: bool = False) -> None:
        exp = self.exp
        if exp is None:
            return
        last = exp.history.latest_step()
        loss = last["loss"] if last else math.nan
        rate = self._last_rate if self._gen is not None else 0.0
        status = "running" if self._gen is not None else exp.status
        if not message and status == "diverged" and exp.diverged:
            message = exp.diverged["message"]
        try:
            boundary = self._boundary(force_boundary)
        except DataError:
            boundary = None
        try:
            total = exp.total_steps  # (an epoch budget needs the data's size)
        except DataError:
            total = None
        ok = exp.data_error is None
        self._post_snapshot(
            Snapshot(
                run_id=self.run_id,
                step=exp.step_count,
                epoch=exp.epoch_float if ok else 0.0,
                loss=loss,
                lr=exp.lr,
                steps_per_sec=rate,
                status=status,
                probes=exp.history.n_probes,
                total_steps=total if ok else None,
                message=message,
                boundary=boundary,
                remote=getattr(self._gen, "where", "") == "process",
            )
        )


def use_process() -> bool:
    """Whether runs at Max speed train in a separate process (``GRADLAB_TRAINING_PROCESS=0``
    keeps them in the worker thread)."""
    return os.environ.get("GRADLAB_TRAINING_PROCESS", "1").strip().lower() not in (
        "0", "no", "false", "off")


def boundary_probabilities(exp: Experiment, points: np.ndarray, res: int) -> np.ndarray:
    """Class probabilities of the network on a grid, (res, res, classes) float32: the one rule
    of :func:`gradlab.figures.boundary_grid.boundary_probabilities`, in the snapshot's dtype."""
    return _grid_probabilities(exp, points, res).astype(np.float32)


#: what Run or Step says on a diverged run (the banner offers to continue anyway)
DIVERGED_HINT = (
    "The run diverged: press Continue anyway in the banner to train on from its last good "
    "state, or lower the learning rate and press Reset."
)
#: what Run says on a finished run (the window turns Space into "Train N more" first)
DONE_HINT = "The step budget is reached: Train more (Space) raises it, or press Reset."
#: what each command was doing, for the sentence of a failure
_DOING = {
    "open": "open",
    "save": "save",
    "build": "build the experiment",
    "run": "run",
    "step": "train",
    "advance": "train",
    "continue": "continue",
    "set_budget": "raise the budget",
}


def failure_sentence(what: str, err: BaseException, args: tuple = ()) -> str:
    """One sentence for a command that failed (:func:`gradlab.errors.sentence`, with the file
    named for an open or a save): never a traceback, whatever was raised (MemoryError and
    RecursionError included)."""
    from gradlab.fileio import ReadOnlyTarget

    text = sentence(err)
    target = Path(str(args[0])).name if what in ("open", "save") and args else ""
    if what == "save" and isinstance(err, ReadOnlyTarget):
        text = f"Cannot save {target}: it {err.why}"
    elif what == "save" and isinstance(err, IsADirectoryError):
        text = f"Cannot save {target}: it is a folder, not a file"
    elif what == "save" and isinstance(err, OSError):
        text = f"Cannot save {target}: {(err.strerror or text).rstrip('.')}"
    elif target and not isinstance(err, InputError):
        text = f"Cannot {_DOING[what]} {target}: {text}"
    elif what in ("step", "advance") and not isinstance(err, InputError):
        text = f"Training stopped: {text}"
    text = text.strip() or "unexpected error"
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


class _Thread(QThread):
    """Runs the worker's loop directly (no event loop in the worker thread: the loop *is* the
    thread; commands arrive through the queue, results leave by queued signals)."""

    def __init__(self, worker: TrainingWorker):
        super().__init__()
        self._worker = worker

    def run(self) -> None:
        self._worker.loop()


#: worker threads still running after their owner let go (closing mid-build): kept referenced
#: until they end, so a running QThread is never destroyed
_RUNNING: set[WorkerThread] = set()


def running_threads() -> list[QThread]:
    """The training threads still running (tests check that none outlives its test; the
    application waits for them before it exits)."""
    _prune()
    return [w.thread for w in list(_RUNNING)]


def _prune() -> None:
    """Let go of threads that have ended (from the UI thread: never from the thread itself)."""
    for w in list(_RUNNING):
        if w.thread.isFinished():
            _RUNNING.discard(w)


class WorkerThread:
    """Owns the QThread and the worker; :meth:`stop` returns once the thread has ended."""

    def __init__(self) -> None:
        self.worker = TrainingWorker()
        self.thread = _Thread(self.worker)
        self.thread.setObjectName("gradlab-training")
        self.worker.moveToThread(self.thread)

    def start(self) -> None:
        _prune()
        _RUNNING.add(self)
        self.thread.start()

    def post(self, name: str, *args: Any) -> None:
        self.worker.post(name, *args)

    @property
    def busy(self) -> str:
        """What a long command in progress is doing ("" if none): closing waits for it."""
        return self.worker.busy if self.thread.isRunning() else ""

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Ask the loop to end and wait for the thread (True if it ended in time). A thread that
        has not ended stays referenced (:data:`_RUNNING`) until it does."""
        if not self.thread.isRunning():
            _RUNNING.discard(self)
            return True
        self.worker.post("quit")
        ended = self.thread.wait(timeout_ms)
        if ended:
            _RUNNING.discard(self)
        return ended
