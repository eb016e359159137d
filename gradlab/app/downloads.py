"""Downloads of the catalog's datasets for the window: in the background, with progress and
Cancel.

:class:`Downloads` (one per process: :func:`downloads`) starts one :class:`DownloadThread` per
dataset being fetched. The thread runs :func:`gradlab.data.download.fetch` (never on the UI
thread, never on the training worker) and reports by queued signals; the window stays
responsive. Cancel sets the fetch's ``cancel`` event: the fetch stops within one 64 KiB chunk
and keeps nothing half-written (pooch writes into a temporary file and renames it only once the
checksum matches; the fetch removes what it started).

A running QThread is never destroyed: the service holds each thread until it has ended. The
window's close asks first (:func:`confirm_stop`), then cancels and waits (:func:`stop_all`);
the application does the same as it quits.

States as the Data panel shows them (:meth:`Downloads.state`): running (with the newest
:class:`~gradlab.data.download.Progress`), cancelling, and after a failure the one sentence
saying why (kept until the next start of that dataset).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from gradlab import errors
from gradlab.data import catalog, download
from gradlab.data.download import Cancelled, Progress

#: how a download ended (:attr:`Downloads.finished`)
DONE, CANCELLED, FAILED = "done", "cancelled", "failed"


def _sentence(err: BaseException) -> str:
    """One sentence for a failed download."""
    text = errors.sentence(err)
    if isinstance(err, errors.InputError):
        return text
    return f"The download failed: {text.rstrip('.')}."


class DownloadThread(QThread):
    """Fetches one dataset of the catalog in force (``$GRADLAB_DATA_REGISTRY``) into the data
    dir (``$GRADLAB_DATA_DIR``); :attr:`outcome` and :attr:`message` are set before
    :attr:`ended` is emitted."""

    #: (this thread, a Progress): at most one per 0.1 % of a stage
    progressed = Signal(object, object)
    #: (this thread): the fetch returned or raised
    ended = Signal(object)

    def __init__(self, name: str, *, retries: int, backoff: float, timeout: float):
        super().__init__()
        self.setObjectName(f"gradlab-download-{name}")
        self.name = name
        self.cancel_event = threading.Event()
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.outcome = ""
        self.message = ""
        self._shown: tuple[str, int] | None = None

    def run(self) -> None:
        try:
            download.fetch(self.name, progress=self._report, cancel=self.cancel_event,
                           retries=self.retries, backoff=self.backoff, timeout=self.timeout)
        except Cancelled:
            self.outcome = CANCELLED
        except Exception as err:  # DataError and anything unforeseen: one sentence
            self.outcome, self.message = FAILED, _sentence(err)
        else:
            self.outcome = DONE
        self.ended.emit(self)

    def _report(self, p: Progress) -> None:
        shown = (p.stage, int(1000 * p.fraction))
        if shown != self._shown:
            self._shown = shown
            self.progressed.emit(self, p)


@dataclass(frozen=True)
class State:
    """A dataset's download as the panel shows it."""

    running: bool = False
    cancelling: bool = False
    progress: Progress | None = None
    error: str = ""  # the last failure's sentence


