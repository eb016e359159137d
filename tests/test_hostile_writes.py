"""Writing: what GradLab does with read-only files, links, special files, leftovers of a killed
save and a second Ctrl-C during the final save; and text from files shown escaped."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import time

import pytest

from gradlab import cli, load_session
from gradlab.experiment import Experiment
from gradlab.fileio import ReadOnlyTarget, atomic_write, atomic_write_text, leftovers
from gradlab.safeio import printable
from tests import hostile as H


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return H.make_session(tmp_path_factory.mktemp("good") / "good.gradlab")


def dot_files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ----------------------------------------------------------------------------- read-only targets
def test_a_read_only_file_is_never_replaced(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("precious\n")
    target.chmod(0o444)
    with pytest.raises(ReadOnlyTarget) as err:
        atomic_write_text(target, "overwritten")
    assert "is read-only" in str(err.value) and str(target) in str(err.value)
    assert target.read_text() == "precious\n" and stat.S_IMODE(target.stat().st_mode) == 0o444
    assert dot_files(tmp_path) == []


def test_run_refuses_a_read_only_out_before_training_and_leaves_it_byte_identical(tmp_path, good):
    out = tmp_path / "ro.gradlab"
    out.write_bytes(good.read_bytes())
    out.chmod(0o444)
    r = H.run_gradlab("run", "--preset", "spiral", "--steps", "5", "--out", str(out),
                      cwd=tmp_path)
    H.assert_refused(r, "is read-only", "does not replace read-only files")
    assert out.read_bytes() == good.read_bytes()


def test_a_link_to_a_read_only_file_is_refused_too(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("precious\n")
    real.chmod(0o400)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with pytest.raises(ReadOnlyTarget):
        atomic_write_text(link, "overwritten")
    assert real.read_text() == "precious\n" and link.is_symlink()


# ----------------------------------------------------------------------------- links and specials
def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "data" / "stats.csv"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "stats.csv"
    link.symlink_to(real)
    atomic_write_text(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
    assert dot_files(tmp_path) == [] and dot_files(real.parent) == []


def test_a_stats_export_onto_a_link_keeps_the_link(tmp_path, good):
    real = tmp_path / "real.json"
    real.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    r = H.run_gradlab("export", str(good), "--stats", str(link), cwd=tmp_path)
    assert r.code == 0, r.stderr
    assert link.is_symlink() and real.read_text().startswith("{") and len(real.read_text()) > 2


def test_a_fifo_is_not_written_to_nor_replaced(tmp_path):
    fifo = tmp_path / "out.gradlab"
    os.mkfifo(fifo)
    with pytest.raises(ReadOnlyTarget) as err:
        atomic_write_text(fifo, "x")
    assert "not a regular file" in str(err.value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and dot_files(tmp_path) == []


def test_a_folder_is_not_replaced(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path / "out", "x")
    assert (tmp_path / "out").is_dir()


# ----------------------------------------------------------------------------- leftovers
KILLED_SAVE = """
import os, signal, sys
from gradlab.fileio import atomic_write
def fill(fh):
    fh.write(b"half a session")
    fh.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the save
