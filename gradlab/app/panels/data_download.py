"""The Data panel's downloads: each downloadable dataset with its state, and the notice for the
dataset on show when it is not downloaded.

A :class:`DownloadControl` shows one dataset of the catalog (:func:`gradlab.data.catalog.statuses`)
as "✓ downloaded", or a "Download (11 MB)" button, or while it downloads a progress bar with
Cancel; after a failure its one sentence, and the button reads "Retry (11 MB)". The downloads
themselves run in the background (:mod:`gradlab.app.downloads`); every control follows the
service's ``changed`` signal, so two controls of one dataset always agree.

:class:`DownloadList` lists every dataset of the catalog in force (a title is a link that
chooses the dataset); :class:`DownloadNotice` says why the dataset on show is not what runs (its
fallback is used: :attr:`gradlab.data.Dataset.note`) or cannot run yet, with the download one
click away.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from gradlab.app.downloads import downloads
from gradlab.app.panels.forms import error_label, muted
from gradlab.data import catalog
from gradlab.data.catalog import Status, human_size
from gradlab.errors import InputError
from gradlab.safeio import printable

BAR_STEPS = 1000


def read_statuses() -> tuple[dict[str, Status], str]:
    """The catalog in force's datasets by name, and "" or the sentence saying why the catalog
    cannot be read."""
    try:
        return {s.name: s for s in catalog.statuses()}, ""
    except InputError as err:
        return {}, printable(str(err), 400)


def status_of(name: str) -> Status | None:
    """One dataset's status, read again from the disk (None if the catalog lacks it)."""
    return read_statuses()[0].get(name)


class DownloadControl(QWidget):
    """One dataset's download (see the module docstring); ``titled``: its title first, a link
    that emits :attr:`chosen`."""

    #: the title was clicked: the panel shows this dataset
    chosen = Signal(str)

    def __init__(self, status: Status, parent: QWidget | None = None, *, titled: bool = True):
        super().__init__(parent)
        self.status = status
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.row = QHBoxLayout()
        self.row.setSpacing(6)
        outer.addLayout(self.row)

        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.linkActivated.connect(lambda _link: self.chosen.emit(self.status.name))
        self.title.setVisible(titled)
        self.done = muted(QLabel("✓ downloaded", self))
        self.button = QPushButton(self)
        self.button.clicked.connect(self._on_download)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, BAR_STEPS)
        self.bar.setTextVisible(True)
        self.bar.setMinimumWidth(90)
        self.bar.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the download; nothing half-written is kept")
        self.cancel_button.clicked.connect(lambda: downloads().cancel(self.status.name))
        for w in (self.title, self.done, self.button, self.bar, self.cancel_button):
            self.row.addWidget(w)
        self.row.addStretch(0)
        self.error = error_label(self)
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # it may quote a registry's URLs
        outer.addWidget(self.error)
        self._titled = titled

        downloads().changed.connect(self._on_changed)
        self.set_status(status)

    # ------------------------------------------------------------------ showing
    def set_status(self, status: Status) -> None:
        self.status = status
        size = human_size(status.download_size)
        self.title.setText(f"<a href='{html.escape(status.name)}'>"
                           f"{html.escape(printable(status.title, 100))}</a>")
        self.title.setToolTip(f"{printable(status.description, 400)}\n\nKept in {status.folder}"
                              f"\nClick to use this dataset.")
        self.done.setToolTip(f"{size}, kept in {status.folder}")
        self.button.setToolTip(f"Download {status.title} ({size}) into {status.folder}; the "
                               "checksum of every file is verified")
        self._sync()

    @Slot(str)
    def _on_changed(self, name: str) -> None:
        if name != self.status.name:
            return
        if not downloads().state(name).running:  # it may have arrived: look at the disk again
            fresh = status_of(name)
            if fresh is not None:
                self.status = fresh
        self._sync()

    def _sync(self) -> None:
        st = downloads().state(self.status.name)
        running = st.running
        cached = self.status.cached and not running
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running and not st.cancelling)
        self.done.setVisible(cached)
        self.button.setVisible(not running and not cached)
        self.button.setText(f"{'Retry' if st.error else 'Download'} "
                            f"({human_size(self.status.download_size)})")
        if running:
            self.bar.setFormat(_bar_text(st))
            p = st.progress
            self.bar.setValue(0 if p is None else round(BAR_STEPS * min(1.0, p.fraction)))
            self.bar.setToolTip("" if p is None or not p.filename else p.filename)
        error = printable(st.error, 600) if not running and not cached else ""
        self.error.setText(error)
        self.error.setVisible(bool(error))
        # the spare width goes to the bar while it shows, else to the title (or the end)
        self.row.setStretchFactor(self.title, 1 if self._titled and not running else 0)
        self.row.setStretchFactor(self.bar, 1 if running else 0)
        self.row.setStretch(self.row.count() - 1, 1 if not self._titled and not running else 0)

    def _on_download(self) -> None:
        downloads().start(self.status.name)

    # ------------------------------------------------------------------ tests
    def state_text(self) -> str:
        """What the control says: "downloaded", the button's text, or the bar's."""
        if self.done.isVisibleTo(self):
            return "downloaded"
        if self.button.isVisibleTo(self):
            return self.button.text()
        return self.bar.text()


def _bar_text(st) -> str:
    p = st.progress
    if st.cancelling:
        return "cancelling…"
    if p is None:
        return "connecting…"
    if p.stage == "extract":
        return f"unpacking {p.fraction:.0%}"
    return f"{human_size(p.done)} of {human_size(p.total)}"


class DownloadList(QWidget):
    """Every dataset of the catalog in force, one :class:`DownloadControl` each."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(0, 0, 0, 0)
        self.lay.setSpacing(4)
        self.controls: dict[str, DownloadControl] = {}
        self.problem = error_label(self)
        self.problem.setTextFormat(Qt.TextFormat.PlainText)
        self.lay.addWidget(self.problem)

    def set_statuses(self, statuses: dict[str, Status], problem: str = "") -> None:
        if list(statuses) != list(self.controls):
            for control in self.controls.values():
                control.setParent(None)
                control.deleteLater()
            self.controls = {}
            for name, status in statuses.items():
                control = DownloadControl(status, self)
                control.chosen.connect(self.chosen)
                self.lay.insertWidget(self.lay.count() - 1, control)
                self.controls[name] = control
        else:
            for name, status in statuses.items():
                self.controls[name].set_status(status)
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))


class DownloadNotice(QWidget):
    """Why the dataset on show is not what runs, or cannot run yet, with its download."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 2)
        lay.setSpacing(4)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.text)
        self.control: DownloadControl | None = None
        self._lay = lay
        self.hide()

    def show_for(self, status: Status | None, text: str) -> None:
        """Show ``text`` and the download of ``status`` (None: hide the notice)."""
        if status is None:
            self.hide()
            return
        if self.control is None or self.control.status.name != status.name:
            if self.control is not None:
                self.control.setParent(None)
                self.control.deleteLater()
            self.control = DownloadControl(status, self, titled=False)
            self._lay.addWidget(self.control)
        else:
            self.control.set_status(status)
        self.text.setText(text)
        self.text.setVisible(bool(text))
        self.show()


__all__ = ["DownloadControl", "DownloadList", "DownloadNotice", "read_statuses", "status_of"]
