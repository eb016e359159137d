"""Issue 10 in the window: hostile or broken sessions, specs and data files opened in the window
give one sentence in a dialog and the window stays usable (the worker alive, presets load, the
run trains, shutdown is clean), also for MemoryError and RecursionError raised on the worker;
every text from a file is shown printable; saves onto read-only files say so."""

from __future__ import annotations

import json
import os
import stat

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gradlab.experiment import load_session
from tests import hostile as H
from tests.qt_helpers import make_window, settings, stop_window  # noqa: F401

pytestmark = pytest.mark.qt

CONTROL = ("\x1b", "\u202e", "\x07", "\r", "\n", "\x9b")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return H.make_session(tmp_path_factory.mktemp("good") / "good.gradlab")


@pytest.fixture
def dialogs(monkeypatch):
    """The warnings the window shows: (title, text) each, answered at once."""
    shown: list[tuple[str, str]] = []

    def warning(_parent, title, text, *a, **k):
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", warning)
    return shown


def one_sentence(text: str, *words: str) -> None:
    assert "Traceback" not in text and "internal error" not in text, text
    assert "nexpected error" not in text, text  # (errors.sentence's words for a bug)
    assert not any(c in text for c in CONTROL), repr(text)
    assert not text[:1].islower() and text.endswith("."), text  # (a path may start it)
    for w in words:
        assert w.lower() in text.lower(), (w, text)


def still_usable(win, qtbot, run_id: int) -> None:
    """The worker is alive: the run is the one before, a preset loads and trains."""
    assert win.worker.thread.isRunning() and win.run.run_id == run_id
    win.load_preset("dead-relu", confirm=False)
    qtbot.waitUntil(lambda: win.run.run_id > run_id and win.run.name == "dead-relu", timeout=20000)
    win.step_once(3)
    qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.run_id == win.run.run_id
                    and win.snapshot.step == 3, timeout=10000)


def edited(good, tmp_path, name, *path_and_value):
    *path, value = path_and_value

    def edit(m):
        node = m
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return H.rewrite_session(good, tmp_path / name, edit)


# ====================================================================== sessions
def hostile_sessions(good, tmp_path):
    manifest, members = H.read_session(good)
    text = json.dumps(manifest)
    big = H.zero_bomb("arrays/bomb.npy", 3 * H.GiB + 128, H.npy_header((3 * H.GiB,), "|u1"))

    def bomb(m):
        m["arrays"]["bomb"] = {"shape": [3 * H.GiB], "dtype": "|u1"}

    fifo = tmp_path / "pipe.gradlab"
    os.mkfifo(fifo)
    truncated = tmp_path / "truncated.gradlab"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    foreign = tmp_path / "notes.gradlab"
    foreign.write_text("not a session at all\n")
    return [
        (fifo, ["FIFO"]),
        ("/dev/zero", ["character device"]),
        (truncated, ["truncated.gradlab"]),
        (foreign, ["notes.gradlab"]),
        (H.rewrite_session(good, tmp_path / "bomb.gradlab", bomb, [big]), ["bomb.gradlab"]),
        (H.write_zip(tmp_path / "inf.gradlab", [
            H.member("manifest.json", text.replace('"step_count": 20',
                                                   '"step_count": 1e999').encode()),
            *members]), ["out of range"]),
        (edited(good, tmp_path, "deep.gradlab", "spec", "reference",
                json.loads(H.nested(900))), ["nested"]),
        (edited(good, tmp_path, "units.gradlab", "spec", "network", "layers", 0, "units",
                10**9), ["units"]),
        (edited(good, tmp_path, "status.gradlab", "trainer", "status", "\x1b[31mhacked"),
         ["trainer.status", "\\x1b"]),
    ]


