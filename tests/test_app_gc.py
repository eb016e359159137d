"""The window's objects are frozen for Python's garbage collector once its views are built
(gradlab.app.viewbuild.settle_garbage): a full collection, which walked ~90,000 objects and
stalled the window 60-90 ms every ~20 s of training, walks only what was made since; a new run's
views let the old run's plots go, and a window shut down leaves nothing frozen."""

from __future__ import annotations

import gc
import weakref

import pytest

from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt


def settled(win) -> bool:
    return win.views_ready and not win._prebuild_timer.isActive()


def test_built_views_are_frozen_and_a_new_runs_views_let_the_old_plots_go(qtbot, settings):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        qtbot.waitUntil(lambda: settled(win), timeout=30000)
        assert gc.get_freeze_count() > 10 * len(gc.get_objects())  # (what a collection walks)
        view = next(v for v in win.views if v.key == "distributions")
        qtbot.waitUntil(lambda: view.built, timeout=30000)
        old = weakref.ref(view.canvas_items()[0])
        win.load_preset("cs231n-tanh-0.01", confirm=False)  # another shape: views rebuilt
        qtbot.waitUntil(lambda: win.run.name == "cs231n-tanh-0.01", timeout=30000)
        qtbot.waitUntil(lambda: view.built and settled(win), timeout=60000)
        assert view.canvas_items()[0] is not old()
        assert old() is None  # collected, not frozen forever
        assert gc.get_freeze_count() > 10 * len(gc.get_objects())
    finally:
        stop_window(win)
    assert gc.get_freeze_count() == 0
