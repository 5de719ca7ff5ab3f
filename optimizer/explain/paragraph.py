"""``equalize explain``: one region's allocation as a paragraph an analyst can read out.

The arithmetic (transfer = level x need - own revenue, with the numbers), the constraints
that bind and the reason (explain/reasons.py), and what raising this region's threshold or
the budget would change, read off the duals (explain/prices.py: d objective / d rhs, first
order). Nothing is solved here: the paragraph is the solve's Result put into words.
"""

from __future__ import annotations

import pandas as pd

from optimizer.core.errors import UsageError, nearest
from optimizer.explain.prices import summary_price_text, threshold_price_text
from optimizer.explain.reasons import money

THRESHOLD_STEP = 0.01   # "raising its threshold by 0.01"


def region_rows(alloc: pd.DataFrame, region: str) -> pd.DataFrame:
    """The allocation rows of ``region`` (one, or one per year); UsageError with the nearest
    region id when it is unknown."""
    ids = alloc["region_id"].astype(str)
    rows = alloc[ids == str(region)]
    if rows.empty:
        near = nearest(region, list(dict.fromkeys(ids)))
        hint = f"; did you mean '{near}'?" if near else ""
        raise UsageError(f"--region: unknown region '{region}'{hint}")
    return rows


def _arithmetic(r, unit: str) -> str:
    return (f"transfer = level x need - own revenue = {r.level_after:.4f} x {money(r.fiscal_need)} - "
            f"{money(r.own_revenue)} = {money(r.transfer)} {unit} (its own level {r.level_before:.4f} "
            f"rises to {r.level_after:.4f}; threshold {r.threshold:.4g})")


def _threshold_cost(r, s: dict, unit: str) -> str:
    money_objective = s.get("objective_unit") == unit
    dual = None if r.threshold_dual != r.threshold_dual else float(r.threshold_dual)
    words = threshold_price_text(s["objective"], money_objective, dual, unit, s["budget"], THRESHOLD_STEP)
    if dual is None and s.get("threshold_dual_note"):
        words += f" ({s['threshold_dual_note']})"
    if "threshold" in str(r.binding or "").split(";"):   # held at it: the level must rise with it
        words += (f"; meeting it would take {money(THRESHOLD_STEP * r.fiscal_need)} {unit} more for this "
                  "region alone")
    return words


def region_paragraph(alloc: pd.DataFrame, summary: dict, region: str, unit: str) -> str:
    """One paragraph per allocation row of ``region`` (per year in a phased round)."""
    if summary.get("status") == "computed":
        return _formula_paragraphs(alloc, summary, region, unit)
    out = []
    for r in region_rows(alloc, region).itertuples():
        year = f" in {r.year}" if hasattr(r, "year") else ""
        binding = r.binding if isinstance(r.binding, str) and r.binding else "none"
        price = summary_price_text(summary)
        out.append(
            f"{r.region_id} ({r.name}){year}, objective {summary['objective']}, budget "
            f"{money(summary['budget'])} {unit}: {_arithmetic(r, unit)}. "
            f"Binding constraints: {binding}; reason: {getattr(r, 'reason', '') or '-'}. "
            f"Threshold dual {_dual(r)} ({summary.get('objective_unit', 'level')} per unit of threshold): "
            f"{_threshold_cost(r, summary, unit)}. Budget: {price or 'no price reported'}.")
    return "\n\n".join(out)


def _dual(r) -> str:
    return "empty" if r.threshold_dual != r.threshold_dual else f"{r.threshold_dual:.6g}"


def _formula_paragraphs(alloc: pd.DataFrame, summary: dict, region: str, unit: str) -> str:
    """A formula baseline (optimizer/formulas): the rule's own arithmetic; nothing was
    optimised, so there are no binding constraints and no prices to read."""
    out = []
    for r in region_rows(alloc, region).itertuples():
        out.append(
            f"{r.region_id} ({r.name}), formula {summary['objective']}, budget {money(summary['budget'])} {unit}: "
            f"{getattr(r, 'reason', '') or '-'} {unit} (level {r.level_before:.4f} -> {r.level_after:.4f}; "
            f"threshold {r.threshold:.4g}, reported, not enforced). A formula computes the split by law: no "
            "constraint binds and there is no price of a threshold or of the budget.")
    return "\n\n".join(out)
