"""min-range with policy rows (optimizer/fast/policy_range.py): the envelope filling to
min(z*, M0) is the LP of record's answer (HiGHS forced with fast_path=False) on random
rounds (hold-harmless, change limits, per-capita bounds, no-overtaking with ties, group
floors; hard and auto thresholds), on hand-solved rounds covering each of its three
certificates, and through the installed CLI on a generated folder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from optimizer.core.policy import PolicyConfig
from tests.policy_helpers import cli_fast_and_lp, make_instance
from tests.test_policy_path import both, policy_of, raised_priors, random_round

RANGE_PATH = "optimizer/fast/policy_range.py"


def agree(fast, lp) -> bool:
    """Same value; where the fast path answered, the same levels and transfers (the
    least-spending optimum L* = max(m*, M) is unique). True when the fast path answered."""
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-7, abs=1e-8)
    if RANGE_PATH not in fast.summary.get("solved_by", ""):
        return False
    assert fast.summary["certificate"]["primal_violation"] <= 1e-7
    np.testing.assert_allclose(fast.allocation.level_after, lp.allocation.level_after, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-5)
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from(["hard", "auto"]),
       st.sampled_from([None, 0.3, 0.75, 0.95]))
@example(559, False, "hard", None)   # the water level an ulp below the least envelope (a division by 0)
def test_min_range_with_policy_rows_equals_the_lp(seed, ties, thresholds, group_floor):
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, "min-range", policy_of(rng), thresholds)
    if fast is not None:
        agree(fast, lp)


@pytest.mark.parametrize("prior_up", [0.0, 0.4])
def test_engages_on_every_feasible_round_without_group_rows(prior_up):
    """Without group rows every feasible round is in what the module proves: the fast path
    must answer all of them (a certificate that fails would show here), with both the
    budget-bound (range > 0) and the range-0 answers among them. ``prior_up`` raises every
    prior by that share of need, so that hold-harmless rows (not only t_min) hold the
    best-off regions and their range_upper dual must be carried to those rows."""
    feasible = engaged = zero = 0
    for seed in range(30):
        inst, rng = random_round(seed, seed % 3 == 0, None)
        inst = raised_priors(inst, prior_up)
        policy = policy_of(rng)
        for thresholds in ("hard", "auto"):
            fast, lp = both(inst, "min-range", policy, thresholds)
            if fast is None:
                continue
            feasible += 1
            engaged += agree(fast, lp)
            zero += fast.summary["objective_value"] == 0.0
    assert feasible >= 20 and engaged == feasible and 0 < zero < feasible


def scarce_round(seed: int):
    """A round whose budget lies between what hold-harmless needs and what the thresholds
    need: under --thresholds auto the thresholds become caps (scarcity)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 16))
    need = rng.uniform(50, 150, n)
    own = need * rng.uniform(0.2, 1.3, n)
    prior = np.maximum(0.0, need * 0.9 - own) * rng.uniform(0.5, 1.2, n)
    hh = float(rng.uniform(0.1, 0.5))
    least, full = hh * prior.sum(), np.maximum(np.maximum(0.0, 0.6 * need - own), hh * prior).sum()
    inst = make_instance(own, need, prior=prior, pop=rng.integers(1, 100, n),
                         budget=float(least + rng.uniform(0.1, 0.9) * (full - least)), threshold=0.6)
    return inst, PolicyConfig(hold_harmless=hh, no_overtaking=bool(rng.random() < 0.8))


def test_scarcity_rounds_engage_and_equal_the_lp():
    """Under scarcity the LP of record has soft thresholds with costless shortfalls and the
    capped t_max: the same construction, threshold rows at dual 0, certified on it."""
    capped = 0
    for seed in range(25):
        inst, policy = scarce_round(seed)
        fast, lp = both(inst, "min-range", policy, "auto")
        if fast is None:
            continue
        assert agree(fast, lp)
        capped += "caps" in fast.summary["scarcity"]["in_effect"]
    assert capped >= 10


def chain_round(budget: float, max_transfer: float | None = None):
    """Own 10/30/50 of need 100, prior 0/40/0; hold-harmless 1 keeps r1 at 0.7 and
    no-overtaking lifts r2 (richer before) to 0.7: lower envelope M = 0.1/0.7/0.7, M0 = 0.7."""
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], budget=budget, threshold=0.0)
    if max_transfer is not None:
        inst.regions.loc[0, "max_transfer"] = max_transfer
    return both(inst, "min-range", PolicyConfig(hold_harmless=1.0, no_overtaking=True), "hard")


@pytest.mark.parametrize(("budget", "cap", "value", "transfer"), [
    # (a) the budget binds: 100 - 40 - 20 = 40 lifts r0 to 0.5, range 0.7 - 0.5
    (100.0, None, 0.2, [40.0, 40.0, 20.0]),
    # (c) z* = 0.7 + 40/300 >= M0: everyone at 0.7, range 0, 80 of the 200 left unspent
    (200.0, None, 0.0, [60.0, 40.0, 20.0]),
    # (b) r0's max transfer 20 holds the minimum at 0.3 with money left: range 0.4
    (200.0, 20.0, 0.4, [20.0, 40.0, 20.0]),
])
def test_hand_solved(budget, cap, value, transfer):
    fast, lp = chain_round(budget, cap)
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(value, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, transfer, atol=1e-9)


@pytest.mark.slow
def test_cli_on_a_generated_folder(tmp_path):
    """The installed CLI on `equalize generate` output with hold-harmless 0.9 and no-overtaking:
    the summary names the path and its certificate, and the answer is the LP's."""
    outs = cli_fast_and_lp(tmp_path, "min-range")
    assert RANGE_PATH in outs["fast"]["solved_by"] and outs["fast"]["certificate"]["dual_violation"] <= 1e-7
    assert "solved_by" not in outs["lp"] or RANGE_PATH not in str(outs["lp"]["solved_by"])
    assert outs["fast"]["objective_value"] == pytest.approx(outs["lp"]["objective_value"], rel=1e-7)
    assert outs["fast"]["budget_used"] == pytest.approx(outs["lp"]["budget_used"], rel=1e-9)
