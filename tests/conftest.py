"""Shared test set-up: Qt offscreen, deterministic hypothesis profile."""

import atexit
import os
import shutil
import tempfile

from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Tests never see the datasets this machine's user has downloaded: the presets that fall back to
# mnist_like do so everywhere, and the download tests fetch into folders of their own
_data_dir = tempfile.mkdtemp(prefix="gradlab-tests-data-")
os.environ["GRADLAB_DATA_DIR"] = _data_dir
atexit.register(shutil.rmtree, _data_dir, True)

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
