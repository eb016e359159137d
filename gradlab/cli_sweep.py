"""``gradlab sweep``: many runs from one spec, in local processes or on a dask cluster.

::

    gradlab sweep (--spec base.json | --preset NAME)
                  [--set FIELD=VALUE ...] [--grid FIELD=v1,v2 ...]
                  [--random FIELD=loguniform:a:b|uniform:a:b|choice:x,y ... --trials K]
                  [--repeats R] [--steps N] [--seed S] --out DIR
                  [--rows F[,F]] [--cols F[,F]] [--workers N | --scheduler tcp://HOST:PORT]
                  [--quiet]

Writes each trial's session, results.csv and results.md into DIR (gradlab/experiment/sweep).
Exit codes: 0 every trial ran (diverged ones included), 1 some trials failed with an error
(recorded in DIR; the same command tries them again), 2 invalid input, 130 interrupted (the
finished trials are kept; the same command goes on).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gradlab.cli import EXIT_INTERRUPTED, EXIT_OK, UsageError, _Parser

EXIT_FAILED_TRIALS = 1


def _parser() -> _Parser:
    from gradlab.experiment.sweep.presets import preset_names

    p = _Parser(
        prog="gradlab sweep",
        description="Run a grid and/or random search of experiments and tabulate the results "
        "(mean ± std over repeats of the final validation error, loss and steps to divergence).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--spec", help="the base spec (JSON file)")
    src.add_argument(
        "--preset",
        help="a sweep preset (" + ", ".join(preset_names()) + ") or a run preset as the base "
        "spec (see 'gradlab presets')",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="set a field of the base spec (repeatable), as in gradlab run",
    )
    p.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="FIELD=v1,v2",
        help="sweep FIELD over these values (repeatable: the cartesian product); "
        "network.KEY sets KEY in every hidden dense layer",
    )
    p.add_argument(
        "--random",
        action="append",
        default=[],
        metavar="FIELD=DIST",
        help="draw FIELD from loguniform:a:b, uniform:a:b or choice:x,y (repeatable)",
    )
    p.add_argument("--trials", type=int, help="random samples to draw (with --random)")
    p.add_argument(
        "--repeats", type=int, help="runs of each setting, seeds S, S+1, ... (default 1)"
    )
    p.add_argument("--steps", type=int, help="training steps of each trial (default: the spec's)")
    p.add_argument(
        "--seed",
        type=int,
        help="the first repeat's seed and the random draws' seed (default: the spec's seed)",
    )
    p.add_argument("--out", required=True, help="the sweep's folder (created; reused to go on)")
    p.add_argument("--rows", help="swept field(s) for the rows of results.md, comma-separated")
    p.add_argument("--cols", help="swept field(s) for its columns, comma-separated")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: the cores)")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask.distributed cluster, e.g. tcp://host:8786 "
        "(pip install 'gradlab[dask]')",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _axis(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [f.strip() for f in text.split(",") if f.strip()]


def build_sweep(args):
    """The SweepDef the command line describes."""
    from gradlab.cli import _load_spec
    from gradlab.errors import SpecError
    from gradlab.experiment.sweep import SweepDef, parse_grid, parse_random
    from gradlab.experiment.sweep.presets import load_preset, preset_names

    kw: dict = {}
    if args.preset and args.preset in preset_names():
        kw = load_preset(args.preset)
        base = kw.pop("base")
        from gradlab.experiment.spec import parse_value
        from gradlab.experiment.sweep import apply_field

        for item in args.set:
            field, eq, value = item.partition("=")
            if not eq or not field:
                raise UsageError(
                    f"--set {item!r} must look like FIELD=VALUE, e.g. training.lr=0.01"
                )
            base = apply_field(base, field.strip(), parse_value(value.strip()))
    else:
        try:
            base = _load_spec(
                argparse.Namespace(
                    preset=args.preset,
                    spec=args.spec,
                    set=args.set,
                    seed=None,
                    steps=None,
                    epochs=None,
                )
            )
        except SpecError as err:
            if err.field != "preset":
                raise
            raise UsageError(
                f"--preset: {err.message}; or a sweep preset: {', '.join(preset_names())}"
            ) from None
        name = args.preset or str(base.get("name") or Path(args.spec).stem)
        kw = {"name": name, "grid": [], "random": [], "seed": int(base.get("seed", 0))}
    grid = list(kw.pop("grid", []))
    for item in args.grid:
        f, values = parse_grid(item)
        grid = [(g, v) for g, v in grid if g != f] + [(f, values)]
    rand = list(kw.pop("random", []))
    for item in args.random:
        f, dist = parse_random(item)
        rand = [(g, d) for g, d in rand if g != f] + [(f, dist)]
    if args.random and args.trials is None and "trials" not in kw:
        raise UsageError("--random needs --trials K (how many samples to draw)")
    for opt in ("trials", "repeats", "steps", "seed"):
        value = getattr(args, opt)
        if value is not None:
            kw[opt] = value
    if not rand:
        kw.pop("trials", None)
        if args.trials is not None:
            raise UsageError("--trials counts random samples: give --random FIELD=DIST with it")
    rows, cols = _axis(args.rows), _axis(args.cols)
    if rows is not None:
        kw["rows"] = rows
    if cols is not None:
        kw["cols"] = cols
    sweep = SweepDef(base=base, grid=grid, random=rand, **kw)
    if sweep.steps is None:
        t = base.get("training") or {}
        if not isinstance(t, dict) or (t.get("steps") is None and t.get("epochs") is None):
            raise UsageError("the spec has no step budget: give --steps")
    return sweep


class SweepBar:
    """Trials done, running, diverged, failed, elapsed and remaining time, on stderr (redrawn in
    place on a terminal; a line per finished trial otherwise)."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = -1
        self._drawn = 0.0

    @staticmethod
    def _clock(seconds: float | None) -> str:
        if seconds is None:
            return "--:--"
        seconds = round(seconds)
        h, rest = divmod(seconds, 3600)
        return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60:02d}:{rest % 60:02d}"

    def __call__(self, p) -> None:
        if self.quiet:
            return
        frac = p.done / max(p.total, 1)
        text = (
            f"{p.done}/{p.total} trials  running {p.running}  diverged {p.diverged}  "
            f"failed {p.failed}  elapsed {self._clock(p.elapsed)}  "
            f"remaining {self._clock(p.remaining)}"
        )
        if self.tty:
            now = time.perf_counter()
            if p.done == self._last and now - self._drawn < 0.5:
                return
            self._drawn = now
            self._last = p.done
            n = 24
            bar = "#" * int(frac * n) + "." * (n - int(frac * n))
            sys.stderr.write(f"\r[{bar}] {text} ")
            sys.stderr.flush()
        elif p.done != self._last:
            self._last = p.done
            print(text, file=sys.stderr)

    def close(self) -> None:
        if not self.quiet and self.tty and self._last >= 0:
            sys.stderr.write("\n")


