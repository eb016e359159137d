"""Checkpointing: an :class:`~gradlab.experiment.Experiment` to a ``.gradlab`` session and back.

:func:`save` captures parameters, optimiser and schedule state, data order, every random
generator, the learning-rate changes made during the run and the history, so :func:`load_session`
followed by more training gives bit for bit the run that was never stopped. The file format itself
(a zip of a JSON manifest and ``.npy`` arrays, written atomically) is :mod:`gradlab.session`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gradlab import session
from gradlab._version import __version__
from gradlab.errors import SessionError, SpecError
from gradlab.experiment import restore as restoring
from gradlab.safeio import printable

if TYPE_CHECKING:
    from gradlab.experiment.experiment import Experiment


def save(exp: Experiment, path: str | Path) -> Path:
    """Write ``exp`` to ``path`` (atomic: the previous file survives a failed save)."""
    path = Path(path)
    manifest, arrays = state(exp)
    session.write(path, manifest, arrays)
    exp.path = path
    return path


def state(exp: Experiment, history: bool = True) -> tuple[dict, dict[str, np.ndarray]]:
    """(the manifest, the arrays) of ``exp`` as a session stores them (the arrays are the
    experiment's own, not copies). ``history=False`` leaves the history out (the training
    process hands its state back this way: :mod:`gradlab.experiment.remote`)."""
    meta, arrays = exp.history.to_arrays() if history else ({}, {})
    for k, v in exp.network.state_arrays().items():
        arrays[f"network/{k}"] = v
    opt_state = exp.optimizer.state_dict()
    for slot, per in opt_state["slots"].items():
        for k, v in per.items():
            arrays[f"optimizer/{slot}/{k}"] = v
    if exp.perm is not None:
        arrays["trainer/perm"] = exp.perm
    es = exp.early_stopping
    if es is not None and es.best_weights is not None:  # restore_best_weights' copy
        for k, v in es.best_weights.items():
            arrays[f"early_stopping/{k}"] = v
    ds = exp._dataset
    pre = ds.preprocess_state if ds is not None else (exp._preprocess_state or {})
    for k, v in pre.items():
        arrays[f"data/preprocess/{k}"] = np.asarray(v)
    manifest = {
        "name": exp.name,
        "spec": exp.spec,
        "seed": exp.seed,
        "step_count": exp.step_count,
        "dims": {"input_dim": exp.input_dim, "output_dim": exp.output_dim},
        "trainer": {
            "epoch": exp.epoch,
            "pos": exp.pos,
            "has_perm": exp.perm is not None,
            "rng": exp.rng.bit_generator.state,
            "dropout_rng": exp.network.rng.bit_generator.state,
            "lr_changes": exp.lr_changes,
            "probe_every": exp.probe_every,
            "status": exp.status if exp.status in ("diverged", "done", "stopped early")
            else "paused",
            "diverged": exp.diverged,
            "health": {"watch": exp.watch.state(), "monitor": exp._monitor_state_now()},
            "last_eval_step": exp._last_eval_step,
            "t_step": exp._t_step,
            "t_probe": exp._t_probe,
            "t_jacobian": exp._t_jacobian,
            "early_stopping": es.state() if es is not None else None,
        },
        "optimizer": {
            "name": opt_state["name"],
            "hyper": opt_state["hyper"],
            "t": opt_state["t"],
            "slots": sorted(opt_state["slots"]),
            **({"extra": opt_state["extra"]} if "extra" in opt_state else {}),
        },
        "schedule": exp.schedule.state_dict(),
        "prober": (exp._prober.state() if exp._prober is not None else exp._prober_state),
        "history": meta,
        "gradlab_version": __version__,
    }
    return manifest, arrays


def restore(cls: type[Experiment], manifest: dict, arrays: dict[str, np.ndarray], path: Path):
    """The experiment a session's manifest and arrays describe, ready to resume: every value is
    checked (:func:`gradlab.experiment.restore.prepare`) before any is used."""
    table = {k: (v.shape, v.dtype) for k, v in arrays.items()}
    exp = restoring.prepare(cls, manifest, table)
    restoring.apply(exp, manifest, arrays)
    exp.path = path
    return exp


def load_session(path: str | Path) -> Experiment:
    """Open a ``.gradlab`` session: its history can be shown at once and training resumes
    exactly where it stopped. The dataset is rebuilt on first use (``exp.data``); if it cannot
    be (a data file has moved), the history is still there and ``exp.data_error`` says why.

    Files from anyone are safe to open: every value the manifest holds is checked and the
    arrays table must be what the session's own spec implies before anything is inflated
    (:mod:`gradlab.experiment.restore`). Raises :class:`~gradlab.errors.SessionError` with one
    sentence for anything unreadable or inconsistent.
    """
    from gradlab.experiment.experiment import Experiment

    path = Path(path)
    prepared: list[Experiment] = []

    def check(manifest: dict, table: dict) -> None:  # before any array is inflated
        prepared.append(_restoring(path, lambda: restoring.prepare(Experiment, manifest, table)))

    manifest, arrays = session.read(path, check=check)

    def finish() -> Experiment:
        exp = prepared[0] if prepared else None
        if exp is None:
            return restore(Experiment, manifest, arrays, path)
        restoring.apply(exp, manifest, arrays)
        exp.path = path
        return exp

    return _restoring(path, finish)


def _restoring(path: Path, work: Callable[[], Any]) -> Any:
    """``work()``, with anything it raises turned into one SessionError sentence."""
    name = printable(path.name, 120)
    try:
        return work()
    except SessionError:
        raise
    except (restoring.RestoreError, SpecError) as err:
        raise SessionError(f"{name} could not be restored: {str(err).rstrip('.')}.") from None
    except MemoryError:
        raise SessionError(f"{name} could not be restored: not enough memory.") from None
    except (
        KeyError,
        TypeError,
        ValueError,
        IndexError,
        ArithmeticError,
        AttributeError,
        RecursionError,
    ) as err:
        detail = printable(
            " ".join(str(err.args[0] if err.args else type(err).__name__).split()), 160
        )
        raise SessionError(
            f"{name} could not be restored: its contents do not fit together ({detail})."
        ) from None
