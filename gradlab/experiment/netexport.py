"""Exporting a trained network: weights as ``.npz``, the architecture as PyTorch or Keras code.

No Qt here (an import-linter contract keeps Qt out of :mod:`gradlab.experiment`).

* :func:`save_weights_npz` writes every parameter and batch-norm buffer by its GradLab name
  (``dense1.W`` (fan_in, fan_out), ``dense1.b``, ``bn1.gamma``, ``bn1.beta``, ``bn1.running_mean``,
  ``bn1.running_var``), the resolved layer list as a JSON string under ``spec`` and the input and
  output widths under ``meta``; :func:`load_weights_npz` rebuilds the :class:`Network`.
* :func:`pytorch_snippet` and :func:`keras_snippet` write a self-contained Python module that
  builds the same architecture with the same initialisers, plus a loader for the ``.npz`` file.

How GradLab's pieces map (``W`` is (fan_in, fan_out) in GradLab and Keras, (out, in) in PyTorch):

======================  ====================================  ===============================
GradLab                 PyTorch                               Keras 3
======================  ====================================  ===============================
dense block             ``nn.Linear(in, units)``              ``layers.Dense(units, ...)``
batchnorm (momentum m)  ``nn.BatchNorm1d(n, 1 - m, eps)``     ``BatchNormalization(m, eps)``
dropout (rate)          ``nn.Dropout(rate)``                  ``layers.Dropout(rate)``
glorot_standard         ``uniform_(w, -g/sqrt(n), g/...)``    ``RandomUniform(-l, l)``
glorot_uniform          ``xavier_uniform_(w, gain=g)``        ``GlorotUniform()``
glorot_normal           ``xavier_normal_(w, gain=g)``         ``VarianceScaling(fan_avg)``
he_uniform, he_normal   ``kaiming_*_(nonlinearity="relu")``   ``HeUniform``, ``VarianceScaling``
lecun_uniform, _normal  ``kaiming_*_(nonlinearity="linear")`` ``LecunUniform``, ``VarianceSc.``
======================  ====================================  ===============================

PReLU exports as ``nn.PReLU(units, init=α₀)`` / ``layers.PReLU`` (its learned slopes, GradLab's
``denseL.alpha``, load into the activation module ``actL``); RReLU as ``nn.RReLU(lower, upper)``
and, Keras having none, a small ``RReLU`` layer (random slopes in training, their mean in
inference). A reused layer (``"init": {"from": ...}``) has no initialiser to write: its code
draws Glorot-uniform and says so; its weights are in the ``.npz`` export.

GradLab's ``gain`` multiplies the drawn values (the variance by gain^2). GradLab draws plain,
untruncated normals (as PyTorch does), so the Keras code asks ``VarianceScaling`` for an
``"untruncated_normal"`` where Keras' own ``GlorotNormal``/``HeNormal`` would truncate. In a block
with batch-norm the order is Linear -> BatchNorm -> activation -> dropout, as in GradLab.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from gradlab.engine import Network, initializers, resolve_layers
from gradlab.engine.network import is_reused
from gradlab.fileio import atomic_write

#: the PyTorch module for each activation (None: no module, the identity)
TORCH_ACTIVATIONS = {
    "linear": None,
    "tanh": "nn.Tanh()",
    "relu": "nn.ReLU()",
    "leaky_relu": "nn.LeakyReLU({alpha!r})",
    "elu": "nn.ELU({alpha!r})",
    "selu": "nn.SELU()",
    "softsign": "nn.Softsign()",
    "softplus": "nn.Softplus()",
    "gelu": 'nn.GELU(approximate="tanh")',
    "silu": "nn.SiLU()",
    "sigmoid": "nn.Sigmoid()",
    "maxout": "Maxout({pieces!r})",
    "prelu": "nn.PReLU({units!r}, init={alpha!r})",
    "rrelu": "nn.RReLU({lower!r}, {upper!r})",
}

#: the Keras layer for each activation that needs one (the others go in Dense(activation=...))
KERAS_ACTIVATIONS = {
    "linear": None,
    "tanh": '"tanh"',
    "relu": '"relu"',
    "selu": '"selu"',
    "softsign": '"softsign"',
    "softplus": '"softplus"',
    "silu": '"silu"',
    "sigmoid": '"sigmoid"',
    "gelu": "gelu_tanh",
}

WEIGHTS_FORMAT = "gradlab-weights"
WEIGHTS_VERSION = 1


# ============================================================================ weights
def save_weights_npz(network: Network, path: str | Path) -> Path:
    """Write ``network``'s parameters and buffers, by name, to ``path`` (an ``.npz`` file).

    Besides the arrays the file holds ``spec`` (the resolved layer list as JSON) and ``meta``
    (JSON: format, version, input_dim, output_dim, dtype). Written to a temporary file in the same
    folder and renamed over ``path``, so a failed write never leaves half a file. Raises
    ``OSError`` when the folder cannot be written.
    """
    path = Path(path)
    arrays = {k: np.ascontiguousarray(v) for k, v in network.state_arrays().items()}
    for reserved in ("spec", "meta"):
        if reserved in arrays:  # pragma: no cover - GradLab names are "module.param"
            raise ValueError(f"a network array is named {reserved!r}, which the file reserves")
    meta = {
        "format": WEIGHTS_FORMAT,
        "version": WEIGHTS_VERSION,
        "input_dim": int(network.input_dim),
        "output_dim": int(network.output_dim),
        "dtype": network.dtype_name,
    }
    arrays["spec"] = np.array(json.dumps(network.layers))
    arrays["meta"] = np.array(json.dumps(meta))
    atomic_write(path, lambda fh: np.savez(fh, **arrays))
    return path


def load_weights_npz(path: str | Path) -> Network:
    """Rebuild the :class:`Network` saved by :func:`save_weights_npz` (no pickles are read).

    The file may come from anyone: it is read like a data file (a regular file, each array
    checked against its zip entry before inflating), its layer list is validated and the
    network's memory estimated before anything is built, and only the arrays that network needs
    are read. Problems raise :class:`~gradlab.errors.InputError` (a ``ValueError``) in one
    sentence.
    """
    from gradlab.data.reading import NpzArchive
    from gradlab.errors import InputError
    from gradlab.experiment.limits import check as check_limits
    from gradlab.safeio import JsonRefused, load_json

    name = Path(path).name
    with NpzArchive(str(path)) as f:
        if "spec" not in f.files or "meta" not in f.files:
            raise InputError(f"{name} is not a GradLab weights file (no spec inside).")
        try:
            layers, meta = load_json(str(f["spec"])), load_json(str(f["meta"]))
        except JsonRefused as err:
            raise InputError(f"{name} is not a GradLab weights file (its spec {err.reason})."
                             ) from None
        if not isinstance(meta, dict):
            raise InputError(f"{name} is not a GradLab weights file (its meta is not an object).")
        dims = {k: meta.get(k) for k in ("input_dim", "output_dim")}
        dtype = meta.get("dtype", "float32")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                   for v in dims.values()) or dtype not in ("float32", "float64"):
            raise InputError(f"{name} is not a GradLab weights file (its meta is damaged).")
        layers = resolve_layers(layers, dims["output_dim"])
        check_limits({"network": {"layers": layers}, "dtype": dtype}, dims)
        net = Network(layers, dims["input_dim"], dims["output_dim"], dtype=dtype)
        arrays = {}
        for key, dst in net.state_arrays().items():
            if key not in f.files or (f.header(key).shape, f.header(key).dtype) != (
                dst.shape, dst.dtype
            ):
                raise InputError(f"{name} does not hold the array {key!r} of shape {dst.shape} "
                                 f"and type {dst.dtype} its layers need.")
            arrays[key] = f[key]
    net.load_state_arrays(arrays)
    return net


# ============================================================================ shared walk
def _resolved(layers: Sequence[dict]) -> list[dict]:
    layers = resolve_layers(list(layers), None)
    if not layers or not (layers[-1]["type"] == "dense" and layers[-1]["output"]):
        raise ValueError(
            "the layer list has no output layer: pass the network's resolved layers "
            "(network.layers or the spec's network.layers of an Experiment)"
        )
    return layers


def _walk(layers: list[dict], input_dim: int):
    """Yield (kind, names, entry, fan_in) per module in GradLab's naming:

    ``("dense", {"linear": "dense1", "bn": "bn1" | None, "act": "act1", "drop": "dropout1" | None},
    entry, fan_in)``, ``("batchnorm", {"bn": "bn2"}, entry, width)``,
    ``("dropout", {"drop": "dropout2"}, entry, width)``.
    """
    width = input_dim
    n_dense = n_bn = n_drop = 0
    for entry in layers:
        if entry["type"] == "dense":
            n_dense += 1
            names = {"linear": f"dense{n_dense}", "act": f"act{n_dense}", "bn": None, "drop": None}
            if entry["batchnorm"]:
                n_bn += 1
                names["bn"] = f"bn{n_bn}"
            if entry["dropout"]:
                n_drop += 1
                names["drop"] = f"dropout{n_drop}"
            yield "dense", names, entry, width
            width = entry["units"]
        elif entry["type"] == "batchnorm":
            n_bn += 1
            yield "batchnorm", {"bn": f"bn{n_bn}"}, entry, width
        else:
            n_drop += 1
            yield "dropout", {"drop": f"dropout{n_drop}"}, entry, width


def _pieces(entry: dict) -> int:
    return int(entry.get("pieces", 1)) if entry["activation"] == "maxout" else 1


def _num(x: float) -> str:
    """A float literal that round-trips (repr), ints kept short."""
    x = float(x)
    return repr(int(x)) if x.is_integer() and abs(x) < 1e15 else repr(x)


def _init_obj(spec, gain: float | None = None) -> initializers.Initializer:
    if is_reused(spec):  # reused weights: the code draws Glorot-uniform, the .npz holds them
        return initializers.get("glorot_uniform")
    return initializers.get(spec) if gain is None else initializers.get(spec, gain=gain)


def _init_label(spec, gain: float = 1.0) -> str:
    if is_reused(spec):
        return (f"reused from {Path(spec['from']).name} layer {spec['layer']} (drawn here as "
                "glorot_uniform: load the .npz for its weights)")
    name = spec if isinstance(spec, str) else spec["name"]
    params = {} if isinstance(spec, str) else {k: v for k, v in spec.items() if k != "name"}
    if gain != 1.0:
        params["gain"] = gain
    return name + ("(" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")


def _act_comment(act_name: str) -> str:
    if act_name == "prelu":
        return "slopes learned per unit (GradLab's alpha)"
    if act_name == "rrelu":
        return "random slopes in training, their mean in eval()"
    return ""


# ============================================================================ PyTorch
def _torch_init(target: str, init: initializers.Initializer, shape: tuple[int, ...]) -> list[str]:
    """Lines that fill ``target`` (a PyTorch tensor expression) as GradLab would.

    ``shape`` is GradLab's: (fan_in, fan_out) for a weight, (n,) for a bias.
    """
    g = float(init.gain)
    ag = abs(g)
    fan_in, fan_out = initializers.Initializer.fans(shape)
    name = init.name
    cfg = init.config()
    is_matrix = len(shape) == 2
    out: list[str] = []
    if name == "zeros":
        return [f"nn.init.zeros_({target})"]
    if name == "constant":
        return [f"nn.init.constant_({target}, {_num(cfg['value'] * g)})"]
    if name == "normal":
        mean, std = _num(cfg.get("mean", 0.0) * g), _num(cfg["std"] * ag)
        return [f"nn.init.normal_({target}, mean={mean}, std={std})"]
    if name == "uniform":
        lim = _num(cfg["limit"] * ag)
        return [f"nn.init.uniform_({target}, -{lim}, {lim})"]
    if name == "glorot_standard":
        # no built-in in PyTorch: U[-1/sqrt(fan_in), 1/sqrt(fan_in)], Glorot & Bengio eq. (1)
        k = "" if ag == 1.0 else f"{_num(ag)} * "
        limit = ag / math.sqrt(fan_in)
        return [
            f"nn.init.uniform_({target}, -{k}1 / math.sqrt({fan_in}), {k}1 / math.sqrt({fan_in}))"
            f"  # ±{limit:.6g}"
        ]
    if name == "orthogonal":
        return [f"nn.init.orthogonal_({target}, gain={_num(g)})"]
    if is_matrix:
        gain_kw = "" if g == 1.0 else f", gain={_num(g)}"
        if name == "glorot_uniform":
            return [f"nn.init.xavier_uniform_({target}{gain_kw})"]
        if name == "glorot_normal":
            return [f"nn.init.xavier_normal_({target}{gain_kw})"]
        builtin = {
            "he_uniform": 'nn.init.kaiming_uniform_({t}, nonlinearity="relu")',
            "he_normal": 'nn.init.kaiming_normal_({t}, nonlinearity="relu")',
            "lecun_uniform": 'nn.init.kaiming_uniform_({t}, nonlinearity="linear")',
            "lecun_normal": 'nn.init.kaiming_normal_({t}, nonlinearity="linear")',
        }
        if name in builtin:
            out.append(builtin[name].format(t=target))
            if g != 1.0:
                out.append(f"{target}.mul_({_num(g)})  # GradLab's gain multiplies the draw")
            return out
    # fan-scaled initialisers on a bias (PyTorch's cannot take a 1-D tensor): explicit bounds,
    # fan_in = fan_out = n as GradLab (and Keras) count them
    var = init.variance(fan_in, fan_out) * g * g
    if isinstance(init, initializers._ScaledUniform):
        lim = _num(math.sqrt(3.0 * var))
        return [f"nn.init.uniform_({target}, -{lim}, {lim})  # {name}, fans = {shape[0]}"]
    if isinstance(init, initializers._ScaledNormal):
        return [f"nn.init.normal_({target}, 0.0, {_num(math.sqrt(var))})  # {name}, n = {shape[0]}"]
    raise ValueError(f"no PyTorch equivalent for the initialiser {name!r}")


_TORCH_MAXOUT = '''

class Maxout(nn.Module):
    """Maxout (Goodfellow et al. 2013): the max over `pieces` adjacent features,
    (batch, units * pieces) -> (batch, units), as GradLab groups them."""

    def __init__(self, pieces: int):
        super().__init__()
        self.pieces = pieces

    def forward(self, x):
        return x.unflatten(-1, (-1, self.pieces)).amax(dim=-1)

    def extra_repr(self):
        return f"pieces={self.pieces}"
'''

_TORCH_LOADER = '''

def load_gradlab_weights(model, path):
    """Copy the weights of a GradLab .npz export into `model` (GradLab's W is (in, out),
    PyTorch's Linear weight is (out, in): transposed here)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files if k not in ("spec", "meta")}
    names = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias",
             "running_mean": "running_mean", "running_var": "running_var", "alpha": "weight"}
    state = {}
    for key, value in arrays.items():
        module, param = key.split(".")
        if param == "alpha":  # PReLU's slopes belong to the activation module actL
            module = "act" + module[len("dense"):]
        value = torch.from_numpy(value.T.copy() if param == "W" else value)
        state[f"{module}.{names[param]}"] = value
    model.load_state_dict(state, strict=False)
    missing = set(model.state_dict()) - set(state) - {
        k for k in model.state_dict() if k.endswith("num_batches_tracked")
    }
    if missing:
        raise KeyError(f"the file has no values for {sorted(missing)}")
    return model
