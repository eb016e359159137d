"""Reading what anyone may hand GradLab, bounded before any work is done on it.

Sessions, specs and data files come from lecturers, students and paper supplements, so every
reader goes through these helpers (no Qt here; the window uses :func:`printable` too):

- :func:`open_regular` / :func:`read_capped`: only regular files are opened. A device
  (``/dev/zero``), a FIFO, a socket or a folder is refused by name before a byte is read, and a
  FIFO is opened non-blocking so even the race between the check and the open cannot hang.
- :func:`load_json`: size, nesting depth and object count are capped, every number is range
  checked (no ``1e999`` turning into infinity, no ``NaN``, no 5,000-digit integers).
- :func:`open_zip` and :func:`read_npy_member`: a zip archive's directory is bounded before it is
  read, and each ``.npy`` member's header must agree with the size the zip entry declares before
  anything is inflated; inflating stops at that size.
- :func:`memory_budget`: how much memory GradLab lets one input take: a share of this machine's
  RAM (``GRADLAB_MAX_MEMORY``: ``"50%"``, ``"4G"``, ``"512M"``), never more than a cgroup or
  ``ulimit -v`` allows.
- :func:`printable`: text from a file made safe to show: terminal escape sequences, other
  control characters and bidirectional overrides are shown as ``\\x1b``-style escapes.

Refusals raise :class:`FileRefused`, :class:`JsonRefused` or :class:`MemberRefused`
(:class:`~gradlab.errors.InputError` subclasses, so they are one sentence); each carries the
parts a reader needs to phrase its own sentence (``problem``, ``reason``).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from gradlab.errors import InputError

MEMORY_ENV = "GRADLAB_MAX_MEMORY"
DEFAULT_MEMORY_SHARE = 0.5
#: JSON from a file: at most this deep, this many objects and lists, integers this large
MAX_JSON_DEPTH = 64
MAX_JSON_CONTAINERS = 1_000_000
MAX_JSON_INT = 2**256
#: a zip archive's directory: at most this many members and this many bytes
MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_DIRECTORY = 64 * 2**20
#: the largest .npy header numpy reads (its own default ``max_header_size``)
NPY_MAX_HEADER = 10_000


# ------------------------------------------------------------------------------- regular files
class FileRefused(InputError):
    """A path that is not a readable regular file, or one too large to read.

    ``problem`` is one of ``"missing"``, ``"folder"``, ``"special"`` (``kind`` says which:
    ``"a FIFO (named pipe)"``, ``"a character device"``...), ``"permission"``,
    ``"too_large"`` (``size`` and ``limit`` in bytes) or ``"unreadable"`` (``detail``).
    """

    def __init__(self, path: str, problem: str, *, kind: str = "", detail: str = "",
                 size: int = 0, limit: int = 0):
        self.path, self.problem, self.kind, self.detail = path, problem, kind, detail
        self.size, self.limit = size, limit
        super().__init__(self.sentence(path, "regular file"))

    def sentence(self, shown: str, what: str) -> str:
        """One sentence about ``shown`` (the path as the reader names it), a ``what``."""
        p = self.problem
        if p == "missing":
            return f"{shown} does not exist."
        if p == "folder":
            return f"{shown} is a folder, not a {what}."
        if p == "special":
            return f"{shown} is {self.kind}, not a {what} (GradLab reads only regular files)."
        if p == "permission":
            return f"{shown} cannot be read (permission denied)."
        if p == "too_large":
            return (f"{shown} is {format_bytes(self.size)}, more than the "
                    f"{format_bytes(self.limit)} a {what} may take.")
        return f"{shown} cannot be read ({self.detail})."


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _refusal(path: str, exc: OSError) -> FileRefused:
    if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
        return FileRefused(path, "missing")
    if isinstance(exc, IsADirectoryError):
        return FileRefused(path, "folder")
    if isinstance(exc, PermissionError):
        if os.path.isdir(path):  # Windows says "permission denied" for folders
            return FileRefused(path, "folder")
        return FileRefused(path, "permission")
    return FileRefused(path, "unreadable", detail=exc.strerror or str(exc) or type(exc).__name__)


def check_regular(path: str | os.PathLike) -> os.stat_result:
    """``os.stat(path)`` if it is a regular file (links followed), else :class:`FileRefused`."""
    p = os.fspath(path)
    try:
        st = os.stat(p)
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        if isinstance(exc, ValueError):
            raise FileRefused(p, "unreadable", detail="the name holds a NUL byte") from None
        raise _refusal(p, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise FileRefused(p, "folder")
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(p, "special", kind=_kind(st.st_mode))
    return st


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """Open ``path`` for binary reading if, and only if, it is a regular file.

    Checked twice: before opening (so a device or FIFO is refused by name) and on the open file
    descriptor (so a file swapped for a FIFO in between is refused too; the open is non-blocking,
    so it cannot hang waiting for a writer).
    """
    p = os.fspath(path)
    check_regular(p)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise _refusal(p, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(p, "special", kind=_kind(st.st_mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused (:class:`FileRefused`, ``"too_large"``)
    beyond ``limit`` bytes, whatever its size says (a file that grows while read included)."""
    p = os.fspath(path)
    with open_regular(p) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise FileRefused(p, "too_large", size=size, limit=limit)
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise _refusal(p, exc) from None
    if len(data) > limit:
        raise FileRefused(p, "too_large", size=len(data), limit=limit)
    return data


