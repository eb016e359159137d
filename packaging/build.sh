#!/usr/bin/env bash
# Build GradLab as a one-folder desktop app (PyInstaller), check it and measure it:
#
#   packaging/build.sh            -> dist/gradlab/gradlab (+ install-desktop.sh, uninstall-desktop.sh)
#
# The build tools (packaging/build-requirements.txt) and GradLab itself (not editable, with its
# dependencies from the package registry) go into a throw-away venv, never the project's .venv.
# Then: the bundle's libraries are checked, packaging/smoke.sh runs the frozen app's smoke checks,
# and the folder size and the time to a visible window are printed (targets: 250 MB, 3 s).
#
# Environment: GRADLAB_DIST (output folder, default dist/), GRADLAB_BUILD_VENV (a venv to keep
# and reuse between builds, for developers; default: a fresh one, deleted afterwards).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
dist=$(mkdir -p "${GRADLAB_DIST:-$repo/dist}" && cd "${GRADLAB_DIST:-$repo/dist}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/gradlab-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
venv=${GRADLAB_BUILD_VENV:-$work/venv}
export PIP_DISABLE_PIP_VERSION_CHECK=1
start=$(date +%s)

echo "== build tools and GradLab into $venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
# install from a copy of the source files (tracked and new, not ignored): setuptools builds in
# the source tree, and a stale build/ or dist/ there must not slip into the app
"$venv/bin/python" - "$repo" "$work/src" <<'PY'
import shutil, subprocess, sys
from pathlib import Path
repo, dest = Path(sys.argv[1]), Path(sys.argv[2])
listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others",
                         "--exclude-standard"], capture_output=True, check=True).stdout
for name in filter(None, listed.decode().split("\0")):
    if (repo / name).is_file():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, dest / name)
PY
"$venv/bin/pip" install -q -r "$repo/packaging/build-requirements.txt" "$work/src"

echo "== PyInstaller"
rm -rf "$dist/gradlab"
# run from the work folder: the analysis must import the installed gradlab, not the source tree
(cd "$work" && "$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$dist" --workpath "$work/pyinstaller" "$repo/packaging/gradlab.spec")
app=$dist/gradlab
# Python's own binaries may carry debug information (a pyenv-built Python: 20 MB of it); drop
# only that, and only from them (libraries repaired by auditwheel are not stripped)
if command -v strip >/dev/null; then
  find "$app/_internal" -maxdepth 1 -name 'libpython3*.so*' -type f -exec strip --strip-debug {} +
  find "$app/_internal" -path '*/lib-dynload/*.so' -type f -exec strip --strip-debug {} +
fi
# desktop integration travels with the app: the install scripts beside the executable
mkdir -p "$app/desktop"
cp "$repo/packaging/gradlab.desktop" "$repo/packaging/gradlab-mime.xml" \
   "$repo/resources/icons/gradlab.svg" "$app/desktop/"
cp "$repo/packaging/install-desktop.sh" "$repo/packaging/uninstall-desktop.sh" "$app/"
build_s=$(( $(date +%s) - start ))

echo "== libraries"
"$venv/bin/python" "$repo/packaging/checklibs.py" "$app"

echo "== smoke checks"
PYTHON="$venv/bin/python" "$repo/packaging/smoke.sh" "$app"

echo "== size and start time"
size_mb=$(du -sm "$app" | cut -f1)
"$venv/bin/python" "$repo/packaging/startup_time.py" "$app/gradlab" --runs 3 >"$work/start.txt"
echo
echo "GradLab frozen: $app/gradlab"
echo "  folder size      ${size_mb} MB (target < 250 MB)"
sed 's/^/  /' "$work/start.txt" | grep -E "splash|window"
echo "  build time       ${build_s} s (venv, install, PyInstaller); total $(( $(date +%s) - start )) s"
[ "$size_mb" -lt 250 ] || { echo "the folder is over the 250 MB target" >&2; exit 1; }
