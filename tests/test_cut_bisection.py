"""The inner solve's bisection (optimizer/fast/cut_bisection.py) and the sort-free helpers around
it, each against its plain definition on random draws (hypothesis): the groups found by counting
against chaining the boxes sorted by their start (the definition the bisection relies on), the
radix orders against numpy's stable sorts, the piecewise Q on ascending arguments against the
searched one, the typical move against numpy's quantile; and the least minimiser against scipy's
HiGHS on the Lagrangian LP with many ties (the whole inner solve, guessed or not, is also checked
by tests/test_guessed_boxes.py and tests/test_decompose.py). Real HiGHS, no mocks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.fast.cut_bisection import bisect_indices, chained_groups, group_intervals, stable_group_order
from optimizer.fast.cut_certificate import cut_certificate, descending
from optimizer.fast.cut_levels import CutFunction, Grid, cut_order, least_indices, phi, typical_move
from tests.test_guessed_boxes import CUTS, cut_of, tied_problem


def chained_by_sort(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each box's group interval by the definition: boxes sorted by start; a box starts a new
    group when it starts beyond every earlier end, or at that end but at a new start value."""
    hi = np.maximum(hi, lo)
    order = np.argsort(lo, kind="stable")
    a, b = np.empty_like(lo), np.empty_like(hi)
    top, first, members = -1, None, []
    for i in order:
        if first is None or lo[i] > top or (lo[i] == top and lo[i] > lo[members[-1]]):
            if members:
                a[members], b[members] = first, top
            first, members, top = lo[i], [], -1
        members.append(i)
        top = max(top, hi[i])
    a[members], b[members] = first, top
    return a, b


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 40), st.integers(1, 30))
def test_groups_by_counting_equal_the_chained_sort(seed, n, nv):
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, nv, n)
    hi = np.minimum(nv - 1, lo + rng.choice([0, 0, 1, 2, 5], n))
    _, _, a, b, _ = group_intervals(lo, hi, nv)
    ra, rb = chained_by_sort(lo, hi)
    assert np.array_equal(a, ra) and np.array_equal(b, rb)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 300), st.sampled_from([1, 7, 300, 70_000, 5_000_000]))
def test_radix_order_is_the_stable_argsort(seed, n, groups):
    rank = np.random.default_rng(seed).integers(0, groups, n)
    assert np.array_equal(stable_group_order(rank, groups), np.argsort(rank, kind="stable"))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 10), st.integers(0, 60))
def test_piecewise_q_on_ascending_arguments_is_bit_identical(seed, k, n):
    rng = np.random.default_rng(seed)
    q = CutFunction.lorenz(1.0, np.sort(rng.random(k)), rng.random(k) + 0.1)
    # arguments on and between the kinks, ascending
    x = np.sort(rng.choice(np.concatenate([q.kinks, rng.random(n + 1) * 1.2]), n))
    assert np.array_equal(q.value(x, ascending=True), q.value(x))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 60))
def test_typical_move_is_the_high_quantile_of_the_moves(seed, n):
    rng = np.random.default_rng(seed)
    before = rng.integers(0, 50, n)
    after = before + rng.choice([0, 0, 1, 3, -2, 40], n)
    moved = np.abs(after - before)
    moved = moved[moved > 0]
    expected = int(np.quantile(moved, 0.99, method="higher")) if moved.size else 0
    assert typical_move(after, before) == expected


@pytest.mark.parametrize("name", ["owa", "cvar", "gini"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("frac", [0.1, 0.5])
def test_inner_solve_on_tied_blocks_passes_the_kkt_test(name, seed, frac):
    # 2,000 tied regions: large groups that close at different rounds (compaction, several
    # open groups, one open group). The price is a fraction of the steepest gain per need, so
    # 300-1,200 regions end above their lower bound; the levels minimise the Lagrangian over
    # the box (the KKT test of cut_certificate.py with the price in the linear term and no
    # budget row), and the test refuses the same levels with 50 of them one grid step down
    w, need, lo, hi, g = tied_problem(seed, 2000)
    cut = cut_of(name, w)
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    lam = 0.3 if cut is None else 0.0
    lam_b = frac * q.steepest() * float(np.median(w / need))
    idx = least_indices(w, need, lam, lam_b, g, cut, g.lo_i, g.hi_i)
    level = g.values[idx]
    lin = lam_b * need - lam * w
    up = np.flatnonzero(idx > g.lo_i)
    assert up.size >= 250, "the price leaves a tied block above the lower bounds"
    assert cut_certificate(level, w, need, lo, hi, False, lin, q).ok
    lower = level.copy()
    lower[up[:50]] = g.values[idx[up[:50]] - 1]
    assert not cut_certificate(lower, w, need, lo, hi, False, lin, q).ok
    assert phi(lower, w, cut) + float(np.dot(lin, lower)) > phi(level, w, cut) + float(np.dot(lin, level))


def block_problem(seed: int, n: int):
    """A tied block of most regions sharing one wide box (some with their own bounds inside
    it, on a fine grid: many rounds, tiny forced sets splitting off), beside narrow boxes
    below and above it: the shape of the 1e6-region probes (one group of 85% of the regions)."""
    rng = np.random.default_rng(seed)
    w = rng.choice([1.0, 2.0, 3.0], n) / n
    need = rng.choice([1.0, 1.5, 3.0], n)
    lo, hi = np.full(n, 0.5), np.full(n, 1.5)
    kind = rng.random(n)
    inside = kind < 0.15
    lo[inside] = 0.5 + rng.integers(0, 64, int(inside.sum())) / 64
    hi[inside] = np.minimum(1.5, lo[inside] + rng.choice([0.0, 1 / 64, 0.25, 1.0], int(inside.sum())))
    side = kind > 0.8
    lo[side] = rng.choice([0.1, 0.2, 0.3, 0.45, 1.6, 1.8], int(side.sum())) + rng.choice([0.0, 0.01], int(side.sum()))
    hi[side] = lo[side] + rng.choice([0.0, 0.01, 0.02, 0.03], int(side.sum()))
    rank = np.empty(n, dtype=np.int64)
    rank[cut_order(w, need)] = np.arange(n)
    return w, need, lo, hi, Grid.of(lo, hi, rank)


def bisect_both(w, need, lam, lam_b, g, cut, lo_t, hi_t):
    """The inner solve with the large group cut alone (the default) and with every round over
    all groups at once, with least_indices' linear term and tolerance."""
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    c = lam_b * need - lam * w
    tol = 1e-13 * (float(np.abs(c).max()) * max(1.0, float(np.abs(g.values).max())) + q.magnitude())
    return (bisect_indices(w, c, g.perm, g.values.size, q, tol, lo_t, hi_t),
            bisect_indices(w, c, g.perm, g.values.size, q, tol, lo_t, hi_t, split_large=False))


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 100_000), st.integers(40, 400), st.sampled_from(sorted(CUTS)), st.floats(0.02, 1.5),
       st.sampled_from(["box", "warm", "narrow"]))
