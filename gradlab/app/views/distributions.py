"""Placeholder: the Distributions view is being built (see the UI issue)."""

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView


class DistributionsView(BaseView):
    key = "distributions"
    title = "Distributions"
    summary = "Distributions (not built yet)."

    def build(self, model: RunModel) -> None:
        self.canvas.addLabel("Distributions: not built yet")

    def draw(self, model: RunModel, row: int | None) -> None:
        pass
