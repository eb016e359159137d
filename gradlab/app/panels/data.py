"""Placeholder: the Data panel is being built (see the UI issue)."""

from gradlab.app.panels.base import SpecPanel


class DataPanel(SpecPanel):
    title = "Data"
