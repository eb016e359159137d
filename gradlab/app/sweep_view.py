"""File > Open Sweep: a sweep folder (``gradlab sweep --out DIR``) in the Compare view: its table
(Glorot & Bengio's Table 1 layout: validation error %, mean ± std over the repeats of each cell's
best setting), every trial with its status, and the curves of the settings' runs overlaid as
pinned runs; any trial opens as a session (double-click).

Three parts:

* **The adapter** (:func:`load_sweep`, :func:`adapt`): what the window shows of a sweep, as plain
  data (:class:`SweepSummary`), taken from the headless loader ``gradlab.experiment.sweep.load``
  (issue 16) through the few names it uses (``folder``, ``sweep.name``, ``sweep.varying``,
  ``trials``, ``counts()``, ``table()``, ``settings()``). Whatever the loader raises on a damaged
  or hostile folder is one sentence.
* **The panel** (:class:`SweepPanel`): the table and the trials, shown above the Compare view's
  plots (:meth:`~gradlab.app.views.compare.CompareView.show_sweep`).
* **The curves** (:class:`SweepCurveLoader`): the sessions of up to :data:`MAX_CURVES` settings
  (the best of each cell first), loaded off the UI thread and pinned as they arrive.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QSplitter,
    QTableWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradlab.app import pins, theme
from gradlab.app.views.compare_tables import table_item
from gradlab.errors import InputError, sentence
from gradlab.safeio import printable

#: at most this many settings get their curves pinned (one colour each in Compare)
MAX_CURVES = 10
STATUS_ORDER = ("done", "diverged", "error", "pending")


# ============================================================================ the adapter
@dataclass
class SweepTrial:
    """One trial as the window lists it."""

    id: str
    label: str  # "activation=tanh, init=he_normal"
    seed: int
    status: str  # "done", "diverged", "error", "pending"
    steps: int = 0
    val_error: float | None = None  # a fraction
    loss: float | None = None
    diverged_at: int | None = None
    error: str | None = None
    session: Path | None = None
    values: str = ""  # "tanh, he_normal": its name in Compare (the fields are the sweep's)


@dataclass
class SweepCell:
    """A cell of the table: its best setting's figures."""

    text: str  # "12.3 ± 1.1" (validation error %), "" when nothing finished
    tip: str
    best: bool = False
    trials: list[SweepTrial] = field(default_factory=list)  # the best setting's repeats


@dataclass
class SweepSummary:
    """What the window shows of a sweep folder."""

    name: str
    folder: Path
    fields: list[str]
    counts: dict[str, int]
    rows: list[str]
    cols: list[str]
    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[SweepCell]]
    trials: list[SweepTrial]
    #: per setting, its trials (sweep order): which runs to draw
    settings: list[list[SweepTrial]]

    def curves(self, limit: int = MAX_CURVES) -> list[SweepTrial]:
        """The trials whose curves are drawn: the first finished repeat of each cell's best
        setting, then of the other settings in sweep order; at most ``limit``."""
        chosen: list[SweepTrial] = []
        seen: set[str] = set()
        groups = [c.trials for row in self.cells for c in row if c.trials] + self.settings
        for trials in groups:
            first = next((t for t in trials if t.session is not None), None)
            if first is None or first.id in seen:
                continue
            key = first.label
            if key in seen:
                continue
            seen.update((first.id, key))
            chosen.append(first)
            if len(chosen) >= limit:
                break
        return chosen

    def describe(self) -> str:
        c = self.counts
        parts = [f"{c.get('total', len(self.trials)):,} trials"]
        parts += [f"{c[s]:,} {s}" for s in STATUS_ORDER if c.get(s)]
        return f"{self.name}: " + ", ".join(parts)


