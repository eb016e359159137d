"""``gradlab export --figure/--table`` as a user runs it: every kind, every format, one-sentence
errors that write nothing, and a full disk that leaves the old file as it was."""

from __future__ import annotations

import csv
import io
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab import figures
from tests.figure_sessions import make_sessions

MAGIC = {
    ".pdf": b"%PDF",
    ".svg": b"<?xml",
    ".png": b"\x89PNG\r\n\x1a\n",
    ".eps": b"%!PS-Adobe-3.0 EPSF",
}
FORMATS = list(MAGIC)


def gradlab(*args: str, cwd: Path, fsize: int | None = None) -> subprocess.CompletedProcess:
    """Run ``gradlab ARGS`` in ``cwd``; ``fsize`` caps the size of any file it writes (bytes),
    as a full disk would (``ulimit -f``)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "gradlab", *args],
        cwd=cwd,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit if fsize is not None else None,
    )


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("gradlab: "), lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli")
    make_sessions(d)
    return d


def listing(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


@pytest.mark.parametrize(
    ("kind", "suffix"), [(k, FORMATS[i % 4]) for i, k in enumerate(figures.KINDS)]
)
def test_every_kind_from_the_command_line(folder, kind, suffix):
    sessions = ["xor.gradlab", "relu.gradlab"] if kind == "compare" else ["xor.gradlab"]
    out = f"cli-{kind}{suffix}"
    r = gradlab("export", *sessions, "--figure", kind, "--out", out, cwd=folder)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert (folder / out).read_bytes().startswith(MAGIC[suffix])


def test_every_format_with_size_dpi_and_style(folder):
    for suffix in FORMATS:
        out = f"sized{suffix}"
        r = gradlab(
            "export",
            "xor.gradlab",
            "--figure",
            "profile",
            "--out",
            out,
            "--width",
            "8",
            "--height",
            "4.5",
            "--dpi",
            "100",
            "--style",
            "slides",
            "--quantity",
            "act",
            "--layers",
            "1,out",
            cwd=folder,
        )
        assert r.returncode == 0, r.stderr
        data = (folder / out).read_bytes()
        assert data.startswith(MAGIC[suffix])
    from PIL import Image

    assert Image.open(folder / "sized.png").size == (800, 450)
    assert b'width="576pt" height="324pt"' in (folder / "sized.svg").read_bytes()


def test_tables_from_several_sessions(folder):
    for suffix in (".md", ".tex", ".csv"):
        r = gradlab("export", "xor.gradlab", "relu.gradlab", "--table", f"t{suffix}", cwd=folder)
        assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((folder / "t.csv").read_text(encoding="utf-8"))))
    assert [(r["activation"], r["init"]) for r in rows] == [
        ("tanh", "glorot_uniform"),
        ("relu", "he_normal"),
    ]
    assert "| tanh |" in (folder / "t.md").read_text(encoding="utf-8")
    assert "\\end{tabular}" in (folder / "t.tex").read_text(encoding="utf-8")


BAD = [
    ("unknown-kind", ["xor.gradlab", "--figure", "histograms", "--out", "f.pdf"], ["histograms"]),
    ("no-out", ["xor.gradlab", "--figure", "training"], ["--out"]),
    ("suffix", ["xor.gradlab", "--figure", "training", "--out", "f.jpg"], ["f.jpg", ".pdf"]),
    ("no-folder", ["xor.gradlab", "--figure", "training", "--out", "nowhere/f.pdf"], ["nowhere"]),
    ("out-is-folder", ["xor.gradlab", "--figure", "training", "--out", "sub.pdf"], ["sub.pdf"]),
    ("no-session", ["none.gradlab", "--figure", "training", "--out", "f.pdf"], ["none.gradlab"]),
    ("boundary-20d", ["gauss.gradlab", "--figure", "boundary", "--out", "f.png"], ["2-D"]),
    ("compare-one", ["xor.gradlab", "--figure", "compare", "--out", "f.pdf"], ["two or more"]),
    (
        "training-two",
        ["xor.gradlab", "relu.gradlab", "--figure", "training", "--out", "f.pdf"],
        ["only compare"],
    ),
    (
        "too-wide",
        ["xor.gradlab", "--figure", "training", "--out", "f.png", "--width", "100"],
        ["100 in", "limit"],
    ),
    (
        "too-many-dots",
        ["xor.gradlab", "--figure", "training", "--out", "f.png", "--width", "30", "--dpi", "1200"],
        ["pixels", "limit"],
    ),
    (
        "bad-quantity",
        ["xor.gradlab", "--figure", "training", "--out", "f.pdf", "--quantity", "x"],
        ["'x'"],
    ),
    (
        "bad-layers",
        ["xor.gradlab", "--figure", "profile", "--out", "f.pdf", "--layers", "1,7"],
        ["7"],
    ),
    ("table-suffix", ["xor.gradlab", "relu.gradlab", "--table", "t.txt"], [".md"]),
    ("table-one", ["xor.gradlab", "--table", "t.md"], ["two or more"]),
    ("stats-two", ["xor.gradlab", "relu.gradlab", "--stats", "s.json"], ["one session"]),
]


@pytest.mark.parametrize(("args", "words"), [pytest.param(a, w, id=i) for i, a, w in BAD])
def test_bad_kinds_and_paths_exit_2_and_write_nothing(folder, tmp_path, args, words):
    for name in ("xor.gradlab", "relu.gradlab", "gauss.gradlab"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    (tmp_path / "sub.pdf").mkdir()
    (tmp_path / "f.png").write_bytes(b"an old figure")  # a failed export leaves it alone
    before = listing(tmp_path)
    r = gradlab("export", *args, cwd=tmp_path)
    msg = one_line_error(r)
    for w in words:
        assert w in msg, msg
    assert listing(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "sub.pdf"])


@pytest.mark.parametrize("suffix", [".pdf", ".svg", ".png", ".eps", ".md"])
def test_a_full_disk_leaves_the_old_file_byte_identical(folder, tmp_path, suffix):
    for name in ("xor.gradlab", "relu.gradlab"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    if suffix == ".md":
        args = ["xor.gradlab", "relu.gradlab", "--table"]
        limit = 300  # the table is about 1 KB
    else:
        args = ["xor.gradlab", "--figure", "dashboard", "--out"]
        limit = 4096  # SVGs were cut at 4 KiB and the command said nothing
    ok = gradlab("export", *args, f"fresh{suffix}", cwd=tmp_path)  # (also warms caches)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / f"fresh{suffix}").stat().st_size > limit
    old = tmp_path / f"old{suffix}"
    old.write_bytes(b"the figure in my paper\n" * 3)
    before = listing(tmp_path)
    r = gradlab("export", *args, old.name, cwd=tmp_path, fsize=limit)
    msg = one_line_error(r)
    assert old.name in msg and "unchanged" in msg, msg
    assert listing(tmp_path) == before  # the old file as it was, no temporary file left
