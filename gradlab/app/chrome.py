"""The window's chrome: its actions, menus, toolbar and status bar, the dock layout and the
theme (a mixin of :class:`~gradlab.app.window.MainWindow`, which provides the slots the actions
call)."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QProgressBar, QToolButton

from gradlab.app import health_ui, theme
from gradlab.app.controls import LogSpinBox
from gradlab.app.dialogs import show_about, show_shortcuts
from gradlab.app.panels.network import redo_keys, undo_keys
from gradlab.app.worker import Snapshot
from gradlab.experiment import health, presets
from gradlab.experiment.spec import fields as F


class WindowChrome:
    """Actions, menus, toolbar, status bar, layout and theme of the main window."""

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
            "The publication figure of the current view (PDF, SVG, PNG or EPS), previewed",
        )
        self.act_export_screen = self._action(
            "Export As on &Screen…",
            self._export_screen,
            "Ctrl+Shift+P",
            "The current view or the whole dashboard as it looks on screen (PNG or SVG)",
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
        self.act_open_sweep = self._action(
            "Open S&weep…",
            lambda: self.open_sweep(),
            None,
            "Show a sweep folder (gradlab sweep --out DIR) in the Compare view: its table, its "
            "trials and their curves",
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
        self.act_step = self._action("Step", lambda: self.step_once(), "N", "Train one batch")
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
        m.addAction(self.act_export_screen)
        m.addAction(self.act_export_data)
        m.addAction(self.act_export_net)
        m.addSeparator()
        m.addAction(self.act_compare_file)
        m.addAction(self.act_open_sweep)
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
        self._build_zoom_actions(v)  # (lecture.py)
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
                    self.act_export_screen,
                    self.act_export_data,
                    self.act_zoom_in,
                    self.act_zoom_out,
                    self.act_zoom_reset,
                    self.act_quit,
                ),
            )
        )
        h.addAction(keys)

    def _export_screen(self) -> None:
        from gradlab.app import export

        export.export_screen_dialog(self)

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
        self.preset_box.setPlaceholderText("custom")  # a spec or session that is no preset
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
        self._build_speed(tb)  # lecture pace, Max speed (lecture.py)
        tb.addSeparator()
        tb.addAction(self.act_pin)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.lbl_step = QLabel("step 0", self)
        self.lbl_lr = QLabel("", self)
        self.lbl_lr.setToolTip("The learning rate the next step uses (the schedule's, now)")
        self.lbl_rate = QLabel("", self)
        self.lbl_probe = QLabel("", self)
        self.lbl_probe.setToolTip(
            "Probes (the layer statistics) are taken at step 0, log-spaced early on (steps 1, 2, "
            "3, 4, 5, 6, 8, 10, 13, ...) and then every N steps (Training panel > Probes)"
        )
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
        self._start_prebuild()  # the hidden views, in idle time

    def _update_status(self, snap: Snapshot) -> None:
        self._update_health()  # (also when only the timeline moved)
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
        self.lbl_rate.setText(self._rate_text(snap))  # achieved, not a burst (lecture.py)
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
        self._update_title()
        self._update_actions()

    def _update_health(self) -> None:
        """The health button: the worst verdict standing at the step the views show (the
        newest while live); a new worst verdict while live is also said in the status bar."""
        if self.run is None:
            return
        h = self.run.history
        step = self.timeline.selected_step
        key = (self.run.run_id, h.n_events, step, theme.current().name)
        if key == self._health_of:
            return
        self._health_of = key
        v = health.verdict(h, step)
        health_ui.show_on_button(self.health_btn, v, step, theme.current())
        shown = (self.run.run_id, v.kind, v.step)
        if step is None and getattr(self, "_verdict_said", None) != shown:
            if not v.healthy and getattr(self, "_verdict_said", None) is not None:
                self.statusBar().showMessage(health_ui.status_message(v), 12000)
            self._verdict_said = shown

    def _update_actions(self) -> None:
        has_run = self.run is not None
        self.act_save.setEnabled(has_run)
        self.act_save_as.setEnabled(has_run)
        self.act_pin.setEnabled(has_run)
        blocked = bool(self.spec_error()) and not self.pending_changes
        running = self.snapshot is not None and self.snapshot.status == "running"
        self.act_run.setEnabled(has_run and (running or not blocked))
        self.act_step.setEnabled(has_run and not blocked)