class Downloads(QObject):
    """The downloads under way (see the module docstring). UI thread only."""

    #: a dataset's state changed (started, progressed, cancelling, ended)
    changed = Signal(str)
    #: (name, outcome: DONE | CANCELLED | FAILED, the failure's sentence or "")
    finished = Signal(str, str, str)

    #: passed to :func:`~gradlab.data.download.fetch` (tests shorten the wait between rounds)
    retries = 2
    backoff = 2.0
    timeout = 30.0

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._threads: dict[str, DownloadThread] = {}
        self._states: dict[str, State] = {}
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_quit)

    # ------------------------------------------------------------------ reading
    def state(self, name: str) -> State:
        return self._states.get(name, State())

    def active(self) -> list[str]:
        """The datasets being downloaded."""
        return list(self._threads)

    def threads(self) -> list[QThread]:
        """The download threads still running."""
        return [t for t in self._threads.values() if t.isRunning()]

    # ------------------------------------------------------------------ commands
    def start(self, name: str) -> bool:
        """Start downloading ``name`` (False if it is being downloaded already)."""
        if name in self._threads:
            return False
        thread = DownloadThread(name, retries=self.retries, backoff=self.backoff,
                                timeout=self.timeout)
        thread.progressed.connect(self._on_progress)
        thread.ended.connect(self._on_ended)
        self._threads[name] = thread
        self._states[name] = State(running=True)
        thread.start()
        self.changed.emit(name)
        return True

    def cancel(self, name: str | None = None) -> None:
        """Cancel the download of ``name`` (None: every download); it ends within a chunk."""
        for n, thread in list(self._threads.items()):
            if name in (None, n) and not thread.cancel_event.is_set():
                thread.cancel_event.set()
                self._states[n] = State(True, True, self.state(n).progress)
                self.changed.emit(n)

    def stop_all(self, parent: QWidget | None = None) -> None:
        """Cancel every download and return once their threads have ended. With ``parent``,
        the UI keeps running meanwhile under a modal note (when it takes more than a moment);
        without, this blocks (the application quitting)."""
        if not self._threads:
            return
        self.cancel()
        threads = list(self._threads.values())
        if parent is not None and not all(t.wait(300) for t in threads):
            dlg = QProgressDialog(
                f"Stopping the download of {_titles(self.active())}…", "", 0, 0, parent)
            dlg.setCancelButton(None)
            dlg.setWindowTitle("Closing GradLab")
            dlg.setWindowModality(Qt.WindowModality.WindowModal)
            dlg.setMinimumDuration(0)
            loop = QEventLoop()
            poll = QTimer(dlg)
            poll.setInterval(30)
            poll.timeout.connect(lambda: loop.quit() if not self.threads() else None)
            poll.start()
            dlg.show()
            loop.exec()
            poll.stop()
            dlg.close()
            dlg.deleteLater()
        for thread in threads:
            thread.wait()
            self._finish(thread)

    # ------------------------------------------------------------------ the threads' reports
    @Slot(object, object)
    def _on_progress(self, thread: DownloadThread, p: Progress) -> None:
        if self._threads.get(thread.name) is not thread:
            return  # a thread that has been let go
        old = self.state(thread.name)
        self._states[thread.name] = State(True, old.cancelling, p)
        self.changed.emit(thread.name)

    @Slot(object)
    def _on_ended(self, thread: DownloadThread) -> None:
        self._finish(thread)

    def _finish(self, thread: DownloadThread) -> None:
        if self._threads.get(thread.name) is not thread:
            return  # finished already (stop_all)
        thread.wait()  # run() has returned: the thread ends at once
        del self._threads[thread.name]
        self._states[thread.name] = State(error=thread.message)
        self.changed.emit(thread.name)
        self.finished.emit(thread.name, thread.outcome, thread.message)

    @Slot()
    def _on_quit(self) -> None:
        self.stop_all()


def _titles(names: list[str]) -> str:
    """"MNIST" / "MNIST and CIFAR-10": the datasets' titles from the catalog in force."""
    out = []
    for name in names:
        try:
            out.append(catalog.load().get(name).title)
        except errors.InputError:
            out.append(name)
    return " and ".join(out)


_SERVICE: Downloads | None = None


def downloads() -> Downloads:
    """The process-wide downloads (created on first use, in the UI thread)."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = Downloads()
    return _SERVICE


def running_threads() -> list[QThread]:
    """The download threads still running (tests check that none outlives its test)."""
    return [] if _SERVICE is None else _SERVICE.threads()


def confirm_stop(parent: QWidget) -> bool:
    """Before the window closes: if a download runs, ask whether to stop it (True: go on)."""
    if _SERVICE is None or not _SERVICE.active():
        return True
    names = _SERVICE.active()
    done = [_SERVICE.state(n).progress for n in names]
    pct = f" ({done[0].fraction:.0%})" if len(names) == 1 and done[0] is not None else ""
    verb = "is" if len(names) == 1 else "are"
    ans = QMessageBox.question(
        parent,
        "A download is running",
        f"{_titles(names)} {verb} still downloading{pct}. Closing GradLab stops the download "
        "(nothing half-written is kept; it can be downloaded again later). Close anyway?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return ans == QMessageBox.StandardButton.Yes


def stop_all(parent: QWidget | None = None) -> None:
    """Cancel every download and wait for its thread (see :meth:`Downloads.stop_all`)."""
    if _SERVICE is not None:
        _SERVICE.stop_all(parent)


__all__ = ["CANCELLED", "DONE", "FAILED", "DownloadThread", "Downloads", "State",
           "confirm_stop", "downloads", "running_threads", "stop_all"]
