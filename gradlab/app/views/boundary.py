"""Placeholder: the Decision boundary view is being built (see the UI issue)."""

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView


class BoundaryView(BaseView):
    key = "boundary"
    title = "Decision boundary"
    summary = "Decision boundary (not built yet)."

    def build(self, model: RunModel) -> None:
        self.canvas.addLabel("Decision boundary: not built yet")

    def draw(self, model: RunModel, row: int | None) -> None:
        pass
