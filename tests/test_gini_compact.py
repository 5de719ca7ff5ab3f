"""min-gini's compact (order-cone / chain) form against independent answers: the exact
pairwise LP on random instances (hypothesis), the optimality certificate against brute
force over all subsets, and the twin. Real HiGHS, no mocks."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.build import build_arrays, build_pyomo
from models.compile import to_linear_program
from models.fairness import gini_cut
from optimizer.core.metrics import gini, pairwise_sum
from optimizer.fast.chain_certificates import gini_bare_certificate, gini_chain_certificate
from tests.test_formulation import assert_same_lp, region_data
from tests.test_objectives import random_data, rd, solved


def both(d):
    pw, _, lp_ = solved(replace(d, options={**d.options, "gini_form": "pairwise"}), "min-gini")
    ch, tc, lc = solved(replace(d, options={**d.options, "gini_form": "chain"}), "min-gini")
    return pw, lp_, ch, tc, lc


def check_feasible(d, t):
    assert t.sum() <= d.budget + 1e-7
    assert np.all(t >= d.t_min - 1e-9) and np.all(t <= d.t_max + 1e-9)


@st.composite
def rounds(draw):
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 10_000))
    caps = draw(st.booleans())
    equal_w = draw(st.booleans())
    d = random_data(seed, n, caps=caps)
    if equal_w:
        d = replace(d, weight=np.full(n, 1.0 / n))
    return d


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_chain_form_equals_pairwise_lp(d):
    pw, lp_, ch, tc, lc = both(d)
    assert ch.info["gini_form"] == "chain"
    assert ch.first.objective == pytest.approx(pw.first.objective, abs=1e-8)
    assert gini(lc, d.weight) == pytest.approx(gini(lp_, d.weight), abs=1e-8)
    check_feasible(d, tc)


@pytest.mark.slow
@pytest.mark.parametrize("seed,n,caps", [(1, 100, True), (2, 150, False), (3, 150, True)])
def test_chain_form_equals_pairwise_lp_up_to_150_regions(seed, n, caps):
    d = random_data(seed, n, caps=caps)
    pw, lp_, ch, tc, lc = both(d)
    assert ch.first.objective == pytest.approx(pw.first.objective, abs=1e-8)
    check_feasible(d, tc)


def test_chain_form_by_hand_and_crossing_start_order():
    # .2/.5/.8 budget .3 -> .5/.5/.8, G = 1/9 (tests/test_objectives.py by hand)
    d = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.3, gini_form="chain")
    run, t, level = solved(d, "min-gini")
    assert run.first.objective == pytest.approx(1 / 9, abs=1e-9)
    np.testing.assert_allclose(level, [0.5, 0.5, 0.8], atol=1e-7)
    # a lower bound that forces region 0 above region 1: the order of the levels before
    # is infeasible as a cone; the driver must start from a feasible order
    d2 = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.6, t_min=[0.45, 0, 0], gini_form="chain")
    run2, t2, l2 = solved(d2, "min-gini")
    ref, _, lr = solved(replace(d2, options={"gini_form": "pairwise"}), "min-gini")
    assert run2.first.objective == pytest.approx(ref.first.objective, abs=1e-9)


# ---- the certificate --------------------------------------------------------------------

def in_base_polytope_brute(q, w, tol=1e-12):
    """q(U) <= W(U) (W_S - W(U)) for every subset U, q(S) = 0 (enumeration)."""
    m, ws = q.size, w.sum()
    if abs(q.sum()) > 1e-9:
        return False
    for k in range(1, m):
        for u in combinations(range(m), k):
            a = w[list(u)].sum()
            if q[list(u)].sum() > a * (ws - a) + tol:
                return False
    return True


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000), st.floats(0.0, 3.0))
def test_certificate_prefix_test_equals_subset_enumeration(m, seed, spread):
    # one tie block of m regions: the chain duals nu define q = g_within(pi) - D' nu;
    # the O(m log m) prefix test must agree with the 2^m subset enumeration
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.0, m)
    w /= w.sum()
    order = rng.permutation(m)
    nu = rng.uniform(0.0, spread, m - 1) * 0.25
    level = np.full(m, 0.7)
    ok, _, _ = gini_chain_certificate(level, w, order, nu, 1e-12)
    ws = w[order]
    before = np.cumsum(ws) - ws
    g = ws * (before - (1.0 - before - ws))
    flow = np.concatenate([[0.0], nu]) - np.concatenate([nu, [0.0]])
    q = g - flow
    assert ok == in_base_polytope_brute(q, ws)


def test_certificate_accepts_sorted_distinct_levels_and_reorders_a_failing_block():
    w = np.array([0.2, 0.3, 0.5])
    ok, order, bad = gini_chain_certificate(np.array([0.1, 0.4, 0.9]), w, np.arange(3), np.zeros(2), 1e-12)
    assert ok and bad == 0
    # two tied regions whose chain dual exceeds the swing 2 w_a w_b: not a subgradient
    ok, order, bad = gini_chain_certificate(np.array([0.5, 0.5, 0.9]), w, np.array([0, 1, 2]),
                                            np.array([2 * 0.2 * 0.3 + 0.01, 0.0]), 1e-12)
    assert not ok and bad == 1 and list(order) == [1, 0, 2]
    ok, _, _ = gini_chain_certificate(np.array([0.5, 0.5, 0.9]), w, np.array([0, 1, 2]),
                                      np.array([2 * 0.2 * 0.3 - 0.01, 0.0]), 1e-12)
    assert ok


def test_gini_cut_is_a_tight_lower_bound():
    rng = np.random.default_rng(4)
    d = random_data(4, 30)
    for _ in range(20):
        L = rng.random(30)
        p = pairwise_sum(L, d.weight)
        assert np.dot(gini_cut(d, np.argsort(L)), L) == pytest.approx(p, rel=1e-12)
        assert np.dot(gini_cut(d, rng.permutation(30)), L) <= p + 1e-12


# ---- twin ----------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 8, 40])
def test_chain_twin_equals_compiled_pyomo(n):
    d = region_data(n, 3)
    order = np.random.default_rng(n).permutation(n)
    d = replace(d, options={"gini_form": "chain", "gini_lambda": 0.17, "gini_order": order})
    assert_same_lp(build_arrays(d, "min-gini"), to_linear_program(build_pyomo(d, "min-gini")))


@pytest.mark.slow
def test_chain_form_serves_1000_regions():
    d = random_data(5, 1000, caps=True)
    run, t, level = solved(replace(d, options={"gini_form": "chain"}), "min-gini")
    check_feasible(d, t)
    # no other objective does better (independent: the Gini of their allocations)
    for name in ("leximin", "min-mad", "cvar"):
        _, _, lv = solved(d, name)
        assert run.first.objective <= gini(lv, d.weight) + 1e-9


# ---- the bare-core certificate (no chain duals) ---------------------------------------

def kkt_feasible_lp(level, w, need, lo, hi, tight, lam, scale_tol=1e-9):
    """Independent check of the bare-core KKT system by one LP over the explicit
    subdifferential (all subsets of every tied block): exists lam_B >= 0 (0 if the budget
    is slack), alpha >= 0 at lower bounds, beta >= 0 at upper bounds, with
    s = lam w - lam_B n + alpha - beta in dP(L)."""
    import highspy

    from optimizer.engine.highs import make_highs
    n = level.size
    order = np.argsort(level, kind="stable")
    ls = level[order]
    blocks, cur = [], [order[0]]
    for k in range(1, n):
        if ls[k] - ls[k - 1] <= 1e-12:
            cur.append(order[k])
        else:
            blocks.append(cur)
            cur = [order[k]]
    blocks.append(cur)
    cross = np.zeros(n)
    for b in blocks:
        below = sum(w[r] for bb in blocks if level[bb[0]] < level[b[0]] for r in bb)
        above = w.sum() - below - w[b].sum()
        cross[b] = w[b] * (below - above)
    at_lo, at_hi = level <= lo + 1e-12, level >= hi - 1e-12
    # columns: lam_B, alpha (n), beta (n); q = lam w - cross - lam_B n + alpha - beta
    h = make_highs("simplex")   # (a bare highspy.Highs() here upsets later solves: 'Not Set')
    inf = highspy.kHighsInf
    h.addVar(0.0, inf if tight else 0.0)
    for r in range(n):
        h.addVar(0.0, inf if at_lo[r] else 0.0)
    for r in range(n):
        h.addVar(0.0, inf if at_hi[r] else 0.0)
    a = lam * w - cross
    for b in blocks:
        wb = w[b].sum()
        for k in range(1, len(b) + 1):
            for u in combinations(b, k):
                u = list(u)
                c = w[u].sum() * (wb - w[u].sum())
                idx = [0] + [1 + r for r in u] + [1 + n + r for r in u]
                val = [-need[u].sum()] + [1.0] * len(u) + [-1.0] * len(u)
                lo_row = c - a[u].sum() if k == len(b) else -inf   # q(S) = 0 = c(S)
                h.addRow(lo_row - scale_tol if k == len(b) else -inf, c - a[u].sum() + scale_tol,
                         len(idx), np.array(idx, dtype=np.int32), np.array(val))
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def tied_case(m: int, seed: int):
    """m regions on three tied levels, bounds hit on some, a random lambda (and the rng)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.0, m)
    w /= w.sum()
    need = rng.uniform(0.5, 3.0, m)
    level = rng.choice([0.3, 0.5, 0.7], m)
    lo = np.where(rng.random(m) < 0.3, level, level - 0.1)
    hi = np.where(rng.random(m) < 0.3, level, level + 0.1)
    return w, need, level, lo, hi, float(rng.uniform(0.0, 0.6)), rng


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(0, 100_000), st.booleans())
def test_bare_certificate_equals_kkt_lp_over_all_subsets(m, seed, tight):
    # random tied levels, bounds hit on some regions, random lambda: the O(n log n)
    # certificate (prefix tests + search over lam_B) agrees with the explicit KKT LP
    w, need, level, lo, hi, lam, rng = tied_case(m, seed)
    ok, _, _, _, _ = gini_bare_certificate(level, w, need, lo, hi, tight, lam,
                                           float(rng.uniform(0, 0.05)), np.argsort(level, kind="stable"),
                                           1e-11)
    assert ok == kkt_feasible_lp(level, w, need, lo, hi, tight, lam)


