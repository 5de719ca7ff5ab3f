"""Gap-filling grants to local governments (Korea, Japan) and the two reference rules.

Notation: need_i = fiscal_need (basic / standard fiscal need), R_i = the counted revenue
base (``standard_revenue`` when the instance gives it, else own_revenue), B = the budget.
"""

from __future__ import annotations

import numpy as np

from optimizer.formulas.params import RoundParameters
from optimizer.formulas.registry import FormulaInput, Outcome, by_case, formula, phrase

FIXED_SHARE_REGION = "jeju"   # Jeju Special Act art. 12: a fixed share of the Local Share Tax


def revenue_base(x: FormulaInput) -> tuple[np.ndarray, str]:
    """The revenue the law counts: the standard tax revenue where the instance gives it."""
    if "standard_revenue" in x.regions.columns:
        return x.column("standard_revenue", "revenue base"), "standard_revenue"
    return x.own, "own_revenue"


def coefficient_with_guarantee(shortfall: np.ndarray, floor: np.ndarray, pool: float) -> tuple[np.ndarray, float]:
    """grant_i = max(c * shortfall_i, floor_i) with sum grant = pool: the guaranteed regions
    take their floor, c is recomputed over the others until no floor binds anew."""
    fixed = np.zeros(shortfall.shape, dtype=bool)
    c = 0.0
    for _ in range(shortfall.size + 1):
        rest = shortfall[~fixed].sum()
        c = (pool - floor[fixed].sum()) / rest if rest > 0 else 0.0
        newly = ~fixed & (floor > c * shortfall)
        if not newly.any():
            break
        fixed |= newly
    return np.where(fixed, floor, c * shortfall), c


@formula("korea-lst", "korea-lst", "Korea's Local Share Tax ordinary grant: (basic need - 80% of revenue) x "
         "adjustment coefficient (pool / total shortfall); merged units keep their predecessors' grants")
def korea_lst(x: FormulaInput, p: RoundParameters) -> Outcome:
    """shortfall_i = max(0, need_i - s R_i) with s = revenue_share (80%); coefficient
    c = B / sum_i shortfall_i; grant_i = c shortfall_i (non-recipients 0). A region made by
    a merge gets max(c shortfall_i, sum of its predecessors' grants (prior_transfer)), the
    guarantee funded from the pool (c recomputed over the others). Jeju (region id 'jeju')
    takes its fixed share of the pool (jeju_share, 3%) and is outside the coefficient."""
    base, basis = revenue_base(x)
    counted = p["revenue_share"] * base
    shortfall = np.maximum(0.0, x.need - counted)
    guarantee = np.where(x.merged & np.isfinite(x.prior), np.nan_to_num(x.prior), 0.0) \
        if p["merger_guarantee"] else np.zeros(x.need.shape)
    fixed = np.array([i.lower() == FIXED_SHARE_REGION for i in x.ids]) if p["jeju_share"] > 0 \
        else np.zeros(len(x.ids), dtype=bool)
    pool = x.budget * (1.0 - p["jeju_share"] * fixed.any())
    t, c = coefficient_with_guarantee(np.where(fixed, 0.0, shortfall), guarantee, pool)
    t = np.where(fixed, x.budget * p["jeju_share"], t)
    notes = [f"revenue counted: {p['revenue_share']:g} x {basis}"]
    if fixed.any():
        notes.append(f"'{FIXED_SHARE_REGION}' takes its fixed share {p['jeju_share']:g} of the pool (special act)")
    if (guarantee > 0).any():
        notes.append(f"merger guarantee (year 1 of {int(p['guarantee_years'])}): "
                     f"{int(((guarantee > 0) & (t == guarantee)).sum())} merged unit(s) at their predecessors' grants")
    reason = by_case(
        phrase(f"(basic need {{:,.1f}} - {p['revenue_share']:g} x {basis} {{:,.1f}}) x adjustment coefficient "
               f"{c:.6g} = {{:,.1f}}", x.need, base, t),
        (shortfall <= 0, phrase(f"no grant: {p['revenue_share']:g} x {basis} {{:,.1f}} covers the basic need "
                                "{:,.1f}", base, x.need)),
        ((guarantee > 0) & (t == guarantee), phrase(f"merger guarantee: its predecessors' grants {{:,.1f}}, above "
                                                    f"its shortfall {{:,.1f}} x the coefficient {c:.6g} = {{:,.1f}}",
                                                    guarantee, shortfall, c * shortfall)),
        (fixed, phrase(f"fixed share {p['jeju_share']:g} of the pool (special act), outside the coefficient: "
                       "{:,.1f}", t)))
    return Outcome(t, c, "adjustment coefficient (pool / total shortfall)",
                   {"basic_revenue": counted, "shortfall": shortfall,
                    "guarantee": guarantee}, notes, reason=reason)


