"""Max-min with policy rows by fixed-level LPs (optimizer/engine/drivers/parametric.py) equals the plain
LP of record: same level, same transfers, same budget shadow price."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.policy import PolicyConfig
from optimizer.engine.drivers.parametric import parametric_maxmin_run
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round
from optimizer.io.load import load_instance
from optimizer.prepare.policy_round import tie_break_columns
from tests.policy_helpers import KOREA, fast_and_lp, make_instance

POLICIES = [
    {"hold_harmless": 0.5}, {"hold_harmless": 0.9}, {"no_overtaking": True},
    {"per_capita_cap": 0.6}, {"per_capita_floor": 0.05},
    {"horizontal_level": 1.0, "horizontal_share": 0.3},
    {"change_limit": 0.5}, {"hold_harmless": 0.3, "no_overtaking": True},
]


def both(inst, policy):
    return fast_and_lp(inst, objective="maxmin", policy=PolicyConfig(**policy), price_of_fairness=False)


def parametric_value(inst, policy) -> float | None:
    """The fixed-level driver itself on the prepared round (solve() now takes the envelope
    filling, optimizer/fast/policy_path.py, where it applies; the driver is its fallback)."""
    opts = SolveOptions(objective="maxmin", policy=PolicyConfig(**policy), price_of_fairness=False)
    prep = prepare_round(inst, objective_spec("maxmin"), opts)
    if not prep.hard:
        return None
    run = parametric_maxmin_run(prep.data, prep.build, tie_break_columns)
    return None if run is None else run.first.objective


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 25), st.integers(0, 10**6), st.sampled_from(POLICIES))
def test_parametric_equals_lp(n, seed, policy):
    rng = np.random.default_rng(seed)
    need = rng.uniform(50, 150, n)
    own = need * rng.uniform(0.2, 1.3, n)
    prior = np.maximum(0.0, need * 0.9 - own) * rng.uniform(0.5, 1.2, n)
    pop = rng.integers(1, 100, n)
    gap = np.maximum(0.0, 0.6 * need - own).sum()
    inst = make_instance(own, need, prior=prior, pop=pop, budget=float(gap * rng.uniform(0.9, 2.0) + 1.0),
                         threshold=0.6)
    fast, lp = both(inst, policy)
    if fast is None:
        return
    # (it may hand over to the plain LP at a tolerance edge; the answer must agree either way)
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-8, abs=1e-9)
    np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, rtol=1e-6, atol=1e-6)


def test_parametric_engages_on_random_instances():
    engaged = feasible = 0
    for seed in range(16):
        rng = np.random.default_rng(seed)
        n = 30
        need = rng.uniform(50, 150, n)
        own = need * rng.uniform(0.2, 1.3, n)
        prior = np.maximum(0.0, need * 0.9 - own) * rng.uniform(0.5, 1.2, n)
        gap = np.maximum(0.0, 0.6 * need - own).sum()
        inst = make_instance(own, need, prior=prior, pop=rng.integers(1, 100, n),
                             budget=float(gap * 1.5 + 1.0), threshold=0.6)
        fast, lp = both(inst, POLICIES[seed % len(POLICIES)])
        if fast is not None:
            feasible += 1
            value = parametric_value(inst, POLICIES[seed % len(POLICIES)])
            engaged += value is not None
            assert value is None or value == pytest.approx(lp.summary["objective_value"], rel=1e-8)
            assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-8)
    assert feasible >= 8 and engaged >= 0.8 * feasible


@pytest.mark.parametrize("policy", [{"hold_harmless": 0.5}, {"no_overtaking": True},
                                    {"hold_harmless": 0.3, "no_overtaking": True}])
def test_parametric_engages_on_korea_with_lp_duals(policy):
    fast, lp = both(load_instance(KOREA), policy)
    assert fast.summary["solved_by"].startswith(("parametric max-min", "envelope filling"))
    assert parametric_value(load_instance(KOREA), policy) == pytest.approx(lp.summary["objective_value"],
                                                                           rel=1e-12)
    assert "solved_by" not in lp.summary
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-12)
    assert fast.summary["budget_shadow_price"] == pytest.approx(lp.summary["budget_shadow_price"], rel=1e-8)
    np.testing.assert_allclose(fast.allocation.transfer, lp.allocation.transfer, atol=1e-6)
