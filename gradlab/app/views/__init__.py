"""The live views, in the order of the window's tabs."""

from gradlab.app.views.base import BaseView
from gradlab.app.views.boundary import BoundaryView
from gradlab.app.views.compare import CompareView
from gradlab.app.views.dashboard import DashboardView
from gradlab.app.views.distributions import DistributionsView
from gradlab.app.views.heatmaps import HeatmapsView
from gradlab.app.views.overtime import OverTimeView
from gradlab.app.views.profile import ProfileView
from gradlab.app.views.training import TrainingView

#: every view the window shows (and ``gradlab export --figure`` can render), in tab order
VIEWS: list[type[BaseView]] = [
    DashboardView,
    DistributionsView,
    ProfileView,
    OverTimeView,
    HeatmapsView,
    TrainingView,
    BoundaryView,
    CompareView,
]

#: the views that draw one run's history, one each (Compare draws the pinned runs; the
#: Dashboard shows these together)
RUN_VIEWS = [v for v in VIEWS if v not in (CompareView, DashboardView)]


def view_class(key: str) -> type[BaseView]:
    for v in VIEWS:
        if v.key == key:
            return v
    raise KeyError(key)


__all__ = ["RUN_VIEWS", "VIEWS", "BaseView", "CompareView", "DashboardView", "view_class"]
