"""The Dataset container, the registry of dataset sources and :func:`load`.

A dataset source is a function ``make(params, rng, field) -> RawData`` registered by name with its
declared :class:`~gradlab.params.Param` list. :func:`load` validates a spec against those params
plus the keys every dataset shares (``val_fraction``, ``preprocess``, ``max_train``,
``whiten_eps``), generates or reads the examples, splits off a validation set with a seeded
shuffle, fits the preprocessing on the training split and returns a frozen :class:`Dataset`.

Randomness: ``np.random.SeedSequence(seed)`` is spawned into two independent streams, one for
generating the examples and one for the split, so the same spec and seed give bit-identical arrays
and changing ``val_fraction`` re-splits the same examples instead of drawing new ones.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradlab import validate
from gradlab.data import preprocess as prep
from gradlab.errors import SpecError
from gradlab.params import Param, resolve
from gradlab.registry import Registry

KINDS = ("2d", "image", "vector", "file")

#: import name -> the name to install, for optional packages a dataset needs
PACKAGE_NAMES = {"sklearn": "scikit-learn"}


def sub(field_: str, key: str) -> str:
    """The dotted path of ``key`` under ``field_``: ``"data"``, ``"noise"`` -> ``"data.noise"``."""
    return f"{field_}.{key}" if field_ else key


@dataclass(frozen=True, eq=False)
class Dataset:
    """Examples ready for training, with what is needed to rebuild them exactly.

    Attributes
    ----------
    x_train, x_val : (n, d) float32, C-contiguous, read-only; preprocessed.
    y_train, y_val : (n,) int64 class ids in ``[0, n_classes)``. ``x_val`` may have 0 rows.
    x_test, y_test : the file's own test set (preprocessed with the training statistics), or None.
    n_classes : number of classes (the width of the output layer).
    input_dim : d.
    image_shape : (h, w) when each row is an h x w grey image (row-major); (c, h, w) when it
        holds ``c`` channel planes one after the other (CIFAR-10: red, green, blue), so that
        ``row.reshape(image_shape)`` is the image; None for other data.
    class_names : ``n_classes`` display names.
    name : canonical dataset name.
    resolved : the spec with every default filled in (JSON-able): ``load(resolved, seed)`` gives
        the same arrays.
    preprocess_state : fitted statistics (float64 arrays); pass it back to :func:`load` to apply
        exactly these instead of refitting.
    raw_train : the training inputs before preprocessing (the very same array as ``x_train``
        when ``preprocess`` is ``"none"``), for thumbnails.
    note : one sentence when the spec asked for another dataset that is not there (a download
        not fetched yet) and its ``fallback`` was loaded instead; else "".
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    n_classes: int
    input_dim: int
    image_shape: tuple[int, ...] | None
    class_names: list[str]
    name: str
    resolved: dict[str, Any]
    preprocess_state: dict[str, np.ndarray]
    raw_train: np.ndarray | None = None
    note: str = ""

    def __repr__(self) -> str:
        test = "" if self.x_test is None else f", test={len(self.x_test)}"
        img = "" if self.image_shape is None else f", image_shape={self.image_shape}"
        return (f"Dataset({self.name!r}, train={len(self.x_train)}, val={len(self.x_val)}{test}, "
                f"input_dim={self.input_dim}, n_classes={self.n_classes}{img}, "
                f"preprocess={self.resolved.get('preprocess')!r})")


@dataclass(frozen=True)
class DatasetInfo:
    """What the window needs to offer a dataset: name, one-line description, parameters, kind.

    ``params`` lists the dataset's own parameters followed by the shared ones (``val_fraction``,
    ``preprocess``, ``max_train``, ``whiten_eps``) with this dataset's defaults. ``available`` is
    False when an optional package it needs (``requires``) is not installed.
    """

    name: str
    description: str
    params: list[Param]
    kind: str
    available: bool = True
    requires: str | None = None


@dataclass
class RawData:
    """What a dataset source returns, before splitting and preprocessing.

    ``x: (n, d)`` (float32 or float64), ``y: (n,)`` int64; ``x_test``/``y_test`` only for files
    that hold a test set.
    """

    x: np.ndarray
    y: np.ndarray
    n_classes: int
    class_names: list[str]
    image_shape: tuple[int, ...] | None = None  # as Dataset.image_shape
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    resolved_updates: dict[str, Any] = field(default_factory=dict)


