"""The bounded, thread-safe history: step striding, probe thinning, persistence, readers."""

from __future__ import annotations

import itertools
import json
import threading

import numpy as np
import pytest

from gradlab.experiment.history import History
from gradlab.experiment.probes import HIST_QUANTITIES, LAYER_STATS, ProbeRecord

L = 3
BINS = 6
NAMES = ["dense1", "dense2", "dense3"]


def record(k: int, step: int | None = None) -> ProbeRecord:
    """A probe whose every number encodes k, so a row can be checked for consistency:
    stat s of layer l = k + 10 * s_index + 0.1 * l; hist counts = k % 1000; range = (-k-1, k+1)."""
    step = k if step is None else step
    stats = {
        s: np.array([k + 10.0 * j + 0.1 * l for l in range(L)]) for j, s in enumerate(LAYER_STATS)
    }
    hists = {q: np.full((L, BINS), k % 1000, np.int32) for q in HIST_QUANTITIES}
    ranges = {q: np.tile([-k - 1.0, k + 1.0], (L, 1)) for q in HIST_QUANTITIES}
    return ProbeRecord(step, step / 100, 1.0 / (k + 1), 0.01, stats, hists, ranges)


def history(**kw) -> History:
    return History(NAMES, BINS, **kw)


# ---------------------------------------------------------------------------- steps


def add_steps(h: History, steps) -> None:
    for s in steps:
        h.append_step(s, s / 10, 1.0 / s, 0.1, 2.0 * s, s % 3 == 0)


def test_every_step_is_kept_up_to_the_capacity():
    h = history(step_capacity=16)
    add_steps(h, range(1, 16))
    st = h.steps()
    np.testing.assert_array_equal(st["step"], np.arange(1, 16))
    np.testing.assert_array_equal(st["loss"], 1.0 / np.arange(1, 16))
    np.testing.assert_array_equal(st["clipped"], np.arange(1, 16) % 3 == 0)
    assert st["step"].dtype == np.int64 and st["clipped"].dtype == np.bool_


def test_steps_past_the_capacity_are_strided_evenly():
    cap = 16
    h = history(step_capacity=cap)
    n_max = 0
    for s in range(1, 1001):
        add_steps(h, [s])
        n_max = max(n_max, h.n_steps)
    assert n_max <= cap
    st = h.steps()
    stride = int(st["step"][1] - st["step"][0])
    assert stride > 1 and stride & (stride - 1) == 0, "a power of two"
    # exactly the multiples of the stride, each with its own values
    np.testing.assert_array_equal(st["step"], np.arange(stride, 1001, stride))
    np.testing.assert_array_equal(st["grad_norm"], 2.0 * st["step"])
    np.testing.assert_array_equal(st["epoch"], st["step"] / 10)
    assert h.n_steps < cap
    assert h.n_steps >= cap // 2 - 1, "thinning keeps half, not less"


# ---------------------------------------------------------------------------- probes


def add_probes(h: History, n: int, start: int = 0) -> None:
    for k in range(start, start + n):
        h.append_probe(record(k, step=10 * k), k)


def test_probes_are_thinned_evenly_keeping_the_first_and_the_newest():
    h = history(probe_capacity=8)
    n_max = 0
    for k in range(100):
        h.append_probe(record(k, step=10 * k), k)
        n_max = max(n_max, h.n_probes)
        idx = h.probe_column("index")
        assert idx[0] == 0, "the step-0 probe is never dropped"
        assert idx[-1] == k, "the newest probe is always there"
    assert n_max < 8
    idx = h.probe_column("index")
    older = idx[:-1]
    stride = int(older[1] - older[0])
    assert stride > 1
    np.testing.assert_array_equal(older, np.arange(0, len(older) * stride, stride))
    assert idx[-1] - older[-1] <= stride, "no gap wider than the stride before the newest"
    np.testing.assert_array_equal(h.probe_steps(), 10 * idx)
    # every kept row still holds its own numbers
    for i, k in enumerate(idx):
        row = h.probe(i)
        assert row["index"] == k and row["step"] == 10 * k
        np.testing.assert_array_equal(row["stats"]["act_mean"], record(int(k)).stats["act_mean"])
        np.testing.assert_array_equal(row["ranges"]["act"], np.tile([-k - 1.0, k + 1.0], (L, 1)))


