"""Components declare their settings as Params, and their constructors validate through them:
activations, initialisers, batch norm, dropout and the dense entry; the layer list is checked in
one pass that can report every bad cell at once."""

from __future__ import annotations

import numpy as np
import pytest

from gradlab.engine import activations, architecture, initializers, resolve_layers
from gradlab.engine.layers import DENSE_SPEC, BatchNorm, Dropout
from gradlab.errors import SpecError
from gradlab.params import Param


@pytest.mark.parametrize("name", activations.names())
def test_every_activation_declares_what_it_takes_and_builds_from_its_defaults(name):
    cls = activations.info(name)
    assert all(isinstance(p, Param) and p.help for p in cls.params)
    act = activations.get(name)
    assert act.config() == {p.name: p.default for p in cls.params}


@pytest.mark.parametrize(
    ("name", "given", "field"),
    [
        ("leaky_relu", {"alpha": 1.0}, "layers[2].alpha"),
        ("elu", {"alpha": 0.0}, "layers[2].alpha"),
        ("maxout", {"pieces": 1}, "layers[2].pieces"),
        ("maxout", {"pieces": 17}, "layers[2].pieces"),
        ("tanh", {"alpha": 0.1}, "layers[2].alpha"),
    ],
)
def test_an_activation_refuses_a_value_its_declaration_refuses(name, given, field):
    with pytest.raises(SpecError) as info:
        activations.get(name, "layers[2]", **given)
    assert info.value.field == field


@pytest.mark.parametrize("name", initializers.names())
def test_every_initializer_declares_its_parameters_gain_included(name):
    cls = initializers.info(name)
    names = [p.name for p in cls.params]
    assert names[-1] == "gain"
    init = initializers.get(name)
    assert init.gain == 1.0


def test_initializer_parameters_are_validated_by_their_params():
    assert initializers.get({"name": "normal", "std": 0.5, "mean": 1.0}).mean() == 1.0
    with pytest.raises(SpecError, match=r"^init\.std: must be >= 0"):
        initializers.get({"name": "normal", "std": -1})
    with pytest.raises(SpecError, match=r"^init\.limit: must be <= 1000"):
        initializers.get({"name": "uniform", "limit": 1e4})
    with pytest.raises(SpecError, match="takes no parameter 'std'"):
        initializers.get({"name": "he_normal", "std": 1})
    assert "orthogonal" not in initializers.bias_names()


def test_batchnorm_and_dropout_validate_through_their_declarations():
    assert [p.name for p in BatchNorm.SPEC] == ["momentum", "eps"]
    with pytest.raises(SpecError, match="momentum"):
        BatchNorm("bn1", 4, np.dtype(np.float32), momentum=1.0)
    with pytest.raises(SpecError, match="rate"):
        Dropout("dropout1", 1.0)
    assert Dropout("dropout1", Dropout.SPEC[0].default).rate == 0.5


def test_the_dense_entry_defaults_are_what_resolve_fills_in():
    declared = {p.name: p.default for p in DENSE_SPEC}
    (hidden, out) = resolve_layers([{"units": declared["units"]}], 3)
    for key in ("units", "activation", "init", "gain", "bias_init", "batchnorm", "dropout"):
        assert hidden[key] == declared[key], key
    assert out["activation"] == "linear" and out["units"] == 3
    # the bias is off by default under batch norm (its beta takes the role)
    (bn, _) = resolve_layers([{"units": 4, "batchnorm": True}], 3)
    assert bn["bias"] is False


def test_resolve_layers_can_report_every_bad_cell_in_one_pass():
    layers = [
        {"units": 0},
        {"units": 8, "activation": "tanhh"},
        {"type": "dropout", "rate": 2},
        {"units": 8, "init": {"name": "normal", "std": -1}, "dropout": 1.5},
    ]
    with pytest.raises(SpecError):
        resolve_layers(layers)  # raises the first one by default
    found: list[SpecError] = []
    resolved = resolve_layers(layers, implicit_output=True, problems=found)
    assert [e.field for e in found] == [
        "layers[0].units",
        "layers[1].activation",
        "layers[2].rate",
        "layers[3].init.std",
        "layers[3].dropout",
    ]
    assert len(resolved) == 5 and resolved[-1]["output"] and resolved[-1]["units"] is None


@pytest.mark.parametrize(
    ("widths", "text"),
    [([], "2-3"), ([5], "2-5-3"), ([8] * 6, "2-[8]x6-3"), ([512] * 4 + [256], "2-[512]x4-256-3")],
)
def test_architecture_string(widths, text):
    assert architecture(2, widths, 3) == text
    assert architecture(None, widths, None).startswith("?-")
