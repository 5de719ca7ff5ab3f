"""log-welfare exactly on the bare core: the KKT water-filling, certified by weak duality.

On the bare core (budget, hard thresholds, transfer bounds; no policy rows) the exact
concave program of record

    max  sum_r w_r ln L_r,   L_r = (o_r + T_r) / N_r
    s.t. sum_r T_r <= B,   c_r <= T_r <= u_r,   c_r = max(t_min_r, theta_r N_r - o_r), u_r = t_max_r

is solved by its KKT conditions. In money x_r = o_r + T_r, with a_r = o_r + c_r and
b_r = o_r + u_r, stationarity w_r / x_r - lambda + (bound multipliers) = 0 gives

    x_r(lambda) = clip(w_r / lambda, a_r, b_r),   lambda >= 0,   lambda (B - sum_r T_r) = 0.

sum_r x_r(lambda) is continuous and non-increasing in lambda with breakpoints w_r / b_r (a
region leaves its cap) and w_r / a_r (it reaches its floor): sort them once, evaluate the
spending at every breakpoint by prefix sums, and solve lambda = W / (S - C) on the segment
that brackets S = B + sum_r o_r (W the weight of the regions strictly inside their box, C
what the others hold): O(n log n), vectorised. If every region fits under its cap
(sum_r b_r <= S) the budget does not bind: lambda = 0, x = b (a region of weight 0 keeps
its least transfer: the least spending among optima).

The answer is accepted only with its certificate, computed afresh from the data: primal
feasibility, and the Lagrangian bound of weak duality, for this lambda >= 0,

    D(lambda) = lambda S + sum_r max_{a_r <= x <= b_r} (w_r ln(x / N_r) - lambda x)
              >= the optimum >= sum_r w_r ln L_r(T),

closing to within a tolerance; the KKT residuals (complementary slackness, stationarity)
are reported beside it. ln is strictly concave, so the levels of positive-weight regions
are unique.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from models.data import RegionData
from optimizer.core.levels import least_transfer, level_of
from optimizer.core.solution import LPSolution, Run

GAP_TOL = 1e-9        # duality gap accepted, relative to max(1, |welfare|)
PRIMAL_TOL = 1e-9     # bound and budget violations accepted, relative to the money in play
LAYOUT_KEYS = ("transfer", "rows:budget", "rows:threshold")
# A weighted region that may end at level 0 (own revenue 0, threshold 0), inside its box, with
# money at the optimum below NOISE x the money in play (budget + own revenue), has a level made
# of rounding error: at a budget that only just covers the thresholds it gets w / lambda ~ 1e-16,
# whose ln is -37 where the reported transfer (cleaned to 12 digits) gives ln 0. The exact
# program's value is then float noise, so the path declines and the tangent LP answers
# (tests/test_hunt_fast_paths.py). A region held at a tiny cap keeps its exact, data-set level.
NOISE = 1e-12


@dataclass(frozen=True)
class LogWelfarePoint:
    """The KKT point of the bare core (solver units) and its certificate."""
    transfer: np.ndarray
    price: float                  # lambda: d welfare / d budget (per solver money unit)
    welfare: float                # sum_r w_r ln L_r at ``transfer``
    bound: float                  # D(price), the weak-duality upper bound on the optimum
    primal_violation: float       # relative
    complementarity: float        # lambda (B - sum T) / max(1, |welfare|)
    stationarity: float           # largest relative violation of the sign conditions
    ok: bool

    @property
    def gap(self) -> float:
        return max(0.0, self.bound - self.welfare)


def _box(d: RegionData, hard: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """Least and largest transfers (c, u); None when the box is empty."""
    c = least_transfer(d.threshold, d.own, d.need, d.t_min) if hard else np.asarray(d.t_min, dtype=float)
    u = np.asarray(d.t_max, dtype=float)
    if np.any(c > u + 1e-12 * np.maximum(1.0, np.abs(u))):
        return None
    return np.minimum(c, u), u


def kkt_price(w: np.ndarray, a: np.ndarray, b: np.ndarray, s: float) -> float:
    """The lambda >= 0 with sum_r clip(w_r / lambda, a_r, b_r) = s (0 if sum b <= s).

    Assumes 0 <= a <= b, w >= 0, sum a <= s. Regions with w = 0 or a = b hold a fixed amount."""
    fixed = (w <= 0) | (a >= b)
    s_var = s - float(np.where(w <= 0, a, np.minimum(a, b))[fixed].sum())
    w, a, b = w[~fixed], a[~fixed], b[~fixed]
    if w.size == 0 or float(b.sum()) <= s_var:
        return 0.0
    with np.errstate(divide="ignore", over="ignore"):
        p_hi = w / b               # lambda <= p_hi: at the cap b (0 when b = inf)
        p_lo = w / a               # lambda >= p_lo: at the floor a (inf when a = 0)
    o_hi, o_lo = np.argsort(p_hi), np.argsort(p_lo)
    hi_s, lo_s = p_hi[o_hi], p_lo[o_lo]
    # suffix sums over the capped (p_hi >= v), prefix sums over the floored (p_lo <= v)
    b_suf = np.concatenate([np.cumsum(b[o_hi][::-1])[::-1], [0.0]])
    wb_suf = np.concatenate([np.cumsum(w[o_hi][::-1])[::-1], [0.0]])
    a_pre = np.concatenate([[0.0], np.cumsum(a[o_lo])])
    wa_pre = np.concatenate([[0.0], np.cumsum(w[o_lo])])
    w_all = float(w.sum())

    def parts(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(C, W) at lambda = v: what the clamped regions hold, the weight of the others."""
        i = np.searchsorted(hi_s, v, side="left")     # p_hi >= v from i on
        j = np.searchsorted(lo_s, v, side="right")    # p_lo <= v before j
        return b_suf[i] + a_pre[j], np.maximum(w_all - wb_suf[i] - wa_pre[j], 0.0)

    v = np.unique(np.concatenate([hi_s, lo_s]))
    v = v[np.isfinite(v) & (v > 0)]
    c_v, w_v = parts(v)
    spend = c_v + w_v / v
    k = int(np.searchsorted(-spend, -s_var, side="left"))   # first breakpoint spending <= s
    left = float(v[k - 1]) if k > 0 else 0.0
    right = float(v[k]) if k < v.size else np.inf
    if np.isfinite(right):
        mid = (left + right) / 2
    else:
        mid = 2 * left if left > 0 else 1.0
    c_m, w_m = parts(np.array([mid]))
    c_m, w_m = float(c_m[0]), float(w_m[0])
    if w_m > 0 and s_var > c_m:
        lam = w_m / (s_var - c_m)
    else:       # nobody inside a box on this segment: the spending is flat
        lam = right if np.isfinite(right) else left
    return float(min(max(lam, left), right))


