"""Placeholder: the Network panel is being built (see the UI issue)."""

from gradlab.app.panels.base import SpecPanel


class NetworkPanel(SpecPanel):
    title = "Network"
