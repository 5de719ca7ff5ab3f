"""cvar with policy rows (optimizer/fast/policy_cvar.py): the max-min point of the envelope
filling, certified on the cvar LP of record when every floor dual fits under w_r / alpha,
equals the LP of record (HiGHS forced with fast_path=False) on random rounds (hold-harmless,
change limits, per-capita bounds, no-overtaking with ties, group floors; hard and auto
thresholds; several alpha); it engages on every budget-bound round with alpha below every
weight (cvar is then maxmin) and declines where the max-min point is not cvar-optimal;
hand-solved rounds; the installed CLI on a generated folder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.policy import PolicyConfig
from tests.policy_helpers import cli_fast_and_lp, fast_and_lp, make_instance
from tests.test_policy_path import policy_of, raised_priors, random_round
from tests.test_policy_range import scarce_round

CVAR_PATH = "optimizer/fast/policy_cvar.py"


def both(inst, policy: PolicyConfig, thresholds: str, alpha: float):
    return fast_and_lp(inst, objective="cvar", policy=policy, price_of_fairness=False,
                       objective_options={"thresholds": thresholds, "alpha": alpha})


def agree(fast, lp) -> bool:
    """Same value; where the fast path answered, the same levels and transfers (its optimum
    is unique: the module docstring). True when the fast path answered."""
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-7, abs=1e-8)
    if CVAR_PATH not in fast.summary.get("solved_by", ""):
        return False
    assert fast.summary["certificate"]["primal_violation"] <= 1e-7
    np.testing.assert_allclose(fast.allocation.level_after, lp.allocation.level_after, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-5)
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from(["hard", "auto"]),
       st.sampled_from([None, 0.3, 0.95]), st.sampled_from([0.001, 0.05, 0.2, 0.6, 1.0]))
def test_cvar_with_policy_rows_equals_the_lp(seed, ties, thresholds, group_floor, alpha):
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, policy_of(rng), thresholds, alpha)
    if fast is not None:
        agree(fast, lp)


@pytest.mark.parametrize("prior_up", [0.0, 0.4])
def test_engages_when_alpha_is_below_every_weight(prior_up):
    """alpha below every weight: cvar is maxmin, every floor dual (at most 1) fits under
    w_r / alpha; every round whose budget binds at the max-min floor must engage (a
    certificate that fails would show here). ``prior_up`` lets hold-harmless rows, not only
    t_min, hold the best-off regions (their chain and bound duals are then on those rows)."""
    feasible = engaged = 0
    for seed in range(30):
        inst, rng = random_round(seed, seed % 3 == 0, None)
        inst = raised_priors(inst, prior_up)
        policy = policy_of(rng)
        pop = inst.regions["population"].to_numpy(dtype=float)
        alpha = 0.5 * float(pop.min() / pop.sum())
        for thresholds in ("hard", "auto"):
            fast, lp = both(inst, policy, thresholds, alpha)
            if fast is None:
                continue
            mm, _ = fast_and_lp(inst, objective="maxmin", policy=policy, price_of_fairness=False,
                                objective_options={"thresholds": thresholds})
            if not mm.summary["budget_binding"] or mm.summary["budget_shadow_price"] <= 0:
                continue          # the cap case: declined by design
            feasible += 1
            engaged += agree(fast, lp)
    assert feasible >= 15 and engaged == feasible


def toy_round(alpha: float, budget: float = 60.0):
    """own 20/60/90 of need 100, prior 40/10/0, pop 100/200/100 (w = 1/4, 1/2, 1/4),
    hold-harmless 1, no-overtaking, threshold 0.5 (met). Hold-harmless forces 40/10/0
    (levels 0.6/0.7/0.9, 50 spent); the other 10 lift r0 to 0.7: z* = 0.7, floor {r0, r1},
    lambda = 1/200 a unit of money, floor duals pi = 1/2, 1/2."""
    inst = make_instance([20.0, 60.0, 90.0], [100.0] * 3, prior=[40.0, 10.0, 0.0], pop=[100, 200, 100],
                         budget=budget, threshold=0.5)
    return both(inst, PolicyConfig(hold_harmless=1.0, no_overtaking=True), "hard", alpha)


def test_hand_solved_engaged():
    """alpha 0.4: w / alpha = 0.625, 1.25 >= 1/2: the max-min point, value 0.7 = z*,
    transfers 50/10/0, the budget's price d value / d budget = 1/200."""
    fast, lp = toy_round(0.4)
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [50.0, 10.0, 0.0], atol=1e-9)
    assert fast.summary["budget_shadow_price"] == pytest.approx(1 / 200, rel=1e-9)


