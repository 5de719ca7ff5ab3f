"""Inequality and adequacy metrics of service levels (numpy only, no Pyomo).

Every metric takes levels ``x`` and weights ``w`` (population shares by default,
normalised to sum 1). Formulas:
    mean  mu = sum w x                      cv = sqrt(sum w (x - mu)^2) / mu
    gini  = sum_i w_i x_i (2 F_i - w_i - 1) / mu   (x sorted ascending, F cumulative w)
          = sum_ij w_i w_j |x_i - x_j| / (2 mu)
    theil = sum w (x/mu) ln(x/mu)
    atkinson(1) = 1 - exp(sum w ln x) / mu      atkinson(2) = 1 - 1 / (mu sum w/x)
    total shortfall = sum_r need_r max(0, theta_r - x_r)   (money)
    price of fairness = (mu* - mu) / mu*, mu* the max-mean optimum of the same round
"""

from __future__ import annotations

import numpy as np

from optimizer.core.ordering import stable_argsort

# the post-solve check's level tolerance (relative: LEVEL_TOL x max(1, |threshold|)); a region
# counts as below its threshold only when it is short by more than the check forgives
# (explain/verify.py FEAS_TOL is this constant: one rule for the count and the check)
LEVEL_TOL = 1e-6


def _norm(w: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    return w / w.sum()


def weighted_mean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.dot(_norm(w), x))


def cv(x: np.ndarray, w: np.ndarray) -> float:
    return _cv(x, _norm(w))


def _cv(x: np.ndarray, w: np.ndarray) -> float:
    mu = float(np.dot(w, x))
    return float(np.sqrt(np.dot(w, (x - mu) ** 2)) / mu) if mu > 0 else float("nan")


NOISE = 1e-12   # a Gini (in [0, 1)) below this is rounding residue of equal levels


def gini(x: np.ndarray, w: np.ndarray) -> float:
    return _gini(x, _norm(w))


def _gini(x: np.ndarray, w: np.ndarray) -> float:
    order = stable_argsort(x)
    xs, ws = np.asarray(x, dtype=float)[order], w[order]
    mu = float(np.dot(ws, xs))
    if mu <= 0:
        return float("nan")
    # sum ws xs (2 F - ws - 1) / mu, the products formed in place (no temporaries: 24 MB at 1e6)
    F = np.cumsum(ws)
    F *= 2
    F -= ws
    F -= 1
    xs *= ws
    g = float(np.dot(xs, F) / mu)
    # equal levels give rounding residue (2.7e-16, or -0.0): the Gini is 0 there, print it so
    return 0.0 if abs(g) < NOISE else g


def pairwise_sum(level: np.ndarray, w: np.ndarray) -> float:
    """P(L) = sum_{i<j} w_i w_j |L_i - L_j| in O(n log n) (unnormalised weights)."""
    order = stable_argsort(level)
    ws, xs = w[order], level[order]
    before = np.cumsum(ws) - ws
    after = ws.sum() - before - ws
    return float(np.dot(ws * xs, before - after))


def pairwise_ratio(level: np.ndarray, w: np.ndarray) -> float:
    """P(L) / mu(L), mu = sum w L: the min-gini objective's ratio. When every level is 0 the
    ratio is undefined; sum(w), its supremum on nonnegative levels (P <= mu (sum w)), is
    returned: a valid upper bound to start Dinkelbach from."""
    mu = float(np.dot(w, level))
    return pairwise_sum(level, w) / mu if mu > 0 else float(np.sum(w))


def theil(x: np.ndarray, w: np.ndarray) -> float:
    return _theil(x, _norm(w))


def _theil(x: np.ndarray, w: np.ndarray) -> float:
    mu = float(np.dot(w, x))
    if mu <= 0:
        return float("nan")
    r = np.asarray(x, dtype=float) / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)
    return float(np.dot(w, terms))


def atkinson(x: np.ndarray, w: np.ndarray, epsilon: float) -> float:
    return _atkinson(x, _norm(w), epsilon)


def _atkinson(x: np.ndarray, w: np.ndarray, epsilon: float) -> float:
    x = np.asarray(x, dtype=float)
    mu = float(np.dot(w, x))
    if np.any(x <= 0):
        return 1.0
    with np.errstate(over="ignore", divide="ignore"):
        if epsilon == 1:
            ede = float(np.exp(np.dot(w, np.log(x))))
        else:
            ede = float(np.dot(w, x ** (1 - epsilon)) ** (1 / (1 - epsilon)))
    # levels so small (5e-324) that their mean underflows to 0: undefined, as gini and theil say
    return 1.0 - ede / mu if mu > 0 else float("nan")


def level_metrics(x: np.ndarray, w: np.ndarray, threshold: np.ndarray,
                  level_tol: float = LEVEL_TOL) -> dict[str, float]:
    """All metrics of one vector of levels, as a flat dict (for summaries and tables); below
    threshold = short by more than level_tol x max(1, |threshold|), the check's rule."""
    w = _norm(w)
    wn = _norm(w)   # what cv, gini, ... normalise w to (once here, not once per metric: 8 MB each at 1e6)
    x = np.asarray(x, dtype=float)
    threshold = np.asarray(threshold, dtype=float)
    below = x < threshold - level_tol * np.maximum(1.0, np.abs(threshold))
    lo, hi = float(x.min()), float(x.max())
    return {
        "mean_level": float(np.dot(w, x)),
        "min_level": lo,
        "max_level": hi,
        "max_min_ratio": hi / lo if lo > 0 else float("inf"),
        "cv": _cv(x, wn),
        "gini": _gini(x, wn),
        "theil": _theil(x, wn),
        "atkinson_1": _atkinson(x, wn, 1.0),
        "atkinson_2": _atkinson(x, wn, 2.0),
        "regions_below_threshold": int(below.sum()),
        "population_share_below_threshold": float(w[below].sum()),
        "weighted_shortfall": float(np.dot(w, np.maximum(0.0, threshold - x))),
    }


def total_shortfall(x: np.ndarray, threshold: np.ndarray, need: np.ndarray) -> float:
    """Money still missing to lift every region to its threshold: sum need (theta - x)+."""
    return float(np.dot(np.asarray(need, dtype=float), np.maximum(0.0, np.asarray(threshold) - x)))


def price_of_fairness(max_mean: float, mean: float) -> float:
    """Relative loss of the mean level against the utilitarian optimum (max-mean):
    (max_mean - mean) / max_mean, clipped at 0 (solver noise)."""
    return max(0.0, (max_mean - mean) / max_mean) if max_mean > 0 else float("nan")
