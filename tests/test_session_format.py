"""The .gradlab session file: round trip, atomic save, clear refusals, migrations."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import pathlib
import stat
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradlab
from gradlab import session
from gradlab.errors import SessionError, SpecError
from gradlab.session import format as fmt
from gradlab.session import migrations

# ----------------------------------------------------------------------------------------- helpers


def sample_manifest() -> dict:
    return {
        "spec": {"network": {"layers": [{"units": 8, "activation": "tanh"}] * 3}, "lr": 0.1},
        "seeds": {"data": 7, "init": 2**127 + 5},
        "rng_state": {"bit_generator": "PCG64", "state": {"state": 2**127 + 5, "inc": 2**128 - 1}},
        "step": 100_000,
        "negative_big": -(2**200),
        "note": "réseau profond — 層 ✓",
        "flags": [True, False, None, 0.1, -0.0, 1e-300],
        "events": [{"step": 10, "kind": "lr", "value": 0.01}],
    }


def sample_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {
        "history/loss": rng.standard_normal(50).astype(np.float32),
        "history/probe/act_mean": rng.standard_normal((5, 3)),
        "history/probe/act_hist": rng.integers(0, 100, (5, 3, 16), dtype=np.int32),
        "history/step": np.arange(50, dtype=np.int64),
        "history/clipped": rng.random(50) < 0.5,
        "data/images": rng.integers(0, 256, (4, 8, 8), dtype=np.uint8),
        "params/dense1.W": rng.standard_normal((3, 8)).astype(np.float32),
        "optim/t": np.array(12, dtype=np.int64),  # 0-d
        "empty-rows_ok": np.zeros((0, 5), dtype=np.float32),
        "specials": np.array([np.nan, -np.inf, np.inf, -0.0, 5e-324]),
    }


def save(path, manifest=None, arrays=None) -> None:
    session.write(path, sample_manifest() if manifest is None else manifest,
                  sample_arrays() if arrays is None else arrays)


def assert_same_arrays(got: dict, want: dict) -> None:
    assert list(got) == list(want)
    for name, a in want.items():
        b = got[name]
        assert b.dtype.str == a.dtype.str, name
        assert b.shape == a.shape, name
        assert b.tobytes() == a.tobytes(), name  # bit-identical, NaN payloads and -0.0 included


def refusal(read, path, *phrases: str) -> str:
    """The SessionError sentence for ``path``: one line, naming the file, with ``phrases``."""
    with pytest.raises(SessionError) as info:
        read(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert "Traceback" not in message
    for phrase in phrases:
        assert phrase in message, message
    return message


def repack(path, edit=None, *, drop=(), add=None, compression=None) -> None:
    """Rewrite the session at ``path`` member by member, changing what a test needs."""
    with zipfile.ZipFile(path) as zf:
        members = {info.filename: (zf.read(info), info.compress_type) for info in zf.infolist()}
    if edit is not None:
        manifest = json.loads(members["manifest.json"][0])
        edit(manifest)
        members["manifest.json"] = (json.dumps(manifest).encode(), zipfile.ZIP_DEFLATED)
    for name in drop:
        del members[name]
    for name, data in (add or {}).items():
        members[name] = (data, zipfile.ZIP_STORED)
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, kind) in members.items():
            zf.writestr(name, data, compress_type=compression or kind)


def npy_bytes(a: np.ndarray, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=allow_pickle)
    return buf.getvalue()


def member_data_offset(path, member: str) -> int:
    """Where the bytes of ``member`` start in the file (after its local zip header)."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = pathlib.Path(path).read_bytes()
    start = info.header_offset
    name_len = int.from_bytes(raw[start + 26 : start + 28], "little")
    extra_len = int.from_bytes(raw[start + 28 : start + 30], "little")
    return start + 30 + name_len + extra_len


READERS = [
    pytest.param(session.read, id="read"),
    pytest.param(session.read_manifest, id="read_manifest"),
]


# -------------------------------------------------------------------------------------- round trip


