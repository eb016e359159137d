"""Learning-rate schedules against their formulas, plateau reduction, state round trips."""

import json
import math
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradlab.engine import schedules
from gradlab.errors import SpecError
from gradlab.params import Param

ALL = ["constant", "cosine", "exponential", "one_cycle", "power", "reduce_on_plateau", "step"]


def test_every_schedule_is_registered_and_declares_its_params():
    assert schedules.names() == ALL
    for name in ALL:
        cls = schedules.info(name)
        assert cls.name == name and cls.description and "\n" not in cls.description
        assert all(isinstance(p, Param) and p.help for p in cls.params)
        assert schedules.get(name).hyper == {p.name: p.default for p in cls.params}
    assert isinstance(schedules.get("Plateau"), schedules.ReduceOnPlateau)
    assert isinstance(schedules.get("cosine-annealing"), schedules.Cosine)


def test_constant():
    sch = schedules.get("constant", lr=0.3)
    assert [sch.lr_at(s) for s in (0, 1, 10**9)] == [0.3, 0.3, 0.3]


@pytest.mark.parametrize("step", [0, 1, 99, 100, 101, 199, 200, 1234])
def test_step_decay(step):
    sch = schedules.get("step", lr=0.2, step_size=100, gamma=0.5)
    assert sch.lr_at(step) == pytest.approx(0.2 * 0.5 ** math.floor(step / 100), rel=1e-15)


def test_step_decay_boundaries():
    sch = schedules.get("step", lr=1.0, step_size=10)  # gamma defaults to 0.1
    assert sch.lr_at(9) == 1.0
    assert sch.lr_at(10) == pytest.approx(0.1)
    assert sch.lr_at(20) == pytest.approx(0.01)


@pytest.mark.parametrize("step", [0, 1, 500, 999, 1000, 1001, 5000])
def test_exponential_is_continuous_keras_decay(step):
    sch = schedules.get("exponential", lr=0.1)  # gamma 0.96, decay_steps 1000
    assert sch.lr_at(step) == pytest.approx(0.1 * 0.96 ** (step / 1000), rel=1e-14)
    assert sch.lr_at(1000) == pytest.approx(0.096, rel=1e-14)


@pytest.mark.parametrize("step", [0, 1, 250, 500, 999, 1000, 1001, 10**6])
def test_cosine(step):
    sch = schedules.get("cosine", lr=0.1, total_steps=1000, min_lr=0.001)
    expected = 0.001 + 0.5 * (0.1 - 0.001) * (1 + math.cos(math.pi * min(step, 1000) / 1000))
    assert sch.lr_at(step) == pytest.approx(expected, rel=1e-14, abs=1e-18)


def test_cosine_landmarks():
    sch = schedules.get("cosine", lr=0.1, total_steps=1000, min_lr=0.02)
    assert sch.lr_at(0) == pytest.approx(0.1, rel=1e-15)
    assert sch.lr_at(500) == pytest.approx(0.06, rel=1e-14)
    assert sch.lr_at(1000) == pytest.approx(0.02, rel=1e-15)
    assert sch.lr_at(5000) == pytest.approx(0.02, rel=1e-15)


def test_cosine_warmup_is_linear_from_zero_then_cosine_over_the_rest():
    sch = schedules.get("cosine", lr=0.1, total_steps=1100, warmup_steps=100)
    assert sch.lr_at(0) == 0.0
    assert sch.lr_at(50) == pytest.approx(0.05, rel=1e-15)
    assert sch.lr_at(99) == pytest.approx(0.099, rel=1e-14)
    assert sch.lr_at(100) == pytest.approx(0.1, rel=1e-15)
    assert sch.lr_at(600) == pytest.approx(0.05, rel=1e-14)
    for step in (150, 777, 1099):
        expected = 0.5 * 0.1 * (1 + math.cos(math.pi * (step - 100) / 1000))
        assert sch.lr_at(step) == pytest.approx(expected, rel=1e-14)
    assert sch.lr_at(1100) == pytest.approx(0.0, abs=1e-18)


@given(st.integers(0, 3000), st.integers(0, 3000))
def test_cosine_never_rises_after_warmup_and_stays_in_range(a, b):
    sch = schedules.get("cosine", lr=0.5, total_steps=2000, min_lr=0.01, warmup_steps=200)
    lo, hi = sorted((a, b))
    assert 0.0 <= sch.lr_at(lo) <= 0.5 + 1e-15
    if lo >= 200:
        assert sch.lr_at(hi) <= sch.lr_at(lo) + 1e-15
        assert sch.lr_at(hi) >= 0.01 - 1e-15


