"""The post-solve check: one rule for every objective and every path.

``verify(round, transfers, reported)`` re-derives everything from the reported transfers
and the round's data in the instance's own units (nothing scaled, no LP, no solver: plain
numpy, a second encoding independent of models/): the levels; the budget, the transfer
bounds, the thresholds when hard (the held shortfall when soft), every policy
(explain/verify_policies.py); the objective's value, compared with the reported one; and
first-order evidence of optimality where it is cheap (budget left unspent while a region
that the objective rewards could still take it; for min-cost, money given above what a
region needs). Closed forms, LPs, tie-breaks, decompositions, the parametric max-min,
leximin, the chain drivers, phased and services rounds all end here.

The tolerance rule (``Tolerance``): money is compared in absolute terms, 1e-6 of the money
scale or of a thousandth of the budget, whichever is larger (the instance unit: KRW
billion for Korea); levels (and level objectives) relative, 1e-6 x max(1, |value|). A
check fails when an amount exceeds its tolerance; the verdict names the region, the
constraint and the amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from optimizer.core.errors import SolverError
from optimizer.core.instance import Instance
from optimizer.core.metrics import LEVEL_TOL
from optimizer.core.sums import exact_sum
from optimizer.explain.objective_values import objective_value
from optimizer.explain.verify_policies import policy_residual

if TYPE_CHECKING:   # a plain dataclass; not imported at run time (core/scaling.py imports models/)
    from optimizer.core.scaling import RoundData

FEAS_TOL = LEVEL_TOL   # core/metrics.py: the below-threshold counts use the same rule
MONOTONE = ("min-shortfall", "max-mean", "log-welfare", "maxmin", "leximin")
MAXIMISED = ("maxmin", "leximin", "max-mean", "owa", "cvar", "log-welfare")   # the rest are minimised
SPEND_TRIES = (1.0, 0.5, 0.1)   # fractions of the unspent money the spend check tries to pay out
SPEND_MARGIN = 1e3              # ... each at least this many money tolerances


class Findings(list):
    """The violations found, and the largest excess / tolerance over every row checked."""
    worst_ratio: float = 0.0


def _note_ratio(out: list, ratio: float) -> None:
    if isinstance(out, Findings) and (ratio > out.worst_ratio or not np.isfinite(ratio)):
        out.worst_ratio = ratio


class VerificationError(SolverError):
    """The reported allocation fails the post-solve check (exit code 1); carries the verdict."""

    def __init__(self, verdict: Verdict, note: str = ""):
        self.verdict = verdict
        super().__init__(f"the solution fails the post-solve check: {verdict.message()}{note}")


@dataclass(frozen=True)
class Tolerance:
    money: float                 # absolute, in the instance unit
    level: float = FEAS_TOL      # relative: level_tol x max(1, |value|)

    @classmethod
    def of(cls, budget: float, scale: float) -> Tolerance:
        return cls(FEAS_TOL * max(float(scale), abs(float(budget)) * 1e-3))

    def of_level(self, value: float) -> float:
        return self.level * max(1.0, abs(value))

    def noise(self, money: bool) -> float:
        """Below this a reported figure is solver noise and printed as 0.0: a thousandth of
        the check's tolerance (1e-9 in level, 1e-9 x the money scale)."""
        return 1e-3 * (self.money if money else self.level)


