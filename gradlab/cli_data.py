"""``gradlab data``: the datasets GradLab downloads on demand.

::

    gradlab data list  [--registry FILE]
    gradlab data fetch NAME [NAME ...] [--registry FILE] [--retries N] [--quiet]

``list`` shows each dataset of the registry, its download size and whether it is in the data
folder. ``fetch`` downloads, verifies and keeps it, with a progress bar on stderr; fetching a
dataset that is there already checks it and downloads nothing. ``GRADLAB_DATA_DIR`` moves the
data folder, ``GRADLAB_DATA_REGISTRY`` (or ``--registry``) replaces the registry. Errors are one
sentence and exit code 2 (they reach :func:`gradlab.cli.main` as DataError / UsageError).
"""

from __future__ import annotations

import sys
import time

from gradlab.cli import EXIT_OK, _Parser


def _parser() -> _Parser:
    p = _Parser(prog="gradlab data",
                description="The datasets GradLab downloads on demand (MNIST, Fashion-MNIST, "
                            "CIFAR-10): list them, fetch them.")
    sub = p.add_subparsers(dest="action", required=True, metavar="{list,fetch}")
    ls = sub.add_parser("list", help="each dataset, its size and whether it is downloaded",
                        description="List the downloadable datasets.")
    ls.add_argument("--registry", metavar="FILE",
                    help="a dataset registry (JSON) to use instead of GradLab's")
    fe = sub.add_parser("fetch", help="download and verify a dataset",
                        description="Download a dataset, check its SHA-256 and keep it.")
    fe.add_argument("names", nargs="+", metavar="NAME", help="a dataset (see 'gradlab data list')")
    fe.add_argument("--registry", metavar="FILE",
                    help="a dataset registry (JSON) to use instead of GradLab's")
    fe.add_argument("--retries", type=int, default=2,
                    help="rounds of the mirrors to try again after network errors (default 2)")
    fe.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def cmd_data(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.action == "list":
        return cmd_list(args)
    return cmd_fetch(args)


def cmd_list(args) -> int:
    from gradlab.data import catalog

    rows = catalog.statuses(args.registry)
    if not rows:
        print("The dataset registry lists no datasets.")
        return EXIT_OK
    width = max(len(r.name) for r in rows)
    for r in rows:
        state = "downloaded" if r.cached else "not downloaded"
        print(f"{r.name:<{width}}  {catalog.human_size(r.download_size):>7}  {state:<14}  "
              f"{r.title}")
    root = catalog.data_dir()
    print(f"\ndata folder: {root} (GRADLAB_DATA_DIR moves it)")
    reg = catalog.registry_path(args.registry)
    if reg != catalog.shipped_path():
        print(f"registry:    {reg}")
    return EXIT_OK


def cmd_fetch(args) -> int:
    from gradlab.cli import UsageError
    from gradlab.data import catalog, download

    if args.retries < 0:
        raise UsageError(f"--retries must be >= 0, got {args.retries}")
    cat = catalog.load(args.registry)
    entries = [cat.get(name) for name in args.names]   # every name checked before any download
    for entry in entries:
        bar = Bar(entry.name, args.quiet)
        try:
            result = download.fetch(entry.name, registry=cat, progress=bar.update,
                                    retries=args.retries)
        finally:
            bar.close()
        if args.quiet:
            continue
        if result.was_cached:
            print(f"{entry.name} is already downloaded and verified in {result.folder}; "
                  f"nothing to fetch.", file=sys.stderr)
        else:
            print(f"{entry.name}: {catalog.human_size(result.downloaded_bytes)} downloaded and "
                  f"verified (SHA-256) in {result.folder}.", file=sys.stderr)
    return EXIT_OK


class Bar:
    """A one-line progress bar on stderr: redrawn in place on a terminal, else a line per 10%."""

    WIDTH = 30

    def __init__(self, name: str, quiet: bool = False):
        self.name, self.quiet = name, quiet
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._decile: tuple[str, int] | None = None
        self._drawn = False

    def update(self, p) -> None:
        if self.quiet:
            return
        from gradlab.data.catalog import human_size

        frac = p.fraction
        what = "downloading" if p.stage == "download" else "unpacking"
        if self.tty:
            now = time.monotonic()
            if now - self._last < 0.1 and p.done < p.total:
                return
            self._last = now
            n = int(frac * self.WIDTH)
            sys.stderr.write(f"\r{self.name} {what} [{'#' * n}{'.' * (self.WIDTH - n)}] "
                             f"{100 * frac:3.0f}%  {human_size(p.done)} of "
                             f"{human_size(p.total)}  {p.filename:<28.28}")
            sys.stderr.flush()
            self._drawn = True
        else:
            decile = (p.stage, int(frac * 10))
            if decile != self._decile:
                self._decile = decile
                print(f"{self.name}: {what} {100 * frac:.0f}% of {human_size(p.total)}",
                      file=sys.stderr)

    def close(self) -> None:
        if self._drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self._drawn = False


__all__ = ["cmd_data"]
