"""Running one trial, in whatever process or cluster worker it lands on.

:func:`run_trial` takes and returns plain text and bytes: a JSON payload in, a JSON result and the
session file's bytes out. The executors (a local process pool, a dask.distributed cluster) carry
only these between processes, and the client writes every file, so a cluster worker needs no
access to the sweep's folder.

The trial's result depends only on its payload (spec and seed): BLAS runs on one thread, and
nothing in training is timed (the probes' "auto" interval is, so the probe steps kept in a
session may differ between runs; the training and the figures in results.csv do not).
"""

from __future__ import annotations

import json
import math
import os
import signal
import tempfile
import time
from pathlib import Path


def init_worker() -> None:
    """Set up a local worker process: one BLAS thread; Ctrl-C is the parent's to handle (the
    parent stops the workers itself, so a keypress never turns into half-recorded trials)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from gradlab.threads import configure_blas

    configure_blas(1)


def worker_info() -> dict:
    """What a cluster worker runs (checked before a sweep is sent to it)."""
    import numpy

    from gradlab._version import __version__

    return {"gradlab": __version__, "numpy": numpy.__version__, "pid": os.getpid()}


def one_sentence(err: BaseException) -> str:
    """An exception as one sentence for a user (GradLab's own errors are one already)."""
    from gradlab.errors import DataError, SessionError, SpecError

    if isinstance(err, MemoryError):
        return "out of memory"
    text = " ".join(str(err).split())
    if not isinstance(err, (SpecError, DataError, SessionError, ValueError)):
        text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _finite(x) -> float | None:
    """A finite figure, rounded to 12 significant digits (1 - 0.67 reads 0.33, not
    0.32999999999999996), or None."""
    x = float(x)
    return float(f"{x:.12g}") if math.isfinite(x) else None


def run_trial(payload: str) -> tuple[str, bytes]:
    """Run the trial described by ``payload`` (JSON: ``{"id", "spec"}``) to its end.

    Returns ``(result JSON, session bytes)``. The result holds ``status`` ("done", "diverged" or
    "error"), ``steps``, ``val_error``, ``val_loss``, ``loss`` (the training loss of the last
    evaluation, on its fixed training subset), ``diverged_at`` (the step, or null), ``error``
    (one sentence, or null), ``seconds`` (the whole trial) and ``train_seconds`` (the training
    loop alone: its steps, probes and evaluations, without building the data). A diverged trial
    is evaluated at its last good state. Nothing but KeyboardInterrupt/SystemExit escapes: a
    trial that raises is a result.
    """
    from gradlab.experiment import Experiment
    from gradlab.threads import configure_blas

    configure_blas(1)
    t0 = time.perf_counter()
    task = json.loads(payload)
    result = {
        "id": task["id"],
        "status": "error",
        "steps": 0,
        "val_error": None,
        "val_loss": None,
        "loss": None,
        "diverged_at": None,
        "error": None,
        "seconds": 0.0,
        "train_seconds": None,
    }
    blob = b""
    try:
        exp = Experiment(task["spec"])
        if exp.total_steps is None:
            raise ValueError("the spec has no step budget: give --steps")
        t_train = time.perf_counter()
        for _ in exp.train(report_every=1.0):
            pass
        result["train_seconds"] = round(time.perf_counter() - t_train, 3)
        # the status is the Experiment's own: non-finite values, or any other divergence rule
        # the training loop applies, arrive here the same way
        diverged = exp.status == "diverged" or exp.diverged is not None
        if diverged:
            m = exp.evaluate()  # the last good state
            step = (exp.diverged or {}).get("step")
            result["diverged_at"] = int(step) if step is not None else exp.step_count
        else:
            ev = exp.history.evals()
            m = {k: ev[k][-1] for k in ("train_loss", "val_loss", "val_acc")}
        result.update(
            status="diverged" if diverged else "done",
            steps=exp.step_count,
            val_error=_finite(1.0 - m["val_acc"]),
            val_loss=_finite(m["val_loss"]),
            loss=_finite(m["train_loss"]),
        )
        with tempfile.TemporaryDirectory(prefix="gradlab-trial-") as tmp:
            path = Path(tmp) / f"{task['id']}.gradlab"
            exp.save(path)
            blob = path.read_bytes()
    except Exception as err:  # a failed trial is recorded, never the end of the sweep
        result.update(status="error", error=one_sentence(err))
        blob = b""
    result["seconds"] = round(time.perf_counter() - t0, 3)
    return json.dumps(result, allow_nan=False), blob
