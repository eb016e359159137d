"""Writing and reading the ``.gradlab`` session file.

A session is one zip archive::

    manifest.json            first member: UTF-8, strict JSON (no NaN/Infinity), indent 1
    arrays/<name>.npy        one NumPy .npy per array, written and read with allow_pickle=False

The manifest is the caller's dict plus the keys this module owns: ``format``
(``"gradlab-session"``), ``format_version``, ``app_version``, ``created`` (kept from the caller if
given), ``saved`` (ISO-8601 UTC) and ``arrays``, the table ``{name: {"shape": [...], "dtype":
"<f4"}}`` that loading checks every member against.

Float members are stored, everything else (manifest, histogram counts, steps, flags) is deflated
at level 1. Measured on a 22.9 MB mix standing for 100,000 steps (12.8 MB int32/bool: sparse
histogram counts and step columns; 6.9 MB float32 history columns and probe statistics; 3.2 MB
float32 parameters and optimiser state), 2 cores, warm page cache:

    all ZIP_STORED       22.9 MB   save 85 ms    load 36 ms
    all DEFLATED (1)     10.1 MB   save 454 ms   load 117 ms
    this mix             11.6 MB   save 134 ms   load 71 ms

(The same at 52.5 MB raw: 52.5 / 20.9 / 24.3 MB, save 234 / 1139 / 320 ms, load 69 / 254 / 121
ms.) Floats barely deflate (to 81-93%) yet took three quarters of the compression time; counts
shrink to 12%. Reading accepts any member compression zipfile knows.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import re
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from gradlab._version import __version__
from gradlab.errors import InputError, SessionError
from gradlab.fileio import atomic_write
from gradlab.safeio import (
    NPY_MAX_HEADER,
    FileRefused,
    JsonRefused,
    MemberRefused,
    format_bytes,
    load_json,
    memory_budget,
    npy_header,
    open_regular,
    open_zip,
    printable,
    read_npy_member,
)
from gradlab.session import migrations

FORMAT_NAME = "gradlab-session"
FORMAT_VERSION = 1
SUFFIX = ".gradlab"

MANIFEST_MEMBER = "manifest.json"
ARRAY_DIR = "arrays/"
ARRAY_EXT = ".npy"

_STORED_KINDS = "fc"  # float members are stored; the rest (counts, flags, steps) deflated, level 1
#: manifest.json: at most this many bytes (inflated) and this deep; what the manifest holds is
#: small (the spec, a few hundred events), so 16 MB is far beyond a real session's
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_MANIFEST_DEPTH = 64
_MAX_NDIM = 32
_MAX_DIM = 2**62
_ALWAYS_FITS = 64 * 2**20  # a table below this is not measured against the memory budget
_ZIP64_ABOVE = 2**30  # members this large get zip64 headers up front (their size is unknown)
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-/]+")
_DTYPE_KINDS = "biufcmMSU"  # plain numbers, datetimes and fixed-width strings; no void/objects

Arrays = dict[str, np.ndarray]


# --------------------------------------------------------------------------------------- writing


def write(path: str | os.PathLike, manifest: Mapping[str, Any], arrays: Mapping[str, Any]) -> None:
    """Save ``manifest`` and ``arrays`` to ``path``, atomically.

    The archive is written to a temporary file in the same folder, flushed to disk and renamed over
    ``path``: a crash or an error mid-save leaves the previous file untouched and no temporary file
    behind. Saving over an existing file keeps its permissions; saving through a symbolic link
    updates the file it points to; a read-only file is never replaced (see
    :mod:`gradlab.fileio`).

    Raises
    ------
    ValueError
        Before touching the disk, for what a session cannot hold: a non-finite float or a non-JSON
        value in the manifest (the message names the key path, e.g. ``manifest.events[3].loss``),
        an array name outside ``[A-Za-z0-9_.-/]+`` or with an empty, ``.`` or ``..`` part, an
        object, structured or void dtype.
    OSError
        From the file system (folder missing, disk full, permission denied).
    """
    if not isinstance(manifest, Mapping):
        raise TypeError(f"the manifest must be a dict, got {type(manifest).__name__}")
    checked = _check_arrays(arrays)
    doc = _full_manifest(manifest, checked)
    data = json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=False, allow_nan=False)
    atomic_write(path, lambda fh: _write_zip(fh, data.encode("utf-8"), checked))


def _check_arrays(arrays: Mapping[str, Any]) -> Arrays:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a dict of name -> array, got {type(arrays).__name__}")
    checked = {}
    for name, value in arrays.items():
        if not _valid_name(name):
            raise ValueError(
                f"array name {name!r} is not allowed: use letters, digits, '_', '.', '-' and '/' "
                "between non-empty parts, none of them '.' or '..'"
            )
        a = np.asarray(value)
        if a.dtype.hasobject:
            raise ValueError(
                f"array {name!r} has dtype object: a session stores numbers, never pickled objects"
            )
        if a.dtype.kind not in _DTYPE_KINDS:
            raise ValueError(f"array {name!r} has a structured or void dtype ({a.dtype}), "
                             "which a session does not store")
        checked[name] = a
    return checked


def _valid_name(name: object) -> bool:
    return (
        isinstance(name, str)
        and _NAME_RE.fullmatch(name) is not None
        and all(part not in ("", ".", "..") for part in name.split("/"))
    )


def _full_manifest(manifest: Mapping[str, Any], arrays: Arrays) -> dict:
    body = _plain(manifest, "manifest", ())
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    created = body.get("created")
    doc = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "app_version": _app_version(),
        "created": created if isinstance(created, str) and created else now,
        "saved": now,
    }
    doc.update((k, v) for k, v in body.items() if k not in doc and k != "arrays")
    doc["arrays"] = _describe(arrays)
    return doc


def _app_version() -> str:
    return __version__


def _describe(arrays: Arrays) -> dict:
    return {name: {"shape": list(a.shape), "dtype": a.dtype.str} for name, a in arrays.items()}


def _plain(value: Any, where: str, parents: tuple[int, ...]) -> Any:
    """A JSON-safe copy of ``value``; ValueError naming ``where`` for what JSON cannot hold."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"{where} is {float(value)!r}: a session manifest cannot hold NaN or infinity "
                "(store such numbers in an array)"
            )
        return float(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return _plain(value.item(), where, parents)
    if isinstance(value, (Mapping, list, tuple)):
        if id(value) in parents:
            raise ValueError(f"{where} contains itself")
        inner = (*parents, id(value))
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"{where} has the key {key!r}: manifest keys must be strings")
                out[str(key)] = _plain(item, f"{where}.{key}", inner)
            return out
        return [_plain(item, f"{where}[{i}]", inner) for i, item in enumerate(value)]
    raise ValueError(f"{where} is a {type(value).__name__}, which a session manifest cannot hold")


