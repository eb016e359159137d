"""The user's own data: IDX (MNIST and friends), NumPy ``.npz`` and CSV files, plus the optional
scikit-learn ``digits``.

Every problem with a file raises :class:`~gradlab.errors.DataError` whose text is one sentence
naming the file and what is wrong with it (missing, not gzip, wrong IDX magic number, truncated,
image and label counts that disagree, a non-numeric CSV cell with its line and column, an npz
without ``x_train``, labels that are not integers, ...). Paths may start with ``~``; relative
paths are taken from the current folder and stored absolute in the resolved spec.

Labels must be non-negative integers (whole-valued floats are accepted) and are used as class
ids directly, so ``n_classes = max label + 1`` over the training and test labels. An npz may
instead hold one-hot rows ``y: (n, k)``, read as ``argmax`` over each row with ``n_classes = k``;
a CSV may hold class names, mapped to ids in sorted order.

Scaling: unsigned-byte images (IDX type 0x08, npz ``uint8``) are divided by 255 into [0, 1];
everything else is kept as it is (choose a ``preprocess``).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from gradlab.data.base import RawData, register, sub
from gradlab.data.reading import (
    BYTES_PER_VALUE,
    NpzArchive,
    check_budget,
    open_data_file,
    read_bytes,
)
from gradlab.errors import DataError, SpecError
from gradlab.params import Param
from gradlab.safeio import memory_budget

#: class ids above this are refused (a label column of measurements, not classes)
MAX_CLASSES = 10_000


# -- shared helpers ------------------------------------------------------------------------------

def resolve_path(value: str) -> str:
    """``~`` expanded, made absolute."""
    return os.path.abspath(os.path.expanduser(value))


def int_labels(arr: np.ndarray, where: str) -> np.ndarray:
    """Labels as int64 ``(n,)``; ``where`` names the file (and array) in the error sentence.
    The range is checked in the file's own type, before any conversion."""
    if arr.dtype.kind == "b":
        arr = arr.astype(np.int64)
    if arr.dtype.kind == "f":
        finite = np.isfinite(arr)
        whole = finite & (arr == np.round(np.where(finite, arr, 0.0)))
        if not whole.all():
            bad = arr[~whole][0].item()
            raise DataError(f"{where} holds labels that are not integers (for example {bad!r}).")
    elif arr.dtype.kind not in "iu":
        raise DataError(f"{where} holds labels of type {arr.dtype}, but labels must be integers.")
    if arr.size and arr.min() < 0:
        raise DataError(f"{where} holds a negative label ({arr.min():g}); class ids start at 0.")
    if arr.size and arr.max() >= MAX_CLASSES:
        raise DataError(f"{where} holds the label {arr.max():g}, more than the {MAX_CLASSES:,} "
                        f"classes GradLab handles (are these really class ids?).")
    return arr.astype(np.int64)


def float_inputs(arr: np.ndarray, where: str) -> np.ndarray:
    """Inputs as float32 (unsigned bytes scaled to [0, 1]), refusing non-numeric or non-finite."""
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{where} holds values of type {arr.dtype}, but inputs must be numbers.")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / np.float32(255.0)
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below, in one sentence
        out = arr.astype(np.float32)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise DataError(f"{where} holds NaN or infinite values (or values too large for float32).")
    return out


def n_classes_of(where: str, *labels: np.ndarray | None) -> int:
    """max label + 1 over the given label arrays; at least two classes."""
    k = max(int(y.max()) + 1 for y in labels if y is not None and len(y))
    if k < 2:
        raise DataError(f"{where} holds a single class (0); a classifier needs at least two.")
    return k


def _required(p: dict, key: str, field: str, what: str) -> str:
    if p[key] is None:
        raise SpecError(sub(field, key), f"is required: {what}")
    return resolve_path(p[key])


# -- IDX -----------------------------------------------------------------------------------------

#: IDX type code -> (big-endian dtype, name)
IDX_TYPES = {
    0x08: (">u1", "unsigned byte"),
    0x09: (">i1", "signed byte"),
    0x0B: (">i2", "short"),
    0x0C: (">i4", "int"),
    0x0D: (">f4", "float"),
    0x0E: (">f8", "double"),
}


