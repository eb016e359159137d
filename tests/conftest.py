"""Shared test set-up: Qt offscreen, deterministic hypothesis profile, and no Qt thread or timer
outliving its test."""

import atexit
import gc
import os
import shutil
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Tests never see the datasets this machine's user has downloaded: the presets that fall back to
# mnist_like do so everywhere, and the download tests fetch into folders of their own
_data_dir = tempfile.mkdtemp(prefix="gradlab-tests-data-")
os.environ["GRADLAB_DATA_DIR"] = _data_dir
atexit.register(shutil.rmtree, _data_dir, True)

# ...nor its settings: a window made without a private QSettings file (the zoom, the theme,
# recent files) reads and writes a throw-away folder, never the user's ~/.config/GradLab
_config_dir = tempfile.mkdtemp(prefix="gradlab-tests-config-")
os.environ["XDG_CONFIG_HOME"] = _config_dir
atexit.register(shutil.rmtree, _config_dir, True)

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


def qt_leftovers() -> list[str]:
    """What a finished test left running: training threads, active timers (after the widgets
    the test closed are deleted). Headless tests never load Qt: nothing to look at then."""
    if "PySide6.QtWidgets" not in sys.modules:
        return []
    from PySide6.QtCore import QCoreApplication, QEvent, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return []
    # collect first: a Python-owned widget collected mid-way would delete its children under
    # the walk below (a window not shut down may have left its objects frozen: thawed first)
    gc.unfreeze()
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    app.processEvents()
    gc.collect()
    found = []
    if "gradlab.app.worker" in sys.modules:
        from gradlab.app.worker import running_threads

        found += [f"the QThread {t.objectName()!r} is still running" for t in running_threads()]
    if "gradlab.experiment.remote" in sys.modules:
        from gradlab.experiment.remote import live_processes

        found += [f"the training process {pid} is still running" for pid in live_processes()]
    if "gradlab.app.downloads" in sys.modules:
        from gradlab.app.downloads import running_threads as download_threads

        found += [f"the download thread {t.objectName()!r} is still running"
                  for t in download_threads()]
    if "gradlab.app.preview" in sys.modules:  # preview jobs are short: they may finish first
        from gradlab.app.preview import preview_service

        if not preview_service().wait(20000):
            found.append("a data preview thread is still running")
    gc.disable()
    try:
        owners = [app, *app.topLevelWidgets()]
        timers = {id(t): t for o in owners for t in o.findChildren(QTimer) if t.isActive()}
    finally:
        gc.enable()
    for t in timers.values():
        parent = t.parent()
        where = type(parent).__name__ if parent is not None else "no parent"
        found.append(f"a QTimer ({t.interval()} ms, of {where}) is still active")
    return found


@pytest.fixture(autouse=True)
def _no_qt_thread_or_timer_left_running(request):
    """Fail a Qt test that leaves a training thread or an active QTimer behind (pytest-qt closes
    and deletes the widgets the test registered first)."""
    yield
    if request.node.get_closest_marker("qt") is None and not {"qtbot", "qapp"} & set(
        request.fixturenames
    ):
        return  # a headless test
    left = qt_leftovers()
    if left:
        if "gradlab.app.worker" in sys.modules:  # stop them, so one leak does not spread
            from gradlab.app.worker import _RUNNING

            for w in list(_RUNNING):
                w.stop()
        if "gradlab.app.downloads" in sys.modules:
            from gradlab.app.downloads import stop_all

            stop_all()
        pytest.fail("the test left Qt work running: " + "; ".join(left), pytrace=False)
