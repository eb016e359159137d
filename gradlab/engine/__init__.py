"""The NumPy training engine (no Qt): layers, activations, initialisers, losses, optimisers,
schedules and regularisation, with forward/backward taps for the probes.

>>> from gradlab.engine import Network, losses, optimizers
>>> net = Network.from_spec([{"type": "dense", "units": 16, "activation": "tanh"}],
...                         input_dim=2, output_dim=2, seed=0)
"""

import importlib

from gradlab.engine import activations, initializers, losses
from gradlab.engine.network import Network, architecture, parameter_counts, resolve_layers

__all__ = [
    "Network",
    "activations",
    "architecture",
    "initializers",
    "losses",
    "optimizers",
    "parameter_counts",
    "regularization",
    "resolve_layers",
    "schedules",
]


def __getattr__(name):
    if name in ("optimizers", "schedules", "regularization"):
        return importlib.import_module(f"gradlab.engine.{name}")
    raise AttributeError(f"module 'gradlab.engine' has no attribute {name!r}")
