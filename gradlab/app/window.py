"""The main window: docked spec panels, the live views, the timeline, toolbar, menus, status bar.

The window shows a *document* (:class:`~gradlab.app.document.Document`: the spec being edited,
named after its content, its file, its unsaved mark and its undo history) and talks to the
training worker only through commands and snapshots (see :mod:`gradlab.app.worker`). A ~30 Hz
timer redraws the visible view when the history changed or the timeline moved; while training runs
flat out, the frames (views and status bar) take only their share of the time
(:mod:`gradlab.app.pacing`), a tab switch or a move of the timeline is drawn at once.

Edits of the spec go to the document; before the first step the experiment is rebuilt at once
(the step-0 views show what an initialisation does), after it a changed learning rate applies to
the running run from the next step (the run records the change, and every label of the run says
so), and any other change waits for Reset (a banner says so).
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import pins, theme
from gradlab.app.banner import Banner
from gradlab.app.chrome import WindowChrome
from gradlab.app.dialogs import EventsDialog, main_window_app
from gradlab.app.document import Document
from gradlab.app.downloads import confirm_stop, stop_all
from gradlab.app.lecture import LectureChrome
from gradlab.app.model import RunModel
from gradlab.app.pacing import FramePacer
from gradlab.app.panels import DataPanel, NetworkPanel, SpecPanel, TrainingPanel
from gradlab.app.runstate import FOLLOWED, RunState
from gradlab.app.session_files import SessionFiles
from gradlab.app.sweep_view import SweepFiles
from gradlab.app.timeline import TimelineBar
from gradlab.app.viewbuild import PREBUILD_MS, ViewBuilding, thaw_garbage
from gradlab.app.views import VIEWS, BaseView, CompareView
from gradlab.app.views.compare import spec_diff
from gradlab.app.worker import RunInfo, Snapshot, WorkerThread
from gradlab.experiment import History, presets
from gradlab.experiment.spec import fields as F
from gradlab.experiment.spec import naming
from gradlab.safeio import printable

__all__ = ["MainWindow", "main_window_app"]

FRAME_MS = 33


class MainWindow(
    ViewBuilding, LectureChrome, WindowChrome, SessionFiles, RunState, SweepFiles, QMainWindow
):
    """GradLab's window. ``settings`` lets tests use a private settings file."""

    _shut = False

    @property
    def doc_spec(self) -> dict:
        """A copy of the spec being edited (the document's)."""
        return self.doc.spec

    @doc_spec.setter
    def doc_spec(self, spec: dict) -> None:
        """A new document (scripts, bench/ui.py); its run is theirs to build."""
        self.doc.replace(spec, self.doc.path)

    @property
    def path(self) -> Path | None:
        """The session file of the document (None until saved or opened)."""
        return self.doc.path

    def __init__(
        self,
        *,
        settings: QSettings | None = None,
        start: tuple | None = ("preset", presets.DEFAULT),
        run_at_start: bool = False,
    ):
        super().__init__()
        self.settings = settings or QSettings("GradLab", "GradLab")
        theme.apply(str(self.settings.value("theme", "light")))
        self._restore_zoom()
        self.setWindowTitle("GradLab")
        self.resize(1500, 920)

        self.doc = Document(presets.load(presets.DEFAULT), self)
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.stateChanged.connect(self._update_title)
        self.run: RunModel | None = None
        self.snapshot: Snapshot | None = None
        self.pinned: list[RunModel] = []
        self.pending_changes = False  # spec edited after the run started
        self._saved_step = 0  # run step at the last save/open
        self._early: Snapshot | None = None  # a snapshot of a run not announced yet
        self._copy_tokens = itertools.count(1)
        self._copy_wanted: int | None = None
        self.wait_dialog: QProgressDialog | None = None  # shown while closing waits
        self._drawn = (None, None, None, None)  # (run_id, history version, row, view)
        self._run_at_start = run_at_start
        self._close_after_save = False
        self._pin_serial = 0
        self._shut = False
        self._save_loop: QEventLoop | None = None
        self._status_of: Snapshot | None = None
        self._health_of: tuple | None = None
        self._save_result: bool | None = None

        self.worker = WorkerThread()
        w = self.worker.worker
        w.snapshotReady.connect(self._on_snapshot_ready)
        w.runChanged.connect(self._on_run_changed)
        w.failed.connect(self._on_failed)
        w.saved.connect(self._on_saved)
        w.networkCopied.connect(self._on_network_copied)

        self._build_views()
        self._build_panels()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()
        self._restore_layout()
        self._install_space()

        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(250)
        self._rebuild_timer.timeout.connect(self._rebuild_from_doc)
        self.pacer = FramePacer()
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)
        self._prebuild_timer = QTimer(self)
        self._prebuild_timer.setInterval(PREBUILD_MS)
        self._prebuild_timer.timeout.connect(self._prebuild)

        self.worker.start()
        self.timer.start()
        if start is not None:
            kind, value = start
            if kind == "file":
                self.open_file(value, confirm=False)
            else:
                self.load_preset(value, confirm=False)
        self._update_title()
        self.tabs.setFocus()  # not a text field: Space must run at once

    # ================================================================== construction
    def _build_views(self) -> None:
        central = QWidget(self)
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.banner = Banner(central)
        self.tabs = QTabWidget(central)
        self.tabs.setDocumentMode(True)
        self.views: list[BaseView] = []
        for cls in VIEWS:
            view = cls(self.tabs)
            view.lazy = True  # its plots are built when it is first shown
            self.views.append(view)
            self.tabs.addTab(view, cls.title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, cls.summary)
        self.compare: CompareView = next(v for v in self.views if isinstance(v, CompareView))
        self.compare.pinnedChanged.connect(self._on_pins_changed)
        self.compare.pinRequested.connect(self.pin_current)
        self.timeline = TimelineBar(central)
        self.timeline.stepSelected.connect(lambda _s: self._tick(force=True))
        # a switch draws the view at once (its plots then paint one a turn: views/reveal.py)
        self.tabs.currentChanged.connect(lambda _i: self._tick(force=True))
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)

    def _size_docks(self) -> None:
        """The panels' docks wide enough for their fields (the layer table's columns whole),
        at most 30% of the window, so the views keep the rest."""
        want = max(p.sizeHint().width() for p in self.panels) + 12
        width = int(min(max(want, 260), 0.3 * self.width()))
        self.resizeDocks(self.docks, [width] * len(self.docks), Qt.Orientation.Horizontal)

    def _sync_preset_box(self, spec: dict) -> None:
        """The toolbar's Preset box names the preset the document is (none for a custom spec or
        a session of one: the previous preset's name must not linger)."""
        name = spec.get("name")
        index = -1
        if spec.get("preset") == name and name in presets.names():
            index = self.preset_box.findText(name)
        if self.preset_box.currentIndex() != index:
            self.preset_box.setCurrentIndex(index)

    def _build_panels(self) -> None:
        self.panels: list[SpecPanel] = [
            NetworkPanel(self, undo_stack=self.doc.undo_stack),
            DataPanel(self),
            TrainingPanel(self),
        ]
        for panel in self.panels:
            panel.set_spec(self.doc.spec)
        self.docks: list[QDockWidget] = []
        for panel in self.panels:
            dock = QDockWidget(panel.title or type(panel).__name__, self)
            dock.setObjectName(f"dock-{type(panel).__name__}")
            dock.setWidget(panel)
            dock.setFeatures(
                QDockWidget.DockWidgetFeature.DockWidgetMovable
                | QDockWidget.DockWidgetFeature.DockWidgetClosable
                | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            )
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
            panel.specEdited.connect(self._on_spec_edited)
            panel.errorsChanged.connect(self._update_actions)
            if isinstance(panel, DataPanel):
                panel.datasetDownloaded.connect(self._on_dataset_downloaded)
            self.docks.append(dock)
        self.tabifyDockWidget(self.docks[0], self.docks[1])
        self.tabifyDockWidget(self.docks[1], self.docks[2])
        self.docks[0].raise_()

    # ================================================================== spec editing
    @Slot(object)
    def _on_spec_edited(self, spec: dict) -> None:
        """A panel's edit: to the document, as one undoable command (the Network panel's edits
        are on the document's stack already)."""
        source = self.sender()
        if isinstance(source, NetworkPanel) and source.undo_stack is self.doc.undo_stack:
            self.doc.adopt(spec, source)
        else:
            self.doc.edit(spec, _edit_text(self.doc.spec, spec), source)

    def _on_lr_committed(self, value: float) -> None:
        """The toolbar's learning rate: the same spec value as the Training panel's field."""
        self.doc.set_lr(float(value))

    @Slot(object, object)
    def _on_doc_changed(self, spec: dict, source: object) -> None:
        for panel in self.panels:
            if panel is source:
                panel.adopt_naming(spec)  # it shows the edit already
            else:
                panel.set_spec(spec)
        if self.lr_box.value() != self.doc.lr():
            self.lr_box.set_value_quietly(self.doc.lr())
        self._sync_preset_box(spec)
        self._update_title()
        self._update_actions()
        if source is self.doc:
            return  # a new document: its run is built or opened by whoever replaced it
        error = self.spec_error()
        if error:
            self.statusBar().showMessage(error, 8000)
        self._follow_run(spec, error)

    def _follow_run(self, spec: dict, error: str) -> None:
        """What an edit does to the run: before the first step the run is rebuilt at once; after
        it a new learning rate applies from the next step (the run records the change) and any
        other change waits for Reset."""
        started = self.snapshot is not None and self.snapshot.step > 0
        if not started:
            if not error:
                self._rebuild_timer.start()  # not trained yet: show the new initialisation
            return
        exp = self.run.experiment if self.run is not None else None
        if exp is None:
            return
        self._follow_budget(spec, exp, error)  # a new budget: the run follows it (runstate.py)
        if naming.same_settings(spec, exp.current_spec(), ignore=FOLLOWED):
            if not error and self.doc.lr() != exp.base_lr:
                self.worker.post("set_lr", self.doc.lr())
            self._set_pending(False)
        else:
            self._set_pending(True)

    def _set_pending(self, pending: bool) -> None:
        self.pending_changes = pending
        if pending:
            self._show_banner(PENDING_TEXT)
        elif self.banner.text() == PENDING_TEXT:
            self._show_banner("")

    def spec_error(self) -> str:
        """The first error of the document ("" if none): a panel's (a cell, a data file), or the
        spec's own from its one check (cached: the status bar asks every frame)."""
        for panel in self.panels:
            errs = panel.errors()
            if errs:
                return errs[0]
        problems = self.doc.problems()
        return problems[0].message if problems else ""

    def _rebuild_from_doc(self) -> None:
        """The rebuild an edit before the first step asked for (unless training began since)."""
        started = self.snapshot is not None and self.snapshot.step > 0
        if not self.spec_error() and not started:
            self.worker.post("build", self.doc.spec)

    def _flush_rebuild(self) -> None:
        """Run or Step right after an edit: the rebuild it waits for goes first (the worker takes
        commands in order), so the steps train what the panels show."""
        if self._rebuild_timer.isActive():
            self._rebuild_timer.stop()
            self._rebuild_from_doc()

    @Slot(str)
    def _on_dataset_downloaded(self, name: str) -> None:
        """The spec's dataset was just downloaded: a run not trained yet is built on it again,
        a started one goes on with the data it has."""
        if self.snapshot is not None and self.snapshot.step > 0:
            self._show_banner(f"{name} is downloaded: press Reset (Ctrl+R) to start a run on "
                              "it. The current run goes on with the data it started on.")
        else:
            self._rebuild_timer.start()

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    # ================================================================== training commands
    def toggle_run(self) -> None:
        if self.snapshot is not None and self.snapshot.status == "running":
            self.worker.post("pause")
            return
        if self._run_stopped_run():  # finished: train N more; diverged: the banner asks
            return
        error = self.spec_error()
        if error and not self.pending_changes:
            self._on_failed("run", error)
            return
        self.timeline.select_step(None)
        self._flush_rebuild()
        self.worker.post("run")

    def step_once(self, n: int = 1) -> None:
        if self._step_stopped_run(n):  # finished: one more step; diverged: the banner asks
            return
        self._flush_rebuild()
        self.worker.post("step", n)

    def reset(self) -> None:
        error = self.spec_error()
        if error:
            self._on_failed("reset", error)
            return
        if self.snapshot is not None and self.snapshot.step > 0 and self.dirty:
            ans = QMessageBox.question(
                self,
                "Reset the run",
                f"Reset discards the current run ({self.snapshot.step:,} steps, unsaved). "
                "Pin it first (Ctrl+P) to keep it for comparison. Reset?",
                QMessageBox.StandardButton.Reset | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if ans != QMessageBox.StandardButton.Reset:
                return
        self.doc.path = None  # a new run: not the saved one
        self._update_title()
        self._rebuild_timer.stop()
        self.worker.post("build", self.doc.spec)

    # ================================================================== worker signals
    @Slot(object)
    def _on_run_changed(self, info: RunInfo) -> None:
        exp = info.experiment
        self.run = RunModel.from_experiment(exp, info.run_id)
        self.run.name = printable(self.run.name, pins.MAX_NAME)  # (a session's, maybe hostile)
        self.snapshot = None
        self.pending_changes = False
        self._show_banner("")
        if info.path is not None:  # an opened session: it becomes the document, as it now runs
            self._saved_step = exp.step_count
            self.doc.replace(exp.current_spec(), info.path)
            self._add_recent(str(info.path))
            if exp.data_error:
                self._show_banner(
                    f"{printable(exp.data_error, 600)} The history can be viewed, not resumed."
                )
            self.statusBar().showMessage(f"Opened {printable(info.path.name, 200)}", 5000)
        else:
            self._saved_step = 0
        for view in self.views:
            if view is not self.compare:
                view.set_model(self.run)
        self.timeline.select_step(None)
        self._drawn = (None, None, None, None)
        self._start_prebuild()
        self._pace_new_run()
        self._update_title()
        self._update_actions()
        early, self._early = self._early, None
        if early is not None and early.run_id == info.run_id:
            self._on_snapshot(early)
        if self._run_at_start:
            self._run_at_start = False
            self.worker.post("run")

    @Slot()
    def _on_snapshot_ready(self) -> None:
        """The worker's mailbox has a snapshot: take the newest."""
        snap = self.worker.worker.take_snapshot()
        if snap is not None:
            self._on_snapshot(snap)

    def _on_snapshot(self, snap: Snapshot) -> None:
        if self.run is None or snap.run_id > self.run.run_id:
            self._early = snap  # its run is announced next (runChanged is on its way)
            return
        if snap.run_id != self.run.run_id:
            return  # a stale snapshot from a run that was replaced
        previous = self.snapshot
        self.snapshot = snap
        if snap.boundary is not None:
            self.run.boundary = snap.boundary
        self._follow_status(previous, snap)  # divergence, budget reached: runstate.py

    @Slot(str, str)
    def _on_failed(self, what: str, message: str) -> None:
        if what == "save":
            self._save_result = False
            if self._save_loop is not None:
                self._save_loop.quit()
        titles = {
            "open": "Cannot open the session",
            "save": "Cannot save the session",
            "build": "Cannot build the experiment",
            "run": "Cannot run",
            "step": "Training stopped",
            "advance": "Training stopped",
            "continue": "Cannot continue",
        }
        message = printable(message, 800)  # it may quote a file's text
        self.statusBar().showMessage(message, 10000)
        QMessageBox.warning(self, titles.get(what, "GradLab"), message)

    # ================================================================== the frame
    def _tick(self, force: bool = False) -> None:
        snap = self.snapshot
        remote = snap is not None and snap.remote
        if not force and not self.pacer.due(self._training_flat_out(snap), remote):
            # the status bar and the views wait for the next frame drawn (pacing.py); the timer
            # sleeps until then (each tick takes the GIL from training)
            self.timer.setInterval(min(max(FRAME_MS, int(1000 * self.pacer.wait()) + 1), 1000))
            return
        if self.timer.interval() != FRAME_MS:
            self.timer.setInterval(FRAME_MS)
        if snap is not None:
            self._update_status(snap)
        if self.run is None:
            return
        h = self.run.history
        version = h.version
        row = self.timeline.row()
        view = self.tabs.currentWidget()
        key = (self.run.run_id, version, row, id(view))
        boundary_changed = (
            snap is not None
            and snap.boundary is not None
            and getattr(self, "_drawn_boundary", None) is not snap.boundary
        )
        if not force and key == self._drawn and not boundary_changed:
            return
        self.pacer.drawn()
        if version != self._drawn[1]:
            self.timeline.set_steps(h.probe_steps())
            row = self.timeline.row()
            key = (self.run.run_id, version, row, id(view))
        self._drawn = key
        self._drawn_boundary = snap.boundary if snap is not None else None
        if isinstance(view, BaseView):
            view.refresh(row)

    def _training_flat_out(self, snap: Snapshot | None) -> bool:
        """Whether training runs as fast as it can (Max speed, or a pace it cannot keep): the
        frames then take only their share of the time (:class:`~gradlab.app.pacing.FramePacer`).
        """
        if snap is None or snap.status != "running":
            return False
        pace = self.steps_per_second()
        if pace is None:
            return True
        achieved = self._rate_meter.rate()
        return achieved is not None and achieved < 0.9 * pace

    # ================================================================== compare
    def pin_current(self) -> None:
        if self.run is None:
            return
        meta, arrays = self.run.history.to_arrays()
        self._pin_serial += 1
        model = RunModel(
            run_id=-self._pin_serial,
            name=f"{self.run.name} #{self._pin_serial}",
            spec=copy.deepcopy(self.run.spec),
            history=History.from_arrays(meta, arrays),
            layer_names=list(self.run.layer_names),
            input_dim=self.run.input_dim,
            output_dim=self.run.output_dim,
            changes=self.run.lr_changes,
        )
        self.pinned.append(model)
        self.compare.set_runs(self.pinned)
        self.statusBar().showMessage(f"Pinned {model.name} for comparison", 5000)

    def pin_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Compare with session", self._last_dir(), "GradLab sessions (*.gradlab)"
        )
        if not path:
            return
        try:
            model = pins.load_pinned(path, -(self._pin_serial + 1))
        except Exception as err:  # a hostile file: one sentence, nothing pinned
            QMessageBox.warning(self, "Cannot open the session", pins.failure(path, err))
            return
        self._pin_serial += 1
        self.pinned.append(model)
        self.compare.set_runs(self.pinned)
        self.tabs.setCurrentWidget(self.compare)

    # ================================================================== export
    def export_figure(self) -> None:
        from gradlab.app import export

        export.export_figure_dialog(self)

    def export_data(self) -> None:
        from gradlab.app import export

        export.export_data_dialog(self)

    def export_network(self) -> None:
        """File > Export Network: ask the worker for a copy of the network (taken between two
        steps, training goes on); the dialog opens when it arrives."""
        if self.run is None or self.run.experiment is None:
            QMessageBox.information(self, "Export network", "There is no network to export yet.")
            return
        self._copy_wanted = next(self._copy_tokens)
        self.worker.post("copy_network", self._copy_wanted)
        self.statusBar().showMessage("Copying the network…", 3000)

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        self.saved(path)

    @Slot(object, object, int, str)
    def _on_network_copied(self, token: object, network: object, step: int, name: str) -> None:
        if token != self._copy_wanted:
            return  # an answer nobody waits for any more
        self._copy_wanted = None
        from gradlab.app import export

        export.show_network_dialog(self, network, step, name)

    @Slot(list)
    def _on_pins_changed(self, runs: list) -> None:
        """Unpin / Clear in the Compare view."""
        self.pinned = list(runs)

    # ================================================================== dialogs
    def show_events(self) -> None:
        if self.run is None:
            return
        dlg = EventsDialog(self.run.history.events_copy(), self, self.timeline.selected_step)
        dlg.stepChosen.connect(self.timeline.select_step)
        dlg.exec()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_docks_sized", False):
            self._docks_sized = True
            if self.settings.value("windowState") is None:  # (not the user's own layout)
                QTimer.singleShot(0, self._size_docks)
        QTimer.singleShot(500, self._views_now_ready)  # (if no paint was seen by then)
        # once shown (the panels may have taken the focus while they filled in), the focus goes
        # to the views: not a text field or table, so Space runs and N steps at once
        QTimer.singleShot(0, self.tabs.setFocus)

    # ================================================================== closing
    def closeEvent(self, event) -> None:
        if self._shut:
            event.accept()
            return
        if not confirm_stop(self) or not self.confirm_discard() or not self.wait_until_idle():
            event.ignore()
            return
        stop_all(self)  # downloads: cancelled, their threads waited for
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.shutdown()
        event.accept()

    def wait_until_idle(self) -> bool:
        """Before closing: if the worker is in a long build, open or save, say so and wait for
        it to end (True), unless the user keeps the window open (False)."""
        busy = self.worker.busy
        if not busy:
            return True
        dlg = QProgressDialog(
            f"GradLab is still {busy}; the window closes when that is done.",
            "Keep the window open",
            0,
            0,
            self,
        )
        dlg.setWindowTitle("Closing GradLab")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        poll = QTimer(dlg)
        poll.setInterval(30)
        poll.timeout.connect(lambda: dlg.accept() if not self.worker.busy else None)
        poll.start()
        self.wait_dialog = dlg
        dlg.exec()
        poll.stop()
        self.wait_dialog = None
        return not dlg.wasCanceled() and not self.worker.busy

    def shutdown(self) -> bool:
        """Stop the frame timer and the training thread (idempotent); True if the thread ended.
        A thread still inside a long command is never destroyed: it stays referenced until it
        ends (:class:`~gradlab.app.worker.WorkerThread`)."""
        self._shut = True
        self.timer.stop()
        self._prebuild_timer.stop()
        self._rebuild_timer.stop()
        self.stop_sweep_loading()  # (File > Open Sweep's curves: loaded off the UI thread)
        self._remove_space()
        thaw_garbage()  # (its objects, frozen while it showed runs, may be collected now)
        return self.worker.stop()


PENDING_TEXT = (
    "The spec changed after the run started: press Reset (Ctrl+R) to start a new run with it. "
    "The current run goes on unchanged (a new learning rate applies to it at once)."
)


def _edit_text(old: dict, new: dict) -> str:
    """The undo text of an edit: the first setting it changes."""
    diffs = spec_diff(old, new, ignore=F.NAMING_KEYS)
    if not diffs:
        return "Edit the spec"
    path, _a, b = diffs[0]
    value = f"{b:g}" if isinstance(b, float) else str(b)
    return f"Set {path} to {value if len(value) < 30 else '…'}"