@st.composite
def bare_rounds(draw):
    n = draw(st.integers(2, 60))
    seed = draw(st.integers(0, 10_000))
    theta = draw(st.sampled_from([0.0, 0.0, 0.3, 0.4]))
    return random_data(seed, n, caps=draw(st.booleans()), theta=theta)


def feasible_hard(d):
    need_thr = np.maximum(d.threshold * d.need - d.own, d.t_min)
    return bool(np.all(need_thr <= d.t_max) and need_thr.sum() <= d.budget)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bare_rounds())
def test_bare_certificate_never_stops_early(d):
    # the new certificate drives the chain on the bare core; it must only certify the
    # optimum: the final Gini equals the pairwise LP's (caps, floors, hard thresholds)
    if not feasible_hard(d):
        return
    pw, lp_, ch, tc, lc = both(d)
    assert ch.info["gini_certificate"] == "bare-core KKT"
    assert ch.first.objective == pytest.approx(pw.first.objective, abs=1e-8)
    check_feasible(d, tc)
    assert np.all(lc >= d.threshold - 1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("seed,n,theta", [(11, 120, 0.0), (9, 150, 0.4), (3, 150, 0.3)])
def test_bare_certificate_equals_pairwise_up_to_150_regions(seed, n, theta):
    d = random_data(seed, n, caps=True, theta=theta)
    assert feasible_hard(d)
    pw, lp_, ch, tc, lc = both(d)
    assert ch.first.objective == pytest.approx(pw.first.objective, abs=1e-8)
    check_feasible(d, tc)
    # the chain-dual certificate reaches the same value (with more LPs or as many)
    old, _, _ = solved(replace(d, options={"gini_form": "chain", "gini_certificate": "duals"}), "min-gini")
    assert old.first.objective == pytest.approx(pw.first.objective, abs=1e-8)
    assert ch.info["gini_lps"] <= old.info["gini_lps"]


def test_bare_certificate_needs_no_chain_duals_where_the_old_one_fails():
    # w = 1/3 each, levels before .5/.5/.2, budget .1: the optimum (any lambda) is
    # .5/.5/.3 (region 2 gets everything). Cone order [2, 0, 1] at lambda = 0: the chain
    # LP's duals are not unique: nu on the tied row 0 -> 1 can be anything in [0, 4/9]
    # (regions 0 and 1 sit at their lower bound and absorb the rest: alpha_0 = nu + 2/9,
    # alpha_1 = 4/9 - nu, budget dual 2/9). The chain-dual certificate accepts nu <= 2/9 =
    # 2 w_0 w_1 only, so a solver returning the vertex nu = 4/9 makes it fail on an optimal
    # point; the bare-core certificate does not read nu and certifies it.
    w = np.full(3, 1 / 3)
    level = np.array([0.5, 0.5, 0.3])
    need = np.ones(3)
    lo, hi = np.array([0.5, 0.5, 0.2]), np.full(3, np.inf)
    order = np.array([2, 0, 1])
    ok_old, _, _ = gini_chain_certificate(level, w, order, np.array([0.0, 4 / 9]), 1e-12)
    assert not ok_old
    ok_old_low, _, _ = gini_chain_certificate(level, w, order, np.array([0.0, 0.1]), 1e-12)
    assert ok_old_low
    ok, new_order, bad, lam_b, _ = gini_bare_certificate(level, w, need, lo, hi, True, 0.0, 0.0, order, 1e-12)
    assert ok and bad == 0 and list(new_order) == [2, 0, 1]
    assert lam_b == pytest.approx(2 / 9, abs=1e-9)        # found by the search over lam_B
    assert kkt_feasible_lp(level, w, need, lo, hi, True, 0.0)
    # and it is the optimum (pairwise LP, whole Dinkelbach run)
    d = rd([0.5, 0.5, 0.2], [1, 1, 1], 0.1, gini_form="pairwise")
    run, t, lv = solved(d, "min-gini")
    np.testing.assert_allclose(lv, level, atol=1e-8)
    ch, _, lc = solved(replace(d, options={"gini_form": "chain"}), "min-gini")
    assert ch.info["gini_certificate"] == "bare-core KKT"
    assert ch.first.objective == pytest.approx(run.first.objective, abs=1e-10)


def test_bare_certificate_is_used_only_on_the_bare_core():
    d = random_data(3, 30, caps=True)
    run, _, _ = solved(replace(d, options={"gini_form": "chain"}), "min-gini")
    assert run.info["gini_certificate"] == "bare-core KKT"
    run, _, _ = solved(replace(d, options={"gini_form": "chain", "gini_certificate": "duals"}), "min-gini")
    assert run.info["gini_certificate"] == "chain duals" and "gini_jumps" not in run.info
