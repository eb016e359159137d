"""The ``gradlab`` command.

::

    gradlab [FILE.gradlab] [--preset NAME] [--run]      open the window
    gradlab run (--preset NAME | --spec FILE.json) [--steps N | --epochs N] [--seed S]
                [--set training.lr=0.01 ...] --out FILE.gradlab
    gradlab run SESSION.gradlab (--steps N | --epochs N) --out NEW.gradlab   (train on)
    gradlab run --preset FAMILY --out BASE.gradlab      (each preset of a family: cli_family.py)
    gradlab export FILE.gradlab --stats OUT.json|OUT.csv
    gradlab export FILE.gradlab --figure KIND --out FIG.pdf|svg|png|eps [--step N]
                [--width W --height H (inches)] [--dpi D] [--style paper|slides]
                [--quantity Q] [--layers 1,2,out] [--layout overlay|multiples] [--logx] [--logy]
    gradlab export A.gradlab B.gradlab ... --figure compare --out FIG.pdf
    gradlab export A.gradlab B.gradlab ... --table OUT.md|tex|csv
    gradlab info FILE.gradlab | --preset NAME            (a preset: cli_preset.py)
    gradlab presets
    gradlab data list | fetch NAME [--registry FILE]      (gradlab/cli_data.py)
    gradlab sweep (--spec FILE | --preset NAME) --grid F=v1,v2 ... --out DIR  (gradlab/cli_sweep.py)

Errors are one sentence on stderr and exit code 2 (invalid input) or 3 (a diverged run, saved);
never a traceback. Only the window imports Qt; ``export --figure`` draws with matplotlib
(:mod:`gradlab.figures`).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from gradlab._version import __version__

EXIT_OK, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 0, 2, 3, 130
SUBCOMMANDS = ("run", "export", "info", "presets", "data", "sweep")


class UsageError(Exception):
    """Bad input: its message is printed as one sentence, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one sentence, not usage + message
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    """Print ``gradlab: MESSAGE`` on one line (control characters from files escaped)."""
    from gradlab.safeio import printable

    message = printable(" ".join(str(message).split()), 2000)
    print(f"gradlab: {message}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------- parsers
def _gui_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gradlab",
        description="GradLab: see why deep networks are hard to train. "
        f"Subcommands: {', '.join(SUBCOMMANDS)} (gradlab SUBCOMMAND --help).",
    )
    p.add_argument("file", nargs="?", help="a .gradlab session to open")
    p.add_argument("--preset", help="open this preset (see 'gradlab presets')")
    p.add_argument("--run", action="store_true", help="start training at once")
    p.add_argument("--version", action="version", version=f"gradlab {__version__}")
    return p


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gradlab run",
        description="Train headless and save a session; or train a saved session N more steps "
        "into a new file (the source is never changed).",
    )
    p.add_argument("session", nargs="?", help="a .gradlab session to train on")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--preset", help="a preset name (see 'gradlab presets')")
    src.add_argument("--spec", help="a JSON spec file")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument(
        "--steps", type=int, help="training steps (0: the step-0 probe only); with a session: more"
    )
    budget.add_argument("--epochs", type=float, help="passes over the training set")
    p.add_argument("--seed", type=int, help="override the spec's seed")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a spec field, e.g. training.lr=0.01 (repeatable)",
    )
    p.add_argument("--out", required=True, help="the .gradlab session to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _export_parser() -> argparse.ArgumentParser:
    from gradlab.figures import KINDS, STYLES

    p = _Parser(
        prog="gradlab export",
        description="Export statistics, a publication figure or the comparison table of sessions.",
    )
    p.add_argument(
        "file", nargs="+", help="a .gradlab session (several for --figure compare and --table)"
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--stats", metavar="OUT", help="write the probe statistics (.json or .csv)")
    what.add_argument("--figure", metavar="KIND", help=f"draw a figure: {', '.join(KINDS)}")
    what.add_argument(
        "--table",
        metavar="OUT",
        help="write the comparison's numbers (Glorot & Bengio's Table 1 and one row per run) "
        "as .md, .tex or .csv",
    )
    p.add_argument("--out", help="the figure file (.pdf, .svg, .png or .eps)")
    p.add_argument("--step", type=int, help="draw the probe at (or before) this step")
    p.add_argument("--width", type=float, help="inches (default: the style's)")
    p.add_argument("--height", type=float, help="inches (default: the style's)")
    p.add_argument("--dpi", type=float, help="resolution of a PNG (default 300 paper, 150 slides)")
    p.add_argument("--style", choices=STYLES, help="paper (8-9 pt at 3.3 in) or slides")
    p.add_argument("--quantity", help="which quantity or panel (see gradlab.figures)")
    p.add_argument("--layers", help="layers to draw, e.g. 1,2,out (or hidden, all)")
    p.add_argument("--layout", choices=("overlay", "multiples"), help="distributions only")
    p.add_argument("--logx", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--logy", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--title", help="a heading over the figure")
    return p


def _file_parser(prog: str, help_: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, description=help_)
    p.add_argument("file", help="a .gradlab session")
    return p


# ---------------------------------------------------------------------------- commands
def cmd_presets(_args) -> int:
    from gradlab.experiment import presets

    names = presets.names()
    width = max(map(len, names))
    for name in names:
        print(f"{name:<{width}}  {presets.describe(name)}")
    from gradlab.cli_family import print_families

    print_families(width)
    return EXIT_OK


#: a spec file is small: at most this many bytes, nested at most this deep
MAX_SPEC_BYTES = 16 * 2**20
MAX_SPEC_DEPTH = 64


def _read_spec_file(path: str) -> dict:
    """The JSON object in the spec file ``path``: a regular file of at most
    :data:`MAX_SPEC_BYTES`, bounded in depth and numbers (see :func:`gradlab.safeio.load_json`)."""
    from gradlab.safeio import FileRefused, JsonRefused, read_json_file

    try:
        spec = read_json_file(path, MAX_SPEC_BYTES, max_depth=MAX_SPEC_DEPTH)
    except FileRefused as err:
        raise UsageError(err.sentence(path, "spec file").rstrip(".")) from None
    except JsonRefused as err:
        raise UsageError(f"{path} {err.reason}") from None
    if not isinstance(spec, dict):
        raise UsageError(f"{path} must hold a JSON object (a spec), not a {type(spec).__name__}")
    return spec


def _set_value(field: str, text: str):
    """A ``--set`` value: JSON if it parses (``0.01``, ``true``, ``{"norm": 5}``), else text;
    bounded like a spec file."""
    from gradlab.safeio import JsonRefused, load_json

    try:
        return load_json(text, max_depth=MAX_SPEC_DEPTH)
    except JsonRefused as err:
        if "valid JSON" in err.reason:
            return text
        raise UsageError(f"--set {field}: the value {err.reason}") from None


def _load_spec(args) -> dict:
    from gradlab.experiment import presets, set_path
    from gradlab.safeio import json_depth

    spec = presets.load(args.preset) if args.preset else _read_spec_file(args.spec)
    for item in args.set:
        field, eq, value = item.partition("=")
        field = field.strip()
        if not eq or not field:
            raise UsageError(f"--set {item!r} must look like FIELD=VALUE, e.g. training.lr=0.01")
        if field.count(".") + field.count("[") >= MAX_SPEC_DEPTH:
            raise UsageError(f"--set {field[:40]}...: a field path is at most {MAX_SPEC_DEPTH} "
                             "levels deep")
        spec = set_path(spec, field, _set_value(field, value.strip()))
    if json_depth(spec) > MAX_SPEC_DEPTH:
        raise UsageError(f"the spec is nested more than {MAX_SPEC_DEPTH} levels deep")
    if args.seed is not None:
        spec["seed"] = args.seed
    t = spec.setdefault("training", {})
    if t is None:
        t = spec["training"] = {}
    if not isinstance(t, dict):
        from gradlab.errors import SpecError

        raise SpecError("training", f"must be an object (a JSON dict), got {type(t).__name__}")
    if args.steps is not None:
        if args.steps < 0:
            raise UsageError(f"--steps must be >= 0, got {args.steps}")
        t["steps"], t["epochs"] = args.steps, None
    elif args.epochs is not None:
        if not args.epochs > 0:
            raise UsageError(f"--epochs must be > 0, got {args.epochs:g}")
        t["epochs"], t["steps"] = args.epochs, None
    return spec


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, else every 10%)."""

    def __init__(self, total: int, quiet: bool = False):
        self.total = max(total, 1)
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()
        self._last = 0.0
        self._last_decile = -1

    def update(self, step: int, loss: float, rate: float, force: bool = False) -> None:
        if self.quiet:
            return
        now = time.perf_counter()
        frac = min(step / self.total, 1.0)
        if self.tty:
            if not force and now - self._last < 0.2:
                return
            self._last = now
            n = 30
            bar = "#" * int(frac * n) + "." * (n - int(frac * n))
            eta = (self.total - step) / rate if rate > 0 else math.nan
            eta_s = time.strftime("%M:%S", time.gmtime(eta)) if math.isfinite(eta) else "--:--"
            sys.stderr.write(
                f"\r[{bar}] {100 * frac:5.1f}%  step {step:,}/{self.total:,}  "
                f"loss {loss:.4g}  {rate:,.0f} steps/s  eta {eta_s} "
            )
            sys.stderr.flush()
        else:
            decile = int(frac * 10)
            if decile != self._last_decile:
                self._last_decile = decile
                print(
                    f"step {step:,}/{self.total:,} ({100 * frac:.0f}%)  loss {loss:.4g}",
                    file=sys.stderr,
                )

    def close(self) -> None:
        if not self.quiet and self.tty:
            sys.stderr.write("\n")


def _check_folder(out: Path, option: str) -> None:
    """The folder ``out`` goes into must exist and be a folder (checked before any work)."""
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise UsageError(f"{option} {out}: {parent} is a file, not a folder")
    if not parent.exists():
        raise UsageError(f"{option} {out}: the folder {parent} does not exist")


def _continued(args):
    """``gradlab run SESSION --steps N``: the loaded session and the steps to train (the budget
    is raised to fit them)."""
    from gradlab.experiment import load_session

    if args.preset or args.spec:
        raise UsageError("give a session to train on or --preset/--spec for a new run, not both")
    if args.set or args.seed is not None:
        raise UsageError("--set and --seed shape a new run; a session trains on with its own spec")
    if args.steps is None and args.epochs is None:
        raise UsageError(f"say how much more to train {args.session}: give --steps N or --epochs N")
    src = Path(args.session)
    if not src.exists():
        raise UsageError(f"{args.session} does not exist")
    out = Path(args.out)
    if out.exists() and os.path.samefile(src, out):
        raise UsageError(f"--out {args.out} is the session itself; write the longer run elsewhere")
    exp = load_session(src)
    if args.steps is not None:
        if args.steps < 0:
            raise UsageError(f"--steps must be >= 0, got {args.steps}")
        return exp, args.steps
    if not args.epochs > 0:
        raise UsageError(f"--epochs must be > 0, got {args.epochs:g}")
    return exp, max(1, round(args.epochs * exp.steps_per_epoch))


def cmd_run(args) -> int:
    from gradlab.experiment import Experiment
    from gradlab.fileio import interrupts_held, resolve_target
    from gradlab.threads import configure_blas

    if not (args.session or args.preset or args.spec):
        raise UsageError("give --preset NAME, --spec FILE.json or a session to train on")
    if args.preset and not args.session:
        from gradlab.cli_family import is_family, run_family

        if is_family(args.preset):
            return run_family(args, cmd_run)
    out = Path(args.out)
    if out.suffix != ".gradlab":
        raise UsageError(f"--out {args.out} must end in .gradlab")
    _check_folder(out, "--out")
    if out.is_dir():
        raise UsageError(f"--out {args.out} is a folder, not a file")
    if not os.access(out.parent, os.W_OK):
        raise UsageError(f"the folder {out.parent} for --out is not writable")
    try:
        resolve_target(out)  # a read-only file (or a link to one) is never replaced
    except OSError as err:
        raise UsageError(f"--out {args.out} {getattr(err, 'why', err.strerror)}") from None
    configure_blas()
    more = None
    if args.session:
        exp, more = _continued(args)
        if exp.status == "diverged":
            print(f"gradlab: {exp.diverged['message']} Continuing anyway.", file=sys.stderr)
        total = exp.step_count + more
    else:
        exp = Experiment(_load_spec(args))
        total = exp.total_steps
    if total is None:
        raise UsageError("the spec has no step budget: give --steps or --epochs")
    progress = Progress(total, args.quiet or total == 0)
    interrupted = False
    status, message = "done", ""
    try:
        for report in exp.train(more):
            progress.update(
                report.step, report.loss, report.steps_per_sec, force=report.status != "running"
            )
            status, message = report.status, report.message
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        progress.close()  # the error goes on its own line
        raise
    # the final save: a (second) Ctrl-C now waits for it, or the run would be lost
    with interrupts_held() as held:
        progress.close()
        try:
            exp.save(out)
        except OSError as err:
            return _fail(f"{out} could not be saved ({err.strerror or err}); the run is lost.")
    interrupted = interrupted or held.received
    if interrupted:
        print(f"gradlab: interrupted at step {exp.step_count:,}; saved {out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if status == "diverged":
        return _fail(f"{exp.diverged['message']} Saved {out}.", EXIT_DIVERGED)
    if not args.quiet:
        ev = exp.history.evals()
        acc = ev["val_acc"][-1] if len(ev["val_acc"]) else math.nan
        acc_s = f", validation accuracy {acc:.1%}" if math.isfinite(acc) else ""
        print(
            f"saved {out}: {exp.step_count:,} steps, {exp.history.n_probes} probes{acc_s}",
            file=sys.stderr,
        )
        if message and status in ("stopped early", "done"):  # early stopping's last word
            print(f"early stopping: {message}", file=sys.stderr)
        verdict = _verdict(exp)
        if not verdict.healthy:
            print(f"health: {verdict.sentence}", file=sys.stderr)
    return EXIT_OK


def _health_line(exp) -> str:
    v = _verdict(exp)
    if v.healthy:
        return "healthy"
    more = f" (and {len(v.active) - 1} more)" if len(v.active) > 1 else ""
    return f"{v.label} since step {v.step:,}{more}: {v.sentence}"


def _verdict(exp):
    from gradlab.experiment import health

    return health.verdict(exp.history)


def _open_session(path: str):
    from gradlab.experiment import load_session

    return load_session(path)


def _info_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gradlab info",
        description="Describe a session, or a preset: its published and measured numbers.",
    )
    p.add_argument("file", nargs="?", help="a .gradlab session")
    p.add_argument("--preset", metavar="NAME", help="a preset (or family) instead of a session")
    return p


def cmd_info(args) -> int:
    if (args.file is None) == (args.preset is None):
        raise UsageError("gradlab info: give a session FILE or --preset NAME (one of the two)")
    if args.preset is not None:  # what the preset reproduces (gradlab/cli_preset.py)
        from gradlab.cli_preset import info_preset

        print("\n".join(info_preset(args.preset)))
        return EXIT_OK
    from gradlab import session
    from gradlab.experiment.spec.naming import lr_story
    from gradlab.safeio import printable

    def shown(value, limit: int = 200) -> str:  # text from the file: never raw escape codes
        return printable(value, limit)

    manifest = session.read_manifest(args.file)
    exp = _open_session(args.file)
    h = exp.history
    s = exp.spec
    t = s["training"]
    ev = h.evals()
    description = f": {shown(s['description'], 500)}" if s.get("description") else ""
    lines = [
        f"session     {shown(Path(args.file).name)}",
        f"name        {shown(s['name'])}{description}",
        f"saved       {shown(manifest.get('saved', '?'), 40)} by GradLab "
        f"{shown(manifest.get('app_version', '?'), 40)}",
        f"network     {shown(exp.network.describe())} ({exp.network.n_params:,} parameters, "
        f"{s['dtype']})",
        f"data        {shown(s['data']['name'])} ({exp.input_dim} inputs, "
        f"{exp.output_dim} outputs)",
        f"training    {shown(t['optimizer']['name'])} {lr_story(t['lr'], exp.lr_changes)}, "
        f"batch {t['batch_size']}, loss {shown(t['loss'])}",
        f"progress    {exp.step_count:,} steps"
        + (f" of {t['steps']:,}" if t.get("steps") else "")
        + f", {h.n_probes} probes kept, {len(h.events_copy())} events, status {exp.status}",
        "health      " + _health_line(exp),
    ]
    if len(ev["step"]):
        lines.append(
            f"last eval   step {int(ev['step'][-1]):,}: train loss "
            f"{ev['train_loss'][-1]:.4g} acc {ev['train_acc'][-1]:.1%}, validation "
            f"loss {ev['val_loss'][-1]:.4g} acc {ev['val_acc'][-1]:.1%}"
        )
    from gradlab.cli_family import remedy_lines

    lines += remedy_lines(exp)
    print("\n".join(lines))
    return EXIT_OK


def cmd_export(args) -> int:
    if args.stats:
        if len(args.file) > 1:
            raise UsageError("--stats exports one session at a time")
        exp = _open_session(args.file[0])
        from gradlab.experiment.export import write_stats

        out = Path(args.stats)
        _check_folder(out, "--stats")
        try:
            write_stats(exp.history, out, exp.name)
        except ValueError as err:
            raise UsageError(str(err)) from None
        except OSError as err:
            raise UsageError(f"{out} cannot be written ({err.strerror or err})") from None
        return EXIT_OK
    return _export_figure_or_table(args)


def _export_figure_or_table(args) -> int:
    """``--figure`` and ``--table``: drawn with matplotlib (no Qt), rendered in memory and
    written atomically, so a failed write leaves the old file as it was."""
    from gradlab import figures
    from gradlab.figures import FigureError

    table = args.table is not None
    option, target = ("--table", args.table) if table else ("--out", args.out)
    if not table:
        if args.figure not in figures.KINDS:
            raise UsageError(
                f"unknown figure {args.figure!r}: choose from {', '.join(figures.KINDS)}"
            )
        if not args.out:
            raise UsageError("--figure needs --out FILE.pdf, .svg, .png or .eps")
    out = Path(target)
    suffixes = figures.TABLE_FORMATS if table else figures.FORMATS
    if out.is_dir():
        raise UsageError(f"{option} {target} is a folder, not a file")
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"{option} {out.name} must end in {', '.join(suffixes)}")
    _check_folder(out, option)
    several = table or args.figure == "compare"
    if several and len(args.file) < 2:
        what = "--table" if table else "--figure compare"
        raise UsageError(
            f"{what} compares sessions: give two or more (gradlab export A.gradlab B.gradlab "
            f"{what} ...)"
        )
    if not several and len(args.file) > 1:
        raise UsageError(f"--figure {args.figure} draws one session; only compare takes several")
    options = {
        k: getattr(args, k)
        for k in ("width", "height", "dpi", "style", "quantity", "layout", "logx", "logy", "title")
        if getattr(args, k) is not None
    }
    if args.layers is not None:
        options["layers"] = [t.strip() for t in args.layers.split(",") if t.strip()]
        if options["layers"] in (["all"], ["hidden"]):
            options["layers"] = options["layers"][0]
    runs = [_open_session(f) for f in args.file]
    existed = out.exists()
    try:
        if table:
            figures.write_table(runs, out)
        else:
            fig = figures.plot(runs if several else runs[0], args.figure, args.step, **options)
            figures.save(fig, out)
    except FigureError as err:
        raise UsageError(str(err)) from None
    except MemoryError:
        raise UsageError(f"not enough memory to draw {out.name}: make it smaller") from None
    except OSError as err:
        kept = "the file there before is unchanged" if existed else "nothing was written"
        raise UsageError(f"{out} cannot be written ({err.strerror or err}); {kept}") from None
    return EXIT_OK


def _window_preflight() -> None:
    """Before Qt starts (gradlab/app/launch.py): no display, a missing X library or an X server that
    does not answer is one sentence and exit 2, not Qt's abort. Then a splash shows while the
    window is built (GRADLAB_QUIT_WHEN_SHOWN: the packaging smoke checks' hook)."""
    from gradlab.app import launch

    problem = launch.display_problem()
    if problem:
        raise UsageError(problem)
    launch.prepare_window()  # a splash at once; the window reuses its QApplication


def cmd_gui(args) -> int:
    if args.file:
        from gradlab.safeio import FileRefused, check_regular

        try:
            check_regular(args.file)  # a device, FIFO or socket is refused by name
        except FileRefused as err:
            raise UsageError(err.sentence(args.file, "session file").rstrip(".")) from None
    if args.preset:
        from gradlab.experiment import presets

        presets.load(args.preset)  # an unknown name fails here, listing the presets
    _window_preflight()
    from gradlab.app.main import run_app

    return run_app(args.file, args.preset, args.run)


# ---------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Run the command; every error is one sentence on stderr, exit 2 (never a traceback).

    Bad input of any kind (a spec, a session, a data file, a value) is an
    :class:`~gradlab.errors.InputError`. What escapes a reader anyway (nesting too deep for
    Python, a number out of range, memory running out, a bug) still becomes one sentence;
    ``GRADLAB_DEBUG=1`` shows the traceback instead.
    """
    from gradlab.errors import InputError

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            cmd, rest = argv[0], argv[1:]
            if cmd == "data":  # gradlab data list | fetch NAME (gradlab/cli_data.py)
                from gradlab.cli_data import cmd_data

                return cmd_data(rest)
            if cmd == "sweep":  # gradlab sweep ... (gradlab/cli_sweep.py)
                from gradlab.cli_sweep import cmd_sweep

                return cmd_sweep(rest)
            if cmd == "run":
                return cmd_run(_run_parser().parse_args(rest))
            if cmd == "export":
                return cmd_export(_export_parser().parse_args(rest))
            if cmd == "info":
                return cmd_info(_info_parser().parse_args(rest))
            return cmd_presets(
                _Parser(prog="gradlab presets", description="List the presets.").parse_args(rest)
            )
        return cmd_gui(_gui_parser().parse_args(argv))
    except (UsageError, InputError) as err:
        return _fail(str(err))
    except SystemExit as err:  # --help / --version
        return int(err.code or 0) if not isinstance(err.code, str) else _fail(err.code)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # `gradlab presets | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as err:  # the last line of defence: still one sentence
        if os.environ.get("GRADLAB_DEBUG"):
            raise
        return _fail(_unexpected(err))


def _unexpected(err: Exception) -> str:
    """One sentence for an error no reader turned into one (see :func:`errors.sentence`)."""
    from gradlab.errors import sentence

    text = sentence(err)
    if isinstance(err, MemoryError):
        text += f"; GradLab may use {_budget_phrase()}"
    return text


def _budget_phrase() -> str:
    from gradlab.safeio import format_bytes, memory_budget

    try:
        b = memory_budget()
    except Exception:  # a bad GRADLAB_MAX_MEMORY: the memory error comes first
        return "what GRADLAB_MAX_MEMORY allows"
    return f"{format_bytes(b.nbytes)} ({b.source})"


if __name__ == "__main__":
    sys.exit(main())
