"""The experiment spec: one JSON-able dict that says everything about a run, and every fact about
it written once.

=================  =====================================================================
module             what it holds
=================  =====================================================================
``fields``         the training, probe, seed and dtype fields as Params (default, bounds,
                   help)
``catalog``        the engine's components (optimisers, schedules, losses, activations,
                   initialisers, layer entries) as declarations the window shows
``layers``         the layer list as data: rows and output entry, edits, the quick builder,
                   the architecture string, the parameter count
``resolve``        the one check (:func:`check`: every problem keyed by field and layer) and
                   :func:`resolve` (every default filled in, or the first problem raised)
``naming``         names follow content; a run's one-line label with its lr changes
``paths``          ``--set training.lr=0.01`` edits
=================  =====================================================================
"""

from gradlab.experiment.spec.fields import (
    DEFAULT_PROBES,
    DEFAULT_TRAINING,
    PROBE_KEYS,
    TOP_KEYS,
    TRAINING_KEYS,
)
from gradlab.experiment.spec.paths import parse_value, set_path
from gradlab.experiment.spec.resolve import (
    Problem,
    Problems,
    check,
    effective_layers,
    resolve,
    resolve_network,
)
from gradlab.params import resolve as resolve_params

__all__ = [
    "DEFAULT_PROBES",
    "DEFAULT_TRAINING",
    "PROBE_KEYS",
    "TOP_KEYS",
    "TRAINING_KEYS",
    "Problem",
    "Problems",
    "check",
    "effective_layers",
    "parse_value",
    "resolve",
    "resolve_network",
    "resolve_params",
    "set_path",
]
