"""How much memory a spec needs, estimated before anything is allocated, and the bounds that keep
a spec's numbers sane.

:func:`check` is called where a spec becomes an :class:`~gradlab.experiment.Experiment` (and
where a session is opened, before its arrays are inflated). It refuses, with one sentence naming
the field, values no experiment needs (a layer of more than a million units, maxout with more
than 16 pieces, more than a million epochs, an initialiser's standard deviation of 1e308), and
then compares :func:`estimate` with :func:`gradlab.safeio.memory_budget` (a share of RAM,
``GRADLAB_MAX_MEMORY``), refusing beyond it with a sentence that says how much it would take.

The estimate (bytes) adds up, with ``s`` the bytes of one number (4 or 8)::

    parameters   P * s * 7     the parameters, their gradients, the flat gradient buffer,
                               two optimiser slots and two scratch copies (Adam's worst case)
    training     B * W * s * 6 z, a, delta, the batch-norm and dropout buffers, dx per layer
    probes       Bp * W * (6 s + 16) + J: the probe batch in float64 statistics, and the
                 largest layer's Jacobian k * units * fan_in * (s + 8) for k examples
    evaluation   2000 * W * s * 3   (a chunk of 2000 examples, or all of them if fewer)
    data         n * d * 32    a generated dataset (``n`` examples of ``dim`` inputs, or ``size``
                               squared pixels, or 2-D points): drawn in float64, converted,
                               split and preprocessed
    history      2 * (C * L * (18 * 8 + 7 * (bins * 4 + 16)) + 1e6 * 41): probes kept at
                 capacity C, the step table at its million rows, and one copy of each
                 (growing a table copies it)

``P`` counts every weight, bias and batch-norm parameter and buffer, ``W`` the widths of all
layers (``units * pieces`` before maxout, the input included), ``B`` the batch size, ``Bp`` the
probe batch (both at most the number of examples when the dataset is generated). A dataset
read from a file is not counted here: its reader checks its own size before reading it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gradlab import data as datasets
from gradlab.errors import LimitError, SpecError
from gradlab.safeio import format_bytes, memory_budget

MAX_UNITS = 1_000_000
MAX_PIECES = 16
MAX_EPOCHS = 1e6
MAX_STEPS = 2**53
#: every other number in a layer entry (gain, initialiser std, bias constant...) stays within
MAX_LAYER_NUMBER = 1e6
MAX_INPUT_DIM = 2**31
MAX_OUTPUT_DIM = 1_000_000

STEP_CAPACITY = 1_000_000  # History's default step table size
_N_STATS = 18
_N_HISTS = 7
_EVAL_CHUNK = 2000


@dataclass(frozen=True)
class Estimate:
    """Bytes an experiment needs, by part, and the number of parameters."""

    parameters: int
    training: int
    probes: int
    evaluation: int
    history: int
    n_params: int
    data: int = 0
    n_values: int = 0
    width: int = 0  # values per example across all layers
    capacity: int = 0  # probes the history keeps
    dims_known: bool = True  # False: one input and one output assumed (a lower bound)

    @property
    def total(self) -> int:
        return (self.parameters + self.training + self.probes + self.evaluation + self.history
                + self.data)

    def largest(self) -> str:
        """The part that needs the most, as a phrase."""
        layers = f"its layers hold {self.width:,} values per example"
        parts = [
            (self.parameters, f"the network has {'' if self.dims_known else 'at least '}"
                              f"{self.n_params:,} parameters"),
            (self.training + self.probes + self.evaluation, layers),
            (self.history, f"its history keeps up to {self.capacity:,} probes"),
            (self.data, f"its dataset holds {self.n_values:,} values"),
        ]
        return max(parts, key=lambda p: p[0])[1]


def _dense_widths(layers: list, input_dim: int) -> Iterator[tuple[dict, int, int]]:
    """``(entry, fan_in, width)`` of each dense entry (width = units * pieces)."""
    fan_in = input_dim
    for entry in layers:
        if isinstance(entry, Mapping) and entry.get("type", "dense") in ("dense", "output"):
            units, pieces = entry.get("units", 1), entry.get("pieces", 1)
            if not isinstance(units, int):  # the output layer before the data is known
                units = 1
            pieces = pieces if isinstance(pieces, int) and pieces > 0 else 1
            yield entry, fan_in, units * pieces
            fan_in = units


def estimate(spec: Mapping[str, Any], input_dim: int = 1, output_dim: int = 1) -> Estimate:
    """The memory a resolved ``spec`` needs with these data dimensions (see the module
    docstring). Python integers throughout: no overflow, whatever the sizes."""
    layers = list(spec.get("network", {}).get("layers", []))
    s = 8 if spec.get("dtype") == "float64" else 4
    t, p = spec.get("training", {}), spec.get("probes", {})
    dense = list(_dense_widths(layers, input_dim))
    if not dense or not dense[-1][0].get("output", False):
        last = dense[-1][0].get("units", 1) if dense else input_dim
        dense.append(({"units": output_dim}, last if isinstance(last, int) else 1, output_dim))
    n_params = 0
    widths = input_dim
    jacobian = 0
    for entry, fan_in, width in dense:
        n_params += fan_in * width + (width if entry.get("bias", True) else 0)
        n_params += 4 * width if entry.get("batchnorm") else 0
        widths += width
        units = entry.get("units")
        jacobian = max(jacobian, units * fan_in if isinstance(units, int) else 0)
    prev = input_dim
    for entry in layers:
        if isinstance(entry, Mapping) and entry.get("type") == "batchnorm":
            n_params += 4 * prev
        elif isinstance(entry, Mapping) and isinstance(entry.get("units"), int):
            prev = entry["units"]
    n_values, n_examples = generated(spec.get("data"))
    batch = min(_int(t.get("batch_size"), 32), n_examples or 2**62)  # never beyond the data
    probe_batch = min(_int(p.get("batch"), 512), n_examples or 2**62)
    k = _int(p.get("jacobian_examples"), 2) if _int(p.get("jacobian_every"), 10) else 0
    bins, capacity = _int(p.get("bins"), 51), _int(p.get("capacity"), 1000)
    n_layers = len(dense)
    per_probe = n_layers * (_N_STATS * 8 + _N_HISTS * (bins * 4 + 16))
    return Estimate(
        parameters=n_params * s * 7,
        training=batch * widths * s * 6,
        probes=probe_batch * widths * (6 * s + 16) + k * jacobian * (s + 8),
        evaluation=min(_EVAL_CHUNK, n_examples or _EVAL_CHUNK) * widths * s * 3,
        history=2 * (capacity * per_probe + STEP_CAPACITY * 41),
        n_params=n_params,
        data=n_values * 32,
        n_values=n_values,
        width=widths,
        capacity=capacity,
    )


def generated(data: Any) -> tuple[int, int]:
    """(input values, examples) a generated dataset draws, (0, 0) for files and unknown
    datasets: ``n`` examples (the spec's or the dataset's default) times ``dim``, ``size``
    squared or 2 for 2-D points, read from the dataset's declared parameters."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        return 0, 0
    try:
        info = datasets.info(data["name"])
    except Exception:  # an unknown name is reported by the spec's own check
        return 0, 0
    defaults = {p.name: p.default for p in info.params}
    if info.kind == "file" or "n" not in defaults:
        return 0, 0

    def given(key: str) -> int:
        value = data.get(key, defaults.get(key))
        return value if _is_int(value) and value > 0 else 1

    if "dim" in defaults:
        width = given("dim")
    elif "size" in defaults:
        width = given("size") ** 2
    else:
        width = 2 if info.kind == "2d" else 1
    return given("n") * width, given("n")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def check_bounds(spec: Mapping[str, Any]) -> None:
    """Refuse, naming the field, spec values beyond what any experiment needs."""
    layers = spec.get("network", {}).get("layers", [])
    for i, entry in enumerate(layers if isinstance(layers, list) else []):
        if not isinstance(entry, Mapping):
            continue
        path = f"network.layers[{i}]"
        units = entry.get("units")
        if isinstance(units, int) and units > MAX_UNITS:
            raise SpecError(f"{path}.units", f"must be <= {MAX_UNITS:,}, got {units:,}")
        pieces = entry.get("pieces")
        if isinstance(pieces, int) and pieces > MAX_PIECES:
            raise SpecError(f"{path}.pieces", f"must be <= {MAX_PIECES}, got {pieces:,}")
        for field, value in _numbers(entry, path):
            if field.endswith((".units", ".pieces")):
                continue
            if abs(value) > MAX_LAYER_NUMBER:
                raise SpecError(field, f"must be within ±{MAX_LAYER_NUMBER:g}, got "
                                       f"{_shown(value)}")
    t = spec.get("training", {})
    epochs, steps = t.get("epochs"), t.get("steps")
    if isinstance(epochs, (int, float)) and not isinstance(epochs, bool) and not (
        epochs <= MAX_EPOCHS
    ):
        raise SpecError("training.epochs", f"must be <= {MAX_EPOCHS:g}, got {_shown(epochs)}")
    if isinstance(steps, int) and steps > MAX_STEPS:
        raise SpecError("training.steps", f"must be <= 2**53, got {steps:,}")


