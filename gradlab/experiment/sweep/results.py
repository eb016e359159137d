"""A sweep's results: one record per trial, the mean ± std over repeats of each setting, the
Table-1-style layout, results.csv and results.md, and :func:`load` for a finished (or interrupted)
sweep folder.

The folder::

    DIR/sweep.json            the definition (what was run; see definition.py)
    DIR/trials/t0000.json     one trial's record: settings, seed, status, figures, error
    DIR/trials/t0000.gradlab  its session (done or diverged trials)
    DIR/results.csv           one row per trial
    DIR/results.md            the tables

A trial is finished when its record says "done" or "diverged" and its session is there; a record
with "error" is kept (and shown) until a later run of the sweep tries the trial again.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gradlab.errors import SpecError
from gradlab.experiment.sweep.definition import SweepDef, format_value
from gradlab.fileio import atomic_write_text

FINISHED = ("done", "diverged")
METRICS = ("val_error", "loss", "diverged_at")


# ---------------------------------------------------------------------------- one trial
@dataclass
class TrialRecord:
    """What is known of one trial (a row of results.csv)."""

    id: str
    settings: dict
    repeat: int
    seed: int
    status: str = "pending"  # "pending" (not run yet), "done", "diverged", "error"
    steps: int = 0
    val_error: float | None = None
    val_loss: float | None = None
    loss: float | None = None
    diverged_at: int | None = None
    error: str | None = None
    seconds: float | None = None
    train_seconds: float | None = None
    session: Path | None = None  # absolute path of its .gradlab, when there is one

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self, folder: Path) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "session"}
        d["session"] = self.session.relative_to(folder).as_posix() if self.session else None
        return d

    @classmethod
    def from_json(cls, d: dict, folder: Path) -> TrialRecord:
        session = d.get("session")
        path = (folder / session).resolve() if isinstance(session, str) else None
        kw = {k: d[k] for k in cls.__dataclass_fields__ if k != "session" and k in d}
        return cls(**kw, session=path)


# ---------------------------------------------------------------------------- statistics
@dataclass
class Stat:
    """Mean and sample standard deviation (n - 1) of the finite values; std is NaN for n < 2."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values) -> Stat:
        v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
        if len(v) == 0:
            return cls(math.nan, math.nan, 0)
        return cls(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan, len(v))

    def format(self, scale: float = 1.0, fmt: str = ".4g") -> str:
        if self.n == 0:
            return ""
        m = format(self.mean * scale, fmt)
        return m if not math.isfinite(self.std) else f"{m} ± {format(self.std * scale, fmt)}"


@dataclass
class Setting:
    """One setting of the swept fields, over its repeats."""

    settings: dict
    trials: list[TrialRecord] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.trials)

    @property
    def n_finished(self) -> int:
        return sum(t.finished for t in self.trials)

    def stat(self, metric: str) -> Stat:
        if metric == "diverged_at":
            return Stat.of(t.diverged_at for t in self.trials if t.status == "diverged")
        return Stat.of(getattr(t, metric) for t in self.trials if t.finished)

    @property
    def rank(self) -> tuple:
        """Lower is better: settings that never diverged first (a learning rate that blows up
        is not a candidate while another one trains), then mean validation error."""
        s = self.stat("val_error")
        return (s.n == 0, self.count("diverged") > 0, s.mean if s.n else math.inf)


@dataclass
class Cell:
    """A cell of the table: the best of the settings that fall in it (None: nothing yet)."""

    best: Setting | None
    n_settings: int
    others: list[str]  # the swept fields that vary inside the cell (named beside the value)

    def label(self) -> str:
        """The chosen values of the fields that vary inside the cell, e.g. ``lr=0.01``."""
        if self.best is None or self.n_settings < 2:
            return ""
        return ", ".join(
            f"{f.rsplit('.', 1)[-1]}={format_value(self.best.settings[f])}" for f in self.others
        )


@dataclass
class Table:
    """Rows x columns of cells (a Table 1 layout); labels are the axis fields' values."""

    rows: list[str]
    cols: list[str]
    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[Cell]]