# ------------------------------------------------------------------------------- memory budget
@dataclass(frozen=True)
class Budget:
    """How many bytes one input may take, and a phrase saying where the figure comes from."""

    nbytes: int
    source: str

    def exceeded(self, needed: int) -> str:
        """``"would take about 15 GB of memory, more than the 11 GB GradLab may use (...)"``:
        the end of a sentence whose subject the caller gives (no full stop)."""
        return (f"would take about {format_bytes(needed)} of memory, more than the "
                f"{format_bytes(self.nbytes)} GradLab may use ({self.source})")


def format_bytes(n: float) -> str:
    """``1536 -> "1.5 KB"``, ``3 * 2**30 -> "3.2 GB"`` (decimal units, three digits at most)."""
    n = float(n)
    if abs(n) >= 1e18:
        return f"{n:.2g} bytes"
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} bytes" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def parse_size(text: str) -> tuple[float | None, int | None]:
    """``"50%"`` -> (0.5, None); ``"4G"``, ``"512M"``, ``"1.5GB"``, ``"1000000"`` -> (None, bytes).
    Raises ValueError for anything else."""
    t = text.strip().upper().replace(" ", "")
    if t.endswith("%"):
        share = float(t[:-1]) / 100
        if not (math.isfinite(share) and 0 < share <= 1):
            raise ValueError(text)
        return share, None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)(I?B)?", t)
    if not m:
        raise ValueError(text)
    value = float(m.group(1)) * 1024 ** " KMGT".index(m.group(2) or " ")
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(text)
    return None, int(value)


def physical_memory() -> int | None:
    """Bytes of RAM, or None where the platform does not say."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return _windows_memory()
    return pages * size if pages > 0 and size > 0 else None


def _windows_memory() -> int | None:  # pragma: no cover - Windows only
    try:
        import ctypes

        class Status(ctypes.Structure):
            _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong),
                        ("total", ctypes.c_ulonglong), ("avail", ctypes.c_ulonglong),
                        ("pt", ctypes.c_ulonglong), ("pa", ctypes.c_ulonglong),
                        ("vt", ctypes.c_ulonglong), ("va", ctypes.c_ulonglong),
                        ("ext", ctypes.c_ulonglong)]

        s = Status()
        s.length = ctypes.sizeof(Status)
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(s)):
            return int(s.total)
    except Exception:
        return None
    return None


def _cgroup_limit() -> int | None:
    """The memory limit of this process's cgroup (v2 ``memory.max``), if any."""
    try:
        text = read_capped("/sys/fs/cgroup/memory.max", 64).decode().strip()
    except (InputError, OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _address_space_left() -> int | None:
    """What ``ulimit -v`` (RLIMIT_AS) leaves this process, if it is set."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft in (resource.RLIM_INFINITY, -1) or soft <= 0:
        return None
    used = 0
    try:
        used = int(read_capped("/proc/self/statm", 4096).split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (InputError, OSError, ValueError, IndexError, AttributeError):
        pass
    return max(soft - used, 0)


def memory_budget() -> Budget:
    """The memory one input (a spec's network, a session's arrays, a dataset) may take.

    ``GRADLAB_MAX_MEMORY`` (a share such as ``"50%"`` or a size such as ``"4G"``) sets it; the
    default is half of this machine's RAM. A cgroup limit scales the share, and what
    ``ulimit -v`` leaves this process caps it. An unreadable setting raises
    :class:`~gradlab.errors.InputError`.
    """
    setting = os.environ.get(MEMORY_ENV, "").strip()
    share, fixed = DEFAULT_MEMORY_SHARE, None
    if setting:
        try:
            share, fixed = parse_size(setting)
        except (ValueError, OverflowError):
            raise InputError(f"{MEMORY_ENV}={printable(setting, 40)} is neither a share such as "
                             f"50% nor a size such as 4G or 512M.") from None
    ram = physical_memory()
    cgroup = _cgroup_limit()
    total = min(x for x in (ram, cgroup, 2**62) if x is not None)
    where = "this machine's" if cgroup is None or (ram is not None and ram <= cgroup) else "the"
    if fixed is not None:
        nbytes, source = fixed, f"{MEMORY_ENV}={setting}"
    else:
        nbytes = int(share * total)
        origin = f"{MEMORY_ENV}={setting}" if setting else f"set {MEMORY_ENV} to change it"
        source = f"{share:.0%} of {where} {format_bytes(total)}; {origin}"
    left = _address_space_left()
    if left is not None and left < nbytes:
        nbytes, source = int(left * 0.8), f"what 'ulimit -v' leaves; {source}"
    return Budget(max(nbytes, 0), source)


# ------------------------------------------------------------------------------- JSON
class JsonRefused(InputError):
    """JSON text that is not read; ``reason`` continues a sentence whose subject is the text
    (``"is nested more than 64 levels deep"``)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"The JSON text {reason}.")


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise JsonRefused(f"holds the number {printable(token, 30)}, which is out of range")
    return value