def test_round_trip_keeps_every_manifest_field_and_array_bit_identical(tmp_path):
    path = tmp_path / "run.gradlab"
    manifest, arrays = sample_manifest(), sample_arrays()
    given_manifest = json.loads(json.dumps(manifest))
    session.write(path, manifest, arrays)

    got_manifest, got_arrays = session.read(path)

    for key, value in given_manifest.items():
        assert got_manifest[key] == value, key
    assert got_manifest["rng_state"]["state"]["state"] == 2**127 + 5
    assert got_manifest["negative_big"] == -(2**200)
    assert math.copysign(1.0, got_manifest["flags"][4]) == -1.0
    assert_same_arrays(got_arrays, arrays)
    assert manifest == given_manifest, "write must not change the caller's dict"


def test_write_stamps_format_version_app_and_times(tmp_path):
    path = tmp_path / "run.gradlab"
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    save(path, {**sample_manifest(), "arrays": "the caller's junk", "format": "mine"})
    manifest = session.read_manifest(path)

    assert manifest["format"] == "gradlab-session" == session.FORMAT_NAME
    assert manifest["format_version"] == session.FORMAT_VERSION == 1
    assert manifest["app_version"] == gradlab.__version__
    saved = dt.datetime.fromisoformat(manifest["saved"])
    assert saved.utcoffset() == dt.timedelta(0)
    assert before <= saved <= dt.datetime.now(dt.timezone.utc)
    assert manifest["created"] == manifest["saved"]
    assert manifest["arrays"]["history/probe/act_hist"] == {"shape": [5, 3, 16], "dtype": "<i4"}
    assert manifest["arrays"]["optim/t"] == {"shape": [], "dtype": "<i8"}
    assert manifest["arrays"]["history/clipped"]["dtype"] == "|b1"
    assert session.SUFFIX == ".gradlab"


def test_resaving_keeps_the_original_created_time(tmp_path):
    path = tmp_path / "run.gradlab"
    save(path, {**sample_manifest(), "created": "2020-02-29T12:00:00+00:00"})
    manifest = session.read_manifest(path)
    assert manifest["created"] == "2020-02-29T12:00:00+00:00"
    assert manifest["saved"] != manifest["created"]


def test_manifest_is_the_first_member_strict_readable_utf8_json(tmp_path):
    path = tmp_path / "run.gradlab"
    save(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        text = zf.read("manifest.json").decode("utf-8")
    assert names[0] == "manifest.json"
    assert sorted(names[1:]) == sorted(f"arrays/{n}.npy" for n in sample_arrays())
    assert "層" in text and "\\u" not in text  # readable, not escaped
    assert text.startswith('{\n "format": "gradlab-session",\n "format_version": 1,')
    json.loads(text, parse_constant=pytest.fail)  # no NaN / Infinity tokens


def test_sparse_histogram_counts_take_little_disk(tmp_path):
    counts = np.zeros((2000, 6, 64), dtype=np.int32)  # 3 MB of mostly-empty bins
    counts[:, :, 30:34] = np.arange(2000 * 6 * 4, dtype=np.int32).reshape(2000, 6, 4)
    path = tmp_path / "hist.gradlab"
    session.write(path, {}, {"history/probe/act_hist": counts})
    assert path.stat().st_size < counts.nbytes / 4
    assert_same_arrays(session.read(path)[1], {"history/probe/act_hist": counts})


def test_reads_members_whatever_their_compression(tmp_path):
    path = tmp_path / "rezipped.gradlab"
    save(path)
    repack(path, compression=zipfile.ZIP_DEFLATED)
    assert_same_arrays(session.read(path)[1], sample_arrays())


_part = st.from_regex(r"[A-Za-z0-9_\-]{1,6}(\.[A-Za-z0-9_]{1,3})?", fullmatch=True)
_names = st.lists(_part, min_size=1, max_size=3).map("/".join)
_dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
    hnp.datetime64_dtypes(),
)
_arrays = hnp.arrays(_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))


@given(arrays=st.dictionaries(_names, _arrays, max_size=4))
def test_any_plain_array_round_trips_bit_identical(tmp_path_factory, arrays):
    path = tmp_path_factory.mktemp("prop") / "p.gradlab"
    session.write(path, {"step": 1}, arrays)
    assert_same_arrays(session.read(path)[1], arrays)


