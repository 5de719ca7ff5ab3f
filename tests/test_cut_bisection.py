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

from optimizer.fast.cut_bisection import group_intervals, stable_group_order
from optimizer.fast.cut_certificate import cut_certificate
from optimizer.fast.cut_levels import CutFunction, least_indices, phi, typical_move
from tests.test_guessed_boxes import cut_of, tied_problem


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
