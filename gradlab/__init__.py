"""GradLab: a desktop lab for seeing why deep networks are hard to train.

The headless layers (``gradlab.engine``, ``gradlab.data``, ``gradlab.experiment``,
``gradlab.session``) never import Qt; ``gradlab.app`` is the PySide6 window.

>>> import gradlab
>>> exp = gradlab.Experiment(gradlab.presets.load("spiral"))   # doctest: +SKIP
"""

from gradlab._version import __version__

__all__ = ["Experiment", "SpecError", "__version__", "load_session"]


def __getattr__(name):
    # Lazy, so that `gradlab --version` and `import gradlab.engine` stay light.
    if name == "Experiment":
        from gradlab.experiment import Experiment

        return Experiment
    if name == "load_session":
        from gradlab.experiment import load_session

        return load_session
    if name == "presets":
        from gradlab.experiment import presets

        return presets
    if name == "SpecError":
        from gradlab.errors import SpecError

        return SpecError
    raise AttributeError(f"module 'gradlab' has no attribute {name!r}")
