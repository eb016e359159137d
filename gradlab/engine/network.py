"""The feed-forward network: a JSON layer list in, forward/backward with taps out.

>>> net = Network.from_spec([{"type": "dense", "units": 8, "activation": "tanh"}],
...                         input_dim=2, output_dim=3, seed=0)
>>> net.layer_names
['dense1', 'dense2']
>>> sorted(net.params)
['dense1.W', 'dense1.b', 'dense2.W', 'dense2.b']

Layer entries (``layers[i]``), every key optional but ``units``:

``{"type": "dense", "units": 500, "activation": "tanh", "init": "glorot_uniform", "gain": 1.0,
"bias": true, "bias_init": "zeros", "batchnorm": false, "dropout": 0.0, "trainable": true}``;
leaky_relu, elu and prelu take ``"alpha"``, rrelu ``"lower"`` and ``"upper"``, maxout takes
``"pieces"``; ``init``/``bias_init`` are a name or an object such as
``{"name": "normal", "std": 0.01}``. ``"init": {"from": "base.gradlab", "layer": 2}`` reuses
layer 2 of another network (a session, a weights ``.npz``, or ``"preset:NAME"``): the engine
leaves such a block's weights at zero and marks it (``block.reused``); the experiment layer
fills them (:mod:`gradlab.experiment.reuse`). ``"trainable": false`` freezes the block.
``{"type": "batchnorm", "momentum": 0.9, "eps": 1e-5}`` and ``{"type": "dropout", "rate": 0.5}``
act on the previous layer's output.
``{"type": "output", ...}`` (or a dense entry with ``"output": true``) ends the list with an
explicit output layer of ``output_dim`` units; without one, a linear output layer is appended that
takes the initialiser, gain and bias settings of the last hidden layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from gradlab import validate
from gradlab.engine import activations, fused, initializers
from gradlab.engine.layers import (
    DENSE_SPEC,
    OUTPUT_DEFAULTS,
    ActDense,
    BatchNorm,
    Dense,
    Dropout,
    Module,
)
from gradlab.errors import SpecError
from gradlab.params import Param, by_name

DTYPES = {"float32": np.float32, "float64": np.float64}

DENSE = by_name(DENSE_SPEC)
LAYER_TYPES = ("batchnorm", "dense", "dropout", "output")
_DENSE_KEYS = {"type", "output", *DENSE, *activations.param_names()}
_BN_KEYS = {"type", *(p.name for p in BatchNorm.SPEC)}
_DROPOUT_KEYS = {"type", *(p.name for p in Dropout.SPEC)}


#: the keys of a reused layer's init, ``{"from": SOURCE, "layer": k}``
REUSE_KEYS = ("from", "layer")
#: the longest source reference (a path or ``preset:NAME``) a spec may hold
MAX_SOURCE_CHARS = 4096


def is_reused(init: Any) -> bool:
    """True for an init that reuses another network's layer (``{"from": ..., ...}``)."""
    return isinstance(init, dict) and "from" in init


def _reuse_entry(init: dict, path: str, number: int) -> dict:
    """The canonical ``{"from": SOURCE, "layer": k}`` of a reused layer (k defaults to the
    layer's own number)."""
    for key in init:
        if key not in REUSE_KEYS:
            raise SpecError(f"{path}.{key}", "unknown field of a reused layer (expected from, "
                            "layer)")
    src = init["from"]
    if not isinstance(src, str) or not src.strip() or len(src) > MAX_SOURCE_CHARS:
        raise SpecError(f"{path}.from", "must name a session, a weights .npz file or "
                        "preset:NAME")
    layer = validate.integer(init.get("layer", number), f"{path}.layer", minimum=1,
                             maximum=100_000)
    return {"from": src, "layer": layer}


def _init_entry(init: initializers.Initializer, drop_gain: bool) -> str | dict:
    """The canonical JSON form of an initialiser: its name, or a dict when it has parameters."""
    cfg = init.config()
    if drop_gain:
        cfg.pop("gain", None)
    return {"name": init.name, **cfg} if cfg else init.name