@dataclass(frozen=True)
class VerifyRound:
    """One round as the verifier reads it: plain arrays in the instance unit."""
    own: np.ndarray
    need: np.ndarray
    threshold: np.ndarray
    t_min: np.ndarray
    t_max: np.ndarray            # np.inf where none
    weight: np.ndarray           # objective weights, summing to 1
    budget: float
    objective: str
    hard: bool = True
    options: Mapping[str, Any] | None = None   # objective options (alpha, weights); None = unknown
    policies: tuple = ()         # objects with .name and .params (money in the instance unit)
    labels: Sequence[str] | None = None
    shortfall_cap: float | None = None   # soft thresholds: the weighted shortfall held
    scale: float = 1.0           # the money scale (sets the money tolerance)
    money_objective: bool = False
    unit: str = "money"          # the instance unit, for messages
    tolerance: float = 0.0       # extra money tolerance, instance unit (equalize verify --tolerance)
    spend_all: bool = False      # --spend all: the budget must be paid out, or what is left justified

    def tol(self) -> Tolerance:
        """The check's tolerance; ``tolerance`` widens money by T and levels by T / least need."""
        base = Tolerance.of(self.budget, self.scale)
        if not self.tolerance > 0:
            return base
        least = float(np.min(self.need)) if self.need.size else 1.0
        return Tolerance(base.money + self.tolerance, base.level + self.tolerance / max(least, 1e-300))


@dataclass(frozen=True)
class VerifyExtras:
    """What the check needs beyond the instance and the round: the objective's weights and
    options (None: options unknown, owa and cvar not recomputed), the policy terms in the
    instance unit, the weighted shortfall held in soft mode (``--scarcity shortfall-first``),
    the transfer caps of ``--scarcity objective`` (the thresholds as caps: checked as t_max)."""
    weight: np.ndarray | None = None
    options: dict | None = None
    policies: tuple = ()
    shortfall_cap: float | None = None
    t_max: np.ndarray | None = None
    spend_all: bool = False


def verify_round(inst: Instance, rd: RoundData, objective: str, money_objective: bool, hard: bool,
                 scale: float, extra: VerifyExtras | None = None) -> VerifyRound:
    """The round as the check reads it, from a loaded instance and its round data (the
    instance unit; ``scale`` only sets the money tolerance)."""
    reg, ex = inst.regions, extra or VerifyExtras()
    return VerifyRound(
        own=reg["own_revenue"].to_numpy(dtype=float), need=reg["fiscal_need"].to_numpy(dtype=float),
        threshold=rd.threshold, t_min=rd.t_min, t_max=rd.t_max if ex.t_max is None else ex.t_max,
        weight=inst.weights() if ex.weight is None else ex.weight, budget=rd.budget, objective=objective,
        hard=hard, options=ex.options, policies=tuple(ex.policies), labels=reg["region_id"].array,
        shortfall_cap=ex.shortfall_cap, scale=scale, money_objective=money_objective, unit=inst.unit,
        spend_all=ex.spend_all)


@dataclass(frozen=True)
class Violation:
    constraint: str
    region: int | None
    amount: float
    unit: str                    # "money" or "level"
    tolerance: float
    detail: str = ""


