"""The Data panel's preview service: what a dataset looks like, built off the UI thread.

:func:`build_preview` (no Qt) loads a small copy of the data entry (:func:`preview_spec`) and
summarises it (a scatter for 2-D data, thumbnails with class names for images, a histogram of the
input values otherwise, and the counts). :class:`PreviewService` runs it on one background
thread, caches results by the resolved data entry and seed, and drops queued jobs nobody waits
for any more. The Data panel shows the previews; the Network panel asks the same service for the
input and output sizes of its summary.
"""

from __future__ import annotations

import copy
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from gradlab import data as datasets
from gradlab.errors import DataError, SpecError
from gradlab.params import resolve as resolve_params

#: the preview is built from at most this many examples (2-D data: points in the scatter)
PREVIEW_POINTS = 2000
PREVIEW_EXAMPLES = 200
PREVIEW_VECTOR = 64
THUMBNAILS = 16  # at most; every class, in whole rows of 4


# ====================================================================== the preview (no Qt)
@dataclass(frozen=True, eq=False)
class Preview:
    """What the panel shows about a dataset; built off the UI thread by :func:`build_preview`.

    ``error`` is one sentence when the data cannot be built; ``data_error`` says it came from a
    file (:class:`DataError`). Counts describe the full spec even when the preview was built from
    a smaller copy (``reduced``).
    """

    key: str
    name: str
    kind: str = ""
    error: str = ""
    data_error: bool = False
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    input_dim: int = 0
    n_classes: int = 0
    class_names: tuple[str, ...] = ()
    image_shape: tuple[int, ...] | None = None  # (h, w) grey, (3, h, w) colour
    points: np.ndarray | None = None  # (m, 2) for 2-D data
    labels: np.ndarray | None = None  # (m,)
    #: thumbnails side by side, uint8 (h + 2, k (w + 1) + 1), with a last axis of 3 (RGB) for
    #: colour images
    strip: np.ndarray | None = None
    strip_labels: tuple[int, ...] = ()
    hist: tuple[np.ndarray, np.ndarray] | None = None  # (counts, edges) of the input values
    reduced: bool = False
    preprocess: str = "none"
    seconds: float = 0.0
    #: one sentence when the spec's dataset is not downloaded and its fallback was loaded
    #: (:attr:`gradlab.data.Dataset.note`)
    note: str = ""


def preview_spec(data: dict, kind: str) -> tuple[dict, bool]:
    """A small copy of the data entry for the preview, and whether it was reduced.

    Datasets with an ``n`` keep at most 2,000 points (2-D) / 200 examples (images) / 64
    (vectors); files are read as they are.
    """
    out = copy.deepcopy(data)
    n = out.get("n", _default_n(out.get("name")))
    cap = {"2d": PREVIEW_POINTS, "image": PREVIEW_EXAMPLES, "vector": PREVIEW_VECTOR}.get(kind)
    if cap is None or not isinstance(n, int) or isinstance(n, bool) or n <= cap:
        return out, False
    out["n"] = cap
    if out.get("max_train") is not None:
        out["max_train"] = min(out["max_train"], cap)
    return out, True


def _default_n(name: Any) -> int | None:
    """The dataset's default ``n`` (None when it has no such parameter)."""
    try:
        params = datasets.info(name).params
    except (SpecError, TypeError):
        return None
    return next((p.default for p in params if p.name == "n"), None)


def split_counts(n: int, val_fraction: float, max_train: int | None) -> tuple[int, int]:
    """(n_train, n_val) as :func:`gradlab.data.base.split_indices` cuts ``n`` examples."""
    n_val = round(val_fraction * n)
    n_train = n - n_val
    if max_train is not None and max_train < n_train:
        n_train = max_train
        n_val = min(n_val, round(max_train * val_fraction / (1.0 - val_fraction)))
    return n_train, n_val


def _spread(y: np.ndarray, k: int, count: int) -> np.ndarray:
    """Indices of ``count`` examples taking the classes in turn (every class shows)."""
    by_class = [np.flatnonzero(y == c) for c in range(k)]
    out: list[int] = []
    depth = 0
    while len(out) < count and any(depth < len(ix) for ix in by_class):
        for ix in by_class:
            if depth < len(ix) and len(out) < count:
                out.append(int(ix[depth]))
        depth += 1
    return np.asarray(out, dtype=np.int64)


