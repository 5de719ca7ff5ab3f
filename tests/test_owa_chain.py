"""owa's chain (order-cone) form against the O(m n) slice form (Ogryczak's compact LP) on
random instances (hypothesis), the generalised certificate against the min-gini one and
against subset enumeration, and the twin. Real HiGHS, no mocks."""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.build import build_arrays, build_pyomo
from models.compile import to_linear_program
from models.fairness import owa_cut, owa_V
from optimizer.fast.chain_certificates import gini_chain_certificate, ordered_chain_certificate
from tests.test_formulation import assert_same_lp, region_data
from tests.test_objectives import random_data, rd, solved


def owa_direct(level, w, v):
    """sum_k v_k Q_k by integrating the quantile function slice by slice (independent)."""
    v = np.asarray(v, float) / np.sum(v)
    m = v.size
    o = np.argsort(level, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(w[o])])
    total = 0.0
    for k in range(m):
        a, b = k / m, (k + 1) / m
        overlap = np.clip(np.minimum(cum[1:], b) - np.maximum(cum[:-1], a), 0.0, None)
        total += v[k] * m * float(np.dot(overlap, level[o]))
    return total


@st.composite
def rounds(draw):
    n = draw(st.integers(2, 150))
    d = random_data(draw(st.integers(0, 10_000)), n, caps=draw(st.booleans()))
    if draw(st.booleans()):
        d = replace(d, weight=np.full(n, 1.0 / n))
    weights = draw(st.sampled_from([None, [5, 3, 3, 1], [1, 0, 0, 0], [3, 2, 1], [1, 1, 1, 1]]))
    return replace(d, options={"weights": weights})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_chain_form_equals_slice_form(d):
    sl, _, ls = solved(replace(d, options={**d.options, "owa_form": "slices"}), "owa")
    ch, t, lc = solved(replace(d, options={**d.options, "owa_form": "chain"}), "owa")
    assert ch.info["owa_form"] == "chain"
    assert ch.first.objective == pytest.approx(sl.first.objective, abs=1e-8)
    v = d.options["weights"] or np.arange(10, 0, -1)
    assert owa_direct(lc, d.weight, v) == pytest.approx(sl.first.objective, abs=1e-7)
    assert t.sum() <= d.budget + 1e-7
    assert np.all(t >= d.t_min - 1e-9) and np.all(t <= d.t_max + 1e-9)


def test_chain_form_by_hand_and_crossing_start_order():
    # two regions, weights (1, 0): maxmin; .2/.5 with budget .5 -> both at .6
    run, t, level = solved(rd([0.2, 0.5], [1, 1], 0.5, weights=[1, 0], owa_form="chain"), "owa")
    assert run.first.objective == pytest.approx(0.6, abs=1e-9)
    np.testing.assert_allclose(level, [0.6, 0.6], atol=1e-7)
    # a lower bound forces region 0 above region 1: the starting cone is infeasible
    d2 = rd([0.2, 0.5, 0.8], [1, 1, 1], 0.6, t_min=[0.45, 0, 0], weights=[3, 2, 1], owa_form="chain")
    run2, _, _ = solved(d2, "owa")
    ref, _, _ = solved(replace(d2, options={"weights": [3, 2, 1], "owa_form": "slices"}), "owa")
    assert run2.first.objective == pytest.approx(ref.first.objective, abs=1e-9)


def test_owa_cut_is_a_tight_upper_bound():
    rng = np.random.default_rng(3)
    d = replace(random_data(3, 30), options={"weights": [4, 3, 1]})
    for _ in range(20):
        L = rng.random(30)
        exact = owa_direct(L, d.weight, [4, 3, 1])
        assert np.dot(owa_cut(d, np.argsort(L)), L) == pytest.approx(exact, rel=1e-12)
        assert np.dot(owa_cut(d, rng.permutation(30)), L) >= exact - 1e-12


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000), st.floats(0.0, 3.0))
def test_general_certificate_with_gini_G_equals_gini_certificate(m, seed, spread):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.0, m)
    w /= w.sum()
    order = rng.permutation(m)
    nu = rng.uniform(0.0, spread, m - 1) * 0.25
    level = np.where(rng.random(m) < 0.5, 0.7, rng.random(m))
    a = gini_chain_certificate(level, w, order, nu, 1e-12)
    b = ordered_chain_certificate(level, w, order, nu, 1e-12, lambda x: x * x - x)
    assert a[0] == b[0]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000), st.floats(0.0, 2.0))
def test_owa_certificate_prefix_test_equals_subset_enumeration(m, seed, spread):
    # one tie block: y = h(pi) - D'nu must satisfy y(X) <= G(W) - G(W - W(X)), G = -V
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.05, 1.0, m)
    w /= w.sum()
    d = replace(region_data(m, 1), weight=w, options={"weights": [5, 3, 3, 1]})
    V = owa_V(d)
    G = lambda x: -V(x)   # noqa: E731
    order = rng.permutation(m)
    nu = rng.uniform(0.0, spread, m - 1) * 0.1
    ok, _, _ = ordered_chain_certificate(np.full(m, 0.7), w, order, nu, 1e-12, G)
    ws = w[order]
    cum = np.cumsum(ws)
    y = (G(cum) - G(cum - ws)) - (np.concatenate([[0.0], nu]) - np.concatenate([nu, [0.0]]))
    brute = all(y[list(u)].sum() <= float(G(np.array(1.0)) - G(np.array(1.0 - ws[list(u)].sum()))) + 1e-12
                for k in range(1, m) for u in combinations(range(m), k))
    assert ok == brute


@pytest.mark.parametrize("n", [1, 2, 8, 40])
def test_chain_twin_equals_compiled_pyomo(n):
    d = region_data(n, 3)
    order = np.random.default_rng(n).permutation(n)
    d = replace(d, options={"owa_form": "chain", "weights": [5, 3, 3, 1], "owa_order": order})
    assert_same_lp(build_arrays(d, "owa"), to_linear_program(build_pyomo(d, "owa")))
