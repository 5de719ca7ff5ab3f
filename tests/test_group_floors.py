"""Max-min with group rows that bind (optimizer/fast/group_floors.py): the small LP over the
group members, the other regions at their least levels, certified on the LP of record. Every
answer is compared with HiGHS on the LP of record (fast_path=False); a wrong inner answer is
refused by the certificate and the LP answers instead."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer.engine.drivers.parametric as parametric
from models.build import build_lp
from models.lp import LinearProgram
from optimizer.core.groups import Group
from optimizer.core.policy import PolicyConfig
from optimizer.engine.highs import solve_lp
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round
from optimizer.fast.certify import certify
from optimizer.fast.group_paths import group_floor_solution, group_least_spending
from tests.policy_helpers import diagnosis_and_min_cost_lp, fast_and_lp, make_instance

GROUP_PATH = "group floors"


def random_groups_round(seed: int, overlap: bool, lift: float):
    """n regions, 1-3 groups of random members (disjoint or overlapping), each with a
    min_level ``lift`` above its level before scaled to the money available."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(4, 18))
    need = rng.uniform(50, 150, n)
    own = need * rng.uniform(0.2, 1.3, n)
    if rng.random() < 0.3:             # ties in the levels before
        k = int(rng.integers(2, n + 1))
        own[:k] = need[:k] * rng.choice([0.4, 0.7], k)
    prior = np.maximum(0.0, need * 0.9 - own) * rng.uniform(0.5, 1.2, n)
    gap = np.maximum(0.0, 0.6 * need - own).sum()
    budget = float(gap * rng.uniform(0.9, 3.0) + 1.0)
    groups, pool = [], list(rng.permutation(n))
    for g in range(int(rng.integers(1, 4))):
        size = int(rng.integers(1, max(2, n // 3) + 1))
        if overlap:
            members = rng.choice(n, size=size, replace=False)
        else:
            members, pool = pool[:size], pool[size:]
            if not members:
                break
        mean = float((own[members].sum() + budget / n * len(members)) / need[members].sum())
        groups.append(Group(f"g{g}", "union", tuple(f"r{i}" for i in members), min_level=mean + lift))
    inst = make_instance(own, need, prior=prior, pop=rng.integers(1, 100, n), budget=budget,
                         threshold=0.6, groups=groups)
    return inst, rng


def policy_of(rng, chain: bool, hold: bool) -> PolicyConfig:
    kw = {"no_overtaking": chain}
    if hold:
        kw["hold_harmless"] = float(rng.uniform(0.2, 1.0))
    if rng.random() < 0.3:
        kw["change_limit"] = float(rng.uniform(0.05, 0.5))
    return PolicyConfig(**kw)


def agree(fast, lp) -> None:
    """Same max-min value, and the same least spending among the max-min optima (the
    maxmin tie-break; the split itself need not be unique)."""
    assert fast.summary["verified"]["ok"] is True
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], rel=1e-8, abs=1e-9)
    assert fast.allocation.transfer.sum() == pytest.approx(lp.allocation.transfer.sum(), rel=1e-7, abs=1e-5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from([-0.3, 0.0, 0.02, 0.1]))
def test_group_floors_equal_the_lp(seed, overlap, chain, hold, lift):
    inst, rng = random_groups_round(seed, overlap, lift)
    fast, lp = fast_and_lp(inst, objective="maxmin", policy=policy_of(rng, chain, hold), price_of_fairness=False,
                           objective_options={"thresholds": "hard"})
    if fast is not None:
        agree(fast, lp)


def test_engages_on_binding_floors():
    engaged = binding = 0
    for seed in range(30):
        inst, rng = random_groups_round(seed, seed % 2 == 0, 0.05)
        fast, lp = fast_and_lp(inst, objective="maxmin", policy=policy_of(rng, True, True), price_of_fairness=False,
                               objective_options={"thresholds": "hard"})
        if fast is None:
            continue
        agree(fast, lp)
        if "envelope filling" not in fast.summary.get("solved_by", ""):
            binding += 1
            engaged += GROUP_PATH in fast.summary.get("solved_by", "")
            assert GROUP_PATH not in fast.summary.get("solved_by", "") or fast.summary["certificate"]
    assert binding >= 5 and engaged >= 0.8 * binding, (engaged, binding)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.booleans(), st.sampled_from([0.0, 0.05, 0.2]))
def test_diagnosis_least_spending_with_group_rows_equals_the_min_cost_lp(seed, overlap, chain, lift):
    """The policy diagnosis's required budget with group rows (group_least_spending, certified)
    is HiGHS's optimum of the min-cost LP."""
    inst, rng = random_groups_round(seed, overlap, lift)
    diag, lp = diagnosis_and_min_cost_lp(inst, policy_of(rng, chain, True))
    if diag is None:
        return
    assert diag.required_budget == pytest.approx(lp.summary["objective_value"], rel=1e-9, abs=1e-6)