def _bounded_int(token: str) -> int:
    if len(token.lstrip("-")) > 80:
        raise JsonRefused(f"holds an integer of {len(token.lstrip('-')):,} digits, which is out "
                          "of range")
    value = int(token)
    if abs(value) > MAX_JSON_INT:
        raise JsonRefused(f"holds the integer {printable(token, 30)}, which is out of range")
    return value


def load_json(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH,
              max_containers: int = MAX_JSON_CONTAINERS) -> Any:
    """Parse strict JSON whose size was capped by the caller, bounded in depth and count.

    Refused with :class:`JsonRefused`: not UTF-8, not JSON, ``NaN``/``Infinity``, a number
    outside the float range or an integer beyond 2**256, more than ``max_containers`` objects
    and lists (counted before parsing, so memory stays bounded) or deeper than ``max_depth``.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise JsonRefused(f"is not UTF-8 (byte 0x{text[exc.start]:02X} at offset "
                              f"{exc.start:,})") from None
    opening = text.count("{") + text.count("[")  # an upper bound: brackets in strings count too
    if opening > max_containers:
        raise JsonRefused(f"holds more than {max_containers:,} objects and lists")
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                           parse_int=_bounded_int)
    except RecursionError:
        raise JsonRefused(f"is nested more than {max_depth} levels deep") from None
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg})") from None
    except ValueError as exc:
        raise JsonRefused(f"is not valid JSON ({printable(str(exc), 80)})") from None
    if json_depth(value) > max_depth:
        raise JsonRefused(f"is nested more than {max_depth} levels deep")
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(value: Any) -> None:
    """Text must be Unicode that can be written back: JSON's ``\\ud800`` escapes can spell half
    a character (a lone surrogate), which no UTF-8 file can hold."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise JsonRefused(
                    "holds text that is not valid Unicode (half of a character, a lone "
                    "surrogate)"
                ) from None


