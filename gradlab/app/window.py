"""The main window: docked spec panels, the live views, the timeline, toolbar, menus, status bar.

The window shows a *document* (:class:`~gradlab.app.document.Document`: the spec being edited,
named after its content, its file, its unsaved mark and its undo history) and talks to the
training worker only through commands and snapshots (see :mod:`gradlab.app.worker`). A ~30 Hz
timer redraws the visible view when the history changed or the timeline moved.

Edits of the spec go to the document; before the first step the experiment is rebuilt at once
(the step-0 views show what an initialisation does), after it a changed learning rate applies to
the running run from the next step (the run records the change, and every label of the run says
so), and any other change waits for Reset (a banner says so).
"""

from __future__ import annotations

import copy
import itertools
import math
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QProgressDialog,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import theme
from gradlab.app.controls import LogSpinBox
from gradlab.app.dialogs import EventsDialog, main_window_app, show_about, show_shortcuts
from gradlab.app.document import Document
from gradlab.app.model import RunModel
from gradlab.app.panels import DataPanel, NetworkPanel, SpecPanel, TrainingPanel
from gradlab.app.panels.network import redo_keys, undo_keys
from gradlab.app.timeline import TimelineBar
from gradlab.app.views import VIEWS, BaseView, CompareView
from gradlab.app.views.compare import spec_diff
from gradlab.app.worker import RunInfo, Snapshot, WorkerThread
from gradlab.errors import SessionError
from gradlab.experiment import History, load_session, presets
from gradlab.experiment.spec import fields as F
from gradlab.experiment.spec import naming

__all__ = ["MainWindow", "main_window_app"]

FRAME_MS = 33
MAX_RECENT = 8
SPEEDS = [
    ("Max speed", None),
    ("1000 steps/s", 1000.0),
    ("300 steps/s", 300.0),
    ("100 steps/s", 100.0),
    ("30 steps/s", 30.0),
    ("10 steps/s", 10.0),
]
HEALTH_KINDS = ("nan", "vanishing", "exploding", "saturation", "dead")
HEALTH_LABELS = {
    "nan": "diverged (NaN)",
    "vanishing": "vanishing gradients",
    "exploding": "exploding gradients",
    "saturation": "saturation",
    "dead": "dead units",
}


