"""The catalog of downloadable datasets: where each file comes from, its size and its SHA-256,
and where the verified copies are kept.

The catalog is a JSON file, ``resources/datasets.json`` (shipped with the package), one entry per
dataset::

    {"mnist": {"format": "idx", "description": "...", "classes": ["0", ...],
               "files": {"train_images": {"filename": "train-images-idx3-ubyte.gz",
                                          "size": 9912422, "sha256": "440f...",
                                          "urls": ["https://mirror-1/...", "https://mirror-2/..."]},
                         "train_labels": {...}, "test_images": {...}, "test_labels": {...}}}}

Formats: ``idx`` (files ``train_images``, ``train_labels``, optional ``test_images`` and
``test_labels``), ``npz`` (one file ``data`` holding ``x_train``, ``y_train``, optional
``x_test``, ``y_test``) and ``cifar10_binary`` (one ``archive``, a .tar.gz whose ``members``,
listed with their sizes and SHA-256, are extracted and the archive dropped).

A mirror or a test replaces the catalog with ``--registry FILE`` or ``GRADLAB_DATA_REGISTRY``.
Verified files live in ``<data dir>/<dataset>/``; the data dir is the platform's user data folder
(``~/.local/share/gradlab/datasets`` on Linux) unless ``GRADLAB_DATA_DIR`` names another.

Everything read from a catalog file is checked before use (names, formats, sizes, hex digests,
URL schemes, file names without folders); a bad catalog is one sentence naming the file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradlab.errors import DataError

ENV_DIR = "GRADLAB_DATA_DIR"
ENV_REGISTRY = "GRADLAB_DATA_REGISTRY"
FORMATS = ("idx", "npz", "cifar10_binary")
#: the files each format needs (required, optional)
FORMAT_FILES = {
    "idx": (("train_images", "train_labels"), ("test_images", "test_labels")),
    "npz": (("data",), ()),
    "cifar10_binary": (("archive",), ()),
}
CIFAR_RECORD = 1 + 32 * 32 * 3
MAX_CATALOG_BYTES = 1 << 20
MAX_ENTRIES = 100
MAX_FILE_BYTES = 8 << 30
MAX_URLS = 10
MAX_MEMBERS = 20

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MEMBER = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,3}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_KEYS = {"title", "description", "format", "files", "members", "classes", "image_shape",
               "val_fraction", "checksums_from", "comment"}


def normalise(name: str) -> str:
    """``"Fashion-MNIST"`` -> ``"fashion_mnist"`` (as the dataset registry spells names)."""
    return name.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class RemoteFile:
    """One file to download: ``key`` is its role (``train_images``, ``archive``, ...)."""

    key: str
    filename: str
    size: int
    sha256: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    """A file extracted from an archive: ``path`` inside it, stored as ``filename``."""

    role: str        # "train" or "test"
    path: str
    size: int
    sha256: str | None

    @property
    def filename(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Entry:
    """One downloadable dataset of the catalog."""

    name: str
    title: str
    description: str
    format: str
    files: tuple[RemoteFile, ...]
    members: tuple[Member, ...] = ()
    classes: tuple[str, ...] = ()
    image_shape: tuple[int, int] | None = None
    val_fraction: float | None = None
    checksums_from: str = ""

    @property
    def download_size(self) -> int:
        """Bytes to download for the whole dataset."""
        return sum(f.size for f in self.files)

    def file(self, key: str) -> RemoteFile | None:
        return next((f for f in self.files if f.key == key), None)

    def outputs(self) -> list[tuple[str, int, str | None]]:
        """``(filename, size, sha256)`` of what is kept on disk once the dataset is fetched: the
        downloaded files, or for an archive the members extracted from it."""
        if self.members:
            return [(m.filename, m.size, m.sha256) for m in self.members]
        return [(f.filename, f.size, f.sha256) for f in self.files]


@dataclass(frozen=True)
class Catalog:
    """The datasets of one catalog file (``path``) by name."""

    path: str
    entries: dict[str, Entry]

    def names(self) -> list[str]:
        return sorted(self.entries)

    def get(self, name: str) -> Entry:
        """The entry ``name`` (any case, ``-`` for ``_``), or a DataError listing the names."""
        entry = self.entries.get(normalise(name)) if isinstance(name, str) else None
        if entry is None:
            raise DataError(f"There is no dataset {name!r} in the dataset registry '{self.path}' "
                            f"(it lists: {', '.join(self.names()) or 'nothing'}).")
        return entry


# -- locations -----------------------------------------------------------------------------------

def shipped_path() -> Path:
    """The catalog that comes with GradLab."""
    from gradlab._resources import resource_path

    return resource_path("datasets.json")


def registry_path(override: str | os.PathLike | None = None) -> Path:
    """The catalog in force: ``override``, else ``$GRADLAB_DATA_REGISTRY``, else the shipped one."""
    chosen = override or os.environ.get(ENV_REGISTRY)
    if chosen:
        return Path(os.path.abspath(os.path.expanduser(os.fspath(chosen))))
    return shipped_path()


def data_dir(override: str | os.PathLike | None = None) -> Path:
    """Where downloaded datasets are kept: ``override``, else ``$GRADLAB_DATA_DIR``, else the
    platform's user data folder + ``datasets``."""
    chosen = override or os.environ.get(ENV_DIR)
    if chosen:
        return Path(os.path.abspath(os.path.expanduser(os.fspath(chosen))))
    import platformdirs

    return Path(platformdirs.user_data_dir("gradlab", appauthor=False)) / "datasets"


