"""Fetching a dataset of the catalog: download, verify, keep; headless, cancellable, with
progress through a callback.

:func:`fetch` downloads each file of a :mod:`~gradlab.data.catalog` entry with pooch, trying its
mirrors in turn (and the whole list again ``retries`` times on network errors), checks its
SHA-256 and moves it into ``<data dir>/<dataset>/`` only then: pooch streams into a temporary
file in the same folder and renames it when the checksum matches, and removes it on any error,
Ctrl-C or :class:`Cancelled` included. An archive (CIFAR-10) is then unpacked by
:func:`gradlab.data.cifar.extract` (listed members only, each checked) and dropped.

A fetch of a dataset that is already there re-checks the checksums of its files and downloads
nothing. Every failure is a :class:`~gradlab.errors.DataError` of one sentence: a checksum that
does not match, a server that cannot be reached or cuts the transfer off, a full disk.

The window's Data panel calls, from a worker thread::

    cancel = threading.Event()
    fetch("mnist", progress=lambda p: signal.emit(p.stage, p.done, p.total), cancel=cancel)
    # the Cancel button: cancel.set() -> fetch raises Cancelled within one chunk (64 KiB)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gradlab._version import __version__
from gradlab.data import catalog
from gradlab.data.catalog import Catalog, Entry, RemoteFile, human_size
from gradlab.errors import DataError

CHUNK = 64 * 1024


class Cancelled(Exception):
    """The fetch was cancelled through its ``cancel`` event; nothing half-written was kept."""


@dataclass(frozen=True)
class Progress:
    """Where a fetch is: ``done`` of ``total`` bytes of the current ``stage``.

    ``stage`` is ``"download"`` (``total`` = the bytes of every file still to download) or
    ``"extract"`` (``total`` = the bytes to unpack from an archive); ``filename`` is the file
    being worked on.
    """

    name: str
    stage: str
    filename: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did: the files it downloaded (none when all were there already)."""

    name: str
    folder: Path
    downloaded: list[str] = field(default_factory=list)
    downloaded_bytes: int = 0
    size: int = 0  # the dataset's download size

    @property
    def was_cached(self) -> bool:
        return not self.downloaded


ProgressCallback = Callable[[Progress], None]


def fetch(name: str, *, registry: str | os.PathLike | Catalog | None = None,
          root: str | os.PathLike | None = None, progress: ProgressCallback | None = None,
          cancel: threading.Event | None = None, retries: int = 2, timeout: float = 60.0,
          backoff: float = 2.0) -> FetchResult:
    """Download dataset ``name`` of the catalog in force into the data dir, verified.

    Parameters
    ----------
    registry : a catalog file (default: ``$GRADLAB_DATA_REGISTRY`` or the shipped one) or a
        :class:`~gradlab.data.catalog.Catalog`.
    root : the data dir (default: ``$GRADLAB_DATA_DIR`` or the platform's user data folder).
    progress : called from this thread after every chunk with a :class:`Progress`.
    cancel : set it (from any thread) to stop; :class:`Cancelled` is raised within one chunk.
    retries : how many more times the mirrors are tried after a round of network errors, with
        ``backoff`` seconds between rounds (a cancel cuts the wait short).
    timeout : seconds to wait for a server to connect or to send the next bytes.

    Raises
    ------
    DataError : one sentence: unknown name, bad catalog, checksum, network, disk.
    Cancelled : ``cancel`` was set.
    """
    cat = registry if isinstance(registry, Catalog) else catalog.load(registry)
    entry = cat.get(name)
    folder = catalog.dataset_dir(entry.name, root)
    cancel = cancel or threading.Event()
    result = FetchResult(entry.name, folder, size=entry.download_size)

    bad = _check_outputs(entry, folder)
    if not bad:
        return result
    if entry.members:
        todo = [entry.files[0]]
        extract_bytes = sum(m.size for m in entry.members)
    else:
        todo = [f for f in entry.files if f.filename in bad]
        extract_bytes = 0
    _check_space(entry, folder, sum(f.size for f in todo) + extract_bytes)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"The folder '{folder}' for {entry.title} cannot be created "
                        f"({e.strerror or e}).") from None

    report = _Reporter(entry.name, sum(f.size for f in todo), progress, cancel)
    downloaded = []
    try:
        report.emit("download", todo[0].filename, 0, report.total)
        with _quiet_pooch():
            for f in todo:
                if _download(entry, f, folder, report, cancel, retries, timeout, backoff):
                    downloaded.append(f.filename)
        if entry.members:
            _unpack(entry, folder, report.for_stage("extract", extract_bytes))
    except BaseException:
        with contextlib.suppress(OSError):
            folder.rmdir()   # only if empty: what was verified before stays
        raise
    return FetchResult(entry.name, folder, downloaded,
                       sum(f.size for f in todo if f.filename in downloaded),
                       entry.download_size)


# -- the steps -----------------------------------------------------------------------------------

def _check_outputs(entry: Entry, folder: Path) -> set[str]:
    """File names of the entry's outputs that are missing or fail their checksum (those are
    removed, so that they are downloaded again)."""
    bad = set(catalog.missing(entry, folder))
    for filename, _size, sha in entry.outputs():
        if filename in bad or sha is None:
            continue
        path = folder / filename
        if sha256_of(path) != sha:
            bad.add(filename)
            with contextlib.suppress(OSError):
                path.unlink()
    return bad


