"""Why the constraints cannot all hold once policies are in play (LP-based diagnosis).

The closed form of optimizer/diagnose.py knows only the core constraints. With policies:

- required budget = min sum_r T_r subject to hard thresholds + policies + transfer bounds
  (no budget row); +inf when no budget meets the thresholds under these policies;
- for soft-threshold objectives, the least spending the policies alone force (same LP,
  thresholds soft) decides feasibility;
- when infeasible, an elastic relaxation (models/elastic.py: one slack per constraint
  family, minimise the weighted sum) names the families that must give way and by how
  much, and the rows (regions) that give way most.

Family weights: 1 per solver money unit for money families; the mean need (solver units)
per unit of level for level families, so one level point costs what it would cost to lift
an average region by it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from models.build import build_lp
from models.data import RegionData
from models.elastic import elastic, violations
from models.lp import INF
from models.policies import DEFINITIONAL_ROWS, PolicyTerm, get_policy
from optimizer.engine.growing_lp import GrowingLP
from optimizer.engine.highs import solve_lp
from optimizer.fast.group_paths import group_least_spending
from optimizer.fast.policy_path import least_spending

CORE_UNITS = {"budget": "money", "threshold": "level", "min_transfer": "money", "max_transfer": "money"}
TOL = 1e-7


@dataclass(frozen=True)
class FamilyConflict:
    family: str
    unit: str                    # "level" or the instance unit
    amount: float                # how much every constraint of the family must give way
    rows: list[tuple[str, float]] = field(default_factory=list)  # (regions, violation), largest first

    def as_dict(self) -> dict:
        return {"family": self.family, "unit": self.unit, "relax_by": self.amount,
                "worst": [{"regions": r, "violation": v} for r, v in self.rows]}


def family_units(terms: tuple[PolicyTerm, ...]) -> dict[str, str]:
    units = dict(CORE_UNITS)
    for t in terms:
        spec = get_policy(t.name)
        if spec.rows not in DEFINITIONAL_ROWS:
            units[spec.rows] = spec.unit
    return units


def _plain(d: RegionData) -> RegionData:
    """The round without objective options (soft-threshold switch, shortfall caps): the
    diagnosis LPs choose hard or soft thresholds through the objective they build."""
    return dataclasses.replace(d, options={})


def _min_spending(d: RegionData, terms: tuple[PolicyTerm, ...], objective: str) -> tuple[float, np.ndarray]:
    lp = build_lp(_plain(d), objective, terms)
    b = lp.row_block("budget")
    lp.row_upper[b.slice] = INF
    lp.cost[:] = 0.0
    lp.cost[lp.col_block("transfer").slice] = 1.0
    lp.maximize = False
    fast = least_spending(lp, d)   # optimizer/fast/policy_path.py (hard, or soft: shortfalls of cost 0)
    if fast is None and objective == "min-cost":   # group rows that bind: optimizer/fast/group_paths.py
        fast = group_least_spending(lp, d, GrowingLP())
    if fast is not None:
        return fast
    sol, _ = solve_lp(lp, "simplex")
    if sol.status != "optimal":
        return INF, np.full(d.n, np.nan)
    return float(sol.objective), sol.x[lp.col_block("transfer").slice]


class PolicyDiagnosis:
    """Same interface as optimizer.explain.diagnose.Diagnosis, computed with LPs."""

    def __init__(self, d: RegionData, terms: tuple[PolicyTerm, ...], scale: float, region_ids: list[str],
                 hard: bool):
        self._d, self._terms, self._scale, self._ids = d, terms, scale, region_ids
        self._hard = hard
        req, x = _min_spending(d, terms, "min-cost")
        self.required_budget = req * scale if np.isfinite(req) else INF
        self.required_transfer = x * scale
        self.budget = float(d.budget * scale)
        self.bound_conflicts: list = []
        self.min_transfer_total = float(np.maximum(d.t_min, 0).sum() * scale)
        if hard:
            self.policy_minimum = None
        else:
            pm, _ = _min_spending(d, terms, "min-shortfall")
            self.policy_minimum = pm * scale if np.isfinite(pm) else INF
        self._conflicts: list[FamilyConflict] | None = None
        self._alone: list[FamilyConflict] | None = None

    @property
    def missing_budget(self) -> float:
        return max(0.0, self.required_budget - self.budget)

    def feasible(self, hard: bool, rtol: float = 1e-9) -> bool:
        need = self.required_budget if hard else self.policy_minimum
        return need is not None and need <= self.budget * (1 + rtol) + rtol * self._scale

    @property
    def conflicts(self) -> list[FamilyConflict]:
        if self._conflicts is None:
            self._conflicts = elastic_conflicts(self._d, self._terms, self._scale, self._ids, self._hard)
        return self._conflicts

    @property
    def alone(self) -> list[FamilyConflict]:
        """Each family's least relaxation when it alone gives way (every other family held);
        the families that cannot make the round feasible alone are left out."""
        if self._alone is None:
            self._alone = family_relaxations(self._d, self._terms, self._scale, self._ids, self._hard)
        return self._alone

    def explain(self, region_ids: list[str], unit: str, hard: bool) -> str:
        """The diagnosis: a first line (what is missing), then one line per family that could
        give way, with its least relaxation when it alone does (the joint least relaxation
        is in ``details``: ``conflicts``)."""
        lines = []
        if hard and not np.isfinite(self.required_budget):
            lines.append("no budget meets every threshold under these policies")
        elif hard and not self.feasible(True):   # over the budget by more than float rounding
            lines.append(f"meeting every threshold under these policies needs {self.required_budget:,.6g} "
                         f"{unit}; the budget is {self.budget:,.6g} {unit}: {self.missing_budget:,.6g} "
                         f"{unit} missing")
        if not hard and self.policy_minimum is not None and not np.isfinite(self.policy_minimum):
            lines.append("the policies contradict each other whatever the budget")
        elif not hard and self.policy_minimum is not None and not self.feasible(False):
            lines.append(f"the policies alone force spending of {self.policy_minimum:,.6g} {unit}, above "
                         f"the budget {self.budget:,.6g} {unit}")
        head = "; ".join(lines)
        named = self.alone or self.conflicts
        if not named:
            return head
        intro = "least relaxation of each family that makes it feasible on its own (the others held):"
        return "\n".join([f"{head}; {intro}" if head else intro, *(family_line(c, unit) for c in named)])

    def details(self, unit: str) -> dict:
        return {"conflicts": [c.as_dict() | {"unit": "level" if c.unit == "level" else unit}
                              for c in self.conflicts],
                "relaxations": [c.as_dict() | {"unit": "level" if c.unit == "level" else unit}
                                for c in self.alone],
                "policy_minimum_spending": self.policy_minimum}


def family_line(c: FamilyConflict, unit: str) -> str:
    """'- hold_harmless by 1,218.98 KRW billion (jeju, chungnam, jeonnam)'."""
    u = "level" if c.unit == "level" else unit
    worst = ", ".join(r for r, _ in c.rows[:3])
    return f"- {c.family} by {c.amount:,.6g} {u}" + (f" ({worst})" if worst else "")


def _elastic_setup(d: RegionData, terms: tuple[PolicyTerm, ...], hard: bool):
    """The diagnosis LP (min-cost hard, or min-shortfall) and each family's unit and weight."""
    lp = build_lp(_plain(d), "min-cost" if hard else "min-shortfall", terms)
    units = family_units(terms)
    if not hard:
        units.pop("threshold")
    level_weight = float(np.mean(d.need))
    weights = {f: (level_weight if u == "level" else 1.0) for f, u in units.items()
               if f in ("min_transfer", "max_transfer") or lp.has_row_block(f)}
    return lp, units, weights, level_weight


