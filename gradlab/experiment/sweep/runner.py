"""Running a sweep: open (or reuse) its folder, send the trials not finished yet to an executor,
record each one as it ends, keep results.csv and results.md current.

Every file is written atomically (gradlab/fileio.py) and a trial's record is written only after
its session, so whatever stops the run (Ctrl-C, a crash, a power cut) the folder holds finished
trials and nothing half-written; the same command goes on where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import queue
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from gradlab.errors import SpecError
from gradlab.experiment.sweep.definition import SweepDef
from gradlab.experiment.sweep.executors import Executor
from gradlab.experiment.sweep.results import (
    SweepResults,
    TrialRecord,
    read_definition,
    read_records,
    write_results,
)
from gradlab.fileio import atomic_write_bytes, atomic_write_text

#: results.csv/md are rewritten at most this often while trials finish (and always at the end)
WRITE_EVERY = 1.0


@dataclass
class Progress:
    """What the progress bar shows."""

    total: int
    skipped: int  # finished before this run (resumed)
    done: int  # finished so far, skipped ones included (done + diverged + failed)
    running: int
    diverged: int
    failed: int
    elapsed: float
    remaining: float | None  # seconds, None until a trial of this run has finished


def check_folder(out: Path, sweep: SweepDef) -> None:
    """Refuse, with one sentence, an ``out`` that cannot hold this sweep: a file, a folder in a
    folder that does not exist, a folder made by different settings (checked before any work)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SpecError("--out", f"{out} is a file, not a folder")
    if not out.parent.is_dir():
        raise SpecError("--out", f"the folder {out.parent} does not exist")
    stored = read_definition(out) if out.is_dir() else None
    if stored is not None:
        diff = stored.difference(sweep)
        if diff is not None:
            raise SpecError(
                "--out",
                f"{out} holds a different sweep ({diff}); give another --out, or the settings "
                "that made it",
            )
    elif out.is_dir() and any(p.name != "trials" for p in out.iterdir()):
        raise SpecError("--out", f"{out} is not empty and holds no sweep; give a new folder")


def prepare_folder(out: Path, sweep: SweepDef) -> SweepResults:
    """Create ``out`` or check that it holds this very sweep; store the definition; return what
    is there. Refuses, with one sentence, a folder made by different settings or holding other
    things."""
    out = Path(out)
    check_folder(out, sweep)
    (out / "trials").mkdir(parents=True, exist_ok=True)
    for tmp in (out / "trials").glob(".*.tmp"):  # left by a process killed mid-write
        with contextlib.suppress(OSError):
            tmp.unlink()
    # the layout (rows/cols) may change from one run to the next; the definition may not
    atomic_write_text(out / "sweep.json", json.dumps(sweep.to_json(), indent=1) + "\n")
    folder = out.resolve()
    return SweepResults(folder, sweep, read_records(folder, sweep))


def record(res: SweepResults, index: dict[str, int], result_json: str, blob: bytes) -> TrialRecord:
    """Store one trial's session and record (in that order) and update ``res``."""
    r = json.loads(result_json)
    old = res.trials[index[r["id"]]]
    rec = TrialRecord(
        id=old.id,
        settings=old.settings,
        repeat=old.repeat,
        seed=old.seed,
        status=r["status"],
        steps=int(r["steps"]),
        val_error=r["val_error"],
        val_loss=r["val_loss"],
        loss=r["loss"],
        diverged_at=r["diverged_at"],
        error=r["error"],
        seconds=r["seconds"],
        train_seconds=r.get("train_seconds"),
    )
    trials = res.folder / "trials"
    if blob:
        rec.session = trials / f"{rec.id}.gradlab"
        atomic_write_bytes(rec.session, blob)
    elif rec.finished:
        rec.status, rec.error = "error", "the trial returned no session"
    atomic_write_text(trials / f"{rec.id}.json", json.dumps(rec.to_json(res.folder), indent=1))
    res.trials[index[rec.id]] = rec
    return rec