def cmd_sweep(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    from gradlab.experiment.sweep import DaskExecutor, LocalExecutor, run
    from gradlab.experiment.sweep.runner import check_folder

    sweep = build_sweep(args)
    sweep.check_specs()
    check_folder(Path(args.out), sweep)
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    executor = DaskExecutor(args.scheduler) if args.scheduler else LocalExecutor(args.workers)
    bar = SweepBar(args.quiet)
    with executor:
        if not args.quiet:
            n = sweep.n_trials
            print(
                f"gradlab: sweep {sweep.name}: {n} trial{'s' if n != 1 else ''} on "
                f"{executor.describe}",
                file=sys.stderr,
            )
        try:
            outcome = run(
                sweep,
                Path(args.out),
                executor,
                rows=_axis(args.rows),
                cols=_axis(args.cols),
                on_progress=bar,
            )
        finally:
            bar.close()
    res = outcome.results
    c = res.counts()
    out = res.folder
    if outcome.interrupted:
        print(
            f"gradlab: interrupted; {c['done'] + c['diverged']} of {c['total']} trials finished "
            f"and kept in {out}; run the same command to go on.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    summary = f"{c['done']} done, {c['diverged']} diverged, {c['error']} failed" + (
        f" ({outcome.skipped} already in the folder)" if outcome.skipped else ""
    )
    if not args.quiet:
        print(f"gradlab: sweep finished: {summary}; see {out / 'results.md'}", file=sys.stderr)
    if c["error"]:
        first = next(t for t in res.trials if t.status == "error")
        print(
            f"gradlab: {c['error']} trial(s) failed, e.g. {first.id}: {first.error} "
            "(run the same command to try them again)",
            file=sys.stderr,
        )
        return EXIT_FAILED_TRIALS
    return EXIT_OK
