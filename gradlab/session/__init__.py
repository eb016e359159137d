"""The ``.gradlab`` session file: a zip of ``manifest.json`` and ``arrays/<name>.npy``.

This layer knows nothing of experiments: it stores a JSON-able manifest dict and named NumPy
arrays, checks them on the way back, and upgrades older files through registered migrators.

>>> from gradlab import session
>>> session.write("run.gradlab", {"step": 100}, {"history/loss": loss})  # doctest: +SKIP
>>> manifest, arrays = session.read("run.gradlab")                         # doctest: +SKIP

Every file that cannot be read raises :class:`~gradlab.errors.SessionError` with one sentence
naming the file; loading never unpickles.
"""

from gradlab.errors import SessionError
from gradlab.session.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    SUFFIX,
    read,
    read_manifest,
    write,
)
from gradlab.session.migrations import migrator

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "SUFFIX",
    "SessionError",
    "migrator",
    "read",
    "read_manifest",
    "write",
]