def test_least_spending_with_a_binding_group_row_is_certified():
    _, _, d, terms = binding_case()
    cost = build_lp(replace(d, options={}), "min-cost", terms)
    cost.row_upper[cost.row_block("budget").slice] = np.inf
    cost.cost[:] = 0.0
    cost.cost[cost.col_block("transfer").slice] = 1.0
    cost.maximize = False
    found = group_least_spending(cost, d, exact)
    assert found is not None
    first, _ = solve_lp(cost)
    assert found[0] == pytest.approx(first.objective, rel=1e-9)
    g = cost.row_block("group_level").slice
    assert (cost.A @ np.r_[found[1]])[g][0] == pytest.approx(cost.row_lower[g][0], abs=1e-9)   # it binds


def maxmin_lp_of(inst, policy: PolicyConfig):
    opts = SolveOptions(objective="maxmin", policy=policy, objective_options={"thresholds": "hard"})
    prep = prepare_round(inst, objective_spec("maxmin"), opts)
    d = prep.data
    lp = prep.build(replace(d, options={**d.options, "soft_thresholds": False}), "maxmin")
    return lp, lp.layout(), d, prep.terms


def binding_case():
    """Five regions in a chain; the group {r0, r4} must reach 0.8 on average, which the
    max-min split (everyone at about 0.62) does not give it."""
    own, need = [20.0, 30.0, 45.0, 60.0, 70.0], [100.0] * 5
    groups = [Group("g", "union", ("r0", "r4"), min_level=0.8)]
    inst = make_instance(own, need, prior=[30.0, 20.0, 10.0, 0.0, 0.0], budget=150.0, threshold=0.3, groups=groups)
    return maxmin_lp_of(inst, PolicyConfig(hold_harmless=0.9, no_overtaking=True))


def exact(small: LinearProgram):
    return solve_lp(small)[0]


def test_the_certified_point_is_the_lps():
    lp, lay, d, _ = binding_case()
    found = group_floor_solution(lp, lay, d, exact)
    assert found is not None
    sol, info = found
    assert certify(lp, sol.x, sol.row_dual).ok and GROUP_PATH in info["solved_by"]
    first, _ = solve_lp(lp)
    assert sol.objective == pytest.approx(first.objective, rel=1e-9)
    # the group row binds, with a positive multiplier (HiGHS's sign for the max problem: <= 0)
    g = lay["rows:group_level"]
    assert sol.row_activity[g][0] == pytest.approx(lp.row_lower[g][0], abs=1e-9)
    assert sol.row_dual[g][0] < -1e-9


def test_a_wrong_inner_answer_is_refused():
    lp, lay, d, _ = binding_case()

    def generous(small: LinearProgram):      # HiGHS on a small LP with 1% more budget: not the record's
        upper = small.row_upper.copy()
        upper[int(np.argmax(np.diff(small.A.tocsr().indptr)))] *= 1.01   # the budget: every column but z
        return solve_lp(LinearProgram(small.cost, small.col_lower, small.col_upper, small.A, small.row_lower,
                                      upper))[0]

    def wrong_duals(small: LinearProgram):   # the right point with the group row's multiplier halved
        sol = solve_lp(small)[0]
        sol.row_dual = sol.row_dual * 0.5
        return sol

    assert group_floor_solution(lp, lay, d, exact) is not None
    assert group_floor_solution(lp, lay, d, generous) is None
    assert group_floor_solution(lp, lay, d, wrong_duals) is None


def test_a_failed_certificate_falls_back_to_the_lp(monkeypatch):
    """The solve path with the inner solver replaced by a wrong one (a real HiGHS solve of
    a different LP): the certificate refuses it and the parametric driver's LP answers."""
    own, need = [20.0, 30.0, 45.0, 60.0, 70.0], [100.0] * 5
    groups = [Group("g", "union", ("r0", "r4"), min_level=0.8)]
    inst = make_instance(own, need, prior=[30.0, 20.0, 10.0, 0.0, 0.0], budget=150.0, threshold=0.3, groups=groups)
    policy = PolicyConfig(hold_harmless=0.9, no_overtaking=True)
    fast, lp = fast_and_lp(inst, objective="maxmin", policy=policy, price_of_fairness=False,
                           objective_options={"thresholds": "hard"})
    assert GROUP_PATH in fast.summary["solved_by"]
    real = parametric.GrowingLP

    class Halved(real):
        """The warm-started small-LP solver, its row duals halved (a wrong inner answer)."""

        def __call__(self, small):
            sol = super().__call__(small)
            sol.row_dual = sol.row_dual * 0.5
            return sol

    monkeypatch.setattr(parametric, "GrowingLP", Halved)
    fallback, _ = fast_and_lp(inst, objective="maxmin", policy=policy, price_of_fairness=False,
                              objective_options={"thresholds": "hard"})
    assert GROUP_PATH not in fallback.summary["solved_by"] and "parametric" in fallback.summary["solved_by"]
    agree(fallback, lp)
