"""The layered oracle's range maxima by blocks (optimizer/fast/range_max.py) and its cached
boundary positions (policy_mean.ChainMean._boundary) must answer exactly as what they
replace: the sparse table below (copied from policy_mean before the change) is the oracle,
compared to the bit (argmax and value) on random arrays with many ties, windows of every
length, inside one block and across many, and empty ones; the boundary positions against
the plain searchsorted on random layered rounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.fast.policy_mean import ChainMean
from optimizer.fast.policy_path import Envelope
from optimizer.fast.range_max import BLOCK, range_max


def old_range_max(h: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(argmax, max) of h over [lo_j, hi_j] per query (-inf where empty): a sparse table."""
    m = h.shape[0]
    table, value = [np.arange(m)], h
    k = 1
    while 2 * k <= m:
        prev = table[-1]
        left = value[:-k] >= value[k:]
        table.append(np.where(left, prev[:-k], prev[k:]))
        value = np.where(left, value[:-k], value[k:])
        k *= 2
    empty = hi < lo
    lo_c = np.clip(lo, 0, m - 1)
    width = np.maximum(np.where(empty, 1, hi - lo + 1), 1)
    lvl = np.floor(np.log2(width)).astype(np.int64)
    out = np.zeros(lo.shape[0], dtype=np.int64)
    for j in np.unique(lvl):
        q = lvl == j
        t = table[j]
        a = t[np.clip(lo_c[q], 0, t.shape[0] - 1)]
        b = t[np.clip(np.where(empty[q], lo_c[q], hi[q] - (1 << j) + 1), 0, t.shape[0] - 1)]
        out[q] = np.where(h[a] >= h[b], a, b)
    return out, np.where(empty, -np.inf, h[out])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 9 * BLOCK), st.integers(1, 60), st.sampled_from([2, 5, 1000]))
def test_blocks_answer_as_the_sparse_table(seed, m, q, distinct):
    rng = np.random.default_rng(seed)
    h = rng.integers(0, distinct, m).astype(float) * 0.37 - 1.0     # ties in most windows
    lo = rng.integers(0, m + 1, q)
    short = rng.random(q) < 0.4                                      # windows within a block, or just past one
    hi = np.where(short, lo + rng.integers(-2, BLOCK + 2, q), rng.integers(-1, m, q))
    hi = np.minimum(hi, m - 1)
    got, want = range_max(h, lo, hi), old_range_max(h, lo, hi)
    assert np.array_equal(got[0], want[0])
    assert np.array_equal(got[1], want[1])


def test_hand_case_leftmost_of_ties_across_blocks():
    h = np.zeros(3 * BLOCK)
    h[[5, BLOCK + 7, 2 * BLOCK + 1]] = 2.0           # the same maximum in three blocks
    arg, val = range_max(h, np.array([0, 6, 6, BLOCK + 8, 3]), np.array([3 * BLOCK - 1, 3 * BLOCK - 1,
                                                                          BLOCK + 6, 2 * BLOCK, 2]))
    assert arg.tolist() == [5, BLOCK + 7, 6, BLOCK + 8, 3]     # leftmost of the maximum (or of the zeros); empty
    assert val.tolist() == [2.0, 2.0, 0.0, 0.0, -np.inf]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.integers(2, 60), st.booleans())
def test_cached_boundary_positions_are_the_searched_ones(seed, n, ties):
    rng = np.random.default_rng(seed)
    group = np.sort(rng.integers(0, max(1, n // 3) if ties else n, n))
    group = np.unique(group, return_inverse=True)[1]
    M = np.maximum.accumulate(np.round(rng.uniform(0, 1, n), 2))          # monotone along the groups
    U = np.maximum.accumulate(M + np.round(rng.uniform(0, 1, n), 2))
    env = Envelope(np.zeros(n), np.zeros(n), None, None, None, None, group=group, chain=True, M=M, U=U)
    cm = ChainMean(env, rng.uniform(0, 1, n), rng.uniform(1, 2, n), True)
    ly = cm.ly
    choice = rng.integers(0, 3, ly.gF.shape[0])
    gs = np.where(choice == 0, ly.gF, np.where(choice == 1, ly.gA - 1, rng.integers(-1, ly.G + 1, ly.gF.shape[0])))
    gg = np.minimum(gs, ly.G - 1)
    im, iu = cm._boundary(gg, (gs == ly.gF, gs == ly.gA - 1))
    assert np.array_equal(im, cm._ge(cm.key_m, gg))
    assert np.array_equal(iu, cm._ge(cm.key_u, gg))
