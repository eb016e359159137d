"""Placeholder: the Heatmaps view is being built (see the UI issue)."""

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView


class HeatmapsView(BaseView):
    key = "heatmaps"
    title = "Heatmaps"
    summary = "Heatmaps (not built yet)."

    def build(self, model: RunModel) -> None:
        self.canvas.addLabel("Heatmaps: not built yet")

    def draw(self, model: RunModel, row: int | None) -> None:
        pass
