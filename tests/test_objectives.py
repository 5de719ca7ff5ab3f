"""The fairness objectives against independent answers: closed forms (water-filling,
log water-filling), hand-solved cases, brute force (sequential leximin with one LP per
region via scipy, grid search), limits of owa/cvar and a hypothesis property. Real HiGHS."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from models.build import build_arrays, build_lp, build_pyomo
from models.compile import to_linear_program
from models.data import RegionData
from models.objectives import get_objective
from optimizer.core.errors import InfeasibleError
from optimizer.core.metrics import gini, pairwise_sum
from optimizer.engine.drivers.lp import run_direct
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from tests.reference import water_filling
from tests.test_formulation import assert_same_lp, region_data


def rd(own, need, budget, weight=None, theta=0.0, t_min=None, t_max=None, **options) -> RegionData:
    own, need = np.asarray(own, float), np.asarray(need, float)
    n = own.size
    w = np.ones(n) if weight is None else np.asarray(weight, float)
    return RegionData(own=own, need=need, threshold=np.broadcast_to(np.asarray(theta, float), (n,)).copy(),
                      weight=w / w.sum(), t_min=np.zeros(n) if t_min is None else np.asarray(t_min, float),
                      t_max=np.full(n, np.inf) if t_max is None else np.asarray(t_max, float),
                      budget=float(budget), options=options)


def solved(d: RegionData, name: str):
    run = run_direct(d, get_objective(name), build_lp)
    assert run.first.status == "optimal"
    final = run.second if run.second is not None and run.second.status == "optimal" else run.first
    t = final.x[run.layout["transfer"]]
    return run, t, (d.own + t) / d.need


def random_data(seed: int, n: int, caps: bool = True, theta: float = 0.0) -> RegionData:
    rng = np.random.default_rng(seed)
    need = rng.uniform(0.5, 3.0, n)
    own = need * rng.uniform(0.2, 1.2, n)
    t_max = np.where(rng.random(n) < 0.4, rng.uniform(0.05, 0.6, n), np.inf) if caps else np.full(n, np.inf)
    t_min = np.where(rng.random(n) < 0.2, 0.05, 0.0) if caps else np.zeros(n)
    t_max = np.maximum(t_max, t_min)
    return rd(own, need, budget=float(need.sum() * rng.uniform(0.05, 0.4)) + t_min.sum(),
              weight=rng.uniform(0.1, 1.0, n), theta=theta, t_min=t_min, t_max=t_max)


# ---- leximin ---------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_leximin_equals_water_filling_when_nothing_else_binds(seed):
    d = random_data(seed, 12, caps=False)
    z, t_ref = water_filling(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    run, t, level = solved(d, "leximin")
    assert run.first.objective == pytest.approx(z, abs=1e-8)
    np.testing.assert_allclose(t, t_ref, atol=1e-7)
    assert run.info["leximin_stages"] == 1          # everything saturates at once


def brute_force_leximin(d: RegionData) -> np.ndarray:
    """Textbook sequential leximin: max the floor of the free regions, then test *each*
    free region with its own LP (can it exceed the floor?) and fix those that cannot."""
    n = d.n
    inv, base = 1.0 / d.need, d.own / d.need
    bounds_t = [(d.t_min[r], None if not np.isfinite(d.t_max[r]) else d.t_max[r]) for r in range(n)]
    fixed = np.full(n, np.nan)
    while np.isnan(fixed).any():
        free = np.isnan(fixed)
        # variables: T (n), z
        A, b = [np.r_[np.ones(n), 0.0]], [d.budget]
        for r in range(n):
            row = np.zeros(n + 1)
            row[r] = -inv[r]
            if free[r]:
                row[n] = 1.0
                A.append(row), b.append(base[r])
            else:
                A.append(row), b.append(base[r] - fixed[r] + 1e-10)
        res = linprog(np.r_[np.zeros(n), -1.0], A_ub=np.array(A), b_ub=np.array(b),
                      bounds=bounds_t + [(None, None)], method="highs")
        assert res.status == 0
        z = res.x[n]
        A2, b2 = [np.r_[np.ones(n)]], [d.budget]
        for r in range(n):
            row = np.zeros(n)
            row[r] = -inv[r]
            A2.append(row), b2.append(base[r] - (z if free[r] else fixed[r]) + 1e-10)
        newly = []
        for r in np.flatnonzero(free):
            c = np.zeros(n)
            c[r] = -inv[r]
            res2 = linprog(c, A_ub=np.array(A2), b_ub=np.array(b2), bounds=bounds_t, method="highs")
            if base[r] - res2.fun <= z + 1e-7:
                newly.append(r)
        assert newly
        fixed[newly] = z
    return fixed


@pytest.mark.parametrize("seed", range(8))
def test_leximin_matches_brute_force_sequential_solve_with_bounds(seed):
    d = random_data(100 + seed, 7, caps=True)
    _, t, level = solved(d, "leximin")
    ref = brute_force_leximin(d)
    np.testing.assert_allclose(np.sort(level), np.sort(ref), atol=1e-6)
    np.testing.assert_allclose(level, ref, atol=1e-6)
    assert t.sum() <= d.budget + 1e-7 and np.all(t >= d.t_min - 1e-9) and np.all(t <= d.t_max + 1e-9)


def test_leximin_1e4_regions_one_stage_when_only_the_budget_binds():
    d = random_data(7, 10_000, caps=False)
    run, t, level = solved(d, "leximin")
    assert run.info["leximin_stages"] == 1
    z, t_ref = water_filling(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    assert level.min() == pytest.approx(z, abs=1e-7)


def test_leximin_with_caps_fixes_capped_regions_in_one_go():
    # 40% of the regions capped: the capped regions that saturate at their own maximum
    # level before anything else binds are fixed in one go (bisection over the cap levels),
    # so the LP stages no longer grow with the number of distinct cap levels
    d = random_data(8, 600, caps=True)
    run, t, level = solved(d, "leximin")
    floors = np.array(run.info["leximin_floors"])
    assert np.all(np.diff(floors) >= -1e-9)                   # floors rise stage by stage
    assert run.info["leximin_stages"] == len(floors) <= 3
    assert run.info["leximin_probe_lps"] <= 3 * 12
    assert sum(run.info["leximin_fixed_per_stage"]) + run.info["leximin_fixed_at_cap_in_one_go"] == d.n
    capped = np.isfinite(d.t_max) & np.isclose(t, d.t_max, atol=1e-9)
    assert run.info["leximin_fixed_at_cap_in_one_go"] <= capped.sum()
    # stage 1 is maxmin: the water-filling floor
    z, _ = water_filling(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    assert level.min() == pytest.approx(z, abs=1e-7) == pytest.approx(floors[0], abs=1e-7)
    # every region is at its own maximum level or at or above the last floor
    mcap = (d.own + d.t_max) / d.need
    assert np.all(np.isclose(level, mcap, atol=1e-7) | (level >= floors[-1] - 1e-7))


@st.composite
def capped_rounds(draw):
    n = draw(st.integers(2, 7))
    fl = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731
    need = np.array(draw(st.lists(fl(0.5, 3.0), min_size=n, max_size=n)))
    own = need * np.array(draw(st.lists(fl(0.1, 1.3), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(fl(0.1, 1.0), min_size=n, max_size=n)))
    caps = np.array(draw(st.lists(st.sampled_from([np.inf, 0.05, 0.1, 0.2, 0.3, 0.5]), min_size=n, max_size=n)))
    t_min = np.minimum(np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 0.02]), min_size=n, max_size=n))), caps)
    budget = float(t_min.sum() + draw(fl(0.0, 1.5)) * need.sum() * 0.3)
    return rd(own, need, budget, weight=w, t_min=t_min, t_max=caps)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capped_rounds())
def test_leximin_matches_brute_force_with_many_caps(d):
    _, t, level = solved(d, "leximin")
    np.testing.assert_allclose(level, brute_force_leximin(d), atol=1e-6)


# ---- owa and cvar limits --------------------------------------------------------------

def test_owa_first_weight_is_maxmin_and_uniform_is_max_mean():
    d = random_data(3, 9, caps=True)
    d = RegionData(d.own, d.need, d.threshold, np.full(9, 1 / 9), d.t_min, d.t_max, d.budget)
    mm, _, _ = solved(d, "maxmin")
    mean, _, _ = solved(d, "max-mean")
    o1, _, lv1 = solved(RegionData(**{**d.__dict__, "options": {"weights": [1.0] + [0.0] * 8}}), "owa")
    ou, _, _ = solved(RegionData(**{**d.__dict__, "options": {"weights": [1 / 9] * 9}}), "owa")
    assert o1.first.objective == pytest.approx(mm.first.objective, abs=1e-8)
    assert lv1.min() == pytest.approx(mm.first.objective, abs=1e-8)
    assert ou.first.objective == pytest.approx(mean.first.objective, abs=1e-8)


def test_owa_decreasing_weights_by_hand():
    # 3 equal regions, need 1, own .2/.5/.8, budget .3; weights (3,2,1)/6 over thirds:
    # every unit to the worst is worth 1/2 until it meets the middle (0.5): value
    # (.5*3 + .5*2 + .8*1)/6 = 0.55 ; spending on the middle instead would be worth 1/3.
    d = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.3, weights=[3, 2, 1])
    run, t, level = solved(d, "owa")
    assert run.first.objective == pytest.approx(0.55, abs=1e-9)
    np.testing.assert_allclose(level, [0.5, 0.5, 0.8], atol=1e-8)


def test_owa_rejects_increasing_weights():
    from optimizer.core.errors import UsageError
    with pytest.raises(UsageError, match="non-increasing"):
        run_direct(rd([0.2, 0.5], [1, 1], 0.1, weights=[1, 2]), get_objective("owa"), build_lp)


def test_cvar_limits():
    d = random_data(5, 8, caps=True)
    mm, _, _ = solved(d, "maxmin")
    mean, _, _ = solved(d, "max-mean")
    small, _, _ = solved(RegionData(**{**d.__dict__, "options": {"alpha": float(d.weight.min()) / 2}}), "cvar")
    one, _, _ = solved(RegionData(**{**d.__dict__, "options": {"alpha": 1.0}}), "cvar")
    assert small.first.objective == pytest.approx(mm.first.objective, abs=1e-8)
    assert one.first.objective == pytest.approx(mean.first.objective, abs=1e-8)


def test_cvar_by_hand():
    # weights .5/.25/.25, levels .2/.6/.9 at best; alpha .5 = the mean of the worst half,
    # i.e. region 0 alone: every budget unit raises it, until it reaches .6 (cost .4 of .5)
    # then regions 0 and 1 share the worst half... budget .3 < .4 -> value .2 + .3 = .5
    d = rd([0.2, 0.6, 0.9], [1, 1, 1], 0.3, weight=[2, 1, 1], alpha=0.5)
    run, t, level = solved(d, "cvar")
    assert run.first.objective == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(t, [0.3, 0.0, 0.0], atol=1e-8)


# ---- min-mad, min-range, min-gini by hand ----------------------------------------

def _grid(budget, n_free, steps=60):
    """All splits of at most ``budget`` over n_free regions on a grid (brute force)."""
    g = np.linspace(0.0, budget, steps + 1)
    mesh = np.stack(np.meshgrid(*([g] * n_free), indexing="ij"), -1).reshape(-1, n_free)
    return mesh[mesh.sum(1) <= budget + 1e-12]


def test_min_mad_three_regions_by_hand():
    # own .2/.5/.8 (need 1, equal weights), budget .3: all of it to the lowest -> .5/.5/.8,
    # mean .6, MAD (.1 + .1 + .2)/3 = 2/15; the grid over every split agrees.
    d = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.3)
    run, t, level = solved(d, "min-mad")
    assert run.first.objective == pytest.approx(2 / 15, abs=1e-9)
    w = np.full(3, 1 / 3)
    assert np.dot(w, np.abs(level - np.dot(w, level))) == pytest.approx(2 / 15, abs=1e-9)
    # (.4, .6, .8) is as good: MAD is flat along such moves, hence the tie-break
    L = d.own + _grid(0.3, 3)
    mad = np.abs(L - L.mean(1, keepdims=True)).mean(1)
    assert mad.min() >= 2 / 15 - 1e-12


def test_min_range_by_hand():
    # own .2/.5/.8, budget .9: lift .2 and .5 to .8 costs .9 -> range 0
    d = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.9)
    run, t, level = solved(d, "min-range")
    assert run.first.objective == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(t, [0.6, 0.3, 0.0], atol=1e-8)


def test_min_gini_three_and_four_regions_by_hand():
    # 3 regions: .2/.5/.8, budget .3 -> .5/.5/.8: P = (0 + .3 + .3)/9, mu .6, G = 1/9.
    d = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.3)
    run, t, level = solved(d, "min-gini")
    assert run.first.objective == pytest.approx(1 / 9, abs=1e-9)
    np.testing.assert_allclose(level, [0.5, 0.5, 0.8], atol=1e-7)
    L = d.own + _grid(0.3, 3)
    P = np.array([sum(abs(a - b) for i, a in enumerate(x) for b in x[i + 1:]) for x in L]) / 9
    assert (P / L.mean(1)).min() >= 1 / 9 - 1e-12
    # 4 regions: .1/.4/.4/1.0, budget .6: .3 lifts the first to .4, .3 more over three -> .5 each:
    # pairs 3 x .5 -> P = 1.5/16, mu .625, G = .15
    d4 = rd([0.1, 0.4, 0.4, 1.0], [1, 1, 1, 1], 0.6)
    run, t, level = solved(d4, "min-gini")
    assert run.first.objective == pytest.approx(0.15, abs=1e-9)
    np.testing.assert_allclose(level, [0.5, 0.5, 0.5, 1.0], atol=1e-7)


def test_min_gini_chain_form_equals_pairwise():
    d = random_data(11, 40, caps=True)
    pw, _, lp_ = solved(RegionData(**{**d.__dict__, "options": {"gini_form": "pairwise"}}), "min-gini")
    cu, _, lc = solved(RegionData(**{**d.__dict__, "options": {"gini_form": "chain"}}), "min-gini")
    assert cu.info["gini_form"] == "chain"
    assert cu.first.objective == pytest.approx(pw.first.objective, abs=1e-8)
    assert gini(lc, d.weight) == pytest.approx(gini(lp_, d.weight), abs=1e-8)


def test_pairwise_sum_matches_definition():
    rng = np.random.default_rng(0)
    x, w = rng.random(30), rng.random(30)
    ref = sum(w[i] * w[j] * abs(x[i] - x[j]) for i in range(30) for j in range(i + 1, 30))
    assert pairwise_sum(x, w) == pytest.approx(ref, rel=1e-12)


@st.composite
def small_rounds(draw):
    n = draw(st.integers(2, 6))
    fl = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)  # noqa: E731
    need = np.array(draw(st.lists(fl(0.5, 3.0), min_size=n, max_size=n)))
    own = need * np.array(draw(st.lists(fl(0.1, 1.3), min_size=n, max_size=n)))
    w = np.array(draw(st.lists(fl(0.1, 1.0), min_size=n, max_size=n)))
    caps = np.array(draw(st.lists(st.sampled_from([np.inf, np.inf, 0.2, 0.5]), min_size=n, max_size=n)))
    budget = draw(fl(0.0, 1.5)) * need.sum() * 0.3
    return rd(own, need, budget, weight=w, t_max=caps)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_rounds())
def test_min_gini_beats_every_other_objective(d):
    _, _, lg = solved(d, "min-gini")
    g_star = gini(lg, d.weight)
    for name in ("maxmin", "leximin", "max-mean", "min-range", "min-mad", "owa", "cvar", "log-welfare"):
        _, _, lv = solved(d, name)
        assert g_star <= gini(lv, d.weight) + 1e-7, name


# ---- log-welfare -------------------------------------------------------------------

def log_water_filling(own, need, w, budget):
    """max sum w ln((own+T)/need), sum T <= B, T >= 0: own_r + T_r = max(own_r, w_r/nu)."""
    lo, hi = 1e-12, 1e12
    for _ in range(300):
        nu = np.sqrt(lo * hi)
        spent = np.maximum(0.0, w / nu - own).sum()
        lo, hi = (nu, hi) if spent > budget else (lo, nu)
    t = np.maximum(0.0, w / nu - own)
    return float(np.dot(w, np.log((own + t) / need))), t


@pytest.mark.parametrize("seed", range(3))
def test_log_welfare_within_its_stated_bound(seed):
    d = random_data(200 + seed, 25, caps=False)
    run, t, level = solved(d, "log-welfare")
    best, t_ref = log_water_filling(d.own, d.need, d.weight, d.budget)
    info = run.info["log_welfare"]
    assert info["welfare"] <= best + 1e-9                        # a feasible allocation
    assert best - info["welfare"] <= info["certified_gap"] + 1e-9  # the certified bracket holds
    assert info["certified_gap"] <= info["a_priori_error_bound"] + 1e-9
    assert info["lp_value"] >= best - 1e-9                       # outer approximation: upper bound


# ---- soft thresholds -----------------------------------------------------------------

def test_soft_mode_holds_the_least_shortfall_then_optimises(toy3):
    inst = load_instance(toy3)
    with pytest.raises(InfeasibleError):
        solve(inst, SolveOptions(objective="maxmin", threshold=0.8))
    r = solve(inst, SolveOptions(objective="maxmin", threshold=0.8,   # today's rule, kept by name
                                 objective_options={"thresholds": "auto", "scarcity": "shortfall-first"}))
    assert r.summary["thresholds"] == "soft"
    assert r.summary["shortfall_held"] == pytest.approx(0.05, abs=1e-9)   # min-shortfall's optimum
    assert list(r.allocation.transfer) == pytest.approx([40.0, 20.0, 0.0], abs=1e-6)
    r2 = solve(inst, SolveOptions(objective="leximin", objective_options={"thresholds": "auto"}))
    assert r2.summary["thresholds"] == "hard"


def test_price_of_fairness_by_hand(toy3):
    # max-mean: Alpha to its threshold (30), the rest to Beta (w/need .005): levels .5/.9/.9,
    # mean .8; maxmin: .7/.7/.9, mean .75 -> PoF = .05/.8
    r = solve(load_instance(toy3), SolveOptions(objective="maxmin"))
    pof = r.summary["price_of_fairness"]
    assert pof["max_mean_level"] == pytest.approx(0.8, abs=1e-9)
    assert pof["value"] == pytest.approx(0.0625, abs=1e-9)


# ---- twins with options -----------------------------------------------------------

@pytest.mark.parametrize("name,options", [
    ("owa", {"weights": [5, 3, 3, 1]}),
    ("cvar", {"alpha": 0.3}),
    ("log-welfare", {"breakpoints": 5}),
    ("min-gini", {"gini_form": "chain", "gini_lambda": 0.2}),
    ("min-gini", {"gini_form": "pairwise", "gini_lambda": 0.1}),
    ("maxmin", {"soft_thresholds": True, "shortfall_cap": 0.01}),
    ("min-mad", {"soft_thresholds": True, "shortfall_cap": 0.02}),
])
def test_twin_equals_compiled_pyomo_with_options(name, options):
    d = region_data(8, 3)
    d = RegionData(**{**d.__dict__, "options": options})
    assert_same_lp(build_arrays(d, name), to_linear_program(build_pyomo(d, name)))
