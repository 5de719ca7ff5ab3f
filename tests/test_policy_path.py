"""The envelope filling (optimizer/fast/policy_path.py) gives the LP of record's answer for
maxmin and leximin with policy rows (and the least point, optimizer/fast/policy_least.py, for
min-cost and min-shortfall): hold-harmless, change limits, per-capita bounds,
merger guarantees, no-overtaking (with ties in the levels before), group floors, hard and
auto thresholds; HiGHS forced with fast_path=False. It really engages, and a binding group
row hands the round to the LP."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.groups import Group
from optimizer.core.policy import PolicyConfig
from optimizer.engine.solve import SolveOptions, solve
from tests.policy_helpers import diagnosis_and_min_cost_lp, fast_and_lp, make_instance

ENVELOPE = "envelope filling"


def random_round(seed: int, ties: bool, group_floor: float | None):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 16))
    need = rng.uniform(50, 150, n)
    own = need * rng.uniform(0.2, 1.3, n)
    if ties:   # equal levels before: complete bipartite no-overtaking rows between tied groups
        k = int(rng.integers(2, n + 1))
        own[:k] = need[:k] * rng.choice([0.4, 0.7], k)
    prior = np.maximum(0.0, need * 0.9 - own) * rng.uniform(0.5, 1.2, n)
    gap = np.maximum(0.0, 0.6 * need - own).sum()
    groups = []
    if group_floor is not None:
        members = tuple(f"r{i}" for i in rng.choice(n, size=max(1, n // 3), replace=False))
        groups = [Group("g1", "union", members, min_level=group_floor)]
    own[int(rng.integers(n))] += 0.0
    inst = make_instance(own, need, prior=prior, pop=rng.integers(1, 100, n),
                         budget=float(gap * rng.uniform(0.9, 3.0) + 1.0), threshold=0.6, groups=groups)
    return inst, rng


def raised_priors(inst, share: float):
    """``inst`` with every prior and the budget raised by ``share`` of need: hold-harmless rows,
    not only t_min, then hold the best-off regions."""
    need = inst.regions["fiscal_need"]
    regions = inst.regions.assign(prior_transfer=inst.regions["prior_transfer"] + share * need)
    return replace(inst, regions=regions, budget=inst.budget + share * float(need.sum()))


def policy_of(rng) -> PolicyConfig:
    kw = {"hold_harmless": float(rng.uniform(0.2, 1.0)), "no_overtaking": bool(rng.random() < 0.8)}
    if rng.random() < 0.3:
        kw["change_limit"] = float(rng.uniform(0.05, 0.5))
    if rng.random() < 0.3:
        kw["per_capita_cap"] = float(rng.uniform(0.5, 3.0))
    if rng.random() < 0.2:
        kw["per_capita_floor"] = float(rng.uniform(0.0, 0.2))
    return PolicyConfig(**kw)


def both(inst, objective: str, policy: PolicyConfig, thresholds: str):
    return fast_and_lp(inst, objective=objective, policy=policy, price_of_fairness=False,
                       objective_options={"thresholds": thresholds})


def agree(fast, lp) -> None:
    """Same value; same levels and transfers where the answer is unique: leximin, and maxmin's
    least-spending optimum without a binding group row (every level is forced to max(z*, M_r))."""
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-8, abs=1e-9)
    if fast.summary["objective"] == "maxmin" and ENVELOPE not in fast.summary.get("solved_by", ""):
        return
    np.testing.assert_allclose(fast.allocation.level_after, lp.allocation.level_after, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.sampled_from(["maxmin", "leximin"]), st.booleans(),
       st.sampled_from(["hard", "auto"]), st.sampled_from([None, 0.3, 0.75, 0.95]))
def test_envelope_filling_equals_lp(seed, objective, ties, thresholds, group_floor):
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, objective, policy_of(rng), thresholds)
    if fast is not None:
        agree(fast, lp)


def test_engages_and_reports_the_lp_duals():
    engaged = feasible = 0
    for seed in range(40):
        inst, rng = random_round(seed, seed % 3 == 0, None)
        policy = policy_of(rng)
        for objective, thresholds in (("maxmin", "hard"), ("leximin", "hard"), ("maxmin", "auto"),
                                      ("leximin", "auto")):
            fast, lp = both(inst, objective, policy, thresholds)
            if fast is None:
                continue
            feasible += 1
            agree(fast, lp)
            if ENVELOPE in fast.summary.get("solved_by", ""):
                engaged += 1
                # the budget's shadow price is d z / d B: unique when the budget binds with slack elsewhere
                if objective == "maxmin" and thresholds == "hard" and lp.summary["budget_binding"]:
                    assert fast.summary["budget_shadow_price"] == pytest.approx(
                        lp.summary["budget_shadow_price"], rel=1e-6, abs=1e-12)
    assert feasible >= 20 and engaged == feasible


def test_group_floor_with_slack_engages_binding_falls_back():
    own, need = [20.0, 40.0, 60.0, 90.0], [100.0, 100.0, 100.0, 100.0]
    prior = [50.0, 30.0, 10.0, 0.0]
    loose = [Group("g", "union", ("r2", "r3"), min_level=0.5)]
    tight = [Group("g", "union", ("r2", "r3"), min_level=0.9)]
    policy = PolicyConfig(hold_harmless=0.9, no_overtaking=True)
    for groups, engaged in ((loose, True), (tight, False)):
        inst = make_instance(own, need, prior=prior, budget=120.0, threshold=0.4, groups=groups)
        for objective in ("maxmin", "leximin"):
            fast, lp = both(inst, objective, policy, "hard")
            agree(fast, lp)
            assert (ENVELOPE in fast.summary.get("solved_by", "")) is engaged


def test_hand_solved_chain():
    """Own 10/30/50 of need 100, prior 0/40/0, hold-harmless 1 keeps r1 at 0.7; no-overtaking
    lifts r2 (richer before) to 0.7 too; the budget 100 leaves 100 - 40 - 20 = 40 for r0:
    level 0.5. maxmin 0.5 with every transfer forced; a budget of 200 lifts all three to
    0.7 + 40/300."""
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=100.0, threshold=0.0)
    r = solve(inst, SolveOptions(objective="maxmin", price_of_fairness=False,
                                 policy=PolicyConfig(hold_harmless=1.0, no_overtaking=True)))
    assert ENVELOPE in r.summary["solved_by"]
    assert r.summary["objective_value"] == pytest.approx(0.5, abs=1e-12)
    np.testing.assert_allclose(r.allocation.transfer, [40.0, 40.0, 20.0], atol=1e-9)
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=200.0, threshold=0.0)
    r = solve(inst, SolveOptions(objective="leximin", price_of_fairness=False,
                                 policy=PolicyConfig(hold_harmless=1.0, no_overtaking=True)))
    np.testing.assert_allclose(r.allocation.level_after, [290 / 300] * 3, atol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans())
def test_least_spending_equals_the_min_cost_lp(seed, ties):
    """The policy diagnosis's required budget (least_spending, certified) is the min-cost LP's
    optimum solved by HiGHS, and its transfers are the unique least point."""
    inst, rng = random_round(seed, ties, None)
    diag, lp = diagnosis_and_min_cost_lp(inst, policy_of(rng))
    if diag is None:
        return
    # HiGHS meets rows within its 1e-7 feasibility tolerance (seed 11950: the LP spends 0 with a
    # per-capita floor short by 3.9e-9; the exact least point spends 5.8e-9): its tolerance, as below
    assert diag.required_budget == pytest.approx(lp.summary["objective_value"], rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(diag.required_transfer, lp.allocation.transfer, rtol=1e-7, atol=1e-6)


LEAST_POINT = "least point of the envelopes"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from(["hard", "auto"]),
       st.sampled_from([None, 0.3, 0.95]))
def test_min_cost_objective_equals_the_lp(seed, ties, thresholds, group_floor):
    """The min-cost objective with policy rows is the round's least point (certified), equal to
    HiGHS on its LP of record; a group floor it misses, or a budget it exceeds, goes to the LP."""
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, "min-cost", policy_of(rng), thresholds)
    if fast is None:
        return
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-9, abs=1e-6)
    if LEAST_POINT in fast.summary.get("solved_by", ""):   # unique least point: same transfers
        np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-7, atol=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from([None, 0.3, 0.95]))
def test_min_shortfall_with_policy_rows_equals_the_lp(seed, ties, group_floor):
    """min-shortfall with policy rows: when the least point fits the budget it is the answer
    (no shortfall, least spending among the optima), equal to HiGHS's two phases; when it does
    not (shortfall left, a group floor it misses) the LP answers."""
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = fast_and_lp(inst, objective="min-shortfall", policy=policy_of(rng), price_of_fairness=False)
    if fast is None:
        return
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-8, abs=1e-7)
    if LEAST_POINT in fast.summary.get("solved_by", ""):
        assert fast.summary["objective_value"] == 0.0
        np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-7, atol=1e-6)


def test_min_cost_objective_engages_and_hands_a_binding_group_to_the_lp():
    """Hand-solved: own 10/30/50 of need 100, prior 0/40/0, hold-harmless 1, no-overtaking,
    threshold 0.3: r0 needs 20, r1 keeps 40 (level 0.7), r2 must reach 0.7: 20. Least total 80.
    A group floor of 0.8 on {r0, r2} binds: the least point misses it, the LP answers."""
    policy = PolicyConfig(hold_harmless=1.0, no_overtaking=True)
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=200.0, threshold=0.3)
    fast, lp = both(inst, "min-cost", policy, "hard")
    assert LEAST_POINT in fast.summary["solved_by"]
    assert fast.summary["objective_value"] == pytest.approx(80.0, abs=1e-9)
    np.testing.assert_allclose(fast.allocation.transfer, [20.0, 40.0, 20.0], atol=1e-9)
    np.testing.assert_allclose(lp.allocation.transfer, [20.0, 40.0, 20.0], atol=1e-6)
    tight = [Group("g", "union", ("r0", "r2"), min_level=0.8)]
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=200.0, threshold=0.3,
                         groups=tight)
    fast, lp = both(inst, "min-cost", policy, "hard")
    assert LEAST_POINT not in fast.summary.get("solved_by", "")
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-9)


def test_min_shortfall_least_point_engages_only_within_the_budget():
    """The hand-solved round above: least total 80. Budget 200: no shortfall, transfers
    20/40/20 (the least spending among the optima). Budget 70: a shortfall is left, the LP
    answers (r1's 40 and r2's 20 are forced: 10 for r0, level 0.2, shortfall 0.1 x pop 100)."""
    policy = PolicyConfig(hold_harmless=1.0, no_overtaking=True)
    for budget, engaged in ((200.0, True), (70.0, False)):
        inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=budget,
                             threshold=0.3)
        fast, lp = fast_and_lp(inst, objective="min-shortfall", policy=policy, price_of_fairness=False)
        assert (LEAST_POINT in fast.summary.get("solved_by", "")) is engaged
        np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, atol=1e-6)
        if engaged:
            np.testing.assert_allclose(fast.allocation.transfer, [20.0, 40.0, 20.0], atol=1e-9)
            assert fast.summary["objective_value"] == 0.0