def _relaxed(lp, units: dict[str, str], weights: dict[str, float], scale: float,
             region_ids: list[str]) -> list[FamilyConflict] | None:
    """The elastic LP with ``weights``' families relaxed: the families that give way, or
    None when even that is infeasible."""
    e = elastic(lp, weights)
    sol, _ = solve_lp(e.lp, "simplex")
    if sol.status != "optimal":
        return None
    x = sol.x[:e.n_original]
    t = lp.col_block("transfer")
    out = []
    for fam, col in e.slack.items():
        s = float(sol.x[col])
        if s <= TOL:
            continue
        money = units[fam] == "money"
        rows = _worst_rows(e.lp, fam, x, sol.x, t.start, t.stop, region_ids)
        out.append(FamilyConflict(fam, units[fam], s * scale if money else s,
                                  [(r, v * scale if money else v) for r, v in rows]))
    return out


def _by_cost(out: list[FamilyConflict], level_weight: float, scale: float) -> list[FamilyConflict]:
    return sorted(out, key=lambda c: -c.amount * (1.0 if c.unit == "money" else level_weight * scale))


def family_relaxations(d: RegionData, terms: tuple[PolicyTerm, ...], scale: float, region_ids: list[str],
                       hard: bool) -> list[FamilyConflict]:
    """Per family f: the least amount by which f alone must give way (one elastic LP with
    only f's slack); families that cannot restore feasibility alone are left out."""
    lp, units, weights, level_weight = _elastic_setup(d, terms, hard)
    out = []
    for fam, w in weights.items():
        found = _relaxed(lp, units, {fam: w}, scale, region_ids)
        if found:
            out.extend(found)
    return _by_cost(out, level_weight, scale)


def elastic_conflicts(d: RegionData, terms: tuple[PolicyTerm, ...], scale: float, region_ids: list[str],
                      hard: bool) -> list[FamilyConflict]:
    """The joint least relaxation: every family may give way, the weighted sum is minimal."""
    lp, units, weights, level_weight = _elastic_setup(d, terms, hard)
    return _by_cost(_relaxed(lp, units, weights, scale, region_ids) or [], level_weight, scale)


def _worst_rows(lp, fam: str, x: np.ndarray, x_full: np.ndarray, t0: int, t1: int,
                region_ids: list[str], k: int = 5) -> list[tuple[str, float]]:
    """Rows of family ``fam`` violated at the elastic solution (without its slack), largest
    first, named by the regions whose transfers they involve."""
    blk = lp.row_block(fam)
    sub = lp.A[blk.start:blk.stop, :]
    n = x.shape[0]
    full = np.concatenate([x, np.zeros(x_full.shape[0] - n)])
    act = sub @ full
    lo, up = lp.row_lower[blk.slice], lp.row_upper[blk.slice]
    v = np.maximum(np.nan_to_num(lo - act, neginf=0.0), np.nan_to_num(act - up, neginf=0.0))
    order = [int(i) for i in np.argsort(-v, kind="stable") if v[i] > TOL][:k]
    csr = sub.tocsr()
    out = []
    for i in order:
        cols = csr.indices[csr.indptr[i]:csr.indptr[i + 1]]
        regs = [region_ids[c - t0] for c in cols if t0 <= c < t1]
        # a row over many regions (the budget) is named by its count, not a wall of ids
        label = "/".join(regs) if 0 < len(regs) <= 4 else f"all {len(regs)} regions" if regs else fam
        out.append((label, float(v[i])))
    return out


__all__ = ["PolicyDiagnosis", "FamilyConflict", "elastic_conflicts", "family_relaxations", "violations"]