def _short(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return v if isinstance(v, str) else str(v)


def _label(settings: dict) -> str:
    text = ", ".join(f"{_short(k)}={_value(v)}" for k, v in settings.items()) or "base spec"
    return printable(text, 200)


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _trial(t: Any) -> SweepTrial:
    session = getattr(t, "session", None)
    return SweepTrial(
        id=printable(t.id, 40),
        label=_label(dict(t.settings)),
        values=printable(", ".join(_value(v) for v in dict(t.settings).values()), 120),
        seed=int(t.seed),
        status=str(t.status),
        steps=int(getattr(t, "steps", 0) or 0),
        val_error=_finite(getattr(t, "val_error", None)),
        loss=_finite(getattr(t, "loss", None)),
        diverged_at=getattr(t, "diverged_at", None),
        error=printable(t.error, 400) if getattr(t, "error", None) else None,
        session=Path(session) if session else None,
    )


def _pct(stat: Any) -> str:
    if stat is None or not stat.n:
        return ""
    mean = 100.0 * stat.mean
    if stat.std is not None and math.isfinite(stat.std):
        return f"{mean:.1f} ± {100.0 * stat.std:.1f}"
    return f"{mean:.1f}"


def adapt(res: Any) -> SweepSummary:
    """A loaded sweep (``gradlab.experiment.sweep.load``'s result) as the window shows it."""
    trials = [_trial(t) for t in res.trials]
    by_id = {t.id: t for t in trials}
    table = res.table()
    cells: list[list[SweepCell]] = []
    best_value = math.inf
    for row in table.cells:
        line = []
        for cell in row:
            s = cell.best
            if s is None:
                line.append(SweepCell("", "nothing finished here yet"))
                continue
            err = s.stat("val_error")
            text = _pct(err)
            diverged = s.count("diverged")
            if diverged:
                text = f"{text} ({diverged} diverged)" if text else f"{diverged} diverged"
            members = [by_id[printable(t.id, 40)] for t in s.trials if printable(t.id, 40) in by_id]
            tip = [f"{_label(dict(s.settings))}: validation error {text or 'none'}"]
            tip.append(f"{s.n_finished} of {len(s.trials)} repeats finished")
            other = cell.label() if cell.n_settings > 1 else ""
            if other:
                tip.append(f"the best of {cell.n_settings} settings here ({printable(other, 200)})")
            loss = s.stat("loss")
            if loss.n:
                tip.append(f"final training loss {loss.mean:.4g}")
            line.append(SweepCell(text, "\n".join(tip), trials=members))
            if err.n and not diverged and err.mean < best_value:
                best_value = err.mean
        cells.append(line)
    for row, raw in zip(cells, table.cells):
        for c, cell in zip(row, raw):
            s = cell.best
            if s is not None and not s.count("diverged") and s.stat("val_error").n:
                c.best = s.stat("val_error").mean == best_value
    settings = []
    for s in res.settings():
        ids = [printable(t.id, 40) for t in s.trials]
        settings.append([by_id[i] for i in ids if i in by_id])
    return SweepSummary(
        name=printable(getattr(res.sweep, "name", "sweep"), 120),
        folder=Path(res.folder),
        fields=[printable(f, 120) for f in res.sweep.varying],
        counts=dict(res.counts()),
        rows=[printable(f, 120) for f in table.rows],
        cols=[printable(f, 120) for f in table.cols],
        row_labels=[printable(x, 80) for x in table.row_labels],
        col_labels=[printable(x, 80) for x in table.col_labels],
        cells=cells,
        trials=trials,
        settings=settings,
    )


def headless_loader() -> Callable[[Path], Any]:
    """``gradlab.experiment.sweep.load`` (issue 16's headless loader)."""
    try:
        from gradlab.experiment import sweep
    except ImportError:
        raise InputError(
            "This GradLab cannot read sweep folders (its sweep runner, "
            "gradlab.experiment.sweep, is not installed)."
        ) from None
    return sweep.load


def load_sweep(folder: str | Path, loader: Callable[[Path], Any] | None = None) -> SweepSummary:
    """Read the sweep folder ``folder`` for the window. Raises :class:`InputError` with one
    printable sentence for a folder that is not a readable sweep (whatever the loader met)."""
    folder = Path(folder)
    load = loader or headless_loader()
    try:
        return adapt(load(folder))
    except InputError as err:
        raise InputError(_one(str(err))) from None
    except Exception as err:  # a damaged or hostile folder: one sentence, never a traceback
        raise InputError(_one(f"Cannot open the sweep {folder.name}: {sentence(err)}")) from None


def _one(text: str) -> str:
    text = printable(" ".join(text.split()), 600).rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."


# ============================================================================ the curves
class SweepCurveLoader(QThread):
    """Loads trial sessions off the UI thread: ``loaded(trial id, pinned RunModel)`` each,
    ``failed(trial id, sentence)`` for one that cannot be read; stops between two sessions when
    asked (:meth:`stop`)."""

    loaded = Signal(str, object)
    failed = Signal(str, str)

    def __init__(self, trials: list[SweepTrial], first_run_id: int, parent=None):
        super().__init__(parent)
        self.trials = list(trials)
        self.first_run_id = first_run_id
        self.setObjectName("gradlab-sweep-curves")

    def run(self) -> None:
        for i, t in enumerate(self.trials):
            if self.isInterruptionRequested():
                return
            try:
                name = f"{t.values or t.label} ({t.id})"
                model = pins.load_pinned(t.session, self.first_run_id - i, name)
            except Exception as err:  # one trial's session: say so, go on with the others
                self.failed.emit(t.id, pins.failure(t.session, err))
                continue
            self.loaded.emit(t.id, model)

    def stop(self, timeout_ms: int = 10000) -> bool:
        self.requestInterruption()
        return self.wait(timeout_ms)


# ============================================================================ the panel
class SweepPanel(QWidget):
    """A sweep in the Compare view: a header, its table and its trials (see the module)."""

    #: a trial's session to open (the window asks before it replaces unsaved work)
    openTrial = Signal(str)
    #: the × was pressed: the window removes the sweep and its curves
    closed = Signal()
    #: one pinned run arrived from the curve loader
    curveLoaded = Signal(object)

    TRIAL_COLUMNS = ("trial", "settings", "seed", "status", "val err %", "loss", "steps", "note")

    def __init__(self, summary: SweepSummary, parent: QWidget | None = None):
        super().__init__(parent)
        self.summary = summary
        self.loader: SweepCurveLoader | None = None
        self.problems: list[str] = []
        t = theme.current()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 2)
        lay.setSpacing(2)
        head = QHBoxLayout()
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setText(f"Sweep {summary.describe()}")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.title.setToolTip(printable(str(summary.folder), 400))
        head.addWidget(self.title)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setStyleSheet(f"color: {t.muted};")
        head.addWidget(self.status, 1)
        close = QToolButton(self)
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Close the sweep (its curves are unpinned)")
        close.clicked.connect(self.closed.emit)
        head.addWidget(close)
        lay.addLayout(head)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        self.table = QTableWidget(len(summary.row_labels), len(summary.col_labels) or 1, split)
        self._style(self.table)
        self.table.verticalHeader().show()
        cols = summary.col_labels or ["all"]
        self.table.setHorizontalHeaderLabels(cols)
        self.table.setVerticalHeaderLabels(summary.row_labels)
        corner = ", ".join(_short(r) for r in summary.rows) or "setting"
        if summary.cols:
            corner += " \\ " + ", ".join(_short(c) for c in summary.cols)
        self.table.setToolTip(
            f"Validation error % (mean ± std over repeats) by {corner}: each cell shows its best "
            "setting; bold = the lowest of those that never diverged. Double-click a cell to "
            "open its best run."
        )
        for i, row in enumerate(summary.cells):
            for j, cell in enumerate(row):
                it = table_item(cell.text, cell.tip, Qt.AlignmentFlag.AlignCenter)
                if cell.best:
                    fb = QFont(it.font())
                    fb.setBold(True)
                    it.setFont(fb)
                if "diverged" in cell.text:
                    it.setForeground(QBrush(QColor(t.error)))
                self.table.setItem(i, j, it)
        self.table.resizeColumnsToContents()
        self.table.cellDoubleClicked.connect(self._open_cell)

        self.trials = QTableWidget(len(summary.trials), len(self.TRIAL_COLUMNS), split)
        self._style(self.trials)
        self.trials.setHorizontalHeaderLabels(list(self.TRIAL_COLUMNS))
        self.trials.setToolTip("Double-click a trial to open its session")
        colors = {"diverged": t.error, "error": t.error, "pending": t.muted}
        for i, tr in enumerate(summary.trials):
            note = ""
            if tr.status == "diverged":
                note = f"diverged at step {tr.diverged_at:,}" if tr.diverged_at else "diverged"
            elif tr.error:
                note = tr.error
            elif tr.status == "pending":
                note = "not run yet"
            cells = (
                tr.id,
                tr.label,
                str(tr.seed),
                tr.status,
                f"{100 * tr.val_error:.1f}" if tr.val_error is not None else "–",
                f"{tr.loss:.4g}" if tr.loss is not None else "–",
                f"{tr.steps:,}" if tr.status != "pending" else "",
                note,
            )
            for j, text in enumerate(cells):
                right = j in (2, 4, 5, 6)
                it = table_item(text, note or tr.label, Qt.AlignmentFlag.AlignRight if right else
                           Qt.AlignmentFlag.AlignLeft)
                if tr.status in colors and j in (3, 7):
                    it.setForeground(QBrush(QColor(colors[tr.status])))
                self.trials.setItem(i, j, it)
        self.trials.resizeColumnsToContents()
        self.trials.horizontalHeader().setStretchLastSection(True)
        self.trials.cellDoubleClicked.connect(lambda r, _c: self.open_trial(summary.trials[r]))
        split.addWidget(self.table)
        split.addWidget(self.trials)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        lay.addWidget(split, 1)
        rows = max(len(summary.row_labels), 4)
        self.setMaximumHeight(min(56 + 22 * (rows + 1), 230))

    @staticmethod
    def _style(table: QTableWidget) -> None:
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setAlternatingRowColors(True)
        table.verticalHeader().setDefaultSectionSize(22)
        table.horizontalHeader().setHighlightSections(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)

    # ------------------------------------------------------------------ opening trials
    def _open_cell(self, row: int, col: int) -> None:
        cell = self.summary.cells[row][col]
        first = next((t for t in cell.trials if t.session is not None), None)
        if first is None:
            self.status.setText("Nothing finished in that cell yet.")
            return
        self.open_trial(first)

    def open_trial(self, trial: SweepTrial) -> None:
        if trial.session is None:
            why = f" ({trial.error})" if trial.error else ""
            self.status.setText(f"{trial.id} has no session to open: {trial.status}{why}.")
            return
        self.openTrial.emit(str(trial.session))

    # ------------------------------------------------------------------ curves
    def load_curves(self, first_run_id: int) -> list[SweepTrial]:
        """Start loading the curves' sessions; each arrives by :attr:`curveLoaded`."""
        chosen = self.summary.curves()
        ran = sum(any(t.session is not None for t in s) for s in self.summary.settings)
        if not chosen:
            self.status.setText("No finished trial to draw yet.")
            return chosen
        more = ""
        if ran > len(chosen):
            more = f" of {ran} settings (the best of each cell first)"
        self.status.setText(f"Loading the curves of {len(chosen)}{more}…")
        self._expected = len(chosen)
        self._arrived = 0
        self._more = more
        self.loader = SweepCurveLoader(chosen, first_run_id)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.failed.connect(self._on_failed)
        self.loader.start()
        return chosen

    @Slot(str, object)
    def _on_loaded(self, _trial_id: str, model: object) -> None:
        self._arrived += 1
        self._say()
        self.curveLoaded.emit(model)

    @Slot(str, str)
    def _on_failed(self, _trial_id: str, message: str) -> None:
        self._arrived += 1
        self.problems.append(message)
        self._say()

    def _say(self) -> None:
        done = self._arrived >= self._expected
        text = f"Curves of {self._arrived - len(self.problems)}{self._more} pinned"
        text += "." if done else "…"
        if self.problems:
            text += f" {len(self.problems)} could not be read: {self.problems[0]}"
        self.status.setText(printable(text, 400))

    @property
    def loading(self) -> bool:
        return self.loader is not None and self.loader.isRunning()

    def stop(self) -> bool:
        """Stop loading (between two sessions); True once the thread has ended."""
        return self.loader.stop() if self.loader is not None else True


