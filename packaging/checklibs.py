"""Check the frozen app's shared libraries: ``python checklibs.py dist/gradlab``.

Every ELF file in the folder is resolved with ``ldd`` the way the app loads it (the bundle's
``_internal`` first). A Qt, PySide or Python library that resolves nowhere is an error (the
bundle is broken); another library that resolves nowhere is one the build machine lacked, so
the user's system must provide it (printed, with the libraries taken from the system).
Exit 1 on an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BUNDLED = re.compile(r"^lib(Qt6|pyside6|shiboken6|python3)")


def elf_files(root: Path) -> list[Path]:
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]).resolve()
    internal = root / "_internal"
    env = dict(os.environ, LD_LIBRARY_PATH=str(internal))
    missing: dict[str, set[str]] = {}
    system: set[str] = set()
    files = elf_files(root)
    for path in files:
        out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            name, _, where = line.strip().partition(" => ")
            if where.startswith("not found"):
                missing.setdefault(name, set()).add(str(path.relative_to(root)))
            elif where.startswith("/") and not where.startswith(str(root)):
                system.add(name)
    broken = sorted(n for n in missing if BUNDLED.match(n))
    print(f"{len(files)} binaries; from the system: {', '.join(sorted(system))}")
    for name in sorted(set(missing) - set(broken)):
        users = sorted(missing[name])
        print(f"not in the bundle, from the user's system (absent here): {name} "
              f"(for {users[0]}{' and others' if len(users) > 1 else ''})")
    for name in broken:
        print(f"ERROR: {name} is missing from the bundle (needed by {sorted(missing[name])[0]})",
              file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
