"""docs/reference.md cannot rot: its Python examples run, and every command-line option it names
is an option of the real parser (and every real option is named there).

The examples run as scripts (the sweep example needs ``if __name__ == "__main__":`` for its
worker processes), in order, in one temporary folder: the first writes ``spiral.gradlab`` and
later ones read it, as the reference says.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gradlab import cli

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
#: the subcommands whose options the reference documents (``data`` has two of its own)
COMMANDS = {
    "": [],
    "run": ["run"],
    "export": ["export"],
    "info": ["info"],
    "presets": ["presets"],
    "data list": ["data", "list"],
    "data fetch": ["data", "fetch"],
    "sweep": ["sweep"],
}


def _text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return [body for kind, body in FENCE.findall(_text()) if kind == lang]


def _real_options(argv: list[str]) -> set[str]:
    """The options ``gradlab ARGV --help`` lists (the real parsers, through the real entry)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([*argv, "--help"])
    assert code == 0, f"gradlab {' '.join(argv)} --help failed"
    usage = out.getvalue()
    return set(OPTION.findall(usage)) - {"--help"}


def _cli_sections() -> dict[str, str]:
    """The reference's command-line section, split at its ``### `gradlab ...` `` headings:
    {"run": text, "data list": text, ...}; the window's section is ""."""
    text = _text()
    start = text.index("## The command line")
    end = text.index("\n## ", start + 1)
    sections: dict[str, str] = {}
    name = None
    for line in text[start:end].splitlines():
        m = re.match(r"### `gradlab ?([a-z ]*?)(?: \[FILE\])?`(?:, `gradlab ([a-z ]+)`)?$", line)
        if m:
            name = m.group(1).strip()
            sections.setdefault(name, "")
            if m.group(2):  # "### `gradlab data list`, `gradlab data fetch`": one table
                sections[name] += "\n[shared with: " + m.group(2).strip() + "]\n"
            continue
        if line.startswith("### "):
            name = None
        elif name is not None:
            sections[name] += line + "\n"
    return sections


def _table_rows(text: str) -> str:
    """The option tables' rows of a section (its prose may mention other commands' options)."""
    return "\n".join(line for line in text.splitlines() if line.startswith("| `"))


def test_the_reference_has_examples_to_run():
    blocks = _blocks("python")
    assert len(blocks) >= 6, f"docs/reference.md has only {len(blocks)} python examples"
    assert any("load_session" in b for b in blocks)
    assert any("figures.plot" in b for b in blocks)
    assert any("sweep.run" in b for b in blocks)


def test_every_python_example_in_the_reference_runs(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}  # GRADLAB_DATA_DIR: conftest's temporary folder
    for i, code in enumerate(_blocks("python"), 1):
        script = tmp_path / f"example_{i}.py"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
        first = code.strip().splitlines()[0]
        assert done.returncode == 0, (
            f"example {i} of docs/reference.md ({first!r}) failed:\n{done.stderr[-3000:]}"
        )
    # what the examples say they write is there, and is what they say
    assert (tmp_path / "act0.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "speed.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "spiral.csv").read_text().startswith("step,layer,stat,value")
    assert (tmp_path / "sw" / "results.md").is_file()
    assert len(list((tmp_path / "sw" / "trials").glob("*.gradlab"))) == 4


def test_every_subcommand_has_its_section_and_every_option_is_documented():
    sections = _cli_sections()
    assert set(COMMANDS) - {"data fetch"} <= set(sections), sorted(sections)
    data_text = sections["data list"]
    for name, argv in COMMANDS.items():
        text = data_text if name.startswith("data") else sections[name]
        named = set(OPTION.findall(_table_rows(text))) - {"--help"}
        real = _real_options(argv)
        missing = real - named
        assert not missing, f"gradlab {name}: {sorted(missing)} are not in docs/reference.md"
        if not name.startswith("data"):  # the two data commands share a table
            unknown = named - real
            assert not unknown, f"docs/reference.md names {sorted(unknown)} for gradlab {name}"
    both = _real_options(["data", "list"]) | _real_options(["data", "fetch"])
    unknown = set(OPTION.findall(_table_rows(data_text))) - both
    assert not unknown, f"docs/reference.md names {sorted(unknown)} for gradlab data"


def test_every_command_line_in_the_reference_parses_with_the_real_parser():
    """Each ``gradlab ...`` line of the reference's shell examples: its subcommand exists and
    each of its options is one that subcommand takes."""
    lines = [
        line.split("#")[0].strip()
        for block in _blocks("sh")
        for line in block.splitlines()
        if line.strip().startswith("gradlab")
    ]
    assert len(lines) >= 8
    for line in lines:
        words = line.split()[1:]
        argv = words[:2] if words[:1] == ["data"] else words[:1]
        if not argv or argv[0] not in cli.SUBCOMMANDS:
            argv = []  # the window
        real = _real_options(argv)
        for opt in OPTION.findall(line):
            assert opt in real, f"{line!r}: gradlab {' '.join(argv)} has no option {opt}"


@pytest.mark.parametrize("sub", cli.SUBCOMMANDS)
def test_every_real_subcommand_is_in_the_reference_and_in_gradlab_help(sub):
    assert f"`gradlab {sub}" in _text()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--help"]) == 0
    assert re.search(rf"\b{sub}\b", " ".join(out.getvalue().split())), f"gradlab --help omits {sub}"
