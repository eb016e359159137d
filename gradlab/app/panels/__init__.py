"""Spec-editing panels docked around the views."""

from gradlab.app.panels.base import SpecPanel
from gradlab.app.panels.data import DataPanel
from gradlab.app.panels.network import NetworkPanel
from gradlab.app.panels.training import TrainingPanel

__all__ = ["DataPanel", "NetworkPanel", "SpecPanel", "TrainingPanel"]