'''


def pytorch_snippet(layers: Sequence[dict], input_dim: int, *, name: str = "network") -> str:
    """A Python module that builds ``layers`` as a PyTorch ``nn.Sequential`` with GradLab's
    initialisers (``build_model()``) and loads a :func:`save_weights_npz` file into it
    (``load_gradlab_weights(model, path)``). Module names follow GradLab's (``dense1``, ``bn1``,
    ``act1``, ``dropout1``). Call ``model.eval()`` before comparing outputs with GradLab's
    ``predict`` (batch-norm running averages, no dropout)."""
    layers = _resolved(layers)
    modules: list[tuple[str, str, str]] = []  # (name, constructor, comment)
    inits: list[str] = []
    uses_maxout = False
    for kind, names, entry, fan_in in _walk(layers, input_dim):
        if kind == "dense":
            units, k = entry["units"], _pieces(entry)
            width = units * k
            bias = "" if entry["bias"] else ", bias=False"
            role = "output layer" if entry["output"] else f"hidden layer {names['linear'][5:]}"
            act_name = entry["activation"]
            modules.append(
                (
                    names["linear"],
                    f"nn.Linear({fan_in}, {width}{bias})",
                    f"{role}: {units} {act_name} units" + (f" x {k} pieces" if k > 1 else ""),
                )
            )
            if names["bn"]:
                modules.append(
                    (
                        names["bn"],
                        f"nn.BatchNorm1d({width}, momentum=0.1, eps=1e-05)",
                        "GradLab momentum 0.9 = PyTorch 0.1",
                    )
                )
            act = TORCH_ACTIVATIONS[act_name]
            if act is not None:
                uses_maxout |= act_name == "maxout"
                modules.append((names["act"], act.format(**entry), _act_comment(act_name)))
            if names["drop"]:
                modules.append((names["drop"], f"nn.Dropout({_num(entry['dropout'])})", ""))
            lin = f"model.{names['linear']}"
            w_init = _init_obj(entry["init"], entry["gain"])
            inits.append(f"# {names['linear']}: W ~ {_init_label(entry['init'], entry['gain'])}")
            inits += _torch_init(f"{lin}.weight", w_init, (fan_in, width))
            if entry["bias"]:
                inits += _torch_init(f"{lin}.bias", _init_obj(entry["bias_init"]), (width,))
        elif kind == "batchnorm":
            m = entry["momentum"]
            modules.append(
                (
                    names["bn"],
                    f"nn.BatchNorm1d({fan_in}, momentum={_num(round(1.0 - m, 12))}, "
                    f"eps={_num(entry['eps'])})",
                    f"GradLab momentum {_num(m)} = PyTorch {_num(round(1.0 - m, 12))}",
                )
            )
        else:
            modules.append((names["drop"], f"nn.Dropout({_num(entry['rate'])})", ""))

    body = []
    for mod_name, ctor, comment in modules:
        line = f'        ("{mod_name}", {ctor}),'
        body.append(line + (f"  # {comment}" if comment else ""))
    out_act = layers[-1]["activation"]
    text = [
        f'"""{name}: a GradLab network as PyTorch code (generated by GradLab).',
        "",
        "model = build_model()                       # same architecture and initialisers",
        'load_gradlab_weights(model, "weights.npz")  # the trained weights, if exported',
        "model.eval()                                # batch-norm averages, no dropout",
        "",
        f"Inputs: (batch, {input_dim}) float32. Outputs: (batch, {layers[-1]['units']}) "
        + ("logits." if out_act == "linear" else f"{out_act} outputs."),
        '"""',
        "",
        "import math",
        "from collections import OrderedDict",
        "",
        "import torch",
        "from torch import nn",
    ]
    if not any("math." in i for i in inits):
        text.remove("import math")
    if uses_maxout:
        text.append(_TORCH_MAXOUT.rstrip("\n"))
    text += [
        "",
        "",
        "def build_model() -> nn.Sequential:",
        "    model = nn.Sequential(OrderedDict([",
        *body,
        "    ]))",
        "    init_weights(model)",
        "    return model",
        "",
        "",
        "@torch.no_grad()",
        "def init_weights(model: nn.Sequential) -> None:",
        '    """GradLab\'s initialisers (PyTorch\'s Linear weight is (out, in): fan_in = in)."""',
        *(f"    {i}" for i in inits),
    ]
    text.append(_TORCH_LOADER.rstrip("\n"))
    return "\n".join(text) + "\n"


# ============================================================================ Keras
def _keras_init(init: initializers.Initializer, shape: tuple[int, ...]) -> str:
    """A Keras initialiser expression that draws what GradLab draws for ``shape``."""
    g = float(init.gain)
    ag = abs(g)
    fan_in = initializers.Initializer.fans(shape)[0]
    name = init.name
    cfg = init.config()
    if name == "zeros":
        return '"zeros"'
    if name == "constant":
        return f"initializers.Constant({_num(cfg['value'] * g)})"
    if name == "normal":
        mean, std = _num(cfg.get("mean", 0.0) * g), _num(cfg["std"] * ag)
        return f"initializers.RandomNormal(mean={mean}, stddev={std})"
    if name == "uniform":
        lim = _num(cfg["limit"] * ag)
        return f"initializers.RandomUniform(-{lim}, {lim})"
    if name == "glorot_standard":
        lim = _num(ag / math.sqrt(fan_in))
        return f"initializers.RandomUniform(-{lim}, {lim})  # glorot_standard: 1/sqrt({fan_in})"
    if name == "orthogonal":
        return f"initializers.Orthogonal(gain={_num(g)})"
    plain = {
        "glorot_uniform": "GlorotUniform",
        "he_uniform": "HeUniform",
        "lecun_uniform": "LecunUniform",
    }
    if name in plain and g == 1.0:
        return f"initializers.{plain[name]}()"
    modes = {
        "glorot_uniform": ("1", "fan_avg", "uniform"),
        "glorot_normal": ("1", "fan_avg", "untruncated_normal"),
        "he_uniform": ("2", "fan_in", "uniform"),
        "he_normal": ("2", "fan_in", "untruncated_normal"),
        "lecun_uniform": ("1", "fan_in", "uniform"),
        "lecun_normal": ("1", "fan_in", "untruncated_normal"),
    }
    if name in modes:
        base, mode, dist = modes[name]
        sc = base if g == 1.0 else _num(float(base) * g * g)
        return (
            f'initializers.VarianceScaling(scale={sc}, mode="{mode}", distribution="{dist}")'
            f"  # {name}"
        )
    raise ValueError(f"no Keras equivalent for the initialiser {name!r}")


_KERAS_MAXOUT = '''

