"""Hostile inputs for the tests: sessions, specs and data files as an attacker would craft them,
and a runner that starts ``gradlab`` under memory and CPU limits and reports what a user sees.

The builders write small files (a few MB at most) that claim or inflate to gigabytes: zip members
are written raw, so a "3 GiB" member costs a few kilobytes of repeated deflate blocks and no time.
"""

from __future__ import annotations

import atexit
import gzip
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GiB = 2**30
MiB = 2**20

#: what a case may use at most: address space (the process is killed or gets MemoryError above
#: it), CPU seconds and wall-clock seconds; and the peak resident memory the tests accept
AS_LIMIT = 1536 * MiB
CPU_LIMIT = 20
WALL_LIMIT = 60
RSS_LIMIT = 600 * MiB


# ------------------------------------------------------------------------------------ running
@dataclass
class Outcome:
    """What ``gradlab ARGS`` did: exit code, output, peak resident memory (bytes), seconds."""

    code: int
    stdout: str
    stderr: str
    peak_rss: int
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


#: the small Python process that run_limited starts: it sets the limits, starts the case and
#: reports the case's own exit code and peak memory. (A child forked straight from pytest would
#: report pytest's resident memory at the fork as its own peak: Linux keeps the larger of the old
#: and the new image's high-water mark across exec.)
_HOP = r"""
import json, os, resource, sys
result, as_limit, cpu, argv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(result, "w") as f:
    json.dump({"code": os.waitstatus_to_exitcode(status), "rss": usage.ru_maxrss * 1024}, f)
"""


def run_limited(argv: list[str], cwd: Path, env: dict | None = None,
                wall: float = WALL_LIMIT, cpu: int = CPU_LIMIT) -> Outcome:
    """Run ``argv`` in ``cwd`` under :data:`AS_LIMIT` and ``cpu`` seconds of CPU (a hang is cut
    off after ``wall`` seconds); its own peak resident memory comes from ``wait4`` in a small
    go-between process (see :data:`_HOP`)."""
    full_env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-S", "-c", _HOP, str(result), str(AS_LIMIT),
                                 str(cpu), *argv], cwd=cwd, env=full_env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        try:
            proc.wait(wall)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            raise AssertionError(f"{' '.join(argv)[:200]} ran for over {wall} s") from None
        seconds = time.monotonic() - t0
        done = json.loads(result.read_text())
        out.seek(0)
        err.seek(0)
        return Outcome(done["code"], out.read().decode("utf-8", "replace"),
                       err.read().decode("utf-8", "replace"), done["rss"], seconds)


def run_gradlab(*args: str, cwd: Path, env: dict | None = None) -> Outcome:
    """``gradlab ARGS`` in its own process under the limits (see :func:`run_limited`), forked
    from a server that imported GradLab once (about 0.3 s less per case than a fresh Python)."""
    return _fork_server().run(list(args), cwd, env or {})


