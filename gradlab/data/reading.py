"""Reading data files from anyone, bounded before any work: only regular files (a device, FIFO
or socket is refused by name), sizes capped by the memory budget, ``.npz`` arrays checked
against their zip entries before inflating. Every refusal is a
:class:`~gradlab.errors.DataError` sentence naming the file.

The readers of :mod:`gradlab.data.files` (IDX, npz, CSV) and any new dataset source that reads a
file use these helpers.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from gradlab.errors import DataError
from gradlab.safeio import (
    FileRefused,
    MemberRefused,
    NpyHeader,
    format_bytes,
    memory_budget,
    npy_header,
    open_regular,
    open_zip,
    read_capped,
    read_npy_member,
)

#: bytes of memory per value a dataset takes beyond its raw bytes while it is loaded: the
#: float32 conversion, the training split and the preprocessed copy, plus float64 intermediates
BYTES_PER_VALUE = 24


def refused(err: FileRefused, path: str, what: str = "data file") -> DataError:
    """A safeio refusal as a data-layer sentence ("The file '...' ...")."""
    p = err.problem
    if p == "missing":
        return DataError(f"The file '{path}' does not exist.")
    if p == "folder":
        return DataError(f"'{path}' is a folder, not a {what}.")
    if p == "special":
        return DataError(f"'{path}' is {err.kind}, not a {what} (GradLab reads only regular "
                         f"files).")
    if p == "permission":
        return DataError(f"The file '{path}' cannot be read: permission denied.")
    if p == "too_large":
        return DataError(f"The file '{path}' is {format_bytes(err.size)}, more than the "
                         f"{format_bytes(err.limit)} GradLab reads as a {what}.")
    return DataError(f"The file '{path}' cannot be read: {err.detail}.")


def open_data_file(path: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file, else a DataError naming it (a
    device, FIFO or socket is refused before a byte is read)."""
    try:
        return open_regular(path)
    except FileRefused as e:
        raise refused(e, path) from None


def read_bytes(path: str, limit: int | None = None) -> bytes:
    """The file's bytes (at most ``limit``, default: the memory budget), or a DataError saying
    why it cannot be read."""
    try:
        return read_capped(path, memory_budget().nbytes if limit is None else limit)
    except FileRefused as e:
        raise refused(e, path) from None
    except OSError as e:
        raise DataError(f"The file '{path}' cannot be read: {e.strerror or e}.") from None


def check_budget(needed: int, what: str) -> None:
    """Refuse, before reading, data that would take more memory than GradLab may use;
    ``what`` is the subject of the sentence ("The IDX file '...' announces 10 x 5 values")."""
    budget = memory_budget()
    if needed > budget.nbytes:
        raise DataError(f"{what}, which {budget.exceeded(needed)}.")


class NpzArchive:
    """A ``.npz`` archive read safely: ``files`` lists its arrays (members ``<key>.npy``); each
    array's header is checked against the size its zip entry declares, and the arrays a dataset
    needs against the memory budget, before anything is inflated. Never unpickles."""

    def __init__(self, path: str):
        self.path = path
        self._fh = open_data_file(path)
        try:
            magic = self._fh.read(6)
            self._fh.seek(0)
            if magic == b"\x93NUMPY":
                raise DataError(f"The file '{path}' holds a single array, not an .npz archive "
                                f"with x_train and y_train.")
            try:
                self._zip = open_zip(self._fh)
            except MemberRefused as e:
                raise DataError(f"The file '{path}' is not a readable .npz archive (its zip "
                                f"{e.reason}).") from None
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as e:
                raise DataError(f"The file '{path}' is not an .npz archive "
                                f"({' '.join(str(e).split()) or type(e).__name__}).") from None
        except BaseException:
            self._fh.close()
            raise
        self.members = {i.filename[:-4]: i for i in self._zip.infolist()
                        if i.filename.endswith(".npy")}
        self.files = list(self.members)
        self._heads: dict[str, NpyHeader] = {}

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()
        self._fh.close()

    def header(self, key: str) -> NpyHeader:
        """The checked header of array ``key`` (nothing inflated beyond it)."""
        if key not in self._heads:
            try:
                self._heads[key] = npy_header(self._zip, self.members[key])
            except MemberRefused as e:
                raise _member_error(e, key, self.path) from None
        return self._heads[key]

    def check_budget(self, keys: list[str]) -> None:
        """Refuse arrays ``keys`` together needing more memory than GradLab may use."""
        keys = [k for k in keys if k in self.members]
        heads = [self.header(k) for k in keys]
        need = sum(h.nbytes + math.prod(h.shape) * BYTES_PER_VALUE for h in heads)
        check_budget(need, f"The arrays {', '.join(keys)} in '{self.path}' announce "
                            f"{sum(math.prod(h.shape) for h in heads):,} values")

    def __getitem__(self, key: str) -> np.ndarray:
        head = self.header(key)
        try:
            return read_npy_member(self._zip, self.members[key], head)
        except MemberRefused as e:
            raise _member_error(e, key, self.path) from None


def _member_error(e: MemberRefused, key: str, path: str) -> DataError:
    if "Python objects" in e.reason:
        return DataError(f"The array '{key}' in '{path}' holds Python objects, which GradLab "
                         f"never unpickles; save it as a numeric array.")
    return DataError(f"The array '{key}' in '{path}' is damaged ({e.reason}).")


__all__ = ["BYTES_PER_VALUE", "NpzArchive", "check_budget", "open_data_file", "read_bytes",
           "refused"]
