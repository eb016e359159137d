"""Placeholder: the Layer profile view is being built (see the UI issue)."""

from gradlab.app.model import RunModel
from gradlab.app.views.base import BaseView


class ProfileView(BaseView):
    key = "profile"
    title = "Layer profile"
    summary = "Layer profile (not built yet)."

    def build(self, model: RunModel) -> None:
        self.canvas.addLabel("Layer profile: not built yet")

    def draw(self, model: RunModel, row: int | None) -> None:
        pass