# ---------------------------------------------------------------------------- a loaded sweep
@dataclass
class SweepResults:
    """A sweep folder as the window (or a notebook) uses it: the definition, every trial with
    its status, figures and session path, and :meth:`table`."""

    folder: Path
    sweep: SweepDef
    trials: list[TrialRecord]

    def settings(self) -> list[Setting]:
        """The settings in sweep order, each with its repeats."""
        out: dict[str, Setting] = {}
        for t in self.trials:
            key = json.dumps(t.settings, sort_keys=True)
            out.setdefault(key, Setting(t.settings)).trials.append(t)
        return list(out.values())

    def _axis_values(self, fields: list[str]) -> list[tuple]:
        seen: dict[str, tuple] = {}
        for t in self.trials:
            values = tuple(t.settings[f] for f in fields)
            seen.setdefault(json.dumps(values, sort_keys=True), values)
        values = list(seen.values())
        grid = dict(self.sweep.grid)
        if fields and not all(f in grid for f in fields):  # random fields: in increasing order
            try:
                values.sort()
            except TypeError:
                pass
        return values

    def table(self, rows: list[str] | None = None, cols: list[str] | None = None) -> Table:
        """Cells of rows x cols (default: the sweep's layout, else the first swept field as rows
        and the second grid field as columns); each cell holds its best setting."""
        rows, cols = self.layout(rows, cols)
        others = [f for f in self.sweep.varying if f not in rows and f not in cols]
        rv, cv = self._axis_values(rows), self._axis_values(cols)
        groups: dict[tuple[str, str], list[Setting]] = {}
        for s in self.settings():
            r = json.dumps(tuple(s.settings[f] for f in rows), sort_keys=True)
            c = json.dumps(tuple(s.settings[f] for f in cols), sort_keys=True)
            groups.setdefault((r, c), []).append(s)
        cells = []
        for r in rv:
            line = []
            for c in cv:
                members = groups.get(
                    (json.dumps(r, sort_keys=True), json.dumps(c, sort_keys=True)), []
                )
                ran = [s for s in members if s.n_finished]
                best = min(ran, key=lambda s: s.rank) if ran else None
                line.append(Cell(best, len(members), others))
            cells.append(line)

        def label(values: tuple) -> str:
            return ", ".join(format_value(v) for v in values) or "all"

        return Table(rows, cols, [label(r) for r in rv], [label(c) for c in cv], cells)

    def layout(self, rows: list[str] | None, cols: list[str] | None) -> tuple[list, list]:
        if rows is None and cols is None and (self.sweep.rows or self.sweep.cols):
            rows, cols = self.sweep.rows, self.sweep.cols
        varying = self.sweep.varying
        for axis in (*(rows or []), *(cols or [])):
            if axis not in varying:
                raise SpecError(
                    "--rows/--cols", f"{axis} is not swept (choose from: {', '.join(varying)})"
                )
        if rows is None:
            rows = [f for f in varying[:1] if f not in (cols or [])]
        if cols is None:
            grid = [f for f, _ in self.sweep.grid if f not in rows]
            cols = grid[:1]
        return list(rows), list(cols)

    def counts(self) -> dict[str, int]:
        out = {"total": len(self.trials)}
        for status in ("done", "diverged", "error", "pending"):
            out[status] = sum(t.status == status for t in self.trials)
        return out


def load(folder: str | Path) -> SweepResults:
    """Read a sweep folder (finished, running elsewhere or interrupted): its definition and every
    trial, those not run yet with status "pending". Raises SpecError with one sentence if the
    folder holds no readable sweep."""
    folder = Path(folder).resolve()
    sweep = read_definition(folder)
    if sweep is None:
        raise SpecError("sweep", f"{folder} holds no sweep (no sweep.json)")
    return SweepResults(folder, sweep, read_records(folder, sweep))


def read_definition(folder: Path) -> SweepDef | None:
    path = folder / "sweep.json"
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > 64 * 1024 * 1024:
            raise SpecError("sweep.json", f"in {folder} is too large to be a sweep definition")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpecError("sweep.json", f"in {folder} cannot be read ({err})") from None
    return SweepDef.from_json(data)


def read_records(folder: Path, sweep: SweepDef) -> list[TrialRecord]:
    """Every trial of ``sweep``, with what its record in ``folder/trials`` says (a record that is
    missing, unreadable, foreign or finished without its session counts as not run)."""
    out = []
    for t in sweep.expand():
        rec = TrialRecord(t.id, t.settings, t.repeat, t.seed)
        path = folder / "trials" / f"{t.id}.json"
        try:
            d = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
            stored = TrialRecord.from_json(d, folder) if isinstance(d, dict) else None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, ValueError):
            stored = None
        if (
            stored is not None
            and stored.id == t.id
            and stored.seed == t.seed
            and json.dumps(stored.settings, sort_keys=True)
            == json.dumps(t.settings, sort_keys=True)
            and stored.status in (*FINISHED, "error")
            and (not stored.finished or (stored.session is not None and stored.session.is_file()))
        ):
            rec = stored
        out.append(rec)
    return out


# ---------------------------------------------------------------------------- writing
def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def results_csv(res: SweepResults) -> str:
    """results.csv: one row per trial (val_error as a fraction; blank where there is nothing)."""
    fields = res.sweep.varying
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "trial",
            "repeat",
            "seed",
            *fields,
            "status",
            "steps",
            "val_error",
            "val_loss",
            "loss",
            "diverged_at",
            "seconds",
            "train_seconds",
            "error",
            "session",
        ]
    )
    for t in res.trials:
        session = t.session.relative_to(res.folder).as_posix() if t.session else ""
        w.writerow(
            [
                t.id,
                t.repeat,
                t.seed,
                *(_cell(t.settings[f]) for f in fields),
                t.status,
                t.steps if t.status != "pending" else "",
                _cell(t.val_error),
                _cell(t.val_loss),
                _cell(t.loss),
                _cell(t.diverged_at),
                _cell(t.seconds),
                _cell(t.train_seconds),
                t.error or "",
                session,
            ]
        )
    return buf.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _metric_text(s: Setting, metric: str) -> str:
    if metric == "val_error":
        return s.stat("val_error").format(100, ".2f")
    if metric == "loss":
        return s.stat("loss").format()
    k, n = s.count("diverged"), s.n_finished
    if k == 0:
        return "-" if n else ""
    return f"{k}/{n}: " + s.stat("diverged_at").format(fmt=".0f")