def _write_zip(fh, manifest_bytes: bytes, arrays: Arrays) -> None:
    with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr(MANIFEST_MEMBER, manifest_bytes)
        for name, a in arrays.items():
            member = ARRAY_DIR + name + ARRAY_EXT
            with zf.open(_member(member, a), "w", force_zip64=a.nbytes > _ZIP64_ABOVE) as out:
                np.lib.format.write_array(out, a, allow_pickle=False)


def _member(member: str, a: np.ndarray) -> str | zipfile.ZipInfo:
    """Floats barely deflate (random mantissa bits) and would cost most of the save time, so
    they are stored; a plain name takes the archive's default, ZIP_DEFLATED level 1."""
    if not _stored(a):
        return member
    info = zipfile.ZipInfo(member, date_time=time.localtime()[:6])
    info.compress_type = zipfile.ZIP_STORED
    return info


def _stored(a: np.ndarray) -> bool:
    return a.dtype.kind in _STORED_KINDS


# --------------------------------------------------------------------------------------- reading

#: ``check(manifest, table)``: called with the checked manifest and ``{array: (shape, dtype)}``
#: before any array is inflated; it raises to refuse the file
Check = Callable[[dict, dict], None]


def read(
    path: str | os.PathLike, *, check: Check | None = None, max_bytes: int | None = None
) -> tuple[dict, Arrays]:
    """Load ``(manifest, arrays)`` from ``path``, checked and migrated to :data:`FORMAT_VERSION`.

    Never unpickles. Bounded before any work: only a regular file is opened (a device, FIFO or
    socket is refused by name), the zip directory and ``manifest.json`` are capped in size, the
    manifest in depth and object count and its numbers in range. Every array is checked against
    the manifest's ``arrays`` table and its zip entry's declared size, and the table's total
    against ``max_bytes`` (default: :func:`gradlab.safeio.memory_budget`) before anything is
    inflated; then ``check(manifest, table)`` (if given) may refuse it, still before inflating
    (for a session in the current format only: an older one is checked after its migration).
    Inflating stops at the declared sizes and every CRC is checked.

    Anything that cannot be read raises :class:`~gradlab.errors.SessionError` whose message is
    one sentence naming ``path``; an error ``check`` raises is turned into one too.
    """
    name = os.fsdecode(path)
    with _opened(path, name) as zf:
        manifest = _load_manifest(zf, name)
        table = _check_table(zf, manifest, name, measure=True, max_bytes=max_bytes)
        if check is not None and manifest["format_version"] == FORMAT_VERSION:
            _run_check(check, manifest, table, name)
        arrays = {arr: _load_array(zf, arr, shape, dtype, name)
                  for arr, (shape, dtype) in table.items()}
    return _upgrade(manifest, arrays, name)


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of ``path`` without reading its arrays (for ``gradlab info`` and tooltips).

    Checked like :func:`read`, except for the arrays' contents: the format, the version and that
    the ``arrays`` table matches the archive's members. A session in an older format is read in
    full and migrated, so the manifest is always the one :func:`read` would return.
    """
    name = os.fsdecode(path)
    with _opened(path, name) as zf:
        manifest = _load_manifest(zf, name)
        _check_table(zf, manifest, name)
    if manifest["format_version"] != FORMAT_VERSION:
        return read(path)[0]
    return manifest


def _run_check(check: Check, manifest: dict, table: dict, name: str) -> None:
    try:
        check(manifest, table)
    except SessionError:
        raise
    except InputError as exc:
        raise SessionError(f"{name} cannot be opened ({_short(_sentence(exc), 300)}).") from exc


def _sentence(exc: BaseException) -> str:
    return str(exc).rstrip(".")


def _foreign(name: str, why: str) -> SessionError:
    return SessionError(f"{name} is not a GradLab session ({why}).")


def _truncated(name: str, why: str) -> SessionError:
    return SessionError(f"{name} is truncated or corrupted ({why}); it cannot be opened.")


def _corrupted(name: str, why: str) -> SessionError:
    return SessionError(f"{name} is corrupted ({why}); it cannot be opened.")


def _unsafe(name: str, arr: str) -> SessionError:
    return SessionError(
        f"{name} cannot be opened safely (array {arr!r} holds Python objects, "
        "which GradLab never unpickles)."
    )


def _short(value: object, limit: int = 120) -> str:
    return printable(" ".join(str(value).split()), limit)


@contextlib.contextmanager
def _opened(path: str | os.PathLike, name: str) -> Iterator[zipfile.ZipFile]:
    """The open archive; every failure inside the block becomes one SessionError sentence."""
    try:
        try:
            fh = open_regular(path)  # closed by the `with fh` below
        except FileRefused as exc:
            raise SessionError(exc.sentence(name, "session file")) from None
        with fh:
            head = fh.read(4)
            if not head:
                raise _foreign(name, "the file is empty")
            fh.seek(0)
            try:
                zf = open_zip(fh)
            except zipfile.BadZipFile:
                if head == b"PK\x03\x04":  # starts like a zip, but its directory is gone
                    raise _truncated(name, "the end of the zip archive is missing") from None
                raise _foreign(name, "not a zip archive") from None
            except MemberRefused as exc:
                raise _corrupted(name, f"its zip {exc.reason}") from None
            with zf:
                yield zf
    except SessionError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _truncated(name, _short(exc) or type(exc).__name__) from exc
    except OSError as exc:
        raise SessionError(f"{name} cannot be read ({_short(exc.strerror or exc)}).") from exc
    except MemoryError as exc:
        detail = f" ({_short(exc)})" if str(exc).strip() else ""
        raise SessionError(f"{name} cannot be opened: not enough memory{detail}.") from None
    except RecursionError:
        raise _corrupted(name, "it is nested too deeply to read") from None
    except Exception as exc:  # the boundary: anything else still becomes one sentence
        why = f"{type(exc).__name__}: {_short(exc)}"
        raise SessionError(f"{name} cannot be opened ({why}).") from exc


def _load_manifest(zf: zipfile.ZipFile, name: str) -> dict:
    try:
        info = zf.getinfo(MANIFEST_MEMBER)
    except KeyError:
        raise _foreign(name, "it has no manifest.json") from None
    if info.file_size > MAX_MANIFEST_BYTES:
        raise _foreign(name, f"manifest.json is larger than {MAX_MANIFEST_BYTES >> 20} MB")
    raw = zf.read(info)  # inflating stops at the declared size; the CRC is checked
    try:
        manifest = load_json(raw.decode("utf-8"), max_depth=MAX_MANIFEST_DEPTH)
    except UnicodeDecodeError:
        raise _foreign(name, "manifest.json is not UTF-8 text") from None
    except JsonRefused as exc:
        if "valid JSON" in exc.reason:
            raise _foreign(name, f"manifest.json {_short(exc.reason)}") from None
        raise _corrupted(name, f"manifest.json {_short(exc.reason)}") from None
    if not isinstance(manifest, dict):
        raise _foreign(name, "manifest.json does not hold a JSON object")
    fmt = manifest.get("format")
    if fmt != FORMAT_NAME:
        raise _foreign(name, "manifest.json names no format" if fmt is None
                       else f"its format is {_short(repr(fmt), 60)}, not {FORMAT_NAME!r}")

    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        shown = "missing" if "format_version" not in manifest else _short(repr(version), 60)
        raise SessionError(
            f"{name} has an invalid session format version ({shown}); it cannot be opened."
        )
    if version > FORMAT_VERSION:
        app = manifest.get("app_version")
        app = _short(app, 40) if isinstance(app, str) and app.strip() else "unknown"
        raise SessionError(
            f"{name} was saved by a newer GradLab (session format {version}, app {app}); "
            f"this version reads up to format {FORMAT_VERSION}. Upgrade GradLab to open it."
        )
    return manifest


def _check_table(
    zf: zipfile.ZipFile,
    manifest: dict,
    name: str,
    *,
    measure: bool = False,
    max_bytes: int | None = None,
) -> dict:
    """``{array: (shape, dtype)}`` from the manifest, checked against the archive's members and
    their declared sizes; with ``measure`` its total against ``max_bytes`` (None: the memory
    budget). All before inflating anything."""
    table = manifest.get("arrays")
    if not isinstance(table, dict):
        raise _corrupted(name, "manifest.json has no arrays table")
    out = {}
    for arr, entry in table.items():
        if not _valid_name(arr):
            raise _corrupted(name, f"manifest.json lists an array named {_short(repr(arr), 60)}")
        shape, dtype = _parse_entry(entry)
        if dtype is None or shape is None:
            raise _corrupted(name, f"manifest.json describes array {arr!r} badly")
        if dtype.hasobject:
            raise _unsafe(name, arr)
        if dtype.kind not in _DTYPE_KINDS:
            raise _corrupted(name, f"array {arr!r} has the unsupported dtype {dtype.str!r}")
        out[arr] = (shape, dtype)

    members = [info.filename for info in zf.infolist()]
    present = set(members)
    if len(present) != len(members):
        raise _corrupted(name, "the zip archive holds a member twice")
    expected = {ARRAY_DIR + arr + ARRAY_EXT for arr in out}
    for member in members:
        if member == MANIFEST_MEMBER or member in expected:
            continue
        if member.startswith(ARRAY_DIR) and member.endswith(ARRAY_EXT):
            arr = member[len(ARRAY_DIR) : -len(ARRAY_EXT)]
            raise _corrupted(name, f"array {_short(repr(arr), 60)} is in the file but not in "
                                   "the manifest")
        raise _corrupted(name, f"it holds an unexpected member {_short(repr(member), 60)}")
    total = 0
    for arr, (shape, dtype) in out.items():
        member = ARRAY_DIR + arr + ARRAY_EXT
        if member not in present:
            raise _corrupted(name, f"array {arr!r} is in the manifest but missing from the file")
        nbytes = math.prod(shape) * dtype.itemsize
        stored = zf.getinfo(member).file_size
        if not nbytes < stored <= nbytes + NPY_MAX_HEADER + 16:
            raise _truncated(name, f"array {arr!r} is declared as {format_bytes(nbytes)} but "
                                   f"its zip entry holds {format_bytes(stored)}")
        total += nbytes
    if measure and (max_bytes is not None or total > _ALWAYS_FITS):
        budget = memory_budget()
        limit = budget.nbytes if max_bytes is None else max_bytes
        if total > limit:
            why = (budget.exceeded(total) if max_bytes is None else
                   f"would take about {format_bytes(total)} of memory, more than the "
                   f"{format_bytes(limit)} allowed")
            raise SessionError(f"{name} cannot be opened: its arrays {why}.")
    return out


def _parse_entry(entry: object) -> tuple[tuple[int, ...] | None, np.dtype | None]:
    if not isinstance(entry, dict):
        return None, None
    shape, descr = entry.get("shape"), entry.get("dtype")
    if not isinstance(shape, list) or len(shape) > _MAX_NDIM or not all(
        isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= _MAX_DIM for n in shape
    ):
        shape = None
    dtype = None
    if isinstance(descr, str) and len(descr) <= 16:
        try:
            dtype = np.dtype(descr)
        except Exception:  # TypeError, or a DeprecationWarning turned error: any unreadable dtype
            dtype = None
    return (None if shape is None else tuple(shape)), dtype


def _load_array(
    zf: zipfile.ZipFile, arr: str, shape: tuple[int, ...], dtype: np.dtype, name: str
) -> np.ndarray:
    info = zf.getinfo(ARRAY_DIR + arr + ARRAY_EXT)
    try:
        head = npy_header(zf, info)
    except MemberRefused as exc:
        if not exc.damaged and "Python objects" in exc.reason:
            raise _unsafe(name, arr) from None
        raise _truncated(name, f"array {arr!r}: {exc.reason}") from None
    if head.dtype.str != dtype.str:
        raise _corrupted(
            name, f"array {arr!r} has dtype {head.dtype.str} but the manifest says {dtype.str}"
        )
    if head.shape != shape:
        raise _corrupted(
            name, f"array {arr!r} has shape {head.shape} but the manifest says {shape}"
        )
    try:
        return read_npy_member(zf, info, head)
    except MemberRefused as exc:
        raise _truncated(name, f"array {arr!r}: {exc.reason}") from None


def _upgrade(manifest: dict, arrays: Arrays, name: str) -> tuple[dict, Arrays]:
    version = manifest["format_version"]
    if version == FORMAT_VERSION:
        return manifest, arrays
    try:
        manifest, arrays = migrations.migrate(manifest, arrays, FORMAT_VERSION)
        arrays = _check_arrays(arrays)
    except migrations.MissingMigration as exc:
        raise SessionError(
            f"{name} is in session format {version}, and this GradLab cannot upgrade format "
            f"{exc.version} to {exc.version + 1}; it cannot be opened."
        ) from exc
    except migrations.MigrationFailed as exc:
        raise SessionError(
            f"{name} could not be upgraded from session format {exc.version} to "
            f"{exc.version + 1} ({_short(exc.reason)})."
        ) from exc
    except (TypeError, ValueError) as exc:
        raise SessionError(
            f"{name} could not be upgraded from session format {version} to {FORMAT_VERSION} "
            f"({_short(exc)})."
        ) from exc
    manifest["arrays"] = _describe(arrays)
    return manifest, arrays
