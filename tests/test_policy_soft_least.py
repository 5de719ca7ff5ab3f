"""The policy diagnosis's least forced spending with soft thresholds (what min-shortfall and
every soft round with policy rows compute before solving): the least point of the envelopes
without the thresholds (optimizer/fast/policy_path.py ``least_point`` on the soft LP,
shortfall columns of cost 0), certified, equal to HiGHS on the same LP on random rounds
(hold-harmless, change limits, per-capita bounds, no-overtaking with ties, group floors), and
the infeasibility it reports when the policies alone exceed the budget."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.build import build_lp
from models.lp import INF
from optimizer.core.errors import InfeasibleError
from optimizer.core.policy import PolicyConfig
from optimizer.engine.highs import solve_lp
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round
from optimizer.fast.policy_path import least_spending
from tests.policy_helpers import make_instance
from tests.test_policy_path import policy_of, random_round


def soft_spending_lp(data, terms):
    """The least-spending LP with soft thresholds: the min-shortfall rows, cost sum_r T_r,
    the budget row open (built here, independently of optimizer/engine/conflicts.py)."""
    lp = build_lp(replace(data, options={}), "min-shortfall", terms)
    lp.row_upper[lp.row_block("budget").slice] = INF
    lp.cost[:] = 0.0
    lp.cost[lp.col_block("transfer").slice] = 1.0
    lp.maximize = False
    return lp


def prepared(inst, policy: PolicyConfig):
    opts = SolveOptions(objective="min-shortfall", policy=policy, price_of_fairness=False)
    return prepare_round(inst, objective_spec("min-shortfall"), opts)


def check_round(inst, policy: PolicyConfig) -> bool | None:
    """The fast least point equals HiGHS on the soft LP; the diagnosis reports it (or, over
    the budget, says infeasible with that spending). True when the fast path answered, None
    when the policies contradict each other whatever the budget (the LP's verdict: the least
    point declines when its envelopes cross, and HiGHS decides)."""
    try:
        prep = prepared(replace(inst, budget=1e9), policy)    # a budget that never binds
    except InfeasibleError as exc:
        assert "whatever the budget" in str(exc)
        return None
    lp = soft_spending_lp(prep.data, prep.terms)
    sol, _ = solve_lp(lp, "simplex")
    fast = least_spending(lp, prep.data)
    if sol.status != "optimal":
        assert fast is None
        return False
    t = lp.col_block("transfer").slice
    if fast is None:   # a group row the least point misses: the LP decides
        return False
    assert fast[0] == pytest.approx(sol.objective, rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(fast[1], sol.x[t], rtol=1e-7, atol=1e-6)
    assert prep.diag.policy_minimum == pytest.approx(fast[0] * prep.scale, rel=1e-12)
    least = prep.diag.policy_minimum
    if least > 1.0:    # a budget below the forced spending: infeasible, the figure reported
        with pytest.raises(InfeasibleError) as exc:
            prepared(replace(inst, budget=least * 0.9), policy)
        assert exc.value.summary["policy_minimum_spending"] == pytest.approx(least, rel=1e-9)
    return True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from([None, 0.3, 0.95]))
def test_soft_least_spending_equals_the_lp(seed, ties, group_floor):
    inst, rng = random_round(seed, ties, group_floor)
    check_round(inst, policy_of(rng))


def test_engages_on_rounds_without_group_rows():
    """Without group rows the least point of a feasible round always exists and is certified:
    every feasible round engages."""
    found = [check_round(*_with_policy(seed)) for seed in range(40)]
    feasible = [f for f in found if f is not None]
    assert len(feasible) >= 15 and all(feasible)


def _with_policy(seed: int):
    inst, rng = random_round(seed, seed % 3 == 0, None)
    return inst, policy_of(rng)


def test_hand_solved_soft_least_point():
    """own 10/30/50 of need 100, prior 0/40/0, hold-harmless 1, no-overtaking, threshold 0.9
    (out of reach: soft). Forced: r1 keeps 40 (level 0.7), r2 must reach 0.7 (20), r0 nothing
    (the thresholds force nothing when soft): 60. A budget of 50 is infeasible with that figure."""
    policy = PolicyConfig(hold_harmless=1.0, no_overtaking=True)
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=100.0, threshold=0.9)
    prep = prepared(inst, policy)
    assert prep.diag.policy_minimum == pytest.approx(60.0, abs=1e-9)
    with pytest.raises(InfeasibleError) as exc:
        prepared(replace(inst, budget=50.0), policy)
    assert exc.value.summary["policy_minimum_spending"] == pytest.approx(60.0, abs=1e-9)
