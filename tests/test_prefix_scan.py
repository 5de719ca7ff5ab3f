"""The shared prefix scan (optimizer/fast/prefix_scan.py) against brute force over every
subset U of small random blocks, ties and excluded regions included; its running sums are
accumulated within each block (no cancellation against the blocks before)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.fast.prefix_scan import best_per_block, best_prefix_end, block_prefixes, segment_cumsum


def _brute(v, w, block, cost):
    """max(0, max over U within each block, no v = -inf member, of v(U) - cost(W(U), b))."""
    out = np.zeros(int(block.max()) + 1)
    for b in range(out.size):
        members = [r for r in np.flatnonzero(block == b) if np.isfinite(v[r])]
        for k in range(1, len(members) + 1):
            for u in itertools.combinations(members, k):
                u = list(u)
                out[b] = max(out[b], float(v[u].sum() - cost(np.array([w[u].sum()]), np.array([b]))[0]))
    return out


def _random_case(rng):
    n = int(rng.integers(1, 9))
    block = np.sort(rng.integers(0, 3, n))
    block = np.unique(block, return_inverse=True)[1]          # ids 0..k-1, all present
    v = rng.integers(-3, 4, n).astype(float)                  # small integers: ratio ties
    w = rng.integers(0, 3, n).astype(float)                   # zero weights included
    v[rng.random(n) < 0.2] = -np.inf                          # regions never in U
    perm = rng.permutation(n)                                 # blocks need not be contiguous
    return v[perm], w[perm], block[perm]


@pytest.mark.parametrize("seed", range(40))
def test_best_prefix_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    v, w, block = _random_case(rng)
    w_block = np.bincount(block, weights=w)
    curv = rng.random() * 2
    costs = [
        lambda a, b: -a * (w_block[b] - a),                   # the Gini cut: c(U) = W(U)(W_S - W(U))
        lambda a, b: curv * a * a - a,                        # any convex function of W(U)
        lambda a, b: np.maximum(0.5 * a, 2.0 * a - 3.0),      # piecewise linear convex
    ]
    for cost in costs:
        pre = block_prefixes(v, w, block)
        gain = np.where(pre.allowed, pre.value - cost(pre.weight, pre.block), -np.inf)
        nb = int(block.max()) + 1
        best = best_per_block(gain, pre.block, nb)
        np.testing.assert_allclose(best, _brute(v, w, block, cost), atol=1e-12)
        end = best_prefix_end(gain, pre.block, nb)
        for b in range(nb):
            if best[b] > 0:
                assert pre.block[end[b]] == b and gain[end[b]] == pytest.approx(best[b])
            else:
                assert end[b] == -1


def test_prefix_sums_follow_the_given_order():
    v = np.array([1.0, 4.0, -np.inf, 2.0])
    w = np.array([1.0, 2.0, 1.0, 1.0])
    block = np.array([0, 0, 0, 1])
    pre = block_prefixes(v, w, block)
    assert pre.order.tolist() == [1, 0, 2, 3]                 # 4/2 = 2 > 1/1, -inf last
    assert pre.value.tolist() == [4.0, 5.0, 5.0, 2.0]
    assert pre.weight.tolist() == [2.0, 3.0, 4.0, 1.0]
    assert pre.allowed.tolist() == [True, True, False, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.floats(1e-6, 1e12)), min_size=1, max_size=40))
def test_segment_cumsum_is_accumulated_within_each_segment(parts):
    """Each segment's running sums are exact to a few ulps of the segment's own sums, however
    large the segments before it (a difference of whole-array running sums is not: a tiny
    segment after 1e12 keeps no digit)."""
    seg = np.repeat(np.arange(len(parts)), [k for k, _ in parts])
    rng = np.random.default_rng(len(parts))
    values = np.concatenate([scale * rng.uniform(0.5, 1.5, k) for k, scale in parts])
    got = segment_cumsum(values, seg)
    for s in range(len(parts)):
        idx = np.flatnonzero(seg == s)
        exact = [math.fsum(values[idx[: i + 1]]) for i in range(idx.size)]
        np.testing.assert_allclose(got[idx], exact, rtol=1e-14, atol=0)


def test_segment_cumsum_keeps_a_tiny_segment_after_a_huge_one():
    values = np.array([1e12, 3e-4, 1e-4, 2e-4])
    seg = np.array([0, 1, 1, 1])
    np.testing.assert_allclose(segment_cumsum(values, seg), [1e12, 3e-4, 4e-4, 6e-4], rtol=1e-15)
    cum = np.cumsum(values)   # the cancelling form it replaced
    assert abs((cum[3] - cum[0]) - 6e-4) > 1e-6