# ------------------------------------------------------------------------- what write refuses


@pytest.mark.parametrize(
    ("manifest", "where"),
    [
        ({"events": [{"step": 3, "loss": float("nan")}]}, "manifest.events[0].loss"),
        ({"best": {"val_loss": float("inf")}}, "manifest.best.val_loss"),
        ({"lr": np.float32(-np.inf)}, "manifest.lr"),
    ],
)
def test_write_refuses_non_finite_numbers_in_the_manifest_naming_the_key(tmp_path, manifest, where):
    path = tmp_path / "run.gradlab"
    with pytest.raises(ValueError, match=r"NaN or infinity") as info:
        session.write(path, manifest, {"a": np.zeros(3)})
    assert where in str(info.value)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "manifest",
    [{"shape": {1, 2}}, {"blob": b"bytes"}, {"obj": object()}, {3: "int key"}],
    ids=["set", "bytes", "object", "int-key"],
)
def test_write_refuses_what_json_cannot_hold(tmp_path, manifest):
    with pytest.raises(ValueError, match=r"manifest"):
        session.write(tmp_path / "run.gradlab", manifest, {})
    assert os.listdir(tmp_path) == []


def test_numpy_scalars_in_the_manifest_are_stored_as_json_numbers(tmp_path):
    path = tmp_path / "run.gradlab"
    session.write(path, {"step": np.int64(2**40), "lr": np.float32(0.5), "ok": np.bool_(True)}, {})
    manifest = session.read_manifest(path)
    assert (manifest["step"], manifest["lr"], manifest["ok"]) == (2**40, 0.5, True)
    assert type(manifest["step"]) is int and type(manifest["ok"]) is bool


@pytest.mark.parametrize(
    "name",
    ["../evil", "/abs", "a/../b", "a/./b", "a//b", "trailing/", "..", "sp ace", "ünï", "a\\b", ""],
)
def test_write_refuses_array_names_that_could_escape_or_confuse(tmp_path, name):
    with pytest.raises(ValueError, match=r"array name"):
        session.write(tmp_path / "run.gradlab", {}, {name: np.zeros(2)})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "array",
    [np.array([{"a": 1}], dtype=object), np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")])],
    ids=["object", "structured"],
)
def test_write_refuses_object_and_structured_arrays(tmp_path, array):
    with pytest.raises(ValueError, match=r"dtype"):
        session.write(tmp_path / "run.gradlab", {}, {"bad": array})
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------------------------------ atomicity


def test_successful_save_leaves_exactly_the_target(tmp_path):
    path = tmp_path / "run.gradlab"
    save(path)
    save(path)  # over an existing file too
    assert os.listdir(tmp_path) == ["run.gradlab"]


def test_failure_while_writing_an_array_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)
    before = path.read_bytes()
    real_write_array = np.lib.format.write_array
    calls = []

    def failing_write_array(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"\x93NUMPY half an arr")
            raise OSError(28, "No space left on device")
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(OSError, match="No space left"):
        save(path, {"step": 2})
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.gradlab"]