def test_probe_history_is_bounded_over_a_long_run():
    cap = 64
    h = history(probe_capacity=cap, step_capacity=1000)
    row_bytes = None
    n_max = 0
    for k in range(20_000):
        h.append_probe(record(k), k)
        add_steps(h, [k + 1])
        n_max = max(n_max, h.n_probes)
        if k == 100:
            _, arrays = h.to_arrays()
            row_bytes = sum(v.nbytes for n, v in arrays.items() if "/probes/" in n) / h.n_probes
    assert n_max < cap
    assert h.n_steps < 1000
    _, arrays = h.to_arrays()
    probe_bytes = sum(v.nbytes for n, v in arrays.items() if "/probes/" in n)
    assert probe_bytes <= cap * row_bytes
    # what the history holds in memory, not only what it hands out, stays bounded
    held = sum(v.nbytes for v in h._probes.cols.values())
    assert held <= 2 * cap * row_bytes
    held_steps = sum(v.nbytes for v in h._steps.cols.values())
    assert held_steps <= 2 * 1024 * 49


def test_probe_accessors():
    h = history(probe_capacity=100)
    add_probes(h, 5)  # steps 0, 10, 20, 30, 40
    assert h.n_probes == 5 and h.n_layers == L
    np.testing.assert_array_equal(h.probe_steps(), [0, 10, 20, 30, 40])
    assert h.probe(-1)["step"] == 40 and h.probe(0)["step"] == 0
    assert h.probe(-5)["step"] == 0
    with pytest.raises(IndexError):
        h.probe(5)
    with pytest.raises(IndexError):
        h.probe(-6)
    row = h.probe(2)
    assert set(row["stats"]) == set(LAYER_STATS)
    assert set(row["hists"]) == set(HIST_QUANTITIES)
    assert row["hists"]["delta"].shape == (L, BINS)
    assert row["loss"] == pytest.approx(1 / 3) and row["epoch"] == pytest.approx(0.2)
    # probe_index_at: the last probe at or before a step (0 before the first)
    assert [h.probe_index_at(s) for s in (0, 5, 10, 19, 20, 40, 1000)] == [0, 0, 1, 1, 2, 4, 4]
    assert h.probe_index_at(-3) == 0
    # columns and several stats under one lock, (n, L) each
    col = h.probe_column("act_std")
    assert col.shape == (5, L)
    np.testing.assert_array_equal(col[:, 0], np.arange(5) + 10.0 * LAYER_STATS.index("act_std"))
    np.testing.assert_array_equal(h.probe_column("index"), np.arange(5))
    stats = h.probe_stats(["act_mean", "delta_norm"])
    assert set(stats) == {"act_mean", "delta_norm"} and stats["act_mean"].shape == (5, L)
    counts, ranges = h.hist_series("wgrad_log")
    assert counts.shape == (5, L, BINS) and ranges.shape == (5, L, 2)
    np.testing.assert_array_equal(counts[:, 0, 0], np.arange(5))
    np.testing.assert_array_equal(ranges[:, 0, 1], np.arange(5) + 1.0)


def test_readers_get_copies():
    h = history()
    add_probes(h, 3)
    add_steps(h, [1, 2])
    h.probe_column("act_mean")[:] = -1
    h.hist_series("act")[0][:] = -1
    h.steps()["loss"][:] = -1
    h.probe(0)["stats"]["act_mean"][:] = -1
    assert (h.probe_column("act_mean") >= 0).all()
    assert (h.hist_series("act")[0] >= 0).all()
    assert (h.steps()["loss"] > 0).all()


def test_an_empty_history_reads_cleanly():
    h = history()
    assert h.n_probes == 0 and h.n_steps == 0
    assert h.probe_steps().shape == (0,)
    assert h.probe_column("act_mean").shape == (0, L)
    assert h.hist_series("act")[0].shape == (0, L, BINS)
    assert h.probe_index_at(10) == 0
    with pytest.raises(IndexError):
        h.probe(0)


def test_version_increases_with_every_change():
    h = history()
    seen = [h.version]
    add_steps(h, [1])
    seen.append(h.version)
    h.append_probe(record(0), 0)
    seen.append(h.version)
    h.append_eval(1, 0.5, 0.8, 0.6, 0.7)
    seen.append(h.version)
    h.add_event(1, "lr", "learning rate set", severity="info")
    seen.append(h.version)
    h.set_theory({"q": np.ones(L)})
    seen.append(h.version)
    h.truncate_after(0)
    seen.append(h.version)
    assert all(b > a for a, b in itertools.pairwise(seen))


# ---------------------------------------------------------------------------- persistence


