"""Optimality certificates of an allocation on the bare core (budget, transfer bounds, hard
thresholds; no policy rows), from the closed forms of optimizer/fast/waterfill.py: the
best value is known, so the gap of any allocation is its distance to it, in objective
units. Used by ``equalize verify --objective`` and recorded by every solve
(summary.json "verified"."optimality"). Plain numpy; nothing here imports models/.

maxmin: the water-filling level z*; leximin: the sorted leximin vector (the first sorted
level that falls short); min-cost: the least cost sum_r max(t_min_r, theta_r n_r - o_r);
min-shortfall: the fractional knapsack; max-mean: the fractional fill by w/n; min-range:
max(0, M0 - z*) with M0 the highest level every region must keep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.core.levels import least_transfer, level_of, shortfall_of
from optimizer.fast.waterfill import knapsack_shortfall, leximin_fill, max_mean_fill, water_fill

CERTIFIED = ("maxmin", "leximin", "min-cost", "min-shortfall", "max-mean", "min-range")


@dataclass(frozen=True)
class Core:
    """The bare core in the instance unit."""
    own: np.ndarray
    need: np.ndarray
    threshold: np.ndarray
    t_min: np.ndarray
    t_max: np.ndarray
    weight: np.ndarray
    budget: float


@dataclass(frozen=True)
class Optimality:
    certified: bool              # a certificate exists and the allocation meets it
    gap: float | None            # best minus achieved, in objective units (>= 0 is worse)
    best: float | None           # the optimal value (None: no certificate)
    region: int | None = None    # the region the shortfall is reported under
    detail: str = ""

    @property
    def status(self) -> str:
        return "certified" if self.certified else "not certified"


def _result(gap: float, best: float, tol: float, region: int | None, detail: str) -> Optimality:
    return Optimality(bool(gap <= tol), gap + 0.0, best, region if gap > tol else None, detail)


def _maxmin(c: Core, level: np.ndarray, tol: float) -> Optimality:
    z = water_fill(c.own, c.need, c.threshold, c.t_min, c.t_max, c.budget).level
    return _result(z - float(level.min()), z, tol, int(np.argmin(level)),
                   f"the lowest level could be {z:.6g} (water-filling)")


def _leximin(c: Core, level: np.ndarray, tol: float) -> Optimality:
    t, _ = leximin_fill(c.own, c.need, c.threshold, c.t_min, c.t_max, c.budget)
    best = np.sort(level_of(c.own, c.need, t))
    order = np.argsort(level, kind="stable")
    short = best - level[order]
    bad = np.flatnonzero(short > tol * np.maximum(1.0, np.abs(best)))
    if bad.size == 0:
        return Optimality(True, max(0.0, float(short[0])), float(best[0]))
    k = int(bad[0])
    ahead = np.flatnonzero(short[:k] < -tol * np.maximum(1.0, np.abs(best[:k])))
    if ahead.size:     # an earlier sorted level is above the leximin vector: lexicographically better?
        return Optimality(False, None, float(best[0]), None, "levels not comparable with the closed form")
    return Optimality(False, float(short[k]), float(best[k]), int(order[k]),
                      f"sorted level {k + 1} of {level.size} falls short of the leximin vector ({best[k]:.6g})")


def _min_cost(c: Core, t: np.ndarray, tol: float) -> Optimality:
    least = least_transfer(c.threshold, c.own, c.need, c.t_min)
    best = float(least.sum())
    return _result(float(t.sum()) - best, best, tol, int(np.argmax(t - least)),
                   f"the least cost of meeting the thresholds is {best:.6g}")


def _min_shortfall(c: Core, t: np.ndarray, level: np.ndarray, tol: float) -> Optimality:
    best = least_shortfall(c)
    got = float(np.dot(c.weight, np.maximum(0.0, c.threshold - level)))
    short = (level < c.threshold) & (t < c.t_max)
    worth = np.where(short, c.weight / c.need, -np.inf)
    return _result(got - best, best, tol, int(np.argmax(worth)),
                   f"the least weighted shortfall is {best:.6g} (knapsack by weight / need)")


def _max_mean(c: Core, t: np.ndarray, level: np.ndarray, tol: float) -> Optimality:
    best = max_mean_fill(c.own, c.need, c.weight, c.threshold, c.t_min, c.t_max, c.budget)
    worth = np.where(t < c.t_max, c.weight / c.need, -np.inf)
    return _result(best - float(np.dot(c.weight, level)), best, tol, int(np.argmax(worth)),
                   f"the largest weighted mean level is {best:.6g}")


def _min_range(c: Core, level: np.ndarray, tol: float) -> Optimality:
    lo = level_of(c.own, c.need, least_transfer(c.threshold, c.own, c.need, c.t_min))
    z = water_fill(c.own, c.need, c.threshold, c.t_min, c.t_max, c.budget).level
    best = max(0.0, float(lo.max()) - z)
    return _result(float(level.max() - level.min()) - best, best, tol, int(np.argmin(level)),
                   f"the least range is {best:.6g}")


def least_shortfall(c: Core) -> float:
    """The least weighted shortfall the budget allows (the knapsack): what a soft-threshold
    round holds while it optimises its objective."""
    t, _ = knapsack_shortfall(c.own, c.need, c.weight, c.threshold, c.t_min, c.t_max, c.budget)
    return float(np.dot(c.weight, shortfall_of(c.threshold, c.own, c.need, t)))


def certify_core(objective: str, c: Core, t: np.ndarray, tol: float) -> Optimality:
    """The optimality of transfers ``t`` (assumed feasible) under ``objective``; ``tol`` in
    objective units (relative to max(1, |value|) for level objectives, as the checks)."""
    if objective not in CERTIFIED or t.size == 0:
        return Optimality(False, None, None)
    t = np.asarray(t, dtype=float)
    level = level_of(c.own, c.need, t)
    if objective == "min-cost":
        return _min_cost(c, t, tol)
    ltol = tol * max(1.0, float(np.abs(level).max()))
    if objective == "maxmin":
        return _maxmin(c, level, ltol)
    if objective == "leximin":
        return _leximin(c, level, tol)
    if objective == "min-shortfall":
        return _min_shortfall(c, t, level, ltol)
    if objective == "max-mean":
        return _max_mean(c, t, level, ltol)
    return _min_range(c, level, ltol)
