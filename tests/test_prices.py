"""Issue 11, point 3: every reported price is d objective_value / d right-hand side, with one
sign convention for every objective. Checked against finite differences (re-solves at
budget +/- h, threshold + h) on random instances and against hand-solved closed forms; the
words under the table come from the objective's registered quantity."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from optimizer.core.errors import InfeasibleError
from optimizer.engine.solve import SolveOptions, solve
from optimizer.explain.prices import QUANTITY, budget_price_text
from optimizer.io.load import load_instance
from tests.test_core_lp import core_instance, rounds

FD_SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# objectives whose value is piecewise linear in the budget (differentiable off the kinks)
BUDGET_OBJECTIVES = ["maxmin", "min-shortfall", "min-cost", "max-mean", "leximin", "min-range", "min-mad",
                     "cvar", "owa", "min-gini"]


def value(inst, objective: str, budget: float) -> float | None:
    try:
        r = solve(inst, SolveOptions(objective=objective, budget=budget, price_of_fairness=False))
    except InfeasibleError:
        return None
    return float(r.summary["objective_value"])


def usable(condition: bool, why: str) -> None:
    """A drawn round that cannot be used is skipped (hypothesis draws another); a named one
    must be usable: it fails instead of passing unexamined."""
    if currently_in_test_context():
        assume(condition)
    else:
        assert condition, why


def one_sided(inst, objective, budget, h):
    v0, vm, vp = (value(inst, objective, b) for b in (budget, budget - h, budget + h))
    usable(None not in (v0, vm, vp), "infeasible at the budget or one step from it")
    return (v0 - vm) / h, (vp - v0) / h


# an LP's optimal value is concave (max) or convex (min) in its right-hand side, so at a kink
# the dual is a one-sided slope, bracketed by the two finite differences whatever h is; the
# Dinkelbach ratio of min-gini is not an LP value: it is held to the differentiable points only
NOT_LP_VALUES = ("min-gini",)


def assert_price_matches(price: float, left: float, right: float, objective: str) -> None:
    scale = max(abs(left), abs(right), 1e-9)
    if abs(left - right) <= 1e-4 * scale + 1e-10:
        assert price == pytest.approx((left + right) / 2, rel=1e-3, abs=1e-9), (left, right, price)
    elif objective in NOT_LP_VALUES:
        assume(False)
    else:
        slack = 1e-3 * scale + 1e-9
        assert min(left, right) - slack <= price <= max(left, right) + slack, (left, right, price)


@pytest.mark.slow
@FD_SETTINGS
@given(rounds(max_n=6), st.sampled_from(BUDGET_OBJECTIVES), st.floats(0.05, 2.0))
def test_budget_price_is_the_finite_difference(tmp_path, rnd, objective, factor):
    """The reported budget_shadow_price equals d objective_value / d budget by finite
    differences (both sides) on random instances: the same sign for max and min objectives."""
    inst = core_instance(tmp_path, *rnd)
    own, need = (inst.regions[c].to_numpy(dtype=float) for c in ("own_revenue", "fiscal_need"))
    t_min = inst.regions["min_transfer"].to_numpy(dtype=float)
    gap = float(np.maximum(np.nan_to_num(t_min), inst.threshold * need - own).sum())
    budget = max(gap, 1.0) * (1.0 + factor)   # the thresholds reachable: hard mode for every objective
    try:
        r = solve(inst, SolveOptions(objective=objective, budget=budget, price_of_fairness=False))
    except InfeasibleError:
        assume(False)
    h = 1e-4 * budget
    left, right = one_sided(inst, objective, budget, h)
    assert_price_matches(r.summary["budget_shadow_price"], left, right, objective)


def test_min_gini_price_at_gini_zero(tmp_path):
    """A random find (2026-12-01): min-gini at Gini 0 reported a budget price of -0.25 where
    both one-sided differences are 0. Dinkelbach stops on P = 0 with lambda still the first
    step's Gini (0.5), so the last LP's dual was of P - 0.5 mu, not of P - G* mu (G* = 0);
    at Gini 0 every price is the relaxing side's, 0 (chain_certificates.gini_dual_scale)."""
    inst = core_instance(tmp_path, np.array([0.0, 1.2504163e-238]), np.array([1.0, 1.0]), np.array([1, 1]), 0.0,
                         np.array([0.0, 0.0]), np.array([np.inf, np.inf]), 0.0)
    r = solve(inst, SolveOptions(objective="min-gini", budget=2.0, price_of_fairness=False))
    left, right = one_sided(inst, "min-gini", 2.0, 2e-4)
    assert left == right == 0.0
    assert_price_matches(r.summary["budget_shadow_price"], left, right, "min-gini")


