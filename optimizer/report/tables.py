"""Plain-text tables for the terminal (the CLI prints them)."""

from __future__ import annotations

from optimizer.core.instance import unit_per_capita
from optimizer.core.result import Result
from optimizer.explain.prices import summary_price_text
from optimizer.prepare.merge import guarantee_text
from optimizer.report.formula_text import formula_footer
from optimizer.report.text import NO_CHANGE, signed_figure, text_table


def _fmt_money(x: float) -> str:
    return f"{x:,.1f}"


MAX_ROWS = 60   # a terminal table beyond this shows head and tail; the files hold every row


def allocation_table(result: Result, unit: str) -> str:
    full, s = result.allocation, result.summary
    pc_unit = s.get("per_capita_unit", unit)
    headers = ["region", "name", "population", "level before", f"transfer ({unit})",
               f"per capita ({pc_unit})", "level after", "reason"]
    shown = full if len(full) <= MAX_ROWS else full.iloc[list(range(MAX_ROWS // 2)) +
                                                         list(range(len(full) - MAX_ROWS // 2, len(full)))]
    rows = [[str(r.region_id), str(r.name), f"{int(r.population):,}", f"{r.level_before:.4f}",
             _fmt_money(r.transfer), f"{r.transfer_per_capita:,.0f}", f"{r.level_after:.4f}",
             _reason(r)] for r in shown.itertuples()]
    if len(full) > MAX_ROWS:
        rows.insert(MAX_ROWS // 2, [f"... {len(full) - MAX_ROWS:,} more regions (use --output or "
                                    "--format csv for all)", "", "", "", "", "", "", ""])
    a = full
    pop = a.population.sum()
    total_t = a.transfer.sum()
    rows.append(["TOTAL", "", f"{int(pop):,}", f"{s['metrics_before']['mean_level']:.4f}",
                 _fmt_money(total_t), f"{total_t * unit_per_capita(unit)[1] / pop:,.0f}",
                 f"{s['metrics_after']['mean_level']:.4f}", ""])
    out = text_table(headers, rows[:-1], {2, 3, 4, 5, 6}, totals=[rows[-1]],
                     measured=lambda row: not row[0].startswith("... "))
    m = s["metrics_after"]
    out.append("")
    out.append(f"status: {s['status']}  objective: {s['objective']} = {shown_value(s['objective_value'])} "
               f"({s['objective_unit']})  budget used: {s['budget_used']:,.1f} of {s['budget']:,.1f} {unit}  "
               f"required for thresholds: {s['required_budget']:,.1f} {unit}")
    out.append(f"levels: min {m['min_level']:.4f}  max {m['max_level']:.4f}  gini {m['gini']:.4f}  "
               f"below threshold: {m['regions_below_threshold']}  "
               + (f"(HiGHS {s['solver']['version']}, {s['solve_seconds']:.3f} s)"
                  if s["budget_shadow_price"] is not None or "formula" not in s else   # a formula: no LP, no duals
                  f"a formula (optimizer/formulas), thresholds reported not enforced, {s['solve_seconds']:.3f} s"))
    if "formula" not in s:   # a formula has no LP and no prices
        out.extend(price_footer(s, unit))
    out.extend(fairness_footer(s, unit))
    out.extend(formula_footer(s))
    out.extend(change_footer(s))
    out.extend(rounding_footer(s, unit))
    return "\n".join(out)


def _reason(r) -> str:
    """The reason column (explain/reasons.py); the binding tags where a frame has none."""
    return getattr(r, "reason", None) or r.binding or "-"


def shown_value(x: float | None) -> str:
    """A figure for a footer: 6 significant digits, an empty one as n/a (noise is already 0.0)."""
    return "n/a" if x is None or x != x else f"{x:.6g}"


def price_footer(s: dict, unit: str) -> list[str]:
    """The budget shadow price as a number with its unit and in words; the note when the
    threshold duals (or the price) are left empty."""
    obj_unit = unit if s.get("objective_unit") == unit else s.get("objective_unit", "level")
    line = f"budget shadow price: {shown_value(s.get('budget_shadow_price'))} {obj_unit} per {unit}"
    words = summary_price_text(s)
    out = [line + (f" ({words})" if words else "")]
    if s.get("threshold_dual_note"):
        out.append(f"threshold duals left empty: {s['threshold_dual_note']}")
    return out


def explain_table(result: Result) -> str:
    """``solve --explain``: per region its level, threshold, threshold dual (d objective /
    d threshold, docs/schema.md), binding constraints and reason."""
    a, s = result.allocation, result.summary
    dual_unit = s.get("objective_unit", "level")
    headers = ["region", "level", "threshold", f"dual ({dual_unit} per level)", "binding", "reason"]
    rows = [[str(r.region_id), f"{r.level_after:.4f}", f"{r.threshold:.4g}",
             "" if r.threshold_dual != r.threshold_dual else f"{r.threshold_dual:.4g}",
             r.binding or "-", _reason(r)] for r in a.itertuples()]
    out = ["per-region prices and reasons (dual = d objective / d threshold; empty: see the note)",
           *text_table(headers, rows, {1, 2, 3})]
    return "\n".join(out)


def _show_change(e: dict) -> str:
    pct = "" if e["change_pct"] is None else f" ({signed_figure(e['change_pct'])}%)"
    return f"{e['region']} {signed_figure(e['change'])}{pct}"


def total_change_figure(c: dict) -> str:
    """'+10.0', '-0.0010' (a change too small for one decimal), or NO_CHANGE within the
    tolerance summed over the regions compared."""
    n = max(1, c.get("winners", 0) + c.get("losers", 0) + c.get("unchanged", 0))
    return signed_figure(c["total_change"], c.get("tolerance", 0.0) * n)


def total_change_text(c: dict) -> str:
    shown = total_change_figure(c)
    return "no change in total" if shown == NO_CHANGE else f"total {shown}"


def change_footer(s: dict) -> list[str]:
    """One or two lines for a table footer: counts, then the largest gain and loss."""
    c = s.get("change_vs_prior")
    if not c:
        return []
    line = (f"change vs last year ({c['against']}): {c['winners']} up, {c['losers']} down, {c['unchanged']} "
            f"unchanged (within {c['tolerance']:.3g}); {total_change_text(c)}")
    prior, now = c.get("total_prior", 0.0), c.get("total_transfer", 0.0)
    if prior > 0 and abs(now - prior) > 0.01 * prior:
        # a pool of another size (or last year's figure on another basis) moves every region:
        # say so beside the counts, or "13 down" reads as a judgement on those regions
        line += (f"; last year's transfers total {prior:,.1f}, this round's {now:,.1f} "
                 f"({100 * (now - prior) / prior:+.1f}%)")
    top = []
    if c["largest_gains"]:
        top.append("largest gains: " + ", ".join(_show_change(e) for e in c["largest_gains"]))
    if c["largest_losses"]:
        top.append("largest losses: " + ", ".join(_show_change(e) for e in c["largest_losses"]))
    return [line] + (["; ".join(top)] if top else [])


def rounding_footer(s: dict, unit: str) -> list[str]:
    r = s.get("rounding")
    if not r:
        return []
    return [f"rounded to multiples of {r['unit']:g} {unit}: largest move {r['largest_move']:.6g} {unit}; "
            f"total {r['total_before']:,.6f} -> {r['total_after']:,.6f}"]


def fairness_footer(s: dict, unit: str) -> list[str]:
    """Inequality metrics before -> after, the price of fairness and the objective's notes."""
    b, m = s.get("metrics_before"), s["metrics_after"]
    if b is None:
        return []
    keys = [("mean", "mean_level"), ("min", "min_level"), ("max/min", "max_min_ratio"), ("cv", "cv"),
            ("gini", "gini"), ("theil", "theil"), ("atkinson(1)", "atkinson_1"), ("atkinson(2)", "atkinson_2"),
            ("pop below thr", "population_share_below_threshold")]
    out = ["inequality before -> after: " + "  ".join(
        f"{label} {b[k]:.4f}->{m[k]:.4f}" for label, k in keys if k in b and k in m)]
    extra = []
    if "total_shortfall" in m:
        extra.append(f"total shortfall {b.get('total_shortfall', float('nan')):,.1f} -> "
                     f"{m['total_shortfall']:,.1f} {unit}")
    pof = s.get("price_of_fairness") or {}
    if pof.get("value") is not None:
        extra.append(f"price of fairness {pof['value']:.4%} (mean level {pof['mean_level']:.4f} vs "
                     f"max-mean {pof['max_mean_level']:.4f})")
    if s.get("thresholds"):
        extra.append(f"thresholds {s['thresholds']}"
                     + (f" (shortfall held at {s['shortfall_held']:.6g})" if "shortfall_held" in s else ""))
    if "leximin_stages" in s:
        extra.append(f"leximin stages {s['leximin_stages']}")
    if "gini_lps" in s:
        extra.append(f"min-gini: {s['gini_form']} form, {s['gini_dinkelbach_steps']} Dinkelbach steps, "
                     f"{s['gini_lps']} LPs")
    if "log_welfare" in s:
        lw = s["log_welfare"]
        extra.append(f"log-welfare: optimum within {lw['certified_gap']:.2e} of the value shown "
                     f"(a-priori bound {lw['a_priori_error_bound']:.2e}, {lw['breakpoints']} tangents/region)")
    if extra:
        out.append("  ".join(extra))
    return out


def merge_effect_table(effect, unit: str, guarantee: list[dict] | None = None) -> str:
    """What a merger changes (optimizer.prepare.merge.merge_effect), one line per region; with
    the merger guarantee on, one more line: whether it bound and by how much."""
    headers = ["region", f"transfer without ({unit})", f"with ({unit})", "change", "level without",
               "with", "change"]
    year = (lambda r: f" ({r.year})") if "year" in effect.columns else (lambda r: "")  # phased rounds
    rows = [[("* " if r.merged else "  ") + str(r.region_id) + year(r), _fmt_money(r.transfer_without_merger),
             _fmt_money(r.transfer_with_merger), f"{r.transfer_change:+,.1f}", f"{r.level_without_merger:.4f}",
             f"{r.level_with_merger:.4f}", f"{r.level_change:+.4f}"] for r in effect.itertuples()]
    out = ["merger effect (* = merged unit; 'without' = the same solve without the merger)",
           *text_table(headers, rows, range(1, len(headers)))]
    if guarantee is not None:
        out.append(guarantee_text(guarantee, unit))
    return "\n".join(out)