def test_cosine_total_steps_from_the_run_budget():
    sch = schedules.get("cosine", lr=0.1)
    assert sch.total_steps is None
    with pytest.raises(SpecError, match=r"^total_steps: "):
        sch.lr_at(0)
    assert sch.resolve(400) is sch
    assert sch.lr_at(200) == pytest.approx(0.05, rel=1e-14)
    assert sch.lr_at(400) == pytest.approx(0.0, abs=1e-18)
    with pytest.raises(SpecError, match=r"^total_steps: "):
        schedules.get("cosine").resolve(None)  # an open-ended run cannot use cosine
    fixed = schedules.get("cosine", lr=0.1, total_steps=100).resolve(400)  # explicit value wins
    assert fixed.lr_at(100) == pytest.approx(0.0, abs=1e-18)
    with pytest.raises(SpecError, match=r"^warmup_steps: must be < total_steps"):
        schedules.get("cosine", warmup_steps=50).resolve(50)


def test_pure_schedules_ignore_observe():
    for name in ("constant", "step", "exponential"):
        sch = schedules.get(name, lr=0.1)
        before = [sch.lr_at(s) for s in (0, 10, 5000)]
        for i in range(30):
            assert sch.observe(i, 1.0) is False
        assert [sch.lr_at(s) for s in (0, 10, 5000)] == before


def _plateau(**kw):
    return schedules.get("reduce_on_plateau", lr=1.0, **kw)


def test_plateau_reduces_at_the_patience_th_bad_evaluation():
    sch = _plateau(patience=3, factor=0.5)
    for step, loss in enumerate([1.0, 0.9, 0.8, 0.7]):  # improving: no change
        assert sch.observe(step, loss) is False
    assert sch.lr_at(4) == 1.0
    assert sch.observe(4, 0.7) is False  # 1 bad
    assert sch.observe(5, 0.75) is False  # 2 bad
    assert sch.lr_at(6) == 1.0
    assert sch.observe(6, 0.71) is True  # 3 bad: reduce
    assert sch.lr_at(7) == 0.5
    assert sch.observe(7, 0.72) is False  # the count restarted after the reduction
    assert sch.observe(8, 0.6) is False  # improvement resets it
    assert sch.observe(9, 0.6) is False
    assert sch.observe(10, 0.6) is False
    assert sch.observe(11, 0.6) is True
    assert sch.lr_at(12) == 0.25


def test_plateau_threshold_is_relative():
    sch = _plateau(patience=2, threshold=0.01)
    sch.observe(0, 1.0)
    sch.observe(1, 0.995)  # only 0.5 % better: counts as bad
    assert sch.observe(2, 0.9901) is True  # still not 1 % better than 1.0
    assert sch.lr_at(3) == pytest.approx(0.1)
    sch = _plateau(patience=2, threshold=0.01)
    sch.observe(0, 1.0)
    sch.observe(1, 0.98)  # 2 % better: improvement, best = 0.98
    assert sch.observe(2, 0.975) is False  # bad 1 (< 1 % below 0.98)
    assert sch.observe(3, 0.96) is False  # 2 % below 0.98: improvement
    assert sch.lr_at(4) == 1.0


def test_plateau_respects_min_lr():
    sch = _plateau(patience=1, factor=0.1, min_lr=0.005)
    sch.observe(0, 1.0)
    lrs = []
    for step in range(1, 6):
        sch.observe(step, 2.0)
        lrs.append(sch.lr_at(step))
    assert lrs == pytest.approx([0.1, 0.01, 0.005, 0.005, 0.005])
    assert sch.state_dict()["state"]["num_reductions"] == 3


def test_plateau_cooldown_ignores_evaluations_after_a_reduction():
    sch = _plateau(patience=2, cooldown=3, factor=0.5)
    sch.observe(0, 1.0)
    sch.observe(1, 1.0)
    assert sch.observe(2, 1.0) is True  # reduced to 0.5
    for step in (3, 4, 5):  # cooldown: bad evaluations are not counted
        assert sch.observe(step, 1.0) is False
    assert sch.observe(6, 1.0) is False  # bad 1
    assert sch.observe(7, 1.0) is True  # bad 2: reduced to 0.25
    assert sch.lr_at(8) == 0.25


