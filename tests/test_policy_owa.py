"""owa with policy rows (optimizer/fast/policy_owa.py): no-overtaking fixes the order of the
levels up to the order inside groups tied before, so the OWA is linear on the feasible set
(unless a tied group straddles a slice breakpoint: declined); the layers' point with
Lorenz-row duals is the slice LP of record's optimum (HiGHS forced with fast_path=False) on
random rounds (hold-harmless, change limits, per-capita bounds, no-overtaking with ties,
group floors; hard and auto thresholds; several weight vectors), on hand-solved rounds,
and through the installed CLI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import models.fairness as fm
from models.data import RegionData
from optimizer.core.policy import PolicyConfig
from optimizer.fast.policy_owa import lorenz_dual_violation, lorenz_point
from tests.policy_helpers import agree_by_value, cli_fast_and_lp, fast_and_lp, make_instance
from tests.test_policy_path import policy_of, raised_priors, random_round
from tests.test_policy_range import scarce_round

OWA_PATH = "optimizer/fast/policy_owa.py"
WEIGHTS = [None, [3.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0], [5.0, 4.0, 3.0, 2.0, 1.0, 0.0],
           [3.0, 3.0, 1.0, 1.0]]


def both(inst, policy: PolicyConfig, thresholds: str, weights=None):
    opts = {"thresholds": thresholds} | ({} if weights is None else {"weights": weights})
    return fast_and_lp(inst, objective="owa", policy=policy, price_of_fairness=False, objective_options=opts)


def agree(fast, lp) -> bool:
    return agree_by_value(fast, lp, OWA_PATH, rel=1e-8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from(["hard", "auto"]),
       st.sampled_from([None, 0.3, 0.95]), st.sampled_from(range(len(WEIGHTS))))
def test_owa_with_policy_rows_equals_the_lp(seed, ties, thresholds, group_floor, k):
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, policy_of(rng), thresholds, WEIGHTS[k])
    if fast is not None:
        agree(fast, lp)


@pytest.mark.slow
@pytest.mark.parametrize("prior_up", [0.0, 0.4])
def test_engages_on_every_feasible_chain_round_without_ties(prior_up):
    """No ties before, no group rows, no-overtaking on: the premise holds, so every feasible
    round must be answered by the certified point (a dual or certificate that fails shows
    here); ``prior_up`` lets hold-harmless rows hold more regions."""
    feasible = engaged = 0
    for seed in range(60):
        inst, rng = random_round(seed, False, None)
        inst = raised_priors(inst, prior_up)
        policy = policy_of(rng)
        if not policy.no_overtaking:
            continue
        fast, lp = both(inst, policy, "hard" if seed % 2 else "auto", WEIGHTS[seed % len(WEIGHTS)])
        if fast is None:
            continue
        feasible += 1
        engaged += agree(fast, lp)
    assert feasible >= 12 and engaged == feasible


def test_scarcity_rounds_equal_the_lp():
    """Thresholds as caps (soft rows, costless shortfalls): certified on that LP of record."""
    engaged = 0
    for seed in range(20):
        inst, policy = scarce_round(seed)
        fast, lp = both(inst, policy, "auto")
        if fast is not None:
            engaged += agree(fast, lp)
    assert engaged >= 5


def test_hand_solved_chain_binds():
    """Own 20/60 of need 100, equal populations, weights (2, 1) over halves, no-overtaking,
    budget 60: r0's level is worth 2/3 a unit, r1's 1/3; r0 rises alone to 0.6 (40), then
    both together (200 per unit of level for 1, better than r1 alone: 100 for 1/3) by 0.1:
    transfers 50/10, levels 0.7, OWA 0.7."""
    inst = make_instance([20.0, 60.0], [100.0, 100.0], pop=[100, 100], budget=60.0, threshold=0.0)
    fast, lp = both(inst, PolicyConfig(no_overtaking=True), "hard", [2.0, 1.0])
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [50.0, 10.0], atol=1e-9)
    np.testing.assert_allclose(lp.allocation.transfer, [50.0, 10.0], atol=1e-6)


def test_hand_solved_tied_group_inside_a_slice():
    """r0, r1 tied before at 0.2 (population 100 each), r2 at 0.6 (200); weights (3, 3, 1, 1):
    breakpoints at 1/2 and 1 only, so the tied pair (weights [0, 1/2]) lies in one slice and
    the OWA is 0.375 (L0 + L1) + 0.25 L2 on the feasible set. 80 lifts r0, r1 to 0.6 (0.375
    per 100), then all three rise together (300 per unit for 1, better than r2 alone: 0.25
    per 100) by 20/300: levels 2/3, transfers 140/3, 140/3, 20/3, OWA 2/3."""
    inst = make_instance([20.0, 20.0, 60.0], [100.0] * 3, pop=[100, 100, 200], budget=100.0, threshold=0.0)
    fast, lp = both(inst, PolicyConfig(no_overtaking=True), "hard", [3.0, 3.0, 1.0, 1.0])
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(2.0 / 3.0, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [140 / 3, 140 / 3, 20 / 3], atol=1e-9)


def test_tied_group_across_a_breakpoint_declines():
    """The same round with the default deciles: the tied pair spans [0, 1/2], across the
    breakpoints 0.1 .. 0.4, so the OWA is not linear on the feasible set: the path declines
    and the LP's answer stands (equalising the pair: 2/3 each)."""
    inst = make_instance([20.0, 20.0, 60.0], [100.0] * 3, pop=[100, 100, 200], budget=100.0, threshold=0.0)
    fast, lp = both(inst, PolicyConfig(no_overtaking=True), "hard")
    assert not agree(fast, lp)
    np.testing.assert_allclose(fast.allocation.level_after, [2 / 3] * 3, atol=1e-7)


