"""How far any optimum of an LP can sit from a bound whose certified dual is non-zero
(approximate complementary slackness): the quantitative form that makes a dual read within a
tolerance into a proof.

For  min c'x  s.t.  L <= Ax <= U,  l <= x <= u,  a dual y and d = c - A'y, take for every row the
bound its dual's sign selects (b_i = L_i for y_i > 0, U_i for y_i < 0; columns alike with d_j) and
s_i(x') >= 0 the slack of a feasible x' to it. For every x' (an identity):

    c'x' = y'Ax' + d'x' = D + sum_i |y_i| s_i(x') + sum_j |d_j| s_j(x') + W(x'),

D = sum y_i b_i + sum d_j b_j over the entries whose selected bound is finite; W collects the
"wrong-sign" entries (a dual whose selected bound is infinite): y_i (Ax')_i written around the
certified point x as y_i (Ax)_i + y_i (A(x'-x))_i, so D takes y_i (Ax)_i and
|W| <= move(v), v = sum_i |y_i| |A_i| + |d_j| over those entries, where move(v) bounds
sum_j v_j |x'_j - x_j| over every optimum x' (``Box``: per column a half-width w_j, and for a
set J of columns with finite lower bounds l_j and positive coefficients a_j in one row
sum_J a_j x_j <= U (the budget) the joint bound sum_J v_j |x'_j - x_j| <=
max_J (v_j / a_j) (U - sum_J a_j l_j) + sum_J v_j |x_j - l_j|: a box of half-width "the whole
spare budget" for every transfer would count that budget n times). At the certified point itself the same identity reads
c'x - D = P - N with P = sum |y| s^+(x) (complementary-slackness residual) and N = sum |y| s^-(x)
(x's violations weighted by the duals). An optimum x' has c'x' = OPT <= c'x + N (x relaxed by its
violations is feasible for the LP relaxed by them, whose optimum moves by the duals times the
relaxation: first order, y standing for the optimal dual it is certified to be within the
tolerance of). Hence, for EVERY optimum x',

    sum_i |y_i| s_i(x') + sum_j |d_j| s_j(x') <= eps := P + |W| + R,

R the float rounding: the computed d (summed in extended precision, unit u) is the exact
reduced cost of the cost c - e with |e_j| <= (nnz_j + 1) u m_j,
m_j = |c_j| + (|A|'|y|)_j, and the bound above, written for that cost, gains
e'(x - x') <= move(|e|); each slack (activity summed in extended precision) is off by at most
(nnz_i + 2) u (|A_i||x| + |b_i|) (x, A and b are float64, exact in extended precision), which
P gains times |y_i|; the weights handed back, rounded to float64, are shrunk by 8 units of 2^-53.
In particular a single bound with dual |y_i| is within eps / |y_i| of being tight in every
optimum, and a set S of bounds has total slack <= eps / min_S |y|: the rule "fix only where
eps / (dual in level units) <= the level tolerance" is a proof, where "y != 0" is one only for an
exactly optimal dual (a 5e-16 hold-harmless dual, noise on a certified pair, once fixed three
regions up to 0.06 below their leximin level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.lp import LinearProgram

ULP = 2.0 ** -52


@dataclass(frozen=True)
class SlackBound:
    """eps, and per row / column the weight |y_i| (|d_j|) whose slack eps bounds (0 where the
    dual's bound is infinite: those are in W)."""
    eps: float
    row_weight: np.ndarray
    col_weight: np.ndarray


@dataclass(frozen=True)
class Box:
    """Where every optimum x' lies around the certified point x: |x'_j - x_j| <= w_j for the
    columns outside ``joint``; for those in it, sum a_j (x'_j - l_j) <= spare with x'_j >= l_j."""
    w: np.ndarray
    joint: np.ndarray          # column indices
    a: np.ndarray
    lower: np.ndarray
    spare: float

    def move(self, v: np.ndarray, x: np.ndarray) -> float:
        """An upper bound on sum_j v_j |x'_j - x_j| (v >= 0) over every optimum x'."""
        rest = np.ones(v.shape[0], dtype=bool)
        rest[self.joint] = False
        vr = v[rest]
        out = float(np.sum(vr[vr > 0] * self.w[rest][vr > 0]))     # 0 * inf (an unused infinite side) is 0
        if self.joint.shape[0]:
            vj = v[self.joint]
            out += float(np.max(vj / self.a)) * self.spare + float(vj @ np.abs(x[self.joint] - self.lower))
        return out


def slack_bound(lp: LinearProgram, x: np.ndarray, y: np.ndarray, box: Box) -> SlackBound:
    """The bound of the module docstring for the pair (x, y) (y in HiGHS's convention, as
    certify takes it) with every optimum inside ``box``. The row activities and reduced costs
    are summed in extended precision (numpy's longdouble, 2^-63 on x86; the chain's duals are
    running sums of need, so its reduced costs are differences of terms 1e5 times their size)."""
    sign = -1.0 if lp.maximize else 1.0
    c, yy = sign * lp.cost, sign * y
    A = lp.A.astype(np.longdouble)
    ax = A @ x.astype(np.longdouble)
    d = c - A.T @ yy.astype(np.longdouble)
    absA = abs(lp.A)
    row_pos, row_wrong = sides(yy, ax, lp.row_lower, lp.row_upper)
    col_pos, col_wrong = sides(d, x, lp.col_lower, lp.col_upper)
    d = d.astype(float)
    m = np.abs(c) + absA.T @ np.abs(yy)
    unit = np.finfo(np.longdouble).eps
    e = (np.diff(lp.A.tocsc().indptr) + 1.0) * unit * m      # d's error (docstring)
    v = e + np.where(col_wrong, np.abs(d), 0.0) + absA.T @ np.where(row_wrong, np.abs(yy), 0.0)
    bound = np.where(yy > 0, lp.row_lower, lp.row_upper)
    size = absA @ np.abs(x) + np.abs(np.where(np.isfinite(bound), bound, 0.0))
    rounding = float(np.abs(yy) @ ((np.diff(lp.A.tocsr().indptr) + 2.0) * unit * size))
    eps = row_pos + col_pos + box.move(v, x) + rounding
    # the weights rounded down (d to float64 and the sums above: a few units of 2^-53 each)
    shrink = 1.0 - 8 * ULP
    return SlackBound(eps * (1.0 + 8 * ULP), shrink * np.where(row_wrong, 0.0, np.abs(yy)),
                      shrink * np.where(col_wrong, 0.0, np.abs(d)))


def sides(dual: np.ndarray, act: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[float, np.ndarray]:
    """(P's share: sum |dual| * positive slack to the selected bound, where that bound is infinite)."""
    pos, neg = dual > 0, dual < 0
    wrong = (pos & ~np.isfinite(lower)) | (neg & ~np.isfinite(upper))
    slack = np.zeros_like(act)
    good_lo, good_up = pos & ~wrong, neg & ~wrong
    slack[good_lo] = act[good_lo] - lower[good_lo]
    slack[good_up] = upper[good_up] - act[good_up]
    return float(np.abs(dual) @ np.maximum(slack, 0.0)), wrong
