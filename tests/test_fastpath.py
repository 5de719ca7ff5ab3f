"""The certified water-filling path gives the LP's answer: same levels, transfers and
(when unique) duals as HiGHS on the model of record; and it really engages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.engine.solve import SolveOptions, solve
from optimizer.fast.waterfill import leximin_fill
from tests.test_core_lp import SETTINGS, core_instance, rounds


@SETTINGS
@given(rounds(max_n=10), st.sampled_from(["maxmin", "leximin"]))
def test_fast_path_equals_lp(tmp_path, rnd, objective):
    inst = core_instance(tmp_path, *rnd)
    try:
        lp = solve(inst, SolveOptions(objective=objective, fast_path=False, price_of_fairness=False))
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            solve(inst, SolveOptions(objective=objective, price_of_fairness=False))
        return
    fast = solve(inst, SolveOptions(objective=objective, price_of_fairness=False))
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-7, abs=1e-9)
    np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-6)


def test_fast_path_engages_and_reports_lp_duals(korea17):
    from optimizer.io.load import load_instance

    inst = load_instance(korea17)
    for theta in (0.85, 0.92):
        fast = solve(inst, SolveOptions(objective="maxmin", threshold=theta))
        lp = solve(inst, SolveOptions(objective="maxmin", threshold=theta, fast_path=False))
        assert fast.summary["solved_by"].startswith("water-filling")
        assert "solved_by" not in lp.summary
        assert fast.summary["budget_shadow_price"] == pytest.approx(lp.summary["budget_shadow_price"], rel=1e-9)
        # a region exactly at its threshold is degenerate: any dual in [0, w] can be right
        a = fast.allocation
        nondegenerate = (np.abs(a.level_after - a.threshold) > 1e-9).to_numpy()
        np.testing.assert_allclose(a.threshold_dual[nondegenerate], lp.allocation.threshold_dual[nondegenerate],
                                   atol=1e-12)
        assert list(fast.allocation.binding) == list(lp.allocation.binding)


def test_policies_do_not_take_the_water_filling_path(korea17):
    """The bare water-filling knows only the core: with a policy row, max-min and leximin go
    to the envelope filling (optimizer/fast/policy_path.py, tests/test_policy_path.py) or the
    fixed-level LPs (optimizer/engine/drivers/parametric.py, tests/test_parametric.py)."""
    from optimizer.core.policy import PolicyConfig
    from optimizer.io.load import load_instance

    r = solve(load_instance(korea17), SolveOptions(objective="maxmin", policy=PolicyConfig(hold_harmless=0.5)))
    assert not r.summary["solved_by"].startswith("water-filling")
    r = solve(load_instance(korea17), SolveOptions(objective="leximin", policy=PolicyConfig(hold_harmless=0.5)))
    assert "water-filling" not in r.summary.get("solved_by", "")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(0, 10**6))
def test_leximin_fill_is_progressive_filling(n, seed):
    """Against a slow, obviously-correct simulation: raise the lowest free level in tiny steps."""
    rng = np.random.default_rng(seed)
    need = rng.uniform(1, 10, n)
    own = need * rng.uniform(0.1, 1.2, n)
    t_max = np.where(rng.random(n) < 0.4, rng.uniform(0, 5, n), np.inf)
    theta = np.full(n, 0.3)
    t_min = np.zeros(n)
    c = np.minimum(t_max, np.maximum(t_min, theta * need - own))
    t_max = np.maximum(t_max, c)
    budget = float(c.sum() + rng.uniform(0, 20))
    t, _ = leximin_fill(own, need, theta, t_min, t_max, budget)
    # exact event simulation: repeatedly lift the lowest free group to the next event
    sim = np.maximum(c, 0.0).astype(float)
    left = budget - sim.sum()
    for _ in range(4 * n + 4):
        level = (own + sim) / need
        free = sim < t_max - 1e-12
        if not free.any() or left <= 1e-12:
            break
        z = level[free].min()
        grp = free & (level <= z + 1e-12)
        nxt = min([lv for lv in level[free & ~grp]] + [((own + t_max) / need)[grp].min()])
        cost = float(((nxt - z) * need[grp]).sum()) if np.isfinite(nxt) else np.inf
        step = min(cost, left)
        sim[grp] += step * need[grp] / need[grp].sum()
        sim = np.minimum(sim, t_max)
        left = budget - sim.sum()
    np.testing.assert_allclose(t, sim, rtol=1e-7, atol=1e-7)


@SETTINGS
@given(rounds(max_n=10), st.sampled_from(["maxmin", "min-shortfall", "min-cost"]))
def test_max_mean_closed_form_equals_lp(tmp_path, rnd, objective):
    """The price-of-fairness reference (max-mean) by fractional knapsack equals its LP."""
    from dataclasses import replace

    from models.build import build_lp
    from optimizer.core.scaling import money_scale, round_data, to_region_data
    from optimizer.engine.price_of_fairness import mean_level_max

    own, need, pop, theta, t_min, t_max, budget = rnd
    inst = core_instance(tmp_path, *rnd)
    req = np.maximum(t_min, theta * need - own)
    soft = objective == "min-shortfall"
    if not soft and (req.sum() > budget * (1 - 1e-6) or np.any(req > t_max)):
        return
    if t_min.sum() > budget * (1 - 1e-6):
        return
    data = to_region_data(inst, round_data(inst), money_scale(need))
    data = replace(data, options={"soft_thresholds": soft})
    build = lambda d, o: build_lp(d, o, ())  # noqa: E731
    lp_value = mean_level_max(data, build, None, closed_form=False)
    closed = mean_level_max(data, build, None, closed_form=True)
    assert closed == pytest.approx(lp_value, rel=1e-7, abs=1e-9)


@SETTINGS
@given(rounds(max_n=10))
def test_min_shortfall_knapsack_path_equals_lp(tmp_path, rnd):
    own, need, pop, theta, t_min, t_max, budget = rnd
    inst = core_instance(tmp_path, *rnd)
    try:
        lp = solve(inst, SolveOptions(objective="min-shortfall", fast_path=False, price_of_fairness=False))
    except InfeasibleError:
        with pytest.raises(InfeasibleError):
            solve(inst, SolveOptions(objective="min-shortfall", price_of_fairness=False))
        return
    fast = solve(inst, SolveOptions(objective="min-shortfall", price_of_fairness=False))
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-7, abs=1e-9)
    ratios = pop / need
    if len(np.unique(np.round(ratios, 9))) == len(ratios):   # no ties: the split is unique
        np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-6)


def test_min_shortfall_knapsack_engages_with_lp_duals(korea17):
    from optimizer.io.load import load_instance

    inst = load_instance(korea17)
    for theta in (0.9, 0.97, 1.05):
        fast = solve(inst, SolveOptions(objective="min-shortfall", threshold=theta))
        lp = solve(inst, SolveOptions(objective="min-shortfall", threshold=theta, fast_path=False))
        assert fast.summary["solved_by"].startswith("fractional knapsack")
        assert fast.summary["budget_shadow_price"] == pytest.approx(lp.summary["budget_shadow_price"],
                                                                  rel=1e-9, abs=1e-15)
        np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, atol=1e-6)
        # a region exactly at its threshold is degenerate: any dual in [0, w] can be right
        a = fast.allocation
        nondegenerate = (np.abs(a.level_after - a.threshold) > 1e-9).to_numpy()
        np.testing.assert_allclose(a.threshold_dual[nondegenerate], lp.allocation.threshold_dual[nondegenerate],
                                   atol=1e-12)