def read_json_file(path: str | os.PathLike, max_bytes: int, *,
                   max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value in the regular file ``path`` (a spec, for example): at most
    ``max_bytes``, bounded like :func:`load_json`. :class:`FileRefused` or :class:`JsonRefused`
    (both one sentence) otherwise."""
    return load_json(read_capped(path, max_bytes), max_depth=max_depth)


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


# ------------------------------------------------------------------------------- zip and .npy
class MemberRefused(InputError):
    """A zip member or ``.npy`` array that is not read; ``reason`` is a phrase such as
    ``"declares 3.2 GB but its zip entry holds 1 KB"`` and ``damaged`` tells a lie or a broken
    stream (True) from an array that is merely too large or unsafe (False)."""

    def __init__(self, reason: str, damaged: bool = True):
        self.reason, self.damaged = reason, damaged
        super().__init__(f"The array {reason}.")


def open_zip(fh: BinaryIO) -> zipfile.ZipFile:
    """A :class:`zipfile.ZipFile` on ``fh`` whose directory was bounded before it was read:
    at most :data:`MAX_ZIP_MEMBERS` members in at most :data:`MAX_ZIP_DIRECTORY` bytes.
    Raises :class:`zipfile.BadZipFile` for what is not a zip archive, :class:`MemberRefused`
    for a directory beyond the bounds."""
    end = getattr(zipfile, "_EndRecData", None)  # the reader zipfile itself uses
    if end is not None:
        rec = end(fh)
        if rec is None:
            raise zipfile.BadZipFile("File is not a zip file")
        members, size = rec[4], rec[5]  # _ECD_ENTRIES_TOTAL, _ECD_SIZE (zip64-aware)
        if members > MAX_ZIP_MEMBERS or size > MAX_ZIP_DIRECTORY:
            raise MemberRefused(f"archive lists {members:,} members in a "
                                f"{format_bytes(size)} directory, more than GradLab reads "
                                f"({MAX_ZIP_MEMBERS:,} members)", damaged=False)
        fh.seek(0)
    return zipfile.ZipFile(fh)


#: what reading a damaged, encrypted or oddly compressed member raises (zipfile raises
#: RuntimeError for a password, NotImplementedError for an unknown compression method)
_DAMAGED = (ValueError, EOFError, OSError, zipfile.BadZipFile, zlib.error, RuntimeError,
            NotImplementedError)


@dataclass(frozen=True)
class NpyHeader:
    shape: tuple[int, ...]
    fortran: bool
    dtype: np.dtype
    header_bytes: int

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def npy_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> NpyHeader:
    """The ``.npy`` header of member ``info``, checked against the size its zip entry declares
    (so nothing is inflated beyond a few KB before that check). :class:`MemberRefused` for a
    header that lies, a damaged stream or Python objects."""
    if info.file_size < 10:
        raise MemberRefused(f"member holds {info.file_size} bytes, too few for a .npy header")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise MemberRefused("member's stored and declared sizes differ")
    try:
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                    f, max_header_size=NPY_MAX_HEADER)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                    f, max_header_size=NPY_MAX_HEADER)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            header_bytes = f.tell()
    except (*_DAMAGED, SyntaxError) as exc:
        raise MemberRefused(printable(" ".join(str(exc).split()), 120)
                            or type(exc).__name__) from None
    if dtype.hasobject:
        raise MemberRefused("holds Python objects, which GradLab never unpickles", damaged=False)
    if not all(isinstance(n, int) and n >= 0 for n in shape) or len(shape) > 32:
        raise MemberRefused(f"header declares the shape {printable(repr(shape), 60)}")
    head = NpyHeader(tuple(shape), bool(fortran), dtype, header_bytes)
    if info.file_size != header_bytes + head.nbytes:
        raise MemberRefused(f"header declares {format_bytes(head.nbytes)} of data but its zip "
                            f"entry holds {format_bytes(info.file_size - header_bytes)}")
    return head


def read_npy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, head: NpyHeader) -> np.ndarray:
    """The array of member ``info`` whose header :func:`npy_header` checked. Inflating stops at
    the size the zip entry declares; the CRC is checked at its end. :class:`MemberRefused` for a
    damaged stream."""
    try:
        with zf.open(info) as f:
            a = np.lib.format.read_array(f, allow_pickle=False,
                                         max_header_size=NPY_MAX_HEADER)
            if f.read(1):  # also makes sure the CRC was checked at the end of the member
                raise ValueError("extra bytes after the data")
    except _DAMAGED as exc:
        raise MemberRefused(printable(" ".join(str(exc).split()), 120)
                            or type(exc).__name__) from None
    if a.shape != head.shape or a.dtype != head.dtype:  # pragma: no cover - read_array's own
        raise MemberRefused("changed between two reads")
    return a


# ------------------------------------------------------------------------------- showing text
_KEEP = {"\u200c", "\u200d"}  # zero-width (non-)joiners: harmless, and emoji need them


def _escape(ch: str) -> str:
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else (f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}")


def printable(text: object, limit: int | None = None) -> str:
    """``text`` made safe to print to a terminal or put in a label: control characters
    (escape sequences, carriage returns, newlines, C1 controls such as CSI), format characters
    (bidirectional overrides, zero-width spaces), line separators and lone surrogates are shown
    as ``\\x1b``, ``\\u202e``...; with ``limit``, cut to that many characters with an ellipsis."""
    s = text if isinstance(text, str) else str(text)
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        bad = cat in ("Cc", "Cs", "Co", "Zl", "Zp") or (cat == "Cf" and ch not in _KEEP)
        out.append(_escape(ch) if bad else ch)
    result = "".join(out)
    if limit is not None and len(result) > limit:
        result = result[: max(limit - 1, 0)] + "…"
    return result


__all__ = [
    "Budget",
    "FileRefused",
    "JsonRefused",
    "MemberRefused",
    "NpyHeader",
    "check_regular",
    "format_bytes",
    "json_depth",
    "load_json",
    "memory_budget",
    "npy_header",
    "open_regular",
    "open_zip",
    "physical_memory",
    "printable",
    "read_capped",
    "read_json_file",
    "read_npy_member",
]
