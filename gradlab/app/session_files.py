"""The window's session files: the unsaved mark and the title, New / Open / Save / Save As /
Rename, presets, and the recent files (a mixin of :class:`~gradlab.app.window.MainWindow`).

Files come from anyone: a session is read by the worker (``load_session`` bounds everything
before it inflates it), a spec (``.json``) only through :func:`gradlab.safeio.read_json_file`
(regular files, size and depth capped). Whatever goes wrong is one sentence in a dialog
(:func:`gradlab.errors.sentence`) and the window stays as it was; every name or path from a file
is shown through :func:`gradlab.safeio.printable`.

No slot for the worker's signals lives here: PySide6 knows the thread of a receiver only for
slots declared in the QObject's own class, so those stay in the window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from gradlab.errors import SpecError, sentence
from gradlab.experiment import presets
from gradlab.experiment.spec import check, naming
from gradlab.safeio import printable, read_json_file

MAX_RECENT = 8
#: a spec file is JSON of at most this many bytes and levels (as ``gradlab run --spec``)
MAX_SPEC_BYTES = 16 * 2**20
MAX_SPEC_DEPTH = 64
#: the longest name of a file or run shown in the title or a menu
MAX_NAME = 120


class SessionFiles:
    """The document's file and title (see the module docstring)."""

    # ================================================================== document
    @property
    def dirty(self) -> bool:
        step = self.snapshot.step if self.snapshot else 0
        return self.doc.edited or step != self._saved_step

    def _update_title(self) -> None:
        """The session's file name (and the run's name), or the run's name before a save; the
        modified mark while anything is unsaved."""
        name = printable(self.doc.name, MAX_NAME)
        if self.path is not None:
            file = printable(self.path.name, MAX_NAME)
            name = f"{file} ({name})" if self.path.stem != self.doc.name else file
        title = f"{name.replace('[*]', '[ *]')}[*] — GradLab"
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
            f"The run '{self.doc.name}' has unsaved changes ({steps:,} steps). Save it first?",
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
                "Open session or spec",
                self._last_dir(),
                "GradLab sessions (*.gradlab);;Specs (*.json);;All files (*)",
            )
            if not path:
                return
        if Path(path).suffix.lower() == ".json":
            self.open_spec(path)
            return
        self.worker.post("open", str(path))
        self.statusBar().showMessage(f"Opening {printable(Path(path).name, MAX_NAME)}…")

    def open_spec(self, path: str | Path) -> bool:
        """Open a spec (JSON, as ``gradlab run --spec`` reads it) as a new document and build
        its run; a file that is not one says why in one sentence and changes nothing."""
        path = Path(path)
        try:
            spec = read_json_file(path, MAX_SPEC_BYTES, max_depth=MAX_SPEC_DEPTH)
            if not isinstance(spec, dict):
                raise SpecError("", f"{path.name} holds JSON but not a spec (a JSON object)")
            problems = check(spec)
            if problems:
                raise SpecError("", f"{path.name}: {problems[0].message}")
        except Exception as err:  # whatever the file holds: one sentence, nothing changed
            text = sentence(err).rstrip(".")
            QMessageBox.warning(
                self, "Cannot open the spec", printable(f"{text[:1].upper()}{text[1:]}.", 800)
            )
            return False
        self.pending_changes = False
        self.doc.replace(spec)
        self._rebuild_timer.stop()
        self.worker.post("build", self.doc.spec)
        self.settings.setValue("lastDir", str(path.parent))
        self.statusBar().showMessage(f"Opened the spec {printable(path.name, MAX_NAME)}", 5000)
        return True

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

    def saved(self, path: str) -> None:
        """The worker saved the session to ``path`` (called by the window's slot)."""
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
            act = self.recent_menu.addAction(printable(Path(p).name, MAX_NAME))
            act.setToolTip(printable(p, 400))
            act.setStatusTip(printable(p, 400))
            act.triggered.connect(lambda _c=False, path=p: self.open_file(path))
        self.recent_menu.setEnabled(bool(recent))

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
