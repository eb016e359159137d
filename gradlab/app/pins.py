"""Runs pinned from files for the Compare view (File > Compare with Session, File > Open
Sweep): a loaded session as a frozen :class:`~gradlab.app.model.RunModel`, its name made
printable (it came from a file), and the one sentence to show when a file cannot be read."""

from __future__ import annotations

from pathlib import Path

from gradlab.app.model import RunModel
from gradlab.errors import InputError, sentence
from gradlab.experiment import load_session
from gradlab.safeio import printable

#: the longest run name shown
MAX_NAME = 120


def pinned_model(exp, name: str, run_id: int) -> RunModel:
    """A loaded session as a pinned run (frozen: its history only, no experiment to compute
    with) named ``name``."""
    return RunModel(
        run_id=run_id,
        name=printable(name, MAX_NAME),
        spec=exp.spec,
        history=exp.history,
        layer_names=list(exp.network.layer_names),
        input_dim=exp.input_dim,
        output_dim=exp.output_dim,
        changes=list(exp.lr_changes),
    )


def load_pinned(path: str | Path, run_id: int, name: str | None = None) -> RunModel:
    """Load the session at ``path`` as a pinned run (named after its file by default). Raises
    whatever loading raises; :func:`failure` phrases it."""
    path = Path(path)
    return pinned_model(load_session(path), name or path.stem, run_id)


def failure(path: str | Path, err: BaseException) -> str:
    """One printable sentence for a session that could not be pinned or opened."""
    text = sentence(err)
    if not isinstance(err, InputError):
        text = f"Cannot open {Path(path).name}: {text}"
    text = text[:1].upper() + text[1:]
    return printable(text if text.endswith(".") else text + ".", 800)


__all__ = ["failure", "load_pinned", "pinned_model"]
