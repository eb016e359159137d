"""BLAS thread-pool sizing.

On a 2-core machine NumPy's BLAS with 2 threads ran 10-20x slower than with 1 thread as soon as
the other core was busy (drawing, another process): the threads spin-wait on each other. GradLab
therefore gives BLAS the cores left over by the UI, one by default, and lets
``GRADLAB_BLAS_THREADS`` override it.
"""

from __future__ import annotations

import os

_limiter = None


def default_blas_threads() -> int:
    env = os.environ.get("GRADLAB_BLAS_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    return 1


def configure_blas(threads: int | None = None) -> int:
    """Limit every BLAS pool of the process to ``threads`` (default: :func:`default_blas_threads`).

    Returns the number set. Safe to call more than once; the last call wins.
    """
    global _limiter
    from threadpoolctl import threadpool_limits

    n = default_blas_threads() if threads is None else max(1, int(threads))
    _limiter = threadpool_limits(limits=n, user_api="blas")
    return n


def ensure_configured() -> None:
    """Apply the default limit unless :func:`configure_blas` was called already (an
    :class:`~gradlab.experiment.Experiment` calls this, so a notebook gets the safe default)."""
    if _limiter is None:
        configure_blas()
