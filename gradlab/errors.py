"""Errors shared by every headless layer.

Every error a user may cause by what they give GradLab (a spec, a session, a data file, a
command-line value) is an :class:`InputError` whose ``str()`` is one sentence: the command line
prints it and exits 2, the window shows it in a dialog and stays usable.
"""

from __future__ import annotations


class InputError(ValueError):
    """Something a user gave GradLab cannot be used; ``str(err)`` is one sentence saying why."""


class SpecError(InputError):
    """A bad value in a spec, with the dotted path of the field that holds it.

    ``str(err)`` is one sentence a user can act on, e.g.
    ``"network.layers[2].activation: unknown activation 'tanhh' (choose from: elu, gelu, ...)"``.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    def prefixed(self, prefix: str) -> SpecError:
        """The same error with ``prefix`` put in front of the field path."""
        if not prefix:
            return self
        field = (
            f"{prefix}{self.field}"
            if self.field.startswith("[")
            else (f"{prefix}.{self.field}" if self.field else prefix)
        )
        return type(self)(field, self.message)


class LimitError(SpecError):
    """A spec (or a session's spec) that would need more memory than GradLab may use; the
    sentence says how much it would take and how to raise the limit."""


class SessionError(InputError):
    """A session file that cannot be read; ``str(err)`` is one sentence naming the file."""


class DataError(InputError):
    """A dataset file that cannot be read; ``str(err)`` is one sentence naming the file."""


def sentence(err: BaseException) -> str:
    """One sentence for any error that reaches a user (the command line prints it, the window
    shows it in a dialog): an :class:`InputError`'s own text, and a phrase for what escaped a
    reader anyway (nesting too deep for Python, a number out of range, memory running out, a
    file system error, a bug)."""
    detail = " ".join(str(err).split())[:300]
    if isinstance(err, InputError):
        return detail
    if isinstance(err, RecursionError):
        return "the input is nested too deeply to be read"
    if isinstance(err, MemoryError):
        return f"there is not enough memory for this{f' ({detail})' if detail else ''}"
    if isinstance(err, OverflowError):
        return f"a number in the input is out of range ({detail or 'overflow'})"
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or detail or type(err).__name__}"
    return (f"unexpected error ({type(err).__name__}: {detail}); please report it with what "
            "caused it")
