"""Prices in words: what a shadow price means for the objective solved.

Every price has one meaning: d objective_value / d right-hand side, in objective units
(a level, or the instance unit for money objectives) per unit of the right-hand side (the
instance unit for the budget, a level point for a threshold); the same sign convention for
every objective, so a positive budget price raises the objective value, whatever its sense.

The words come from the objective's ``ObjectiveSpec`` (its name and unit, level or money:
passed as plain values, as explain/ never imports models/) and the quantity it optimises,
registered once in ``QUANTITY`` (an objective without an entry reads "the <name>
objective"); the verb is the sign of the change, never a per-objective branch.
"""

from __future__ import annotations

import math

# what objective_value measures, per objective: one entry per registered objective
QUANTITY: dict[str, str] = {
    "min-cost": "the least total transfer",
    "maxmin": "the minimum level",
    "leximin": "the minimum level",
    "min-shortfall": "the weighted shortfall",
    "max-mean": "the mean level",
    "min-range": "the level range (max - min)",
    "min-mad": "the mean absolute deviation of levels",
    "min-gini": "the Gini coefficient",
    "owa": "the ordered weighted average of levels",
    "cvar": "the mean level of the worst-off share",
    "log-welfare": "the log welfare",
}
BUDGET_STEP = 0.01      # the budget sentence: +1% of the budget
NOISE_RTOL = 1e-9       # a change below this (relative to max(1, budget) for money) is no change


def quantity(objective: str) -> str:
    return QUANTITY.get(objective, f"the {objective} objective")


def change_words(objective: str, money: bool, change: float, unit: str, scale_ref: float = 1.0) -> str:
    """'raises the minimum level by 0.0036' / 'lowers the least total transfer by 12.5 KRW
    billion' / 'leaves the weighted shortfall unchanged'."""
    if not abs(change) > NOISE_RTOL * (max(1.0, abs(scale_ref)) if money else 1.0):
        return f"leaves {quantity(objective)} unchanged"
    amount = f"{abs(change):,.1f} {unit}" if money else f"{abs(change):.4g}"
    return f"{'raises' if change > 0 else 'lowers'} {quantity(objective)} by {amount}"


def budget_price_text(objective: str, money: bool, price: float | None, budget: float, unit: str) -> str:
    """The budget shadow price in words: '+1% budget (598 KRW billion) raises the minimum
    level by 0.0036' (first order: price x 1% of the budget)."""
    step = BUDGET_STEP * budget
    head = f"+1% budget ({step:,.0f} {unit})"
    if price is None or not math.isfinite(price):
        return f"{head}: no single price (see the threshold dual note)"
    return f"{head} {change_words(objective, money, price * step, unit, budget)}"


def threshold_price_text(objective: str, money: bool, dual: float | None, unit: str, budget: float,
                         step: float = 0.01) -> str:
    """A region's threshold dual in words: 'raising its threshold by 0.01 lowers the minimum
    level by 0.0012'."""
    head = f"raising its threshold by {step:g}"
    if dual is None or not math.isfinite(dual):
        return f"{head}: no single price"
    return f"{head} {change_words(objective, money, dual * step, unit, budget)}"


def summary_price_text(s: dict) -> str:
    """The budget sentence of a summary, or why there is none: a phased round's total budget
    row is implied by its year rows (each ``years[y]`` has its own price)."""
    price = s.get("budget_shadow_price")
    if price is not None and math.isfinite(price):
        return s.get("budget_shadow_price_text") or ""
    if "years" in s:
        return "no single price for the total budget of a phased round (each year's is in summary.json years)"
    return "no single price" + (f": {s['threshold_dual_note']}" if s.get("threshold_dual_note") else "")