def transfer_space_price(w: np.ndarray, own: np.ndarray, c: np.ndarray, u: np.ndarray, budget: float,
                         lam: float) -> float:
    """lambda of ``kkt_price`` again, from the budget row in transfers: with I the regions
    strictly inside their box at lambda, sum_r T_r = B reads sum_{r in I} (w_r / lambda - o_r)
    + sum_{r not in I} T_r = B, so lambda = W(I) / (B - sum_{r not in I} T_r + o(I)), each
    sum over transfers or the own revenue of I only. ``kkt_price`` works in money
    S = B + sum_r o_r: beside own revenues of 1.3e5 (solver units) a budget of 3e-5 keeps only
    ~6 digits there, so the reported point left 1.6e-7 of the budget unspent and its values at
    B +- 1e-4 B differed by 0.1% less than the price (price seeds 5008, 5096). Kept only if I
    is the same at the new lambda (else the segment's lambda stands)."""
    if lam <= 0:
        return lam

    def inside(v: float) -> np.ndarray:
        x = w / v - own
        return (w > 0) & (x > c) & (x < u)

    ins = inside(lam)
    held = np.where(w > 0, np.clip(w / lam - own, c, u), c)[~ins]
    rest = budget - math.fsum(held) + math.fsum(own[ins])
    if not ins.any() or rest <= 0:
        return lam
    new = math.fsum(w[ins]) / rest
    return new if np.array_equal(inside(new), ins) else lam


def _welfare(w: np.ndarray, x: np.ndarray, need: np.ndarray) -> float:
    pos = w > 0
    return float(np.dot(w[pos], np.log(x[pos] / need[pos])))