def test_plateau_nan_loss_is_never_an_improvement_and_state_stays_json():
    sch = _plateau(patience=2)
    sch.observe(0, float("nan"))
    assert sch.state_dict()["state"]["best"] is None
    assert sch.observe(1, float("inf")) is True
    json.dumps(sch.state_dict(), allow_nan=False)


def test_plateau_state_round_trip_continues_identically():
    losses = [1.0, 0.9, 0.95, 0.93, 0.96, 0.97, 0.89, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95]
    straight = _plateau(patience=2, cooldown=1, factor=0.5, min_lr=0.1)
    expected = []
    for i, loss in enumerate(losses):
        straight.observe(i, loss)
        expected.append(straight.lr_at(i))
    first = _plateau(patience=2, cooldown=1, factor=0.5, min_lr=0.1)
    got = []
    for i, loss in enumerate(losses[:5]):
        first.observe(i, loss)
        got.append(first.lr_at(i))
    saved = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    second = schedules.get("plateau")  # defaults: the state brings its hyper-parameters
    second.load_state_dict(saved)
    assert second.hyper == first.hyper
    for i, loss in enumerate(losses[5:], start=5):
        second.observe(i, loss)
        got.append(second.lr_at(i))
    assert got == expected
    assert expected[-1] < 1.0  # the sequence did reduce


@pytest.mark.parametrize("name", ALL)
def test_state_round_trip_for_every_schedule(name):
    sch = schedules.get(name, lr=0.2)
    sch.resolve(777)
    saved = json.loads(json.dumps(sch.state_dict(), allow_nan=False))
    other = schedules.get(name)
    other.load_state_dict(saved)
    assert [other.lr_at(s) for s in (0, 5, 400, 900)] == [sch.lr_at(s) for s in (0, 5, 400, 900)]


def test_load_state_dict_refuses_another_schedule():
    with pytest.raises(ValueError, match="'step', not 'cosine'"):
        schedules.get("cosine").load_state_dict(schedules.get("step").state_dict())


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("constant", {"lr": -0.1}, "lr: must be > 0"),
        ("step", {"step_size": 0}, "step_size: must be >= 1, got 0"),
        ("step", {"step_size": 2.5}, "step_size: must be a whole number"),
        ("step", {"gamma": 0}, "gamma: must be > 0"),
        ("exponential", {"gamma": 1.5}, "gamma: must be <= 1"),
        ("exponential", {"decay_steps": -3}, "decay_steps: must be >= 1"),
        ("cosine", {"total_steps": 0}, "total_steps: must be >= 1"),
        ("cosine", {"lr": 0.1, "min_lr": 0.2}, "min_lr: must be <= lr"),
        ("cosine", {"total_steps": 10, "warmup_steps": 10}, "warmup_steps: must be < total_steps"),
        ("reduce_on_plateau", {"factor": 1.0}, "factor: must be < 1"),
        ("reduce_on_plateau", {"patience": 0}, "patience: must be >= 1"),
        ("reduce_on_plateau", {"cooldown": -1}, "cooldown: must be >= 0"),
        ("reduce_on_plateau", {"mode": "max"}, "mode: unknown field"),
        ("power", {"step_size": 0}, "step_size: must be >= 1"),
        ("power", {"power": 0}, "power: must be > 0"),
        ("one_cycle", {"total_steps": 2}, "total_steps: must be >= 3"),
        ("one_cycle", {"div_factor": 0.5}, "div_factor: must be >= 1"),
        ("one_cycle", {"min_momentum": 0.96}, "min_momentum: must be <= max_momentum"),
        ("one_cycle", {"annihilation": 0.7}, "annihilation: must be <= 0.5"),
    ],
)
def test_bad_hyper_parameters_name_the_field(name, hyper, message):
    with pytest.raises(SpecError) as err:
        schedules.get(name, **hyper)
    assert str(err.value).startswith(message)


def test_unknown_schedule_lists_the_choices():
    with pytest.raises(SpecError) as err:
        schedules.get("linear")
    for name in ALL:
        assert name in str(err.value)


def test_negative_step_is_refused():
    with pytest.raises(ValueError, match="step must be >= 0"):
        schedules.get("exponential").lr_at(-1)


