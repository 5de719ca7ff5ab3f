"""min-gini with policy rows (optimizer/fast/policy_gini.py): Dinkelbach over the max-mean
layers on the order no-overtaking fixes, certified on the chain-form LP of record at the
ratio, equals the LP path (HiGHS forced with fast_path=False) on random rounds
(hold-harmless, change limits, per-capita bounds, no-overtaking with ties, group floors;
hard and auto thresholds); engages on every tie-free chain round with a budget price;
hand-solved rounds; tied levels before (declined or right); the installed CLI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.core.policy import PolicyConfig
from optimizer.engine.solve import SolveOptions, solve
from tests.policy_helpers import agree_by_value, cli_fast_and_lp, fast_and_lp, make_instance
from tests.test_policy_path import policy_of, raised_priors, random_round

GINI_PATH = "optimizer/fast/policy_gini.py"


def both(inst, policy: PolicyConfig, thresholds: str):
    """``fast_and_lp``, except where HiGHS alone fails a round whose budget is enough only up
    to float rounding (the LP path's numerical edge, its message says so): there the default
    solve must answer with its post-solve check passed (None, None: nothing to compare)."""
    opts = {"objective": "min-gini", "policy": policy, "price_of_fairness": False,
            "objective_options": {"thresholds": thresholds}}
    try:
        solve(inst, SolveOptions(fast_path=False, **opts))
    except InfeasibleError as exc:
        if "up to float rounding" in str(exc):
            try:
                assert solve(inst, SolveOptions(**opts)).summary["verified"]["ok"] is True
            except InfeasibleError as again:   # no fast path for this round (pinned below)
                assert "up to float rounding" in str(again) and "numerically hard" in str(again)
            return None, None
    return fast_and_lp(inst, **opts)


def agree(fast, lp) -> bool:
    return agree_by_value(fast, lp, GINI_PATH, rel=1e-7)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.sampled_from(["hard", "auto"]), st.sampled_from([None, 0.3, 0.95]))
def test_min_gini_with_policy_rows_equals_the_lp(seed, ties, thresholds, group_floor):
    inst, rng = random_round(seed, ties, group_floor)
    fast, lp = both(inst, policy_of(rng), thresholds)
    if fast is not None:
        agree(fast, lp)


@pytest.mark.slow
@pytest.mark.parametrize("prior_up", [0.0, 0.4])
def test_engages_on_every_tie_free_chain_round_with_a_budget_price(prior_up):
    """No ties before, no group rows, no-overtaking on, the budget priced and the Gini above
    0 (else other optima may spend less: declined by design): the certified point must
    answer (a dual or certificate that fails shows here)."""
    feasible = engaged = 0
    for seed in range(60):
        inst, rng = random_round(seed, False, None)
        inst = raised_priors(inst, prior_up)
        policy = policy_of(rng)
        if not policy.no_overtaking:
            continue
        fast, lp = both(inst, policy, "hard" if seed % 2 else "auto")
        if fast is None or lp.summary["objective_value"] < 1e-6 or not lp.summary["budget_binding"]:
            continue
        feasible += 1
        engaged += agree(fast, lp)
    assert feasible >= 10 and engaged == feasible


def test_hand_solved_two_regions():
    """Own 20/60 of need 100, equal populations, budget 20, no-overtaking: all 20 to r0
    (levels 0.4/0.6): P = 1/4 * 0.2, mu = 0.5, Gini 0.1."""
    inst = make_instance([20.0, 60.0], [100.0, 100.0], pop=[100, 100], budget=20.0, threshold=0.0)
    fast, lp = both(inst, PolicyConfig(no_overtaking=True), "hard")
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.1, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [20.0, 0.0], atol=1e-9)


def test_hand_solved_hold_harmless_and_chain():
    """Own 10/30/50 of need 100, population 100/200/100, prior 0/40/0, hold-harmless 1 and
    no-overtaking, budget 100: the least point is 0/40/20 (levels 0.1/0.7/0.7, r2 held at
    r1 by the chain); the 40 left lift the lowest, r0, to 0.5: P = 1/8 0.2 + 1/16 0.2,
    mu = 0.65, Gini 0.0375 / 0.65."""
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, prior=[0.0, 40.0, 0.0], pop=[100, 200, 100],
                         budget=100.0, threshold=0.0)
    fast, lp = both(inst, PolicyConfig(hold_harmless=1.0, no_overtaking=True), "hard")
    assert agree(fast, lp)
    assert fast.summary["objective_value"] == pytest.approx(0.0375 / 0.65, abs=1e-12)
    np.testing.assert_allclose(fast.allocation.transfer, [40.0, 40.0, 20.0], atol=1e-9)


@pytest.mark.parametrize("budget", [30.0, 50.0, 120.0])
def test_tied_levels_before_decline_or_are_right(budget):
    """r0 and r1 tied before at 0.2 (different needs and populations), r2 at 0.6: the Gini
    cares about their order, so the answer is accepted only on the cone its levels sort
    by, certified; else the LP answers. Either way the LP's Gini."""
    inst = make_instance([20.0, 40.0, 60.0], [100.0, 200.0, 100.0], pop=[100, 300, 100], budget=budget,
                         threshold=0.0)
    fast, lp = both(inst, PolicyConfig(no_overtaking=True), "hard")
    agree(fast, lp)


def test_declines_without_no_overtaking():
    """Without the chain the order is free: declined, the LP answers."""
    inst = make_instance([20.0, 60.0], [100.0, 100.0], prior=[10.0, 10.0], pop=[100, 100], budget=20.0,
                         threshold=0.0)
    fast, lp = both(inst, PolicyConfig(hold_harmless=1.0), "hard")
    assert not agree(fast, lp)


@pytest.mark.slow
def test_cli_on_a_generated_folder(tmp_path):
    """The installed CLI on `equalize generate` output with hold-harmless 0.9 and no-overtaking:
    the summary names the path and its certificate, and the Gini is the LP path's."""
    outs = cli_fast_and_lp(tmp_path, "min-gini")
    assert GINI_PATH in outs["fast"]["solved_by"] and outs["fast"]["certificate"]["dual_violation"] <= 1e-7
    assert GINI_PATH not in str(outs["lp"].get("solved_by"))
    assert outs["fast"]["objective_value"] == pytest.approx(outs["lp"]["objective_value"], rel=1e-7)
    assert outs["fast"]["budget_used"] == pytest.approx(outs["lp"]["budget_used"], rel=1e-9)


@pytest.mark.xfail(strict=True, raises=InfeasibleError,
                   reason="found 2026-12-01 by a local hypothesis run: hold-harmless + change limit + a group "
                          "floor, no no-overtaking, a budget enough only up to float rounding; no fast path "
                          "applies and HiGHS calls the LP infeasible, so the round exits 1 (numerically hard) "
                          "although it has an answer: not fixed in the time left")
def test_min_gini_group_round_with_a_budget_at_the_edge_has_an_answer():
    inst, rng = random_round(30551, False, 0.3)
    opts = {"objective": "min-gini", "policy": policy_of(rng), "price_of_fairness": False,
            "objective_options": {"thresholds": "hard"}}
    assert solve(inst, SolveOptions(**opts)).summary["verified"]["ok"] is True
