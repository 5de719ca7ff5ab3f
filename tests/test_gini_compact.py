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
from optimizer.fairness_solve import gini_chain_certificate, pairwise_sum
from optimizer.metrics import gini
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