def sha256_of(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_space(entry: Entry, folder: Path, needed: int) -> None:
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError:
        return
    if free < needed:
        raise DataError(f"There is not enough free space for {entry.title} in '{folder}': it "
                        f"needs {human_size(needed)} and {human_size(free)} are free.")


def _download(entry: Entry, f: RemoteFile, folder: Path, report: _Reporter,
              cancel: threading.Event, retries: int, timeout: float, backoff: float) -> bool:
    """Fetch one file from its mirrors; True if it was downloaded (False: it was there)."""
    import pooch
    import requests

    failures: list[str] = []
    target = folder / f.filename
    for attempt in range(retries + 1):
        if attempt and cancel.wait(backoff):
            raise Cancelled(entry.name)
        network_error = False
        for url in f.urls:
            bar = report.file_bar(f)
            downloader = pooch.HTTPDownloader(
                progressbar=bar, chunk_size=CHUNK, timeout=timeout,
                headers={"User-Agent": f"GradLab/{__version__} (pooch)"})
            existed = target.exists()
            try:
                pooch.retrieve(url, known_hash=f"sha256:{f.sha256}", fname=f.filename,
                               path=folder, downloader=downloader)
            except requests.exceptions.RequestException as e:
                network_error = True
                failures.append(f"{_host(url)}: {_network_reason(e)}")
                continue
            except ValueError as e:   # pooch: the hash of the download does not match
                if "hash" not in str(e).lower():
                    raise
                failures.append(f"{_host(url)}: its SHA-256 checksum does not match the "
                                f"registry's")
                continue
            except OSError as e:
                _raise_disk(e, entry, folder, f)
            report.file_done(f)
            return not existed
        if not network_error:
            break
    tried = len(f.urls)
    raise DataError(f"{f.filename} of {entry.title} could not be downloaded from "
                    f"{'its mirror' if tried == 1 else f'any of its {tried} mirrors'} "
                    f"({'; '.join(_unique(failures))}); nothing was kept.")


def _unpack(entry: Entry, folder: Path, tick: Callable[[int], None]) -> None:
    from gradlab.data import cifar

    archive = folder / entry.files[0].filename
    members = [(m.path, m.size, m.sha256) for m in entry.members]
    try:
        cifar.extract(str(archive), members, str(folder), tick)
    except OSError as e:
        _raise_disk(e, entry, folder, entry.files[0])
    with contextlib.suppress(OSError):
        archive.unlink()


def _raise_disk(e: OSError, entry: Entry, folder: Path, f: RemoteFile):
    if e.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        raise DataError(f"The disk holding '{folder}' filled up while {f.filename} of "
                        f"{entry.title} was written; nothing half-written was kept.") from None
    raise DataError(f"{f.filename} of {entry.title} cannot be written to '{folder}' "
                    f"({e.strerror or e}); nothing half-written was kept.") from None


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _network_reason(e: Exception) -> str:
    import requests

    if isinstance(e, requests.exceptions.HTTPError) and e.response is not None:
        return f"HTTP {e.response.status_code}"
    if isinstance(e, requests.exceptions.Timeout):
        return "no answer in time"
    if isinstance(e, (requests.exceptions.ChunkedEncodingError,
                      requests.exceptions.ContentDecodingError)):
        return "the transfer was cut off"
    if isinstance(e, requests.exceptions.ConnectionError):
        return "cannot connect"
    return type(e).__name__


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Pooch logs every download at INFO on stderr; GradLab reports progress itself."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# -- progress ------------------------------------------------------------------------------------

class _Reporter:
    """Turns pooch's progress-bar calls into :class:`Progress` reports and checks ``cancel``."""

    def __init__(self, name: str, total: int, callback: ProgressCallback | None,
                 cancel: threading.Event):
        self.name, self.total, self.callback, self.cancel = name, total, callback, cancel
        self.base = 0  # bytes of the files finished before the current one

    def emit(self, stage: str, filename: str, done: int, total: int) -> None:
        if self.cancel.is_set():
            raise Cancelled(self.name)
        if self.callback is not None:
            self.callback(Progress(self.name, stage, filename, done, total))

    def file_bar(self, f: RemoteFile) -> _FileBar:
        return _FileBar(self, f)

    def file_done(self, f: RemoteFile) -> None:
        self.base += f.size
        self.emit("download", f.filename, self.base, self.total)

    def for_stage(self, stage: str, total: int) -> Callable[[int], None]:
        done = 0
        self.emit(stage, "", 0, total)

        def tick(n: int) -> None:
            nonlocal done
            done += n
            self.emit(stage, "", min(done, total), total)

        return tick


class _FileBar:
    """The progress-bar object pooch's HTTPDownloader drives (``total``, ``update``, ``reset``,
    ``close``)."""

    def __init__(self, reporter: _Reporter, f: RemoteFile):
        self.reporter, self.f = reporter, f
        self.total = f.size
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n
        r = self.reporter
        r.emit("download", self.f.filename, r.base + min(self.n, self.f.size), r.total)

    def reset(self) -> None:
        self.n = 0

    def close(self) -> None:
        pass


__all__ = ["Cancelled", "FetchResult", "Progress", "fetch", "sha256_of"]
