"""Training in a separate process, mirrored into the window's experiment (issue 17).

A small network's training is pure Python between small NumPy calls: in the window's process it
shares the GIL with pyqtgraph's painting, and the spiral trained at about half its headless speed
with the window open. So when a run trains flat out, the worker thread
(:mod:`gradlab.app.worker`) hands it to a child process and keeps the thread design the rest of
the application relies on: the window still reads one :class:`~gradlab.experiment.Experiment`
whose history grows as the run trains.

How the two stay one run:

* **A segment** is a stretch of training between two pauses. :class:`RemoteRun` starts one by
  sending the child the experiment's whole state (:func:`gradlab.experiment.checkpoint.state`,
  the manifest and arrays a session file holds: checked on arrival as an opened file is); the
  child restores it (its dataset built once and kept while the spec's data is the same, and
  checked to be the window's: a fingerprint of the training arrays) and trains.
* **While it trains** the child records every change to its history (the six writing methods of
  :class:`~gradlab.experiment.history.History`) and the weights kept at probes, and sends them
  about 30 times a second with the live counters (step, epoch, position, status) and, for a small
  or a 2-D network, its parameters (the decision boundary is computed from them). The parent
  replays the calls on its own history, so its thinning, versions and events are those of the
  child's, call for call.
* **A pause, a command or the end** closes the segment: the child hands back its whole state
  except the history (network, optimiser, schedule, data order, every random generator, the
  prober's and the health verdicts' state), and the parent puts it into its experiment
  (:func:`gradlab.experiment.restore.apply`). The experiment is then exactly the one that would
  have trained in the thread, bit for bit (tests/test_remote.py).
* **If the child dies** (killed, out of memory) the parent forgets the segment's history
  (:meth:`History.truncate_after` the step it started from) and says so; the run is as it was
  when the segment began. If the child cannot start at all, training runs in the thread.

The pipe carries no pickle: a message is one JSON header and the raw bytes of its arrays
(:func:`encode` / :func:`decode`), every dtype checked to be a plain number type.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from gradlab.errors import InputError
from gradlab.experiment.experiment import Report
from gradlab.experiment.probes import ProbeRecord

#: the History methods that write (everything else reads)
MUTATORS = ("append_step", "append_eval", "append_probe", "add_event", "set_theory",
            "truncate_after")  # fmt: skip
#: seconds the parent waits for a message before it reports "still running" to its driver
POLL = 0.05
#: seconds the child may take to start (imports on a loaded machine) and to hand back its state
START_TIMEOUT = 60.0
STOP_TIMEOUT = 120.0
#: networks with at most this many parameters send them with every message (else only 2-D ones,
#: for the decision boundary, at most every BOUNDARY_EVERY seconds)
SMALL_NET = 200_000
BOUNDARY_EVERY = 0.15
#: the room asked for in the pipe from the child
PIPE_BYTES = 1 << 20
#: the largest message the parent accepts (a state hand-back of the largest network allowed)
MAX_MESSAGE = 8 << 30
_ALLOWED_KINDS = "biuf"
_ND = "\x00nd"
_PROBE = "\x00probe"


class RemoteError(InputError):
    """The training process failed; the text is one sentence for the user."""


class Unavailable(RuntimeError):
    """The training process cannot be used (it did not start, or refused the run): train in
    the thread instead."""


# ----------------------------------------------------------------------------- the codec
class Encoder:
    """Turns values into JSON-able structures, collecting their arrays' bytes in order."""

    def __init__(self) -> None:
        self.buffers: list[bytes] = []

    def value(self, o: Any) -> Any:
        if isinstance(o, np.ndarray):
            a = np.ascontiguousarray(o)
            if a.dtype.kind not in _ALLOWED_KINDS:
                raise TypeError(f"cannot send an array of {a.dtype}")
            self.buffers.append(a.tobytes())
            return {_ND: len(self.buffers) - 1, "dtype": a.dtype.str, "shape": list(a.shape)}
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, ProbeRecord):
            return {_PROBE: {f.name: self.value(getattr(o, f.name))
                             for f in dataclasses.fields(o)}}  # fmt: skip
        if isinstance(o, dict):
            return {str(k): self.value(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [self.value(v) for v in o]
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        raise TypeError(f"cannot send a {type(o).__name__}")


def encode(header: dict, enc: Encoder | None = None) -> bytes:
    """One message: ``header`` (values through ``enc``, or a new Encoder) and its arrays."""
    enc = enc or Encoder()
    body = enc.value(header)
    sizes = [len(b) for b in enc.buffers]
    head = json.dumps({"body": body, "sizes": sizes}, separators=(",", ":")).encode()
    return b"".join([struct.pack("<I", len(head)), head, *enc.buffers])


def decode(payload: bytes) -> dict:
    """The header :func:`encode` was given, with its arrays (read-only views of ``payload``
    copied into writable arrays). ValueError for anything malformed."""
    if len(payload) < 4:
        raise ValueError("short message")
    (n,) = struct.unpack_from("<I", payload)
    head = json.loads(payload[4 : 4 + n])
    sizes = head.get("sizes")
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes):
        raise ValueError("bad sizes")
    offsets = np.concatenate([[4 + n], 4 + n + np.cumsum(sizes, dtype=np.int64)])
    if offsets[-1] != len(payload):
        raise ValueError("message length does not match its arrays")
    view = memoryview(payload)

    def build(o: Any) -> Any:
        if isinstance(o, dict):
            if _ND in o:
                i = o[_ND]
                dt = np.dtype(o["dtype"])
                shape = tuple(int(s) for s in o["shape"])
                if dt.kind not in _ALLOWED_KINDS or dt.hasobject or min(shape, default=0) < 0:
                    raise ValueError(f"refused array dtype {dt}")
                if not isinstance(i, int) or not 0 <= i < len(sizes):
                    raise ValueError("bad array index")
                if math.prod(shape) * dt.itemsize != sizes[i]:
                    raise ValueError("array size does not match its shape")
                raw = view[int(offsets[i]) : int(offsets[i + 1])]
                return np.frombuffer(raw, dtype=dt).reshape(shape).copy()
            if _PROBE in o:
                return ProbeRecord(**{k: build(v) for k, v in o[_PROBE].items()})
            return {k: build(v) for k, v in o.items()}
        if isinstance(o, list):
            return [build(v) for v in o]
        return o

    out = build(head.get("body"))
    if not isinstance(out, dict):
        raise ValueError("a message is a mapping")
    return out


def write_message(out: IO[bytes], payload: bytes) -> None:
    out.write(struct.pack("<Q", len(payload)))
    out.write(payload)
    out.flush()


def read_message(inp: IO[bytes]) -> bytes | None:
    """The next message's payload, or None at the end of the stream."""
    head = _read_exact(inp, 8)
    if head is None:
        return None
    (n,) = struct.unpack("<Q", head)
    if n > MAX_MESSAGE:
        raise ValueError("message too large")
    return _read_exact(inp, n)


def _read_exact(inp: IO[bytes], n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        b = inp.read(n - got)
        if not b:
            return None
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def fingerprint(ds) -> str:
    """A digest of a dataset's training arrays (the child must train on the window's data)."""
    h = hashlib.blake2b(digest_size=16)
    for a in (ds.x_train, ds.y_train):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


# ----------------------------------------------------------------------------- the child
#: History.append_step's arguments, as the columns a run of its calls is sent in
STEP_ARGS = (np.int64, np.float64, np.float64, np.float64, np.float64, np.bool_)


class _Recorder:
    """The child's log of what changed since the last message (history calls, weights).

    A run of ``append_step`` calls (one a step: most of the log) goes as one
    ``append_steps`` entry of six columns, so the window decodes a few arrays, not thousands
    of small lists; the window replays it call by call (:meth:`RemoteRun._apply`)."""

    def __init__(self) -> None:
        self.enc = Encoder()
        self.log: list[list] = []
        self._steps: list[tuple] = []

    def add(self, target: str, method: str, args: tuple, kwargs: dict) -> None:
        if target == "h" and method == "append_step" and not kwargs and len(args) == 6:
            self._steps.append(args)
            return
        self._flush()
        self.log.append([target, method, self.enc.value(list(args)), self.enc.value(kwargs)])

    def _flush(self) -> None:
        if self._steps:
            cols = [np.array(c, dtype=t) for c, t in zip(zip(*self._steps), STEP_ARGS)]
            self._steps = []
            self.log.append(["h", "append_steps", self.enc.value(cols), {}])

    def take(self) -> tuple[list, Encoder]:
        self._flush()
        log, enc = self.log, self.enc
        self.log, self.enc = [], Encoder()
        return log, enc


class _WeightsLog:
    """Stands in for the child's WeightHistory: the weights at probes go to the window's."""

    def __init__(self, rec: _Recorder):
        self.rec = rec

    def add(self, index: int, step: int, network) -> None:
        self.rec.add("w", "add_arrays", (index, step, network.state_arrays()), {})

    def truncate_after(self, step: int) -> None:
        self.rec.add("w", "truncate_after", (step,), {})


def _wire(exp, rec: _Recorder) -> None:
    h = exp.history
    for name in MUTATORS:
        orig = getattr(h, name)

        def recorded(*args, _orig=orig, _name=name, **kwargs):
            rec.add("h", _name, args, kwargs)
            return _orig(*args, **kwargs)

        setattr(h, name, recorded)
    if exp.weights is not None:
        exp.weights = _WeightsLog(rec)


def _live(exp) -> dict:
    return {"step_count": exp.step_count, "epoch": exp.epoch, "pos": exp.pos,
            "probe_every": exp.probe_every, "status": exp.status}  # fmt: skip


class _Child:
    """The child's side: one request at a time, read by a thread (a stop overtakes them)."""

    def __init__(self, inp: IO[bytes], out: IO[bytes]):
        self.out = out
        self.inbox: queue.Queue[dict | None] = queue.Queue()
        self.stopped: set[int] = set()  # the segments asked to stop
        self.gone = threading.Event()  # the parent has gone
        self._data_key: str | None = None
        self._data = None
        self._fp = ""
        threading.Thread(target=self._read, args=(inp,), daemon=True).start()

    def _read(self, inp: IO[bytes]) -> None:
        try:
            while (payload := read_message(inp)) is not None:
                msg = decode(payload)
                if msg.get("cmd") == "stop":
                    self.stopped.add(msg.get("id"))
                else:
                    self.inbox.put(msg)
        except (OSError, ValueError):
            pass
        self.gone.set()
        self.inbox.put(None)

    def send(self, header: dict, enc: Encoder | None = None) -> None:
        write_message(self.out, encode(header, enc))

    def serve(self) -> int:
        self.send({"kind": "ready", "pid": os.getpid()})
        while (msg := self.inbox.get()) is not None:
            cmd = msg.get("cmd")
            if cmd == "quit":
                break
            if cmd in ("prepare", "start"):
                self.segment(msg, train=cmd == "start")
        return 0

    def _dataset(self, exp) -> str:
        """Give ``exp`` the dataset kept from an earlier segment of the same data (else build
        it and keep it); its fingerprint."""
        key = json.dumps([exp.spec["data"], exp.seed, exp._preprocess_state is not None],
                         sort_keys=True, default=str)  # fmt: skip
        if key != self._data_key:
            self._data, self._data_key = None, None
            self._data = exp.data
            self._fp, self._data_key = fingerprint(self._data), key
        else:
            exp._dataset = self._data
        return self._fp

    def segment(self, msg: dict, train: bool) -> None:
        """Restore the state ``msg`` carries; if ``train``, train it until the end, an error or
        a stop, then hand the state back."""
        from gradlab.errors import sentence
        from gradlab.experiment import checkpoint
        from gradlab.experiment.experiment import Experiment

        sid = msg.get("id")
        try:
            exp = checkpoint.restore(Experiment, msg["manifest"], msg["arrays"], None)
            if self._dataset(exp) != msg["fingerprint"]:
                self.send({"kind": "refused", "id": sid,
                           "why": "its data differs from the window's"})  # fmt: skip
                return
        except Exception as err:  # any refusal: the parent trains in its thread
            self.send({"kind": "refused", "id": sid, "why": sentence(err)})
            return
        if not train:
            self.send({"kind": "prepared", "id": sid})
            return
        rec = _Recorder()
        _wire(exp, rec)
        small = exp.network.n_params <= SMALL_NET
        planar = exp.input_dim == 2
        self.send({"kind": "started", "id": sid})
        last_net = -math.inf
        try:
            if sid not in self.stopped and not self.gone.is_set():
                gen = exp.train(msg.get("steps"), report_every=float(msg["report_every"]))
                for report in gen:
                    now = time.perf_counter()
                    net = None
                    if small or (planar and now - last_net >= BOUNDARY_EVERY):
                        net, last_net = exp.network.state_arrays(), now
                    log, enc = rec.take()
                    self.send({"kind": "delta", "id": sid, "log": log, "live": _live(exp),
                               "report": dataclasses.asdict(report), "net": net}, enc)  # fmt: skip
                    if report.status in ("done", "diverged", "stopped early") or (
                        sid in self.stopped or self.gone.is_set()
                    ):
                        gen.close()
                        break
        except Exception as err:  # the parent says it in one sentence
            if not isinstance(err, (ValueError, MemoryError, RecursionError, OSError)):
                import traceback

                traceback.print_exc()
            self.send({"kind": "error", "id": sid, "message": sentence(err)})
            return
        self.stopped.discard(sid)
        manifest, arrays = checkpoint.state(exp, history=False)
        self.send({"kind": "ended", "id": sid, "manifest": manifest, "arrays": arrays,
                   "live": _live(exp)})  # fmt: skip


def child_main() -> int:
    """The training process (``python -m gradlab.experiment.remote``; the frozen app:
    ``gradlab --training-process``): messages on stdin, answers on the original stdout."""
    from gradlab.threads import configure_blas

    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not break the pipe
    sys.stdout = sys.stderr
    configure_blas()
    try:
        code = _Child(sys.stdin.buffer, out).serve()
        out.flush()
    except OSError:  # the window has gone (a broken pipe): nothing to tell anyone
        code = 0
    sys.stderr.flush()
    os._exit(code)  # (its reader thread may sit in a read of stdin: no interpreter shutdown)


# ----------------------------------------------------------------------------- the parent
#: the training processes started and not yet closed (tests check none outlives its test)
_LIVE: set[TrainingProcess] = set()


def live_processes() -> list[int]:
    """Process ids of the training processes still running."""
    for p in list(_LIVE):
        if not p.alive:
            _LIVE.discard(p)
    return [p.proc.pid for p in _LIVE if p.proc is not None]


def _command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "--training-process"]
    return [sys.executable, "-m", "gradlab.experiment.remote"]


class TrainingProcess:
    """The child process one worker drives: started on first use, ended by :meth:`close`.

    Not thread-safe: one driver (the worker thread) calls it. Messages arrive in :attr:`inbox`
    through a reader thread; ``None`` there means the child has gone."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or _command()
        self.proc: subprocess.Popen | None = None
        self.inbox: queue.Queue[dict | None] = queue.Queue()
        self.ready = False  # the child said it is ready
        self.holds = ""  # the fingerprint of the data the child holds ("" before any)
        self.failed = ""  # why it cannot be used ("" while it can)
        self._fp: tuple[Any, str] | None = None  # (the dataset, its fingerprint)
        self._ids = 0
        self._started = 0.0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def spawn(self) -> None:
        """Start the child if it is not running (without waiting for it to be ready);
        :class:`Unavailable` if it cannot start (or failed to before)."""
        if self.alive:
            return
        if self.failed:
            raise Unavailable(self.failed)
        self.inbox, self.ready, self.holds = queue.Queue(), False, ""
        try:
            self.proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        except OSError as err:
            self.failed = f"the training process could not start ({err})"
            raise Unavailable(self.failed) from None
        self._started = time.monotonic()
        _widen(self.proc.stdout)
        _LIVE.add(self)
        threading.Thread(
            target=self._read, args=(self.proc.stdout,), daemon=True, name="gradlab-remote"
        ).start()

    def ensure_started(self, timeout: float = START_TIMEOUT) -> None:
        """Start the child and wait until it is ready; :class:`Unavailable` if it is not."""
        self.spawn()
        while not self.ready:
            try:
                self.receive(max(0.0, self._started + timeout - time.monotonic()))
            except (TimeoutError, Unavailable):
                self.close(timeout=0.5)
                self.failed = "the training process did not start"
                raise Unavailable(self.failed) from None

    def _read(self, stream: IO[bytes]) -> None:
        try:
            while (payload := read_message(stream)) is not None:
                self.inbox.put(decode(payload))
        except (OSError, ValueError):
            pass
        self.inbox.put(None)  # the child has gone

    def send(self, header: dict) -> None:
        if self.proc is None or self.proc.stdin is None:
            raise BrokenPipeError("the training process is not running")
        write_message(self.proc.stdin, encode(header))

    def receive(self, timeout: float) -> dict | None:
        """The next message (``ready`` noted in :attr:`ready`); None if the child has gone (and
        :class:`Unavailable` if it went before it was ready); TimeoutError if none came."""
        while True:
            try:
                msg = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
            except queue.Empty:
                raise TimeoutError from None
            if msg is None:
                self.inbox.put(None)  # (every later receive sees the end too)
                if not self.ready:
                    self.failed = "the training process did not start"
                    raise Unavailable(self.failed)
                return None
            if msg.get("kind") == "ready":
                self.ready = True
            return msg

    def fingerprint(self, ds) -> str:
        if self._fp is None or self._fp[0] is not ds:
            self._fp = (ds, fingerprint(ds))
        return self._fp[1]

    def close(self, timeout: float = 5.0) -> None:
        """End the child (asked to quit, then killed if it does not)."""
        proc, self.proc = self.proc, None
        _LIVE.discard(self)
        self.ready, self.holds = False, ""
        if proc is None:
            return
        try:
            if proc.poll() is None:
                write_message(proc.stdin, encode({"cmd": "quit"}))
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _widen(stream: IO[bytes] | None, size: int = PIPE_BYTES) -> None:
    """Give the pipe from the child room for ~a second of messages (Linux: 64 KB by default,
    two of the spiral's), so the child never waits for a window busy painting to read them."""
    import fcntl

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if stream is None or setsize is None:
        return
    for n in (size, size // 4):  # (an unprivileged process may get at most pipe-max-size)
        try:
            fcntl.fcntl(stream.fileno(), setsize, n)
            return
        except OSError:
            continue


def usable(exp, max_data_bytes: int = 512 << 20) -> bool:
    """Whether ``exp`` may train in the child: its data loaded and of a size worth a second copy
    (the child holds its own), no data error."""
    if exp.data_error is not None or exp._dataset is None:
        return False
    ds = exp._dataset
    return ds.x_train.nbytes + ds.y_train.nbytes <= max_data_bytes


class RemoteRun(Iterator):
    """Drives ``exp``'s training, in ``proc`` as soon as it can; iterates like
    :meth:`Experiment.train` (a :class:`Report` about every ``report_every`` seconds, or every
    :data:`POLL` seconds with the last counters while none comes) and :meth:`close` pauses it.

    It begins in the calling thread (``exp.train``) while the child starts and builds the data
    (its first time can take seconds): the child is sent the state then, and says when it is
    ready; training then stops here and goes on there from the state of that moment. If the
    child refuses the run (or cannot start), training simply stays here: :attr:`where` says
    which ("here", "process")."""

    def __init__(self, exp, proc: TrainingProcess, steps: int | None = None,
                 report_every: float = 1 / 30) -> None:  # fmt: skip
        self.exp = exp
        self.proc = proc
        self.report_every = report_every
        self.ended = False
        self.where = "here"
        self.why_here = ""
        self._id = proc.next_id()
        self._last = None
        self._target = None if steps is None else exp.step_count + steps
        self._local = exp.train(steps, report_every=report_every)
        self._asked = False  # the child was sent the state to prepare
        try:
            proc.spawn()
        except Unavailable as why:
            self.why_here = str(why)

    # -- iterating
    def __next__(self):
        if self.ended:
            raise StopIteration
        if self.where == "here":
            self._check_child()
            if self.where == "here":
                return next(self._local)  # (StopIteration: the stretch ended here)
        try:
            msg = self._receive(POLL)
        except TimeoutError:
            return self._last or self._report_now()
        kind = msg.get("kind")
        if kind == "delta":
            self._apply(msg)
            self._last = Report(**msg["report"])
            return self._last
        if kind == "ended":
            self._adopt(msg)
            final = self._last
            if final is None or final.status == "running":
                raise StopIteration
            return final
        self._fail(str(msg.get("message", "the training process failed")))

    def wait_ready(self, timeout: float = START_TIMEOUT) -> bool:
        """Wait (without training here) until training has moved to the process: True, or
        False if it stays here (:attr:`why_here` says why)."""
        deadline = time.monotonic() + timeout
        while self.where == "here" and not self.ended and not self.why_here:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._check_child(min(left, POLL))
        return self.where == "process"

    def _check_child(self, timeout: float = 0.0) -> None:
        """While training here: ask the child to prepare once it is ready, hand over once it
        has (a refusal, or the child gone, keeps training here)."""
        proc = self.proc
        if self.why_here:
            return
        try:
            while True:
                msg = proc.receive(timeout)
                timeout = 0.0
                if msg is None:
                    self.why_here = "the training process has gone"
                    return
                if msg.get("id") != self._id:
                    continue  # (an earlier stretch's answer)
                if msg.get("kind") == "prepared":
                    proc.holds = proc.fingerprint(self.exp.data)
                    self._hand_over()
                    return
                self.why_here = str(msg.get("why", "the training process refused the run"))
                return
        except TimeoutError:
            pass
        except Unavailable as why:
            self.why_here = str(why)
            return
        if proc.ready and not self._asked:
            self._asked = True
            if proc.holds and proc.holds == proc.fingerprint(self.exp.data):
                self._hand_over()  # (it has this data already: no need to prepare)
            else:
                self._send("prepare")

    def _send(self, cmd: str) -> None:
        from gradlab.experiment import checkpoint

        exp = self.exp
        manifest, arrays = checkpoint.state(exp)
        steps = None if self._target is None else self._target - exp.step_count
        self.proc.send({"cmd": cmd, "id": self._id, "manifest": manifest, "arrays": arrays,
                        "steps": steps, "report_every": self.report_every,
                        "fingerprint": self.proc.fingerprint(exp.data)})  # fmt: skip

    def _hand_over(self) -> None:
        """Stop training here and go on in the child from this state."""
        exp = self.exp
        if self._target is not None and exp.step_count >= self._target:
            return  # (nothing left for the child: the thread ends the stretch)
        self._local.close()
        self._local = None
        exp.ensure_initial_probe()
        self.start_step = exp.step_count
        self._start_pos = (exp.epoch, exp.pos)
        self._was = exp.status
        #: the network as the stretch began (messages overwrite it: a lost stretch restores it)
        self._net0 = {k: v.copy() for k, v in exp.network.state_arrays().items()}
        self._send("start")
        self.where = "process"
        msg = self._receive(START_TIMEOUT)
        if msg.get("kind") != "started":  # (it prepared this data a moment ago: unlikely)
            self.where = "here"
            self.why_here = str(msg.get("why", "the training process refused the run"))
            self._local = exp.train(self._remaining(), report_every=self.report_every)
            return
        self.proc.holds = self.proc.fingerprint(exp.data)
        exp.status = "running"

    def _remaining(self) -> int | None:
        return None if self._target is None else max(0, self._target - self.exp.step_count)

    def _report_now(self):
        exp = self.exp
        last = exp.history.latest_step()
        return Report(exp.step_count, exp.epoch_float, last["loss"] if last else math.nan,
                      exp.lr, 0.0, "running", exp.history.n_probes)  # fmt: skip

    def close(self) -> None:
        """Pause: the child stops after its current step and its state becomes ``exp``'s."""
        if self.ended:
            return
        if self.where == "here":
            self.ended = True
            if self._local is not None:
                self._local.close()
            return
        try:
            self.proc.send({"cmd": "stop", "id": self._id})
        except OSError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while not self.ended:
            try:
                msg = self._receive(max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                self.proc.close(timeout=0.0)
                self._fail("the training process did not stop in time")
            if msg.get("kind") == "delta":
                self._apply(msg)
            elif msg.get("kind") == "ended":
                self._adopt(msg)
            else:
                self._fail(str(msg.get("message", "the training process failed")))

    def _receive(self, timeout: float) -> dict:
        """The next message of this stretch (older ones are dropped)."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.proc.receive(max(0.0, deadline - time.monotonic()))
            if msg is None:
                code = self.proc.proc.poll() if self.proc.proc is not None else None
                self.proc.close(timeout=1.0)
                self._fail("the training process ended unexpectedly"
                           + (f" (exit code {code})" if code is not None else ""))  # fmt: skip
            if msg.get("id") == self._id:
                return msg

    # -- mirroring
    def _apply(self, msg: dict) -> None:
        exp = self.exp
        for target, method, args, kwargs in msg["log"]:
            if target == "h" and method == "append_steps":
                append = exp.history.append_step
                for row in zip(*(np.asarray(c).tolist() for c in args)):
                    append(*row)
            elif target == "h" and method in MUTATORS:
                getattr(exp.history, method)(*args, **kwargs)
            elif target == "w" and method in ("add_arrays", "truncate_after"):
                if exp.weights is not None:
                    getattr(exp.weights, method)(*args, **kwargs)
        if msg.get("net"):
            exp.network.load_state_arrays(msg["net"])
        self._set_live(msg["live"])

    def _set_live(self, live: dict) -> None:
        exp = self.exp
        exp.step_count, exp.epoch, exp.pos = live["step_count"], live["epoch"], live["pos"]
        exp.probe_every = live["probe_every"]

    def _adopt(self, msg: dict) -> None:
        from gradlab.experiment import restore

        exp = self.exp
        manifest, arrays = msg["manifest"], msg["arrays"]
        exp._prober, exp._monitor = None, None  # rebuilt from the states handed back
        restore.apply(exp, manifest, arrays, history=False)
        t = manifest["spec"]["training"]
        exp.spec["training"]["steps"], exp.spec["training"]["epochs"] = t["steps"], t["epochs"]
        self._set_live(msg["live"])
        self.ended = True

    def _fail(self, why: str):
        """The stretch is lost: the history goes back to where it began, the run with it."""
        exp = self.exp
        self.ended = True
        exp.history.truncate_after(self.start_step)
        if exp.weights is not None:
            exp.weights.truncate_after(self.start_step)
        exp.step_count = self.start_step
        exp.epoch, exp.pos = self._start_pos
        exp.network.load_state_arrays(self._net0)
        exp.status = self._was if self._was != "running" else "paused"
        raise RemoteError(
            f"{why[0].upper()}{why[1:]}; the run is back at step {self.start_step:,}, where "
            "this stretch of training began."
        )


if __name__ == "__main__":
    sys.exit(child_main())
