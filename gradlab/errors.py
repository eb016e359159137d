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