def certify_log_welfare(d: RegionData, t: np.ndarray, lam: float, hard: bool = True) -> LogWelfarePoint:
    """Check (t, lam) on the data: feasibility, the weak-duality bound D(lam), the KKT
    residuals. Nothing is taken from the solver but t and lam."""
    w, o, n = d.weight, d.own, d.need
    box = _box(d, hard)
    if box is None or lam < 0 or not np.all(np.isfinite(t)):
        return LogWelfarePoint(t, lam, -np.inf, np.inf, np.inf, np.inf, np.inf, False)
    c, u = box
    money = max(1.0, float(np.abs(o).max(initial=0.0)), abs(d.budget), float(np.abs(t).max(initial=0.0)))
    # the budget row against the budget itself: relative to the largest own revenue, a budget of
    # 5e-324 was overspent by 1e-3 (cancellation in w / lambda - own) and accepted
    primal = max(float(np.max(c - t, initial=0.0)) / money, float(np.max(t - u, initial=0.0)) / money,
                 (float(t.sum()) - d.budget) / max(1.0, abs(d.budget)), 0.0)
    x = o + t
    if np.any((x <= 0) & (w > 0)):
        return LogWelfarePoint(t, lam, -np.inf, np.inf, primal, np.inf, np.inf, False)
    welfare = _welfare(w, x, n)
    a, b = o + c, o + u
    # D(lam): each region's best x in its box against the price lam (weak duality, any lam >= 0)
    xb = np.clip(w / lam, a, b) if lam > 0 else np.where(w > 0, b, a)
    if np.any((xb <= 0) & (w > 0)) or (lam == 0 and np.any(~np.isfinite(b) & (w > 0))):
        return LogWelfarePoint(t, lam, welfare, np.inf, primal, np.inf, np.inf, False)
    s = d.budget + float(o.sum())
    bound = _welfare(w, xb, n) + lam * (s - float(xb.sum()))
    scale = max(1.0, abs(welfare))
    comp = lam * max(0.0, d.budget - float(t.sum())) / scale
    marginal = np.where(w > 0, w / np.where(x > 0, x, 1.0), 0.0)
    g = marginal - lam      # d/dT of the Lagrangian without the bound multipliers
    tol = 1e-9 * np.maximum(np.abs(t), np.maximum(1.0, np.abs(c)))
    at_lo, at_hi = t <= c + tol, np.isfinite(u) & (t >= u - tol)
    # at the floor g <= 0, at the cap g >= 0, inside g = 0 (relative to the larger term)
    bad = np.where(at_lo & at_hi, 0.0, np.where(at_lo, np.maximum(g, 0.0),
                   np.where(at_hi, np.maximum(-g, 0.0), np.abs(g))))
    stat = float((bad / np.maximum(np.maximum(lam, marginal), 1e-300)).max(initial=0.0))
    ok = primal <= PRIMAL_TOL and bound - welfare <= GAP_TOL * scale
    return LogWelfarePoint(t, lam, welfare, bound, primal, comp, stat, bool(ok))


def solve_log_welfare(d: RegionData, hard: bool = True) -> LogWelfarePoint | None:
    """The certified exact optimum of the bare core, or None (infeasible box or budget,
    a zero level forced on a weighted region, or a certificate that does not close)."""
    box = _box(d, hard)
    if box is None:
        return None
    c, u = box
    if float(c.sum()) > d.budget * (1 + 1e-12) + 1e-12:
        return None
    w = np.asarray(d.weight, dtype=float)
    a, b = d.own + c, d.own + u
    if np.any((b <= 0) & (w > 0)):
        return None                         # ln 0: the welfare is -inf whatever is done
    s = d.budget + float(d.own.sum())
    lam = transfer_space_price(w, d.own, c, u, d.budget, kkt_price(w, np.maximum(a, 0.0), b, s))
    if lam > 0:
        t = np.clip(w / lam - d.own, c, u)
        t = np.where(w > 0, t, c)
    else:
        t = np.where(w > 0, u, c)
    if np.any((w > 0) & (a <= 0) & (d.own + t < b) & (d.own + t <= NOISE * max(1.0, s))):
        return None                         # ln of float noise: the LP path answers (below)
    pt = certify_log_welfare(d, t, lam, hard)
    return pt if pt.ok else None


def log_welfare_run(data: RegionData) -> Run | None:
    """The certified exact log-welfare Run on the bare core (hard thresholds), or None.

    Reported as a solution of the core (columns: the transfers; rows: budget, thresholds)
    with the KKT multipliers as duals in HiGHS's convention for a max problem
    (d welfare / d right-hand side): the budget row lambda, a binding threshold row
    (w_r / x_r - lambda) N_r <= 0; the reduced costs w_r / x_r - lambda on the other bounds."""
    t0 = time.perf_counter()
    pt = solve_log_welfare(data, hard=True)
    if pt is None:
        return None
    d, t, lam = data, pt.transfer, pt.price
    n = d.n
    x = d.own + t
    g = np.where(d.weight > 0, d.weight / np.where(x > 0, x, 1.0), 0.0) - lam
    c = least_transfer(d.threshold, d.own, d.need, d.t_min)
    thr_binds = (c > d.t_min) & (t <= c + 1e-12 * np.maximum(1.0, np.abs(c)))
    thr_dual = np.where(thr_binds, np.minimum(g, 0.0) * d.need, 0.0)
    col_dual = np.where(thr_binds, 0.0, g)
    row_dual = np.concatenate([[lam], thr_dual])
    row_act = np.concatenate([[float(t.sum())], level_of(d.own, d.need, t) - d.own / d.need])
    first = LPSolution("optimal", pt.welfare, t, row_act, row_dual, col_dual,
                       time.perf_counter() - t0, 0, "KKT water-filling")
    layout = {"transfer": slice(0, n), "rows:budget": slice(0, 1), "rows:threshold": slice(1, n + 1)}
    info = {"solved_by": "KKT water-filling of the exact concave program, certified by weak duality "
                         "(optimizer/fast/log_welfare.py)",
            "certificate": {"duality_gap": pt.gap, "primal_violation": pt.primal_violation,
                            "complementarity": pt.complementarity, "stationarity": pt.stationarity},
            "log_welfare_exact": {"model": "exact: max sum w ln L on the bare core", "welfare": pt.welfare,
                                  "upper_bound": pt.bound, "certified_gap": pt.gap}}
    return Run(first, None, layout, 0.0, info)
