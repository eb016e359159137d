"""The downloadable datasets as datasets of a spec: ``{"data": {"name": "mnist"}}``.

Each dataset of the shipped catalog (:mod:`gradlab.data.catalog`: ``mnist``, ``fashion_mnist``,
``cifar10``) is registered under its name. Loading one reads the verified files from the data
dir with the same readers as the user's own files (the ``idx`` and ``npz`` loaders of
:mod:`gradlab.data.files`; :mod:`gradlab.data.cifar` for CIFAR-10), then the usual split,
``max_train`` and preprocessing apply. Where the files come from is the catalog in force
(``$GRADLAB_DATA_REGISTRY`` may replace it), so a mirror or a test can serve other copies.

Loading never downloads. When the dataset is not in the data dir:

- with ``"fallback"`` in the entry, that dataset is loaded instead, with its own defaults and the
  shared keys given in the entry (``val_fraction``, ``preprocess``, ``max_train``,
  ``whiten_eps``): ``{"name": "mnist", "fallback": "mnist_like"}``. The fallback is a name (a
  string, so the window edits it like any other field) of a dataset that needs no download. The
  resolved spec, and so a saved session, then names the fallback: a run always records the data
  it ran on. :attr:`Dataset.note` says what happened.
- without one, a DataError gives the command that fetches it.

When the files are there the resolved spec keeps ``"fallback": null``: a session of a run on
MNIST must not quietly reopen on something else where MNIST is missing.

``{"name": "mnist", "train_images": ..., "train_labels": ...}`` (the old alias of ``idx`` for
one's own copy of the files) is still read by the ``idx`` loader.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from gradlab.data import catalog, cifar, files
from gradlab.data.base import DATASETS, RawData, register, sub
from gradlab.errors import DataError, SpecError
from gradlab.params import Param

#: the keys of a spec entry that carry over to its fallback
SHARED = ("val_fraction", "preprocess", "max_train", "whiten_eps")
IDX_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
ALIASES = {"cifar10": ("cifar_10",)}


@dataclass(frozen=True)
class FallbackParam(Param):
    """The name of a dataset to load instead while this one is not downloaded."""

    def validate(self, value: Any, field: str) -> Any:
        if value is None:
            return None
        return _fallback_name(value, field)


FALLBACK = FallbackParam(
    "fallback", "str", None,
    "A dataset to use instead while this one is not downloaded, e.g. mnist_like; empty: the run "
    "stops and says how to fetch it.", optional=True)


def _fallback_name(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise SpecError(field, f"must be the name of a dataset, such as \"mnist_like\", got "
                               f"{value!r}")
    source = DATASETS.get(value, field)
    if source.redirect is not None:
        raise SpecError(field, f"must be a dataset that needs no download (such as mnist_like), "
                               f"not {source.name}")
    return source.name


def not_downloaded(entry: catalog.Entry) -> str:
    """The sentence a run gives when ``entry`` is not in the data dir."""
    return (f"{entry.title} is not downloaded yet: run 'gradlab data fetch {entry.name}' "
            f"({catalog.human_size(entry.download_size)}) first, or give the data entry a "
            f"\"fallback\" dataset.")


def _redirect(name: str, spec: dict[str, Any], field: str) -> tuple[dict, str] | None:
    if any(k in spec for k in IDX_KEYS):
        own = {k: v for k, v in spec.items() if k not in ("name", "fallback")}
        return {"name": "idx", **own}, ""
    entry = catalog.load().get(name)
    if catalog.is_cached(entry, catalog.dataset_dir(entry.name)):
        return None
    if spec.get("fallback") is None:
        raise DataError(not_downloaded(entry))
    fb = {"name": _fallback_name(spec["fallback"], sub(field, "fallback"))}
    fb.update({key: spec[key] for key in SHARED if key in spec})
    note = (f"{entry.title} is not downloaded (gradlab data fetch {entry.name}), so this runs on "
            f"{fb['name']} instead.")
    return fb, note


def _make(name: str, p: dict[str, Any], rng, field: str) -> RawData:
    entry = catalog.load().get(name)
    folder = catalog.dataset_dir(entry.name)
    missing = catalog.missing(entry, folder)
    if missing:   # removed since the redirect looked
        raise DataError(not_downloaded(entry))
    if entry.format == "idx":
        paths = {k: None for k in IDX_KEYS}
        paths.update({f.key: str(folder / f.filename) for f in entry.files})
        raw = DATASETS.get("idx").make(paths, rng, field)
    elif entry.format == "npz":
        raw = DATASETS.get("npz").make({"path": str(folder / entry.files[0].filename)}, rng,
                                       field)
    else:
        raw = _cifar(entry, folder)
    if entry.classes and len(entry.classes) >= raw.n_classes:
        raw.n_classes = len(entry.classes)
        raw.class_names = list(entry.classes)
    if entry.image_shape is not None and raw.x.shape[1] == entry.image_shape[0] * \
            entry.image_shape[1]:
        raw.image_shape = entry.image_shape
    raw.resolved_updates = {"fallback": None}
    return raw


def _cifar(entry: catalog.Entry, folder) -> RawData:
    k = len(entry.classes) or 10
    paths = {role: [str(folder / m.filename) for m in entry.members if m.role == role]
             for role in ("train", "test")}
    x, y = cifar.read_batches(paths["train"], k)
    x_test = y_test = None
    if paths["test"]:
        xt, y_test = cifar.read_batches(paths["test"], k)
        x_test = files.float_inputs(xt, f"The CIFAR test batches in '{folder}'")
    return RawData(x=files.float_inputs(x, f"The CIFAR batches in '{folder}'"), y=y,
                   n_classes=k, class_names=[str(c) for c in range(k)],
                   image_shape=(cifar.CHANNELS, cifar.SIDE, cifar.SIDE),  # a row's planes
                   x_test=x_test, y_test=y_test)


def _register_all() -> None:
    DATASETS.unalias("mnist")   # it named the idx loader before MNIST could be downloaded
    shipped = catalog.load(catalog.shipped_path())
    for name in shipped.names():
        entry = shipped.entries[name]
        size = catalog.human_size(entry.download_size)
        description = (f"{entry.description} Downloaded once with 'gradlab data fetch {name}' "
                       f"({size}).")
        register(name, *ALIASES.get(name, ()), kind="image", description=description,
                 params=(FALLBACK,),
                 default_val_fraction=entry.val_fraction if entry.val_fraction is not None
                 else 0.2,
                 redirect=functools.partial(_redirect, name))(functools.partial(_make, name))


_register_all()

__all__ = ["FALLBACK", "not_downloaded"]
