"""The experiment spec: defaults, idempotence, one clear error per bad field, --set overrides."""

from __future__ import annotations

import copy
import json

import pytest

from gradlab.errors import SpecError
from gradlab.experiment import presets
from gradlab.experiment.spec import (
    DEFAULT_PROBES,
    DEFAULT_TRAINING,
    parse_value,
    resolve,
    set_path,
)


def base_spec() -> dict:
    return {
        "name": "t",
        "seed": 1,
        "data": {"name": "xor", "n": 100},
        "network": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "tanh"},
                {"units": 4, "activation": "relu"},
            ]
        },
        "training": {"optimizer": "adam", "lr": 0.01, "steps": 10},
    }


# ---------------------------------------------------------------------------------- defaults


def test_resolve_fills_every_default():
    r = resolve({"data": {"name": "xor"}})
    assert r["name"] == "untitled"
    assert r["seed"] == 0
    assert r["dtype"] == "float32"
    assert set(r["training"]) == set(DEFAULT_TRAINING)
    assert set(r["probes"]) == set(DEFAULT_PROBES)
    t = r["training"]
    # the optimiser becomes an explicit object with every hyper-parameter, its lr lifted out
    assert t["optimizer"]["name"] == "adam"
    assert {"beta1", "beta2", "eps"} <= set(t["optimizer"])
    assert "lr" not in t["optimizer"]
    assert t["lr"] == 0.001  # Adam's own default when the spec gives none
    assert t["schedule"]["name"] == "constant"
    assert t["batch_size"] == 32
    assert t["steps"] is None and t["epochs"] is None
    assert t["loss"] == "softmax_cross_entropy"
    assert t["clip"] is None
    assert t["l1"] == 0.0 and t["l2"] == 0.0
    assert r["probes"] == DEFAULT_PROBES
    json.dumps(r, allow_nan=False)  # JSON-able, for the session manifest


def test_resolve_takes_the_learning_rate_from_the_optimizer_entry():
    r = resolve({"data": {"name": "xor"}, "training": {"optimizer": {"name": "sgd", "lr": 0.5}}})
    assert r["training"]["lr"] == 0.5
    assert r["training"]["optimizer"] == {"name": "sgd"}


def test_resolve_does_not_modify_its_argument():
    spec = base_spec()
    before = copy.deepcopy(spec)
    resolve(spec)
    assert spec == before


@pytest.mark.parametrize(
    "spec",
    [
        {"data": {"name": "xor"}},
        base_spec(),
        {
            **base_spec(),
            "training": {
                "optimizer": {"name": "momentum", "momentum": 0.8},
                "lr": 0.1,
                "schedule": {"name": "step", "step_size": 5, "gamma": 0.5},
                "clip": {"norm": 5},
                "l2": 1e-4,
                "max_norm": 3,
                "epochs": 2,
                "eval_every": 7,
            },
            "probes": {"every": 3, "bins": 20, "capacity": 50},
        },
        presets.load(presets.DEFAULT),
    ],
    ids=["minimal", "base", "everything", "preset"],
)
def test_resolve_is_idempotent(spec):
    once = resolve(spec)
    assert resolve(once) == once
    assert resolve(copy.deepcopy(once)) == once


# ---------------------------------------------------------------------------------- errors


def spec_error(spec) -> SpecError:
    with pytest.raises(SpecError) as info:
        resolve(spec)
    err = info.value
    assert "\n" not in str(err), f"the message should be one line: {err}"
    assert err.message.strip(), "the error should say what is wrong"
    assert str(err).startswith(err.field), "the message should start with the field"
    return err


def with_training(**kw) -> dict:
    s = base_spec()
    s["training"] = {**s["training"], **kw}
    return s


