"""Writing files so that a crash, a full disk or Ctrl-C never destroys what was there before.

Every file GradLab writes (sessions, figures, statistics, network code and weights) goes through
:func:`atomic_write`: the content is written to a hidden temporary file in the target's folder,
flushed to disk and renamed over the target. Until the rename the old file is untouched; after
it the new one is complete. No Qt here: the engine, sessions and the command line share it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from typing import BinaryIO


def atomic_write(target: str | os.PathLike, fill: Callable[[BinaryIO], None]) -> None:
    """Write ``target`` atomically: ``fill(fh)`` writes the content to a binary file handle.

    The temporary file is ``.<name>.<random>.tmp`` beside the target. An existing target keeps its
    permission bits. On any exception (KeyboardInterrupt included) the temporary file is removed
    and the target is left as it was.
    """
    target = os.fspath(target)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    tmp, fh = _create_temp(folder, os.path.basename(target))
    try:
        with fh:
            fill(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:  # including KeyboardInterrupt: never leave a .tmp behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (see :func:`atomic_write`)."""
    atomic_write(target, lambda fh: fh.write(data))


def atomic_write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically (see :func:`atomic_write`)."""
    atomic_write_bytes(target, text.encode(encoding))


def _create_temp(folder: str, base: str):
    """A new ``.<base>.<random>.tmp`` in ``folder``, opened for binary writing.

    Created with mode 0o666 so the OS applies the umask and a new file gets the permissions of
    any new file (``tempfile`` would make it 0o600, and reading the umask means changing it,
    process-wide).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            return tmp, os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
    raise FileExistsError(f"could not create a temporary file in {folder}")


def _fsync_folder(folder: str) -> None:
    """Make the rename durable where the platform allows syncing a folder (not on Windows)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text"]
