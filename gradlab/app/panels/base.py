"""The base of the spec-editing panels (Network, Data, Training).

A panel edits one section of the experiment spec. The window owns the spec (the document):
it calls :meth:`SpecPanel.set_spec` to show it (model -> UI, with the panel's signals blocked so
nothing loops), and the panel emits :attr:`SpecPanel.specEdited` with the whole spec, its section
changed (UI -> model). A panel shows what the spec layer declares (its fields, defaults, bounds
and help come from :mod:`gradlab.experiment.spec`) and marks what the spec layer's one check
finds: a bad cell is red with the message in its tooltip and in :meth:`SpecPanel.errors`, and the
window refuses to start a run while any panel has errors.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import QApplication, QWidget

from gradlab.experiment.spec.fields import NAMING_KEYS


class SpecPanel(QWidget):
    #: the full spec after a user edit (a new dict; the window adopts it)
    specEdited = Signal(object)
    #: the panel's error list changed (the window updates the Run action and the status bar)
    errorsChanged = Signal()

    #: the dock title
    title = ""
    #: widget types that take typed letters and Space when focused (a layer table that edits on
    #: typing), besides the text fields every panel protects
    KEY_CLAIMERS: tuple = ()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._spec: dict = {}

    def set_spec(self, spec: dict) -> None:
        """Show ``spec`` (the window's document); must not emit :attr:`specEdited`."""
        self._spec = copy.deepcopy(spec)

    def spec(self) -> dict:
        return copy.deepcopy(self._spec)

    def adopt_naming(self, spec: dict) -> None:
        """Take the name and description the document gave the spec this panel just emitted
        (names follow content: nothing on screen changes)."""
        for key in NAMING_KEYS:
            if key in spec:
                self._spec[key] = copy.deepcopy(spec[key])
            else:
                self._spec.pop(key, None)

    def errors(self) -> list[str]:
        """Inline validation errors, one sentence each, naming the field ("" list: all good)."""
        return []

    def retheme(self) -> None:
        """Re-apply the theme's colours (called when the application palette changes)."""

    def event(self, event) -> bool:
        from gradlab.app.panels.forms import claims_key

        if event.type() == QEvent.Type.ShortcutOverride and claims_key(
            QApplication.focusWidget(), event, self.KEY_CLAIMERS
        ):
            event.accept()  # the focused control takes the key, not a window shortcut
            return True
        return super().event(event)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.retheme()
