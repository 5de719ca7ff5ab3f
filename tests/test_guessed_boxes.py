"""The inner solve of the threshold decomposition on guessed boxes (optimizer/fast/cut_levels.py
``guessed_indices``): a guess is accepted only when no guessed bound binds, and then it must
be the least minimiser over the valid box. Checked on instances with many ties (few distinct
weights, needs and bounds: large tied blocks, as at 1e6 generated regions) against the solve
on the valid box itself, against scipy's HiGHS on the Lagrangian LP, and end to end (owa,
cvar, min-gini) against HiGHS on the LP of record with the guesses made narrow enough to
fail and fall back. Real HiGHS, no mocks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizer.fast.cut_levels as cl
from models.build import build_lp
from optimizer.core.metrics import gini, pairwise_sum
from optimizer.fast.cut_levels import CutFunction, Grid, cut_order, guess_box, guessed_indices, least_indices
from optimizer.fast.fastpath import fast_core_run
from tests.test_decompose import feasible, lagrangian_by_lp
from tests.test_objectives import rd, solved


def tied_problem(seed: int, n: int):
    """Weights, needs and a box drawn from few values: many regions tie at each level."""
    rng = np.random.default_rng(seed)
    w = rng.choice([1.0, 2.0], n) / n
    need = rng.choice([1.0, 1.5, 3.0], n)
    lo = rng.choice([0.2, 0.4, 0.5, 0.7], n) + rng.choice([0.0, 0.01], n)
    hi = lo + rng.choice([0.0, 0.1, 0.3, 0.6, 1.0], n)
    rank = np.empty(n, dtype=np.int64)
    rank[cut_order(w, need)] = np.arange(n)
    return w, need, lo, hi, Grid.of(lo, hi, rank)


CUTS = {"gini": None, "owa": (np.array([0.1, 0.5, 0.9]), np.array([3.0, 2.0, 1.0])),
        "cvar": (np.array([0.3]), np.array([1.0 / 0.3]))}


def cut_of(name: str, w: np.ndarray) -> CutFunction | None:
    return None if CUTS[name] is None else CutFunction.lorenz(float(w.sum()), *CUTS[name])


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 100_000), st.integers(4, 60), st.sampled_from(sorted(CUTS)), st.floats(0.0, 3.0),
       st.sampled_from([(1,), (2,), (1, 3), (4, 16)]), st.sampled_from(["answer", "random", "warm"]))
def test_guessed_box_gives_the_least_minimiser_of_the_valid_box(seed, n, name, lam_b, steps, centre_kind):
    w, need, lo, hi, g = tied_problem(seed, n)
    cut = cut_of(name, w)
    lam = 0.3 if cut is None else 0.0
    rng = np.random.default_rng(seed + 1)
    lo_t, hi_t = g.lo_i, g.hi_i
    if centre_kind == "warm":
        # valid bounds as the budget search has them: the least minimisers at a higher and a lower price
        lo_t = np.maximum(lo_t, least_indices(w, need, lam, lam_b * 1.5 + 0.1, g, cut, g.lo_i, g.hi_i))
        hi_t = np.minimum(hi_t, least_indices(w, need, lam, lam_b * 0.5, g, cut, g.lo_i, g.hi_i))
    exact = least_indices(w, need, lam, lam_b, g, cut, lo_t, hi_t)
    centre = {"answer": exact, "random": rng.integers(0, g.values.size, n),
              "warm": hi_t}[centre_kind]
    got = guessed_indices(w, need, lam, lam_b, g, cut, lo_t, hi_t, centre, steps)
    assert np.array_equal(got, exact)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000), st.integers(3, 9), st.floats(0.0, 2.0))
def test_guessed_gini_inner_solve_matches_the_lp(seed, n, lam_b):
    w, need, lo, hi, g = tied_problem(seed, n)
    idx = guessed_indices(w, need, 0.4, lam_b, g, None, g.lo_i, g.hi_i, np.full(n, g.values.size // 2), (1,))
    level = g.values[idx]
    value = pairwise_sum(level, w) + float(np.dot(lam_b * need - 0.4 * w, level))
    assert value == pytest.approx(lagrangian_by_lp(w, need, lo, hi, 0.4, lam_b), abs=1e-8)


@pytest.mark.parametrize("name", sorted(CUTS))
def test_a_right_guess_is_accepted_in_one_solve(name):
    # the acceptance test itself: centred on the answer, no guessed bound binds (so the
    # guessed path returns the first solve; a wrong acceptance rule would fail the tests above)
    w, need, lo, hi, g = tied_problem(3, 400)
    cut = cut_of(name, w)
    lam = 0.3 if cut is None else 0.0
    exact = least_indices(w, need, lam, 0.8, g, cut, g.lo_i, g.hi_i)
    inner = (exact > g.lo_i) & (exact < g.hi_i)
    gl, gu = guess_box(g.lo_i, g.hi_i, exact, 1, inner)
    assert np.any(gl > g.lo_i) or np.any(gu < g.hi_i), "the guess must shrink the box"
    idx = least_indices(w, need, lam, 0.8, g, cut, gl, gu)
    assert np.array_equal(idx, exact)
    assert not np.any(((gl > g.lo_i) & (idx <= gl)) | ((gu < g.hi_i) & (idx >= gu)))
    # and a box guessed off the answer binds, so it is not accepted
    gl2, gu2 = guess_box(g.lo_i, g.hi_i, np.maximum(g.lo_i, exact - 5), 1, inner)
    idx2 = least_indices(w, need, lam, 0.8, g, cut, gl2, gu2)
    assert np.any(((gl2 > g.lo_i) & (idx2 <= gl2)) | ((gu2 < g.hi_i) & (idx2 >= gu2))) or \
        np.array_equal(idx2, exact)


def tied_round(seed: int, n: int):
    rng = np.random.default_rng(seed)
    need = rng.choice([1.0, 2.0, 4.0], n)
    own = need * rng.choice([0.2, 0.3, 0.5, 0.9, 1.1], n)
    t_max = np.where(rng.random(n) < 0.3, rng.choice([0.2, 0.5], n), np.inf)
    theta = float(rng.choice([0.0, 0.35]))
    t_max = np.maximum(t_max, np.maximum(0.0, theta * need - own))     # every threshold reachable
    return rd(own, need, budget=float(need.sum() * rng.uniform(0.3, 0.6)), weight=rng.choice([1.0, 3.0], n),
              theta=theta, t_max=t_max)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("name,opts", [("owa", {}), ("cvar", {"alpha": 0.2}), ("min-gini", {})])
def test_narrow_guesses_end_to_end_equal_the_lp_of_record(monkeypatch, seed, name, opts):
    d = replace(tied_round(seed, 300), options=opts)
    assert feasible(d), "tied_round raises t_max so every threshold is reachable within the budget"
    runs = {}
    for steps in [(1, 2), (10_000_000,)]:      # guesses that bind and fall back; guesses that never shrink
        monkeypatch.setattr(cl, "GUESS_STEPS", steps)
        runs[steps] = fast_core_run(d, name, build_lp, hard=True, has_policies=False)
        assert runs[steps] is not None, "the certificate must accept the decomposition's answer"
    narrow, wide = runs[(1, 2)], runs[(10_000_000,)]
    t = narrow.first.x[narrow.layout["transfer"]]
    assert np.array_equal(t, wide.first.x[wide.layout["transfer"]])
    lp_run, _, lp_level = solved(d, name)
    if name == "min-gini":
        assert gini((d.own + t) / d.need, d.weight) == pytest.approx(gini(lp_level, d.weight), abs=1e-9)
    else:
        assert narrow.first.objective == pytest.approx(lp_run.first.objective, abs=1e-9)