class _ForkServer:
    """A Python process that imports ``gradlab.cli`` once, then forks one child per case: the
    child sets the limits, moves to the case's folder and environment, sends stdout and stderr
    to files and runs ``gradlab.cli.main(argv)``; ``wait4`` gives its exit code and peak
    memory. A case that outlives :data:`WALL_LIMIT` is killed and reported."""

    CODE = r"""
import json, os, resource, sys
import gradlab.cli, gradlab.experiment, gradlab.session, gradlab.safeio  # numpy and all below Qt
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (req["as"], req["as"]))
            resource.setrlimit(resource.RLIMIT_CPU, (req["cpu"], req["cpu"]))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            os.chdir(req["cwd"])
            os.environ.update(req["env"])
            for fd, path in ((1, req["out"]), (2, req["err"])):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(f, fd)
                os.close(f)
            code = gradlab.cli.main(req["argv"])
        except BaseException as exc:
            import traceback
            traceback.print_exc()
            code = 99
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 98)
    print(json.dumps({"pid": pid}), flush=True)
    _, status, usage = os.wait4(pid, 0)
    print(json.dumps({"code": os.waitstatus_to_exitcode(status),
                      "rss": usage.ru_maxrss * 1024}), flush=True)
"""

    def __init__(self):
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        self.proc = subprocess.Popen([sys.executable, "-c", self.CODE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env, text=True, bufsize=1)
        self._buffer = ""

    def _line(self, timeout: float) -> dict | None:
        import select

        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while "\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536).decode()
            if not chunk:
                raise AssertionError("the fork server of tests/hostile.py died")
            self._buffer += chunk
        line, self._buffer = self._buffer.split("\n", 1)
        return json.loads(line)

    def run(self, argv: list[str], cwd: Path, env: dict) -> Outcome:
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp) / "out", Path(tmp) / "err"
            req = {"argv": argv, "cwd": str(cwd), "env": env, "as": AS_LIMIT, "cpu": CPU_LIMIT,
                   "out": str(out), "err": str(err)}
            t0 = time.monotonic()
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            pid = self._line(WALL_LIMIT)["pid"]
            done = self._line(WALL_LIMIT)
            if done is None:
                os.kill(pid, 9)
                self._line(WALL_LIMIT)
                raise AssertionError(f"gradlab {' '.join(argv)[:200]} ran for over "
                                     f"{WALL_LIMIT} s")
            return Outcome(done["code"], out.read_text("utf-8", "replace"),
                           err.read_text("utf-8", "replace"), done["rss"],
                           time.monotonic() - t0)


    def close(self) -> None:
        self.proc.stdin.close()  # the server's loop ends
        self.proc.wait()
        self.proc.stdout.close()


_SERVER: list[_ForkServer] = []


def _fork_server() -> _ForkServer:
    if not _SERVER or _SERVER[0].proc.poll() is not None:
        _SERVER[:] = [_ForkServer()]
        atexit.register(_SERVER[0].close)
    return _SERVER[0]


def run_python(code: str, cwd: Path, env: dict | None = None) -> Outcome:
    """``python -c CODE`` under the limits (see :func:`run_limited`)."""
    return run_limited([sys.executable, "-c", code], cwd, env)


def make_session(path: Path, steps: int = 20, **spec) -> Path:
    """A real session: a small spiral run paused after ``steps`` of its ``2 * steps``
    (``spec`` overrides keys)."""
    from gradlab.experiment import Experiment

    base = {"name": "good", "data": {"name": "spiral", "n": 300},
            "network": {"layers": [{"units": 8, "activation": "tanh"}] * 2},
            "training": {"steps": 2 * steps, "batch_size": 16},
            "probes": {"every": 5, "per_decade": 0}}
    exp = Experiment({**base, **spec})
    for _ in exp.train(steps=steps):
        pass
    exp.save(path)
    return path


def assert_refused(outcome: Outcome, *words: str) -> str:
    """Exit 2, one line on stderr starting with ``gradlab:``, no traceback, bounded; the line."""
    assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
    assert outcome.code == 2, (outcome.code, outcome.stderr[-3000:])
    assert len(outcome.lines) == 1, outcome.stderr[-3000:]
    line = outcome.lines[0]
    assert line.startswith("gradlab: "), line
    assert "\x1b" not in line
    for w in words:
        assert w.lower() in line.lower(), (w, line)
    assert outcome.peak_rss < RSS_LIMIT, f"peak memory {outcome.peak_rss / MiB:.0f} MB: {line}"
    return line


# ------------------------------------------------------------------------------------ raw zips
@dataclass
class RawMember:
    """A zip member written as given: ``data`` is already compressed with ``method``."""

    name: str
    data: bytes
    size: int  # the uncompressed size the headers declare
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def member(name: str, payload: bytes, method: int = zipfile.ZIP_DEFLATED) -> RawMember:
    """An honest member holding ``payload``."""
    if method == zipfile.ZIP_STORED:
        data = payload
    else:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = c.compress(payload) + c.flush()
    return RawMember(name, data, len(payload), zlib.crc32(payload), method)


def zero_bomb(name: str, size: int, prefix: bytes = b"", declared: int | None = None) -> RawMember:
    """A deflated member: ``prefix`` then ``size - len(prefix)`` zero bytes, built from repeated
    full-flush blocks in a few KB and milliseconds. ``declared`` (default ``size``) is the size
    the headers claim; the CRC is left at 0 (a reader that inflates it all will see the lie)."""
    chunk = 2**20
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    zeros = bytes(chunk)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    n, rest = divmod(size - len(prefix), chunk)
    tail = c.compress(bytes(rest)) + c.flush()
    parts = [head] + ([first] if n else []) + [block] * max(n - 1, 0) + [tail]
    return RawMember(name, b"".join(parts), size if declared is None else declared, 0)


