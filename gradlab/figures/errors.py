"""The one error the figure layer raises (no matplotlib import here)."""

from __future__ import annotations


class FigureError(ValueError):
    """A figure that cannot be drawn as asked; ``str(err)`` is one sentence a user can act on
    (an unknown kind or option, a kind that does not apply to the run, a size beyond the limits).
    The command line prints it and exits 2."""
