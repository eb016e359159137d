"""Writing files so that a crash, a full disk or Ctrl-C never destroys what was there before.

Every file GradLab writes (sessions, figures, statistics, network code and weights) goes through
:func:`atomic_write`: the content is written to a hidden temporary file in the target's folder,
flushed to disk and renamed over the target. Until the rename the old file is untouched; after
it the new one is complete. No Qt here: the engine, sessions and the command line share it.

What GradLab does with the target (the same for every writer):

- **A symbolic link** is written through: the file it points to is replaced (atomically, beside
  that file) and the link stays a link, as a text editor does. A dangling link creates the file
  it names.
- **A read-only file** (no write permission bit, or not writable by this user) is never
  replaced: :class:`ReadOnlyTarget` (a ``PermissionError``) says so, and the file is left as it
  was. Make it writable or choose another name.
- **A folder, a device, a FIFO or a socket** is not a file to replace: ``IsADirectoryError`` or
  :class:`ReadOnlyTarget`.
- **Leftover temporary files.** A save killed with ``kill -9`` (or a power cut) leaves its
  ``.<name>.<pid>.<random>.tmp`` behind. The next save to the same target removes the leftovers
  whose process is gone (or that are over a day old); a save still running in another process
  keeps its own.
- **Ctrl-C** during a save from the main thread can be held back with :func:`interrupts_held`,
  so a second Ctrl-C while ``gradlab run`` saves what it did waits for the save instead of
  losing the run.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

#: leftovers of a save whose process cannot be checked are removed after this many seconds
STALE_SECONDS = 24 * 3600


class ReadOnlyTarget(PermissionError):
    """The target exists and must not be replaced (read-only, or not a regular file)."""

    def __init__(self, path: str, why: str):
        super().__init__(errno.EACCES, why, path)
        self.why = why

    def __str__(self) -> str:
        return f"{self.filename} {self.why}"


def resolve_target(target: str | os.PathLike) -> str:
    """The path a write to ``target`` replaces: symbolic links followed; checked that it may be
    replaced (:class:`ReadOnlyTarget` otherwise). A missing target is fine."""
    path = os.fspath(target)
    if os.path.islink(path):
        path = os.path.realpath(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return path
    except OSError:
        return path  # the write itself reports what is wrong (a missing folder, a loop...)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", path)
    if not stat.S_ISREG(st.st_mode):
        raise ReadOnlyTarget(path, "is not a regular file (a device, FIFO or socket); "
                                   "GradLab does not write to it")
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise ReadOnlyTarget(path, "is read-only; GradLab does not replace read-only files "
                                   "(make it writable or choose another name)")
    return path


def atomic_write(target: str | os.PathLike, fill: Callable[[BinaryIO], None]) -> None:
    """Write ``target`` atomically: ``fill(fh)`` writes the content to a binary file handle.

    The temporary file is ``.<name>.<pid>.<random>.tmp`` beside the file written (the link's
    target for a symbolic link). An existing target keeps its permission bits. On any exception
    (KeyboardInterrupt included) the temporary file is removed and the target is left as it was.
    See the module docstring for links, read-only targets and leftovers of killed saves.
    """
    target = resolve_target(target)
    folder = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None
    remove_leftovers(folder, base)
    tmp, fh = _create_temp(folder, base)
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
    """A new ``.<base>.<pid>.<random>.tmp`` in ``folder``, opened for binary writing.

    Created with mode 0o666 so the OS applies the umask and a new file gets the permissions of
    any new file (``tempfile`` would make it 0o600, and reading the umask means changing it,
    process-wide).
    """
    flags = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
             | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
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


def _owner_gone(pid: int) -> bool:
    """True if no process ``pid`` runs on this machine (never guessed on Windows)."""
    if os.name != "posix" or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # another thread of this process may be saving
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs, as another user
        return False
    return False


def leftovers(folder: str, base: str) -> list[str]:
    """The temporary files of earlier saves of ``base`` in ``folder`` that nothing will finish:
    their process is gone, or they are over :data:`STALE_SECONDS` old (also those of older
    GradLab versions, ``.<base>.<random>.tmp``, which carry no process id). Regular files only."""
    prefix, found = f".{base}.", []
    now = time.time()
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        middle = name[len(prefix) : -len(".tmp")].split(".")
        pid = int(middle[0]) if len(middle) == 2 and middle[0].isdigit() else None
        if not all(len(p) == 8 and _is_hex(p) for p in middle[-1:]) or len(middle) > 2:
            continue
        path = os.path.join(folder, name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        old = now - st.st_mtime > (STALE_SECONDS if pid is not None else 60)
        if old or (pid is not None and _owner_gone(pid)):
            found.append(path)
    return found


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def remove_leftovers(folder: str, base: str) -> None:
    """Remove what :func:`leftovers` finds (a file that cannot be removed is left alone)."""
    for path in leftovers(folder, base):
        with contextlib.suppress(OSError):
            os.unlink(path)


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


class Held:
    """What :func:`interrupts_held` saw: ``received`` is True if Ctrl-C came meanwhile."""

    received = False


@contextlib.contextmanager
def interrupts_held() -> Iterator[Held]:
    """Hold Ctrl-C (SIGINT) back for the duration of the block, e.g. a final save.

    A Ctrl-C inside the block is remembered (``held.received``) instead of interrupting it; the
    previous handler is restored at the end. Outside the main thread (where signal handlers
    cannot be set) the block runs unprotected.
    """
    held = Held()
    if threading.current_thread() is not threading.main_thread():
        yield held
        return

    def remember(_signum, _frame):
        held.received = True

    previous = signal.signal(signal.SIGINT, remember)
    try:
        yield held
    finally:
        signal.signal(signal.SIGINT, previous)


__all__ = [
    "ReadOnlyTarget",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "interrupts_held",
    "leftovers",
    "remove_leftovers",
    "resolve_target",
]
