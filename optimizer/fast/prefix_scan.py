"""The prefix scan shared by every optimality certificate of optimizer/fast.

Each certificate reduces, on every block S of tied regions, to a test of the form

    max over U in S of  v(U) - cost(W(U))   <= tol,      v(U) = sum_{r in U} v_r,

with ``cost`` convex in the weight W(U) = sum_{r in U} w_r (the negative of a concave cut
function, or a cut function's complement). For a fixed weight a = W(U) the largest v(U) is
a fractional knapsack, concave and piecewise linear in a with breakpoints at the prefixes of
S sorted by v_r / w_r descending; a concave function minus a convex one is largest at a
breakpoint, so the worst U is one of those prefixes and the test costs one sort and one
cumulative sum per block: O(n log n) instead of 2^|S| subsets.

Regions with v_r = -inf may never be in U (e.g. a region at its upper bound cannot be
pushed up); they sort last in their block and no prefix that contains one is a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class BlockPrefixes:
    """The candidate sets U of a prefix scan, one per sorted position (the prefix of its
    block that ends there)."""

    order: np.ndarray     # positions sorted by block, then v_r / w_r descending
    block: np.ndarray     # block id at each sorted position (non-decreasing)
    value: np.ndarray     # v(U) of the prefix ending at each sorted position
    weight: np.ndarray    # W(U) of the prefix ending at each sorted position
    allowed: np.ndarray   # False where the prefix holds a region with v_r = -inf


def scan_ratio(v: np.ndarray, w: np.ndarray) -> np.ndarray:
    """v_r / w_r, the scan key; for w_r = 0 it is +inf, -inf or 0 with the sign of v_r, and
    -inf for v_r = -inf (never in U), so those regions sort last in their block."""
    fin = np.isfinite(v)
    vf = np.where(fin, v, 0.0)
    by_sign = np.where(vf > 0, np.inf, np.where(vf < 0, -np.inf, 0.0))
    ratio = np.where(w > 0, vf / np.where(w > 0, w, 1.0), by_sign)
    return np.where(fin, ratio, -np.inf)


def scan_order(v: np.ndarray, w: np.ndarray, block: np.ndarray) -> np.ndarray:
    """The positions sorted by block, then v_r / w_r descending (ties keep index order)."""
    return np.lexsort((-scan_ratio(v, w), block))


def segment_cumsum(values: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """The running sum of ``values`` restarted wherever ``segment`` (non-decreasing ids, or
    any ids whose equal values are contiguous) changes. Accumulated within each segment:
    a difference of running sums over the whole array loses the digits of the earlier
    segments (1e6 regions: a chain dual off by 4e-6 relative, a certificate refused)."""
    return pd.Series(values).groupby(segment, sort=False).cumsum().to_numpy()


def block_prefixes(v: np.ndarray, w: np.ndarray, block: np.ndarray,
                   order: np.ndarray | None = None) -> BlockPrefixes:
    """The prefix sums of v and w within each block along ``order`` (default
    ``scan_order``). A caller that knows the order already (it does not depend on a
    multiplier being searched) passes it: it must sort by block and put the v_r = -inf
    regions last in their block."""
    if order is None:
        order = scan_order(v, w, block)
    fin = np.isfinite(v)
    vs, ws, bs = np.where(fin, v, 0.0)[order], w[order], block[order]
    value, weight = segment_cumsum(vs, bs), segment_cumsum(ws, bs)
    return BlockPrefixes(order, bs, value, weight, fin[order])


def best_per_block(gain: np.ndarray, block_sorted: np.ndarray, n_blocks: int) -> np.ndarray:
    """max(0, the largest gain of each block's prefixes) (0: the empty set U). Blocks are
    numbered 0 .. n_blocks - 1, every id present, ``block_sorted`` non-decreasing."""
    best = np.zeros(n_blocks)
    if gain.size:
        starts = np.flatnonzero(np.concatenate([[True], block_sorted[1:] != block_sorted[:-1]]))
        best[block_sorted[starts]] = np.maximum(np.maximum.reduceat(gain, starts), 0.0)
    return best


def best_prefix_end(gain: np.ndarray, block_sorted: np.ndarray, n_blocks: int) -> np.ndarray:
    """The sorted position where each block's best prefix ends (the first of equal
    maxima), -1 when no prefix beats the empty set (gain <= 0)."""
    arg = np.full(n_blocks, -1)
    key = np.lexsort((-gain, block_sorted))
    top = key[np.concatenate([[True], block_sorted[key][1:] != block_sorted[key][:-1]])]
    positive = gain[top] > 0
    arg[block_sorted[top][positive]] = top[positive]
    return arg
