"""The optimality certificate every closed form relies on (optimizer/fast/certify.py),
checked on LPs small enough to solve by hand.

An infinite bound is never active: before this was enforced, |x - inf| <= tol * inf held,
so a wrong reduced cost on a column with no upper bound passed, and min-mad's search
reported a budget price of 0 where the LP's is -2.36e-6 per KRW billion (korea-17)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import optimizer.fast.certify as certify_module
from models.lp import LinearProgram
from optimizer.fast.certify import certify

INF = np.inf


def lp_max_x_plus_y(row_upper: float = 1.0) -> LinearProgram:
    """max x + 2y  s.t.  x + y <= row_upper,  x, y >= 0 (no upper bounds): optimum y = row_upper,
    x = 0, the row's dual 2 (HiGHS's sign for a max problem), reduced costs (x: -1, y: 0)."""
    return LinearProgram(cost=np.array([1.0, 2.0]), col_lower=np.zeros(2), col_upper=np.full(2, INF),
                         A=sp.csc_array(np.array([[1.0, 1.0]])), row_lower=np.array([-INF]),
                         row_upper=np.array([row_upper]), maximize=True)


def test_the_hand_solved_optimum_is_certified() -> None:
    cert = certify(lp_max_x_plus_y(), np.array([0.0, 1.0]), np.array([2.0]))
    assert cert.ok and cert.primal_violation == 0 and cert.dual_violation == pytest.approx(0, abs=1e-15)


@pytest.mark.parametrize("y", [0.0, 1.0, 1.5])
def test_a_dual_too_small_is_rejected_although_no_upper_bound_is_finite(y: float) -> None:
    # with the row dual below 2, y's reduced cost says 'raise y'; y has no finite upper bound,
    # so the pair is not optimal
    cert = certify(lp_max_x_plus_y(), np.array([0.0, 1.0]), np.array([y]))
    # the violation is relative to the largest cost (2)
    assert not cert.ok and cert.dual_violation == pytest.approx((2.0 - y) / 2.0)


def test_a_row_dual_on_an_infinite_side_is_rejected() -> None:
    # the row is x + y <= 1 only; a dual of the wrong sign claims its (infinite) lower side binds
    cert = certify(lp_max_x_plus_y(), np.array([0.0, 1.0]), np.array([-2.0]))
    assert not cert.ok


def test_a_suboptimal_primal_is_rejected() -> None:
    assert not certify(lp_max_x_plus_y(), np.array([1.0, 0.0]), np.array([2.0])).ok


def long_chain(n: int, seed: int = 0) -> tuple[LinearProgram, np.ndarray, np.ndarray]:
    """min sum T  s.t.  L_i <= L_{i+1} (rows T_i/n_i - T_{i+1}/n_{i+1} <= o_{i+1}/n_{i+1} - o_i/n_i),
    T_i >= lo_i, with region 0 held at level 1 by its bound and every other region's bound below
    it: the least point puts every level at 1, and each region's unit of level (cost n_i) flows
    down the chain to region 0, so row i's dual is -(n_{i+1} + ... + n_{n-1}) -- the
    least-spending certificate of optimizer/fast/policy_path.py on one block."""
    rng = np.random.default_rng(seed)
    need = np.exp(rng.uniform(np.log(1e-5), np.log(10.0), n))
    own = need * rng.uniform(0.2, 0.9, n)
    lo = np.maximum(0.0, 0.5 * need - own)
    lo[0] = need[0] - own[0]
    rows = np.repeat(np.arange(n - 1), 2)
    cols = np.c_[np.arange(n - 1), np.arange(1, n)].ravel()
    vals = np.c_[1 / need[:-1], -1 / need[1:]].ravel()
    lp = LinearProgram(cost=np.ones(n), col_lower=lo, col_upper=np.full(n, INF),
                       A=sp.csc_array((vals, (rows, cols)), shape=(n - 1, n)), row_lower=np.full(n - 1, -INF),
                       row_upper=own[1:] / need[1:] - own[:-1] / need[:-1], maximize=False)
    return lp, need - own, -np.cumsum(need[::-1])[::-1][1:]


def test_long_chain_duals_pass_by_the_relative_tolerance_and_would_fail_the_absolute(monkeypatch) -> None:
    lp, x, y = long_chain(300_000)
    assert certify(lp, x, y).ok
    # the absolute test alone: the float64 rounding of sum(need)/need_i-sized terms fails it
    monkeypatch.setattr(certify_module, "RELATIVE", 0.0)
    absolute = certify(lp, x, y)
    assert not absolute.ok and absolute.dual_violation > 1e-7


@pytest.mark.parametrize("where", [1, 150_000, 299_997])
def test_a_genuinely_wrong_chain_dual_still_fails(where: int) -> None:
    lp, x, y = long_chain(300_000)
    wrong = y.copy()
    wrong[where] *= 1 + 1e-6            # a flow off by one part in a million: not rounding
    assert not certify(lp, x, wrong).ok
    short = y.copy()
    short[:where] += 1e-3 * lp.cost[0]  # one region's demand (need 1e-3 or more) not carried down
    assert not certify(lp, x, short).ok
