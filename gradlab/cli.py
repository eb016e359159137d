"""The ``gradlab`` command.

::

    gradlab [FILE.gradlab] [--preset NAME] [--run]      open the window
    gradlab run (--preset NAME | --spec FILE.json) [--steps N | --epochs N] [--seed S]
                [--set training.lr=0.01 ...] --out FILE.gradlab
    gradlab export FILE.gradlab --stats OUT.json|OUT.csv
    gradlab export FILE.gradlab --figure VIEW --out fig.png|svg [--step N]
    gradlab info FILE.gradlab
    gradlab presets
    gradlab data list | fetch NAME [--registry FILE]      (gradlab/cli_data.py)
    gradlab sweep (--spec FILE | --preset NAME) --grid F=v1,v2 ... --out DIR  (gradlab/cli_sweep.py)

Errors are one sentence on stderr and exit code 2 (invalid input) or 3 (a diverged run, saved);
never a traceback. Only the window and ``export --figure`` import Qt.
"""

from __future__ import annotations

import argparse
import json
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
    message = " ".join(str(message).split())
    print(f"gradlab: {message}", file=sys.stderr)
    return code


# ---------------------------------------------------------------------------- parsers
def _gui_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="gradlab",
        description="GradLab: see why deep networks are hard to train. "
        "Subcommands: run, export, info, presets, data (gradlab SUBCOMMAND --help).",
    )
    p.add_argument("file", nargs="?", help="a .gradlab session to open")
    p.add_argument("--preset", help="open this preset (see 'gradlab presets')")
    p.add_argument("--run", action="store_true", help="start training at once")
    p.add_argument("--version", action="version", version=f"gradlab {__version__}")
    return p


def _run_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gradlab run", description="Train headless and save a session.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a preset name (see 'gradlab presets')")
    src.add_argument("--spec", help="a JSON spec file")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--steps", type=int, help="training steps (0: the step-0 probe only)")
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
    p = _Parser(prog="gradlab export", description="Export statistics or a figure of a session.")
    p.add_argument("file", help="a .gradlab session")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--stats", metavar="OUT", help="write the probe statistics (.json or .csv)")
    what.add_argument(
        "--figure",
        metavar="VIEW",
        help="render a view: distributions, profile, over_time, heatmaps, "
        "training, boundary, compare, or dashboard",
    )
    p.add_argument("--out", help="the figure file (.png or .svg)")
    p.add_argument("--step", type=int, help="draw the probe at (or before) this step")
    p.add_argument("--width", type=int, default=1600, help="pixels (default 1600)")
    p.add_argument("--height", type=int, default=1000, help="pixels (default 1000)")
    p.add_argument("--dpi", type=int, help="DPI written into a PNG")
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
    return EXIT_OK


def _load_spec(args) -> dict:
    from gradlab.experiment import presets, set_path
    from gradlab.experiment.spec import parse_value

    if args.preset:
        spec = presets.load(args.preset)
    else:
        path = Path(args.spec)
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{args.spec} does not exist") from None
        except IsADirectoryError:
            raise UsageError(f"{args.spec} is a folder, not a spec file") from None
        except json.JSONDecodeError as err:
            raise UsageError(
                f"{args.spec} is not valid JSON (line {err.lineno}: {err.msg})"
            ) from None
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"{args.spec} cannot be read ({err})") from None
        if not isinstance(spec, dict):
            raise UsageError(
                f"{args.spec} must hold a JSON object (a spec), not a {type(spec).__name__}"
            )
    for item in args.set:
        field, eq, value = item.partition("=")
        if not eq or not field:
            raise UsageError(f"--set {item!r} must look like FIELD=VALUE, e.g. training.lr=0.01")
        spec = set_path(spec, field.strip(), parse_value(value.strip()))
    if args.seed is not None:
        spec["seed"] = args.seed
    t = spec.setdefault("training", {})
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