# ============================================================================ the window's part
class SweepFiles:
    """File > Open Sweep (a mixin of :class:`~gradlab.app.window.MainWindow`)."""

    sweep_panel: SweepPanel | None = None
    _sweep_pins: tuple = ()

    def open_sweep(self, folder: str | Path | None = None, loader=None) -> SweepPanel | None:
        """Load the sweep folder into the Compare view (asks for it without ``folder``); a
        folder that is not a readable sweep is one sentence in a dialog."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Open sweep", self._last_dir())
            if not folder:
                return None
        try:
            summary = load_sweep(folder, loader)
        except InputError as err:
            QMessageBox.warning(self, "Cannot open the sweep", str(err))
            return None
        self.close_sweep()
        panel = SweepPanel(summary)
        panel.openTrial.connect(self.open_file)
        panel.closed.connect(self.close_sweep)
        panel.curveLoaded.connect(self._pin_sweep_run)
        self.sweep_panel = panel
        self.compare.show_sweep(panel)
        self.tabs.setCurrentWidget(self.compare)
        self.settings.setValue("lastDir", str(Path(folder).parent))
        self._pin_serial += MAX_CURVES
        panel.load_curves(-self._pin_serial)
        self.statusBar().showMessage(f"Opened the sweep {summary.describe()}", 8000)
        return panel

    def _pin_sweep_run(self, model) -> None:
        self._sweep_pins = (*self._sweep_pins, id(model))
        self.pinned.append(model)
        self.compare.set_runs(self.pinned)

    def close_sweep(self) -> None:
        """Remove the sweep's panel and unpin its curves (the user's own pins stay)."""
        panel, self.sweep_panel = self.sweep_panel, None
        if panel is None:
            return
        panel.stop()
        gone = set(self._sweep_pins)
        self._sweep_pins = ()
        self.pinned = [r for r in self.pinned if id(r) not in gone]
        self.compare.set_runs(self.pinned)
        self.compare.show_sweep(None)

    def stop_sweep_loading(self) -> bool:
        """(Closing the window) stop loading the sweep's curves; True once stopped."""
        return self.sweep_panel.stop() if self.sweep_panel is not None else True


__all__ = [
    "MAX_CURVES",
    "SweepCell",
    "SweepCurveLoader",
    "SweepFiles",
    "SweepPanel",
    "SweepSummary",
    "SweepTrial",
    "adapt",
    "headless_loader",
    "load_sweep",
]
