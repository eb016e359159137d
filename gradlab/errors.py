"""Errors shared by every headless layer."""

from __future__ import annotations


class SpecError(ValueError):
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
        return SpecError(field, self.message)


class SessionError(ValueError):
    """A session file that cannot be read; ``str(err)`` is one sentence naming the file."""


class DataError(ValueError):
    """A dataset file that cannot be read; ``str(err)`` is one sentence naming the file."""
