"""Shared test set-up: Qt offscreen, deterministic hypothesis profile."""

import os

from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# tests/reference compares GradLab with PyTorch, which is not a dependency: CI installs it and runs
# that suite with GRADLAB_REFERENCE=1 (see .ci/run); elsewhere it is left out, not skipped
collect_ignore = [] if os.environ.get("GRADLAB_REFERENCE") else ["reference"]

settings.register_profile(
    "gradlab",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
    max_examples=25,
)
settings.load_profile("gradlab")
