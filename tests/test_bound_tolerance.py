"""The KKT certificates' "at a bound" test (optimizer/core/levels.py ``bound_tolerance``) on
the one-region-takes-all round of tests/test_price_one_region_takes_all.py, in solver units:
A need 1, level 1 at its lower bound 1; B need 1e-12, level 0.7 strictly inside [0.5, inf);
population shares 1e-3 and 0.999. B interior fixes the budget price by hand:

- cvar (alpha = 0.1: Q = -(1/alpha) Lorenz(0.1), B alone in the worst 10%): the value moves
  by dL_B = dC / n_B, so lam_B = 1 / n_B = 1e12;
- min P(L) - lam w.L (P = sum_{i<j} w_i w_j |L_i - L_j|, the Gini certificate's form):
  dP/dL_B = -w_A w_B, so stationarity -w_A w_B - lam w_B + lam_B n_B = 0 gives
  lam_B = w_B (w_A + lam) / n_B.

Counted at its bound (the old tolerance 1e-9 / n_B = 1000 in level), B's condition (2)
dropped and every lam_B above the true one passed: given a hint 10x too high, both
certificates kept it. Now the hint fails and the bisection finds the derivative."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.core.levels import bound_tolerance
from optimizer.fast.chain_certificates import gini_bare_certificate
from optimizer.fast.cut_certificate import cut_certificate
from optimizer.fast.decompose import CutFunction

LEVEL = np.array([1.0, 0.7])
W = np.array([1e-3, 0.999])
NEED = np.array([1.0, 1e-12])
LO = np.array([1.0, 0.5])
HI = np.array([np.inf, np.inf])
MONEY = np.array([1.0, 0.7e-12])     # |own| + |T|: A own 1, T 0; B own 0.5e-12, T 0.2e-12


def test_tolerance_scales_with_the_money_behind_the_level_not_one_over_need():
    tol = bound_tolerance(LEVEL, NEED, MONEY)
    assert tol[1] == pytest.approx(1e-9) and LEVEL[1] > LO[1] + tol[1]
    assert np.array_equal(bound_tolerance(LEVEL, NEED), 1e-9 * np.ones(2))
    # own 1e9 cancelled by a transfer of -1e9 + 1: the level 1 rounds by ~1e-7, which money sees
    assert bound_tolerance(np.array([1.0]), np.array([1.0]), np.array([2e9]))[0] == pytest.approx(2.0)


@pytest.mark.parametrize("money", [MONEY, None])
def test_cut_certificate_finds_the_derivative_not_the_hint(money):
    cut = CutFunction.lorenz(1.0, np.array([0.1]), np.array([10.0]))
    cert = cut_certificate(LEVEL, W, NEED, LO, HI, True, np.zeros(2), cut, lam_b_hint=1e13, money=money)
    assert cert.ok
    assert cert.lam_b == pytest.approx(1e12, rel=1e-6)


@pytest.mark.parametrize("money", [MONEY, None])
def test_gini_certificate_finds_the_derivative_not_the_hint(money):
    lam = 0.01
    true = W[1] * (W[0] + lam) / NEED[1]
    ok, _, _, lam_b, _ = gini_bare_certificate(LEVEL, W, NEED, LO, HI, True, lam, 10 * true,
                                               np.array([1, 0]), 1e-9, money=money)
    assert ok
    assert lam_b == pytest.approx(true, rel=1e-6)