def test_failure_at_the_rename_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise PermissionError(13, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        save(path, {"step": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.gradlab"]


def test_interrupt_mid_save_keeps_the_previous_file_and_no_litter(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)
    before = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(path, {"step": 2})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.gradlab"]


def test_first_save_that_fails_leaves_nothing(tmp_path, monkeypatch):
    def failing_write_array(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(OSError):
        save(tmp_path / "run.gradlab")
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        save(tmp_path / "nowhere" / "run.gradlab")
    assert os.listdir(tmp_path) == []


def test_resave_keeps_the_file_permissions_and_a_new_file_gets_the_usual_ones(tmp_path):
    shared = tmp_path / "shared.gradlab"
    save(shared)
    os.chmod(shared, 0o640)
    save(shared, {"step": 2})
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640

    old_umask = os.umask(0o022)
    try:
        save(tmp_path / "new.gradlab")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "new.gradlab").stat().st_mode) == 0o644


def test_save_through_a_symlink_updates_the_linked_file(tmp_path):
    real = tmp_path / "real.gradlab"
    link = tmp_path / "link.gradlab"
    save(real, {"step": 1})
    link.symlink_to(real)
    save(link, {"step": 2})
    assert link.is_symlink()
    assert session.read_manifest(real)["step"] == 2


# ------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("read", READERS)
def test_missing_file(tmp_path, read):
    refusal(read, tmp_path / "gone.gradlab", "does not exist")


@pytest.mark.parametrize("read", READERS)
def test_a_folder_is_not_a_session(tmp_path, read):
    folder = tmp_path / "dir.gradlab"
    folder.mkdir()
    refusal(read, folder, "is a folder")


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "locked.gradlab"
    save(path)
    real_open = os.open  # (the tests may run as root, who reads a 0o000 file)

    def open_denied(file, *args, **kwargs):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_denied)
    message = refusal(session.read, path, "cannot be read (permission denied)")
    assert message == f"{path} cannot be read (permission denied)."


@pytest.mark.parametrize("read", READERS)
def test_a_renamed_text_file_is_not_a_zip(tmp_path, read):
    path = tmp_path / "notes.gradlab"
    path.write_text("step,loss\n1,0.5\n")
    message = refusal(read, path)
    assert message == f"{path} is not a GradLab session (not a zip archive)."


def test_an_empty_file(tmp_path):
    path = tmp_path / "empty.gradlab"
    path.write_bytes(b"")
    assert refusal(session.read, path) == f"{path} is not a GradLab session (the file is empty)."


def _zip_of(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize(
    ("members", "phrase"),
    [
        ({"word/document.xml": b"<w/>"}, "no manifest.json"),
        ({"manifest.json": b"{'format': 'gradlab-session'"}, "not valid JSON"),
        ({"manifest.json": b'{"format": "gradlab-session", "x": NaN}'}, "not valid JSON"),
        ({"manifest.json": "\xff".encode("latin-1")}, "not UTF-8"),
        ({"manifest.json": b"[1, 2, 3]"}, "not hold a JSON object"),
        ({"manifest.json": b'{"format_version": 1}'}, "names no format"),
        ({"manifest.json": b'{"format": "napari-session", "format_version": 1}'}, "napari"),
    ],
    ids=["no-manifest", "bad-json", "nan-token", "not-utf8", "list", "no-format", "other-format"],
)
def test_a_foreign_zip_is_not_a_session(tmp_path, read, members, phrase):
    path = tmp_path / "other.gradlab"
    _zip_of(path, members)
    message = refusal(read, path, "is not a GradLab session (", phrase)
    assert "truncated" not in message and "newer" not in message


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("keep", [0.5, 0.9, -10, -1], ids=["50%", "90%", "len-10", "len-1"])
def test_a_cut_off_file_is_truncated(tmp_path, read, keep):
    path = tmp_path / "cut.gradlab"
    save(path)
    raw = path.read_bytes()
    cut = int(len(raw) * keep) if isinstance(keep, float) else len(raw) + keep
    path.write_bytes(raw[:cut])
    message = refusal(read, path, "is truncated or corrupted (", "); it cannot be opened.")
    assert "not a GradLab session" not in message


@pytest.mark.parametrize(
    "array",
    ["history/loss", "history/probe/act_mean", "history/probe/act_hist", "history/step"],
)
def test_a_flipped_byte_inside_an_array_is_caught(tmp_path, array):
    path = tmp_path / "flipped.gradlab"
    save(path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        size = zf.getinfo(f"arrays/{array}.npy").compress_size
    where = member_data_offset(path, f"arrays/{array}.npy") + size - 7  # in the data, not header
    raw[where] ^= 0x40
    path.write_bytes(bytes(raw))
    session.read_manifest(path)  # the manifest and table are still fine...
    refusal(session.read, path, "is truncated or corrupted (", repr(array))  # ...the data is not


def test_a_flipped_byte_inside_the_manifest_is_caught(tmp_path):
    path = tmp_path / "flipped.gradlab"
    save(path)
    raw = bytearray(path.read_bytes())
    raw[member_data_offset(path, "manifest.json") + 20] ^= 0x01
    path.write_bytes(bytes(raw))
    refusal(session.read_manifest, path, "truncated or corrupted")


@pytest.mark.parametrize("read", READERS)
def test_a_session_from_a_newer_gradlab_asks_for_an_upgrade(tmp_path, read):
    path = tmp_path / "future.gradlab"
    save(path)

    def future(m):
        m.update(format_version=3, app_version="0.9.0", arrays="a layout from the future")

    repack(path, future)
    assert refusal(read, path) == (
        f"{path} was saved by a newer GradLab (session format 3, app 0.9.0); "
        "this version reads up to format 1. Upgrade GradLab to open it."
    )


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize("version", ["1", 1.0, True, None, 0, -2, [1]])
def test_a_format_version_that_is_not_a_positive_int(tmp_path, read, version):
    path = tmp_path / "odd.gradlab"
    save(path)
    repack(path, lambda m: m.update(format_version=version))
    refusal(read, path, "has an invalid session format version (", "); it cannot be opened.")


def test_a_missing_format_version(tmp_path):
    path = tmp_path / "odd.gradlab"
    save(path)
    repack(path, lambda m: m.pop("format_version"))
    refusal(session.read, path, "invalid session format version (missing)")


def _set_entry(name, **entry):
    def edit(m):
        m["arrays"][name].update(entry)

    return edit


@pytest.mark.parametrize("read", READERS)
@pytest.mark.parametrize(
    ("change", "phrase"),
    [
        (dict(drop=["arrays/history/loss.npy"]), "'history/loss' is in the manifest but missing"),
        (dict(add={"arrays/extra.npy": npy_bytes(np.zeros(2))}), "'extra' is in the file but not"),
        (dict(add={"notes.txt": b"hi"}), "unexpected member 'notes.txt'"),
        (dict(edit=lambda m: m.pop("arrays")), "no arrays table"),
        (dict(edit=_set_entry("optim/t", shape=[-1])), "describes array 'optim/t' badly"),
        (dict(edit=_set_entry("optim/t", dtype="not-a-dtype")), "describes array 'optim/t' badly"),
        (dict(edit=_set_entry("optim/t", dtype="V8")), "unsupported dtype"),
        (dict(edit=lambda m: m["arrays"].update({"../x": m["arrays"].pop("optim/t")})), "'../x'"),
    ],
    ids=["missing", "unlisted", "stray-file", "no-table", "bad-shape", "bad-dtype", "void", "name"],
)
def test_a_manifest_that_does_not_match_the_members(tmp_path, read, change, phrase):
    path = tmp_path / "odd.gradlab"
    save(path)
    repack(path, **change)
    refusal(read, path, "is corrupted (", phrase, "); it cannot be opened.")


@pytest.mark.parametrize(
    ("entry", "phrase"),
    [
        ({"shape": [5, 3, 15]}, "has shape (5, 3, 16) but the manifest says (5, 3, 15)"),
        ({"dtype": "<f4"}, "has dtype <i4 but the manifest says <f4"),
        ({"dtype": ">i4"}, "has dtype <i4 but the manifest says >i4"),
    ],
)
def test_an_array_whose_shape_or_dtype_differs_from_the_manifest(tmp_path, entry, phrase):
    path = tmp_path / "odd.gradlab"
    save(path)
    repack(path, _set_entry("history/probe/act_hist", **entry))
    refusal(session.read, path, "is corrupted (", "'history/probe/act_hist'", phrase)


def test_an_array_member_with_a_lying_header_is_refused_before_allocating(tmp_path, monkeypatch):
    path = tmp_path / "bomb.gradlab"
    save(path, {}, {"a": np.zeros(4)})
    huge = np.lib.format.header_data_from_array_1_0(np.zeros(4))
    huge["shape"] = (10**12,)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, huge)
    repack(path, _set_entry("a", shape=[10**12]),
           add={"arrays/a.npy": buf.getvalue() + np.zeros(4).tobytes()})
    allocations = []
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: allocations.append(1))
    refusal(session.read, path, "truncated or corrupted", "'a'")
    assert allocations == []


class Payload:
    """Unpickling this creates ``marker``: the proof that a loader unpickled."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.parametrize("claimed", ["|O", "<f8"], ids=["manifest-says-object", "manifest-lies"])
def test_a_pickle_bearing_array_is_refused_and_never_unpickled(tmp_path, claimed):
    path = tmp_path / "evil.gradlab"
    marker = tmp_path / "unpickled.marker"
    evil = npy_bytes(np.array([Payload(marker), 1], dtype=object), allow_pickle=True)
    save(path, {}, {"history/loss": np.zeros(2)})
    repack(path, _set_entry("history/loss", dtype=claimed), add={"arrays/history/loss.npy": evil})

    refusal(session.read, path, "cannot be opened safely", "'history/loss'", "never unpickles")
    assert not marker.exists()

    # The payload is live: a loader that unpickles would have run it.
    np.load(io.BytesIO(evil), allow_pickle=True)
    assert marker.exists()


def test_keyboard_interrupt_while_loading_is_not_swallowed(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "read_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        session.read(path)


def test_an_unexpected_error_while_loading_still_becomes_one_sentence(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)

    def out_of_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 40.0 GiB\nfor an array")

    monkeypatch.setattr(np.lib.format, "read_array", out_of_memory)
    refusal(session.read, path,
            "cannot be opened: not enough memory (Unable to allocate 40.0 GiB for")


# ------------------------------------------------------------------------------------ migrations


def app_reads_format(monkeypatch, version: int) -> None:
    """From now on this app reads ``version``, with an empty migrator registry (nothing leaks)."""
    monkeypatch.setattr(migrations, "_REGISTRY", {})
    monkeypatch.setattr(fmt, "FORMAT_VERSION", version)


def v1_session(path) -> None:
    save(path, {**sample_manifest(), "log": []})
    assert session.read_manifest(path)["format_version"] == 1


def test_older_sessions_are_migrated_in_order(tmp_path, monkeypatch):
    path = tmp_path / "old.gradlab"
    v1_session(path)
    app_reads_format(monkeypatch, 3)

    @session.migrator(2)  # registered out of order on purpose
    def add_loss_scale(manifest, arrays):
        manifest["log"].append("2->3")
        manifest["loss_scale"] = float(arrays["history/train_loss"].size)
        return manifest, arrays

    @session.migrator(1)
    def rename_loss(manifest, arrays):
        manifest["log"].append("1->2")
        arrays["history/train_loss"] = arrays.pop("history/loss").astype(np.float64)
        return manifest, arrays

    manifest, arrays = session.read(path)
    assert manifest["log"] == ["1->2", "2->3"]
    assert manifest["format_version"] == 3
    assert manifest["loss_scale"] == 50.0
    assert "history/loss" not in arrays
    np.testing.assert_array_equal(arrays["history/train_loss"], sample_arrays()["history/loss"])
    assert manifest["arrays"]["history/train_loss"] == {"shape": [50], "dtype": "<f8"}
    assert "history/loss" not in manifest["arrays"]
    assert session.read_manifest(path) == manifest


def test_a_gap_in_the_migrators_says_which_version_cannot_be_upgraded(tmp_path, monkeypatch):
    path = tmp_path / "old.gradlab"
    v1_session(path)
    app_reads_format(monkeypatch, 3)
    ran = []

    @session.migrator(1)
    def one_to_two(manifest, arrays):
        ran.append(1)
        return manifest, arrays

    message = refusal(session.read, path, "session format 1", "cannot upgrade format 2 to 3")
    assert message.endswith("it cannot be opened.")
    assert ran == [], "a gap is found before any migrator half-upgrades the session"
    refusal(session.read_manifest, path, "cannot upgrade format 2 to 3")


def test_a_failing_migrator_becomes_one_sentence(tmp_path, monkeypatch):
    path = tmp_path / "old.gradlab"
    v1_session(path)
    app_reads_format(monkeypatch, 2)

    @session.migrator(1)
    def broken(manifest, arrays):
        return manifest["no such key"], arrays

    refusal(session.read, path, "could not be upgraded from session format 1 to 2 (KeyError")


def test_a_migrator_is_registered_once(monkeypatch):
    app_reads_format(monkeypatch, 2)
    session.migrator(1)(lambda m, a: (m, a))
    with pytest.raises(ValueError, match="already registered"):
        session.migrator(1)(lambda m, a: (m, a))
    with pytest.raises(ValueError):
        session.migrator(0)


# ------------------------------------------------------------------------------- read_manifest


def test_read_manifest_of_a_50_mb_session_does_not_read_the_arrays(tmp_path, monkeypatch):
    path = tmp_path / "big.gradlab"
    rng = np.random.default_rng(0)
    arrays = {f"params/dense{i}.W": rng.standard_normal((1000, 1250), dtype=np.float32)
              for i in range(10)}
    session.write(path, {"step": 100_000}, arrays)
    assert path.stat().st_size > 50e6

    real_read_array, real_open = np.lib.format.read_array, zipfile.ZipFile.open
    arrays_read, members_opened = [], []

    def counting_read_array(*args, **kwargs):
        arrays_read.append(1)
        return real_read_array(*args, **kwargs)

    def recording_open(self, name, *args, **kwargs):
        members_opened.append(getattr(name, "filename", name))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "read_array", counting_read_array)
    monkeypatch.setattr(zipfile.ZipFile, "open", recording_open)

    manifest = session.read_manifest(path)
    assert manifest["step"] == 100_000
    assert set(manifest["arrays"]) == set(arrays)
    assert arrays_read == []
    assert members_opened == ["manifest.json"]

    session.read(path)  # the counters do see a full load
    assert len(arrays_read) == len(arrays)


# ------------------------------------------------------------------------------- bounds first


def test_the_check_hook_sees_the_table_before_any_array_is_inflated(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)
    inflated = []
    real = np.lib.format.read_array
    monkeypatch.setattr(np.lib.format, "read_array",
                        lambda *a, **k: inflated.append(1) or real(*a, **k))
    seen = {}

    def check(manifest, table):
        seen.update(table)
        assert not inflated
        raise SessionError("refused by its reader")

    with pytest.raises(SessionError, match=r"^refused by its reader$"):
        session.read(path, check=check)
    assert not inflated
    assert seen["params/dense1.W"] == ((3, 8), np.dtype("<f4"))


def test_an_error_from_the_check_hook_becomes_one_sentence_naming_the_file(tmp_path):
    path = tmp_path / "run.gradlab"
    save(path)

    def check(manifest, table):
        raise SpecError("training.lr", "must be > 0, got -1")

    message = refusal(lambda p: session.read(p, check=check), path, "cannot be opened")
    assert message == f"{path} cannot be opened (training.lr: must be > 0, got -1)."


def test_arrays_beyond_max_bytes_are_refused_before_inflating(tmp_path, monkeypatch):
    path = tmp_path / "run.gradlab"
    save(path)
    total = sum(a.nbytes for a in sample_arrays().values())
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("inflated"))
    refusal(lambda p: session.read(p, max_bytes=total - 1), path,
            "cannot be opened: its arrays would take about", "more than the")


def test_a_session_of_a_device_or_fifo_is_refused_by_name(tmp_path):
    fifo = tmp_path / "p.gradlab"
    os.mkfifo(fifo)
    for read in (session.read, session.read_manifest):
        refusal(read, fifo, "is a FIFO (named pipe), not a session file")
        refusal(read, "/dev/zero", "is a character device, not a session file")


def test_a_manifest_too_deep_or_out_of_range_is_refused(tmp_path):
    for value, phrase in ((json.loads("[" * 70 + "]" * 70), "nested more than 64 levels deep"),
                          (10**100, "which is out of range")):
        path = tmp_path / "deep.gradlab"
        save(path, {"x": value})
        refusal(session.read, path, phrase)


def test_a_read_only_session_is_not_replaced(tmp_path):
    path = tmp_path / "run.gradlab"
    save(path, {"step": 1})
    before = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="is read-only"):
        save(path, {"step": 2})
    assert path.read_bytes() == before
