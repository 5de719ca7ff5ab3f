"""Terminal tables of a round: the plain allocation table, the year-by-region table of a
phased round and the per-service table when services are modelled."""

from __future__ import annotations

import pandas as pd

from optimizer.core.result import Result
from optimizer.report.tables import allocation_table, total_change_text
from optimizer.report.text import text_table


def round_table(result: Result, unit: str) -> str:
    if "years" in result.summary:
        text = phased_table(result, unit)
    else:
        text = allocation_table(result, unit)
    if "services" in result.tables:
        text += "\n\n" + services_table_text(result.tables["services"])
    return text


def phased_table(result: Result, unit: str) -> str:
    """One row per region: the transfer and level of each year (year labels and the unit in
    the headers); per year in the footer: budget, levels, Gini, regions below threshold and
    the change against the year before (the first year: against prior_transfer)."""
    a, s = result.allocation, result.summary
    years = [y["year"] for y in s["years"]]
    ids = list(dict.fromkeys(a["region_id"]))
    headers = (["region"] + [f"transfer {y} ({unit})" for y in years] + [f"level {y}" for y in years]
               + [f"reason ({years[-1]})"])
    rows = []
    for rid in ids:
        part = a[a["region_id"] == rid]
        rows.append([str(rid)] + [f"{x:,.1f}" for x in part["transfer"]] + [f"{x:.4f}" for x in part["level_after"]]
                    + [_last_reason(part)])
    out = text_table(headers, rows, range(1, len(headers) - 1)) + [""]
    for y in s["years"]:
        gini = f"; gini {y['gini']:.4f}" if "gini" in y else ""
        out.append(f"{y['year']}: budget {y['budget']:,.1f} {unit}, used {y['budget_used']:,.1f}; levels min "
                   f"{y['min_level']:.4f} max {y['max_level']:.4f}{gini}; below threshold "
                   f"{y['regions_below_threshold']}" + _year_change(y.get("change_vs_previous")))
    out.append(f"status: {s['status']}  objective: {s['objective']} = {s['objective_value']:.6g} "
               f"({s['phasing']['objective_over_years']})")
    return "\n".join(out)


def _last_reason(part: pd.DataFrame) -> str:
    """The last year's reason (explain/reasons.py), else its binding tags."""
    col = "reason" if "reason" in part.columns else "binding"
    return part[col].iloc[-1] or "-"


def _year_change(c: dict | None) -> str:
    if not c:
        return ""
    return (f"; vs {'last year' if c['against'] == 'prior_transfer' else c['against']}: {c['winners']} up, "
            f"{c['losers']} down, {c['unchanged']} unchanged, {total_change_text(c)}")


def services_table_text(t: pd.DataFrame) -> str:
    headers = ["region", "service", "need", "threshold", "transfer", "level before", "level after", "binding"]
    rows = [[str(r.region_id), str(r.service), f"{r.need:,.1f}", f"{r.threshold:.3f}", f"{r.transfer:,.1f}",
             f"{r.level_before:.4f}", f"{r.level_after:.4f}", r.binding or "-"] for r in t.itertuples()]
    return "\n".join(["service levels", *text_table(headers, rows, range(2, 7))])
