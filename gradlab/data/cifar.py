"""CIFAR-10, binary version: reading its batch files and extracting them from the downloaded
archive, both bounded.

A batch file is a run of 3,073-byte records, nothing else::

    <1 x label><1024 x red><1024 x green><1024 x blue>     (each plane 32 x 32, row-major)

so a file's size must be a whole, non-zero number of records (the real batches hold 10,000
records: 30,730,000 bytes) and every label must name a class. Rows are returned in the file's
channel-major order, ``x: (n, 3072)`` = red plane, green plane, blue plane.

The Python version of CIFAR is pickled: GradLab never reads it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tarfile
import zlib
from collections.abc import Callable, Sequence

import numpy as np

from gradlab.data.files import read_bytes
from gradlab.errors import DataError
from gradlab.fileio import atomic_write

SIDE = 32
CHANNELS = 3
PIXELS = SIDE * SIDE * CHANNELS
RECORD = 1 + PIXELS
#: a batch file larger than this is refused before it is read (the real ones are 30.7 MB)
MAX_BATCH_BYTES = 100_000 * RECORD
CHUNK = 1 << 20


def read_batch(path: str, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> ``x: (n, 3072)`` uint8 and ``y: (n,)`` int64 in ``[0, n_classes)``."""
    where = f"The CIFAR batch file '{path}'"
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise DataError(f"{where} does not exist.") from None
    except OSError as e:
        raise DataError(f"{where} cannot be read ({e.strerror or e}).") from None
    if not os.path.isfile(path):
        raise DataError(f"{where} is not a regular file.")
    if size == 0 or size % RECORD:
        raise DataError(f"{where} is {size:,} bytes long, not a whole number of {RECORD:,}-byte "
                        f"records (is it really the binary version of CIFAR-10?).")
    if size > MAX_BATCH_BYTES:
        raise DataError(f"{where} is {size:,} bytes long, more than the {MAX_BATCH_BYTES:,} of "
                        f"a CIFAR batch GradLab reads.")
    data = read_bytes(path)
    if len(data) != size:
        raise DataError(f"{where} changed while it was read.")
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    y = records[:, 0].astype(np.int64)
    if y.max() >= n_classes:
        raise DataError(f"{where} holds the label {int(y.max())}, but CIFAR-10 has "
                        f"{n_classes} classes (0 to {n_classes - 1}).")
    return records[:, 1:], y


def read_batches(paths: Sequence[str], n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Several batch files, concatenated in order."""
    parts = [read_batch(p, n_classes) for p in paths]
    return (np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts]))


def extract(archive: str, members: Sequence[tuple[str, int, str | None]], folder: str,
            tick: Callable[[int], None] | None = None) -> None:
    """Extract ``members`` ``(path in the archive, size, sha256 or None)`` of the .tar.gz
    ``archive`` into ``folder`` (each under its base name), checking each one.

    Only the listed members are read, and only if the archive says they are regular files of
    exactly the listed size; each is written atomically and its SHA-256 checked before it
    replaces anything. ``tick(n)`` is called after every chunk of ``n`` bytes (it may raise to
    cancel). On any failure, the members extracted by this call are removed again and the
    archive is left as it was.
    """
    wanted = {path: (size, sha) for path, size, sha in members}
    done: list[str] = []
    where = f"The archive '{archive}'"
    try:
        with tarfile.open(archive, mode="r|gz") as tar:
            for info in tar:
                name = info.name[2:] if info.name.startswith("./") else info.name
                if name not in wanted:
                    continue
                size, sha = wanted.pop(name)
                if not info.isfile():
                    raise DataError(f"{where} holds '{name}' as something other than a regular "
                                    f"file.")
                if info.size != size:
                    raise DataError(f"{where} holds '{name}' with {info.size:,} bytes instead of "
                                    f"the {size:,} the registry lists.")
                source = tar.extractfile(info)
                if source is None:  # pragma: no cover - isfile() members always have data
                    raise DataError(f"{where} holds no data for '{name}'.")
                target = os.path.join(folder, name.rsplit("/", 1)[-1])
                what = f"'{name}' in the archive '{archive}'"
                atomic_write(target, _copier(source, size, sha, what, tick))
                done.append(target)
                if not wanted:
                    break
    except (tarfile.TarError, EOFError, zlib.error) as e:
        _remove(done)
        raise DataError(f"{where} is damaged or truncated ({e}).") from None
    except BaseException:
        _remove(done)
        raise
    if wanted:
        _remove(done)
        raise DataError(f"{where} does not hold '{sorted(wanted)[0]}', which the registry lists.")


def _copier(source, size: int, sha: str | None, what: str, tick):
    def fill(fh) -> None:
        h = hashlib.sha256()
        left = size
        while left:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                raise DataError(f"The member {what} ends {left:,} bytes early.")
            h.update(chunk)
            fh.write(chunk)
            left -= len(chunk)
            if tick is not None:
                tick(len(chunk))
        if sha is not None and h.hexdigest() != sha:
            raise DataError(f"The member {what} does not have the SHA-256 the registry lists.")

    return fill


def _remove(paths: list[str]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            os.unlink(p)


__all__ = ["extract", "read_batch", "read_batches"]