# ============================================================================ Hands-On ML ch. 11
@given(st.integers(0, 10**7))
def test_power_scheduling_formula(step):
    """η_t = η₀ / (1 + t/s)^c."""
    sch = schedules.get("power", lr=0.2, step_size=300, power=1.5)
    assert sch.lr_at(step) == pytest.approx(0.2 / (1 + step / 300) ** 1.5, rel=1e-13)


def test_power_scheduling_landmarks():
    """c = 1: halved after s steps, a third after 2s (fast at first, then slowly)."""
    sch = schedules.get("power", lr=0.1, step_size=1000)
    got = [sch.lr_at(t) for t in (0, 1000, 2000, 9000)]
    assert got == pytest.approx([0.1, 0.05, 0.1 / 3, 0.01])
    assert schedules.get("inverse_time").name == "power"


def one_cycle_reference(t, T, top, div=10.0, final=1000.0, a=0.1, hi=0.95, lo=0.85):
    """The 1cycle policy as Géron writes his OneCycleScheduler (plus the momentum), by hand."""
    last = int(a * T + 1e-9) + 1
    half = (T - last) // 2
    low, end = top / div, top / div / final
    if t < half:
        return low + (top - low) * t / half, hi - (hi - lo) * t / half
    if t < 2 * half:
        return top - (top - low) * (t - half) / half, lo + (hi - lo) * (t - half) / half
    return low + (end - low) * min(t - 2 * half, T - 2 * half) / (T - 2 * half), hi


@pytest.mark.parametrize("total", [3, 10, 97, 1000])
def test_one_cycle_formula(total):
    sch = schedules.get("one_cycle", lr=0.4, total_steps=total)
    for t in range(total + 5):
        lr, mom = one_cycle_reference(t, total, 0.4)
        assert sch.lr_at(t) == pytest.approx(lr, rel=1e-12), t
        assert sch.momentum_at(t) == pytest.approx(mom, rel=1e-12), t


def test_one_cycle_shape_rise_fall_annihilate_and_inverse_momentum():
    """1000 steps: A = 101, H = 449. A linear rise from η_max/10 to η_max at step 449, back to
    η_max/10 at 898, then down to η_max/10⁴; the momentum falls 0.95 → 0.85 as the rate rises,
    rises back as it falls, and stays at 0.95 in the last phase."""
    sch = schedules.get("1cycle", lr=1.0, total_steps=1000)
    assert sch.phases() == (1000, 101, 449)
    lrs = [sch.lr_at(t) for t in range(1000)]
    moms = [sch.momentum_at(t) for t in range(1000)]
    assert lrs[0] == pytest.approx(0.1) and max(lrs) == lrs[449] == pytest.approx(1.0)
    assert lrs[898] == pytest.approx(0.1)
    assert sch.lr_at(1000) == pytest.approx(1e-4) and lrs[999] < 2e-3
    assert all(b > a for a, b in pairwise(lrs[:450]))  # linear rise
    assert all(b < a for a, b in pairwise(lrs[449:1000]))  # then falling
    rises = [b - a for a, b in pairwise(lrs[:450])]
    assert max(rises) - min(rises) < 1e-12  # linear
    assert moms[0] == 0.95 and moms[449] == pytest.approx(0.85) and moms[898:] == [0.95] * 102
    for t in range(1, 898):  # inverse: when the rate goes up, the momentum goes down
        assert (lrs[t] - lrs[t - 1]) * (moms[t] - moms[t - 1]) < 0
    assert schedules.get("one_cycle", cycle_momentum=False, total_steps=10).momentum_at(3) is None


def test_one_cycle_takes_the_run_budget():
    sch = schedules.get("one_cycle", lr=0.1)
    with pytest.raises(SpecError, match="total_steps"):
        sch.resolve(None)
    sch.resolve(200)
    assert sch.phases()[0] == 200
    saved = json.loads(json.dumps(sch.state_dict()))
    other = schedules.get("one_cycle")
    other.load_state_dict(saved)
    assert [other.lr_at(t) for t in range(0, 220, 7)] == [sch.lr_at(t) for t in range(0, 220, 7)]


def test_performance_scheduling_is_reduce_on_plateau():
    """Hands-On ML's "performance scheduling" is the plateau schedule, named so in its help."""
    assert schedules.get("performance").name == "reduce_on_plateau"
    assert "Performance scheduling" in schedules.info("reduce_on_plateau").description
    assert schedules.info("step").schedules_momentum is False
    assert schedules.get("step").momentum_at(5) is None
