"""Several runs side by side: the ``compare`` figure (loss curves, speed of learning per layer,
and Glorot & Bengio's Table 1 layout: rows = hidden activation, columns = initialisation,
cells = test error %) and the same numbers as a Markdown, LaTeX or CSV table.

The window's Compare view compares *pinned* runs, which live in the window only: a session file
stores one run and no pins. Here a comparison is drawn from several runs (sessions, Experiments,
or the window's pinned runs), at least two.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gradlab import palette
from gradlab.figures._base import (
    MUTED,
    FigureError,
    Options,
    Run,
    choose,
    figure_legend,
    heading,
    log_limits,
    mark_step,
    positive,
    probe_row,
    set_log,
)
from gradlab.figures.numbers import (
    error_pct,
    final_metrics,
    hidden_setting,
    run_steps,
    table1,
)

COMPARE_PANELS = ("all", "loss", "speed", "table")
#: a marker per run besides its colour, so runs stay apart in grey-scale and for colour-blind
#: readers (the ten Tableau colours include a red and a green)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
TABLE_FORMATS = (".md", ".tex", ".csv")
TABLE_PANEL_TITLE = "Test error % (Glorot & Bengio 2010, Table 1 layout)"
TABLE_TITLE = (
    "Test error % (100 x (1 - validation accuracy)) by hidden activation (rows) and "
    "initialisation (columns)"
)


def check_runs(runs: list[Run]) -> None:
    if len(runs) < 2:
        raise FigureError(
            "a comparison needs at least two runs (pin runs in the window, or give several "
            "sessions: gradlab export A.gradlab B.gradlab --figure compare)"
        )


# ---------------------------------------------------------------------------- the numbers
def _best(cells: dict[tuple[str, str], Run]) -> float | None:
    errors = [error_pct(r) for r in cells.values()]
    finite = [e for e in errors if math.isfinite(e)]
    return min(finite) if finite else None


def _num(v: float, fmt: str = ".1f") -> str:
    return format(v, fmt) if math.isfinite(v) else ""


def table_text(runs: list[Run], suffix: str) -> str:
    """The comparison's numbers as ``.md`` or ``.tex`` (Table 1, then one row per run) or
    ``.csv`` (one row per run: name, activation, init, steps, accuracies, losses, test error)."""
    check_runs(runs)
    if suffix not in TABLE_FORMATS:
        raise FigureError(
            f"a table is written as {', '.join(TABLE_FORMATS)}, not {suffix or 'no suffix'}"
        )
    rows = []
    for r in runs:
        m = final_metrics(r)
        rows.append(
            {
                "run": r.name,
                "activation": hidden_setting(r.spec, "activation"),
                "init": hidden_setting(r.spec, "init"),
                "steps": run_steps(r),
                "train_acc": m["train_acc"],
                "val_acc": m["val_acc"],
                "train_loss": m["train_loss"],
                "val_loss": m["val_loss"],
                "test_error_pct": error_pct(r),
            }
        )
    if suffix == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(list(rows[0]))
        for row in rows:
            w.writerow([_num(v, ".6g") if isinstance(v, float) else v for v in row.values()])
        return buf.getvalue()
    acts, inits, cells = table1(runs)
    best = _best(cells)

    def cell(act: str, init: str, bold: str) -> str:
        run = cells.get((act, init))
        if run is None:
            return ""
        e = error_pct(run)
        text = _num(e) or "–"
        return bold.format(text) if best is not None and e == best else text

    if suffix == ".md":
        out = [f"**{TABLE_TITLE}**", ""]
        out.append("| activation \\ init | " + " | ".join(inits) + " |")
        out.append("|---|" + "---:|" * len(inits))
        for a in acts:
            out.append(f"| {a} | " + " | ".join(cell(a, i, "**{}**") for i in inits) + " |")
        out += [
            "",
            "| run | activation | init | steps | train acc | val acc | train loss | "
            "val loss | test error % |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            out.append(
                f"| {row['run']} | {row['activation']} | {row['init']} | {row['steps']:,} | "
                f"{_pct(row['train_acc'])} | {_pct(row['val_acc'])} | "
                f"{_num(row['train_loss'], '.4g')} | {_num(row['val_loss'], '.4g')} | "
                f"{_num(row['test_error_pct'])} |"
            )
        return "\n".join(out) + "\n"
    # LaTeX: plain tabular and \hline, so it compiles without extra packages
    t = _tex
    out = [f"% {TABLE_TITLE} (GradLab)", "\\begin{tabular}{l" + "r" * len(inits) + "}", "\\hline"]
    out.append("activation $\\backslash$ init & " + " & ".join(t(i) for i in inits) + " \\\\")
    out.append("\\hline")
    for a in acts:
        out.append(t(a) + " & " + " & ".join(cell(a, i, "\\textbf{{{}}}") for i in inits) + " \\\\")
    out += [
        "\\hline",
        "\\end{tabular}",
        "",
        "\\begin{tabular}{lllrrrrrr}",
        "\\hline",
        "run & activation & init & steps & train acc & val acc & train loss & val loss & "
        "test error \\% \\\\",
        "\\hline",
    ]
    for row in rows:
        cells_ = [
            t(row["run"]),
            t(row["activation"]),
            t(row["init"]),
            f"{row['steps']}",
            _pct(row["train_acc"]).replace("%", "\\%"),
            _pct(row["val_acc"]).replace("%", "\\%"),
            _num(row["train_loss"], ".4g"),
            _num(row["val_loss"], ".4g"),
            _num(row["test_error_pct"]),
        ]
        out.append(" & ".join(cells_) + " \\\\")
    out += ["\\hline", "\\end{tabular}"]
    return "\n".join(out) + "\n"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%" if math.isfinite(v) else ""


_TEX = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
}


def _tex(text: str) -> str:
    return "".join(_TEX.get(c, c) for c in str(text))


# ---------------------------------------------------------------------------- the figure
def run_style(i: int) -> tuple[str, str]:
    return palette.run_color(i), MARKERS[i % len(MARKERS)]


def loss_panel(ax, runs: list[Run], o: Options) -> None:
    """Each run's loss: thin = every step, bold with markers = validation (or the training
    subset when there is no validation set)."""
    st = o.style
    vals = []
    last = 1.0
    for i, run in enumerate(runs):
        color, marker = run_style(i)
        s = run.history.steps(max_rows=20_000)
        e = run.history.evals()
        ax.plot(s["step"], positive(s["loss"]), color=color, lw=st.thin, alpha=0.35, zorder=2)
        val = positive(e["val_loss"])
        if not np.isfinite(val).any():
            val = positive(e["train_loss"])
        keep = np.isfinite(val)
        ax.plot(
            e["step"][keep],
            val[keep],
            color=color,
            lw=st.line,
            marker=marker,
            ms=0.9 * st.marker,
            zorder=3,
        )
        vals += [s["loss"][-20_000:], val]
        if len(s["step"]):
            last = max(last, float(s["step"][-1]))
    if o.logy is not False:
        set_log(ax)
        ax.set_ylim(*log_limits(np.concatenate(vals), pad=0.05))
    if o.logx:
        set_log(ax, "x")
    else:
        ax.set_xlim(0.0, last)
    if o.step is not None:
        mark_step(ax, float(o.step), o)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("Loss")


def speed_panel(ax, runs: list[Run], o: Options) -> None:
    """Each run's ||dL/db|| per layer at the last probe (or the probe at ``step``)."""
    st = o.style
    vals = []
    depth = 1
    for i, run in enumerate(runs):
        color, marker = run_style(i)
        if run.history.n_probes:
            bg = run.history.probe(probe_row(run, o.step))["stats"]["bias_grad_norm"]
        else:
            bg = np.full(run.n_layers, np.nan)
        ax.plot(
            np.arange(1, run.n_layers + 1),
            positive(bg),
            color=color,
            lw=st.line,
            marker=marker,
            ms=st.marker,
            zorder=3,
        )
        vals.append(bg)
        depth = max(depth, run.n_layers)
    set_log(ax)
    ax.set_ylim(*log_limits(np.concatenate(vals)))
    ticks = [str(i) for i in range(1, depth + 1)]
    if len({r.n_layers for r in runs}) == 1:
        ticks[-1] = "out"
    ax.set_xticks(range(1, depth + 1), ticks)
    ax.set_xlim(0.6, depth + 0.4)
    ax.grid(False, axis="x")
    where = "last probe" if o.step is None else f"probe at step {o.step:,}"
    ax.set_xlabel(f"layer ({where})")
    ax.set_ylabel("||dL/db||")
    ax.set_title("Speed of learning")


