"""Fuzzing the sessions readers: hypothesis draws hostile variations (see tests/fuzz_child.py) and
hands each to the real reader, in one child process limited to 1.5 GB of address space; every
example must be refused in one sentence (exit 2) or accepted and usable, and the whole run stays
under 600 MB. The examples are derandomized, so CI sees the same ones every time."""

import sys
from pathlib import Path

from tests import hostile as H

CHILD = Path(__file__).with_name("fuzz_child.py")
EXAMPLES = 400


def test_hostile_sessions_are_refused_in_one_sentence_or_accepted_and_usable(tmp_path):
    out = H.run_limited([sys.executable, str(CHILD), "sessions", str(EXAMPLES)], tmp_path,
                        env={"GRADLAB_MAX_MEMORY": "256M"}, wall=600, cpu=300)
    assert out.code == 0, out.stderr[-6000:]
    assert f"sessions: {EXAMPLES} examples" in out.stdout, out.stdout
    assert out.peak_rss < H.RSS_LIMIT, f"peak memory {out.peak_rss / H.MiB:.0f} MB"