#: an IDX file may declare at most this many dimensions (MNIST and friends use 1 to 4)
IDX_MAX_DIMS = 16
#: values in one item (an image, a vector) of an IDX file at most
IDX_MAX_ITEM = 2**31


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed: detected by its first bytes 0x1f 0x8b).

    Layout: magic number = two zero bytes, a type code (see :data:`IDX_TYPES`) and the number of
    dimensions ``ndim``; then ``ndim`` big-endian uint32 sizes; then the values, big-endian,
    row-major. Returns the array in native byte order with shape ``dims``.

    Bounded before any work: only a regular file is opened; the header's sizes are checked
    against the file (or, for gzip, inflating stops one byte past what the header announces)
    and against the memory budget before the values are read.
    """
    with open_data_file(path) as raw:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        try:
            if gz:
                with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                    return _read_idx_stream(f, path, None)
            return _read_idx_stream(raw, path, os.fstat(raw.fileno()).st_size)
        except (OSError, EOFError, zlib.error) as e:
            if not gz:
                raise DataError(f"The file '{path}' cannot be read: {e}.") from None
            raise DataError(f"The gzip file '{path}' is damaged or truncated "
                            f"({' '.join(str(e).split()) or type(e).__name__}).") from None


def _read_exactly(f: BinaryIO, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = f.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _read_idx_stream(f: BinaryIO, path: str, file_size: int | None) -> np.ndarray:
    """The IDX array from the stream ``f`` (``file_size``: the raw file's size; None for gzip)."""
    head = _read_exactly(f, 4)
    if len(head) < 4:
        raise DataError(f"The file '{path}' is too short ({len(head)} bytes) to be an IDX file.")
    if head[0] != 0 or head[1] != 0:
        raise DataError(f"The file '{path}' is not an IDX file: its magic number starts with "
                        f"0x{head[0]:02X}{head[1]:02X} instead of two zero bytes.")
    code, ndim = head[2], head[3]
    if code not in IDX_TYPES:
        raise DataError(f"The IDX file '{path}' has the unknown type code 0x{code:02X} in its "
                        f"magic number (expected 08, 09, 0B, 0C, 0D or 0E).")
    if ndim == 0:
        raise DataError(f"The IDX file '{path}' declares 0 dimensions.")
    if ndim > IDX_MAX_DIMS:
        raise DataError(f"The IDX file '{path}' declares {ndim} dimensions; an IDX file of "
                        f"images or labels has at most {IDX_MAX_DIMS}.")
    start = 4 + 4 * ndim
    sizes = _read_exactly(f, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"The IDX file '{path}' is truncated inside its header.")
    dims = struct.unpack(f">{ndim}I", sizes)
    if math.prod(d for d in dims[1:] if d) > IDX_MAX_ITEM:  # (numpy refuses such a shape
        # even when a zero makes it empty)
        raise DataError(f"The IDX file '{path}' declares items of "
                        f"{' x '.join(map(str, dims[1:]))} values, more than the "
                        f"{IDX_MAX_ITEM:,} one example may hold.")
    dtype = np.dtype(IDX_TYPES[code][0])
    if math.prod(d for d in dims if d) * dtype.itemsize >= 2**62:  # (numpy refuses the shape,
        # even an empty one)
        raise DataError(f"The IDX file '{path}' declares an impossible shape "
                        f"{' x '.join(map(str, dims))} of {IDX_TYPES[code][1]} values.")
    count = math.prod(dims)
    expected = count * dtype.itemsize
    shown = f"{' x '.join(map(str, dims))} {IDX_TYPES[code][1]} values"
    if file_size is not None:
        found = file_size - start
        if found < expected:
            raise DataError(f"The IDX file '{path}' is truncated: its header announces {shown} "
                            f"({expected:,} bytes) but only {found:,} bytes follow.")
        if found > expected:
            raise DataError(f"The IDX file '{path}' has {found - expected:,} bytes more than the "
                            f"{shown} its header announces.")
    check_budget(expected + count * BYTES_PER_VALUE, f"The IDX file '{path}' announces {shown}")
    arr = np.empty(count, dtype=dtype)
    view = memoryview(arr).cast("B")
    got = 0
    while got < expected:
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    if got < expected:
        raise DataError(f"The IDX file '{path}' is truncated: its header announces {shown} "
                        f"({expected:,} bytes) but only {got:,} bytes follow.")
    if f.read(1):  # for gzip this also reaches the end of the stream and checks its CRC
        raise DataError(f"The IDX file '{path}' holds more bytes than the {shown} its header "
                        f"announces.")
    return arr.reshape(dims).astype(dtype.newbyteorder("="), copy=False)


def idx_images(path: str) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Images ``(n, h, w)`` -> rows ``(n, h·w)`` float32 and ``(h, w)``; ``(n, d)`` -> vectors."""
    arr = read_idx(path)
    where = f"The IDX file '{path}'"
    if arr.ndim < 2:
        raise DataError(f"{where} holds a 1-D array of {arr.shape[0]} values, not images "
                        f"(is it a labels file?).")
    image_shape = (arr.shape[1], arr.shape[2]) if arr.ndim == 3 else None
    if arr.shape[0] == 0:
        raise DataError(f"{where} holds no images.")
    if math.prod(arr.shape[1:]) == 0:
        raise DataError(f"{where} holds images of {' x '.join(map(str, arr.shape[1:]))} values, "
                        f"which give a network no inputs.")
    return float_inputs(arr.reshape(arr.shape[0], -1), where), image_shape


def idx_labels(path: str) -> np.ndarray:
    arr = read_idx(path)
    where = f"The IDX file '{path}'"
    if arr.ndim != 1:
        raise DataError(f"{where} holds an array of shape {arr.shape}, but labels must be "
                        f"one-dimensional (is it an images file?).")
    return int_labels(arr, where)


def _check_count(images: np.ndarray, labels: np.ndarray, ipath: str, lpath: str) -> None:
    if len(images) != len(labels):
        raise DataError(f"The labels file '{lpath}' holds {len(labels):,} labels but the images "
                        f"file '{ipath}' holds {len(images):,} images.")


@register("idx", "mnist", kind="file",
          description="IDX files such as MNIST, Fashion-MNIST or KMNIST (raw or .gz).",
          params=(
              Param("train_images", "path", None,
                    "IDX file of the training images, e.g. train-images-idx3-ubyte.gz."),
              Param("train_labels", "path", None,
                    "IDX file of the training labels, e.g. train-labels-idx1-ubyte.gz."),
              Param("test_images", "path", None, "Optional IDX file of the test images.",
                    optional=True),
              Param("test_labels", "path", None, "Optional IDX file of the test labels.",
                    optional=True),
          ))
def _idx(p, rng, field):
    ti = _required(p, "train_images", field, "the IDX file of the training images")
    tl = _required(p, "train_labels", field, "the IDX file of the training labels")
    if (p["test_images"] is None) != (p["test_labels"] is None):
        missing = "test_labels" if p["test_labels"] is None else "test_images"
        other = "test_images" if missing == "test_labels" else "test_labels"
        raise SpecError(sub(field, missing), f"is required when {other} is given")
    x, shape = idx_images(ti)
    y = idx_labels(tl)
    _check_count(x, y, ti, tl)
    updates: dict[str, Any] = {"train_images": ti, "train_labels": tl}
    x_test = y_test = None
    if p["test_images"] is not None:
        si, sl = resolve_path(p["test_images"]), resolve_path(p["test_labels"])
        x_test, test_shape = idx_images(si)
        y_test = idx_labels(sl)
        _check_count(x_test, y_test, si, sl)
        if x_test.shape[1] != x.shape[1] or test_shape != shape:
            raise DataError(f"The test images in '{si}' have shape {test_shape or x_test.shape[1]}"
                            f" but the training images in '{ti}' have {shape or x.shape[1]}.")
        updates.update(test_images=si, test_labels=sl)
    k = n_classes_of(f"The labels file '{tl}'", y, y_test)
    return RawData(x=x, y=y, n_classes=k, class_names=[str(c) for c in range(k)],
                   image_shape=shape, x_test=x_test, y_test=y_test, resolved_updates=updates)


# -- npz -----------------------------------------------------------------------------------------

def _npz_array(f: NpzArchive, key: str, path: str) -> np.ndarray:
    if key not in f.files:
        raise DataError(f"The file '{path}' has no array '{key}' (it holds: "
                        f"{', '.join(f.files) or 'nothing'}).")
    try:
        return np.asarray(f[key])
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"The array '{key}' in '{path}' is damaged ({e}).") from None


def npz_inputs(arr: np.ndarray, path: str, key: str) -> tuple[np.ndarray, tuple[int, int] | None]:
    """``(n, d)`` rows, ``(n, h, w)`` or ``(n, h, w, 1)`` images -> float32 rows and image shape."""
    where = f"The array '{key}' in '{path}'"
    if arr.ndim < 2:
        raise DataError(f"{where} has shape {arr.shape}; inputs must be (n, d) or (n, h, w).")
    if arr.shape[0] == 0:
        raise DataError(f"{where} holds no examples.")
    if math.prod(arr.shape[1:]) == 0:
        raise DataError(f"{where} has shape {arr.shape}: its examples have no features.")
    shape = None
    if arr.ndim == 3 or (arr.ndim == 4 and arr.shape[3] == 1):
        shape = (arr.shape[1], arr.shape[2])
    return float_inputs(arr.reshape(arr.shape[0], -1), where), shape


def npz_labels(arr: np.ndarray, path: str, key: str) -> tuple[np.ndarray, int | None]:
    """Integer labels ``(n,)``, or one-hot ``(n, k)`` -> argmax and k."""
    where = f"The array '{key}' in '{path}'"
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 2:
        if arr.dtype.kind not in "biuf" or arr.shape[1] < 2:
            raise DataError(f"{where} has shape {arr.shape}; labels must be (n,) class ids or "
                            f"(n, k) one-hot rows.")
        return arr.argmax(axis=1).astype(np.int64), int(arr.shape[1])
    if arr.ndim != 1:
        raise DataError(f"{where} has shape {arr.shape}; labels must be (n,) class ids or "
                        f"(n, k) one-hot rows.")
    return int_labels(arr, where), None


@register("npz", kind="file",
          description="A NumPy .npz file with x_train, y_train (optionally x_test, y_test).",
          params=(Param("path", "path", None,
                        "The .npz file: x_train (n, d) or images (n, h, w), y_train (n,) integer "
                        "labels or (n, k) one-hot; optional x_test, y_test, class_names."),))
def _npz(p, rng, field):
    path = _required(p, "path", field, "the .npz file to read")
    with NpzArchive(path) as f:
        f.check_budget(["x_train", "y_train", "x_test", "y_test"])
        x, shape = npz_inputs(_npz_array(f, "x_train", path), path, "x_train")
        y, k_hot = npz_labels(_npz_array(f, "y_train", path), path, "y_train")
        if len(x) != len(y):
            raise DataError(f"In '{path}', x_train holds {len(x):,} examples but y_train holds "
                            f"{len(y):,} labels.")
        x_test = y_test = None
        k_test = None
        has_xt, has_yt = "x_test" in f.files, "y_test" in f.files
        if has_xt != has_yt:
            raise DataError(f"The file '{path}' holds {'x_test' if has_xt else 'y_test'} "
                            f"without {'y_test' if has_xt else 'x_test'}.")
        if has_xt:
            x_test, test_shape = npz_inputs(_npz_array(f, "x_test", path), path, "x_test")
            y_test, k_test = npz_labels(_npz_array(f, "y_test", path), path, "y_test")
            if len(x_test) != len(y_test):
                raise DataError(f"In '{path}', x_test holds {len(x_test):,} examples but y_test "
                                f"holds {len(y_test):,} labels.")
            if x_test.shape[1] != x.shape[1] or test_shape != shape:
                raise DataError(f"In '{path}', x_test has examples of shape "
                                f"{test_shape or (x_test.shape[1],)} but x_train has "
                                f"{shape or (x.shape[1],)}.")
        k = max(n_classes_of(f"The file '{path}'", y, y_test), k_hot or 0, k_test or 0)
        names = [str(c) for c in range(k)]
        if "class_names" in f.files:
            cn = _npz_array(f, "class_names", path)
            if cn.dtype.kind not in "US" or cn.shape != (k,):
                raise DataError(f"The array 'class_names' in '{path}' must hold {k} strings, "
                                f"got shape {cn.shape} of type {cn.dtype}.")
            names = [str(c.decode() if isinstance(c, bytes) else c) for c in cn]
    return RawData(x=x, y=y, n_classes=k, class_names=names, image_shape=shape,
                   x_test=x_test, y_test=y_test, resolved_updates={"path": path})


# -- CSV -----------------------------------------------------------------------------------------

DELIMITERS = {",": ",", ";": ";", "tab": "\t", "space": " "}


@dataclass(frozen=True)
class ColumnParam(Param):
    """A column chosen by name (a string) or by 0-based index (an int; -1 is the last)."""

    def validate(self, value: Any, field: str) -> Any:
        if value is None and self.optional:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip():
            return value
        raise SpecError(field, f"must be a column name or a 0-based column index, got {value!r}")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@dataclass
class CsvTable:
    """A parsed CSV: feature rows, raw label cells and where each row came from."""

    x: np.ndarray            # (n, d) float64
    labels: list[str]        # (n,) label cells, stripped
    lines: list[int]         # (n,) 1-based line numbers
    columns: list[str]       # the header's names, or "column 1", ... without a header
    label_column: int
    has_header: bool


#: a CSV file takes about this many times its size in memory while it is parsed (a Python
#: string and a float per cell)
CSV_MEMORY_FACTOR = 40


def _read_rows(path: str, delimiter: str) -> list[tuple[int, list[str]]]:
    raw = read_bytes(path, memory_budget().nbytes // CSV_MEMORY_FACTOR)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"The CSV file '{path}' is not UTF-8 text (byte 0x{raw[e.start]:02X} "
                        f"at offset {e.start}).") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[delimiter],
                        skipinitialspace=delimiter == "space")
    rows = []
    try:
        for row in reader:
            if row and any(c.strip() for c in row):
                rows.append((reader.line_num, row))
    except csv.Error as e:
        raise DataError(f"The CSV file '{path}' cannot be parsed at line {reader.line_num} "
                        f"({e}).") from None
    return rows


def read_csv(path: str, *, label: int | str | None, header: str, delimiter: str,
             field: str) -> CsvTable:
    """Parse a CSV file into numeric features and label cells.

    ``header``: "yes", "no" or "auto" (the first row is a header when all its cells are
    non-numeric, or when a column is non-numeric in the first row but numeric in the second).
    ``label``: column name, 0-based index (negative from the end) or None for the last column.
    """
    rows = _read_rows(path, delimiter)
    if not rows:
        raise DataError(f"The CSV file '{path}' is empty.")
    first = rows[0][1]
    if header == "auto":
        has_header = all(not _is_number(c) for c in first) or (
            len(rows) > 1 and any(not _is_number(a) and _is_number(b)
                                  for a, b in zip(first, rows[1][1]))
        )
    else:
        has_header = header == "yes"
    ncol = len(first)
    columns = [c.strip() for c in first] if has_header else [f"column {j + 1}"
                                                             for j in range(ncol)]
    body = rows[1:] if has_header else rows
    if not body:
        raise DataError(f"The CSV file '{path}' holds a header but no data rows.")
    if ncol < 2:
        raise DataError(f"The CSV file '{path}' has a single column; it needs at least one input "
                        f"column and a label column.")
    for line, row in body:
        if len(row) != ncol:
            raise DataError(f"Line {line} of the CSV file '{path}' has {len(row)} cells, but "
                            f"{'the header' if has_header else 'the first row'} has {ncol}.")

    lfield = sub(field, "label")
    if label is None:
        li = ncol - 1
    elif isinstance(label, int) or (label.strip().lstrip("-").isdigit()
                                    and not (has_header and label.strip() in columns)):
        li = int(label)
        if not -ncol <= li < ncol:
            raise SpecError(lfield, f"column index {li} is out of range: '{path}' has {ncol} "
                                    f"columns (0 to {ncol - 1}, or -1 for the last)")
        li %= ncol
    elif has_header and label.strip() in columns:
        li = columns.index(label.strip())
    else:
        where = f"columns: {', '.join(columns)}" if has_header else "it has no header row"
        raise SpecError(lfield, f"no column named {label!r} in '{path}' ({where})")

    feats = [[c for j, c in enumerate(row) if j != li] for _, row in body]
    fcols = [j for j in range(ncol) if j != li]
    try:
        x = np.array(feats, dtype=np.float64)
    except ValueError:
        x = None
    if x is None or not np.all(np.isfinite(x)):
        for (line, _), frow in zip(body, feats):
            for jj, cell in enumerate(frow):
                j = fcols[jj]
                name = f" ('{columns[j]}')" if has_header else ""
                if not _is_number(cell):
                    what = "an empty cell" if not cell.strip() else f"{cell.strip()!r}"
                    raise DataError(f"Line {line}, column {j + 1}{name} of the CSV file '{path}' "
                                    f"holds {what}, which is not a number.")
                if not math.isfinite(float(cell)):
                    raise DataError(f"Line {line}, column {j + 1}{name} of the CSV file '{path}' "
                                    f"holds {cell.strip()!r}, which is not a finite number.")
        # every cell reads as a finite Python float (e.g. "1_000"): convert them one by one
        x = np.array([[float(c) for c in frow] for frow in feats], dtype=np.float64)
    big = np.abs(x) > np.finfo(np.float32).max
    if big.any():
        i, jj = (int(k[0]) for k in np.nonzero(big))
        j = fcols[jj]
        name = f" ('{columns[j]}')" if has_header else ""
        raise DataError(f"Line {body[i][0]}, column {j + 1}{name} of the CSV file '{path}' holds "
                        f"{feats[i][jj].strip()!r}, which is too large for float32 (the largest "
                        f"is about 3.4e38).")
    return CsvTable(x=x, labels=[row[li].strip() for _, row in body],
                    lines=[line for line, _ in body], columns=columns, label_column=li,
                    has_header=has_header)


def csv_labels(tables: list[tuple[str, CsvTable]]) -> tuple[list[np.ndarray], list[str]]:
    """Class ids for each table's label cells, and the class names.

    All cells whole numbers -> used as ids (names "0", "1", ...); otherwise every distinct cell is
    a class name, numbered in sorted order.
    """
    cells = [c for _, t in tables for c in t.labels]
    if all(_is_number(c) for c in cells):
        out = []
        for path, t in tables:
            vals = np.array([float(c) for c in t.labels])
            name = t.columns[t.label_column]
            where = f"The label column '{name}' of the CSV file '{path}'"
            ok = np.isfinite(vals) & (vals == np.round(np.where(np.isfinite(vals), vals, 0.0)))
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise DataError(f"{where} holds {t.labels[i]!r} at line {t.lines[i]}, but labels "
                                f"must be whole numbers or class names.")
            out.append(int_labels(vals, where))
        k = n_classes_of(f"The CSV file '{tables[0][0]}'", *out)
        return out, [str(c) for c in range(k)]
    names = sorted(set(cells))
    if len(names) < 2:
        raise DataError(f"The CSV file '{tables[0][0]}' holds a single class ({names[0]!r}); "
                        f"a classifier needs at least two.")
    if len(names) > MAX_CLASSES:
        raise DataError(f"The label column of the CSV file '{tables[0][0]}' holds {len(names):,} "
                        f"different values, more than the {MAX_CLASSES:,} classes GradLab "
                        f"handles.")
    ids = {n: i for i, n in enumerate(names)}
    return [np.array([ids[c] for c in t.labels], dtype=np.int64) for _, t in tables], names


@register("csv", kind="file", default_preprocess="standardize",
          description="A CSV table: numeric input columns and one label column (ids or names).",
          params=(
              Param("path", "path", None, "The CSV file of training examples."),
              ColumnParam("label", "str", None,
                          "The label column: its name in the header or its 0-based index "
                          "(-1 = last); empty for the last column.", optional=True),
              Param("header", "choice", "auto",
                    "Whether the first row holds column names (auto: guessed from its cells).",
                    choices=("auto", "yes", "no")),
              Param("delimiter", "choice", ",", "The cell separator.",
                    choices=tuple(DELIMITERS)),
              Param("test_path", "path", None,
                    "Optional CSV file of test examples with the same columns.", optional=True),
          ))
def _csv(p, rng, field):
    path = _required(p, "path", field, "the CSV file to read")
    opts = dict(label=p["label"], header=p["header"], delimiter=p["delimiter"], field=field)
    tables = [(path, read_csv(path, **opts))]
    updates: dict[str, Any] = {"path": path}
    if p["test_path"] is not None:
        tpath = resolve_path(p["test_path"])
        test = read_csv(tpath, **opts)
        train = tables[0][1]
        if test.x.shape[1] != train.x.shape[1] or (
                train.has_header and test.has_header and test.columns != train.columns):
            raise DataError(f"The test CSV file '{tpath}' has columns "
                            f"{', '.join(test.columns)} but the training file '{path}' has "
                            f"{', '.join(train.columns)}.")
        tables.append((tpath, test))
        updates["test_path"] = tpath
    ys, names = csv_labels(tables)
    return RawData(x=tables[0][1].x, y=ys[0], n_classes=len(names), class_names=names,
                   x_test=tables[1][1].x if len(tables) > 1 else None,
                   y_test=ys[1] if len(ys) > 1 else None, resolved_updates=updates)


# -- scikit-learn's digits -----------------------------------------------------------------------

@register("digits", kind="image", requires="sklearn",
          description="scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes).")
def _digits(p, rng, field):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("The 'digits' dataset comes with scikit-learn, which is not installed; "
                        "install scikit-learn (pip install scikit-learn) or choose another "
                        "dataset.") from None
    d = load_digits()
    images = np.asarray(d.images, dtype=np.float64)
    x = (images.reshape(len(images), -1) / 16.0).astype(np.float32)
    return RawData(x=x, y=np.asarray(d.target, dtype=np.int64), n_classes=10,
                   class_names=[str(c) for c in range(10)], image_shape=images.shape[1:3])


__all__ = ["NpzArchive", "open_data_file", "read_bytes", "read_csv", "read_idx"]