def test_hand_solved_declines_when_a_floor_dual_exceeds_its_weight():
    """alpha 0.6: r0's floor dual 1/2 is over w_0 / alpha = 5/12; the path declines and
    the LP answers. The max-min point (0.7 for the whole tail) is not optimal: the tail is r0
    (share 1/4) and 0.35 of r1, and the 10 spent on r1 instead (levels 0.6, 0.8, 0.9) give
    (0.25 x 0.6 + 0.35 x 0.8) / 0.6 = 0.7167."""
    fast, lp = toy_round(0.6)
    assert not agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.43 / 0.6, abs=1e-7)
    np.testing.assert_allclose(fast.allocation.level_after, [0.6, 0.8, 0.9], atol=1e-7)


def test_hand_solved_share_passed_down_the_chain():
    """The toy round with populations 300/100/100 (w = 0.6, 0.2, 0.2), alpha 0.5: max-min's
    floor duals 1/2, 1/2 put r1 over its cap w_1 / alpha = 0.4; r1 rests on r0 through the
    tight no-overtaking row, which takes the excess (pi = 0.6, 0.4; r0's cap 1.2). The
    max-min point is optimal (value 0.7): the 10 on r1 instead (0.6, 0.8) leave r0 as the
    whole tail, 0.6. Without no-overtaking no row can carry it and the path declines (the
    same point is optimal there through other duals, r1 held by its hold-harmless bound with
    pi = (1, 0) and the budget's price 1/100: a candidate this path does not build)."""
    inst = make_instance([20.0, 60.0, 90.0], [100.0] * 3, prior=[40.0, 10.0, 0.0], pop=[300, 100, 100],
                         budget=60.0, threshold=0.5)
    fast, lp = both(inst, PolicyConfig(hold_harmless=1.0, no_overtaking=True), "hard", 0.5)
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [50.0, 10.0, 0.0], atol=1e-9)
    fast, lp = both(inst, PolicyConfig(hold_harmless=1.0), "hard", 0.5)
    assert not agree(fast, lp)


def test_declines_where_the_max_min_point_is_not_optimal():
    """Two regions of own 0, need 100 and 900, equal populations, hold-harmless on priors 0,
    budget 500, alpha 1 (the mean): the max-min point (0.5, 0.5) has mean 0.5, the optimum
    gives all 500 to the first region (levels 5 and 0, mean 2.5). The path must decline."""
    inst = make_instance([0.0, 0.0], [100.0, 900.0], prior=[0.0, 0.0], pop=[100, 100], budget=500.0,
                         threshold=0.0)
    fast, lp = both(inst, PolicyConfig(hold_harmless=1.0), "hard", 1.0)
    assert not agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(2.5, rel=1e-9)


@pytest.mark.slow
def test_cli_on_a_generated_folder(tmp_path):
    """The installed CLI on `equalize generate --regions 400`: with policy rows the fast
    path answers cvar (certified), and --no-fast-path's LP gives the same value and levels."""
    out = cli_fast_and_lp(tmp_path, "cvar")
    assert CVAR_PATH in out["fast"]["solved_by"]
    assert CVAR_PATH not in out["lp"].get("solved_by", "")
    assert out["fast"]["objective_value"] == pytest.approx(out["lp"]["objective_value"], rel=1e-7)
    assert out["fast"]["verified"]["ok"] is True


def test_scarcity_rounds_equal_the_lp():
    """Under scarcity (--thresholds auto with the thresholds out of reach) the LP of record
    has soft thresholds with costless shortfalls and the capped t_max: the same point and
    duals, threshold rows at dual 0; it must engage on some of them and agree on all."""
    capped = engaged = 0
    for seed in range(25):
        inst, policy = scarce_round(seed)
        fast, lp = both(inst, policy, "auto", 0.05)
        if fast is None:
            continue
        engaged += agree(fast, lp)
        capped += "caps" in fast.summary["scarcity"]["in_effect"]
    assert capped >= 5 and engaged >= 5
