"""The core LP against independent closed-form answers, hand-solved cases and
hypothesis properties. Real HiGHS, real files."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from optimizer.io.writers import allocation_csv
from tests.conftest import write_instance
from tests.reference import fractional_knapsack_shortfall, required_transfer, water_filling

# ---- hand-solved: instances/toy-3 (docs/math.md walks through these) ---------------

def test_toy3_maxmin_by_hand(toy3):
    # Alpha 0.2 -> 0.6 costs 40; then Alpha+Beta share 20 over need 200: +0.1 -> 0.7.
    r = solve(load_instance(toy3), SolveOptions(objective="maxmin"))
    assert r.summary["objective_value"] == pytest.approx(0.7, abs=1e-9)
    assert list(r.allocation.transfer) == pytest.approx([50.0, 10.0, 0.0], abs=1e-7)
    assert list(r.allocation.binding) == ["floor", "floor", ""]
    # one more unit of budget spreads over need 200: d z / d B = 1/200
    assert r.summary["budget_shadow_price"] == pytest.approx(1 / 200, rel=1e-6)


def test_toy3_min_cost_by_hand(toy3):
    r = solve(load_instance(toy3), SolveOptions(objective="min-cost"))
    assert r.summary["objective_value"] == pytest.approx(30.0)
    assert list(r.allocation.transfer) == pytest.approx([30.0, 0.0, 0.0], abs=1e-7)
    # raising Alpha's threshold by 1 (level) costs its need, 100
    assert r.allocation.threshold_dual.iloc[0] == pytest.approx(100.0)


def test_toy3_min_shortfall_by_hand(toy3):
    # theta 0.8: gaps Alpha 60, Beta 20. Weights 1/4, 1/2, 1/4; value per unit w/need:
    # Beta 0.005 > Alpha 0.0025 -> Beta gets 20, Alpha 40 -> Alpha at 0.6, shortfall .2 * .25
    r = solve(load_instance(toy3), SolveOptions(objective="min-shortfall", threshold=0.8))
    assert r.summary["objective_value"] == pytest.approx(0.05, abs=1e-9)
    assert list(r.allocation.transfer) == pytest.approx([40.0, 20.0, 0.0], abs=1e-7)
    # one more unit goes to Alpha: shortfall falls by w/need = 0.25/100
    assert r.summary["budget_shadow_price"] == pytest.approx(-0.0025, rel=1e-6)


def test_toy3_maxmin_infeasible_reports_missing_budget(toy3):
    with pytest.raises(InfeasibleError) as exc:
        solve(load_instance(toy3), SolveOptions(objective="maxmin", threshold=0.8))
    assert exc.value.summary["required_budget"] == pytest.approx(80.0)
    assert exc.value.summary["missing_budget"] == pytest.approx(20.0)
    assert "20 KRW billion missing" in str(exc.value)


# ---- random instances against closed forms -------------------------------------------

@st.composite
def rounds(draw, max_n=8):
    n = draw(st.integers(1, max_n))
    fl = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731
    need = np.array(draw(st.lists(fl(1.0, 1000.0), min_size=n, max_size=n)))
    own = np.array(draw(st.lists(fl(0.0, 1.0), min_size=n, max_size=n))) * need * 1.3
    pop = np.array(draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n)))
    # levels below ~1e-6 are under HiGHS's tolerances (a threshold of 1e-8 costs 1e-8 * need)
    theta = draw(st.one_of(st.just(0.0), fl(0.01, 1.2)))
    t_min = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 5.0]), min_size=n, max_size=n)))
    t_max = np.array(draw(st.lists(st.sampled_from([np.inf, np.inf, 50.0, 400.0]), min_size=n, max_size=n)))
    t_max = np.maximum(t_max, t_min)
    gap = required_transfer(own, need, theta, t_min).sum()
    # budgets below ~1e-6 of the needs are under HiGHS's absolute tolerances: not drawn
    budget = draw(st.one_of(st.just(0.0), fl(0.01, 2.0))) * max(gap, 1.0) + t_min.sum()
    return own, need, pop, theta, t_min, t_max, float(budget)


def core_instance(tmp_path, own, need, pop, theta, t_min, t_max, budget):
    rows = [{"region_id": f"r{i}", "name": f"R{i}", "population": int(pop[i]),
             "own_revenue": repr(float(own[i])), "fiscal_need": repr(float(need[i])),
             "min_transfer": repr(float(t_min[i])),
             "max_transfer": "" if not np.isfinite(t_max[i]) else repr(float(t_max[i]))}
            for i in range(len(own))]
    return load_instance(write_instance(tmp_path / "inst", rows, budget=repr(budget), threshold=repr(theta)))


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _feasible(own, need, theta, t_min, t_max, budget):
    req = required_transfer(own, need, theta, t_min)
    # within solver tolerance of the edge either answer is right: leave those cases out
    assume(abs(req.sum() - budget) > 1e-6 * max(1.0, budget) and np.all(np.abs(req - t_max) > 1e-6))
    return bool(np.all(req <= t_max) and req.sum() <= budget)


@SETTINGS
@given(rounds())
def test_maxmin_equals_water_filling(tmp_path, rnd):
    own, need, pop, theta, t_min, t_max, budget = rnd
    inst = core_instance(tmp_path, *rnd)
    if not _feasible(own, need, theta, t_min, t_max, budget):
        with pytest.raises(InfeasibleError):
            solve(inst, SolveOptions(objective="maxmin"))
        return
    z, t = water_filling(own, need, np.full(len(own), theta), t_min, t_max, budget)
    r = solve(inst, SolveOptions(objective="maxmin"))
    assert r.summary["objective_value"] == pytest.approx(z, rel=1e-7, abs=1e-7)
    np.testing.assert_allclose(r.allocation.transfer, t, rtol=1e-6, atol=1e-5)


@SETTINGS
@given(rounds())
def test_min_shortfall_equals_fractional_knapsack(tmp_path, rnd):
    own, need, pop, theta, t_min, t_max, budget = rnd
    inst = core_instance(tmp_path, *rnd)
    value, _ = fractional_knapsack_shortfall(own, need, np.full(len(own), theta), pop.astype(float),
                                             t_min, t_max, budget)
    r = solve(inst, SolveOptions(objective="min-shortfall"))
    assert r.summary["objective_value"] == pytest.approx(value, rel=1e-6, abs=1e-8)
    a = r.allocation
    assert math.fsum(a.transfer) <= budget                              # budget never exceeded
    assert np.all(a.transfer >= t_min - 1e-7)                        # within bounds
    assert np.all(a.transfer <= t_max + 1e-7)


@SETTINGS
@given(rounds())
def test_min_cost_equals_sum_of_gaps(tmp_path, rnd):
    own, need, pop, theta, t_min, t_max, budget = rnd
    inst = core_instance(tmp_path, *rnd)
    if not _feasible(own, need, theta, t_min, t_max, budget):
        with pytest.raises(InfeasibleError):
            solve(inst, SolveOptions(objective="min-cost"))
        return
    r = solve(inst, SolveOptions(objective="min-cost"))
    expected = required_transfer(own, need, theta, t_min)
    assert r.summary["objective_value"] == pytest.approx(expected.sum(), rel=1e-7, abs=1e-6)
    assert r.summary["required_budget"] == pytest.approx(expected.sum(), rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(r.allocation.transfer, expected, rtol=1e-7, atol=1e-6)


@SETTINGS
@given(rounds(), st.sampled_from(["maxmin", "min-shortfall", "min-cost"]))
def test_properties_and_determinism(tmp_path, rnd, objective):
    own, need, pop, theta, t_min, t_max, budget = rnd
    inst = core_instance(tmp_path, *rnd)
    try:
        first = solve(inst, SolveOptions(objective=objective))
    except InfeasibleError:
        assert objective != "min-shortfall" or t_min.sum() > budget
        assert not _feasible(own, need, theta, t_min, t_max, budget) or objective == "min-shortfall"
        return
    a = first.allocation
    assert math.fsum(a.transfer) <= budget
    assert np.all(a.transfer >= 0) and np.all(a.transfer >= t_min - 1e-7) and np.all(a.transfer <= t_max + 1e-7)
    if objective != "min-shortfall" or _feasible(own, need, theta, t_min, t_max, budget):
        assert np.all(a.level_after >= theta - 1e-7)                 # thresholds met when feasible
    again = solve(core_instance(tmp_path / "again", *rnd), SolveOptions(objective=objective))
    assert allocation_csv(first.allocation) == allocation_csv(again.allocation)


def test_budget_shadow_price_matches_finite_difference(korea17):
    inst = load_instance(korea17)
    for objective, theta in (("maxmin", 0.9), ("min-shortfall", 0.97)):
        opts = dict(objective=objective, threshold=theta)
        base = solve(inst, SolveOptions(**opts))
        bumped = solve(inst, SolveOptions(**opts, budget=inst.budget + 10.0))
        slope = (bumped.summary["objective_value"] - base.summary["objective_value"]) / 10.0
        assert base.summary["budget_shadow_price"] == pytest.approx(slope, rel=1e-4)


@pytest.mark.parametrize("objective", ["maxmin", "min-shortfall", "min-cost"])
def test_pyomo_engine_agrees_with_direct(tmp_path, objective):
    rng = np.random.default_rng(3)
    n = 30
    need = rng.uniform(10, 100, n)
    rnd = (need * rng.uniform(0.2, 1.2, n), need, rng.integers(1, 1000, n), 0.8,
           np.zeros(n), np.where(rng.random(n) < 0.2, 30.0, np.inf), 0.0)
    req = required_transfer(rnd[0], need, 0.8, np.zeros(n))
    rnd = rnd[:6] + (float(req.sum() * 1.3),)
    inst = core_instance(tmp_path, *rnd)
    try:
        d = solve(inst, SolveOptions(objective=objective, fast_path=False))   # the LP, as pyomo solves it
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            solve(inst, SolveOptions(objective=objective, engine="pyomo"))
        return
    p = solve(inst, SolveOptions(objective=objective, engine="pyomo"))
    assert p.summary["objective_value"] == pytest.approx(d.summary["objective_value"], rel=1e-7, abs=1e-9)
    np.testing.assert_allclose(p.allocation.transfer, d.allocation.transfer, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(p.allocation.threshold_dual, d.allocation.threshold_dual, rtol=1e-6, atol=1e-7)
