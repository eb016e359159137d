"""The fuzzing itself, run by ``tests/test_fuzz_*.py`` as a child process under memory and CPU
limits (``python tests/fuzz_child.py KIND EXAMPLES`` in a scratch folder).

Hypothesis draws hostile variations of a real session, spec or data file and hands each to the
real reader (``gradlab.cli.main`` in this process, or the data loader). What a user sees must
be: success, or exit 2 with exactly one line ``gradlab: ...`` on stderr, no traceback and no
raw escape character. A session that opens must also resume training; a data file that loads
must hold finite float32 inputs. Any other exception, a stray RuntimeWarning or a second line is
a failure: hypothesis shrinks it, prints the falsifying example and this process exits 1.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import struct
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hostile

from gradlab import cli, data
from gradlab.errors import InputError
from gradlab.experiment import Experiment, load_session

WORK = Path.cwd()
CONTROL = "\x1b\x07\x00\r\n\x9b\u202e\u2028\ud800"

# --------------------------------------------------------------------------- what a user sees


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    if os.environ.get("FUZZ_VERBOSE"):  # what each example came to, for whoever tunes this
        print(code, err.getvalue().strip()[:160], file=sys.__stderr__)
    return code, out.getvalue(), err.getvalue()


def assert_user_sees_one_line(code: int, err: str, allowed=(0, 2)) -> None:
    assert code in allowed, (code, err)
    if code == 0:
        return
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gradlab: "), err
    assert "Traceback" not in err and "\x1b" not in err and "\x9b" not in err, err


# --------------------------------------------------------------------------- hostile values
_ints = st.one_of(
    st.sampled_from([0, -1, 1, 2, 3, 7, 2**31, 2**53 + 1, 2**63, 2**64, 2**128, -(2**63),
                     10**77]),
    st.integers(-(2**70), 2**70),
)
_floats = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 1e-300, 5e-324, 1e300, -1e308, 1.7976931348623157e308]),
    st.floats(allow_nan=False, allow_infinity=False),
)
_texts = st.one_of(st.sampled_from(["", "x", "relu", "adam", "spiral", "npz", "/dev/zero",
                                    CONTROL, "a" * 300]),
                   st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
_scalars = st.one_of(st.none(), st.booleans(), _ints, _floats, _texts)
hostile_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(_texts, inner, max_size=3)),
    max_leaves=8,
)


def json_paths(node, prefix=()) -> list[tuple]:
    """Every path (tuple of keys/indices) into a JSON value, the root excluded."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(json_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):
            out.append((*prefix, i))
            out.extend(json_paths(v, (*prefix, i)))
    return out


def edit_json(doc, path: tuple, value, delete: bool) -> None:
    node = doc
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value


def near(value) -> st.SearchStrategy:
    """Values close to ``value`` (the edits most likely to slip past a check)."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.sampled_from([value + 1, value - 1, 0, -1, value * 2, value * 1000, 2**31])
    if isinstance(value, float):
        return st.sampled_from([value * 2, value / 2, -value, 0.0, value * 1e6, 1e-30])
    if isinstance(value, str):
        return st.sampled_from([value + "x", value.upper(), "", value + CONTROL])
    if isinstance(value, list):
        return st.sampled_from([value[:-1], value + value[-1:], []])
    return hostile_json


def lookup(doc, path: tuple):
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def json_edits(draw, doc, skip=()):
    """``doc`` (a deep copy) with one to three values replaced by hostile or nearby ones, or
    deleted; paths starting with a key in ``skip`` are rarely chosen."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in json_paths(doc) if p[0] not in skip] or json_paths(doc)
        if draw(st.integers(0, 9)) == 0:
            paths = json_paths(doc)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        value = draw(st.one_of(hostile_json, near(lookup(doc, path))))
        edit_json(doc, path, value, draw(st.integers(0, 5)) == 0)
    return doc


# --------------------------------------------------------------------------- sessions
def good_session(variant: int) -> Path:
    """A real session; ``variant`` 1 also has dropout, a plateau schedule with state and
    momentum SGD, so their saved state is fuzzed too."""
    path = WORK / f"good{variant}.gradlab"
    layers = [{"units": 6, "activation": "tanh"},
              {"units": 6, "activation": "relu", "batchnorm": True}]
    training = {"steps": 12, "batch_size": 16}
    if variant:
        layers[0]["dropout"] = 0.2
        training.update(schedule={"name": "plateau", "patience": 1}, eval_every=2,
                        optimizer={"name": "momentum"})
    exp = Experiment({"name": "fuzz", "data": {"name": "spiral", "n": 200},
                      "network": {"layers": layers}, "training": training,
                      "probes": {"every": 5, "bins": 8, "capacity": 8}})
    for _ in exp.train(steps=8):
        pass
    exp.save(path)
    return path