class Maxout(layers.Layer):
    """Maxout (Goodfellow et al. 2013): the max over `pieces` adjacent features,
    (batch, units * pieces) -> (batch, units), as GradLab groups them."""

    def __init__(self, pieces, **kwargs):
        super().__init__(**kwargs)
        self.pieces = pieces

    def call(self, x):
        units = x.shape[-1] // self.pieces
        return keras.ops.max(keras.ops.reshape(x, (-1, units, self.pieces)), axis=-1)

    def get_config(self):
        return {**super().get_config(), "pieces": self.pieces}
'''

_KERAS_RRELU = '''

class RReLU(layers.Layer):
    """Randomised leaky ReLU (Xu et al. 2015), as GradLab's: in training a slope drawn from
    U(lower, upper) for every element, in inference their mean."""

    def __init__(self, lower, upper, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = lower, upper

    def call(self, x, training=False):
        if training:
            slope = keras.random.uniform(keras.ops.shape(x), self.lower, self.upper)
        else:
            slope = (self.lower + self.upper) / 2
        return keras.ops.where(x > 0, x, slope * x)

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}
'''

_KERAS_GELU = '''

def gelu_tanh(x):
    """GELU, tanh approximation (GradLab's; Keras' "gelu" is the exact erf form)."""
    return keras.activations.gelu(x, approximate=True)
