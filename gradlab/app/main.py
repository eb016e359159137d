"""Start the window: ``gradlab [FILE.gradlab] [--preset NAME] [--run]``."""

from __future__ import annotations

import sys

from gradlab.threads import configure_blas


def run_app(path: str | None = None, preset: str | None = None, run: bool = False) -> int:
    """Open the window (with a session file, a preset, or the default experiment); returns the
    application's exit code."""
    configure_blas()
    from gradlab.app.window import MainWindow, main_window_app

    app = main_window_app()
    start = ("file", path) if path else ("preset", preset) if preset else None
    if start is None:
        from gradlab.experiment import presets

        start = ("preset", presets.DEFAULT)
    win = MainWindow(start=start, run_at_start=run)
    win.show()
    code = app.exec()
    from gradlab.app.worker import running_threads

    for thread in running_threads():  # (a build or save the window let finish on its own)
        thread.wait()
    return code


if __name__ == "__main__":
    sys.exit(run_app(*sys.argv[1:2]))
