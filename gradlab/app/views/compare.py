"""Placeholder: the Compare view is being built (see the UI issue)."""

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView


class CompareView(BaseView):
    key = "compare"
    title = "Compare"
    summary = "Compare (not built yet)."

    def build(self, model: RunModel) -> None:
        self.canvas.addLabel("Compare: not built yet")

    def draw(self, model: RunModel, row: int | None) -> None:
        pass

    def set_runs(self, runs: list[RunModel]) -> None:
        self.runs = list(runs)