def build_preview(key: str, data: dict, seed: int, kind: str) -> Preview:
    """Load ``data`` (small) and summarise it. Runs on a worker thread: no Qt here."""
    t0 = time.perf_counter()
    name = str(data.get("name", ""))
    small, reduced = preview_spec(data, kind)
    try:
        ds = datasets.load(small, seed)
    except DataError as err:
        return Preview(key, name, kind, error=str(err), data_error=True)
    except SpecError as err:
        return Preview(key, name, kind, error=str(err))
    except (ValueError, MemoryError, OSError) as err:  # a bad file the loader did not foresee
        return Preview(key, name, kind, error=f"The data cannot be built: {err}.", data_error=True)
    params = ds.resolved
    n_train, n_val = len(ds.x_train), len(ds.x_val)
    if reduced:
        n_full = data.get("n", _default_n(name))
        n_train, n_val = split_counts(
            int(n_full), float(params["val_fraction"]), params.get("max_train")
        )
    points = labels = strip = hist = None
    strip_labels: tuple[int, ...] = ()
    if ds.input_dim == 2:
        m = min(len(ds.x_train), PREVIEW_POINTS)
        points = np.ascontiguousarray(ds.x_train[:m], dtype=np.float32)
        labels = np.asarray(ds.y_train[:m])
    elif ds.image_shape is not None:
        raw = ds.raw_train if ds.raw_train is not None else ds.x_train
        idx = _spread(ds.y_train, ds.n_classes, min(THUMBNAILS, max(8, -(-ds.n_classes // 4) * 4)))
        if len(idx):
            strip = datasets.thumbnail_grid(raw[idx], ds.image_shape, n=len(idx), cols=len(idx))
            strip_labels = tuple(int(ds.y_train[i]) for i in idx)
    else:
        values = np.asarray(ds.x_train[:PREVIEW_EXAMPLES], dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        if values.size:
            counts, edges = np.histogram(values, bins=60)
            hist = (counts.astype(np.float64), edges)
    return Preview(
        key,
        ds.name,
        kind,
        n_train=n_train,
        n_val=n_val,
        n_test=0 if ds.x_test is None else len(ds.x_test),
        input_dim=ds.input_dim,
        n_classes=ds.n_classes,
        class_names=tuple(ds.class_names),
        image_shape=ds.image_shape,
        points=points,
        labels=labels,
        strip=strip,
        strip_labels=strip_labels,
        hist=hist,
        reduced=reduced,
        preprocess=str(params.get("preprocess", "none")),
        seconds=time.perf_counter() - t0,
        note=ds.note,
    )


def preview_key(data: dict, seed: Any) -> tuple[str, str]:
    """(key, kind) for a data entry: equivalent entries (defaults given or not) share a key."""
    name = data.get("name")
    try:
        info = datasets.info(name)
        resolved = resolve_params(info.params, data, "data", ignore=("name",))
        resolved = {"name": info.name, **resolved}
        kind = info.kind
    except (SpecError, TypeError):
        resolved, kind = dict(data), ""
    return json.dumps([resolved, seed], sort_keys=True, default=str), kind


# ====================================================================== the background service
class _Signals(QObject):
    done = Signal(str, object, int)


class _Job(QRunnable):
    def __init__(
        self, key: str, data: dict, seed: int, kind: str, signals: _Signals, generation: int
    ):
        super().__init__()
        self.setAutoDelete(False)  # Python keeps the reference until the result is in
        self.key, self.data, self.seed, self.kind, self.signals = key, data, seed, kind, signals
        self.generation = generation

    def run(self) -> None:
        try:
            result = build_preview(self.key, self.data, self.seed, self.kind)
        except Exception as err:  # never let a preview kill the pool's thread
            result = Preview(self.key, str(self.data.get("name")), self.kind, error=str(err))
        self.signals.done.emit(self.key, result, self.generation)


class PreviewService(QObject):
    """Builds :class:`Preview` objects on one background thread, cached by key.

    :meth:`request` returns the cached preview at once, or ``None`` and emits :attr:`ready`
    later. Each owner (a panel) has one wanted key; a queued job no owner wants is dropped.
    :meth:`invalidate` forgets every preview when the data behind a key changed (a dataset was
    downloaded: the same entry now loads other data).
    """

    ready = Signal(str, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # the training worker has the other core
        self.cache: OrderedDict[str, Preview] = OrderedDict()
        self.jobs: dict[str, _Job] = {}
        self.wanted: dict[int, str] = {}
        self.generation = 0  # previews of an older generation are out of date
        self._signals = _Signals(self)
        self._signals.done.connect(self._on_done)

    def request(self, owner: QObject, data: dict, seed: Any) -> tuple[str, Preview | None]:
        key, kind = preview_key(data, seed)
        oid = id(owner)
        if oid not in self.wanted:
            owner.destroyed.connect(lambda *_a: self.wanted.pop(oid, None))
        self.wanted[oid] = key
        self._drop_unwanted()
        if key in self.cache:
            self.cache.move_to_end(key)
            return key, self.cache[key]
        if key not in self.jobs:
            seed_ = seed if isinstance(seed, int) and not isinstance(seed, bool) else 0
            self._start(_Job(key, copy.deepcopy(data), max(0, seed_), kind, self._signals,
                             self.generation))
        return key, None

    def _start(self, job: _Job) -> None:
        self.jobs[job.key] = job
        self.pool.start(job)

    def invalidate(self) -> None:
        """Forget every preview (the files behind them changed). A job under way finishes
        unseen and is started again if its key is still wanted; owners ask again."""
        self.cache.clear()
        self.generation += 1
        for job in list(self.jobs.values()):
            if self.pool.tryTake(job):  # not started: it will read the new files
                job.generation = self.generation
                self.pool.start(job)

    def release(self, owner: QObject) -> None:
        self.wanted.pop(id(owner), None)
        self._drop_unwanted()

    def _drop_unwanted(self) -> None:
        wanted = set(self.wanted.values())
        for key, job in list(self.jobs.items()):
            if key not in wanted and self.pool.tryTake(job):  # still queued: never started
                del self.jobs[key]

    @Slot(str, object, int)
    def _on_done(self, key: str, preview: Preview, generation: int) -> None:
        job = self.jobs.pop(key, None)
        if generation != self.generation:  # built from files that changed since
            if job is not None and key in set(self.wanted.values()):
                self._start(_Job(key, job.data, job.seed, job.kind, self._signals,
                                 self.generation))
            return
        self.cache[key] = preview
        while len(self.cache) > 32:
            self.cache.popitem(last=False)
        self.ready.emit(key, preview)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every job is done (tests, shutdown)."""
        return self.pool.waitForDone(msecs)


_SERVICE: PreviewService | None = None


def preview_service() -> PreviewService:
    """The process-wide preview service (created on first use, in the UI thread)."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = PreviewService()
    return _SERVICE
