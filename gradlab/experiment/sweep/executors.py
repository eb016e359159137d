"""Where trials run: worker processes on this machine, or an existing dask.distributed cluster.

Both executors take :func:`~gradlab.experiment.sweep.trial.run_trial` payloads (JSON text) and
hand back futures whose result is ``(result JSON, session bytes)``; a finished future is put on
:attr:`Executor.done` (a queue) by a done-callback, so the runner waits on one queue whatever the
executor. Neither imports Qt; the dask one imports ``distributed`` only when it is used (the
``gradlab[dask]`` extra).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from gradlab.errors import SpecError
from gradlab.experiment.sweep.trial import init_worker, run_trial, worker_info


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class Executor:
    """The interface the runner uses."""

    #: trials that can run at once
    slots: int = 1
    #: what to call it in messages
    describe: str = ""

    def __init__(self) -> None:
        self.done: queue.Queue = queue.Queue()

    def submit(self, payload: str, trial_id: str) -> Any:
        """Start a trial; when it ends, ``(trial_id, future)`` is put on :attr:`done`."""
        raise NotImplementedError

    def _notify(self, fut: Any, trial_id: str) -> None:
        fut.add_done_callback(lambda f: self.done.put((trial_id, f)))

    def cancel(self) -> None:
        """Drop the trials not finished (running ones are stopped where the executor can)."""

    def close(self) -> None:
        """Release the workers."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class LocalExecutor(Executor):
    """``workers`` processes of this machine (concurrent.futures with a forkserver context, spawn
    where there is no forkserver). Each worker sets one BLAS thread and ignores Ctrl-C.

    As with any spawned process pool, a script that uses it needs the
    ``if __name__ == "__main__":`` guard (the workers import the main module); the ``gradlab``
    command and notebooks need nothing.
    """

    def __init__(self, workers: int | None = None):
        super().__init__()
        self.slots = default_workers() if workers is None else int(workers)
        if self.slots < 1:
            raise SpecError("--workers", f"must be >= 1, got {self.slots}")
        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods and sys.platform != "darwin" else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            # the server imports the experiment layer once; every worker forks from it ready
            ctx.set_forkserver_preload(["gradlab.experiment.sweep.trial", "gradlab.experiment"])
        self.pool = ProcessPoolExecutor(
            max_workers=self.slots, mp_context=ctx, initializer=init_worker
        )
        self.describe = f"{self.slots} local worker process{'es' if self.slots != 1 else ''}"

    def submit(self, payload: str, trial_id: str):
        fut = self.pool.submit(run_trial, payload)
        self._notify(fut, trial_id)
        return fut

    def cancel(self) -> None:
        # queued trials are dropped; running ones are stopped by ending their processes (the
        # pool's own, by their ids), since a trial can take hours
        procs = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(Executor):
    """An existing dask.distributed cluster, reached through its scheduler's address.

    Start its workers with one thread each (``dask worker ADDRESS --nworkers N --nthreads 1``):
    trials are CPU-bound Python and NumPy and share no work, so a thread per core would only
    contend for the interpreter lock.
    """

    def __init__(self, address: str, timeout: float = 20.0):
        super().__init__()
        try:
            from distributed import Client
        except ImportError:
            raise SpecError(
                "--scheduler", "needs dask.distributed: pip install 'gradlab[dask]'"
            ) from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise SpecError(
                "--scheduler", f"cannot reach a dask scheduler at {address} ({err})"
            ) from None
        try:
            infos = self.client.run(worker_info)
        except Exception as err:
            self.client.close()
            raise SpecError(
                "--scheduler",
                f"the cluster's workers cannot run GradLab ({type(err).__name__}: {err}); "
                "install the same gradlab on every worker",
            ) from None
        if not infos:
            self.client.close()
            raise SpecError("--scheduler", f"the cluster at {address} has no workers")
        from gradlab._version import __version__

        versions = {v["gradlab"] for v in infos.values()}
        if versions != {__version__}:
            self.client.close()
            raise SpecError(
                "--scheduler",
                f"the cluster's workers run gradlab {', '.join(sorted(versions))}, this is "
                f"{__version__}; results would not be comparable",
            )
        threads = self.client.nthreads()
        self.slots = max(1, sum(threads.values()))
        self.describe = (
            f"the dask cluster at {address} ({len(threads)} worker"
            f"{'s' if len(threads) != 1 else ''}, {self.slots} thread"
            f"{'s' if self.slots != 1 else ''})"
        )
        self._futures: list = []

    def submit(self, payload: str, trial_id: str):
        key = f"gradlab-trial-{trial_id}-{uuid.uuid4().hex[:12]}"
        fut = self.client.submit(run_trial, payload, key=key, pure=False)
        self._futures.append(fut)
        self._notify(fut, trial_id)
        return fut

    def cancel(self) -> None:
        # running tasks cannot be interrupted inside a worker thread; their results are dropped
        pending = [f for f in self._futures if not f.done()]
        if pending:
            self.client.cancel(pending)

    def close(self) -> None:
        self.client.close()
