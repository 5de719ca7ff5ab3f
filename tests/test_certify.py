"""The optimality certificate every closed form relies on (optimizer/fast/certify.py),
checked on LPs small enough to solve by hand.

An infinite bound is never active: before this was enforced, |x - inf| <= tol * inf held,
so a wrong reduced cost on a column with no upper bound passed, and min-mad's search
reported a budget price of 0 where the LP's is -2.36e-6 per KRW billion (korea-17)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

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
