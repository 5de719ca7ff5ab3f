"""Range maxima of one array over many windows: (leftmost argmax, max) of h over [lo_j, hi_j].

The layered oracle of optimizer/fast/policy_mean.py asks it once per call, ~36,000 windows
over ~1e5 groups at 1e5 regions (most of them tens of thousands long), 40-60 calls per price
of fairness with group rows. A sparse table costs log2(m) passes over h per call; blocks cost
a few: h is cut into blocks of BLOCK entries, and a window that spans blocks is its first
block's suffix, the whole blocks between (a sparse table over the m / BLOCK block maxima) and
its last block's prefix. Windows inside one block (rare: short ones) are read directly.

Ties: the answer is the leftmost position of the maximum, as the sparse table's (which keeps
the left one on ties): each part gives its leftmost maximum, and a later part replaces an
earlier one only when strictly greater. So the answers are the sparse table's, to the bit
(tests/test_range_max.py keeps the sparse table as the oracle).
"""

from __future__ import annotations

import numpy as np

BLOCK = 64


def _prefix(H: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position (H: one block per column, so each accumulate runs across all blocks at
    once), the max of its block up to it and its leftmost position (a new maximum starts
    where the running max rises)."""
    run = np.maximum.accumulate(H, axis=0)
    new = np.ones(H.shape, dtype=bool)
    new[1:] = run[1:] > run[:-1]
    return run, np.maximum.accumulate(np.where(new, idx, 0), axis=0)


def _suffix(H: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Per position, the leftmost position of the max of its block from it on: the first
    position at or after it that is at least everything after it in the block."""
    run = np.maximum.accumulate(H[::-1], axis=0)[::-1]
    record = np.ones(H.shape, dtype=bool)
    record[:-1] = H[:-1] >= run[1:]
    big = np.iinfo(np.int64).max
    return np.minimum.accumulate(np.where(record, idx, big)[::-1], axis=0)[::-1]


def _table_max(value: np.ndarray, arg: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The leftmost argmax (an entry of ``arg``) of ``value`` over [lo, hi], lo <= hi: a
    sparse table (ties keep the left entry)."""
    levels, vals = [np.arange(value.shape[0])], [value]
    k = 1
    while 2 * k <= value.shape[0]:
        prev, pv = levels[-1], vals[-1]
        left = pv[:-k] >= pv[k:]
        levels.append(np.where(left, prev[:-k], prev[k:]))
        vals.append(np.where(left, pv[:-k], pv[k:]))
        k *= 2
    out = np.zeros(lo.shape[0], dtype=np.int64)
    lvl = np.floor(np.log2(hi - lo + 1)).astype(np.int64)
    for j in range(int(lvl.max()) + 1):
        q = lvl == j
        a, b = levels[j][lo[q]], levels[j][hi[q] - (1 << j) + 1]
        out[q] = np.where(value[a] >= value[b], a, b)
    return arg[out]


def range_max(h: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(leftmost argmax, max) of h over [lo_j, hi_j] per query (where empty: -inf, and lo_j
    clipped to h as the argmax, as the sparse table gives)."""
    m = h.shape[0]
    empty = hi < lo
    out = np.clip(lo, 0, m - 1).astype(np.int64)
    full = ~empty
    if not full.any():
        return out, np.full(lo.shape[0], -np.inf)
    nb = -(-m // BLOCK)
    flat = np.full(nb * BLOCK, -np.inf)
    flat[:m] = h
    H = np.ascontiguousarray(flat.reshape(nb, BLOCK).T)          # block b is column b
    idx = np.ascontiguousarray(np.arange(nb * BLOCK, dtype=np.int64).reshape(nb, BLOCK).T)
    run, parg = _prefix(H, idx)
    sarg = _suffix(H, idx).T.ravel()                             # back to position order
    top_arg = parg[-1]
    parg = parg.T.ravel()
    left, r = np.clip(lo[full], 0, m - 1), np.clip(hi[full], 0, m - 1)
    bl, br = left // BLOCK, r // BLOCK
    ans = np.zeros(left.shape[0], dtype=np.int64)
    same = bl == br
    if same.any():      # short windows: read every entry (masked past the window's end)
        ls, rs = left[same], r[same]
        at = ls[:, None] + np.arange(BLOCK)[None, :]
        vals = np.where(at <= rs[:, None], flat[np.minimum(at, nb * BLOCK - 1)], -np.inf)
        ans[same] = ls + np.argmax(vals, axis=1)
    cross = ~same
    if cross.any():
        lc, rc, blc, brc = left[cross], r[cross], bl[cross], br[cross]
        best = sarg[lc]
        mid = brc - blc > 1
        if mid.any():      # the whole blocks between: their maxima in a sparse table
            inner = _table_max(run[-1], top_arg, blc[mid] + 1, brc[mid] - 1)
            best[mid] = np.where(h[inner] > h[best[mid]], inner, best[mid])
        right = parg[rc]
        best = np.where(h[right] > h[best], right, best)
        ans[cross] = best
    out[full] = ans
    return out, np.where(empty, -np.inf, h[out])