def dataset_dir(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder of dataset ``name`` in the data dir ``root`` (default: :func:`data_dir`)."""
    return data_dir(root) / name


# -- reading and checking a catalog file ---------------------------------------------------------

_CACHE: dict[str, tuple[tuple[int, int], Catalog]] = {}


def load(path: str | os.PathLike | None = None) -> Catalog:
    """The catalog at ``path`` (see :func:`registry_path`), read and checked; cached until the
    file changes."""
    p = registry_path(path)
    where = f"The dataset registry '{p}'"
    try:
        st = p.stat()
    except FileNotFoundError:
        raise DataError(f"{where} does not exist.") from None
    except OSError as e:
        raise DataError(f"{where} cannot be read ({e.strerror or e}).") from None
    if not p.is_file():
        raise DataError(f"{where} is not a regular file.")
    if st.st_size > MAX_CATALOG_BYTES:
        raise DataError(f"{where} is {st.st_size:,} bytes, more than the "
                        f"{MAX_CATALOG_BYTES:,} a registry may hold.")
    key = (st.st_mtime_ns, st.st_size)
    hit = _CACHE.get(str(p))
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        text = p.read_bytes().decode("utf-8")
        raw = json.loads(text)
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{where} cannot be read ({e}).") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{where} is not valid JSON (line {e.lineno}: {e.msg}).") from None
    catalog = parse(raw, str(p))
    _CACHE[str(p)] = (key, catalog)
    return catalog


def parse(raw: Any, path: str = "<registry>") -> Catalog:
    """Check a decoded catalog and build it; a DataError names the file and the bad field."""
    where = f"The dataset registry '{path}'"
    if not isinstance(raw, dict):
        raise DataError(f"{where} must hold a JSON object of datasets by name.")
    if len(raw) > MAX_ENTRIES:
        raise DataError(f"{where} lists {len(raw)} datasets, more than {MAX_ENTRIES}.")
    entries = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise DataError(f"{where} names a dataset {name!r}; names are lower-case letters, "
                            f"digits and '_' (e.g. fashion_mnist).")
        entries[name] = _entry(name, value, f"{where}, entry '{name}',")
    return Catalog(path, entries)


def _bad(where: str, what: str) -> DataError:
    return DataError(f"{where} {what}.")


def _string(value: Any, where: str, key: str, *, max_len: int = 2000) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise _bad(where, f"has a '{key}' that is not a string of at most {max_len} characters")
    return value


def _count(value: Any, where: str, key: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise _bad(where, f"has a '{key}' of {value!r}; it must be a whole number of bytes from 1 "
                          f"to {maximum:,}")
    return value


def _sha(value: Any, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not _SHA256.match(value.lower()):
        raise _bad(where, f"has a sha256 of {value!r}, not 64 hexadecimal digits")
    return value.lower()


def _urls(value: Mapping, where: str) -> tuple[str, ...]:
    urls = value.get("urls", [value["url"]] if "url" in value else None)
    if not isinstance(urls, list) or not 1 <= len(urls) <= MAX_URLS:
        raise _bad(where, f"needs 'urls', a list of 1 to {MAX_URLS} download addresses")
    for u in urls:
        if not isinstance(u, str) or not re.match(r"^https?://[^\s/]+/\S*$", u) or len(u) > 2000:
            raise _bad(where, f"has the URL {u!r}; URLs must start with http:// or https://")
    return tuple(urls)


def _remote_file(key: str, value: Any, where: str) -> RemoteFile:
    where = f"{where} file '{key}'"
    if not isinstance(value, dict):
        raise _bad(where, "must be an object with filename, size, sha256 and urls")
    unknown = set(value) - {"filename", "size", "sha256", "urls", "url", "comment"}
    if unknown:
        raise _bad(where, f"has the unknown key '{sorted(unknown)[0]}'")
    filename = value.get("filename")
    if not isinstance(filename, str) or not _FILENAME.match(filename):
        raise _bad(where, f"has the filename {filename!r}; a file name without folders is needed")
    return RemoteFile(key, filename, _count(value.get("size"), where, "size", MAX_FILE_BYTES),
                      _sha(value.get("sha256"), where), _urls(value, where))


def _members(value: Any, where: str) -> tuple[Member, ...]:
    if not isinstance(value, dict) or set(value) - {"train", "test"} or "train" not in value:
        raise _bad(where, "needs 'members' with a 'train' list (and optionally 'test') of the "
                          "files to extract")
    out = []
    for role in ("train", "test"):
        items = value.get(role, [])
        if not isinstance(items, list) or len(items) > MAX_MEMBERS or (role == "train"
                                                                        and not items):
            raise _bad(where, f"has a members '{role}' that is not a list of 1 to {MAX_MEMBERS}")
        for item in items:
            mwhere = f"{where} member"
            if not isinstance(item, dict) or set(item) - {"path", "size", "sha256"}:
                raise _bad(mwhere, "must be an object with path, size and sha256")
            path = item.get("path")
            if not isinstance(path, str) or not _MEMBER.match(path) or ".." in path.split("/"):
                raise _bad(mwhere, f"has the path {path!r}; relative paths inside the archive "
                                   f"without '..' are needed")
            size = _count(item.get("size"), mwhere, "size", MAX_FILE_BYTES)
            if size % CIFAR_RECORD:
                raise _bad(mwhere, f"'{path}' has a size of {size:,} bytes, not a whole number "
                                   f"of {CIFAR_RECORD}-byte CIFAR records")
            out.append(Member(role, path, size, _sha(item.get("sha256"), mwhere, optional=True)))
    names = [m.filename for m in out]
    if len(set(names)) != len(names):
        raise _bad(where, "extracts two members to the same file name")
    return tuple(out)


def _entry(name: str, value: Any, where: str) -> Entry:
    if not isinstance(value, dict):
        raise _bad(where, "must be an object")
    unknown = set(value) - _ENTRY_KEYS
    if unknown:
        raise _bad(where, f"has the unknown key '{sorted(unknown)[0]}'")
    fmt = value.get("format")
    if fmt not in FORMATS:
        raise _bad(where, f"has the format {fmt!r} (choose from: {', '.join(FORMATS)})")
    files = value.get("files")
    if not isinstance(files, dict):
        raise _bad(where, "needs 'files', an object of the files to download")
    required, optional = FORMAT_FILES[fmt]
    for key in files:
        if key not in (*required, *optional):
            raise _bad(where, f"has the file '{key}', which the {fmt} format does not use "
                              f"(it uses: {', '.join((*required, *optional))})")
    for key in required:
        if key not in files:
            raise _bad(where, f"needs the file '{key}'")
    if optional and 0 < sum(k in files for k in optional) < len(optional):
        raise _bad(where, f"must give all or none of {' and '.join(optional)}")
    remote = tuple(_remote_file(k, files[k], where) for k in (*required, *optional) if k in files)
    if len({f.filename for f in remote}) != len(remote):
        raise _bad(where, "gives two files the same filename")
    members: tuple[Member, ...] = ()
    if fmt == "cifar10_binary":
        members = _members(value.get("members"), where)
    elif "members" in value:
        raise _bad(where, f"has 'members', which only an archive format uses, not {fmt}")

    classes = value.get("classes", [])
    if (not isinstance(classes, list) or len(classes) > 10_000
            or not all(isinstance(c, str) and 0 < len(c) <= 100 for c in classes)):
        raise _bad(where, "has 'classes' that is not a list of class names")
    shape = value.get("image_shape")
    if shape is not None:
        if (not isinstance(shape, list) or len(shape) != 2
                or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 4096
                           for s in shape)):
            raise _bad(where, f"has the image_shape {shape!r}; [height, width] is needed")
        shape = (shape[0], shape[1])
    vf = value.get("val_fraction")
    if vf is not None and (isinstance(vf, bool) or not isinstance(vf, (int, float))
                           or not math.isfinite(vf) or not 0 <= vf <= 0.9):
        raise _bad(where, f"has the val_fraction {vf!r}; it must be a number from 0 to 0.9")
    title = _string(value.get("title", name), where, "title", max_len=100)
    description = _string(value.get("description", title), where, "description")
    checksums_from = _string(value.get("checksums_from", ""), where, "checksums_from")
    return Entry(name, title, " ".join(description.split()), fmt, remote, members,
                 tuple(classes), shape, None if vf is None else float(vf), checksums_from)


# -- what is on disk -----------------------------------------------------------------------------

def missing(entry: Entry, folder: str | os.PathLike) -> list[str]:
    """File names of ``entry``'s outputs that are not in ``folder`` with their expected size."""
    out = []
    for filename, size, _sha in entry.outputs():
        path = os.path.join(folder, filename)
        try:
            st = os.stat(path)
        except OSError:
            out.append(filename)
            continue
        if not os.path.isfile(path) or st.st_size != size:
            out.append(filename)
    return out


def is_cached(entry: Entry, folder: str | os.PathLike) -> bool:
    """Every file of ``entry`` is in ``folder`` with its expected size (written only after its
    checksum was verified; :func:`gradlab.data.download.fetch` re-checks the checksums)."""
    return not missing(entry, folder)


@dataclass(frozen=True)
class Status:
    """A downloadable dataset as the Data panel and ``gradlab data list`` show it."""

    name: str
    title: str
    description: str
    download_size: int
    cached: bool
    folder: Path

    @property
    def label(self) -> str:
        """``"downloaded"`` or ``"Download (11 MB)"``."""
        return "downloaded" if self.cached else f"Download ({human_size(self.download_size)})"


def statuses(registry: str | os.PathLike | Catalog | None = None,
             root: str | os.PathLike | None = None) -> list[Status]:
    """Every dataset of the catalog in force, with its size and whether it is cached."""
    catalog = registry if isinstance(registry, Catalog) else load(registry)
    out = []
    for name, entry in catalog.entries.items():   # in the file's order
        folder = dataset_dir(name, root)
        out.append(Status(name, entry.title, entry.description, entry.download_size,
                          is_cached(entry, folder), folder))
    return out


def human_size(n: int) -> str:
    """Bytes for people: ``11594722`` -> ``"11 MB"`` (1 MB = 1024² bytes)."""
    value = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "bytes":
                return f"{int(value)} bytes"
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError  # unreachable


__all__ = ["Catalog", "Entry", "Member", "RemoteFile", "Status", "data_dir", "dataset_dir",
           "human_size", "is_cached", "load", "missing", "parse", "registry_path", "statuses"]
