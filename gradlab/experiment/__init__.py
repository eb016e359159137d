"""The experiment layer (no Qt): spec, probes, history, the training loop, sessions, presets."""

from gradlab.experiment import presets
from gradlab.experiment.experiment import Experiment, Report, load_session
from gradlab.experiment.history import History
from gradlab.experiment.probes import HIST_QUANTITIES, LAYER_STATS, ProbeRecord
from gradlab.experiment.spec import resolve as resolve_spec
from gradlab.experiment.spec import set_path

__all__ = [
    "HIST_QUANTITIES",
    "LAYER_STATS",
    "Experiment",
    "History",
    "ProbeRecord",
    "Report",
    "load_session",
    "presets",
    "resolve_spec",
    "set_path",
]
