"""Equalization among the states of a federation: Canada, Germany, Australia.

Per-capita inputs are in the base currency per person (C$, EUR, A$), money in the instance
unit; ``FormulaInput.per_capita_to_money`` converts.
"""

from __future__ import annotations

import numpy as np

from optimizer.core.errors import UsageError
from optimizer.formulas.params import RoundParameters
from optimizer.formulas.registry import FormulaInput, Outcome, by_case, formula, phrase


def _canada_payment(ent: np.ndarray, full: np.ndarray, a: float, cap: bool) -> np.ndarray:
    """Per-capita payments at adjustment ``a``: max(0, ent + a), and with the cap at most
    cap + a - full, cap = the fiscal capacity (resources at 100%) of the lowest-capacity
    province not entitled (FPFAA s. 3.4: no receiving province above a non-receiving one)."""
    pay = ent + a
    if cap and (ent <= 0).any():
        level = float(full[ent <= 0].min())
        pay = np.minimum(pay, level + a - full)
    return np.maximum(0.0, pay)


def _solve_adjustment(ent, full, pop, target: float, cap: bool) -> float:
    """The equal per-capita adjustment a with sum_i pop_i pay_i(a) = target (bisection: the
    total is continuous and nondecreasing in a)."""
    lo, hi = -float(ent.max()) - 1.0, abs(target) / pop.sum() + 1.0
    while np.dot(pop, _canada_payment(ent, full, hi, cap)) < target and hi < 1e15:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.dot(pop, _canada_payment(ent, full, mid, cap)) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@formula("canada", "canada", "Canada's Equalization: per-capita fiscal capacity against the 10-province "
         "standard, the better of 0% and 50% resource inclusion, the fiscal-capacity cap, the total "
         "set by the GDP-growth ceiling (equal per-capita adjustment)")
def canada(x: FormulaInput, p: RoundParameters) -> Outcome:
    """With N_i, R_i the non-resource and resource fiscal capacity per head and the standard
    S(r) = sum pop (N + r R) / sum pop: ent_i = max(0, max over r in {low, high} of
    S(r) - (N_i + r R_i)). pay_i = max(0, min(ent_i + a, C + a - (N_i + R_i))), where C is
    the fiscal capacity (resources at 100%) of the lowest-capacity province not entitled
    (the fiscal-capacity cap) and ``a`` the equal per-capita adjustment that makes the total
    the envelope B (the GDP-growth ceiling): a = 0 without the adjustment, or the
    ``adjustment_pc`` option when given. A province at the cap still gets ``a``: Ontario's
    C$36 in 2025-26 (docs/real-systems.md)."""
    n_cap = x.column("fc_nonresource_pc", "canada")
    r_cap = x.column("fc_resource_pc", "canada")
    pop = x.population
    std = lambda r: float(np.dot(pop, n_cap + r * r_cap) / pop.sum())
    lo, hi = p["resource_inclusion_low"], p["resource_inclusion_high"]
    e_lo, e_hi = std(lo) - (n_cap + lo * r_cap), std(hi) - (n_cap + hi * r_cap)
    ent = np.maximum(0.0, np.maximum(e_lo, e_hi))
    full, cap = n_cap + r_cap, bool(p["fiscal_capacity_cap"])
    target = x.budget * x.per_capita_factor
    a = 0.0
    if np.isfinite(p["adjustment_pc"]):     # given (e.g. the one implied by published payments)
        a = p["adjustment_pc"]
    elif p["ceiling_adjustment"] and (ent > 0).any():
        a = _solve_adjustment(ent, full, pop, target, cap)
    pay = _canada_payment(ent, full, a, cap)
    notes = [f"standard per head: {std(lo):,.2f} at {lo:g} resource inclusion, {std(hi):,.2f} at {hi:g}",
             f"equal per-capita adjustment {a:+,.2f} per head"]
    money = x.per_capita_to_money(pay)
    capped = pay < np.maximum(0.0, ent + a) - 1e-9 * np.maximum(1.0, np.abs(ent))
    reason = by_case(
        phrase(f"entitlement {{:,.2f}} per head (the better of {lo:g} and {hi:g} resource inclusion) {a:+,.2f} "
               "adjustment = {:,.2f} per head x population {:,.0f} = {:,.1f}", ent, pay, pop, money),
        (capped, phrase("at the fiscal-capacity cap (the lowest-capacity province not entitled): {:,.2f} per head "
                        f"(entitlement {{:,.2f}} {a:+,.2f}) x population {{:,.0f}} = {{:,.1f}}", pay, ent, pop, money)),
        (pay <= 0, phrase(f"no payment: entitlement {{:,.2f}} per head {a:+,.2f} adjustment is not positive "
                          "(fiscal capacity {:,.2f} per head)", ent, full)))
    return Outcome(money, a, "equal per-capita adjustment to the ceiling (base currency)",
                   {"entitlement_low_pc": e_lo, "entitlement_high_pc": e_hi, "entitlement_pc": ent,
                    "payment_pc": pay}, notes, within_budget=not np.isfinite(p["adjustment_pc"]), reason=reason)