def test_hostile_sessions_are_one_sentence_each_and_the_window_stays_usable(
    qtbot, settings, tmp_path, good, dialogs  # noqa: F811
):
    win = make_window(qtbot, settings)
    try:
        for path, words in hostile_sessions(good, tmp_path):
            run_id, before = win.run.run_id, len(dialogs)
            win.open_file(str(path), confirm=False)
            qtbot.waitUntil(lambda b=before: len(dialogs) > b, timeout=20000)
            title, text = dialogs[-1]
            assert title == "Cannot open the session", (path, text)
            one_sentence(text, *words)
            assert win.run.run_id == run_id  # nothing replaced the run
        still_usable(win, qtbot, win.run.run_id)
    finally:
        stop_window(win)
    assert not win.worker.thread.isRunning()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (MemoryError("cannot allocate 15 GB"), ["not enough memory", "15 GB"]),
        (RecursionError("maximum recursion depth exceeded"), ["nested too deeply"]),
    ],
)
def test_memory_and_recursion_errors_on_the_worker_are_one_sentence(
    qtbot, settings, tmp_path, good, dialogs, monkeypatch, error, words  # noqa: F811
):
    from gradlab.app import worker

    def boom(*_a, **_k):
        raise error

    win = make_window(qtbot, settings)
    try:
        monkeypatch.setattr(worker, "load_session", boom)
        monkeypatch.setattr(worker, "Experiment", boom)
        run_id = win.run.run_id
        win.open_file(str(good), confirm=False)
        qtbot.waitUntil(lambda: len(dialogs) == 1, timeout=10000)
        assert dialogs[0][0] == "Cannot open the session"
        one_sentence(dialogs[0][1], "good.gradlab", *words)
        win.reset()  # a build of the spec: the same error there
        qtbot.waitUntil(lambda: len(dialogs) == 2, timeout=10000)
        assert dialogs[1][0] == "Cannot build the experiment"
        one_sentence(dialogs[1][1], *words)
        monkeypatch.undo()
        monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: dialogs.append(a[1:3]))
        still_usable(win, qtbot, run_id)
    finally:
        stop_window(win)


def test_a_session_whose_data_is_a_fifo_shows_its_history_and_says_why(
    qtbot, settings, tmp_path, good, dialogs  # noqa: F811
):
    fifo = tmp_path / "data.npz"
    os.mkfifo(fifo)
    path = edited(good, tmp_path, "fifo-data.gradlab", "spec", "data",
                  {"name": "npz", "path": str(fifo), "val_fraction": 0.2, "preprocess": "none",
                   "max_train": None, "whiten_eps": 1e-5})
    win = make_window(qtbot, settings)
    try:
        spec = win.doc_spec  # a finished run first: its banner gives way to the session's
        spec["training"]["steps"] = 5
        win._on_spec_edited(spec)
        qtbot.waitUntil(lambda: win.run.spec["training"]["steps"] == 5, timeout=15000)
        win.act_run.trigger()
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.status == "done",
                        timeout=15000)
        assert "Finished" in win.banner.text()
        win.open_file(str(path), confirm=False)
        qtbot.waitUntil(lambda: win.path is not None and win.path.name == path.name,
                        timeout=20000)
        qtbot.waitUntil(lambda: win.snapshot is not None
                        and win.snapshot.run_id == win.run.run_id, timeout=10000)
        win._tick(force=True)
        assert "FIFO" in win.banner.text() and "viewed, not resumed" in win.banner.text()
        assert win.run.history.n_probes >= 1  # the history is there to look at
        # the Data panel flags the path (Run is off); a step asked anyway never hangs on the
        # FIFO (the panel's data check runs off the UI thread): one sentence
        qtbot.waitUntil(lambda: "FIFO" in win.spec_error(), timeout=10000)
        assert not win.act_run.isEnabled()
        win.step_once()
        qtbot.waitUntil(lambda: len(dialogs) == 1, timeout=10000)
        one_sentence(dialogs[0][1], "cannot train", "FIFO")
        still_usable(win, qtbot, win.run.run_id)
    finally:
        stop_window(win)


# ====================================================================== text from files
def test_names_paths_and_events_from_a_file_are_shown_printable(
    qtbot, settings, tmp_path, good, monkeypatch  # noqa: F811
):
    from gradlab.app.dialogs import EventsDialog

    evil = "evil\x1b[2J\u202egnp.exe\x07"
    exp = load_session(good)
    exp.spec["name"] = evil
    exp.spec["description"] = "desc\x1b]0;owned\x07"
    exp.history.add_event(exp.step_count, "vanishing", f"crafted \x1b[31m{evil}",
                          layer="dense1\x1b", severity="warning", source="\u202esource")
    path = tmp_path / "evil\x1b[1m.gradlab"
    exp.save(path)
    win = make_window(qtbot, settings)
    try:
        win.open_file(str(path), confirm=False)
        qtbot.waitUntil(lambda: win.path is not None and win.path == path, timeout=20000)
        win._tick(force=True)
        shown = [
            win.windowTitle(),
            win.statusBar().currentMessage(),
            win.health_btn.text(),
            win.health_btn.toolTip(),
            win.run.name,
            win.run.describe(),
            *(a.text() + a.toolTip() for a in win.recent_menu.actions()),
        ]
        for text in shown:
            assert not any(c in text for c in CONTROL), repr(text)
        assert "\\x1b" in win.windowTitle() and "\\u202e" in win.windowTitle()
        dlg = EventsDialog(win.run.history.events_copy(), win)
        qtbot.addWidget(dlg)
        texts = " ".join(" ".join(r) for r in dlg.row_texts()) + dlg.detail.toPlainText()
        assert not any(c in texts for c in CONTROL)
        # pinned for comparison: the Compare list and its A/B boxes too
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
        win.pin_file()
        cmp = win.compare
        items = [cmp.run_list.item(i).text() for i in range(cmp.run_list.count())]
        items += [cmp.combo_a.itemText(i) for i in range(cmp.combo_a.count())]
        assert items and not any(c in t for t in items for c in CONTROL), items
    finally:
        stop_window(win)


