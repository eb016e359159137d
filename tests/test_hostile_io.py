"""The bounded readers every file goes through (gradlab/safeio.py) and the memory budget."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from gradlab import safeio
from gradlab.errors import InputError
from gradlab.safeio import FileRefused, JsonRefused


# ----------------------------------------------------------------------------- regular files
def test_a_regular_file_is_read(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert safeio.read_capped(tmp_path / "f", 3) == b"abc"


def test_a_file_above_the_cap_is_refused_with_both_sizes(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 2001)
    with pytest.raises(FileRefused) as err:
        safeio.read_capped(tmp_path / "f", 2000)
    assert err.value.problem == "too_large"
    assert err.value.sentence("f", "spec file") == \
        "f is 2 KB, more than the 2 KB a spec file may take."


@pytest.mark.parametrize(
    ("make", "problem", "kind"),
    [
        (lambda d: "/dev/zero", "special", "a character device"),
        (lambda d: "/dev/null", "special", "a character device"),
        (lambda d: (os.mkfifo(d / "p"), d / "p")[1], "special", "a FIFO (named pipe)"),
        (lambda d: d, "folder", ""),
        (lambda d: d / "missing", "missing", ""),
        (lambda d: d / "missing" / "deeper", "missing", ""),
        (lambda d: (os.symlink(d / "loop", d / "loop"), d / "loop")[1], "unreadable", ""),
        (lambda d: str(d) + "/nul\0byte", "unreadable", ""),
    ],
    ids=["dev-zero", "dev-null", "fifo", "folder", "missing", "missing-folder", "link-loop",
         "nul-byte"],
)
def test_what_is_not_a_regular_file_is_refused_by_name_without_blocking(tmp_path, make, problem,
                                                                         kind):
    with pytest.raises(FileRefused) as err:
        safeio.open_regular(make(tmp_path))
    assert err.value.problem == problem and err.value.kind == kind
    assert "\n" not in str(err.value)


def test_a_socket_is_refused(tmp_path):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s"))
        with pytest.raises(FileRefused) as err:
            safeio.open_regular(tmp_path / "s")
    assert err.value.kind == "a socket"


def test_a_fifo_swapped_in_after_the_check_is_refused_without_blocking(tmp_path, monkeypatch):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    monkeypatch.setattr(safeio, "check_regular", lambda p: None)  # the race: the check passed
    with pytest.raises(FileRefused) as err:
        safeio.open_regular(fifo)  # opened non-blocking, then refused on its descriptor
    assert err.value.kind == "a FIFO (named pipe)"


# ----------------------------------------------------------------------------- JSON
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 65 + "]" * 65, "is nested more than 64 levels deep"),
        ("[" * 900 + "]" * 900, "is nested more than 64 levels deep"),
        ("[" + "{}," * 1001 + "{}]", "holds more than 1,000 objects and lists"),
        ('{"a": 1e400}', "holds the number 1e400, which is out of range"),
        ('{"a": -1e400}', "holds the number -1e400, which is out of range"),
        ('{"a": NaN}', "is not valid JSON (NaN is not a JSON number)"),
        ('{"a": Infinity}', "is not valid JSON (Infinity is not a JSON number)"),
        ('{"a": ' + "1" * 81 + "}", "holds an integer of 81 digits, which is out of range"),
        ('{"a": ' + str(2**256 + 1) + "}", "holds the integer 1157920892373161954235709850"),
        ("{bad", "is not valid JSON (line 1, column 2: Expecting property name"),
        (b"\xff{}", "is not UTF-8 (byte 0xFF at offset 0)"),
    ],
)
def test_json_is_bounded_in_depth_count_and_numbers(text, reason):
    with pytest.raises(JsonRefused) as err:
        safeio.load_json(text, max_containers=1000)
    assert err.value.reason.startswith(reason), err.value.reason


def test_deep_nesting_beyond_pythons_own_limit_is_refused_as_too_deep():
    with pytest.raises(JsonRefused) as err:
        safeio.load_json("[" * 50_000 + "]" * 50_000)
    assert err.value.reason == "is nested more than 64 levels deep"


def test_json_within_bounds_reads_as_json():
    doc = {"a": [1, 2.5, None, True, "x", {"b": -(2**255)}], "c": "\u00e9"}
    assert safeio.load_json(json.dumps(doc)) == doc
    assert safeio.load_json(b"\xef\xbb\xbf{}") == {}  # a byte-order mark from an editor
    assert safeio.load_json("[" * 64 + "]" * 64) is not None


# ----------------------------------------------------------------------------- memory budget
@pytest.mark.parametrize(
    ("setting", "nbytes"),
    [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5GB", int(1.5 * 2**30)), ("1000000", 10**6),
     ("64 KiB", 64 * 1024)],
)
def test_the_memory_budget_can_be_set_as_a_size(monkeypatch, setting, nbytes):
    monkeypatch.setenv("GRADLAB_MAX_MEMORY", setting)
    budget = safeio.memory_budget()
    left = safeio._address_space_left()
    assert budget.nbytes == (nbytes if left is None or left >= nbytes else int(left * 0.8))


def test_the_memory_budget_defaults_to_half_of_the_ram(monkeypatch):
    monkeypatch.delenv("GRADLAB_MAX_MEMORY", raising=False)
    monkeypatch.setattr(safeio, "physical_memory", lambda: 16 * 10**9)
    monkeypatch.setattr(safeio, "_cgroup_limit", lambda: None)
    monkeypatch.setattr(safeio, "_address_space_left", lambda: None)
    budget = safeio.memory_budget()
    assert budget.nbytes == 8 * 10**9
    assert budget.source == "50% of this machine's 16 GB; set GRADLAB_MAX_MEMORY to change it"
    monkeypatch.setenv("GRADLAB_MAX_MEMORY", "25%")
    assert safeio.memory_budget().nbytes == 4 * 10**9
    monkeypatch.setattr(safeio, "_cgroup_limit", lambda: 2 * 10**9)
    assert safeio.memory_budget().nbytes == 5 * 10**8


@pytest.mark.parametrize("setting", ["lots", "0", "0%", "150%", "-1G", "1e9", "nan%"])
def test_a_bad_memory_setting_is_one_sentence(monkeypatch, setting):
    monkeypatch.setenv("GRADLAB_MAX_MEMORY", setting)
    with pytest.raises(InputError) as err:
        safeio.memory_budget()
    assert str(err.value).startswith(f"GRADLAB_MAX_MEMORY={setting} is neither a share")


def test_ulimit_caps_the_budget(tmp_path):
    code = ("import resource; from gradlab import safeio\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
            "print(safeio.memory_budget().nbytes, safeio.memory_budget().source)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "GRADLAB_MAX_MEMORY": "100G"})
    nbytes, source = r.stdout.split(" ", 1)
    assert int(nbytes) < 0.8 * 2**30 and source.startswith("what 'ulimit -v' leaves")


def test_format_bytes():
    assert [safeio.format_bytes(n) for n in (0, 999, 1000, 1536, 3 * 2**30, 4e16, 5e20)] == [
        "0 bytes", "999 bytes", "1 KB", "1.54 KB", "3.22 GB", "40 PB", "5e+20 bytes"]


# ----------------------------------------------------------------------------- one family of errors
@pytest.mark.parametrize(
    ("error", "line"),
    [
        (RecursionError("maximum recursion depth exceeded"),
         "gradlab: the input is nested too deeply to be read"),
        (OverflowError("(34, 'Numerical result out of range')"),
         "gradlab: a number in the input is out of range ((34, 'Numerical result out of range'))"),
        (MemoryError("Unable to allocate 15 GiB"),
         "gradlab: there is not enough memory for this (Unable to allocate 15 GiB); GradLab may "
         "use"),
        (OSError(5, "Input/output error", "/mnt/x.gradlab"),
         "gradlab: /mnt/x.gradlab: Input/output error"),
        (ZeroDivisionError("division by zero"),
         "gradlab: unexpected error (ZeroDivisionError: division by zero); please report it"),
        (InputError("Something you gave\x1b[31m cannot be used."),
         "gradlab: Something you gave\\x1b[31m cannot be used."),
    ],
    ids=["recursion", "overflow", "memory", "os", "bug", "input"],
)
def test_whatever_escapes_a_reader_is_still_one_line_and_exit_2(monkeypatch, capsys, error, line):
    from gradlab import cli

    def broken(args):
        raise error

    monkeypatch.setattr(cli, "cmd_info", broken)
    monkeypatch.delenv("GRADLAB_DEBUG", raising=False)
    assert cli.main(["info", "x.gradlab"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(line), err


def test_gradlab_debug_shows_the_traceback_instead(monkeypatch):
    from gradlab import cli

    def broken(args):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "cmd_info", broken)
    monkeypatch.setenv("GRADLAB_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["info", "x.gradlab"])