atomic_write(sys.argv[1], fill)
"""


def test_the_leftover_of_a_save_killed_with_kill_9_is_cleaned_by_the_next_save(tmp_path):
    target = tmp_path / "run.gradlab"
    target.write_bytes(b"the previous session")
    r = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(target)], capture_output=True)
    assert r.returncode == -signal.SIGKILL
    (left,) = dot_files(tmp_path)
    assert left.startswith(".run.gradlab.") and left.endswith(".tmp")
    assert target.read_bytes() == b"the previous session"  # a killed save destroys nothing
    atomic_write_text(target, "the next session")
    assert target.read_text() == "the next session" and dot_files(tmp_path) == []


def test_a_save_in_progress_elsewhere_keeps_its_temporary_file(tmp_path):
    ours = tmp_path / f".run.gradlab.{os.getpid()}.0123abcd.tmp"  # a live process's save
    ours.write_bytes(b"in progress")
    old_style_new = tmp_path / ".run.gradlab.89abcdef.tmp"  # no process id, just written
    old_style_new.write_bytes(b"maybe in progress")
    old_style_old = tmp_path / ".run.gradlab.fedcba98.tmp"
    old_style_old.write_bytes(b"stale")
    hour_ago = time.time() - 3600
    os.utime(old_style_old, (hour_ago, hour_ago))
    unrelated = tmp_path / ".other.gradlab.1.0123abcd.tmp"
    unrelated.write_bytes(b"not ours to judge")
    assert leftovers(str(tmp_path), "run.gradlab") == [str(old_style_old)]
    atomic_write_text(tmp_path / "run.gradlab", "saved")
    assert ours.exists() and old_style_new.exists() and unrelated.exists()
    assert not old_style_old.exists()


def test_a_link_planted_as_a_leftover_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    planted = tmp_path / f".run.gradlab.{dead}.0123abcd.tmp"
    planted.symlink_to(victim)
    atomic_write_text(tmp_path / "run.gradlab", "saved")
    assert victim.read_text() == "keep"


# ----------------------------------------------------------------------------- a second Ctrl-C
def test_a_second_ctrl_c_during_the_final_save_waits_for_the_save(tmp_path, monkeypatch):
    real_save = Experiment.save
    calls = []

    def save_interrupted(self, path):
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C while the file is written
        calls.append(path)
        return real_save(self, path)

    monkeypatch.setattr(Experiment, "save", save_interrupted)
    handler = signal.getsignal(signal.SIGINT)
    out = tmp_path / "run.gradlab"
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code = cli.main(["run", "--preset", "spiral", "--steps", "20", "--quiet", "--out", str(out)])
    assert calls and code == 130, err.getvalue()
    assert "interrupted at step 20; saved" in err.getvalue() and "Traceback" not in err.getvalue()
    assert load_session(out).step_count == 20
    assert signal.getsignal(signal.SIGINT) is handler  # restored after the save
    assert dot_files(tmp_path) == []


def test_without_a_ctrl_c_the_save_is_not_reported_as_interrupted(tmp_path, monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    out = tmp_path / "run.gradlab"
    assert cli.main(["run", "--preset", "spiral", "--steps", "3", "--out", str(out)]) == 0
    assert "interrupted" not in err.getvalue()


# ----------------------------------------------------------------------------- escaping
EVIL = "\x1b[2J\x1b]0;pwned\x07\x1b[31mred\r\n\u202eevil\x9b1m\u2028\x00"


def test_info_escapes_control_characters_from_the_file(tmp_path, good):
    def edit(m):
        m["spec"]["name"] = "name" + EVIL
        m["spec"]["description"] = "about" + EVIL
        m["app_version"] = "9" + EVIL

    path = H.rewrite_session(good, tmp_path / "evil\x1b[1m.gradlab", edit)
    r = H.run_gradlab("info", str(path), cwd=tmp_path)
    assert r.code == 0, r.stderr
    for ch in "\x1b\x07\r\u202e\x9b\u2028\x00":
        assert ch not in r.stdout
    lines = r.stdout.splitlines()
    assert lines[0] == "session     evil\\x1b[1m.gradlab"
    shown = "\\x1b[2J\\x1b]0;pwned\\x07\\x1b[31mred\\x0d\\x0a\\u202eevil\\x9b1m\\u2028\\x00"
    assert lines[1] == f"name        name{shown}: about{shown}"
    assert len(lines) >= 7


def test_error_lines_escape_what_came_from_a_file(tmp_path):
    r = H.run_gradlab("info", str(tmp_path / "gone\x1b[31m.gradlab"), cwd=tmp_path)
    assert "\\x1b[31m" in H.assert_refused(r, "does not exist")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text, accents é and 層 ✓", "plain text, accents é and 層 ✓"),
        ("\x1b[31m", "\\x1b[31m"),
        ("a\tb\nc\rd", "a\\x09b\\x0ac\\x0dd"),
        ("\x9b\x85", "\\x9b\\x85"),
        ("\u202eabc\u2066", "\\u202eabc\\u2066"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("family 👨\u200d👩\u200d👧", "family 👨\u200d👩\u200d👧"),
        ("\ud800 lone", "\\ud800 lone"),
        ("\U000e0041 tag", "\\U000e0041 tag"),
    ],
)
def test_printable(text, shown):
    assert printable(text) == shown


def test_printable_cuts_long_text():
    assert printable("x" * 50, 10) == "x" * 9 + "…"
    assert printable(12345) == "12345"


def test_atomic_write_still_writes_through_its_fill(tmp_path):
    atomic_write(tmp_path / "f.bin", lambda fh: fh.write(b"\0\1"))
    assert (tmp_path / "f.bin").read_bytes() == b"\0\1"
