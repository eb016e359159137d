"""Reusing pretrained layers (Hands-On ML ch. 11, transfer learning).

A dense layer whose spec says ``"init": {"from": SOURCE, "layer": k}`` starts from layer k of
another network (counted from 1 as the probes name them, the output layer last). SOURCE is

- a ``.gradlab`` session (opened with :func:`gradlab.experiment.load_session`: bounded and
  checked, like any session from anyone),
- a weights ``.npz`` written by GradLab (:func:`gradlab.experiment.netexport.load_weights_npz`),
- ``preset:NAME``: the network that preset trains (trained once, then kept in
  ``<data folder>/pretrained/`` under a key of its settings and GradLab's version).

Relative paths are taken from the current folder. What is copied: the layer's ``W`` (its shape
must be this layer's: one sentence naming the layer otherwise), and when both layers have them
its bias, its batch norm (γ, β and running averages) and its PReLU slopes; what the source
layer lacks is drawn as the spec says. The weights then live in the run: a saved session
reopens without its source.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path

from gradlab.engine import Network
from gradlab.errors import InputError, SpecError
from gradlab.safeio import printable

PRESET_PREFIX = "preset:"
#: networks kept in memory (a chain of presets reuses its sources several times)
CACHE_SIZE = 4
_cache: OrderedDict[tuple, Network] = OrderedDict()
_lock = threading.RLock()
_training = threading.local()  # presets being trained for a source (cycles are refused)


def apply(network: Network, layers: list[dict]) -> None:
    """Fill every reused block of ``network`` (built from the resolved ``layers``) from its
    source. Raises :class:`~gradlab.errors.SpecError` naming ``network.layers[i].init``."""
    blocks = iter(network.blocks)
    for i, entry in enumerate(layers):
        if entry["type"] != "dense":
            continue
        block = next(blocks)
        if block.reused is None:
            continue
        field = f"network.layers[{i}].init"
        ref, k = block.reused["from"], block.reused["layer"]
        source = load_source(ref, field)
        _copy(source, k, block, _shown(ref), field)


def _shown(ref: str) -> str:
    return printable(ref if ref.startswith(PRESET_PREFIX) else Path(ref).name, 120)


def _copy(source: Network, k: int, block, name: str, field: str) -> None:
    if k > len(source.blocks):
        raise SpecError(field, f"{name} has {len(source.blocks)} layers, so it has no layer {k}")
    src = source.blocks[k - 1]
    W, sW = block.params["W"], src.params["W"]
    if sW.shape != W.shape:
        raise SpecError(
            field,
            f"layer {k} of {name} has weights of shape {sW.shape[0]} x {sW.shape[1]}, but this "
            f"layer needs {W.shape[0]} x {W.shape[1]} ({block.fan_in} inputs, {block.width} "
            "outputs)",
        )
    W[...] = sW
    if "b" in block.params and "b" in src.params:
        block.params["b"][...] = src.params["b"]
    if block.bn is not None and src.bn is not None and src.bn.features == block.bn.features:
        for part in ("params", "buffers"):
            for key, dst in getattr(block.bn, part).items():
                dst[...] = getattr(src.bn, part)[key]
    if "alpha" in block.params and "alpha" in src.params:
        if src.params["alpha"].shape == block.params["alpha"].shape:
            block.params["alpha"][...] = src.params["alpha"]


# ============================================================================ sources
def load_source(ref: str, field: str) -> Network:
    """The network ``ref`` names (see the module docstring), from the cache when it is there."""
    if ref.startswith(PRESET_PREFIX):
        return _preset_network(ref[len(PRESET_PREFIX):].strip(), field)
    path = Path(ref).expanduser()
    try:
        st = path.stat()
    except OSError:
        raise SpecError(field, f"{_shown(ref)} does not exist (the reused weights come from "
                        "it)") from None
    key = ("file", str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _lock:
        net = _cache.get(key)
        if net is not None:
            _cache.move_to_end(key)
            return net
    try:
        if path.suffix.lower() == ".npz":
            from gradlab.experiment.netexport import load_weights_npz

            net = load_weights_npz(path)
        else:
            from gradlab.experiment import load_session

            net = load_session(path).network
    except InputError as err:
        raise SpecError(field, str(err).rstrip(".")) from None
    except OSError as err:
        raise SpecError(field, f"{_shown(ref)} cannot be read ({err.strerror or err})") from None
    _remember(key, net)
    return net


def _remember(key: tuple, net: Network) -> None:
    with _lock:
        _cache[key] = net
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def preset_key(name: str) -> str:
    """What a preset's trained network depends on: its resolved settings and GradLab's
    version (16 hex digits)."""
    from gradlab._version import __version__
    from gradlab.experiment import presets
    from gradlab.experiment.spec import resolve

    spec = resolve(presets.load(name))
    for k in ("name", "description", "reference", "preset"):
        spec.pop(k, None)
    text = json.dumps([spec, __version__], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_folder() -> Path:
    """Where trained preset networks are kept: ``pretrained/`` in the data folder."""
    from gradlab.data.catalog import data_dir

    return data_dir() / "pretrained"


def _preset_network(name: str, field: str) -> Network:
    from gradlab.experiment import presets

    if name not in presets.names():
        raise SpecError(field, f"unknown preset {printable(name, 80)!r} to reuse layers from")
    stack = getattr(_training, "stack", None)
    if stack is None:
        stack = _training.stack = []
    if name in stack:
        raise SpecError(field, f"preset {name} reuses its own layers (through "
                        f"{' -> '.join(stack)})")
    key = ("preset", name, preset_key(name))
    with _lock:
        net = _cache.get(key)
        if net is not None:
            _cache.move_to_end(key)
            return net
    path = cache_folder() / f"{name}-{key[2]}.npz"
    net = _load_cached(path)
    if net is None:
        stack.append(name)
        try:
            net = _train(name, field)
        finally:
            stack.pop()
        _save_cached(net, path)
    _remember(key, net)
    return net


def _train(name: str, field: str) -> Network:
    from gradlab.experiment import Experiment, presets

    exp = Experiment(presets.load(name))
    if exp.total_steps is None:
        raise SpecError(field, f"preset {name} has no step budget, so it cannot be trained to "
                        "reuse its layers")
    exp.run()
    if exp.status == "diverged":
        raise SpecError(field, f"preset {name} diverged while training the layers to reuse")
    return exp.network


def _load_cached(path: Path) -> Network | None:
    if not path.is_file():
        return None
    from gradlab.experiment.netexport import load_weights_npz

    try:
        return load_weights_npz(path)
    except (InputError, OSError, ValueError):
        return None  # a damaged cache file is trained again and replaced


def _save_cached(net: Network, path: Path) -> None:
    from gradlab.experiment.netexport import save_weights_npz

    try:
        os.makedirs(path.parent, exist_ok=True)
        save_weights_npz(net, path)
    except OSError:
        pass  # a read-only data folder: the network is trained again next time


def clear_cache() -> None:
    """Forget the networks kept in memory (the files in :func:`cache_folder` stay)."""
    with _lock:
        _cache.clear()