def cmd_run(args) -> int:
    from gradlab.experiment import Experiment
    from gradlab.threads import configure_blas

    out = Path(args.out)
    if out.suffix != ".gradlab":
        raise UsageError(f"--out {args.out} must end in .gradlab")
    _check_folder(out, "--out")
    if out.is_dir():
        raise UsageError(f"--out {args.out} is a folder, not a file")
    if not os.access(out.parent, os.W_OK):
        raise UsageError(f"the folder {out.parent} for --out is not writable")
    configure_blas()
    exp = Experiment(_load_spec(args))
    total = exp.total_steps
    if total is None:
        raise UsageError("the spec has no step budget: give --steps or --epochs")
    progress = Progress(total, args.quiet or total == 0)
    interrupted = False
    status = "done"
    try:
        for report in exp.train():
            progress.update(
                report.step, report.loss, report.steps_per_sec, force=report.status != "running"
            )
            status = report.status
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
    try:
        exp.save(out)
    except OSError as err:
        return _fail(f"{out} could not be saved ({err.strerror or err}); the run is lost.")
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
    return EXIT_OK


def _open_session(path: str):
    from gradlab.experiment import load_session

    return load_session(path)


def cmd_info(args) -> int:
    from gradlab import session

    manifest = session.read_manifest(args.file)
    exp = _open_session(args.file)
    h = exp.history
    s = exp.spec
    t = s["training"]
    ev = h.evals()
    lines = [
        f"session     {Path(args.file).name}",
        f"name        {s['name']}" + (f": {s['description']}" if s.get("description") else ""),
        f"saved       {manifest.get('saved', '?')} by GradLab {manifest.get('app_version', '?')}",
        f"network     {exp.network.describe()} ({exp.network.n_params:,} parameters, {s['dtype']})",
        f"data        {s['data']['name']} ({exp.input_dim} inputs, {exp.output_dim} outputs)",
        f"training    {t['optimizer']['name']} lr {t['lr']:g}, batch {t['batch_size']}, "
        f"loss {t['loss']}",
        f"progress    {exp.step_count:,} steps"
        + (f" of {t['steps']:,}" if t.get("steps") else "")
        + f", {h.n_probes} probes kept, {len(h.events_copy())} events, status {exp.status}",
    ]
    if len(ev["step"]):
        lines.append(
            f"last eval   step {int(ev['step'][-1]):,}: train loss "
            f"{ev['train_loss'][-1]:.4g} acc {ev['train_acc'][-1]:.1%}, validation "
            f"loss {ev['val_loss'][-1]:.4g} acc {ev['val_acc'][-1]:.1%}"
        )
    print("\n".join(lines))
    return EXIT_OK


def cmd_export(args) -> int:
    exp = _open_session(args.file)
    if args.stats:
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
    if not args.out:
        raise UsageError("--figure needs --out FILE.png or FILE.svg")
    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".svg"):
        raise UsageError(f"--out {args.out} must end in .png or .svg")
    _check_folder(out, "--out")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import qInstallMessageHandler

    from gradlab.app import export as figures
    from gradlab.app import theme
    from gradlab.app.model import RunModel
    from gradlab.app.window import main_window_app

    def quiet(_mode, _context, message):  # the offscreen platform's chatter is not for users
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = main_window_app()
    theme.apply("light", app)
    model = RunModel.from_experiment(exp, run_id=1)  # (a session whose data is gone too)
    try:
        figures.render_figure(
            model,
            args.figure,
            out,
            step=args.step,
            width=args.width,
            height=args.height,
            dpi=args.dpi,
        )
    except ValueError as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"{out} cannot be written ({err.strerror or err})") from None
    return EXIT_OK


def cmd_gui(args) -> int:
    if args.file:
        path = Path(args.file)
        if not path.exists():
            raise UsageError(f"{args.file} does not exist")
        if path.is_dir():
            raise UsageError(f"{args.file} is a folder, not a session file")
    if args.preset:
        from gradlab.experiment import presets

        presets.load(args.preset)  # an unknown name fails here, listing the presets
    from gradlab.app.main import run_app

    return run_app(args.file, args.preset, args.run)


# ---------------------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    from gradlab.errors import DataError, SessionError, SpecError

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
                return cmd_info(
                    _file_parser("gradlab info", "Describe a session.").parse_args(rest)
                )
            return cmd_presets(
                _Parser(prog="gradlab presets", description="List the presets.").parse_args(rest)
            )
        return cmd_gui(_gui_parser().parse_args(argv))
    except (UsageError, SpecError, SessionError, DataError) as err:
        return _fail(str(err))
    except SystemExit as err:  # --help / --version
        return int(err.code or 0) if not isinstance(err.code, str) else _fail(err.code)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # `gradlab presets | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