BAD_SPECS = [
    ("unknown top-level key", {**base_spec(), "trainig": {}}, "trainig"),
    ("unknown dataset", {**base_spec(), "data": {"name": "no_such_data"}}, "data.name"),
    ("dataset without name", {**base_spec(), "data": {"n": 10}}, "data.name"),
    ("lr zero", with_training(lr=0), "training.lr"),
    ("lr negative", with_training(lr=-0.1), "training.lr"),
    ("batch_size zero", with_training(batch_size=0), "training.batch_size"),
    ("steps and epochs", with_training(steps=10, epochs=2), "training.steps"),
    ("negative steps", with_training(steps=-1), "training.steps"),
    (
        "optimizer param out of range",
        with_training(optimizer={"name": "adam", "beta1": 1.5}),
        "training.optimizer.beta1",
    ),
    (
        "optimizer unknown param",
        with_training(optimizer={"name": "adam", "betta1": 0.5}),
        "training.optimizer.betta1",
    ),
    (
        "schedule param",
        with_training(schedule={"name": "step", "gamma": 2.0}),
        "training.schedule.gamma",
    ),
    (
        "schedule step_size",
        with_training(schedule={"name": "step", "step_size": 0}),
        "training.schedule.step_size",
    ),
    ("clip with two keys", with_training(clip={"norm": 1, "value": 1}), "training.clip"),
    ("clip unknown key", with_training(clip={"nrom": 1}), "training.clip.nrom"),
    ("clip zero", with_training(clip={"norm": 0}), "training.clip.norm"),
    ("l2 negative", with_training(l2=-1), "training.l2"),
    ("unknown training key", with_training(learning_rate=0.1), "training.learning_rate"),
    ("unknown loss", with_training(loss="hinge_of_doom"), "training.loss"),
    ("probes bins 2", {**base_spec(), "probes": {"bins": 2}}, "probes.bins"),
    ("probes every 0", {**base_spec(), "probes": {"every": 0}}, "probes.every"),
    ("probes unknown key", {**base_spec(), "probes": {"evrey": 5}}, "probes.evrey"),
    (
        "layer units 0",
        {**base_spec(), "network": {"layers": [{"units": 4}, {"units": 0}]}},
        "network.layers[1].units",
    ),
    (
        "hidden layer typo",
        {**base_spec(), "network": {"layers": [{"units": 4, "activaton": "tanh"}]}},
        "network.layers[0].activaton",
    ),
    (
        "unknown activation",
        {**base_spec(), "network": {"layers": [{"units": 4}, {"units": 4, "activation": "tanhh"}]}},
        "network.layers[1].activation",
    ),
    ("dtype", {**base_spec(), "dtype": "float16"}, "dtype"),
    ("seed negative", {**base_spec(), "seed": -1}, "seed"),
]


@pytest.mark.parametrize(("case", "spec", "field"), BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_a_bad_field_is_named_in_one_line(case, spec, field):
    assert spec_error(spec).field == field


def test_a_bad_optimizer_name_names_the_optimizer_field():
    err = spec_error(with_training(optimizer="adamm"))
    assert err.field.startswith("training.optimizer")
    assert "adamm" in str(err)
    err = spec_error(with_training(optimizer={"name": "sgdd"}))
    assert err.field.startswith("training.optimizer")


def test_an_optimizer_object_without_a_name_is_refused():
    assert spec_error(with_training(optimizer={"beta1": 0.5})).field == "training.optimizer.name"


def test_a_spec_that_is_not_an_object_is_refused():
    with pytest.raises(SpecError):
        resolve(["not", "a", "dict"])


# ---------------------------------------------------------------------------------- set_path


def test_set_path_sets_a_nested_number_without_touching_the_original():
    spec = base_spec()
    out = set_path(spec, "training.lr", 0.05)
    assert out["training"]["lr"] == 0.05
    assert spec["training"]["lr"] == 0.01


def test_set_path_indexes_layers():
    out = set_path(base_spec(), "network.layers[0].units", 32)
    assert out["network"]["layers"][0]["units"] == 32
    assert out["network"]["layers"][1]["units"] == 4
    assert resolve(out)["network"]["layers"][0]["units"] == 32


def test_set_path_turns_a_named_optimizer_into_an_object():
    out = set_path(base_spec(), "training.optimizer.beta1", 0.8)
    assert out["training"]["optimizer"] == {"name": "adam", "beta1": 0.8}
    r = resolve(out)
    assert r["training"]["optimizer"]["name"] == "adam"
    assert r["training"]["optimizer"]["beta1"] == 0.8


def test_set_path_creates_missing_levels():
    out = set_path({"data": {"name": "xor"}}, "training.clip.norm", 5)
    assert out["training"] == {"clip": {"norm": 5}}
    assert resolve(out)["training"]["clip"] == {"norm": 5.0}


def test_set_path_refuses_an_index_out_of_range():
    with pytest.raises(SpecError) as info:
        set_path(base_spec(), "network.layers[5].units", 3)
    assert "\n" not in str(info.value)
    with pytest.raises(SpecError):
        set_path(base_spec(), "network.layers[2]", {"units": 3})


@pytest.mark.parametrize("path", ["a..b", ".lr", "training.", "network.layers[x].units"])
def test_set_path_refuses_a_bad_path(path):
    with pytest.raises(SpecError) as info:
        set_path(base_spec(), path, 1)
    assert "\n" not in str(info.value)


def test_set_path_refuses_to_descend_into_a_number():
    with pytest.raises(SpecError):
        set_path(base_spec(), "training.lr.value", 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.01", 0.01),
        ("3", 3),
        ("true", True),
        ("false", False),
        ("null", None),
        ('{"norm": 5}', {"norm": 5}),
        ("[1, 2]", [1, 2]),
        ("adam", "adam"),
        ("glorot_uniform", "glorot_uniform"),
    ],
)
def test_parse_value(text, value):
    got = parse_value(text)
    assert got == value
    assert type(got) is type(value)


# ---------------------------------------------------------------------------------- the one check


