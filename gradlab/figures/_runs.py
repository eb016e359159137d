"""The runs a figure is drawn from: a session file, an Experiment, or the window's run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradlab.figures.errors import FigureError


@dataclass
class Run:
    """What a figure reads of a run: its name, spec and history (and, for the decision
    boundary, the experiment with its network and data)."""

    name: str
    spec: dict
    history: Any  # gradlab.experiment.History
    layer_names: list[str]
    input_dim: int
    output_dim: int
    experiment: Any = field(default=None, repr=False)
    path: Path | None = None

    @property
    def n_layers(self) -> int:
        return len(self.layer_names)

    @property
    def labels(self) -> list[str]:
        """Short labels for a layer axis: "1", "2", ..., "out"."""
        n = self.n_layers
        return [str(i + 1) if i < n - 1 else "out" for i in range(n)]

    @property
    def names(self) -> list[str]:
        """Legend names: "layer 1", ..., "output" (as in the window)."""
        n = self.n_layers
        return [f"layer {i + 1}" if i < n - 1 else "output" for i in range(n)]

    @property
    def total_steps(self) -> int | None:
        try:
            steps = self.spec["training"]["steps"]
        except (KeyError, TypeError):
            return None
        return int(steps) if isinstance(steps, int) and steps > 0 else None

    def describe(self) -> str:
        """One line: name, architecture, activation, init, optimiser (the name alone when the
        spec is too sparse to describe)."""
        try:
            layers = self.spec["network"]["layers"]
            dense = [
                ly for ly in layers if ly.get("type", "dense") == "dense" and not ly.get("output")
            ]
            acts = sorted({ly["activation"] for ly in dense})
            inits = sorted(
                {ly["init"] if isinstance(ly["init"], str) else ly["init"]["name"] for ly in dense}
            )
            widths = [ly["units"] for ly in dense]
            arch = (
                f"[{widths[0]}]x{len(widths)}"
                if widths and len(set(widths)) == 1
                else "-".join(map(str, widths)) or "linear"
            )
            t = self.spec["training"]
            return (
                f"{self.name}: {self.input_dim}-{arch}-{self.output_dim} {'/'.join(acts)}, "
                f"{'/'.join(inits)}, {t['optimizer']['name']} lr {t['lr']:g}"
            )
        except (KeyError, IndexError, TypeError, ValueError):
            return self.name


def as_run(source: Any) -> Run:
    """A :class:`Run` from a ``.gradlab`` path, an Experiment (loaded or live) or any object
    with the window's run fields (``name``, ``spec``, ``history``, ``layer_names``,
    ``input_dim``, ``output_dim``, optionally ``experiment``), such as a pinned run."""
    if isinstance(source, Run):
        return source
    if isinstance(source, (str, os.PathLike)):
        from gradlab.experiment import load_session

        path = Path(source)
        run = as_run(load_session(path))
        run.path = path
        return run
    if hasattr(source, "history") and hasattr(source, "network") and hasattr(source, "spec"):
        return Run(
            name=source.name,
            spec=source.spec,
            history=source.history,
            layer_names=list(source.network.layer_names),
            input_dim=int(source.input_dim),
            output_dim=int(source.output_dim),
            experiment=source,
            path=getattr(source, "path", None),
        )
    needed = ("name", "spec", "history", "layer_names", "input_dim", "output_dim")
    if all(hasattr(source, k) for k in needed):
        return Run(
            name=source.name,
            spec=source.spec,
            history=source.history,
            layer_names=list(source.layer_names),
            input_dim=int(source.input_dim),
            output_dim=int(source.output_dim),
            experiment=getattr(source, "experiment", None),
        )
    raise FigureError(
        "a figure is drawn from a .gradlab path, a loaded session or an Experiment, "
        f"not a {type(source).__name__}"
    )


def as_runs(source: Any) -> list[Run]:
    """One run, or several from a list or tuple (the runs of a comparison)."""
    if isinstance(source, (list, tuple)):
        runs = [as_run(s) for s in source]
    else:
        runs = [as_run(source)]
    _unique_names(runs)
    return runs


def _unique_names(runs: list[Run]) -> None:
    """Runs that share a name are told apart by their file names, else numbered."""
    names = [r.name for r in runs]
    for r in runs:
        if names.count(r.name) > 1 and r.path is not None and r.path.stem not in names:
            r.name = r.path.stem
    names = [r.name for r in runs]
    seen: dict[str, int] = {}
    for r in runs:
        if names.count(r.name) > 1:
            seen[r.name] = seen.get(r.name, 0) + 1
            r.name = f"{r.name} #{seen[r.name]}"
