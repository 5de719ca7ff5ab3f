"""The group-floor segments' cut check (optimizer/fast/group_cuts.py): ``violated`` checks
every segment in one vectorised pass and ``tangents`` reads every point's piece at once;
they must return exactly the cuts, in the same order,
as the per-segment definition (the loop below: each segment's argument z or its first top
linked member, F_s there by ``piece``, new tangents where e_s falls short). Random segments
(ties in M, empty segments, fixed ones without z, several members per group) and random
points, including points on the breakpoints and ties between members."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from models.lp import LinearProgram
from optimizer.fast.group_cuts import NEAR, piece, segments, violated, with_cuts


def reference_tangents(red, s: int, e: int, var: int, t: float) -> list:
    """The tangents at t and its NEAR breakpoints on either side, one ``piece`` at a time."""
    j = int(np.searchsorted(red.seg_M[s], t))
    points = [t, *red.seg_M[s][max(0, j - NEAR):j + NEAR]]
    return [(e, var, g, c) for g, c in {piece(red, s, float(p))[1:] for p in points}]


def reference(red, x: np.ndarray, have: set) -> list:
    """The per-segment definition (the loop ``violated`` replaced)."""
    m = red.members.shape[0]
    out = []
    for s in range(len(red.seg_regions)):
        if red.seg_regions[s].shape[0] == 0:
            continue
        if not red.has_z[s] and not red.links[s].shape[0]:
            continue
        var = 0
        if red.links[s].shape[0]:
            best = int(red.links[s][np.argmax(x[1 + red.links[s]])])
            var = 1 + best if x[1 + best] > x[0] or not red.has_z[s] else 0
        val = piece(red, s, float(x[var]))[0]
        e = 1 + m + s
        if x[e] < val - red.cut_tol * max(1.0, abs(val)):
            out += [cut for cut in reference_tangents(red, s, e, var, float(x[var])) if cut[:3] not in have]
    return out


def random_segments(rng: np.random.Generator):
    n = int(rng.integers(3, 60))
    group = rng.integers(0, int(rng.integers(1, n + 1)), n)
    M = rng.choice(rng.uniform(0.2, 1.5, max(1, n // 3)), n) if rng.random() < 0.5 else rng.uniform(0.2, 1.5, n)
    need = rng.uniform(1.0, 100.0, n)
    members = rng.choice(n, int(rng.integers(1, max(2, n // 3))), replace=False)
    free = rng.random(n) < 0.7 if rng.random() < 0.6 else np.ones(n, dtype=bool)
    return segments(group, M, need, members, bool(rng.random() < 0.8), free), M


def random_point(rng: np.random.Generator, red, M: np.ndarray) -> np.ndarray:
    m, k = red.members.shape[0], len(red.seg_regions)
    pool = np.r_[M, rng.uniform(0.0, 1.8, 5)]          # on breakpoints or between them
    x = np.r_[rng.choice(pool), rng.choice(pool, m), np.zeros(k)]
    for s in range(k):        # e_s near F_s at a random argument: some met, some short
        t = float(rng.choice(pool))
        x[1 + m + s] = piece(red, s, t)[0] * rng.choice([0.9, 1.0, 1.1]) if red.seg_M[s].shape[0] else 0.0
    return x


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**9))
def test_violated_equals_the_per_segment_check(seed):
    rng = np.random.default_rng(seed)
    red, M = random_segments(rng)
    have: set = set()
    for _ in range(3):                 # the index built on the first call is reused after
        x = random_point(rng, red, M)
        got = violated(red, x, have)
        assert got == reference(red, x, have)
        have |= {cut[:3] for cut in got[: len(got) // 2]}


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**9))
def test_cuts_added_round_by_round_give_the_same_lp(seed):
    """cut_loop extends the previous round's LP by the new cuts: the same LP (rows, order,
    values) as all the cuts on the small LP at once."""
    rng = np.random.default_rng(seed)
    nc, nr = int(rng.integers(2, 8)), int(rng.integers(1, 6))
    small = LinearProgram(cost=rng.normal(size=nc), col_lower=np.zeros(nc), col_upper=np.full(nc, 5.0),
                          A=sp.csc_array(rng.normal(size=(nr, nc)) * (rng.random((nr, nc)) < 0.6)),
                          row_lower=np.full(nr, -1.0), row_upper=np.full(nr, 1.0))
    cut = lambda: (int(rng.integers(0, nc)), int(rng.integers(0, nc)), float(rng.normal()), float(rng.normal()))
    rounds = [[cut() for _ in range(int(rng.integers(0, 5)))] for _ in range(int(rng.integers(1, 5)))]
    step = small
    for new in rounds:
        step = with_cuts(step, new)
    once = with_cuts(small, [c for new in rounds for c in new])
    assert (abs(step.A - once.A)).sum() == 0 and step.A.shape == once.A.shape
    for a, b in ((step.row_lower, once.row_lower), (step.row_upper, once.row_upper), (step.cost, once.cost)):
        assert np.array_equal(a, b)