@pytest.mark.slow
@pytest.mark.parametrize("objective", [*BUDGET_OBJECTIVES, "log-welfare"])
def test_budget_price_on_korea_for_every_objective(korea17, objective):
    """Every objective on the real instance, at 0.97x / 1x / 1.2x of its budget."""
    inst = load_instance(korea17)
    for k in (0.97, 1.0, 1.2):
        budget = k * inst.budget
        r = solve(inst, SolveOptions(objective=objective, budget=budget, price_of_fairness=False))
        if r.summary.get("threshold_dual_note", "").startswith("not one number"):
            continue   # soft phase 2: no single price, by design (tests/test_reasons.py)
        h = 1e-4 * budget
        v0 = r.summary["objective_value"]
        vm, vp = (value(inst, objective, b) for b in (budget - h, budget + h))
        if objective == "log-welfare":   # the price of its tangent LP (docs/schema.md): close, not exact
            assert r.summary["budget_shadow_price"] == pytest.approx((vp - vm) / (2 * h), rel=0.1)
            continue
        assert_price_matches(r.summary["budget_shadow_price"], (v0 - vm) / h, (vp - v0) / h, objective)


def with_threshold(inst, region: int, theta: float, default: float | None = None):
    """``inst`` with region ``region``'s threshold at ``theta``, every other region's at its own
    (``default`` where it has none; the instance's level if None)."""
    reg = inst.regions.copy()
    col = reg["threshold"].to_numpy(dtype=float)
    col = np.where(np.isnan(col), inst.threshold if default is None else default, col)
    col[region] = theta
    reg["threshold"] = col
    return dataclasses.replace(inst, regions=reg)


TD_SETTINGS = settings(max_examples=15, deadline=None,
                       suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])


@pytest.mark.slow
@TD_SETTINGS
@given(rounds(max_n=5), st.sampled_from(["maxmin", "min-cost", "min-shortfall", "max-mean"]),
       st.floats(0.3, 2.0), st.data())
def test_threshold_dual_is_the_finite_difference(tmp_path, rnd, objective, factor, data):
    """threshold_dual_r = d objective_value / d threshold_r (docs/schema.md), re-solved at
    threshold_r +/- h; a nonzero dual only where the binding column names the threshold."""
    inst = core_instance(tmp_path, *rnd)
    assume(inst.threshold > 0.05)
    own, need = (inst.regions[c].to_numpy(dtype=float) for c in ("own_revenue", "fiscal_need"))
    gap = float(np.maximum(inst.regions["min_transfer"].to_numpy(dtype=float), inst.threshold * need - own).sum())
    soft = objective == "min-shortfall"
    budget = gap * (factor if soft else 1.0 + factor)   # scarce for min-shortfall, ample otherwise
    assume(budget > 1.0)
    opts = SolveOptions(objective=objective, budget=budget, price_of_fairness=False)
    try:
        r = solve(inst, opts)
    except InfeasibleError:
        assume(False)
    assume("threshold_dual_note" not in r.summary)
    k = data.draw(st.integers(0, inst.n - 1))
    dual = float(r.allocation["threshold_dual"].iloc[k])
    theta, h = inst.threshold, 1e-5
    vals = []
    for th in (theta - h, theta + h):
        try:
            vals.append(float(solve(with_threshold(inst, k, th), opts).summary["objective_value"]))
        except InfeasibleError:
            assume(False)
    v0 = float(r.summary["objective_value"])
    left, right = (v0 - vals[0]) / h, (vals[1] - v0) / h
    scale = max(abs(left), abs(right), 1e-9)
    assume(abs(left - right) <= 1e-4 * scale + 1e-8)
    assert dual == pytest.approx((left + right) / 2, rel=1e-3, abs=1e-7), (left, right, dual)
    binding = r.allocation["binding"].iloc[k] or ""
    if dual != 0.0:
        assert "threshold" in binding or "shortfall" in binding, binding