def _financial_strength(x: FormulaInput, p: RoundParameters) -> np.ndarray:
    cols = x.regions.columns
    if "land_finanzkraft" in cols and "municipal_finanzkraft" in cols:
        return x.column("land_finanzkraft", "germany") + p["municipal_share"] * x.column("municipal_finanzkraft",
                                                                                          "germany")
    return x.column("finanzkraft", "germany")


@formula("germany", "germany", "Germany's Finanzkraftausgleich (since 2020): 135% city-state weighting, "
         "municipal taxes at 75%, 63% surcharge/deduction around the average; general federal "
         "supplementary grants 80% of the gap to 99.75% (payers negative)", payers=True, uses_budget=False)
def germany(x: FormulaInput, p: RoundParameters) -> Outcome:
    """wpop_i = pop_i x (1.35 for city states); A = sum fk / sum wpop (the average financial
    strength per weighted inhabitant); AMZ_i = A wpop_i; horizontal_i = 0.63 (AMZ_i - fk_i)
    (sums to zero: deductions pay the surcharges); BEZ_i = 0.8 max(0, 0.9975 AMZ_i - fk_i
    - horizontal_i). transfer = horizontal (+ BEZ with with_federal_grants = 1)."""
    fk = _financial_strength(x, p)
    city = x.column("city_state", "germany") > 0
    wpop = x.population * np.where(city, p["city_state_weight"], 1.0)
    avg = fk.sum() / wpop.sum()
    amz = avg * wpop
    horizontal = p["surcharge_rate"] * (amz - fk)
    bez = p["bez_rate"] * np.maximum(0.0, p["bez_threshold"] * amz - (fk + horizontal))
    t = horizontal + (bez if p["with_federal_grants"] else 0.0)
    notes = [f"general federal supplementary grants total {bez.sum():,.6g} "
             f"({'in' if p['with_federal_grants'] else 'not in'} the transfer)"]
    federal = "; general federal supplementary grant {:,.1f}" if p["with_federal_grants"] else ""
    reason = phrase(f"horizontal {{:+,.1f}} = {p['surcharge_rate']:g} x (measure {{:,.1f}} - financial strength "
                    f"{{:,.1f}}){federal}: {{:+,.1f}}",
                    *((horizontal, amz, fk, bez, t) if federal else (horizontal, amz, fk, t)))
    return Outcome(t, avg * x.per_capita_factor, "average financial strength per weighted inhabitant",
                   {"financial_strength": fk, "weighted_population": wpop, "measure": amz,
                    "horizontal": horizontal, "federal_supplementary": bez}, notes, reason=reason)


def relativities(x: FormulaInput) -> tuple[np.ndarray, str]:
    """``gst_relativity``, else the fiscal year's column (gst_relativity_2025_26 for year 2025)."""
    names = ["gst_relativity"]
    if x.year is not None:
        names.append(f"gst_relativity_{x.year}_{(x.year + 1) % 100:02d}")
    for name in names:
        if name in x.regions.columns:
            return x.column(name, "australia"), name
    raise UsageError(f"formula 'australia' needs a relativity column: {' or '.join(names)}")


@formula("australia", "australia", "Australia's GST distribution: relativity x pool x population share / sum, "
         "relativity floor 0.75, the stronger of NSW and Victoria as benchmark (from 2027-28)")
def australia(x: FormulaInput, p: RoundParameters) -> Outcome:
    """rel'_i = max(rel_i, floor) (and, with the benchmark, at least min(rel_NSW, rel_VIC):
    no state is equalised below the fiscally stronger of the two); t_i = B rel'_i pop_i /
    sum_j rel'_j pop_j; the figure is B / sum rel' pop, the GST per relativity-weighted head."""
    rel, name = relativities(x)
    used = np.maximum(rel, p["relativity_floor"])
    if p["benchmark_stronger"]:
        ids = [i.lower() for i in x.ids]
        if "nsw" not in ids or "vic" not in ids:
            raise UsageError("formula 'australia': the benchmark needs regions 'nsw' and 'vic'")
        used = np.maximum(used, min(rel[ids.index("nsw")], rel[ids.index("vic")]))
    weighted = used * x.population
    per_head = x.budget * x.per_capita_factor / weighted.sum()
    t = x.budget * weighted / weighted.sum()
    reason = by_case(
        phrase("relativity {:.5f} x population {:,.0f} = {:.4%} of the weighted population: {:,.1f}",
               used, x.population, weighted / weighted.sum(), t),
        (used > rel, phrase("relativity {:.5f} raised to {:.5f} (floor or benchmark) x population {:,.0f} = {:.4%} of "
                            "the weighted population: {:,.1f}", rel, used, x.population, weighted / weighted.sum(), t)))
    return Outcome(t, per_head, "GST per relativity-weighted head (base currency)",
                   {"relativity": used, "gst_per_capita": used * per_head},
                   [f"relativities from '{name}', floor {p['relativity_floor']:g}"], reason=reason)