def write_zip(path: Path, members: list[RawMember]) -> Path:
    """A zip archive of ``members`` exactly as described (no zip64: sizes below 4 GiB)."""
    out = bytearray()
    central = bytearray()
    for m in members:
        name = m.name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, m.method, 0, 0x21,
                           m.crc, len(m.data), m.size, len(name), 0) + name + m.data
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, m.method, 0, 0x21,
                               m.crc, len(m.data), m.size, len(name), 0, 0, 0, 0, 0,
                               offset) + name
    n = len(members)
    end = b""
    if n > 0xFFFF:  # zip64 end records carry the count
        at = len(out) + len(central)
        end += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(central),
                           len(out))
        end += struct.pack("<4sLQL", b"PK\x06\x07", 0, at, 1)
    end += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(n, 0xFFFF), min(n, 0xFFFF),
                       len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def npy_header(shape: tuple[int, ...], dtype: str) -> bytes:
    """The .npy header (format 1.0) announcing ``shape`` and ``dtype``."""
    d = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
    pad = 64 - (10 + len(d) + 1) % 64
    text = (d + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


# ------------------------------------------------------------------------------------ sessions
def read_session(path: Path) -> tuple[dict, list[RawMember]]:
    """The manifest and the other members (raw, as stored) of a session."""
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        members = []
        for info in zf.infolist():
            if info.filename == "manifest.json":
                continue
            payload = zf.read(info)
            members.append(member(info.filename, payload, info.compress_type))
    return manifest, members


def rewrite_session(src: Path, dst: Path, edit=None, extra=(), manifest_member=None) -> Path:
    """``src`` with its manifest edited by ``edit(manifest)`` (in place) and ``extra`` members
    appended; ``manifest_member`` replaces the manifest member outright."""
    manifest, members = read_session(src)
    if edit is not None:
        edit(manifest)
    if manifest_member is None:
        manifest_member = member("manifest.json", json.dumps(manifest).encode())
    return write_zip(dst, [manifest_member, *members, *extra])


def with_array(src: Path, dst: Path, name: str, array: np.ndarray) -> Path:
    """``src`` with array ``name`` replaced (or added) by ``array``, manifest table updated."""
    manifest, members = read_session(src)
    manifest["arrays"][name] = {"shape": list(array.shape), "dtype": array.dtype.str}
    buf = _npy_bytes(array)
    members = [m for m in members if m.name != f"arrays/{name}.npy"]
    members.append(member(f"arrays/{name}.npy", buf))
    return write_zip(dst, [member("manifest.json", json.dumps(manifest).encode()), *members])


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    f = io.BytesIO()
    np.lib.format.write_array(f, array, allow_pickle=False)
    return f.getvalue()


def nested(depth: int, leaf: object = 0) -> str:
    """JSON text of ``depth`` nested lists around ``leaf``."""
    return "[" * depth + json.dumps(leaf) + "]" * depth


# ------------------------------------------------------------------------------------ data files
IDX_CODE = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(dims: tuple[int, ...], kind: str = "u1", data: bytes | None = None) -> bytes:
    """An IDX header for ``dims`` of type ``kind`` followed by ``data`` (zeros by default)."""
    head = bytes([0, 0, IDX_CODE[kind], len(dims)]) + struct.pack(f">{len(dims)}I", *dims)
    if data is None:
        data = bytes(int(np.prod(dims, dtype=np.int64)) * np.dtype(kind).itemsize)
    return head + data


def gzip_zero_bomb(path: Path, header: bytes, size: int) -> Path:
    """A gzip file: ``header`` then zeros up to ``size`` inflated bytes (MBs on disk at most)."""
    m = zero_bomb("x", size, prefix=header)
    trailer = struct.pack("<LL", 0, size & 0xFFFFFFFF)
    path.write_bytes(gzip.compress(b"")[:10] + m.data + trailer)
    return path