class MainWindow(QMainWindow):
    """GradLab's window. ``settings`` lets tests use a private settings file."""

    @property
    def doc_spec(self) -> dict:
        """A copy of the spec being edited (the document's)."""
        return self.doc.spec

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

        self._rebuild_timer = QTimer(self)
        self._rebuild_timer.setSingleShot(True)
        self._rebuild_timer.setInterval(250)
        self._rebuild_timer.timeout.connect(self._rebuild_from_doc)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._tick)

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
        self.banner = QLabel(central)
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            f"background: {theme.current().warning}; color: black; padding: 4px 8px;"
        )
        self.banner.hide()
        self.tabs = QTabWidget(central)
        self.tabs.setDocumentMode(True)
        self.views: list[BaseView] = []
        for cls in VIEWS:
            view = cls(self.tabs)
            self.views.append(view)
            self.tabs.addTab(view, cls.title)
            self.tabs.setTabToolTip(self.tabs.count() - 1, cls.summary)
        self.compare: CompareView = next(v for v in self.views if isinstance(v, CompareView))
        self.compare.pinnedChanged.connect(self._on_pins_changed)
        self.timeline = TimelineBar(central)
        self.timeline.stepSelected.connect(lambda _s: self._tick(force=True))
        self.tabs.currentChanged.connect(lambda _i: self._tick(force=True))
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        lay.addWidget(self.timeline)
        self.setCentralWidget(central)

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
            self.docks.append(dock)
        self.tabifyDockWidget(self.docks[0], self.docks[1])
        self.tabifyDockWidget(self.docks[1], self.docks[2])
        self.docks[0].raise_()

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable=False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(f"{tip or text}" + (f" ({act.shortcut().toString()})" if shortcut else ""))
        act.setStatusTip(tip or text)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        S = QKeySequence.StandardKey
        self.act_new = self._action(
            "&New",
            lambda: self.load_preset(presets.DEFAULT),
            S.New,
            "New experiment from the default preset",
        )
        self.act_open = self._action(
            "&Open…", lambda: self.open_file(), S.Open, "Open a .gradlab session"
        )
        self.act_save = self._action("&Save", self.save, S.Save, "Save the session")
        self.act_save_as = self._action(
            "Save &As…", self.save_as, S.SaveAs, "Save the session under a new name"
        )
        self.act_export_fig = self._action(
            "Export &Figure…",
            self.export_figure,
            "Ctrl+E",
            "Export the current view or the whole dashboard as PNG or SVG",
        )
        self.act_export_data = self._action(
            "Export &Data…",
            self.export_data,
            "Ctrl+Shift+E",
            "Export the probe statistics as CSV or JSON",
        )
        self.act_export_net = self._action(
            "Export &Network…",
            self.export_network,
            None,
            "Export trained weights (.npz) and the architecture as PyTorch / Keras code",
        )
        self.act_compare_file = self._action(
            "Compare with Session…", self.pin_file, None, "Pin a saved session for the Compare view"
        )
        self.act_rename = self._action(
            "Re&name…",
            self.rename,
            None,
            "Name the run (an empty name gives it back its preset or 'custom (from ...)' name)",
        )
        self.act_undo = self.doc.undo_stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts(undo_keys())
        self.act_redo = self.doc.undo_stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts(redo_keys())
        for a in (self.act_undo, self.act_redo):
            self.addAction(a)
        self.act_quit = self._action("&Quit", self.close, S.Quit, "Quit GradLab")
        self.act_run = self._action(
            "Run", self.toggle_run, Qt.Key.Key_Space, "Run or pause training"
        )
        self.act_step = self._action("Step", self.step_once, "N", "Train one batch")
        self.act_reset = self._action(
            "Reset", self.reset, "Ctrl+R", "Start a new run from the spec (discards this run)"
        )
        self.act_pin = self._action(
            "Pin Run", self.pin_current, "Ctrl+P", "Pin this run for the Compare view"
        )
        self.act_events = self._action(
            "Health Events…", self.show_events, "Ctrl+H", "List the run's warnings and errors"
        )
        self.act_live = self._action(
            "Follow Live", lambda: self.timeline.select_step(None), "End", "Show the newest probe"
        )

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_new)
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        self._fill_recent()
        m.addSeparator()
        m.addAction(self.act_save)
        m.addAction(self.act_save_as)
        m.addAction(self.act_rename)
        m.addSeparator()
        m.addAction(self.act_export_fig)
        m.addAction(self.act_export_data)
        m.addAction(self.act_export_net)
        m.addSeparator()
        m.addAction(self.act_compare_file)
        m.addSeparator()
        m.addAction(self.act_quit)

        ed = mb.addMenu("&Edit")
        ed.addAction(self.act_undo)
        ed.addAction(self.act_redo)

        v = mb.addMenu("&View")
        for dock in self.docks:
            v.addAction(dock.toggleViewAction())
        v.addSeparator()
        tm = v.addMenu("&Theme")
        group = QActionGroup(self)
        self.theme_actions = {}
        for name in ("light", "dark"):
            act = QAction(name.capitalize(), self, checkable=True)
            act.setChecked(theme.current().name == name)
            act.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            group.addAction(act)
            tm.addAction(act)
            self.theme_actions[name] = act
        v.addSeparator()
        v.addAction(self.act_live)
        reset_layout = QAction("Reset Layout", self)
        reset_layout.triggered.connect(self._reset_layout)
        v.addAction(reset_layout)

        e = mb.addMenu("&Experiments")
        e.addAction(self.act_run)
        e.addAction(self.act_step)
        e.addAction(self.act_reset)
        e.addAction(self.act_pin)
        e.addAction(self.act_events)
        e.addSeparator()
        for name in presets.names():
            act = QAction(name, self)
            act.setStatusTip(presets.describe(name))
            act.setToolTip(presets.describe(name))
            act.triggered.connect(lambda _c=False, n=name: self.load_preset(n))
            e.addAction(act)
        e.setToolTipsVisible(True)

        h = mb.addMenu("&Help")
        about = QAction("&About GradLab", self)
        about.triggered.connect(lambda: show_about(self))
        h.addAction(about)
        keys = QAction("&Keyboard Shortcuts", self)
        keys.triggered.connect(
            lambda: show_shortcuts(
                self,
                (
                    self.act_run,
                    self.act_step,
                    self.act_reset,
                    self.act_pin,
                    self.act_events,
                    self.act_live,
                    self.act_new,
                    self.act_open,
                    self.act_save,
                    self.act_save_as,
                    self.act_undo,
                    self.act_redo,
                    self.act_export_fig,
                    self.act_export_data,
                    self.act_quit,
                ),
            )
        )
        h.addAction(keys)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Training")
        tb.setObjectName("toolbar-training")
        tb.setMovable(False)
        tb.addAction(self.act_run)
        tb.addAction(self.act_step)
        tb.addAction(self.act_reset)
        tb.addSeparator()
        tb.addWidget(QLabel(" Preset ", self))
        self.preset_box = QComboBox(self)
        self.preset_box.addItems(presets.names())
        for i, name in enumerate(presets.names()):
            self.preset_box.setItemData(i, presets.describe(name), Qt.ItemDataRole.ToolTipRole)
        self.preset_box.setToolTip("Load a preset that reproduces a classic experiment")
        self.preset_box.activated.connect(lambda i: self.load_preset(self.preset_box.itemText(i)))
        tb.addWidget(self.preset_box)
        tb.addSeparator()
        tb.addWidget(QLabel(f" {F.LR.label} ", self))
        self.lr_box = LogSpinBox(self, minimum=1e-12, maximum=F.LR.maximum)
        self.lr_box.setToolTip(F.LR.help + " (The Training panel's field edits the same value.)")
        self.lr_box.valueCommitted.connect(self._on_lr_committed)
        self.lr_box.set_value_quietly(self.doc.lr())
        tb.addWidget(self.lr_box)
        tb.addSeparator()
        self.speed_box = QComboBox(self)
        for label, value in SPEEDS:
            self.speed_box.addItem(label, value)
        self.speed_box.setToolTip(
            "Slow training down to watch it (the views always get every probe)"
        )
        self.speed_box.currentIndexChanged.connect(
            lambda i: self.worker.post("speed", self.speed_box.itemData(i))
        )
        tb.addWidget(self.speed_box)
        tb.addSeparator()
        tb.addAction(self.act_pin)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.lbl_step = QLabel("step 0", self)
        self.lbl_lr = QLabel("", self)
        self.lbl_lr.setToolTip("The learning rate the next step uses (the schedule's, now)")
        self.lbl_rate = QLabel("", self)
        self.lbl_probe = QLabel("", self)
        self.health_btn = QToolButton(self)
        self.health_btn.setAutoRaise(True)
        self.health_btn.setText("healthy")
        self.health_btn.setToolTip("Health of the run: click to see the events")
        self.health_btn.clicked.connect(self.show_events)
        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.hide()
        for wdg in (self.lbl_step, self.lbl_lr, self.lbl_rate, self.lbl_probe):
            sb.addPermanentWidget(wdg)
        sb.addPermanentWidget(self.health_btn)
        sb.addPermanentWidget(self.progress)

    # ================================================================== layout & settings
    def _restore_layout(self) -> None:
        self._default_state = self.saveState()
        geo = self.settings.value("geometry")
        state = self.settings.value("windowState")
        if geo is not None:
            self.restoreGeometry(geo)
        if state is not None:
            self.restoreState(state)

    def _reset_layout(self) -> None:
        self.restoreState(self._default_state)
        for dock in self.docks:
            dock.show()

    def set_theme(self, name: str) -> None:
        theme.apply(name)
        self.settings.setValue("theme", name)
        for view in self.views:
            view.retheme()
        self._drawn = (None, None, None, None)
        self._tick(force=True)

    # ================================================================== document
    @property
    def dirty(self) -> bool:
        step = self.snapshot.step if self.snapshot else 0
        return self.doc.edited or step != self._saved_step

    def _update_title(self) -> None:
        """The session's file name (and the run's name), or the run's name before a save; the
        modified mark while anything is unsaved."""
        name = self.doc.name
        if self.path is not None:
            name = f"{self.path.name} ({name})" if self.path.stem != name else self.path.name
        title = f"{name}[*] — GradLab"
        if title != self.windowTitle():
            self.setWindowTitle(title)
        if self.dirty != self.isWindowModified():
            self.setWindowModified(self.dirty)

    def confirm_discard(self) -> bool:
        """Ask before unsaved work is lost; True to go on (saved or discarded)."""
        if not self.dirty:
            return True
        steps = self.snapshot.step if self.snapshot else 0
        ans = QMessageBox.question(
            self,
            "Unsaved run",
            f"The run '{self.doc.name}' has unsaved changes ({steps:,} steps). "
            "Save it first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if ans == QMessageBox.StandardButton.Cancel:
            return False
        if ans == QMessageBox.StandardButton.Save:
            return self.save(wait=True)
        return True

    def load_preset(self, name: str, confirm: bool = True) -> None:
        if confirm and not self.confirm_discard():
            return
        self.pending_changes = False
        self.doc.replace(presets.load(name))
        i = self.preset_box.findText(name)
        if i >= 0:
            self.preset_box.setCurrentIndex(i)
        self._rebuild_timer.stop()
        self.worker.post("build", self.doc.spec)
        self.statusBar().showMessage(f"Preset {name}: {presets.describe(name)}", 8000)

    def open_file(self, path: str | None = None, confirm: bool = True) -> None:
        if confirm and not self.confirm_discard():
            return
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Open session",
                self._last_dir(),
                "GradLab sessions (*.gradlab);;All files (*)",
            )
            if not path:
                return
        self.worker.post("open", str(path))
        self.statusBar().showMessage(f"Opening {Path(path).name}…")

    def save(self, wait: bool = False) -> bool:
        if self.path is None:
            return self.save_as(wait=wait)
        return self._save_to(self.path, wait)

    def save_as(self, wait: bool = False) -> bool:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.doc.name)
        suggested = str(Path(self._last_dir()) / f"{stem.strip('._') or 'run'}.gradlab")
        path, _ = QFileDialog.getSaveFileName(
            self, "Save session", suggested, "GradLab sessions (*.gradlab)"
        )
        if not path:
            return False
        if not path.endswith(".gradlab"):
            path += ".gradlab"
        return self._save_to(Path(path), wait)

    def _save_to(self, path: Path, wait: bool) -> bool:
        if self.run is None:
            return False
        self._save_result = None
        self.worker.post("save", str(path))
        self.statusBar().showMessage(f"Saving {path.name}…")
        if not wait:
            return True
        # closing/replacing the run waits for the save to land (the worker answers in ms);
        # _on_saved / _on_failed end this loop
        self._save_loop = QEventLoop()
        QTimer.singleShot(60000, self._save_loop.quit)
        self._save_loop.exec()
        self._save_loop = None
        return bool(self._save_result)

    @Slot(str)
    def _on_saved(self, path: str) -> None:
        self._saved_step = self.snapshot.step if self.snapshot else 0
        self.doc.mark_saved(Path(path))
        self._save_result = True
        if self._save_loop is not None:
            self._save_loop.quit()
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {self.path.name}", 5000)

    def _last_dir(self) -> str:
        return str(self.settings.value("lastDir", str(Path.home())))

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self._recent() if p != str(path)]
        recent.insert(0, str(path))
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self.settings.setValue("lastDir", str(Path(path).parent))
        self._fill_recent()

    def _recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self._recent()
        for p in recent:
            act = self.recent_menu.addAction(Path(p).name)
            act.setToolTip(p)
            act.setStatusTip(p)
            act.triggered.connect(lambda _c=False, path=p: self.open_file(path))
        self.recent_menu.setEnabled(bool(recent))

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

    def rename(self) -> None:
        """File > Rename: name the run; an empty name gives the naming back to its settings."""
        name, ok = QInputDialog.getText(
            self,
            "Rename the run",
            "Name (empty: named after its settings, e.g. 'custom (from spiral)'):",
            text=self.doc.name if naming.user_named(self.doc.spec) else "",
        )
        if not ok:
            return
        self.doc.rename(name)
        if self.run is not None and not self.pending_changes:
            spec = self.doc.spec  # the run is the document's: it takes the name too
            self.run.name = spec["name"]
            self.worker.post("rename", spec["name"], spec.get("description"))

    @Slot(object, object)
    def _on_doc_changed(self, spec: dict, source: object) -> None:
        for panel in self.panels:
            if panel is source:
                panel.adopt_naming(spec)  # it shows the edit already
            else:
                panel.set_spec(spec)
        if not self.lr_box.hasFocus():
            self.lr_box.set_value_quietly(self.doc.lr())
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
        if naming.same_settings(spec, exp.current_spec(), ignore=("training.lr",)):
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
        if not self.spec_error():
            self.worker.post("build", self.doc.spec)

    def _show_banner(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    # ================================================================== training commands
    def toggle_run(self) -> None:
        if self.snapshot is not None and self.snapshot.status == "running":
            self.worker.post("pause")
            return
        error = self.spec_error()
        if error and not self.pending_changes:
            self._on_failed("run", error)
            return
        self.timeline.select_step(None)
        self.worker.post("run")

    def step_once(self) -> None:
        self.worker.post("step", 1)

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
        self.snapshot = None
        self.pending_changes = False
        self._show_banner("")
        if info.path is not None:  # an opened session: it becomes the document, as it now runs
            self._saved_step = exp.step_count
            self.doc.replace(exp.current_spec(), info.path)
            self._add_recent(str(info.path))
            if exp.data_error:
                self._show_banner(f"{exp.data_error} The history can be viewed, not resumed.")
            self.statusBar().showMessage(f"Opened {info.path.name}", 5000)
        else:
            self._saved_step = 0
        for view in self.views:
            if view is not self.compare:
                view.set_model(self.run)
        self.timeline.select_step(None)
        self._drawn = (None, None, None, None)
        self._update_title()
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
        if snap.message and (previous is None or previous.message != snap.message):
            # a divergence, a budget reached...: say it where the user looks
            self.statusBar().showMessage(snap.message, 15000)
            if snap.status == "diverged":
                self._show_banner(snap.message)
        elif previous is not None and previous.status == "diverged" and snap.status == "running":
            self._show_banner("")

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
        }
        self.statusBar().showMessage(message, 10000)
        QMessageBox.warning(self, titles.get(what, "GradLab"), message)

    # ================================================================== the frame
    def _tick(self, force: bool = False) -> None:
        snap = self.snapshot
        if snap is not None:
            self._update_status(snap)
        if self.run is None:
            return
        h = self.run.history
        if h.version != self._drawn[1]:
            self.timeline.set_steps(h.probe_steps())
        row = self.timeline.row()
        view = self.tabs.currentWidget()
        key = (self.run.run_id, h.version, row, id(view))
        boundary_changed = (
            snap is not None
            and snap.boundary is not None
            and getattr(self, "_drawn_boundary", None) is not snap.boundary
        )
        if not force and key == self._drawn and not boundary_changed:
            return
        self._drawn = key
        self._drawn_boundary = snap.boundary if snap is not None else None
        if isinstance(view, BaseView):
            view.refresh(row)

    def _update_status(self, snap: Snapshot) -> None:
        if snap is self._status_of:
            return  # nothing new since the last frame
        self._status_of = snap
        running = snap.status == "running"
        self.act_run.setText("Pause" if running else "Run")
        total = snap.total_steps
        self.lbl_step.setText(
            f"step {snap.step:,}"
            + (f" / {total:,}" if total else "")
            + f"   epoch {snap.epoch:.2f}"
        )
        self.lbl_rate.setText(f"{snap.steps_per_sec:,.0f} steps/s" if running else snap.status)
        exp = self.run.experiment if self.run else None
        if exp is not None:
            self.lbl_probe.setText(f"probe every {exp.probe_every} steps")
        if total:
            self.progress.show()
            self.progress.setRange(0, total)
            self.progress.setValue(min(snap.step, total))
            self.progress.setFormat(f"{100 * snap.step / total:.0f}%")
        else:
            self.progress.hide()
        self.lbl_lr.setText(f"lr {snap.lr:.3g}" if math.isfinite(snap.lr) else "")
        self._update_health()
        self._update_title()
        self._update_actions()

    def _update_health(self) -> None:
        if self.run is None:
            return
        key = (self.run.run_id, self.run.history.n_events, theme.current().name)
        if key == self._health_of:
            return
        self._health_of = key
        events = self.run.history.events_copy()
        active: dict[str, dict] = {}
        for ev in events:
            kind = ev["kind"]
            if kind in HEALTH_KINDS:
                active[kind] = ev
            elif kind.endswith("_over") or kind == "dead_over":
                active.pop(kind.removesuffix("_over"), None)
        t = theme.current()
        if not active:
            self.health_btn.setText("✓ healthy")
            self.health_btn.setStyleSheet(f"color: {t.ok};")
            self.health_btn.setToolTip("No warnings. Click to see every event of the run.")
            return
        worst = "nan" if "nan" in active else next(iter(active))
        color = t.error if worst == "nan" else t.warning
        names = ", ".join(HEALTH_LABELS[k] for k in active)
        self.health_btn.setText(f"⚠ {names}")
        self.health_btn.setStyleSheet(f"color: {color}; font-weight: bold;")
        self.health_btn.setToolTip(
            "\n".join(f"step {e['step']}: {e['message']}" for e in active.values())
        )

    def _update_actions(self) -> None:
        has_run = self.run is not None
        self.act_save.setEnabled(has_run)
        self.act_save_as.setEnabled(has_run)
        self.act_pin.setEnabled(has_run)
        blocked = bool(self.spec_error()) and not self.pending_changes
        running = self.snapshot is not None and self.snapshot.status == "running"
        self.act_run.setEnabled(has_run and (running or not blocked))
        self.act_step.setEnabled(has_run and not blocked)

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
            exp = load_session(path)
        except SessionError as err:
            QMessageBox.warning(self, "Cannot open the session", str(err))
            return
        self._pin_serial += 1
        model = RunModel(
            run_id=-self._pin_serial,
            name=f"{Path(path).stem}",
            spec=exp.spec,
            history=exp.history,
            layer_names=exp.network.layer_names,
            input_dim=exp.input_dim,
            output_dim=exp.output_dim,
            changes=list(exp.lr_changes),
        )
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
        dlg = EventsDialog(self.run.history.events_copy(), self)
        dlg.stepChosen.connect(self.timeline.select_step)
        dlg.exec()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        # once shown (the panels may have taken the focus while they filled in), the focus goes
        # to the views: not a text field or table, so Space runs and N steps at once
        QTimer.singleShot(0, self.tabs.setFocus)

    # ================================================================== closing
    def closeEvent(self, event) -> None:
        if self._shut:
            event.accept()
            return
        if not self.confirm_discard() or not self.wait_until_idle():
            event.ignore()
            return
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
        self._rebuild_timer.stop()
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


