"""The approximate complementary-slackness bound (optimizer/fast/slack_bound.py) that decides
which regions a group leximin stage may fix: on hand-solved LPs, every optimum's weighted
slack is within eps, a true anchor's weight is far above eps / LEVEL_TOL, and a noise dual
(the 5e-16 duals the pinned hypothesis example read as proof) is far below it."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.lp import LinearProgram
from optimizer.fast.certify import certify
from optimizer.fast.group_leximin import LEVEL_TOL
from optimizer.fast.slack_bound import Box, slack_bound

INF = np.inf


def face_lp() -> LinearProgram:
    """max z  s.t.  L1 = t1 >= z, L2 = 1 + t2 >= z, t1 + t2 <= 3, 0 <= t1 <= 1, t2 >= 0.
    z* = 1 (t1 at its bound); the optimal face is t1 = 1, t2 in [0, 2]; the optimal dual puts
    1 on row 1 and on t1's upper bound, 0 on row 2 and on the budget."""
    A = sp.csc_array(np.array([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0], [1.0, 1.0, 0.0]]))
    return LinearProgram(cost=np.array([0.0, 0.0, 1.0]), col_lower=np.array([0.0, 0.0, -INF]),
                         col_upper=np.array([1.0, INF, INF]), A=A, row_lower=np.array([0.0, -1.0, -INF]),
                         row_upper=np.array([INF, INF, 3.0]), maximize=True)


def box() -> Box:
    """t within the budget (t >= 0, t1 + t2 <= 3), z within 1 of the point's."""
    return Box(np.array([INF, INF, 1.0]), np.array([0, 1]), np.array([1.0, 1.0]), np.array([0.0, 0.0]), 3.0)


def weighted_slack(lp: LinearProgram, x: np.ndarray, sb) -> float:
    ax = lp.A @ x
    rows = np.minimum(np.nan_to_num(ax - lp.row_lower, posinf=0.0), np.nan_to_num(lp.row_upper - ax, posinf=0.0))
    cols = np.minimum(np.nan_to_num(x - lp.col_lower, posinf=0.0), np.nan_to_num(lp.col_upper - x, posinf=0.0))
    return float(sb.row_weight @ np.abs(rows) + sb.col_weight @ np.abs(cols))


def test_exact_dual_fixes_the_anchor_only():
    lp = face_lp()
    x = np.array([1.0, 1.0, 1.0])
    y = np.array([-1.0, 0.0, 0.0])          # HiGHS's convention for a max problem (certify's)
    assert certify(lp, x, y).ok
    sb = slack_bound(lp, x, y, box())
    assert sb.eps < 1e-14
    assert sb.row_weight[0] >= sb.eps / LEVEL_TOL and sb.col_weight[0] >= sb.eps / LEVEL_TOL
    assert sb.row_weight[1] == 0.0 and sb.row_weight[2] == 0.0
    for t2 in (0.0, 1.0, 2.0):               # the optimal face: every optimum within eps
        assert weighted_slack(lp, np.array([1.0, t2, 1.0]), sb) <= sb.eps


def test_noise_duals_prove_nothing():
    """Duals of 5e-16 on row 2 and the budget (noise a certificate accepts) get weights far
    below eps / LEVEL_TOL: row 2 is slack by up to 2 on the optimal face, so a rule that read
    them as non-zero would fix region 2 wrongly."""
    lp = face_lp()
    x = np.array([1.0, 1.0, 1.0])
    y = np.array([-1.0, -5e-16, 5e-16])
    assert certify(lp, x, y).ok
    sb = slack_bound(lp, x, y, box())
    assert sb.row_weight[1] > 0.0 and sb.row_weight[1] < sb.eps / LEVEL_TOL
    assert sb.row_weight[0] >= sb.eps / LEVEL_TOL
    for t2 in (0.0, 1.0, 2.0):
        assert weighted_slack(lp, np.array([1.0, t2, 1.0]), sb) <= sb.eps
