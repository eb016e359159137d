"""Issue 16 in the window: File > Open Sweep shows a sweep folder in the Compare view (its Table 1
layout of validation errors, its trials, and the runs' curves pinned), any trial opens as a
session, and a folder that is not a readable sweep is one sentence."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QMessageBox

from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401
from tests.sweep_folder import loader, make_sweep_folder

pytestmark = pytest.mark.qt


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    return make_sweep_folder(tmp_path_factory.mktemp("sweeps") / "tiny")


@pytest.fixture
def dialogs(monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning",
                        lambda _p, title, text, *a, **k: shown.append((title, text)))
    return shown


def cell_texts(table):
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def test_a_sweep_opens_in_compare_with_its_table_trials_and_curves(
    qtbot, settings, sweep_dir  # noqa: F811
):
    win = make_window(qtbot, settings)
    try:
        win.step_once(5)
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 5,
                        timeout=10000)
        win.pin_current()  # the user's own pin stays through the sweep
        mine = win.pinned[0]
        panel = win.open_sweep(sweep_dir, loader=loader())
        assert panel is not None and win.tabs.currentWidget() is win.compare
        assert win.compare.sweep_panel is panel and panel.isVisible()
        assert "tiny-table1: 8 trials, 5 done, 1 diverged, 1 error, 1 pending" in (
            panel.title.text())
        # the table: activation (rows) x init (columns), validation error % mean ± std
        t = panel.table
        assert [t.verticalHeaderItem(i).text() for i in range(t.rowCount())] == ["tanh", "relu"]
        assert [t.horizontalHeaderItem(i).text() for i in range(t.columnCount())] == [
            "glorot_uniform", "he_normal"]
        texts = cell_texts(t)
        assert all("±" in x for x in texts[0])  # two repeats each
        assert "1 diverged" in texts[1][0] and texts[1][1] == ""
        best = [t.item(r, c).font().bold() for r in range(2) for c in range(2)]
        tanh = [float(x.split(" ")[0]) for x in texts[0]]
        assert best == [tanh[0] < tanh[1], tanh[1] < tanh[0], False, False]  # never diverged
        # the trials, each with its status
        rows = cell_texts(panel.trials)
        assert [r[0] for r in rows] == [f"t000{i}" for i in range(8)]
        assert [r[3] for r in rows] == ["done"] * 5 + ["diverged", "error", "pending"]
        assert "not enough memory" in rows[6][7] and rows[7][7] == "not run yet"
        assert rows[0][1] == "activation=tanh, init=glorot_uniform"
        # the curves: one per setting that finished, pinned beside the user's own
        qtbot.waitUntil(lambda: len(win.pinned) == 4 and not panel.loading, timeout=30000)
        names = [r.name for r in win.pinned[1:]]
        assert names == ["tanh, glorot_uniform (t0000)", "tanh, he_normal (t0002)",
                         "relu, glorot_uniform (t0004)"]
        assert win.compare.runs == win.pinned and len(win.compare.loss_items) == 4
        assert "Curves of 3 pinned." in panel.status.text()
        # a trial without a session says why; one with a session opens as the document
        panel.trials.cellDoubleClicked.emit(6, 0)
        assert "t0006 has no session to open" in panel.status.text()
        win._saved_step = win.snapshot.step  # (saved: opening asks nothing)
        panel.trials.cellDoubleClicked.emit(3, 0)
        qtbot.waitUntil(lambda: win.path is not None and win.path.name == "t0003.gradlab"
                        and win.snapshot is not None
                        and win.snapshot.run_id == win.run.run_id, timeout=20000)
        assert win.run.history.n_steps > 0 and win.snapshot.step == 20
        # closing the sweep unpins its curves, not the user's pin
        panel.closed.emit()
        assert win.pinned == [mine] and win.compare.sweep_panel is None
    finally:
        stop_window(win)


def test_a_cell_opens_its_best_run(qtbot, settings, sweep_dir):  # noqa: F811
    win = make_window(qtbot, settings)
    try:
        panel = win.open_sweep(sweep_dir, loader=loader())
        panel.table.cellDoubleClicked.emit(0, 1)  # tanh, he_normal
        qtbot.waitUntil(lambda: win.path is not None and win.path.name == "t0002.gradlab",
                        timeout=20000)
        panel.table.cellDoubleClicked.emit(1, 1)  # relu, he_normal: nothing finished
        assert "Nothing finished" in panel.status.text()
    finally:
        stop_window(win)


def test_closing_the_window_while_the_curves_load_stops_the_loading(
    qtbot, settings, sweep_dir  # noqa: F811
):
    win = make_window(qtbot, settings)
    panel = win.open_sweep(sweep_dir, loader=loader())
    assert win.shutdown()
    assert not panel.loading


def test_folders_that_are_not_sweeps_are_one_sentence(
    qtbot, settings, tmp_path, dialogs, sweep_dir, monkeypatch  # noqa: F811
):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "sweep.json").write_text('{"format": "gradlab-sweep", "version": \x1b[2J')
    win = make_window(qtbot, settings)
    try:
        for folder in (empty, broken):
            n = len(dialogs)
            assert win.open_sweep(folder, loader=loader()) is None
            assert len(dialogs) == n + 1 and dialogs[-1][0] == "Cannot open the sweep"
            text = dialogs[-1][1]
            assert "Traceback" not in text and "\x1b" not in text and "\n" not in text
            assert text.endswith(".") and folder.name in text, text
        assert getattr(win.compare, "sweep_panel", None) is None and win.pinned == []
        # without the sweep runner installed, the window says so
        import gradlab.experiment

        monkeypatch.setitem(sys.modules, "gradlab.experiment.sweep", None)
        monkeypatch.delattr(gradlab.experiment, "sweep", raising=False)
        assert win.open_sweep(sweep_dir) is None
        assert "cannot read sweep folders" in dialogs[-1][1]
    finally:
        stop_window(win)
