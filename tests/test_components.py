"""Two numeric primitives that replaced slower ones, each against the one it replaced:
component_labels (optimizer/core/components.py) = scipy's connected components, up to the
numbering, on random graphs (hypothesis) and on the shapes the group leximin meets (chains of
no-overtaking pairs, stars, self-loops, repeated edges, no edge at all); exact_sum
(optimizer/core/sums.py) = math.fsum bit for bit, errors included."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from optimizer.core.components import component_labels
from optimizer.core.sums import exact_sum


def scipy_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = sp.coo_array((np.ones(a.size), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def same_partition(x: np.ndarray, y: np.ndarray) -> bool:
    """x and y name the same components: equal labels in one iff equal in the other."""
    pairs = np.unique(np.stack([x, y]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))


def check(n: int, a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    got = component_labels(n, a, b)
    assert same_partition(got, scipy_labels(n, a, b))
    assert np.all(got <= np.arange(n)) and np.all(got[got] == got)   # each named by its smallest node
    return got


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 60).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n))))
def test_random_graphs_match_scipy(case):
    n, edges = case
    a, b = (np.array(e, dtype=np.int64) for e in zip(*edges)) if edges else (np.zeros(0), np.zeros(0))
    check(n, a, b)


def test_known_shapes():
    assert check(5, [], []).tolist() == [0, 1, 2, 3, 4]
    assert check(4, [1, 1, 3], [1, 1, 2]).tolist() == [0, 1, 2, 2]          # self-loop, repeats
    assert check(6, [5, 4, 3, 2, 1], [4, 3, 2, 1, 0]).tolist() == [0] * 6   # one chain, descending
    assert check(6, [0, 0, 0], [5, 3, 4]).tolist() == [0, 1, 2, 0, 0, 0]   # a star


def test_large_chains_and_random_permutations():
    rng = np.random.default_rng(7)
    n = 200_000
    perm = rng.permutation(n)                      # one long path through a random order
    check(n, perm[:-1], perm[1:])
    cut = rng.random(n - 1) < 0.3                  # the path cut at random: many components
    check(n, perm[:-1][~cut], perm[1:][~cut])
    check(n, rng.integers(0, n, n // 2), rng.integers(0, n, n // 2))


def outcome(f, x):
    """The sum's bits, or the error fsum raises (overflow, inf - inf): both must agree."""
    try:
        return f(x).hex()
    except (OverflowError, ValueError) as exc:
        return type(exc).__name__


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, width=64), max_size=200), st.integers(1, 3))
def test_exact_sum_is_fsum(values, step):
    x = np.array(values, dtype=float)[::step]          # strided views too
    assert outcome(exact_sum, x) == outcome(math.fsum, x)
    with np.errstate(over="ignore"):
        x32 = x.astype(np.float32)
    assert outcome(exact_sum, x32) == outcome(math.fsum, x32)


def test_exact_sum_shapes_and_non_finite():
    assert exact_sum(np.zeros(0)) == 0.0 and exact_sum(np.arange(5)) == 10.0
    assert exact_sum(np.array([1e16, 1.0, -1e16])) == 1.0               # exact, where np.sum says 0.0
    assert math.isnan(exact_sum(np.array([1.0, np.nan])))
    assert exact_sum(np.array([np.inf, 1.0])) == np.inf
