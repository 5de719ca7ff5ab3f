"""Hand-solved budget prices of cvar and owa when one region takes the whole budget, with
needs twelve orders apart (the class of price seed 5133, tests/test_hunt_spreads.py).

Region A: need 1e9, own 1e9 (level 1), population 1,000. Region B: need 1e-3, own 5e-4
(level 0.5), population 999,000, so B's population share is w_B = 0.999 and A's w_A = 1e-3.
Hard thresholds at 0 and no transfer bounds: the levels' lower bounds are 1 and 0.5. With
budget C = 2e-4 (< 5e-4, what B needs to reach A's level 1), B stays the lowest region:

- cvar (alpha = 0.1 < w_B: the worst-off 10% are all in B): cvar = L_B = (5e-4 + T_B) / 1e-3,
  increasing in T_B, not depending on T_A, so the optimum gives B all of C: L_B = 0.7 and the
  value is 0.7; d value / d C = 1 / need_B = 1000.
- owa with weights (2, 1) (two population halves, normalised v = (2/3, 1/3), density 2 v_k):
  the worse half is all B; the better half holds A (share 1e-3) and B (share 0.499), so
  OWA = (2/3) L_B + (2/3)(0.499 L_B + 1e-3 L_A) = L_B (1 - 2e-3 / 3) + (2e-3 / 3) L_A.
  A unit of money moves L_B by 1000 and L_A by 1e-9, so all of C goes to B: L_B = 0.7, the
  value is 0.7 (1 - 2e-3/3) + 2e-3/3 = 0.7 + 0.3 * 2e-3 / 3 = 0.7002, and the price is
  (1 - 2e-3/3) / 1e-3 = 999.333... (A's 1e-9 per unit is far below any margin).

Before the fix B (level 0.7, its bound 0.5) counted as at its lower bound, by a tolerance of
1e-9 money / need (1e-9 / 1e-12 in solver units = 1000 in level): the certificate then
admitted every large enough budget price and reported one 10x too high (seed 5133: 2414 for
241.6). Real HiGHS (the LP of record, forced) and the real fast path, nothing mocked."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.engine.solve import SolveOptions, solve
from tests.policy_helpers import make_instance

BUDGET = 2e-4
HAND = {  # objective: (objective options, value, price)
    "cvar": ({"alpha": 0.1}, 0.7, 1000.0),
    "owa": ({"weights": [2.0, 1.0]}, 0.7 + 0.3 * 2e-3 / 3, (1 - 2e-3 / 3) / 1e-3),
}


def one_takes_all():
    return make_instance([1e9, 5e-4], [1e9, 1e-3], pop=[1000, 999_000], budget=BUDGET, threshold=0.0)


def run(objective: str, fast_path: bool = True):
    return solve(one_takes_all(), SolveOptions(objective=objective, objective_options=HAND[objective][0],
                                               price_of_fairness=False, fast_path=fast_path))


@pytest.mark.parametrize("objective", list(HAND))
def test_fast_path_price_is_the_hand_derivative(objective):
    _, value, price = HAND[objective]
    r = run(objective)
    assert "cut_certificate" in str(r.summary["solved_by"])          # the decomposition answered
    t = r.allocation["transfer"].to_numpy(dtype=float)
    assert t[0] == pytest.approx(0.0, abs=1e-12) and t[1] == pytest.approx(BUDGET, rel=1e-9)
    assert r.summary["objective_value"] == pytest.approx(value, rel=1e-9)
    assert r.summary["budget_shadow_price"] == pytest.approx(price, rel=1e-6)


@pytest.mark.parametrize("objective", list(HAND))
def test_lp_of_record_agrees(objective):
    """The LP of record (fast path off) gives the same value and price: the hand solution
    is its optimum, and its dual is the derivative."""
    _, value, price = HAND[objective]
    r = run(objective, fast_path=False)
    assert "cut_certificate" not in str(r.summary.get("solved_by"))
    assert r.summary["objective_value"] == pytest.approx(value, rel=1e-7)
    assert r.summary["budget_shadow_price"] == pytest.approx(price, rel=1e-4)


@pytest.mark.parametrize("objective", list(HAND))
def test_price_is_the_one_sided_differences(objective):
    """Both one-sided differences of the default solve's value at h = 1e-4 C equal the price
    (the value is linear in C while B stays lowest)."""
    _, _, price = HAND[objective]
    h = 1e-4 * BUDGET

    def value(b: float) -> float:
        inst = one_takes_all()
        return float(solve(inst, SolveOptions(objective=objective, budget=b, objective_options=HAND[objective][0],
                                              price_of_fairness=False)).summary["objective_value"])

    v0, vm, vp = value(BUDGET), value(BUDGET - h), value(BUDGET + h)
    assert np.allclose([(v0 - vm) / h, (vp - v0) / h], price, rtol=1e-4)


def test_log_welfare_spends_the_whole_budget_beside_large_own_revenue():
    """log-welfare, the same two regions with equal populations (weights 1/2 each) and A's
    own revenue 1.5e9 (level 1.5): A's marginal welfare 0.5 / 1.5e9 per unit of money is far
    below B's 0.5 / 7e-4, so B takes all of C: x_B = 7e-4, welfare 0.5 ln 1.5 + 0.5 ln 0.7,
    price w_B / x_B = 714.2857... Before the fix lambda was solved in money C + own revenue
    (1.5e9 + 7e-4 keeps 3 digits of C) and part of C was left unspent."""
    inst = make_instance([1.5e9, 5e-4], [1e9, 1e-3], pop=[10**8, 10**8], budget=BUDGET, threshold=0.0)
    r = solve(inst, SolveOptions(objective="log-welfare", price_of_fairness=False))
    assert "KKT" in str(r.summary["solved_by"])
    t = r.allocation["transfer"].to_numpy(dtype=float)
    assert t[0] == 0.0 and t[1] == pytest.approx(BUDGET, rel=1e-12)
    assert r.summary["objective_value"] == pytest.approx(0.5 * np.log(1.5) + 0.5 * np.log(0.7), rel=1e-12)
    assert r.summary["budget_shadow_price"] == pytest.approx(0.5 / 7e-4, rel=1e-9)


@pytest.mark.xfail(strict=True, reason="the LP of record cannot see a budget of 2e-4 beside needs of 1e9: one money "
                   "scale makes it 2e-13 in solver units, below HiGHS's tolerances, so the pairwise min-gini LP "
                   "gives nothing (Gini 9.98e-4) where the certified decomposition gives B 2e-4 (Gini 4.28e-4); "
                   "found 2026-12-01, not fixed in the time left")
def test_min_gini_lp_of_record_sees_a_tiny_budget():
    fast = solve(one_takes_all(), SolveOptions(objective="min-gini", price_of_fairness=False))
    lp = solve(one_takes_all(), SolveOptions(objective="min-gini", fast_path=False, price_of_fairness=False))
    mean = (1000 * 1.0 + 999_000 * 0.7) / 1e6          # B takes the whole 2e-4: level (5e-4 + 2e-4) / 1e-3
    gini = 2 * 1000 * 999_000 * 0.3 / (2 * 1e12 * mean)
    assert fast.summary["objective_value"] == pytest.approx(gini, rel=1e-9)
    assert lp.summary["objective_value"] == pytest.approx(fast.summary["objective_value"], rel=1e-6)
