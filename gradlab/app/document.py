"""The window's document: the spec being edited, its file, its unsaved mark and its undo history.

:class:`Document` is the model the window and its panels share (a QObject, UI thread only). It
holds the spec, always named after its content (:func:`gradlab.experiment.spec.naming.follow`),
and one undo stack for every edit of it: a panel field, the toolbar's learning-rate box, a
rename, and the Network panel's table edits (which push their own commands on the same stack).
:attr:`Document.changed` tells the window and the panels that the spec is another one.

What is checked, once per spec, is the spec layer's one check (:meth:`Document.problems`).
"""

from __future__ import annotations

import copy
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from gradlab.experiment.spec import Problems, check, naming
from gradlab.experiment.spec import fields as F

#: the id of commands that set the learning rate (consecutive ones merge: holding Up in the box)
LR_COMMAND = 1
#: the id of commands that raise the step budget one step at a time (N on a finished run)
BUDGET_COMMAND = 2


class SpecCommand(QUndoCommand):
    """One edit of the document's spec: the spec before and after. The first redo (when pushed)
    does nothing: the edit is already in place."""

    def __init__(self, doc: Document, before: dict, after: dict, text: str, id_: int = -1):
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after
        self._id = id_
        self._pushed = False

    def id(self) -> int:
        return self._id

    def mergeWith(self, other: QUndoCommand) -> bool:
        if other.id() != self._id or self._id < 0:
            return False
        self.after = other.after
        self.setText(other.text())
        return True

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self.doc._set(self.after, source=None)

    def undo(self) -> None:
        self.doc._set(self.before, source=None)


class Document(QObject):
    """The spec being edited (see the module docstring)."""

    #: (the new spec, the object that made the change: a panel; None for an undo or a redo; the
    #: document itself for a new document, whose run is built or opened by whoever replaced it)
    changed = Signal(object, object)
    #: the file or the unsaved mark changed
    stateChanged = Signal()

    def __init__(self, spec: dict, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self._spec = naming.follow(spec)
        self.path: Path | None = None
        self.edited = False  # the spec changed since it was opened, saved or loaded

    # ------------------------------------------------------------------ reading
    @property
    def spec(self) -> dict:
        """A copy of the spec."""
        return copy.deepcopy(self._spec)

    @property
    def name(self) -> str:
        return str(self._spec.get("name", naming.UNTITLED))

    def lr(self) -> float:
        """The learning rate the spec sets (its optimiser's default when it sets none)."""
        t = self._spec.get("training") if isinstance(self._spec.get("training"), dict) else {}
        lr = t.get("lr")
        if isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0:
            return float(lr)
        opt = t.get("optimizer", F.OPTIMIZER.default)
        return F.optimizer_lr(opt.get("name", "") if isinstance(opt, dict) else str(opt))

    def problems(self) -> Problems:
        """The spec's problems (the spec layer's one check; cached by content)."""
        return check(self._spec)

    # ------------------------------------------------------------------ editing
    def edit(self, spec: dict, text: str, source: object = None, id_: int = -1) -> bool:
        """Make ``spec`` the document's spec as one undoable command; False if nothing changed."""
        new = naming.follow(spec)
        if new == self._spec:
            return False
        before = self._spec
        self._set(new, source)
        self.undo_stack.push(SpecCommand(self, before, copy.deepcopy(new), text, id_))
        return True

    def adopt(self, spec: dict, source: object) -> None:
        """Take ``spec`` from an edit already on the undo stack (the Network panel's commands)."""
        self._set(naming.follow(spec), source)

    def set_lr(self, lr: float) -> bool:
        spec = self.spec
        t = spec.setdefault("training", {})
        if not isinstance(t, dict):
            return False
        t["lr"] = float(lr)
        return self.edit(spec, f"Set the learning rate to {lr:g}", id_=LR_COMMAND)

    def rename(self, name: str) -> bool:
        """Name the run (``""``: the name follows the content again)."""
        new = naming.rename(self._spec, name)
        text = f"Rename to {new['name']}" if name.strip() else "Name the run after its settings"
        return self.edit(new, text)

    def replace(self, spec: dict, path: Path | None = None) -> None:
        """A new document (a preset, an opened session): no undo history, nothing unsaved."""
        self.undo_stack.clear()
        self.path = path
        self._set(naming.follow(spec), self, edited=False)

    def mark_saved(self, path: Path) -> None:
        self.path = path
        self.edited = False
        self.stateChanged.emit()

    def _set(self, spec: dict, source: object, edited: bool = True) -> None:
        self._spec = copy.deepcopy(spec)
        self.edited = edited
        self.changed.emit(copy.deepcopy(self._spec), source)
        self.stateChanged.emit()