def filled_history() -> History:
    h = history(probe_capacity=8, step_capacity=16)
    for k in range(30):
        add_steps(h, [k + 1])
        if k % 3 == 0:
            h.append_probe(record(k // 3, step=k), k // 3)
        if k % 10 == 0:
            h.append_eval(k, 1.0 / (k + 1), 0.5, 2.0 / (k + 1), 0.4)
    h.add_event(5, "vanishing", "vanishing gradients", layer="dense1")
    h.add_event(20, "lr", "learning rate set to 0.1", severity="info")
    h.set_theory({"q": np.array([1.0, 0.5, 0.25]), "chi": np.array([0.9, 0.8, 1.0])})
    return h


def assert_same_history(a: History, b: History) -> None:
    ma, xa = a.to_arrays()
    mb, xb = b.to_arrays()
    assert ma == mb
    assert set(xa) == set(xb)
    for k in xa:
        assert xa[k].dtype == xb[k].dtype, k
        np.testing.assert_array_equal(xa[k], xb[k], err_msg=k)


def test_to_arrays_from_arrays_round_trip():
    h = filled_history()
    meta, arrays = h.to_arrays()
    assert set(History.array_names(meta)) <= set(arrays)
    g = History.from_arrays(meta, arrays)
    assert_same_history(h, g)
    assert g.layer_names == NAMES and g.bins == BINS
    assert g.events_copy() == h.events_copy()
    np.testing.assert_array_equal(g.theory["chi"], [0.9, 0.8, 1.0])
    assert g.step_stride == h.step_stride and g.probe_stride == h.probe_stride
    # and both go on identically (strides, thinning, provisional newest)
    for x in (h, g):
        for k in range(30, 60):
            add_steps(x, [k + 1])
            if k % 3 == 0:
                x.append_probe(record(k // 3, step=k), k // 3)
    assert_same_history(h, g)


def test_to_arrays_survives_a_json_round_trip_of_the_metadata():
    h = filled_history()
    meta, arrays = h.to_arrays()
    g = History.from_arrays(json.loads(json.dumps(meta, allow_nan=False)), arrays)
    assert_same_history(h, g)


def test_truncate_after_forgets_the_future():
    h = history(probe_capacity=100)
    add_steps(h, range(1, 51))
    add_probes(h, 6)  # steps 0..50 by 10
    h.append_eval(20, 0.5, 0.5, 0.5, 0.5)
    h.append_eval(40, 0.4, 0.6, 0.4, 0.6)
    h.add_event(15, "dead", "dead units")
    h.add_event(35, "lr", "lr set")
    h.truncate_after(25)
    np.testing.assert_array_equal(h.steps()["step"], np.arange(1, 26))
    np.testing.assert_array_equal(h.probe_steps(), [0, 10, 20])
    np.testing.assert_array_equal(h.evals()["step"], [20])
    assert [e["step"] for e in h.events_copy()] == [15]
    # recording goes on from there
    add_steps(h, [26, 27])
    h.append_probe(record(3, step=30), 3)
    np.testing.assert_array_equal(h.steps()["step"][-3:], [25, 26, 27])
    np.testing.assert_array_equal(h.probe_steps(), [0, 10, 20, 30])


def test_events_are_plain_dicts():
    h = history()
    ev = h.add_event(3, "nan", "Training diverged at step 3", layer="dense2", severity="error")
    assert ev == {
        "step": 3,
        "kind": "nan",
        "severity": "error",
        "layer": "dense2",
        "message": "Training diverged at step 3",
    }
    copy_ = h.events_copy()
    copy_[0]["kind"] = "changed"
    assert h.events_copy()[0]["kind"] == "nan"


# ---------------------------------------------------------------------------- threads


def test_readers_never_see_a_half_written_row():
    """A writer thread appends 2,000 probes (thinning over and over) and steps while this thread
    reads: every row it sees must be whole and every set of columns read together must agree."""
    h = history(probe_capacity=16, step_capacity=64)
    started, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    offset = 10.0 * LAYER_STATS.index("delta_std")

    def writer():
        try:
            started.set()
            for k in range(2000):
                h.append_probe(record(k), k)
                add_steps(h, [k + 1])
        except BaseException as err:  # surfaced by the main thread
            errors.append(err)
        finally:
            done.set()

    t = threading.Thread(target=writer)
    t.start()
    started.wait()
    reads = 0
    while True:
        finished = done.is_set()
        stats = h.probe_stats(["act_mean", "delta_std"])
        assert len(stats["act_mean"]) == len(stats["delta_std"])
        np.testing.assert_array_equal(stats["delta_std"], stats["act_mean"] + offset)
        k = stats["act_mean"][:, 0]
        assert (np.diff(k) > 0).all(), "rows in order"
        counts, ranges = h.hist_series("pre")
        assert len(counts) == len(ranges)
        for c, r in zip(counts, ranges):
            assert (c == (r[0, 1] - 1) % 1000).all(), "counts and range from different probes"
        if h.n_probes:
            row = h.probe(-1)
            assert row["stats"]["act_mean"][0] == row["step"] == row["index"]
        st = h.steps()
        assert len({len(v) for v in st.values()}) == 1
        np.testing.assert_array_equal(st["grad_norm"], 2.0 * st["step"])
        reads += 1
        if finished:
            break
    t.join()
    assert not errors, errors
    assert reads >= 1
    assert h.probe(-1)["index"] == 1999
    assert h.n_probes < 16
