"""Sweeps: many experiments from one base spec, a grid and random draws, run in local worker
processes or on a dask.distributed cluster, summarised like Glorot & Bengio's Table 1.

>>> from gradlab.experiment import sweep
>>> sw = sweep.SweepDef(base=spec, grid=[("network.activation", ["tanh", "softsign"])],
...                     random=[("training.lr", {"kind": "loguniform", "low": 1e-3, "high": 1e-1})],
...                     trials=4, repeats=2, steps=500)                   # doctest: +SKIP
>>> with sweep.LocalExecutor(workers=2) as ex:                           # doctest: +SKIP
...     sweep.run(sw, "out/", ex)
>>> res = sweep.load("out/")                                              # doctest: +SKIP
>>> res.table(rows=["network.activation"]).cells[0][0].best.stat("val_error")
>>> res.trials[0].session                                                 # its .gradlab

No Qt anywhere here: the window's File > Open Sweep uses :func:`load` and opens a trial's
``session`` with :func:`gradlab.experiment.load_session`.
"""

from gradlab.experiment.sweep.definition import (
    SweepDef,
    Trial,
    apply_field,
    parse_distribution,
    parse_grid,
    parse_random,
)
from gradlab.experiment.sweep.executors import DaskExecutor, Executor, LocalExecutor
from gradlab.experiment.sweep.presets import load_preset, preset_names
from gradlab.experiment.sweep.results import (
    Cell,
    Setting,
    Stat,
    SweepResults,
    Table,
    TrialRecord,
    load,
    results_csv,
    results_markdown,
)
from gradlab.experiment.sweep.runner import Outcome, Progress, run
from gradlab.experiment.sweep.trial import run_trial

__all__ = [
    "Cell",
    "DaskExecutor",
    "Executor",
    "LocalExecutor",
    "Outcome",
    "Progress",
    "Setting",
    "Stat",
    "SweepDef",
    "SweepResults",
    "Table",
    "Trial",
    "TrialRecord",
    "apply_field",
    "load",
    "load_preset",
    "parse_distribution",
    "parse_grid",
    "parse_random",
    "preset_names",
    "results_csv",
    "results_markdown",
    "run",
    "run_trial",
]