def _numbers(node: Any, path: str) -> Iterator[tuple[str, float]]:
    """(field path, number) for every number inside ``node`` (a resolved layer entry)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _numbers(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _numbers(value, f"{path}[{i}]")
    elif isinstance(node, (int, float)) and not isinstance(node, bool):
        yield path, node


def _shown(value: float) -> str:
    if isinstance(value, int) and abs(value) >= 10**16:
        return f"a number of {len(str(abs(value)))} digits"
    return f"{value:g}"


def check(spec: Mapping[str, Any], dims: Mapping[str, Any] | None = None) -> Estimate:
    """Refuse a resolved ``spec`` that is out of bounds or needs more memory than GradLab may
    use (:class:`~gradlab.errors.LimitError`, one sentence with the amount); the estimate.

    ``dims`` (``{"input_dim", "output_dim"}``) when the data is known; before that, one input
    and one output are assumed (the hidden layers alone can be refused).
    """
    check_bounds(spec)
    d = dims or {}
    input_dim, output_dim = _int(d.get("input_dim"), 1), _int(d.get("output_dim"), 1)
    if not 1 <= input_dim <= MAX_INPUT_DIM:
        raise SpecError("dims.input_dim", f"must be within 1..{MAX_INPUT_DIM:,}, got "
                                          f"{input_dim:,}")
    if not 1 <= output_dim <= MAX_OUTPUT_DIM:
        raise SpecError("dims.output_dim", f"must be within 1..{MAX_OUTPUT_DIM:,}, got "
                                           f"{output_dim:,}")
    est = estimate(spec, input_dim, output_dim)
    if dims is None:
        est = dataclasses.replace(est, dims_known=False)
    budget = memory_budget()
    if est.total > budget.nbytes:
        raise LimitError("", f"this experiment {budget.exceeded(est.total)}; {est.largest()}")
    return est


__all__ = ["Estimate", "check", "check_bounds", "estimate", "format_bytes"]