# ====================================================================== specs and data files
def test_spec_files_are_read_bounded_and_refused_in_one_sentence(
    qtbot, settings, tmp_path, dialogs  # noqa: F811
):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    deep = tmp_path / "deep.json"
    deep.write_text('{"name": ' + H.nested(30_000) + "}")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2, 3]")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"network": {"layers": [{"units": 8, "activation": "tanhh"}]}}))
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    cases = [(fifo, ["FIFO"]), (deep, ["nested"]), (listed, ["not a spec"]),
             (bad, ["tanhh"]), (zero, ["character device"])]
    win = make_window(qtbot, settings)
    try:
        run_id = win.run.run_id
        for path, words in cases:
            n = len(dialogs)
            win.open_file(str(path), confirm=False)
            assert len(dialogs) == n + 1, path
            assert dialogs[-1][0] == "Cannot open the spec"
            one_sentence(dialogs[-1][1], *words)
            assert win.run.run_id == run_id and win.doc.name == "spiral"
        # a data file that is not one: the build says why (the worker stays up)
        idx = tmp_path / "labels.idx"
        idx.write_bytes(H.idx_bytes((10_000,)))
        bomb = H.gzip_zero_bomb(tmp_path / "bomb.gz", H.idx_bytes((10_000, 28, 28), data=b""),
                                1536 * H.MiB)
        spec = tmp_path / "bomb-spec.json"
        spec.write_text(json.dumps({
            "name": "bomb", "data": {"name": "idx", "train_images": str(bomb),
                                     "train_labels": str(idx)},
            "network": {"layers": [{"units": 4}]}, "training": {"steps": 5}}))
        n = len(dialogs)
        assert win.open_spec(spec)
        qtbot.waitUntil(lambda: len(dialogs) == n + 1, timeout=20000)
        assert dialogs[-1][0] == "Cannot build the experiment"
        one_sentence(dialogs[-1][1], "bomb.gz", "10000 x 28 x 28")
        # a good spec opens as a document and builds its run
        ok = tmp_path / "ok.json"
        ok.write_text(json.dumps({"name": "mine", "data": {"name": "moons"},
                                  "training": {"steps": 10}}))
        assert win.open_spec(ok)
        qtbot.waitUntil(lambda: win.run.name == "mine", timeout=20000)
        still_usable(win, qtbot, win.run.run_id)
    finally:
        stop_window(win)


# ====================================================================== saving
def test_saving_onto_a_read_only_file_says_so_and_keeps_it(
    qtbot, settings, tmp_path, dialogs  # noqa: F811
):
    target = tmp_path / "kept.gradlab"
    target.write_bytes(b"the old file")
    target.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    win = make_window(qtbot, settings)
    try:
        win.step_once(2)
        qtbot.waitUntil(lambda: win.snapshot is not None and win.snapshot.step == 2,
                        timeout=10000)
        assert not win._save_to(target, wait=True)
        assert dialogs[-1][0] == "Cannot save the session"
        one_sentence(dialogs[-1][1], "kept.gradlab", "read-only")
        assert target.read_bytes() == b"the old file"
        assert win.isWindowModified()  # still unsaved: nothing pretends otherwise
        folder = tmp_path / "a-folder.gradlab"
        folder.mkdir()
        assert not win._save_to(folder, wait=True)
        one_sentence(dialogs[-1][1], "a-folder.gradlab", "folder")
    finally:
        stop_window(win)