def test_hand_solved_prices_on_korea(korea17):
    """maxmin: dz/dB = 1 / (sum of the needs lifted to the common level); min-cost: raising a
    threshold by one level point costs that region's need; the words follow the sign."""
    inst = load_instance(korea17)
    r = solve(inst, SolveOptions(objective="maxmin"))
    a = r.allocation
    floor = a["binding"].str.contains("floor")
    assert r.summary["budget_shadow_price"] == pytest.approx(1 / a.loc[floor, "fiscal_need"].sum(), rel=1e-9)
    assert r.summary["budget_shadow_price"] == pytest.approx(6.051e-06, rel=1e-3)
    assert r.summary["budget_shadow_price_text"] == \
        "+1% budget (598 KRW billion) raises the minimum level by 0.003621"
    c = solve(inst, SolveOptions(objective="min-cost"))
    at = c.allocation["binding"].str.contains("threshold")
    assert at.any()
    np.testing.assert_allclose(c.allocation.loc[at, "threshold_dual"], c.allocation.loc[at, "fiscal_need"], rtol=1e-9)
    assert c.summary["budget_shadow_price"] == 0.0
    assert c.summary["budget_shadow_price_text"].endswith("leaves the least total transfer unchanged")
    s = solve(inst, SolveOptions(objective="min-shortfall", budget=0.9 * inst.budget))
    assert s.summary["budget_shadow_price"] == pytest.approx(-2.413e-06, rel=1e-3)
    assert s.summary["budget_shadow_price_text"] == \
        "+1% budget (539 KRW billion) lowers the weighted shortfall by 0.0013"


def test_words_are_registered_once_and_follow_the_sign():
    from models.objectives import OBJECTIVES

    assert set(QUANTITY) == set(OBJECTIVES)       # every registered objective has its words
    assert budget_price_text("maxmin", False, 1e-5, 1000.0, "EUR") == \
        "+1% budget (10 EUR) raises the minimum level by 0.0001"
    assert budget_price_text("min-gini", False, -2e-5, 1000.0, "EUR") == \
        "+1% budget (10 EUR) lowers the Gini coefficient by 0.0002"
    assert budget_price_text("min-cost", True, 0.0, 1000.0, "EUR").endswith("unchanged")
    assert "no single price" in budget_price_text("maxmin", False, float("nan"), 1000.0, "EUR")


@pytest.mark.slow
@pytest.mark.parametrize("objective", ["maxmin", "min-cost", "min-shortfall", "max-mean", "min-range", "min-mad",
                                       "cvar", "leximin"])
def test_threshold_dual_on_korea_for_every_objective(korea17, objective):
    """korea-17 at threshold 0.935 and its own budget: the region with the largest |threshold
    dual| (or the first held at its threshold), re-solved at its threshold +/- h."""
    inst = load_instance(korea17)
    # min-shortfall at a scarce budget: with money to spare its knapsack path tags a region whose
    # shortfall is float noise (1e-16) as met; the test below pins that fix
    budget = 0.9 * inst.budget if objective == "min-shortfall" else None
    opts = SolveOptions(objective=objective, budget=budget, threshold=0.935, price_of_fairness=False)
    r = solve(inst, opts)   # 0.935 needs 58,716 of the 59,844 budget: feasible under every objective
    a = r.allocation
    if a["threshold_dual"].isna().all():
        assert r.summary.get("threshold_dual_note")
        return
    k = int(a["threshold_dual"].abs().to_numpy().argmax())
    h, v0 = 1e-5, r.summary["objective_value"]
    vm, vp = (float(solve(with_threshold(inst, k, 0.935 + d, 0.935), opts).summary["objective_value"])
              for d in (-h, h))
    assert_price_matches(float(a["threshold_dual"].iloc[k]), (v0 - vm) / h, (vp - v0) / h, objective)


def test_min_shortfall_dual_with_money_to_spare_is_zero(korea17):
    inst = load_instance(korea17)
    r = solve(inst, SolveOptions(objective="min-shortfall", threshold=0.935, price_of_fairness=False))
    assert r.summary["budget_shadow_price"] == 0.0   # money to spare: every threshold met
    assert (r.allocation["threshold_dual"] == 0.0).all()