_dtypes = st.sampled_from(["<f4", "<f8", ">f8", "<i8", "<i4", "|u1", "|b1", "<c8", "<U2",
                           "|S3", "<M8[s]", "<m8[s]", "<f2"])


@st.composite
def hostile_arrays(draw):
    dtype = np.dtype(draw(_dtypes))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    if dtype.kind in "fc":
        elements = st.sampled_from([0.0, -1.0, 6e4, float("nan"), float("inf")])
    else:
        elements = None
    return draw(hnp.arrays(dtype, shape, elements=elements))


@st.composite
def session_variants(draw, good: bytes, manifest: dict, names: list[str]) -> bytes:
    kind = draw(st.sampled_from(["manifest", "manifest", "array", "bytes", "member"]))
    if kind == "manifest":
        doc = draw(json_edits(manifest, skip=("arrays",)))
        return _session_bytes(good, doc, {})
    if kind == "array":
        name = draw(st.sampled_from(names))
        return _session_bytes(good, manifest, {name: draw(hostile_arrays())})
    if kind == "member":
        name = draw(st.sampled_from(["bomb", "network/extra", "trainer/perm",
                                     "history/theory/zz", "data/preprocess/mean"]))
        return _session_bytes(good, manifest, {name: draw(hostile_arrays())})
    blob = bytearray(good)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(blob) - 1))
        blob[i] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        blob = blob[: draw(st.integers(0, len(blob)))]
    return bytes(blob)


def _session_bytes(good: bytes, manifest: dict, arrays: dict) -> bytes:
    """``good`` with its manifest replaced and ``arrays`` replaced or added (table updated)."""
    src = zipfile.ZipFile(io.BytesIO(good))
    doc = json.loads(json.dumps(manifest))
    table = doc.get("arrays") if isinstance(doc, dict) else None
    for name, a in arrays.items():
        if isinstance(table, dict):
            table[name] = {"shape": list(a.shape), "dtype": a.dtype.str}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps(doc))
        for info in src.infolist():
            name = info.filename[len("arrays/") : -len(".npy")]
            if info.filename == "manifest.json" or name in arrays:
                continue
            zf.writestr(info, src.read(info))
        for name, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=False)
            zf.writestr(f"arrays/{name}.npy", buf.getvalue())
    return out.getvalue()


def fuzz_sessions(examples: int) -> None:
    goods = []
    for variant in (0, 1):
        path = good_session(variant)
        manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
        goods.append((path.read_bytes(), manifest, sorted(manifest["arrays"])))
    path = WORK / "case.gradlab"

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(goods).flatmap(lambda g: session_variants(*g)))
    def case(blob):
        path.write_bytes(blob)
        code, _, err = run_main("info", str(path))
        assert_user_sees_one_line(code, err)
        if code == 0:  # accepted: it must also resume (or say in one sentence why it cannot)
            exp = load_session(path)
            try:
                for _ in exp.train(steps=3):
                    pass
            except InputError as e:
                assert "\n" not in str(e)
            exp.save(WORK / "resaved.gradlab")
            assert load_session(WORK / "resaved.gradlab").step_count == exp.step_count

    case()


# --------------------------------------------------------------------------- specs
BASE_SPEC = {"name": "s", "seed": 1, "data": {"name": "spiral", "n": 100},
             "network": {"layers": [{"units": 4, "activation": "tanh", "init": "glorot_normal"},
                                    {"type": "batchnorm"}, {"type": "dropout", "rate": 0.1},
                                    {"units": 3, "activation": "maxout", "pieces": 2}]},
             "training": {"optimizer": {"name": "adam", "beta1": 0.9}, "lr": 0.01,
                          "schedule": "constant", "batch_size": 8, "steps": 3,
                          "clip": {"norm": 1.0}},
             "probes": {"every": 1, "bins": 8, "capacity": 8, "batch": 32}}


@st.composite
def spec_variants(draw):
    if draw(st.integers(0, 9)) == 0:
        return draw(hostile_json)
    return draw(json_edits(BASE_SPEC))


def long_run(spec) -> bool:
    """True if ``spec`` may ask for more than a few steps (or epochs) of training."""
    t = spec.get("training") if isinstance(spec, dict) else None
    if not isinstance(t, dict):
        return False
    steps, epochs = t.get("steps"), t.get("epochs")
    number = (int, float)
    return (isinstance(steps, number) and steps > 5) or (isinstance(epochs, number)
                                                          and epochs > 0) or (
        "steps" not in t and "epochs" not in t)


