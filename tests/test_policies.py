"""Each policy on a hand-solved case (real HiGHS, both engines) and as a property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.build import build_arrays, build_pyomo
from models.compile import to_linear_program
from models.data import RegionData
from models.policies import POLICIES, PolicyTerm
from optimizer.core.errors import InfeasibleError, InputError, Problem
from optimizer.io.load import load_instance
from optimizer.io.policy import parse_policy
from tests.policy_helpers import TOY, make_instance, run, toy, transfers

ENGINES = ["direct", "pyomo"]


def test_no_policy_is_the_foundation_answer():
    # toy-3 by hand: (z-0.2)100 + (z-0.6)100 = 60 -> z = 0.7, T = (50, 10, 0)
    r = run(toy())
    assert np.allclose(transfers(r), [50, 10, 0])
    assert "policy" not in r.summary


@pytest.mark.parametrize("engine", ENGINES)
def test_change_limit_hand_solved(engine):
    # |T - prior| <= 0.1 prior: T_a in [36, 44], T_b in [9, 11], T_c = 0; floor = L_a <= 0.64,
    # tie-break takes the least T_b (9).
    r = run(toy(), engine=engine, change_limit=0.1)
    assert np.allclose(transfers(r), [44, 9, 0])
    assert r.summary["objective_value"] == pytest.approx(0.64)


def test_change_limit_absolute_hand_solved():
    # |T - prior| <= 5: T_a in [35, 45], T_b in [5, 15], T_c in [0, 5] -> z = 0.65, T = (45, 5, 0)
    r = run(toy(), change_limit_abs=5.0)
    assert np.allclose(transfers(r), [45, 5, 0])


@pytest.mark.parametrize("engine", ENGINES)
def test_hold_harmless_hand_solved(engine):
    # h = 1.2: T_a >= 48, T_b >= 12 use the whole budget of 60 -> levels 0.68 and 0.72,
    # floor 0.68 (without the policy the split would be 50 + 10, floor 0.7).
    r = run(toy(), engine=engine, hold_harmless=1.2)
    assert np.allclose(transfers(r), [48, 12, 0])
    assert r.summary["objective_value"] == pytest.approx(0.68)


def test_per_capita_cap_and_floor_hand_solved():
    # toy unit KRW billion, population 100: a cap of 4e8 KRW per head caps T_a at 40;
    # a floor of 5e7 KRW per head forces T_c >= 5 and T_b >= 10. Floor = L_a = 0.6.
    r = run(toy(), per_capita_cap=4e8, per_capita_floor=5e7)
    t = transfers(r)
    assert np.allclose(t, [40, 10, 5])
    assert r.summary["objective_value"] == pytest.approx(0.6)
    assert np.allclose(r.allocation["transfer_per_capita"], [4e8, 5e7, 5e7])


@pytest.mark.parametrize("engine", ENGINES)
def test_equalization_rate_hand_solved(engine):
    # T_r <= 0.5 max(0, 1.0 * 100 - own_r) = (40, 20, 5): L_a <= 0.6, so floor 0.6, T = (40, 0, 0)
    r = run(toy(), engine=engine, equalization_rate=0.5, equalization_standard=1.0)
    assert np.allclose(transfers(r), [40, 0, 0])


@pytest.mark.parametrize("engine", ENGINES)
def test_no_overtaking_hand_solved(engine):
    # min-cost with a's own threshold 0.95: alone T_a = 75 lifts a above b (0.6) and c (0.9).
    inst = toy(budget=200, thresholds=[0.95, np.nan, np.nan])
    assert np.allclose(transfers(run(inst, "min-cost")), [75, 0, 0])
    # no-overtaking: L_a <= L_b <= L_c, L_a >= 0.95 -> T = (75, 35, 5)
    r = run(inst, "min-cost", engine=engine, no_overtaking=True)
    assert np.allclose(transfers(r), [75, 35, 5])
    assert r.summary["objective_value"] == pytest.approx(115)


@pytest.mark.parametrize("engine", ENGINES)
def test_horizontal_hand_solved(engine):
    # c is above 0.8 by 10 and may give half: C <= 5. Pool 65: z = (60 + 5 + 80) / 200 = 0.725,
    # T = (52.5, 12.5, -5): the contribution is a negative transfer.
    r = run(toy(), engine=engine, horizontal_level=0.8, horizontal_share=0.5)
    assert np.allclose(transfers(r), [52.5, 12.5, -5])
    assert r.summary["contributions_total"] == pytest.approx(5)
    assert r.summary["budget_used"] == pytest.approx(60)


def test_horizontal_tie_break_takes_no_needless_contribution():
    r = run(toy(budget=40), "min-cost", horizontal_level=0.8, horizontal_share=0.5)
    # min-cost minimises the net central outlay: thresholds need 30 for a; c gives its 5.
    assert np.allclose(transfers(r), [30, 0, -5])
    # budget 200: maxmin lifts everyone to 1.2333 > 0.9, so c is no longer above the floor it
    # could fund; the tie-break (least gross flows) takes no contribution at all.
    r2 = run(toy(budget=200), horizontal_level=0.8, horizontal_share=0.5)
    assert transfers(r2).min() >= 0.0


def test_revenue_counting_hand_solved():
    # own counted at 0.8: 16, 48, 72 -> (z-0.16)100 + (z-0.48)100 = 60 -> z = 0.62, T = (46, 14, 0)
    r = run(toy(), revenue_share=0.8)
    assert np.allclose(transfers(r), [46, 14, 0])
    assert np.allclose(r.allocation["own_revenue"], [16, 48, 72])
    assert np.allclose(r.allocation["own_revenue_full"], [20, 60, 90])


def test_policy_conflict_is_diagnosed_by_family():
    # min-cost, budget 30, hold-harmless h = 1: T_a >= 40, T_b >= 10 (50 > 30). Relaxing the two
    # hold-harmless rows by s costs s and saves 2s of spending: s = 10 is the least relaxation.
    with pytest.raises(InfeasibleError) as exc:
        run(toy(budget=30), "min-cost", hold_harmless=1.0)
    s = exc.value.summary
    assert s["required_budget"] == pytest.approx(50)
    assert s["missing_budget"] == pytest.approx(20)
    fams = {c["family"]: c["relax_by"] for c in s["conflicts"]}
    assert fams == {"hold_harmless": pytest.approx(10)}
    assert "hold_harmless by 10" in str(exc.value)


def test_policy_conflict_without_any_budget():
    # equalization rate 0.5 of the gap to the threshold: a can reach at most 0.35 < 0.5,
    # whatever the budget: the thresholds or the rate cap must give way.
    with pytest.raises(InfeasibleError) as exc:
        run(toy(budget=1e6), equalization_rate=0.5)
    s = exc.value.summary
    assert s["required_budget"] == "inf" or s["required_budget"] == float("inf")
    fams = {c["family"] for c in s["conflicts"]}
    assert fams & {"threshold", "equalization_rate"}
    assert "no budget meets every threshold" in str(exc.value)


def test_soft_objective_policy_conflict():
    # min-shortfall has soft thresholds; hold-harmless 1.0 still needs 50 > budget 30.
    with pytest.raises(InfeasibleError) as exc:
        run(toy(budget=30), "min-shortfall", hold_harmless=1.0)
    assert exc.value.summary["policy_minimum_spending"] == pytest.approx(50)


def test_bad_policy_table_reports_every_problem():
    problems: list[Problem] = []
    parse_policy({"hold_harmless": -1, "equalization_rate": 2, "nonsense": 1, "no_overtaking": 1,
                  "horizontal_level": 1.0}, "x.toml", problems)
    cols = sorted(p.column for p in problems)
    assert cols == ["policy.equalization_rate", "policy.hold_harmless", "policy.horizontal_level",
                    "policy.no_overtaking", "policy.nonsense"]


def test_instance_policy_table_is_applied(tmp_path):
    toml = (TOY / "instance.toml").read_text()
    (tmp_path / "instance.toml").write_text(toml + "\n[policy]\nchange_limit = 0.1\n")
    (tmp_path / "regions.csv").write_text((TOY / "regions.csv").read_text())
    r = run(load_instance(tmp_path))
    assert np.allclose(transfers(r), [44, 9, 0])
    assert r.summary["policy"] == {"change_limit": 0.1}
    (tmp_path / "instance.toml").write_text(toml + "\n[policy]\nchange_limit = -1\n")
    with pytest.raises(InputError):
        load_instance(tmp_path)


# --- the vectorised twin equals the compiled Pyomo model, for every policy ------------

def _all_terms(rng, n):
    prior = rng.uniform(0, 1, n)
    prior[0] = 0.0
    return (
        PolicyTerm("hold-harmless", {"share": 0.9, "prior": prior}),
        PolicyTerm("change-limit", {"share": 0.2, "absolute": 0.3, "prior": prior}),
        PolicyTerm("per-capita", {"floor": None, "cap": 0.5, "population": rng.uniform(1, 3, n)}),
        PolicyTerm("equalization-rate", {"rate": 0.8, "standard": np.full(n, 1.0)}),
        PolicyTerm("no-overtaking", {}),
        PolicyTerm("horizontal", {"level": 0.9, "share": 0.5}),
        PolicyTerm("merger-guarantee", {"merged": np.arange(n) == n - 1, "prior": prior}),
        PolicyTerm("group-transfer", {"members": [np.array([0, 1]), np.arange(2, n)],
                                      "lower": np.array([0.1, -np.inf]), "upper": np.array([np.inf, 2.0])}),
        PolicyTerm("group-level", {"members": [np.array([0, 1]), np.arange(2, n)],
                                   "min_level": np.array([0.8, np.nan])}),
    )


@pytest.mark.parametrize("objective", ["maxmin", "min-shortfall", "min-cost"])
@pytest.mark.parametrize("seed", [0, 1])
def test_twin_equals_compiled_pyomo_with_policies(objective, seed):
    rng = np.random.default_rng(seed)
    n = 7
    own = rng.uniform(0.2, 1.5, n)
    own[3] = own[4]  # a tie in levels before (no-overtaking groups)
    need = np.ones(n) if seed else rng.uniform(0.5, 2, n)
    d = RegionData(own, need, np.full(n, 0.9), np.ones(n) / n, np.zeros(n), np.full(n, np.inf), 3.0)
    terms = _all_terms(rng, n)
    assert {t.name for t in terms} == set(POLICIES)
    a = build_arrays(d, objective, terms)
    p = to_linear_program(build_pyomo(d, objective, terms))
    assert [(b.name, b.start, b.stop) for b in a.row_blocks] == [(b.name, b.start, b.stop) for b in p.row_blocks]
    assert [(b.name, b.start, b.stop) for b in a.col_blocks] == [(b.name, b.start, b.stop) for b in p.col_blocks]
    assert np.allclose(a.A.toarray(), p.A.toarray(), rtol=1e-12, atol=1e-15)
    for x, y in ((a.row_lower, p.row_lower), (a.row_upper, p.row_upper), (a.col_lower, p.col_lower),
                 (a.col_upper, p.col_upper), (a.cost, p.cost)):
        assert np.allclose(x, y, rtol=1e-12, atol=1e-15) and np.array_equal(np.isinf(x), np.isinf(y))


# --- properties ---------------------------------------------------------------------

regions = st.integers(min_value=2, max_value=6).flatmap(lambda n: st.tuples(
    st.lists(st.floats(0.05, 1.6), min_size=n, max_size=n),          # level before
    st.lists(st.floats(50, 500), min_size=n, max_size=n),            # need
    st.lists(st.floats(0, 200), min_size=n, max_size=n),             # prior transfer
    st.floats(0.0, 1.0),                                             # budget as a share of the gap
))
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _inst(case, threshold=0.3):
    level, need, prior, share = case
    need = np.round(need, 3)
    own = np.round(np.asarray(level) * need, 3)
    gap = np.maximum(0.0, 1.0 * need - own).sum()
    return make_instance(own, need, prior=np.round(prior, 3), budget=round(share * gap, 3) + 1.0,
                         threshold=threshold), own, need


def _solve_or_none(inst, objective="min-shortfall", **policy):
    try:
        return run(inst, objective, **policy)
    except InfeasibleError:
        return None


@PROPS
@given(regions)
def test_property_no_overtaking_keeps_the_order(case):
    inst, own, need = _inst(case)
    r = _solve_or_none(inst, no_overtaking=True)
    assert r is not None  # min-shortfall with no-overtaking alone is always feasible
    before = np.round(own / need, 12)   # levels equal to 1e-12 are ties (models/policies.py)
    after = r.allocation["level_after"].to_numpy()
    for i in range(len(before)):
        for j in range(len(before)):
            if before[i] > before[j]:
                assert after[i] >= after[j] - 1e-7


@PROPS
@given(regions, st.floats(0.0, 1.0))
def test_property_hold_harmless_never_violated(case, h):
    inst, own, need = _inst(case)
    r = _solve_or_none(inst, hold_harmless=h)
    prior = inst.regions["prior_transfer"].to_numpy()
    if r is None:  # infeasible only when the hold-harmless floors exceed the budget
        assert (h * prior).sum() > inst.budget * (1 - 1e-9)
        return
    t = transfers(r)
    assert np.all(t >= h * prior - 1e-6 * max(1.0, prior.max()))


@PROPS
@given(regions, st.floats(0.3, 1.2), st.floats(0.0, 1.0))
def test_property_contributions_within_the_allowed_share(case, level, share):
    inst, own, need = _inst(case)
    r = _solve_or_none(inst, "maxmin", horizontal_level=level, horizontal_share=share)
    if r is None:
        return
    t = transfers(r)
    allowed = share * np.maximum(0.0, own - level * need)
    assert np.all(-t <= allowed + 1e-6)
    assert np.all(t[allowed == 0] >= -1e-9)
    assert t.sum() <= inst.budget + 1e-6


@PROPS
@given(regions, st.floats(0.0, 0.5), st.floats(0.2, 1.0))
def test_property_change_limit_and_rate_cap_hold(case, d, a):
    inst, own, need = _inst(case)
    prior = inst.regions["prior_transfer"].to_numpy()
    r = _solve_or_none(inst, change_limit=d)
    if r is not None:
        assert np.all(np.abs(transfers(r) - prior) <= d * prior + 1e-6)
    r = _solve_or_none(inst, equalization_rate=a, equalization_standard=1.0)
    if r is not None:
        assert np.all(transfers(r) <= a * np.maximum(0, need - own) + 1e-6)
