#!/usr/bin/env bash
# Smoke checks of the frozen app: packaging/smoke.sh dist/gradlab
#
# Runs every subcommand of the frozen gradlab as a user would (version, presets, run, info,
# export, data list and a data fetch from a loopback server), opens the window offscreen (and on
# a virtual X server when Xvfb is installed) and quits it once shown (GRADLAB_QUIT_WHEN_SHOWN),
# and checks the no-display case and a bad input end in one sentence and exit code 2.
# PYTHON (default: python3) must have numpy: it serves the loopback dataset files.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
appdir=$(cd "${1:?usage: smoke.sh APP_FOLDER}" && pwd)
app=$appdir/gradlab
python=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gradlab-smoke.XXXXXX")
xvfb_pid=""
trap '[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# a clean environment: no display unless a check gives one, the user's data never touched
unset DISPLAY WAYLAND_DISPLAY
export QT_QPA_PLATFORM=offscreen GRADLAB_DATA_DIR=$tmp/data HOME=$tmp/home
mkdir -p "$HOME"
passed=0; failed=0

# check NAME COMMAND...: the command must exit 0
check() {
  local name=$1; shift
  if "$@" >"$tmp/out" 2>"$tmp/err"; then
    passed=$((passed + 1)); echo "ok    $name"
  else
    failed=$((failed + 1)); echo "FAIL  $name (exit $?)"; tail -n 5 "$tmp/out" "$tmp/err" | sed 's/^/      /'
  fi
}
# expect NAME PATTERN: the last command's stdout+stderr must match the extended regex PATTERN
expect() {
  if cat "$tmp/out" "$tmp/err" | grep -Eq -- "$2"; then
    passed=$((passed + 1)); echo "ok    $1"
  else
    failed=$((failed + 1)); echo "FAIL  $1 (no /$2/ in the output)"; tail -n 5 "$tmp/out" "$tmp/err" | sed 's/^/      /'
  fi
}
# refuses NAME COMMAND...: exit code 2 and exactly one line on stderr, starting "gradlab: "
refuses() {
  local name=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err"; local code=$?
  if [ "$code" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^gradlab: ' "$tmp/err"; then
    passed=$((passed + 1)); echo "ok    $name"
  else
    failed=$((failed + 1)); echo "FAIL  $name (exit $code)"; head -n 5 "$tmp/err" | sed 's/^/      /'
  fi
}

echo "smoke checks of $app"
check "gradlab --version" "$app" --version
expect "  prints the version" '^gradlab [0-9]+\.[0-9]+'
check "gradlab --help" "$app" --help
check "gradlab presets" "$app" presets
expect "  lists the spiral preset" '^spiral '
check "gradlab run --preset spiral --steps 20" "$app" run --preset spiral --steps 20 --out "$tmp/x.gradlab"
check "  wrote x.gradlab" test -s "$tmp/x.gradlab"
check "gradlab info" "$app" info "$tmp/x.gradlab"
expect "  describes the session" 'progress +20 steps'
check "gradlab export --stats" "$app" export "$tmp/x.gradlab" --stats "$tmp/x.csv"
check "  wrote the statistics" grep -q act_std "$tmp/x.csv"
check "gradlab export --figure (SVG)" "$app" export "$tmp/x.gradlab" --figure distributions --out "$tmp/x.svg"
check "  wrote an SVG" grep -q '<svg' "$tmp/x.svg"
if [ -d "$appdir/_internal/matplotlib" ]; then  # figures through matplotlib: every format
  check "gradlab export --figure (PDF, matplotlib)" "$app" export "$tmp/x.gradlab" --figure distributions --out "$tmp/x.pdf"
  check "  wrote a PDF" grep -q '^%PDF' "$tmp/x.pdf"
  check "gradlab export --figure (PNG, matplotlib)" "$app" export "$tmp/x.gradlab" --figure distributions --out "$tmp/x.png"
  check "  wrote a PNG" grep -q 'PNG' "$tmp/x.png"
fi
check "gradlab data list" "$app" data list
expect "  lists MNIST" '^mnist '
check "gradlab data fetch (loopback server)" "$python" - "$app" "$tmp" "$repo" <<'PY'
import subprocess, sys
from pathlib import Path
app, tmp, repo = sys.argv[1:]
sys.path.insert(0, repo)
from tests import datasets_loopback as lb
with lb.serve() as server:
    reg = lb.write_registry(Path(tmp) / "registry.json", lb.publish(server))
    for cmd in (["data", "fetch", "mnist", "--quiet"], ["data", "list"]):
        r = subprocess.run([app, *cmd, "--registry", str(reg)], capture_output=True, text=True,
                           timeout=300)
        print(r.stdout, r.stderr)
        if r.returncode != 0:
            sys.exit(r.returncode)
    assert any(line.startswith("mnist") and " downloaded" in line for line in r.stdout.splitlines())
PY
check "the training process of the frozen app trains a stretch" "$python" - "$app" "$repo" <<'PY'
import sys
app, repo = sys.argv[1:]
sys.path.insert(0, repo)
from gradlab.experiment import Experiment, presets
from gradlab.experiment.remote import RemoteRun, TrainingProcess
spec = presets.load("spiral")
spec["training"]["steps"] = 300
proc = TrainingProcess([app, "--training-process"])
try:
    exp = Experiment(spec)
    run = RemoteRun(exp, proc)
    assert run.wait_ready(120), run.why_here
    for _ in run:
        pass
    assert exp.step_count == 300 and exp.status == "done", (exp.step_count, exp.status)
    print("trained in", proc.command)
finally:
    proc.close()
PY
check "the window opens offscreen and quits" env GRADLAB_QUIT_WHEN_SHOWN=0 timeout 120 "$app"
expect "  it was shown" 'window shown at'
check "the window opens a session" env GRADLAB_QUIT_WHEN_SHOWN=0 timeout 120 "$app" "$tmp/x.gradlab"
refuses "no display: one sentence, exit 2" env -u QT_QPA_PLATFORM "$app"
refuses "a bad preset: one sentence, exit 2" "$app" run --preset no-such-preset --out "$tmp/y.gradlab"
refuses "a foreign file: one sentence, exit 2" "$app" info "$tmp/x.csv"
if command -v Xvfb >/dev/null; then
  # a free display number, chosen by Xvfb and written to fd 3 once it is ready
  Xvfb -displayfd 3 -screen 0 1280x800x24 -nolisten tcp 3>"$tmp/display" >/dev/null 2>&1 &
  xvfb_pid=$!
  for _ in $(seq 100); do [ -s "$tmp/display" ] && break; sleep 0.1; done
  display=:$(tr -d '[:space:]' <"$tmp/display")
  check "the window opens on X11 (Xvfb) and quits" env DISPLAY="$display" QT_QPA_PLATFORM=xcb GRADLAB_QUIT_WHEN_SHOWN=0 timeout 120 "$app"
  expect "  it was shown" 'window shown at'
  refuses "an X display that does not answer: one sentence, exit 2" env -u QT_QPA_PLATFORM DISPLAY=:99999 "$app"
else
  echo "(no Xvfb here: the window was checked offscreen only)"
fi
echo "smoke: $passed passed, $failed failed"
[ "$failed" = 0 ]