def test_large_group_cut_alone_gives_the_same_indices_bit_for_bit(seed, n, name, frac, bounds):
    # the tied block cut by _cut_large (scalars, running sums carried across the stretches
    # before and after it) against every round over all groups at once: identical indices,
    # whether the block moves as one, splits off its forced regions, or closes
    w, need, lo, hi, g = block_problem(seed, n)
    cut = cut_of(name, w)
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    lam = 0.3 if cut is None else 0.0
    lam_b = frac * q.steepest() * float(np.median(w / need))
    lo_t, hi_t = g.lo_i, g.hi_i
    if bounds != "box":
        # bounds as the budget search has them: least minimisers at a higher and a lower price
        lo_t = np.maximum(lo_t, least_indices(w, need, lam, lam_b * (1.5 if bounds == "warm" else 1.01), g, cut,
                                              g.lo_i, g.hi_i))
        hi_t = np.minimum(hi_t, least_indices(w, need, lam, lam_b * (0.5 if bounds == "warm" else 0.99), g, cut,
                                              g.lo_i, g.hi_i))
    _, _, grp, _, _ = chained_groups(lo_t, hi_t, g.values.size)
    split, plain = bisect_both(w, need, lam, lam_b, g, cut, lo_t, hi_t)
    assert np.array_equal(split, plain)
    if bounds == "box":
        assert 2 * int(np.bincount(grp).max()) >= n, "one group holds at least half the regions"


@pytest.mark.parametrize("name", ["owa", "cvar", "gini"])
def test_large_group_answer_passes_the_kkt_test(name):
    # the split path's answer on a 3,000-region block minimises the Lagrangian over the box
    # (cut_certificate.py's KKT test, the price in the linear term), and the same levels with
    # 30 of the regions above their lower bound one grid step down fail it
    w, need, lo, hi, g = block_problem(7, 3000)
    cut = cut_of(name, w)
    q = cut if cut is not None else CutFunction.gini(float(w.sum()))
    lam = 0.3 if cut is None else 0.0
    lam_b = 0.4 * q.steepest() * float(np.median(w / need))
    idx, plain = bisect_both(w, need, lam, lam_b, g, cut, g.lo_i, g.hi_i)
    assert np.array_equal(idx, plain)
    level = g.values[idx]
    lin = lam_b * need - lam * w
    up = np.flatnonzero(idx > g.lo_i)
    assert up.size >= 100
    assert cut_certificate(level, w, need, lo, hi, False, lin, q).ok
    lower = level.copy()
    lower[up[:30]] = g.values[idx[up[:30]] - 1]
    assert not cut_certificate(lower, w, need, lo, hi, False, lin, q).ok


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 300), st.sampled_from([1, 3, 50, 10_000]))
def test_grid_indices_are_the_searched_positions(seed, n, distinct):
    # Grid.of takes each bound's index from np.unique's inverse: the position searchsorted finds
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, distinct, n) / 7.0
    hi = lo + rng.choice([0.0, 0.0, 1 / 7, 3.0], n)
    g = Grid.of(lo, hi, rng.permutation(n))
    assert np.array_equal(g.lo_i, np.searchsorted(g.values, lo))
    assert np.array_equal(g.hi_i, np.searchsorted(g.values, hi))
    assert np.array_equal(g.values, np.unique(np.concatenate([lo, hi])))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 400), st.sampled_from([2, 5, 1000, 10**9]))
def test_descending_order_is_the_stable_argsort_of_minus_the_key(seed, n, distinct):
    # cut_certificate's second scan order from its first: runs of tied keys reversed, each
    # run's positions ascending (ties, zeros and infinities included)
    rng = np.random.default_rng(seed)
    key = rng.integers(0, distinct, n) / 3.0
    key[rng.random(n) < 0.05] = np.inf
    up = np.argsort(key, kind="stable")
    assert np.array_equal(descending(key, up), np.argsort(-key, kind="stable"))
