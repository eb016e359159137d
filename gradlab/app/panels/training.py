"""Placeholder: the Training panel is being built (see the UI issue)."""

from gradlab.app.panels.base import SpecPanel


class TrainingPanel(SpecPanel):
    title = "Training"
