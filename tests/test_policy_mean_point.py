"""max-mean with policy rows (optimizer/fast/policy_mean_point.py): the Lagrangian layers'
point with chain-flow duals is the LP of record's optimum (HiGHS forced with fast_path=False)
on random rounds (hold-harmless, change limits, per-capita bounds, no-overtaking with ties,
group floors; hard and auto thresholds), on hand-solved rounds (a budget price with a pooled
block, and no price: every region at its cap), and through the installed CLI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.policy import PolicyConfig
from tests.policy_helpers import agree_by_value, cli_fast_and_lp, make_instance
from tests.test_policy_path import both, policy_of, raised_priors, random_round
from tests.test_policy_range import scarce_round

MEAN_PATH = "optimizer/fast/policy_mean_point.py"


def agree(fast, lp) -> bool:
    return agree_by_value(fast, lp, MEAN_PATH, rel=1e-8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from(["hard", "auto"]),
       st.sampled_from([None, 0.3, 0.75, 0.95]))
def test_max_mean_with_policy_rows_equals_the_lp(seed, ties, thresholds, group_floor):
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, "max-mean", policy_of(rng), thresholds)
    if fast is not None:
        agree(fast, lp)


@pytest.mark.parametrize("prior_up", [0.0, 0.4])
def test_engages_on_every_feasible_round_without_group_rows(prior_up):
    """Every feasible round without group rows is answered by the certified point (a flow
    construction or certificate that fails would show here); ``prior_up`` raises every prior
    so that hold-harmless rows hold more regions and the chain pools more blocks."""
    feasible = engaged = 0
    for seed in range(30):
        inst, rng = random_round(seed, seed % 3 == 0, None)
        inst = raised_priors(inst, prior_up)
        policy = policy_of(rng)
        for thresholds in ("hard", "auto"):
            fast, lp = both(inst, "max-mean", policy, thresholds)
            if fast is None:
                continue
            feasible += 1
            engaged += agree(fast, lp)
    assert feasible >= 20 and engaged == feasible


def test_scarcity_rounds_engage_and_equal_the_lp():
    """Under scarcity (thresholds as caps, soft rows with costless shortfalls) the point is
    certified on that LP of record too."""
    capped = 0
    for seed in range(25):
        inst, policy = scarce_round(seed)
        fast, lp = both(inst, "max-mean", policy, "auto")
        if fast is None:
            continue
        assert agree(fast, lp)
        capped += "caps" in fast.summary["scarcity"]["in_effect"]
    assert capped >= 10


def test_hand_solved_pooled_block():
    """Own 10/30/50 of need 100, population 100/200/100 (weights 1/4, 1/2, 1/4), prior 0/40/0,
    hold-harmless 1 and no-overtaking: the least point is 0/40/20 (levels 0.1/0.7/0.7), 40 left.
    A unit of level for r0 or r2 alone costs 100 and yields 1/4; r1 must lift r2 with it (no
    overtaking): 200 for 3/4, the best rate. So r1 and r2 rise together by 0.2: transfers
    0/60/40, mean 0.025 + 0.45 + 0.225 = 0.7."""
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], pop=[100, 200, 100],
                         budget=100.0, threshold=0.0)
    fast, lp = both(inst, "max-mean", PolicyConfig(hold_harmless=1.0, no_overtaking=True), "hard")
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.7, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [0.0, 60.0, 40.0], atol=1e-9)
    np.testing.assert_allclose(lp.allocation.transfer, [0.0, 60.0, 40.0], atol=1e-6)


def test_hand_solved_tied_groups_pool():
    """Ties before: r0, r1 at 0.2 and r2, r3 at 0.3 (need 100, population 300/300/100/100),
    no-overtaking only. r0 and r1 have the best rate: 20 lifts them to 0.3; then all four rise
    together (the chain rows between the two tied pairs hold), 80 for 0.2 each: levels 0.5,
    transfers 30/30/20/20, mean 0.5. The pooled block's flow goes up through a 2 x 2 set of
    chain rows (split by the north-west corner rule)."""
    inst = make_instance([20.0, 20.0, 30.0, 30.0], [100.0] * 4, pop=[300, 300, 100, 100], budget=100.0,
                         threshold=0.0)
    fast, lp = both(inst, "max-mean", PolicyConfig(no_overtaking=True), "hard")
    assert agree(fast, lp)
    np.testing.assert_allclose(fast.allocation.transfer, [30.0, 30.0, 20.0, 20.0], atol=1e-9)
    assert fast.summary["objective_value"] == pytest.approx(0.5, abs=1e-12)


def test_hand_solved_every_region_at_its_cap():
    """The same round with max transfers 30/50/50 and a budget of 1,000: every region at its
    cap (levels 0.4/0.8/1.0 keep the order), 130 spent, the budget's price 0."""
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], pop=[100, 200, 100],
                         budget=1000.0, threshold=0.0)
    inst.regions["max_transfer"] = [30.0, 50.0, 50.0]
    fast, lp = both(inst, "max-mean", PolicyConfig(hold_harmless=1.0, no_overtaking=True), "hard")
    assert agree(fast, lp)
    np.testing.assert_allclose(fast.allocation.transfer, [30.0, 50.0, 50.0], atol=1e-9)
    assert fast.summary["objective_value"] == pytest.approx(0.25 * 0.4 + 0.5 * 0.8 + 0.25 * 1.0, abs=1e-12)


@pytest.mark.slow
def test_cli_on_a_generated_folder(tmp_path):
    """The installed CLI on `equalize generate` output with hold-harmless 0.9 and no-overtaking:
    the summary names the path and its certificate, and the value is the LP's."""
    outs = cli_fast_and_lp(tmp_path, "max-mean")
    assert MEAN_PATH in outs["fast"]["solved_by"] and outs["fast"]["certificate"]["dual_violation"] <= 1e-7
    assert MEAN_PATH not in str(outs["lp"].get("solved_by"))
    assert outs["fast"]["objective_value"] == pytest.approx(outs["lp"]["objective_value"], rel=1e-9)
    assert outs["fast"]["budget_used"] == pytest.approx(outs["lp"]["budget_used"], rel=1e-9)