Maker = Callable[[dict[str, Any], np.random.Generator, str], RawData]
#: ``redirect(spec, field) -> (other_spec, note) | None``: see :class:`DatasetSource`
Redirect = Callable[[dict[str, Any], str], "tuple[dict[str, Any], str] | None"]


@dataclass(frozen=True)
class DatasetSource:
    """A registered dataset: its maker, declared params and the shared keys' defaults.

    ``redirect``, for a dataset that may be absent (a download not fetched yet), is called with
    the spec before anything else: it returns None to load this dataset, or ``(spec, note)`` to
    load that spec instead (the entry's ``fallback``), or raises DataError saying how to get it.
    """

    name: str
    description: str
    kind: str
    params: tuple[Param, ...]
    make: Maker
    default_preprocess: str = "none"
    default_val_fraction: float = 0.2
    requires: str | None = None
    redirect: Redirect | None = None

    def all_params(self) -> list[Param]:
        return [*self.params, *common_params(self.default_preprocess, self.default_val_fraction)]

    def available(self) -> bool:
        if self.requires is None:
            return True
        try:
            return importlib.util.find_spec(self.requires) is not None
        except (ImportError, ValueError):   # a module in sys.modules without a spec
            return self.requires in sys.modules

    def info(self) -> DatasetInfo:
        available = self.available()
        description = self.description
        if not available:
            package = PACKAGE_NAMES.get(self.requires, self.requires)
            description = f"{description} Needs {package}, which is not installed."
        return DatasetInfo(self.name, description, self.all_params(), self.kind, available,
                           self.requires)


DATASETS: Registry[DatasetSource] = Registry("dataset")


def register(name: str, *aliases: str, description: str, kind: str,
             params: tuple[Param, ...] = (), default_preprocess: str = "none",
             default_val_fraction: float = 0.2,
             requires: str | None = None,
             redirect: Redirect | None = None) -> Callable[[Maker], Maker]:
    """Decorator registering ``make(params, rng, field) -> RawData`` as dataset ``name``."""
    assert kind in KINDS, kind

    def deco(make: Maker) -> Maker:
        DATASETS.add(name, DatasetSource(name, description, kind, tuple(params), make,
                                         default_preprocess, default_val_fraction, requires,
                                         redirect),
                     *aliases)
        return make

    return deco


def common_params(default_preprocess: str = "none",
                  default_val_fraction: float = 0.2) -> list[Param]:
    """The keys every dataset accepts."""
    return [
        Param("val_fraction", "float", default_val_fraction,
              "Fraction of the training examples held out for validation (seeded shuffle).",
              minimum=0.0, maximum=0.9),
        Param("preprocess", "choice", default_preprocess,
              "Input preprocessing fitted on the training split: none, center (subtract the "
              "mean), standardize (per-feature mean 0, std 1), minmax (per-feature [0, 1]) or "
              "pca_whiten (decorrelate and scale to unit variance).",
              choices=prep.METHODS),
        Param("max_train", "int", None,
              "Use at most this many training examples (the validation set shrinks in "
              "proportion); empty for all.", minimum=1, optional=True),
        Param("whiten_eps", "float", 1e-5,
              "pca_whiten only: ε added to each eigenvalue, as a fraction of the largest one.",
              exclusive_minimum=0.0, maximum=1.0, log=True),
    ]


def names() -> list[str]:
    """Registered dataset names, sorted."""
    return DATASETS.names()


def info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of dataset ``name`` (any alias or case)."""
    return DATASETS.get(name, "name").info()


def split_indices(n: int, val_fraction: float, max_train: int | None,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` and cut it into (train, val) index arrays.

    ``n_val = round(val_fraction * n)``; the rest is training. With ``max_train`` the training
    part is cut to ``max_train`` and the validation part to the same train/val ratio,
    ``round(max_train * val_fraction / (1 - val_fraction))``.
    """
    perm = rng.permutation(n)
    n_val = round(val_fraction * n)
    n_train = n - n_val
    if max_train is not None and max_train < n_train:
        n_train = max_train
        n_val = min(n_val, round(max_train * val_fraction / (1.0 - val_fraction)))
    return perm[n_val:n_val + n_train], perm[:n_val]


def _image_shape(shape: tuple[int, ...] | None, input_dim: int) -> tuple[int, ...] | None:
    """The source's image shape if its pixels are exactly a row's values, else None."""
    if shape is None:
        return None
    dims = tuple(int(s) for s in shape)
    return dims if len(dims) in (2, 3) and math.prod(dims) == input_dim else None