def test_declines_without_no_overtaking():
    """Without the chain the order is free and the OWA concave, not linear: declined."""
    inst = make_instance([20.0, 60.0], [100.0, 100.0], prior=[10.0, 10.0], pop=[100, 100], budget=60.0,
                         threshold=0.0)
    fast, lp = both(inst, PolicyConfig(hold_harmless=1.0), "hard", [2.0, 1.0])
    assert not agree(fast, lp)


@pytest.mark.parametrize("seed", range(5))
def test_lorenz_duals_hold_and_their_check_can_fail(seed):
    """The closed-form Lorenz duals meet every dual condition of the slice LP's family, they
    sum to the owa_cut slopes on sorted levels and give the OWA as h.L; a dual moved off its
    value, or an eta moved off the quantile, is caught by ``lorenz_dual_violation``."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 40))
    w = rng.uniform(0.1, 1.0, n)
    w /= w.sum()
    level = np.sort(rng.uniform(0.2, 1.0, n))
    d = RegionData(np.zeros(n), np.ones(n), np.zeros(n), w, np.zeros(n), np.ones(n), 1.0,
                   {"weights": [5.0, 4.0, 3.0, 2.0, 1.0]})
    beta, c = fm.owa_terms(d)
    eta, pi = lorenz_point(level, w, np.arange(n), beta, c)
    h = fm.owa_cut(d, np.arange(n))
    np.testing.assert_allclose(pi.sum(axis=0), h, atol=1e-15)
    assert lorenz_dual_violation(pi, eta, level, d, beta, c, h) <= 1e-15
    lorenz = sum(ck * (bk * ek - np.dot(w, np.maximum(0.0, ek - level))) for bk, ck, ek in zip(beta, c, eta))
    assert lorenz == pytest.approx(float(np.dot(h, level)), abs=1e-12)
    bad = pi.copy()
    bad[0, -1] += 1e-3                                    # a dual on a slack row (the best-off region)
    assert lorenz_dual_violation(bad, eta, level, d, beta, c, h) > 1e-4
    assert lorenz_dual_violation(pi, eta + 0.1, level, d, beta, c, h) > 1e-4


@pytest.mark.slow
def test_cli_on_a_generated_folder(tmp_path):
    """The installed CLI on `equalize generate` output with hold-harmless 0.9 and no-overtaking:
    the summary names the path and its certificate, and the value is the LP's."""
    outs = cli_fast_and_lp(tmp_path, "owa")
    assert OWA_PATH in outs["fast"]["solved_by"] and outs["fast"]["certificate"]["dual_violation"] <= 1e-7
    assert OWA_PATH not in str(outs["lp"].get("solved_by"))
    assert outs["fast"]["objective_value"] == pytest.approx(outs["lp"]["objective_value"], rel=1e-9)
    assert outs["fast"]["budget_used"] == pytest.approx(outs["lp"]["budget_used"], rel=1e-9)