def table_panel(ax, runs: list[Run], o: Options) -> None:
    """Table 1 as a table: test error % per (activation, init), in the run's colour, the
    lowest in bold."""
    acts, inits, cells = table1(runs)
    best = _best(cells)
    index = {id(r): i for i, r in enumerate(runs)}
    text = [
        [_num(error_pct(cells[(a, i)])) or "–" if (a, i) in cells else "" for i in inits]
        for a in acts
    ]
    ax.set_axis_off()
    tbl = ax.table(
        cellText=text,
        rowLabels=acts,
        colLabels=inits,
        cellLoc="center",
        rowLoc="right",
        loc="center",
    )
    tbl.auto_set_font_size(False)
    tbl.set_fontsize(o.style.font)
    tbl.auto_set_column_width(list(range(-1, len(inits))))
    n_rows = len(acts) + 1
    for c in tbl.get_celld().values():  # the rows fill the panel (sized for them)
        c.set_height(0.98 / n_rows)
    for (row, col), c in tbl.get_celld().items():
        c.set_linewidth(0.5 * o.style.frame)
        c.set_edgecolor(MUTED)
        if row == 0 or col == -1:
            c.get_text().set_fontweight("bold")
            continue
        run = cells.get((acts[row - 1], inits[col]))
        if run is None:
            continue
        c.get_text().set_color(run_style(index[id(run)])[0])
        if best is not None and error_pct(run) == best:
            c.get_text().set_fontweight("bold")
    ax.set_title(TABLE_PANEL_TITLE)