def fuzz_specs(examples: int) -> None:
    spec_path, out = WORK / "spec.json", WORK / "out.gradlab"
    fields = [".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in p).replace(".[", "[")
              for p in json_paths(BASE_SPEC)]
    odd = ["training", "x.y", "network.layers[9]", "a" + ".a" * 70, "training=5"]

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(spec_variants(), st.sampled_from([*fields, *odd]),
           st.one_of(hostile_json.map(json.dumps), _texts))
    def case(spec, field, value):
        spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8",
                             errors="surrogatepass")
        budget = ["--steps", "3"] if long_run(spec) else []  # a valid long run is not hostile
        code, _, err = run_main("run", "--spec", str(spec_path), *budget, "--out", str(out),
                                "--quiet")
        assert_user_sees_one_line(code, err, (0, 2, 3))
        code, _, err = run_main("run", "--preset", "spiral", "--steps", "2", "--quiet",
                                "--set", f"{field}={value}", "--out", str(out))
        assert_user_sees_one_line(code, err, (0, 2, 3))

    case()


# --------------------------------------------------------------------------- data files
@st.composite
def idx_files(draw) -> bytes:
    kind = draw(st.sampled_from(list(hostile.IDX_CODE)))
    dims = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 2**32 - 1, 2**31]),
                               min_size=1, max_size=4)))
    count = int(np.prod([d for d in dims if d < 100], dtype=np.int64))
    payload = draw(st.binary(min_size=count * np.dtype(kind).itemsize,
                             max_size=count * np.dtype(kind).itemsize + 3))
    head = bytes([0, 0, hostile.IDX_CODE[kind], len(dims)]) + struct.pack(
        f">{len(dims)}I", *dims)
    blob = bytearray(head + payload)
    if draw(st.booleans()) and blob:
        blob[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        blob = blob[: draw(st.integers(0, len(blob)))]
    return gzip.compress(bytes(blob)) if draw(st.booleans()) else bytes(blob)


@st.composite
def npz_files(draw) -> bytes:
    out = io.BytesIO()
    arrays = {}
    for key in draw(st.lists(st.sampled_from(["x_train", "y_train", "x_test", "y_test",
                                              "class_names", "other"]), max_size=5,
                             unique=True)):
        arrays[key] = draw(hostile_arrays())
    np.savez(out, **arrays)
    blob = bytearray(out.getvalue())
    if draw(st.integers(0, 3)) == 0 and blob:
        blob[draw(st.integers(0, len(blob) - 1))] = draw(st.integers(0, 255))
    return bytes(blob)


_cells = st.one_of(st.sampled_from(["1", "0", "-2.5", "1e300", "1e999", "nan", "inf", "",
                                    '"a,b"', "x", "1_0", " 3 ", '"', "\x00"]),
                   st.text(max_size=4))


@st.composite
def csv_files(draw) -> bytes:
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(_cells, min_size=width, max_size=width + 1), max_size=8))
    text = "\n".join(",".join(r) for r in rows)
    return text.encode("utf-8", "surrogatepass")


def fuzz_data(examples: int) -> None:
    labels = WORK / "labels.idx"

    @settings(max_examples=examples, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(idx_files().map(lambda b: ("idx", b)), npz_files().map(lambda b: ("npz", b)),
                     csv_files().map(lambda b: ("csv", b))))
    def case(item):
        kind, blob = item
        path = WORK / f"case.{kind}"
        path.write_bytes(blob)
        if kind == "idx":
            spec = {"name": "idx", "train_images": str(path), "train_labels": str(labels)}
            n = _idx_count(blob)
            labels.write_bytes(hostile.idx_bytes((n,), data=(np.arange(n) % 2).astype(
                np.uint8).tobytes()))
        else:
            spec = {"name": kind, "path": str(path)}
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                ds = data.load(spec, seed=0)
            except InputError as e:
                assert "\n" not in str(e), str(e)
                if os.environ.get("FUZZ_VERBOSE"):
                    print(kind, str(e)[:150], file=sys.__stderr__)
                return
        assert ds.x_train.dtype == np.float32 and ds.input_dim >= 1
        assert np.isfinite(ds.x_train).all()

    case()


def _idx_count(blob: bytes) -> int:
    """The first dimension an IDX blob (maybe gzip) announces, kept small (else 3)."""
    try:
        raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
        n = struct.unpack(">I", raw[4:8])[0]
    except Exception:
        return 3
    return n if n < 100 else 3


if __name__ == "__main__":
    warnings.filterwarnings("error", category=RuntimeWarning, module="gradlab")
    kind, n = sys.argv[1], int(sys.argv[2])
    {"sessions": fuzz_sessions, "specs": fuzz_specs, "data": fuzz_data}[kind](n)
    print(f"{kind}: {n} examples, all refused in one line or accepted and usable")
