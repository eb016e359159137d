"""Temporary launcher (the full command line comes next)."""
import sys


def main(argv=None):
    from gradlab.app.main import run_app

    argv = sys.argv[1:] if argv is None else argv
    return run_app(argv[0] if argv else None)
