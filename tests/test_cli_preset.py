"""``gradlab info --preset NAME``: a preset's published numbers (with their source) beside what
GradLab measured with it, as the preset's ``reference`` says them."""

from __future__ import annotations

import re

import pytest

from gradlab.experiment import presets
from tests.test_cli import gradlab_cmd, one_line_error


def block(out: str, label: str) -> str:
    """The text printed under ``label`` (its indented lines, unwrapped)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(label))
    while not lines[start].endswith(":"):  # a long label wraps too
        start += 1
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        body.append(line.strip())
    return " ".join(body)


@pytest.mark.parametrize("name", ["cs231n-tanh-0.01", "glorot-tanh-normalized"])
def test_info_preset_prints_published_and_measured(tmp_path, name):
    ref = presets.load(name)["reference"]
    r = gradlab_cmd("info", "--preset", name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    assert re.search(rf"^preset\s+{re.escape(name)}$", out, re.M), out
    assert f"published ({ref['source'][:30]}" in out.replace("\n    ", " ")
    assert block(out, "published") == ref["published"]
    assert block(out, "measured here") == ref["measured"]
    assert max(map(len, out.splitlines()[2:])) <= 100  # wrapped for a terminal


def test_info_preset_of_a_family_prints_every_member(tmp_path):
    members = presets.family("handson-activations")
    assert len(members) > 1
    r = gradlab_cmd("info", "--preset", "handson-activations", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    named = re.findall(r"^preset\s+(\S+)$", r.stdout, re.M)
    assert named == members
    assert r.stdout.count("measured here:") == len(members)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["info", "--preset", "nope"], ["nope", "spiral"]),
        (["info"], ["FILE", "--preset"]),
        (["info", "a.gradlab", "--preset", "spiral"], ["FILE", "--preset"]),
    ],
    ids=["unknown", "neither", "both"],
)
def test_info_preset_errors_are_one_sentence(tmp_path, args, words):
    line = one_line_error(gradlab_cmd(*args, cwd=tmp_path))
    assert all(w in line for w in words), line
