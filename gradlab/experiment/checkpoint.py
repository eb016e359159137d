"""Checkpointing: an :class:`~gradlab.experiment.Experiment` to a ``.gradlab`` session and back.

:func:`save` captures parameters, optimiser and schedule state, data order, every random
generator, the learning-rate changes made during the run and the history, so :func:`load_session`
followed by more training gives bit for bit the run that was never stopped. The file format itself
(a zip of a JSON manifest and ``.npy`` arrays, written atomically) is :mod:`gradlab.session`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gradlab import session
from gradlab._version import __version__
from gradlab.errors import SessionError
from gradlab.experiment.history import History

if TYPE_CHECKING:
    from gradlab.experiment.experiment import Experiment


def save(exp: Experiment, path: str | Path) -> Path:
    """Write ``exp`` to ``path`` (atomic: the previous file survives a failed save)."""
    path = Path(path)
    meta, arrays = exp.history.to_arrays()
    for k, v in exp.network.state_arrays().items():
        arrays[f"network/{k}"] = v
    opt_state = exp.optimizer.state_dict()
    for slot, per in opt_state["slots"].items():
        for k, v in per.items():
            arrays[f"optimizer/{slot}/{k}"] = v
    if exp.perm is not None:
        arrays["trainer/perm"] = exp.perm
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
            "status": exp.status if exp.status in ("diverged", "done") else "paused",
            "diverged": exp.diverged,
            "health": {"watch": exp.watch.state(), "monitor": exp._monitor_state_now()},
            "last_eval_step": exp._last_eval_step,
            "t_step": exp._t_step,
            "t_probe": exp._t_probe,
            "t_jacobian": exp._t_jacobian,
        },
        "optimizer": {
            "name": opt_state["name"],
            "hyper": opt_state["hyper"],
            "t": opt_state["t"],
            "slots": sorted(opt_state["slots"]),
        },
        "schedule": exp.schedule.state_dict(),
        "prober": (exp._prober.state() if exp._prober is not None else exp._prober_state),
        "history": meta,
        "gradlab_version": __version__,
    }
    session.write(path, manifest, arrays)
    exp.path = path
    return path


def restore(cls: type[Experiment], manifest: dict, arrays: dict[str, np.ndarray], path: Path):
    """The experiment a session's manifest and arrays describe, ready to resume."""
    spec = manifest["spec"]
    exp = cls(spec, _dims=manifest["dims"])
    exp._preprocess_state = {
        k.rsplit("/", 1)[1]: v for k, v in arrays.items() if k.startswith("data/preprocess/")
    }
    exp.network.load_state_arrays(
        {k[len("network/") :]: v for k, v in arrays.items() if k.startswith("network/")}
    )
    o = manifest["optimizer"]
    slots: dict[str, dict[str, np.ndarray]] = {s: {} for s in o["slots"]}
    for k, v in arrays.items():
        if k.startswith("optimizer/"):
            _, slot, name = k.split("/", 2)
            slots.setdefault(slot, {})[name] = v
    exp.optimizer.load_state_dict(
        {"name": o["name"], "hyper": o["hyper"], "t": o["t"], "slots": slots}
    )
    exp.schedule.load_state_dict(manifest["schedule"])
    tr = manifest["trainer"]
    exp.step_count = int(manifest["step_count"])
    exp.epoch, exp.pos = int(tr["epoch"]), int(tr["pos"])
    exp.perm = np.array(arrays["trainer/perm"]) if tr["has_perm"] else None
    exp.rng.bit_generator.state = tr["rng"]
    exp.network.rng.bit_generator.state = tr["dropout_rng"]
    _restore_lr(exp, tr)
    exp.probe_every = int(tr["probe_every"])
    exp.status = tr["status"] if exp.step_count or tr["status"] == "diverged" else "ready"
    exp.diverged = tr["diverged"]
    health_state = tr.get("health") or {}
    exp._last_eval_step = int(tr["last_eval_step"])
    exp._t_step, exp._t_probe = float(tr["t_step"]), float(tr["t_probe"])
    exp._t_jacobian = float(tr.get("t_jacobian", 0.0))
    exp._prober_state = manifest["prober"]
    exp.history = History.from_arrays(manifest["history"], arrays)
    exp._load_health(health_state)
    exp.path = path
    return exp


def _restore_lr(exp: Experiment, tr: dict) -> None:
    """The learning-rate changes of the run (sessions before them held one override)."""
    changes = tr.get("lr_changes")
    if changes is None and tr.get("lr_override") is not None:
        spec_lr = exp.spec["training"]["lr"]
        changes = [{"step": exp.step_count, "from": spec_lr, "to": float(tr["lr_override"])}]
    exp.lr_changes = [
        {"step": int(c["step"]), "from": float(c["from"]), "to": float(c["to"])}
        for c in (changes or [])
    ]
    if exp.lr_changes:
        exp.base_lr = exp.lr_changes[-1]["to"]


def load_session(path: str | Path) -> Experiment:
    """Open a ``.gradlab`` session: its history can be shown at once and training resumes
    exactly where it stopped. The dataset is rebuilt on first use (``exp.data``); if it cannot
    be (a data file has moved), the history is still there and ``exp.data_error`` says why.

    Raises :class:`~gradlab.errors.SessionError` with one sentence for anything unreadable.
    """
    from gradlab.experiment.experiment import Experiment

    path = Path(path)
    manifest, arrays = session.read(path)
    try:
        return restore(Experiment, manifest, arrays, path)
    except SessionError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as err:
        detail = err.args[0] if err.args else type(err).__name__
        raise SessionError(
            f"{path.name} could not be restored: its contents do not fit together ({detail})."
        ) from None
