"""What the engine offers, as declarations the window can show: each optimiser, schedule, loss,
activation and initialiser by name with its description and its :class:`~gradlab.params.Param`
list, and the settings of each kind of layer entry.

The window reaches the engine only through this module (an import-linter contract keeps
``gradlab.app`` off ``gradlab.engine``), so every form, choice list and tooltip it builds shows
what the engine declares, written once there.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradlab.engine import activations, initializers, losses, optimizers, schedules
from gradlab.engine.layers import DENSE_SPEC, OUTPUT_DEFAULTS, BatchNorm, Dropout
from gradlab.errors import SpecError
from gradlab.params import Param, by_name

#: the settings of a dense entry, of a standalone batch-norm and dropout entry
DENSE: dict[str, Param] = by_name(DENSE_SPEC)
BATCHNORM: tuple[Param, ...] = BatchNorm.SPEC
DROPOUT: tuple[Param, ...] = Dropout.SPEC
#: what the output layer takes that a hidden layer does not
OUTPUT: dict = dict(OUTPUT_DEFAULTS)

KINDS = ("activation", "initializer", "optimizer", "schedule", "loss")


@dataclass(frozen=True)
class Component:
    """A named engine component as the window shows it."""

    kind: str
    name: str
    description: str
    params: tuple[Param, ...]
    #: activations: where f' vanishes ("both", "one", "none"); losses: "linear outputs" if the
    #: loss wants linear logits
    note: str = ""


_MODULES = {
    "activation": activations,
    "initializer": initializers,
    "optimizer": optimizers,
    "schedule": schedules,
    "loss": losses,
}


def _info(kind: str, name: object):
    if kind == "loss":
        return losses.REGISTRY.get(name)  # type: ignore[arg-type]
    return _MODULES[kind].info(name)


def names(kind: str) -> list[str]:
    """Canonical names of one kind of component, sorted."""
    return _MODULES[kind].names()


def canonical(kind: str, name: object) -> str | None:
    """The canonical name for ``name`` (an alias, any case), or None if unknown."""
    try:
        return _info(kind, name).name
    except (SpecError, TypeError, AttributeError):
        return None


def known(kind: str, name: object) -> bool:
    return canonical(kind, name) is not None


def get(kind: str, name: object) -> Component | None:
    """The declaration of a component (None for an unknown name)."""
    key = canonical(kind, name)
    if key is None:
        return None
    cls = _info(kind, key)
    note = ""
    if kind == "activation":
        note = cls.saturates
    elif kind == "loss" and cls.expects_linear_outputs:
        note = "linear outputs"
    return Component(kind, key, cls.description, tuple(cls.params) if kind != "loss" else (), note)


def own_params(kind: str, name: object, drop: tuple[str, ...] = ()) -> tuple[Param, ...]:
    """A component's parameters minus ``drop`` (() for an unknown name)."""
    c = get(kind, name)
    return tuple(p for p in c.params if p.name not in drop) if c else ()


def bias_initializers() -> list[str]:
    """Initialisers that can draw a bias vector."""
    return initializers.bias_names()


def activation_params() -> tuple[str, ...]:
    """Every parameter name an activation declares (they live in the layer entry itself)."""
    return activations.param_names()