def _frozen(a: np.ndarray, dtype: type) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=dtype)
    a.flags.writeable = False
    return a


def fallback_note(spec: Mapping[str, Any], *, field: str = "data") -> str:
    """The :attr:`Dataset.note` :func:`load` would give for ``spec``, found without loading
    anything: one sentence when a dataset that is not downloaded yet gives way to its
    ``fallback``, else "".

    Raises what :func:`load` raises first: SpecError for a bad name, DataError for a dataset
    that is not downloaded and has no fallback (the sentence says how to fetch it).
    """
    spec = validate.mapping(spec, field)
    if "name" not in spec:
        raise SpecError(sub(field, "name"),
                        f"is required: the dataset to use (choose from: {', '.join(names())})")
    source = DATASETS.get(spec["name"], sub(field, "name"))
    other = None if source.redirect is None else source.redirect(dict(spec), field)
    return "" if other is None else other[1]


def load(spec: Mapping[str, Any], seed: int, *, field: str = "data",
         preprocess_state: Mapping[str, np.ndarray] | None = None) -> Dataset:
    """Build the dataset a spec describes.

    Parameters
    ----------
    spec : the experiment's ``"data"`` entry, e.g. ``{"name": "spiral", "noise": 0.2}``.
    seed : non-negative int; the same spec and seed give bit-identical arrays.
    field : the spec path used in error messages (``"data.noise: must be >= 0, got -1"``).
    preprocess_state : statistics from an earlier :attr:`Dataset.preprocess_state`; when given
        they are applied as they are instead of being fitted again.

    Raises
    ------
    SpecError : a bad or unknown spec value, naming its field.
    DataError : a file that cannot be read, in one sentence naming the file.
    """
    spec = validate.mapping(spec, field)
    if "name" not in spec:
        raise SpecError(sub(field, "name"),
                        f"is required: the dataset to use (choose from: {', '.join(names())})")
    source = DATASETS.get(spec["name"], sub(field, "name"))
    if source.redirect is not None:
        other = source.redirect(dict(spec), field)
        if other is not None:
            ds = load(other[0], seed, field=field, preprocess_state=preprocess_state)
            return dataclasses.replace(ds, note=other[1])
    seed = validate.integer(int(seed) if isinstance(seed, np.integer) else seed, "seed", minimum=0)
    params = resolve(source.all_params(), spec, field, ignore=("name",))

    gen_seq, split_seq = np.random.SeedSequence(seed).spawn(2)
    raw = source.make(params, np.random.default_rng(gen_seq), field)

    x = np.asarray(raw.x, dtype=np.float32)
    x = x.reshape(len(x), -1)
    y = np.asarray(raw.y, dtype=np.int64)
    input_dim = x.shape[1]
    train_idx, val_idx = split_indices(len(x), params["val_fraction"], params["max_train"],
                                       np.random.default_rng(split_seq))
    if len(train_idx) == 0:
        raise SpecError(sub(field, "val_fraction"),
                        f"leaves no training examples out of {len(x)}; lower it")
    x_train_raw = _frozen(x[train_idx], np.float32)

    method = params["preprocess"]
    pfield = sub(field, "preprocess")
    if preprocess_state is not None:
        state = prep.check_state(method, preprocess_state, input_dim, pfield)
    else:
        state = prep.fit(method, x_train_raw, whiten_eps=params["whiten_eps"])
    for arr in state.values():
        arr.flags.writeable = False

    def pp(a: np.ndarray) -> np.ndarray:
        return _frozen(prep.apply(method, state, a), np.float32)

    x_train = x_train_raw if method == "none" else pp(x_train_raw)
    x_test = y_test = None
    if raw.x_test is not None:
        xt = np.asarray(raw.x_test, dtype=np.float32)
        x_test = pp(xt.reshape(len(xt), -1))
        y_test = _frozen(raw.y_test, np.int64)

    resolved = {"name": source.name, **params, **raw.resolved_updates}
    return Dataset(
        x_train=x_train,
        y_train=_frozen(y[train_idx], np.int64),
        x_val=pp(x[val_idx]),
        y_val=_frozen(y[val_idx], np.int64),
        x_test=x_test,
        y_test=y_test,
        n_classes=int(raw.n_classes),
        input_dim=int(input_dim),
        image_shape=_image_shape(raw.image_shape, input_dim),
        class_names=[str(c) for c in raw.class_names],
        name=source.name,
        resolved=resolved,
        preprocess_state=state,
        raw_train=x_train_raw,
    )
