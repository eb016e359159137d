"""The live views, in the order of the window's tabs."""

from gradlab.app.views.base import BaseView
from gradlab.app.views.boundary import BoundaryView
from gradlab.app.views.compare import CompareView
from gradlab.app.views.distributions import DistributionsView
from gradlab.app.views.heatmaps import HeatmapsView
from gradlab.app.views.overtime import OverTimeView
from gradlab.app.views.profile import ProfileView
from gradlab.app.views.training import TrainingView

#: every view the window shows (and ``gradlab export --figure`` can render), in tab order
VIEWS: list[type[BaseView]] = [
    DistributionsView,
    ProfileView,
    OverTimeView,
    HeatmapsView,
    TrainingView,
    BoundaryView,
    CompareView,
]

#: views that draw one run's history (Compare draws the pinned runs instead)
RUN_VIEWS = [v for v in VIEWS if v is not CompareView]


def view_class(key: str) -> type[BaseView]:
    for v in VIEWS:
        if v.key == key:
            return v
    raise KeyError(key)


__all__ = ["RUN_VIEWS", "VIEWS", "BaseView", "view_class"]