def test_check_lists_every_problem_keyed_by_layer_and_field():
    from gradlab.experiment.spec import check

    spec = base_spec()
    spec["network"]["layers"] += [{"units": 0}, {"type": "output", "activation": "tanh"}]
    spec["training"]["lr"] = -1
    spec["probes"] = {"bins": 2}
    problems = check(spec)
    assert [p.field for p in problems] == [
        "network.layers[2].units",
        "training.lr",
        "probes.bins",
        "network.layers[3].activation",  # the loss/output rule, checked once, here
    ]
    assert problems.by_layer() == {
        (2, "units"): "network.layers[2].units: must be >= 1, got 0",
        (3, "activation"): "network.layers[3].activation: softmax_cross_entropy applies its "
        "own squashing to the logits, so the output layer must be linear, got tanh",
    }
    assert [p.field for p in problems.under("training", "probes")] == ["training.lr", "probes.bins"]
    with pytest.raises(SpecError) as info:
        resolve(spec)
    assert str(info.value) == problems[0].message  # resolve raises the first one
    assert check(base_spec()) == ()


def test_check_is_one_pass_per_spec_content():
    from gradlab.experiment.spec import check

    spec = base_spec()
    assert check(spec) is check(copy.deepcopy(spec))  # cached: the panels and the window share it


def test_every_training_and_probe_field_is_declared_once_with_help():
    from gradlab.experiment.spec import fields

    assert DEFAULT_TRAINING == {p.name: p.default for p in fields.TRAINING}
    assert DEFAULT_PROBES == {p.name: p.default for p in fields.PROBES}
    for p in (*fields.TRAINING, *fields.PROBES, fields.SEED, fields.DTYPE):
        assert p.help.strip() and p.label, p.name
    assert fields.TRAINING_BY_NAME["diverge_factor"].default == 3.0
    assert resolve(base_spec())["training"]["diverge_factor"] == 3.0
    assert spec_error(with_training(diverge_factor=-1)).field == "training.diverge_factor"
    assert DEFAULT_PROBES["bins"] == 51


# ---------------------------------------------------------------------------------- names


def moons_spec() -> dict:
    spec = presets.load("spiral")
    spec["data"] = {"name": "moons"}
    spec["network"]["layers"] = [{"units": 64, "activation": "relu"}] * 6
    return spec


def test_a_preset_edited_away_from_its_settings_is_named_custom_and_described_as_it_is():
    from gradlab.experiment.spec import naming

    spec = naming.follow(moons_spec())
    assert spec["name"] == "custom (from spiral)"
    assert "reference" not in spec  # the preset's published numbers are not this run's
    assert "spiral" not in spec["description"].split(":", 1)[1]  # no "Two interleaved spirals"
    assert "moons data" in spec["description"] and "[64]x6 relu" in spec["description"]
    assert "changed: data, network" in spec["description"]
    # edited back, it is the preset again
    back = copy.deepcopy(spec)
    back["data"] = {"name": "spiral"}
    back["network"] = presets.load("spiral")["network"]
    back = naming.follow(back)
    assert back["name"] == "spiral"
    assert back["description"] == presets.load("spiral")["description"]
    assert back["reference"] == presets.load("spiral")["reference"]


def test_budget_and_probe_settings_keep_the_preset_name():
    from gradlab.experiment.spec import naming

    spec = presets.load("spiral")
    spec["training"]["steps"] = 100
    spec["probes"]["every"] = 5
    assert naming.follow(spec)["name"] == "spiral"
    spec["training"]["batch_size"] = 64
    assert naming.follow(spec)["name"] == "custom (from spiral)"


def test_a_name_the_user_gave_is_kept_and_an_empty_one_gives_naming_back():
    from gradlab.experiment.spec import naming

    named = naming.rename(moons_spec(), "  my   moons ")
    assert named["name"] == "my moons"
    assert naming.follow(named)["name"] == "my moons"
    assert "moons data" in named["description"]  # the description still follows the content
    assert naming.rename(named, "")["name"] == "custom (from spiral)"


def test_a_run_label_tells_its_learning_rate_changes():
    from gradlab.experiment.spec import naming

    spec = resolve(presets.load("spiral"))
    changes = [{"step": 1200, "from": 0.01, "to": 0.03}]
    assert naming.lr_story(0.01) == "lr 0.01"
    assert naming.lr_story(0.01, changes) == "lr 0.01 -> 0.03 at step 1,200"
    label = naming.describe_run(spec, 2, 2, changes)
    assert label == "spiral: 2-[16]x3-2 tanh, glorot_uniform, adam lr 0.01 -> 0.03 at step 1,200"


def test_an_experiment_is_named_after_its_content():
    import gradlab

    exp = gradlab.Experiment(moons_spec())
    assert exp.name == "custom (from spiral)"
    assert gradlab.Experiment(presets.load("spiral")).name == "spiral"
