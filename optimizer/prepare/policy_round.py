"""The policy side of one solve: the instance's [policy] (with overrides) and groups, the
round's data adjusted (revenue counting, contributors' bounds), the model terms, and the
Result annotated.

``optimizer.engine.solve.solve`` calls this module at its set-up, build and annotate steps
(the LP diagnosis itself is engine/conflicts.py, labelled by ``unit_labels``); when no policy
and no constrained group is set, every call is a no-op.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from models.lp import LinearProgram
from models.policies import PolicyTerm
from optimizer.core.groups import Group
from optimizer.core.instance import Instance, unit_per_capita
from optimizer.core.policy import PolicyConfig
from optimizer.core.result import Result
from optimizer.prepare.groups import group_arrays
from optimizer.prepare.policy_terms import TermInputs, compile_terms, count_revenue, lower_bounds


@dataclass(frozen=True)
class PolicyRound:
    inst: Instance                      # after revenue counting
    cfg: PolicyConfig
    groups: list[Group]

    @property
    def active(self) -> bool:
        return self.cfg.active or any(g.constrained for g in self.groups)

    def adjust(self, rd):
        """RoundData with contributors' lower transfer bounds (horizontal equalization)."""
        if self.cfg.horizontal_level is None:
            return rd
        reg = self.inst.regions
        t_min = lower_bounds(reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float),
                             rd.t_min, self.cfg)
        return dataclasses.replace(rd, t_min=t_min)

    def terms(self, rd, scale: float) -> tuple[PolicyTerm, ...]:
        if not self.active:
            return ()
        reg = self.inst.regions
        merged = reg["merged_from"].fillna("").astype(str).str.contains(r"\+").to_numpy() \
            if "merged_from" in reg.columns else np.zeros(len(reg), dtype=bool)
        members, lo, hi, lv = group_arrays(self.groups, reg)
        x = TermInputs(
            prior=reg["prior_transfer"].to_numpy(dtype=float),
            population=reg["population"].to_numpy(dtype=float),
            threshold=rd.threshold, merged=merged,
            per_capita_factor=unit_per_capita(self.inst.unit)[1],
            group_members=members, group_lower=lo, group_upper=hi, group_min_level=lv)
        return compile_terms(self.cfg, x, scale)

    def annotate(self, result: Result) -> Result:
        """Echo the policies, groups and contributions in the summary."""
        if not self.active and not self.inst.applied:
            return result
        s = dict(result.summary)
        if self.active:
            s["policy"] = self.cfg.as_dict()
            s["groups"] = [dataclasses.asdict(g) for g in self.groups if g.constrained]
            t = result.allocation["transfer"].to_numpy(dtype=float)
            s["contributions_total"] = float(-t[t < 0].sum()) + 0.0
            s["payments_total"] = float(t[t > 0].sum()) + 0.0
        if self.inst.applied:
            s["applied"] = self.inst.applied
        return Result(result.allocation, s)


def unit_labels(regions) -> list[str]:
    """Names of the LP's units in diagnoses: the region id, with the year for the stacked
    region-years of a phased round ("gyeonggi (year 2025)")."""
    ids = [str(r) for r in regions["region_id"]]
    if "year" not in regions.columns or len(set(ids)) == len(ids):
        return ids
    return [f"{r} (year {y})" for r, y in zip(ids, regions["year"])]


def policy_round(inst: Instance, override: PolicyConfig | None = None) -> PolicyRound:
    cfg = inst.policy if override is None else inst.policy.merged(override)
    groups = list(inst.groups)
    if cfg.revenue_share is not None:
        regions = count_revenue(inst.regions, cfg.revenue_share)
        extra = inst.extra_columns + (["own_revenue_full"] if "own_revenue_full" not in inst.extra_columns
                                      else [])
        inst = dataclasses.replace(inst, regions=regions, extra_columns=extra)
    return PolicyRound(inst, cfg, groups)


def tie_break_columns(lp: LinearProgram) -> slice | np.ndarray:
    """Columns (or a cost vector) of the least-spending tie-break: sum T, or, when
    contributions exist, sum T + 2 sum C = payments + contributions (gross flows)."""
    t = lp.col_block("transfer").slice
    if not any(b.name == "contribution" for b in lp.col_blocks):
        return t
    cost = np.zeros(lp.num_col)
    cost[t] = 1.0
    cost[lp.col_block("contribution").slice] = 2.0
    return cost