class _Check:
    """Raises the first error, or (with a ``problems`` list) records each and goes on."""

    def __init__(self, problems: list[SpecError] | None):
        self.problems = problems

    def __call__(self, fn: Callable[[], Any], fallback: Any = None) -> Any:
        try:
            return fn()
        except SpecError as err:
            if self.problems is None:
                raise
            self.problems.append(err)
            return fallback

    def fail(self, err: SpecError) -> None:
        if self.problems is None:
            raise err
        self.problems.append(err)

    def unknown_keys(self, entry: dict, path: str, allowed: set[str]) -> None:
        for key in entry:
            if key not in allowed:
                self.fail(
                    SpecError(
                        f"{path}.{key}",
                        f"unknown field (expected one of: {', '.join(sorted(allowed))})",
                    )
                )


def _quietly(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except SpecError:
        return None


def _resolve_dense(
    entry: dict,
    path: str,
    *,
    output_dim: int | None,
    defaults: dict,
    check: _Check,
    number: int = 1,
) -> dict:
    check.unknown_keys(entry, path, _DENSE_KEYS)
    is_output = entry.get("type") == "output" or bool(entry.get("output", False))
    out: dict[str, Any] = {"type": "dense"}
    units_p: Param = DENSE["units"]
    if is_output:
        units = entry.get("units", output_dim)
        if units is not None or output_dim is not None:  # else: set when the data is known
            units = check(lambda: units_p.validate(units, f"{path}.units"), output_dim)
        if output_dim is not None and units != output_dim:
            check.fail(
                SpecError(
                    f"{path}.units",
                    f"the output layer must have {output_dim} units (the number of "
                    f"outputs the data needs), got {units}",
                )
            )
            units = output_dim
    elif "units" not in entry:
        check.fail(SpecError(f"{path}.units", "missing (how many units in this layer?)"))
        units = units_p.default
    else:
        units = check(lambda: units_p.validate(entry["units"], f"{path}.units"), units_p.default)
    out["units"] = units

    default_act = OUTPUT_DEFAULTS["activation"] if is_output else DENSE["activation"].default
    act_name = entry.get("activation", default_act)
    act_params = {k: entry[k] for k in activations.param_names() if k in entry}
    act = check(lambda: activations.get(act_name, path, **act_params))
    if (
        act is None
    ):  # (collecting) a bad parameter: the activation with its defaults, or the default
        act = _quietly(lambda: activations.get(act_name)) or activations.get(default_act)
    out["activation"] = act.name
    out.update(act.config())

    init_spec = entry.get("init", defaults.get("init", DENSE["init"].default))
    if is_reused(init_spec):
        reused = check(lambda: _reuse_entry(init_spec, f"{path}.init", number))
        if entry.get("gain", DENSE["gain"].default) != DENSE["gain"].default:
            check.fail(SpecError(f"{path}.gain", "a reused layer takes its weights as they are; "
                                 "remove the gain"))
        out["init"] = reused or DENSE["init"].default
        out["gain"] = DENSE["gain"].default
        return _resolve_rest(entry, path, out, is_output, defaults, check)
    gain = entry.get(
        "gain",
        defaults.get("gain", DENSE["gain"].default)
        if is_output and "init" not in entry
        else DENSE["gain"].default,
    )
    if isinstance(init_spec, dict) and "gain" in init_spec and "gain" in entry:
        check.fail(SpecError(f"{path}.gain", "given both in the layer and in its init; keep one"))
    own_gain = isinstance(init_spec, dict) and "gain" in init_spec
    init = check(
        lambda: initializers.get(init_spec, path, "init", **({} if own_gain else {"gain": gain}))
    )
    if init is None:  # (collecting) a bad gain or parameter: what can be built, else the default
        init = _quietly(lambda: initializers.get(init_spec)) or initializers.get(
            DENSE["init"].default
        )
    out["init"] = _init_entry(init, drop_gain=True)
    out["gain"] = init.gain
    return _resolve_rest(entry, path, out, is_output, defaults, check)


def _resolve_rest(
    entry: dict, path: str, out: dict, is_output: bool, defaults: dict, check: _Check
) -> dict:
    """The settings after the initialiser: batch norm, bias, dropout, trainable."""
    batchnorm = check(
        lambda: DENSE["batchnorm"].validate(
            entry.get("batchnorm", DENSE["batchnorm"].default), f"{path}.batchnorm"
        ),
        False,
    )
    if is_output and batchnorm:
        check.fail(
            SpecError(f"{path}.batchnorm", "the output layer cannot use batch normalisation")
        )
        batchnorm = False
    # the bias is off by default under batch normalisation (its shift beta takes the role)
    bias_default = defaults.get("bias", DENSE["bias"].default) if is_output else not batchnorm
    out["bias"] = check(
        lambda: DENSE["bias"].validate(entry.get("bias", bias_default), f"{path}.bias"),
        bias_default,
    )
    bias_init = entry.get(
        "bias_init",
        defaults.get("bias_init", DENSE["bias_init"].default)
        if is_output
        else DENSE["bias_init"].default,
    )
    binit = check(lambda: initializers.get(bias_init, path, "bias_init"))
    if binit is not None and binit.matrix_only:
        check.fail(
            SpecError(
                f"{path}.bias_init",
                f"{binit.name} initialisation needs a matrix, not a bias",
            )
        )
        binit = None
    binit = binit or initializers.get(DENSE["bias_init"].default)
    out["bias_init"] = _init_entry(binit, drop_gain=False)
    out["batchnorm"] = batchnorm
    rate = check(
        lambda: DENSE["dropout"].validate(
            entry.get("dropout", DENSE["dropout"].default), f"{path}.dropout"
        ),
        0.0,
    )
    if is_output and rate:
        check.fail(SpecError(f"{path}.dropout", "the output layer cannot use dropout"))
        rate = 0.0
    out["dropout"] = rate
    out["trainable"] = check(
        lambda: DENSE["trainable"].validate(
            entry.get("trainable", DENSE["trainable"].default), f"{path}.trainable"
        ),
        True,
    )
    out["output"] = is_output
    return out


def _resolve_standalone(entry: dict, path: str, kind: str, check: _Check) -> dict:
    spec = BatchNorm.SPEC if kind == "batchnorm" else Dropout.SPEC
    check.unknown_keys(entry, path, _BN_KEYS if kind == "batchnorm" else _DROPOUT_KEYS)
    out: dict[str, Any] = {"type": kind}
    for p in spec:
        if p.name not in entry and kind == "dropout":
            check.fail(
                SpecError(f"{path}.{p.name}", "missing (the fraction of units to drop, 0 to 1)")
            )
            out[p.name] = p.default
            continue
        out[p.name] = check(
            lambda p=p: p.validate(entry.get(p.name, p.default), f"{path}.{p.name}"), p.default
        )
    return out


def resolve_layers(
    layers: Sequence[dict],
    output_dim: int | None = None,
    *,
    implicit_output: bool = False,
    problems: list[SpecError] | None = None,
) -> list[dict]:
    """Validate a layer list and return it with every default filled in, output layer included.

    Errors are :class:`~gradlab.errors.SpecError` naming ``layers[i].field``. With
    ``output_dim=None`` an explicit output layer is resolved without checking its width and none
    is appended (the hidden layers alone are checked), unless ``implicit_output`` asks for the
    output layer the engine would append (its ``units`` then None).

    With a ``problems`` list, every error is appended to it and the bad value takes its default,
    instead of the first error being raised: one pass finds every bad cell of a layer table.
    """
    check = _Check(problems)
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        check.fail(
            SpecError("layers", f"must be a list of layer objects, got {type(layers).__name__}")
        )
        layers = []
    resolved: list[dict] = []
    last_dense: dict = {}
    number = 0  # the dense layers so far (a reused layer's own number is its default source)
    for i, entry in enumerate(layers):
        path = f"layers[{i}]"
        entry = check(lambda entry=entry, path=path: validate.mapping(entry, path))
        if entry is None:
            resolved.append({"type": "?"})  # (collecting: keep the indices of the entries)
            continue
        kind = entry.get("type", "dense")
        if kind in ("dense", "output"):
            if resolved and resolved[-1].get("output"):
                check.fail(
                    SpecError(path, "comes after the output layer; the output layer must be last")
                )
            number += 1
            r = _resolve_dense(
                entry, path, output_dim=output_dim, defaults=last_dense, check=check,
                number=number,
            )
            resolved.append(r)
            if not r["output"]:
                last_dense = {k: r[k] for k in ("init", "gain", "bias", "bias_init")}
                if is_reused(r["init"]):  # the output layer inherits a draw, not a source
                    last_dense["init"] = DENSE["init"].default
                if r["batchnorm"]:
                    last_dense["bias"] = True
        elif kind in ("batchnorm", "dropout"):
            resolved.append(_resolve_standalone(entry, path, kind, check))
        else:
            check.fail(
                SpecError(
                    f"{path}.type",
                    f"unknown layer type {kind!r} (choose from: {', '.join(LAYER_TYPES)})",
                )
            )
            resolved.append({"type": "?"})
    if not resolved or not resolved[-1].get("output"):
        if output_dim is None and not implicit_output:
            return resolved  # hidden layers checked; the output layer comes with the data
        resolved.append(
            _resolve_dense(
                {"type": "output"}
                if output_dim is None
                else {"type": "output", "units": output_dim},
                f"layers[{len(resolved)}]",
                output_dim=output_dim,
                defaults=last_dense,
                check=check,
                number=number + 1,
            )
        )
    return resolved


def architecture(input_dim: int | None, widths: Sequence[Any], output_dim: int | None) -> str:
    """``784-[512]x4-10``: inputs, the hidden widths (a run of k equal widths w as ``[w]xk``),
    outputs; an unknown size shows as ``?``."""
    parts: list[str] = [str(input_dim) if input_dim else "?"]
    i = 0
    while i < len(widths):
        j = i
        while j + 1 < len(widths) and widths[j + 1] == widths[i]:
            j += 1
        run = j - i + 1
        parts.append(f"[{widths[i]}]x{run}" if run > 1 else str(widths[i]))
        i = j + 1
    parts.append(str(output_dim) if output_dim else "?")
    return "-".join(parts)


def parameter_counts(resolved: Sequence[dict], input_dim: int) -> list[tuple[str, int, int, int]]:
    """The learned parameters of a resolved layer list, one row per layer:
    ``(label, fan_in, fan_out, count)``; a dense block counts W (fan_in x units·pieces), b and
    its batch norm's gamma and beta; a standalone batch norm its gamma and beta (the running
    averages are buffers, not parameters)."""
    rows = []
    width = input_dim
    l = 0
    for e in resolved:
        if e["type"] == "dense":
            l += 1
            pieces = e.get("pieces", 1)
            fan_out = e["units"] * pieces
            n = width * fan_out + (fan_out if e["bias"] else 0)
            if e["batchnorm"]:
                n += 2 * fan_out
            if activations.info(e["activation"]).learned:
                n += e["units"]  # PReLU: one slope per unit
            rows.append(("output" if e["output"] else f"layer {l}", width, fan_out, n))
            width = e["units"]
        elif e["type"] == "batchnorm":
            rows.append(("batch norm", width, width, 2 * width))
    return rows


#: the parameters that live in the network's shared buffers (PReLU's slopes belong to their
#: activation and keep their own array)
SHARED_PARAMS = ("W", "b", "gamma", "beta")


def _share_buffers(modules: list[Module], dtype: np.dtype) -> None:
    """Make every module's W, b, gamma and beta a view of one flat parameter buffer, and their
    gradients views of one flat gradient buffer, at the same offsets, in the order of
    :attr:`Network.params` (values copied; each array keeps its shape and identity from here
    on). A stateless optimiser then updates a small network in one run over the two buffers
    (:class:`gradlab.engine.updateplan.Span`) instead of one run per array."""
    entries = [(m, k) for m in modules for k in m.params if k in SHARED_PARAMS]
    total = sum(m.params[k].size for m, k in entries)
    flat_p = np.empty(total, dtype)
    flat_g = np.zeros(total, dtype)
    start = 0
    for m, k in entries:
        a = m.params[k]
        view = flat_p[start:start + a.size].reshape(a.shape)
        view[...] = a
        m.params[k] = view
        m.grads[k] = flat_g[start:start + a.size].reshape(a.shape)
        start += a.size


class Network:
    """A feed-forward network of dense blocks with optional batch-norm and dropout.

    Attributes
    ----------
    params, grads : dict name -> ndarray (``"dense1.W"``, ``"dense1.b"``, ``"bn1.gamma"``...).
        The arrays keep their identity: optimisers update ``params`` in place and every
        :meth:`backward` overwrites ``grads`` in place (copy what you want to keep), but for
        the weight gradients a ``weight_grads=False`` pass leaves as factors (:attr:`deferred`).
        W, b, gamma and beta are views of one flat buffer, their gradients of another
        (:func:`_share_buffers`).
    deferred : weight gradients the last backward left as factors, name -> ``(x, dz)``.
    buffers : non-learned state (``"bn1.running_mean"``, ``"bn1.running_var"``).
    blocks : the dense blocks in order (probe layers 1..L, the output layer last).
    layers : the resolved layer list (every default filled in; JSON-able).
    rng : the generator dropout draws its masks from.
    """

    def __init__(
        self,
        layers: list[dict],
        input_dim: int,
        output_dim: int,
        seed: int = 0,
        dtype: str = "float32",
    ):
        self.layers = layers
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.seed = seed
        self.dtype_name = dtype
        self.dtype = np.dtype(DTYPES[dtype])
        init_seq, drop_seq = np.random.SeedSequence(seed).spawn(2)
        init_rng = np.random.default_rng(init_seq)
        self.rng = np.random.default_rng(drop_seq)

        self.modules: list[Module] = []
        self.blocks: list[Dense] = []
        width = input_dim
        n_bn = n_drop = 0
        for entry in layers:
            if entry["type"] == "dense":
                l = len(self.blocks) + 1
                own = activations.info(entry["activation"]).params
                act = activations.get(
                    entry["activation"], **{p.name: entry[p.name] for p in own if p.name in entry}
                )
                shape = (width, entry["units"] * act.pieces)
                if is_reused(entry["init"]):  # filled by the experiment layer (reuse)
                    init = None
                    W = np.zeros(shape, self.dtype)
                else:
                    init = initializers.get(entry["init"], gain=entry["gain"])
                    W = init.sample(shape, init_rng, self.dtype)
                b = None
                if entry["bias"]:
                    b = initializers.get(entry["bias_init"]).sample(
                        (entry["units"] * act.pieces,), init_rng, self.dtype
                    )
                bn = drop = None
                if entry["batchnorm"]:
                    n_bn += 1
                    bn = BatchNorm(f"bn{n_bn}", entry["units"] * act.pieces, self.dtype)
                if entry["dropout"]:
                    n_drop += 1
                    drop = Dropout(f"dropout{n_drop}", entry["dropout"])
                kind = ActDense if (act.learned or act.stochastic) else Dense
                block = kind(f"dense{l}", l, act, W, b, bn, drop, spec=entry)
                block.init = init  # None for a reused block (mean-field theory stops there)
                block.reused = dict(entry["init"]) if init is None else None
                block.trainable = entry.get("trainable", True)
                if not block.trainable and bn is not None:
                    bn.set_frozen(True)
                block.bias_init_obj = (
                    initializers.get(entry["bias_init"]) if entry["bias"] else None
                )
                self.modules.append(block)
                self.blocks.append(block)
                width = entry["units"]
            elif entry["type"] == "batchnorm":
                n_bn += 1
                self.modules.append(
                    BatchNorm(f"bn{n_bn}", width, self.dtype, entry["momentum"], entry["eps"])
                )
            else:
                n_drop += 1
                self.modules.append(Dropout(f"dropout{n_drop}", entry["rate"]))

        _share_buffers(list(self._all_modules()), self.dtype)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        for m in self._all_modules():
            for k, v in m.params.items():
                self.params[f"{m.name}.{k}"] = v
                self.grads[f"{m.name}.{k}"] = m.grads[k]
            for k, v in m.buffers.items():
                self.buffers[f"{m.name}.{k}"] = v
        #: names of the parameters of frozen blocks (``trainable: false``)
        self.frozen: frozenset[str] = frozenset(
            f"{m.name}.{k}"
            for blk in self.blocks
            if not blk.trainable
            for m in (blk, blk.bn)
            if m is not None
            for k in m.params
        )
        self._train_grads = (
            self.grads
            if not self.frozen
            else {k: g for k, g in self.grads.items() if k not in self.frozen}
        )
        self._first = self.modules[0]
        #: weight gradients the last backward left as factors: name -> (x, dz), dW = x^T dz
        self.deferred: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._defer_cache: dict[int, frozenset] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(
        cls,
        layers: Sequence[dict],
        input_dim: int,
        output_dim: int,
        seed: int = 0,
        dtype: str = "float32",
    ) -> Network:
        """Validate ``layers`` (see the module docstring) and build the network.

        Raises :class:`~gradlab.errors.SpecError` (a ``ValueError``) naming the bad field.
        """
        input_dim = validate.integer(input_dim, "input_dim", minimum=1)
        output_dim = validate.integer(output_dim, "output_dim", minimum=1)
        seed = validate.integer(seed, "seed", minimum=0)
        validate.choice(dtype, "dtype", DTYPES)
        return cls(resolve_layers(layers, output_dim), input_dim, output_dim, seed, dtype)

    def _all_modules(self):
        for m in self.modules:
            if isinstance(m, Dense):
                yield m
                if m.bn is not None:
                    yield m.bn
            else:
                yield m

    # ------------------------------------------------------------------ passes
    def forward(
        self,
        x: np.ndarray,
        training: bool = True,
        *,
        rng: np.random.Generator | None = None,
        update_stats: bool = True,
    ) -> np.ndarray:
        """Network output (logits for the cross-entropy losses): (batch, output_dim).

        ``training`` selects batch statistics for batch-norm and draws dropout masks (from
        ``rng``, default :attr:`rng`); ``update_stats=False`` leaves BN running averages alone
        (the probes use it to look without touching).
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"expected inputs of shape (batch, {self.input_dim}), got {x.shape}")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        rng = rng if rng is not None else self.rng
        for m in self.modules:
            x = m.forward(x, training, rng, update_stats)
        return x

    def backward(
        self, dout: np.ndarray, input_grad: bool = True, weight_grads: bool = True
    ) -> np.ndarray | None:
        """Back-propagate dL/d(output); fills :attr:`grads` and every block's ``delta`` tap.

        Returns dL/dx, or None with ``input_grad=False`` (one matrix product saved).

        ``weight_grads=False`` (a training step no probe reads) leaves unformed the weight
        gradients ``dW = x^T dz`` of the blocks where that saves work
        (:func:`gradlab.engine.fused.worth_deferring`: small batches of wide layers): their
        ``grads`` entries keep stale values and :attr:`deferred` maps their names to the factors
        ``(x, dz)``, which :meth:`Optimizer.step(..., outer=net.deferred)
        <gradlab.engine.optimizers.Optimizer.step>` uses in place of the gradient
        (:meth:`form_deferred` forms them). Every other gradient is filled as usual.
        """
        dout = np.asarray(dout, dtype=self.dtype)
        modules = self.modules
        deferrable = self._deferrable(dout.shape[0]) if not weight_grads else ()
        deferred = self.deferred = {}
        own = False  # the caller's dout is never overwritten; every module's dx is fresh
        for i in range(len(modules) - 1, -1, -1):
            m = modules[i]
            if m in deferrable:
                dout = m.backward(dout, i > 0 or input_grad, False, own)
                deferred[m.name + ".W"] = m.factors
            else:
                dout = m.backward(dout, i > 0 or input_grad, True, own)
            own = True
        return dout

    def _deferrable(self, batch: int) -> frozenset:
        """The blocks whose dW a batch of this size may leave unformed (cached per size)."""
        cache = self._defer_cache
        if batch not in cache:
            cache.clear()  # (one batch size at a time in practice; keep the cache small)
            cache[batch] = frozenset(
                b for b in self.blocks if fused.worth_deferring(batch, b.fan_in, b.width)
            )
        return cache[batch]

    def form_deferred(self) -> None:
        """Form the weight gradients the last backward left as factors (:attr:`deferred`) into
        :attr:`grads`, so that every gradient is filled; :attr:`deferred` is then empty."""
        for name, (x, d) in self.deferred.items():
            fused.form(x, d, out=self.grads[name])
        self.deferred = {}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Outputs in evaluation mode (running BN statistics, no dropout)."""
        return self.forward(x, training=False)

    def forward_mc_dropout(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One Monte Carlo dropout pass (Gal & Ghahramani; Hands-On ML ch. 11): dropout kept on
        (masks from ``rng``), everything else in evaluation mode (running BN statistics, RReLU's
        mean slope): (batch, output_dim). Averaging N such passes' probabilities is MC dropout.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.input_dim:
            raise ValueError(f"expected inputs of shape (batch, {self.input_dim}), got {x.shape}")
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        for m in self.modules:
            if isinstance(m, Dropout):
                x = m.forward(x, True, rng)
            elif isinstance(m, Dense) and m.dropout is not None:
                x = m.dropout.forward(m.forward(x, False, rng, False), True, rng)
            else:
                x = m.forward(x, False, rng, False)
        return x

    @property
    def has_dropout(self) -> bool:
        """True when some module drops units in training (MC dropout has something to do)."""
        return any(
            (isinstance(m, Dropout) and m.rate > 0) or (isinstance(m, Dense) and m.dropout)
            for m in self.modules
        )

    def trainable_grads(self) -> dict[str, np.ndarray]:
        """The gradients the optimiser steps: every one but the frozen blocks' (the same dict
        as :attr:`grads` when nothing is frozen)."""
        return self._train_grads

    # ------------------------------------------------------------------ inspection
    @property
    def layer_names(self) -> list[str]:
        return [b.name for b in self.blocks]

    @property
    def n_params(self) -> int:
        return int(sum(p.size for p in self.params.values()))

    def describe(self) -> str:
        """``"2-[8]x6-2 tanh"``-style summary (:func:`architecture` and the activations)."""
        hidden = self.blocks[:-1]
        acts = sorted({b.act.name for b in hidden})
        arch = architecture(self.input_dim, [b.units for b in hidden], self.output_dim)
        return arch + (f" {'/'.join(acts)}" if acts else "")

    def jacobians(self, rows: slice | np.ndarray) -> list[np.ndarray]:
        """d a(l) / d a(l-1) for each block l (a(0) = x), for the examples ``rows`` of the last
        forward pass: a list of (k, units_l, units_{l-1}) arrays.

        Stand-alone batch-norm modules between blocks enter with their statistics held fixed;
        dropout enters as the identity (its expectation).
        """
        out = []
        scale = None
        for m in self.modules:
            if isinstance(m, Dense):
                J = m.jacobian(rows)
                if scale is not None:
                    J = J * scale[None, None, :]
                out.append(J)
                scale = None
            elif isinstance(m, BatchNorm):
                s = m.scale()
                scale = s if scale is None else scale * s
        return out

    # ------------------------------------------------------------------ state
    def copy(self) -> Network:
        """A detached copy: the same layers, seed and dtype, every array copied."""
        other = Network(self.layers, self.input_dim, self.output_dim, self.seed, self.dtype_name)
        other.load_state_arrays({k: np.array(v, copy=True) for k, v in self.state_arrays().items()})
        return other

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Parameters and buffers, by name (what a session file stores)."""
        return {**self.params, **self.buffers}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy saved arrays into the network in place (names and shapes must match)."""
        own = self.state_arrays()
        missing = set(own) - set(arrays)
        if missing:
            raise ValueError(f"saved network state lacks {sorted(missing)[0]}")
        for k, dst in own.items():
            src = np.asarray(arrays[k])
            if src.shape != dst.shape:
                raise ValueError(f"saved {k} has shape {src.shape}, the network needs {dst.shape}")
            dst[...] = src