@dataclass
class Outcome:
    results: SweepResults
    ran: int  # trials run (to their end) by this call
    skipped: int
    interrupted: bool


def run(
    sweep: SweepDef,
    out: str | Path,
    executor: Executor,
    *,
    rows: list[str] | None = None,
    cols: list[str] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    tick: float = 0.5,
) -> Outcome:
    """Run every trial of ``sweep`` not finished in ``out`` on ``executor``.

    ``on_progress`` is called when a trial ends and every ``tick`` seconds. Ctrl-C
    (KeyboardInterrupt) stops the executor's trials, keeps the finished ones and returns with
    ``interrupted=True``.
    """
    sweep.check_specs()
    res = prepare_folder(Path(out), sweep)
    index = {t.id: i for i, t in enumerate(res.trials)}
    todo = [t for t in sweep.expand() if not res.trials[index[t.id]].finished]
    skipped = len(res.trials) - len(todo)
    t0 = time.perf_counter()
    ran = 0
    last_write = 0.0

    def progress() -> None:
        if on_progress is None:
            return
        elapsed = time.perf_counter() - t0
        finished = sum(t.finished or (t.status == "error" and t.id in ended) for t in res.trials)
        left = len(todo) - len(ended)
        remaining = None
        if ended:
            remaining = elapsed / len(ended) * left
        on_progress(
            Progress(
                total=len(res.trials),
                skipped=skipped,
                done=finished,
                running=min(executor.slots, left),
                diverged=sum(t.status == "diverged" for t in res.trials),
                failed=sum(t.status == "error" and t.id in ended for t in res.trials),
                elapsed=elapsed,
                remaining=remaining,
            )
        )

    ended: set[str] = set()
    interrupted = False
    dirty = False
    write_results(res, rows, cols)
    try:
        for t in todo:
            executor.submit(json.dumps({"id": t.id, "spec": t.spec(sweep.base, sweep.steps)}), t.id)
        progress()
        while len(ended) < len(todo):
            try:
                trial_id, fut = executor.done.get(timeout=tick)
            except queue.Empty:
                trial_id = None
            if trial_id is not None:
                _take(res, index, trial_id, fut)
                ended.add(trial_id)
                ran += 1
                dirty = True
            now = time.perf_counter()
            if dirty and (now - last_write >= WRITE_EVERY or len(ended) == len(todo)):
                write_results(res, rows, cols)
                last_write, dirty = now, False
            progress()
    except KeyboardInterrupt:
        interrupted = True
        executor.cancel()
        while True:  # trials that ended while we were stopping are kept too
            try:
                trial_id, fut = executor.done.get_nowait()
            except queue.Empty:
                break
            if trial_id not in ended and _take(res, index, trial_id, fut, quiet=True):
                ended.add(trial_id)
                ran += 1
    finally:
        write_results(res, rows, cols)
    return Outcome(res, ran, skipped, interrupted)


def _take(res, index, trial_id: str, fut, quiet: bool = False) -> bool:
    """Record a finished future; an executor-level failure (a worker that died, a task the
    cluster lost) is recorded as the trial's error. Returns False for a cancelled future."""
    if fut.cancelled():
        return False
    try:
        result_json, blob = fut.result()
    except BaseException as err:  # the future's own failure, not ours
        if quiet or isinstance(err, KeyboardInterrupt):
            return False
        from gradlab.experiment.sweep.trial import one_sentence

        if isinstance(err, BrokenProcessPool):
            msg = "a worker process ended abruptly (out of memory, killed or crashed)"
        else:
            msg = f"the worker running it failed ({one_sentence(err)})"
        result_json = json.dumps(
            {
                "id": trial_id,
                "status": "error",
                "steps": 0,
                "val_error": None,
                "val_loss": None,
                "loss": None,
                "diverged_at": None,
                "error": msg,
                "seconds": None,
            }
        )
        blob = b""
    record(res, index, result_json, blob)
    return True
