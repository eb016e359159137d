"""Placeholder: the Over time view is being built (see the UI issue)."""

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView


class OverTimeView(BaseView):
    key = "over_time"
    title = "Over time"
    summary = "Over time (not built yet)."

    def build(self, model: RunModel) -> None:
        self.canvas.addLabel("Over time: not built yet")

    def draw(self, model: RunModel, row: int | None) -> None:
        pass