def draw_compare(fig: Figure, runs: list[Run], o: Options) -> None:
    check_runs(runs)
    which = choose(o.quantity, COMPARE_PANELS, "quantity", "compare")
    panel = {"loss": loss_panel, "speed": speed_panel, "table": table_panel}
    if which == "table":
        table_panel(fig.add_subplot(), runs, o)
    elif which != "all":
        panel[which](fig.add_subplot(), runs, o)
    else:
        # the table gets the height of its rows, the plots the rest
        table_in = (len(table1(runs)[0]) + 1) * 2.2 * o.style.font / 72.0
        plots_in = max(fig.get_size_inches()[1] - table_in - 3.5 * o.style.font / 72.0, 1.0)
        gs = fig.add_gridspec(2, 2, height_ratios=(plots_in, table_in))
        loss_panel(fig.add_subplot(gs[0, 0]), runs, o)
        speed_panel(fig.add_subplot(gs[0, 1]), runs, o)
        table_panel(fig.add_subplot(gs[1, :]), runs, o)
    handles = [
        Line2D([], [], color=c, marker=m, lw=o.style.line, ms=o.style.marker)
        for c, m in (run_style(i) for i in range(len(runs)))
    ]
    labels = [r.name for r in runs]
    if which in ("all", "loss"):
        handles += [
            Line2D([], [], color=MUTED, lw=o.style.thin, alpha=0.6),
            Line2D([], [], color=MUTED, lw=o.style.line, marker="o", ms=o.style.marker),
        ]
        labels += ["loss, every step", "validation loss"]
    figure_legend(fig, handles, labels, o, below=which == "table")
    heading(fig, o, f"Comparison of {len(runs)} runs")