@formula("japan-lat", "japan-lat", "Japan's Local Allocation Tax: standard need - 75% of standard revenue, "
         "cut in proportion when the pool is short")
def japan_lat(x: FormulaInput, p: RoundParameters) -> Outcome:
    """gap_i = max(0, need_i - s R_i), s = revenue_share (75%); grant_i = gap_i when the pool
    covers sum gap, else gap_i x B / sum gap (the shortfall of the pool cut in proportion to
    the grant); any pool left over is not distributed (reported as budget unused)."""
    base, basis = revenue_base(x)
    counted = p["revenue_share"] * base
    gap = np.maximum(0.0, x.need - counted)
    total = gap.sum()
    ratio = min(1.0, x.budget / total) if total > 0 else 1.0
    reason = by_case(
        phrase(f"gap {{:,.1f}} (standard need {{:,.1f}} - {p['revenue_share']:g} x {basis} {{:,.1f}}) x share "
               f"paid {ratio:.6g} = {{:,.1f}}", gap, x.need, base, gap * ratio),
        (gap <= 0, phrase(f"no grant: {p['revenue_share']:g} x {basis} {{:,.1f}} covers the standard need "
                          "{:,.1f}", base, x.need)))
    return Outcome(gap * ratio, ratio, "share of the total gap paid (1 = the pool covers it)",
                   {"standard_revenue_counted": counted, "gap": gap},
                   [f"revenue counted: {p['revenue_share']:g} x {basis}"], reason=reason)


@formula("proportional", "proportional", "Reference rule: the pool in proportion to each region's gap to "
         "its threshold (threshold x need - own revenue)")
def proportional(x: FormulaInput, p: RoundParameters) -> Outcome:
    """gap_i = max(0, threshold_i need_i - own_i); t_i = B gap_i / sum gap (nothing paid
    when no region is below its threshold)."""
    gap = np.maximum(0.0, x.threshold * x.need - x.own)
    total = gap.sum()
    share = x.budget / total if total > 0 else 0.0
    reason = by_case(
        phrase(f"gap to its threshold {{:,.1f}} ({{:.4f}} x need {{:,.1f}} - own revenue {{:,.1f}}) x pool / "
               f"total gap {share:.6g} = {{:,.1f}}", gap, x.threshold, x.need, x.own, gap * share),
        (gap <= 0, phrase("no transfer: own revenue {:,.1f} reaches its threshold {:.4f} x need {:,.1f}",
                          x.own, x.threshold, x.need)))
    return Outcome(gap * share, share, "pool / total gap to the thresholds", {"gap": gap}, reason=reason)


@formula("per-capita", "per-capita", "Reference rule: the pool split equally per head")
def per_capita(x: FormulaInput, p: RoundParameters) -> Outcome:
    """t_i = B pop_i / sum pop; the figure is the amount per head in the base currency."""
    t = x.budget * x.population / x.population.sum()
    reason = phrase(f"equal per head: population {{:,.0f}} of {x.population.sum():,.0f} x the pool {x.budget:,.1f} "
                    "= {:,.1f}", x.population, t)
    return Outcome(t, x.budget * x.per_capita_factor / x.population.sum(), "amount per head (base currency)",
                   reason=reason)
