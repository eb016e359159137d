"""Helpers shared by the Qt tests (imported, not a conftest: the headless tests never load Qt)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def settings(tmp_path):
    """A private settings file, so tests never read or write the user's."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def make_window(qtbot, settings, **kwargs):
    """A MainWindow on the default preset, shown, its step-0 probe in; closed at teardown."""
    from gradlab.app.window import MainWindow

    win = MainWindow(settings=settings, **kwargs)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.run is not None and win.run.history.n_probes >= 1, timeout=20000)
    return win


def stop_window(win) -> None:
    """Tear down without the unsaved-changes question."""
    win.doc.edited = False
    win._saved_step = win.snapshot.step if win.snapshot else 0
    assert win.shutdown(), "the training thread did not stop within 5 s"