'''

_KERAS_LOADER = '''

def load_gradlab_weights(model, path):
    """Copy the weights of a GradLab .npz export into `model` (W is (in, out) in both)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as f:
        a = {k: f[k] for k in f.files if k not in ("spec", "meta")}
    for layer in model.layers:
        n = layer.name
        if f"{n}.W" in a:
            layer.set_weights([a[f"{n}.W"]] + ([a[f"{n}.b"]] if f"{n}.b" in a else []))
        elif f"{n}.gamma" in a:
            layer.set_weights([a[f"{n}.{k}"] for k in ("gamma", "beta", "running_mean",
                                                         "running_var")])
        elif n.startswith("act") and f"dense{n[3:]}.alpha" in a:  # PReLU's learned slopes
            layer.set_weights([a[f"dense{n[3:]}.alpha"]])
    return model
'''


def keras_snippet(layers: Sequence[dict], input_dim: int, *, name: str = "network") -> str:
    """A Python module (Keras 3) that builds ``layers`` as a ``keras.Sequential`` with GradLab's
    initialisers (``build_model()``) and loads a :func:`save_weights_npz` file into it
    (``load_gradlab_weights(model, path)``). Layer names follow GradLab's."""
    layers = _resolved(layers)
    body: list[str] = [f"        keras.Input(shape=({input_dim},)),"]
    uses_maxout = uses_gelu = uses_rrelu = False
    for kind, names, entry, fan_in in _walk(layers, input_dim):
        if kind == "dense":
            units, k = entry["units"], _pieces(entry)
            width = units * k
            act_name = entry["activation"]
            separate = bool(names["bn"]) or act_name in (
                "maxout", "leaky_relu", "elu", "prelu", "rrelu"
            )
            act_expr = KERAS_ACTIVATIONS.get(act_name)
            uses_gelu |= act_name == "gelu"
            kw = [str(width)]
            if not separate and act_expr is not None:
                kw.append(f"activation={act_expr}")
            if not entry["bias"]:
                kw.append("use_bias=False")
            w_init = _keras_init(_init_obj(entry["init"], entry["gain"]), (fan_in, width))
            comment = ""
            if "  # " in w_init:
                w_init, comment = w_init.split("  # ", 1)
            if is_reused(entry["init"]):
                comment = f"reused from {Path(entry['init']['from']).name} layer " \
                          f"{entry['init']['layer']}: load the .npz for its weights"
            kw.append(f"kernel_initializer={w_init}")
            if entry["bias"]:
                b_init = _keras_init(_init_obj(entry["bias_init"]), (width,))
                if "  # " in b_init:
                    b_init, c2 = b_init.split("  # ", 1)
                    comment = f"{comment}; bias {c2}" if comment else f"bias {c2}"
                kw.append(f"bias_initializer={b_init}")
            kw.append(f'name="{names["linear"]}"')
            one_line = f"        layers.Dense({', '.join(kw)}),"
            if len(one_line) <= 99:
                body.append(one_line + (f"  # {comment}" if comment else ""))
            else:
                body.append("        layers.Dense(" + (f"  # {comment}" if comment else ""))
                body += [f"            {a}," for a in kw]
                body.append("        ),")
            if names["bn"]:
                body.append(
                    f"        layers.BatchNormalization(momentum=0.9, epsilon=1e-05, "
                    f'name="{names["bn"]}"),'
                )
            if separate:
                if act_name == "maxout":
                    uses_maxout = True
                    body.append(f'        Maxout({entry["pieces"]}, name="{names["act"]}"),')
                elif act_name == "leaky_relu":
                    body.append(
                        f"        layers.LeakyReLU(negative_slope={_num(entry['alpha'])}, "
                        f'name="{names["act"]}"),'
                    )
                elif act_name == "elu":
                    body.append(
                        f'        layers.ELU(alpha={_num(entry["alpha"])}, name="{names["act"]}"),'
                    )
                elif act_name == "prelu":
                    body.append(
                        "        layers.PReLU(alpha_initializer=initializers.Constant("
                        f'{_num(entry["alpha"])}), name="{names["act"]}"),'
                    )
                elif act_name == "rrelu":
                    uses_rrelu = True
                    body.append(
                        f'        RReLU({_num(entry["lower"])}, {_num(entry["upper"])}, '
                        f'name="{names["act"]}"),'
                    )
                elif act_expr is not None:
                    body.append(f'        layers.Activation({act_expr}, name="{names["act"]}"),')
            if names["drop"]:
                body.append(
                    f'        layers.Dropout({_num(entry["dropout"])}, name="{names["drop"]}"),'
                )
        elif kind == "batchnorm":
            body.append(
                f"        layers.BatchNormalization(momentum={_num(entry['momentum'])}, "
                f'epsilon={_num(entry["eps"])}, name="{names["bn"]}"),'
            )
        else:
            body.append(f'        layers.Dropout({_num(entry["rate"])}, name="{names["drop"]}"),')

    out_act = layers[-1]["activation"]
    text = [
        f'"""{name}: a GradLab network as Keras 3 code (generated by GradLab).',
        "",
        "model = build_model()                       # same architecture and initialisers",
        'load_gradlab_weights(model, "weights.npz")  # the trained weights, if exported',
        "",
        f"Inputs: (batch, {input_dim}) float32. Outputs: (batch, {layers[-1]['units']}) "
        + (
            "logits (use from_logits=True in the loss)."
            if out_act == "linear"
            else f"{out_act} outputs."
        ),
        "Batch-norm momentum follows the same convention in GradLab and Keras:",
        "running = momentum * running + (1 - momentum) * batch.",
        '"""',
        "",
        "import keras",
        "from keras import initializers, layers",
    ]
    if uses_maxout:
        text.append(_KERAS_MAXOUT.rstrip("\n"))
    if uses_rrelu:
        text.append(_KERAS_RRELU.rstrip("\n"))
    if uses_gelu:
        text.append(_KERAS_GELU.rstrip("\n"))
    py_name = json.dumps(re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_") or "network")
    text += [
        "",
        "",
        "def build_model() -> keras.Sequential:",
        "    return keras.Sequential([",
        *body,
        f"    ], name={py_name})",
    ]
    text.append(_KERAS_LOADER.rstrip("\n"))
    return "\n".join(text) + "\n"