def table_markdown(table: Table, metric: str) -> str:
    short = [f.rsplit(".", 1)[-1] for f in table.rows]
    corner = ", ".join(short) or " "
    if table.cols:
        corner += " \\ " + ", ".join(f.rsplit(".", 1)[-1] for f in table.cols)
    lines = [
        "| "
        + _md_escape(corner)
        + " | "
        + " | ".join(_md_escape(c) for c in table.col_labels)
        + " |",
        "|---" + "|---:" * len(table.col_labels) + "|",
    ]
    for label, row in zip(table.row_labels, table.cells):
        texts = []
        for cell in row:
            if cell.best is None:
                texts.append("")
                continue
            text = _metric_text(cell.best, metric)
            extra = cell.label() if text not in ("", "-") else ""
            if cell.best.count("diverged") and metric != "diverged_at":
                extra = ", ".join(
                    x for x in (extra, f"{cell.best.count('diverged')} diverged") if x
                )
            texts.append(f"{text} ({extra})" if extra and text else text)
        lines.append("| " + _md_escape(label) + " | " + " | ".join(map(_md_escape, texts)) + " |")
    return "\n".join(lines)


def results_markdown(
    res: SweepResults, rows: list[str] | None = None, cols: list[str] | None = None
) -> str:
    """results.md: the Table-1 layout of each figure, every setting, the errors."""
    sw = res.sweep
    table = res.table(rows, cols)
    c = res.counts()
    seeds = f"seed {sw.seed}" if sw.repeats == 1 else f"seeds {sw.seed}-{sw.seed + sw.repeats - 1}"
    swept = "; ".join(
        [f"`{f}` = {', '.join(format_value(v) for v in vals)}" for f, vals in sw.grid]
        + [f"`{f}` ~ {_dist_text(d)} ({sw.trials} samples)" for f, d in sw.random]
    )
    steps = f"{sw.steps:,} steps" if sw.steps is not None else "the spec's budget"
    out = [
        f"# Sweep {sw.name}",
        "",
        f"{c['total']} trials ({steps}, {sw.repeats} repeat{'s' if sw.repeats != 1 else ''}, "
        f"{seeds}): {c['done']} done, {c['diverged']} diverged, {c['error']} failed, "
        f"{c['pending']} not run.",
        "",
        f"Swept: {swept or 'nothing (the base spec alone)'}.",
        "",
        "Each cell: mean ± standard deviation over repeats (n - 1). Where several settings fall in "
        "a cell, the one with the lowest mean validation error is shown and named in brackets "
        "(settings that never diverged first). A diverged run's figures are those of its last "
        "good state.",
    ]
    sections = (
        ("Final validation error (%)", "val_error"),
        ("Final training loss", "loss"),
        ("Steps to divergence (diverged runs / finished runs: mean ± std)", "diverged_at"),
    )
    for title, metric in sections:
        out += ["", f"## {title}", "", table_markdown(table, metric)]
    fields = sw.varying
    out += ["", "## Every setting", ""]
    head = [f.rsplit(".", 1)[-1] for f in fields]
    out.append(
        "| " + " | ".join([*head, "runs", "val error %", "loss", "diverged", "failed"]) + " |"
    )
    out.append("|" + "---|" * len(head) + "---:|---:|---:|---:|---:|")
    for s in res.settings():
        out.append(
            "| "
            + " | ".join(
                [
                    *(_md_escape(format_value(s.settings[f])) for f in fields),
                    f"{s.n_finished}/{len(s.trials)}",
                    s.stat("val_error").format(100, ".2f"),
                    s.stat("loss").format(),
                    _metric_text(s, "diverged_at"),
                    str(s.count("error")),
                ]
            )
            + " |"
        )
    errors = [t for t in res.trials if t.status == "error"]
    if errors:
        out += ["", "## Failed trials", ""]
        for t in errors:
            where = ", ".join(f"{f}={format_value(t.settings[f])}" for f in fields)
            out.append(f"- {t.id} ({where}, seed {t.seed}): {t.error}")
    return "\n".join(out) + "\n"


def _dist_text(d: dict) -> str:
    if d["kind"] == "choice":
        return "choice of " + ", ".join(format_value(v) for v in d["values"])
    return f"{d['kind']}({d['low']:g}, {d['high']:g})"


def write_results(res: SweepResults, rows=None, cols=None) -> None:
    """Write results.csv and results.md (each atomically)."""
    atomic_write_text(res.folder / "results.csv", results_csv(res))
    atomic_write_text(res.folder / "results.md", results_markdown(res, rows, cols))
