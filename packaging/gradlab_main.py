"""The frozen app's entry point: exactly the ``gradlab`` command (packaging/gradlab.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of a frozen app (sweeps) start here too
    if sys.argv[1:2] == ["--training-process"]:  # gradlab.experiment.remote's child
        from gradlab.experiment.remote import child_main

        sys.exit(child_main())
    from gradlab.cli import main

    sys.exit(main())