@dataclass
class Verdict:
    ok: bool
    violations: list[Violation]
    checks: dict[str, float]
    objective_reported: float | None
    objective_recomputed: float | None
    tolerance: Tolerance
    labels: Sequence[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    unit: str = "money"

    def where(self, v: Violation) -> str:
        if v.region is None:
            return ""
        name = self.labels[v.region] if self.labels is not None else str(v.region)
        return f"region '{name}', "

    def message(self) -> str:
        """One line: the worst violation (relative to its tolerance), and how many more."""
        if self.ok:
            return "ok"
        v = max(self.violations, key=lambda v: v.amount / max(v.tolerance, 1e-300))
        more = f" (and {len(self.violations) - 1} more)" if len(self.violations) > 1 else ""
        unit = self.unit if v.unit == "money" else "in level"
        return (f"{self.where(v)}{v.constraint} violated by {v.amount:.6g} {unit} "
                f"(tolerance {v.tolerance:.3g}){': ' + v.detail if v.detail else ''}{more}")

    def as_summary(self) -> dict[str, Any]:
        """For summary.json; ``max_violation`` is the largest excess over its tolerance of every
        row checked (below 1 passes: a dimensionless figure, as money and levels mix)."""
        return {"ok": self.ok,
                "objective_reported": self.objective_reported,
                "objective_recomputed": self.objective_recomputed,
                "tolerance": {"money": self.tolerance.money, "level": self.tolerance.level,
                              "rule": "money: 1e-6 x max(money scale, budget/1000), absolute; "
                                      "levels: 1e-6 x max(1, |value|)"}} | self.extra


def levels(r: VerifyRound, t: np.ndarray) -> np.ndarray:
    return (r.own + t) / r.need


def verify(r: VerifyRound, transfers: np.ndarray, reported: float | None = None) -> Verdict:
    """Check ``transfers`` (instance unit) against round ``r``; ``reported`` is the objective
    value the solve reports (None: not compared). Never raises on a bad allocation."""
    t = np.asarray(transfers, dtype=float)
    tol = r.tol()
    out = Findings()
    checks = _feasibility(r, t, tol, out)
    recomputed = objective_value(r.objective, t, levels(r, t), r.weight, r.threshold, r.options)
    if recomputed is not None and reported is not None:
        gap = abs(float(reported) - recomputed)
        otol = tol.money if r.money_objective else tol.of_level(recomputed)
        checks["objective_gap"] = gap
        _note_ratio(out, gap / max(otol, 1e-300))
        if not gap <= otol:   # NaN fails too
            out.append(Violation("objective value", None, gap, "money" if r.money_objective else "level", otol,
                                 f"reported {reported:.12g}, recomputed from the transfers {recomputed:.12g}"))
    if not out and not (r.spend_all and r.objective == "min-cost"):   # its surplus is paid on purpose
        _first_order(r, t, tol, out)
    if r.spend_all and not out:
        checks["unspent"] = spend_check(r, t, tol, recomputed, out)
    noise = tol.noise(r.money_objective)
    shown = {"objective_reported": snap_zero(reported, noise), "objective_recomputed": snap_zero(recomputed, noise)}
    return Verdict(not out, list(out), checks, None if reported is None else float(reported), recomputed, tol,
                   r.labels, extra={"max_violation": out.worst_ratio} | shown, unit=r.unit)


def snap_zero(value: float | None, noise: float) -> float | None:
    """A figure within ``noise`` of 0 is reported as 0.0 (``Tolerance.noise``: solver noise
    is not a figure; min-shortfall's 7.2e-18 on korea-17 is 0)."""
    if value is None or not np.isfinite(value):
        return value
    return 0.0 if abs(value) <= noise else float(value)


def with_violation(verdict: Verdict, v: Violation) -> Verdict:
    """``verdict`` failed by one more finding (an optimality certificate's gap, found outside)."""
    ratio = max(verdict.extra.get("max_violation", 0.0), v.amount / max(v.tolerance, 1e-300))
    return Verdict(False, [*verdict.violations, v], verdict.checks, verdict.objective_reported,
                   verdict.objective_recomputed, verdict.tolerance, verdict.labels,
                   verdict.extra | {"max_violation": ratio}, verdict.unit)


def require(verdict: Verdict) -> Verdict:
    if not verdict.ok:
        raise VerificationError(verdict)
    return verdict


def _worst(name: str, excess: np.ndarray, region: np.ndarray, unit: str, tol, out: list[Violation]) -> float:
    """The largest excess of a family; a Violation for it when it exceeds ``tol`` (a number,
    or an array of per-row tolerances). Records the largest excess / tolerance on ``out``."""
    if excess.size == 0:
        return 0.0
    ratio = excess / np.maximum(tol, 1e-300)
    k = int(np.nanargmax(np.where(np.isnan(ratio), np.inf, ratio)))
    tk = float(np.broadcast_to(tol, excess.shape)[k])
    _note_ratio(out, float(excess[k]) / max(tk, 1e-300))
    if not excess[k] <= tk:
        out.append(Violation(name, int(region[k]), float(excess[k]), unit, tk))
    return max(0.0, float(np.nanmax(excess))) + 0.0


def _feasibility(r: VerifyRound, t: np.ndarray, tol: Tolerance, out: list[Violation]) -> dict[str, float]:
    n, idx = t.shape[0], np.arange(t.shape[0])
    level = levels(r, t)
    if n != r.own.shape[0] or not np.all(np.isfinite(t)):
        bad = int(np.flatnonzero(~np.isfinite(t))[0]) if n == r.own.shape[0] else None
        out.append(Violation("finite transfers, one per region", bad, float("inf"), "money", tol.money))
        return {"budget_excess": float("inf")}
    checks = {"budget_excess": max(0.0, exact_sum(t) - r.budget) + 0.0}
    if not checks["budget_excess"] <= tol.money:
        out.append(Violation("budget", None, checks["budget_excess"], "money", tol.money,
                             f"transfers sum to {exact_sum(t):.12g}, budget {r.budget:.12g}"))
    checks["below_min_transfer"] = _worst("min_transfer", r.t_min - t, idx, "money", tol.money, out)
    above = np.where(np.isfinite(r.t_max), t - r.t_max, -np.inf)
    checks["above_max_transfer"] = _worst("max_transfer", above, idx, "money", tol.money, out)
    short = r.threshold - level
    level_tol = tol.level * np.maximum(1.0, np.abs(r.threshold))
    checks["threshold_violation"] = _worst("threshold", short, idx, "level", level_tol, out) if r.hard else 0.0
    if not r.hard and r.shortfall_cap is not None:
        held = float(np.dot(r.weight, np.maximum(0.0, short)))
        if not held <= r.shortfall_cap + tol.of_level(r.shortfall_cap):
            out.append(Violation("held shortfall", int(np.argmax(r.weight * np.maximum(0.0, short))),
                                 held - r.shortfall_cap, "level", tol.of_level(r.shortfall_cap)))
    for term in r.policies:
        ex, reg, unit = policy_residual(term.name, term.params, t, r.own, r.need, r.t_min)
        key = term.name.replace("-", "_") + "_violation"
        ptol = tol.money if unit == "money" else tol.level
        checks[key] = max(checks.get(key, 0.0), _worst(term.name, ex, reg, unit, ptol, out))
    return checks


def feasible(r: VerifyRound, t: np.ndarray, tol: Tolerance | None = None) -> bool:
    """True when ``t`` passes every constraint check (not the objective), within ``tol``."""
    out: list[Violation] = []
    _feasibility(r, t, tol or r.tol(), out)
    return not out


# --- first-order evidence of optimality ------------------------------------------------------

def _top(v: np.ndarray, k: int) -> np.ndarray:
    """The indices of the k largest entries, largest first (O(n), not a full sort)."""
    if v.size <= k:
        return np.argsort(-v)
    idx = np.argpartition(-v, k)[:k]
    return idx[np.argsort(-v[idx])]


def _improves(r: VerifyRound, t: np.ndarray, moves: list[tuple[int, np.ndarray, float]], what: str,
              tol: Tolerance, out: list[Violation]) -> None:
    """Flag the first move (region, new transfers, level or money gained) that keeps every
    constraint: a feasible improvement proves the reported allocation is not optimal."""
    for region, t2, gain in moves:   # feasible on the moved money's scale (a need of 0.02 beside 1e11)
        if feasible(r, t2, Tolerance(min(tol.money, 1e-3 * float(np.abs(t2 - t).sum())), tol.level)):
            unit = "money" if r.objective == "min-cost" else "level"
            out.append(Violation("optimality", region, gain, unit, tol.money if unit == "money" else tol.level, what))
            return


def _first_order(r: VerifyRound, t: np.ndarray, tol: Tolerance, out: list[Violation]) -> None:
    if r.objective == "min-cost":
        floor = np.maximum(r.t_min, r.threshold * r.need - r.own)
        saving = t - floor
        cand = _top(saving, 3)
        moves = [(int(k), np.where(np.arange(t.size) == k, floor, t), float(saving[k]))
                 for k in cand if saving[k] > tol.money]
        _improves(r, t, moves, "its transfer could fall to what its threshold needs and the total cost "
                  "with it", tol, out)
        return
    unspent = r.budget - exact_sum(t)
    if r.objective not in MONOTONE or not unspent > tol.money:
        return
    level = levels(r, t)
    room = np.where(np.isfinite(r.t_max), r.t_max - t, np.inf)
    what = f"{unspent:.6g} of the budget is unspent and this region's level could still rise"
    if r.objective in ("maxmin", "leximin"):
        low = level <= level.min() + tol.of_level(float(level.min()))
        delta = min(unspent / float(r.need[low].sum()), float(np.min(room[low] / r.need[low])))
        if delta > tol.of_level(float(level.min())):
            k = int(np.flatnonzero(low)[0])
            _improves(r, t, [(k, t + np.where(low, delta * r.need, 0.0), delta)], what + " (it is at the floor)",
                      tol, out)
        return
    give = np.minimum(room, unspent)
    if r.objective == "min-shortfall":
        give = np.minimum(give, np.maximum(0.0, r.threshold * r.need - r.own - t))
        what = what + " (it is below its threshold)"
    gain = np.where(r.weight > 0, give / r.need, 0.0)
    cand = _top(gain, 3)
    moves = [(int(k), t + np.where(np.arange(t.size) == k, give[k], 0.0), float(gain[k]))
             for k in cand if gain[k] > tol.of_level(float(level[k]))]
    _improves(r, t, moves, what, tol, out)


# --- --spend all: the budget paid out, or what is left justified ------------------------------

def level_lift(r: VerifyRound, t: np.ndarray, amount: float) -> np.ndarray:
    """``amount`` shared on top of ``t`` so that every level rises by the same s, each region
    stopping at its max_transfer: e_r = min(s need_r, room_r), sum e = amount (or every
    region at its cap). Bisection on s (the engine's rule closed forms are its own code)."""
    room = np.where(np.isfinite(r.t_max), np.maximum(0.0, r.t_max - t), np.inf)
    if exact_sum(room) <= amount:
        return room
    lo, hi = 0.0, amount / float(np.min(r.need))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if exact_sum(np.minimum(mid * r.need, room)) < amount else (lo, mid)
    return np.minimum(hi * r.need, room)


def _not_worse(r: VerifyRound, t2: np.ndarray, value: float | None, tol: Tolerance) -> bool:
    """``t2``'s objective is no worse than ``value`` (True when the objective is unknown or
    is the money it spends: min-cost reports the least cost beside the surplus)."""
    if value is None or r.objective in ("", "min-cost") or r.objective in MONOTONE:
        return True
    new = objective_value(r.objective, t2, levels(r, t2), r.weight, r.threshold, r.options)
    if new is None:
        return True
    slack = tol.of_level(value)
    return new >= value - slack if r.objective in MAXIMISED else new <= value + slack


def spend_check(r: VerifyRound, t: np.ndarray, tol: Tolerance, value: float | None, out: list) -> float:
    """--spend all: the money left must be unspendable. It is shown spendable (a Violation
    'budget not spent') when some fraction of it, given on top so every level rises alike
    (``level_lift``), keeps every bound, policy and the objective's value; else it is
    justified by what that payment breaks. Returns the money left."""
    left = r.budget - exact_sum(t)
    if not left > tol.money:
        return max(0.0, left) + 0.0
    lift = level_lift(r, t, left)
    for frac in SPEND_TRIES:
        if frac * exact_sum(lift) <= SPEND_MARGIN * tol.money:
            break
        t2 = t + frac * lift
        if feasible(r, t2) and _not_worse(r, t2, value, tol):
            out.append(Violation("budget not spent", None, left, "money", tol.money,
                                 f"--spend all: {frac * exact_sum(lift):.6g} of the {left:.6g} left could be "
                                 "paid out (every level raised alike) keeping every bound, policy and the "
                                 "objective"))
            break
    return left
