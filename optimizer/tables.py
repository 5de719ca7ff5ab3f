"""Plain-text tables for the terminal (the CLI prints them)."""

from __future__ import annotations

from optimizer.instance import unit_per_capita
from optimizer.result import Result


def _fmt_money(x: float) -> str:
    return f"{x:,.1f}"


def allocation_table(result: Result, unit: str) -> str:
    a, s = result.allocation, result.summary
    pc_unit = s.get("per_capita_unit", unit)
    headers = ["region", "name", "population", "level before", f"transfer ({unit})",
               f"per capita ({pc_unit})", "level after", "binding"]
    rows = [[str(r.region_id), str(r.name), f"{int(r.population):,}", f"{r.level_before:.4f}",
             _fmt_money(r.transfer), f"{r.transfer_per_capita:,.0f}", f"{r.level_after:.4f}",
             r.binding or "-"] for r in a.itertuples()]
    pop = a.population.sum()
    total_t = a.transfer.sum()
    rows.append(["TOTAL", "", f"{int(pop):,}", f"{s['metrics_before']['mean_level']:.4f}",
                 _fmt_money(total_t), f"{total_t * unit_per_capita(unit)[1] / pop:,.0f}",
                 f"{s['metrics_after']['mean_level']:.4f}", ""])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    right = {2, 3, 4, 5, 6}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows[:-1]]
    out += ["  ".join("-" * w for w in widths), line(rows[-1])]
    m = s["metrics_after"]
    out.append("")
    out.append(f"status: {s['status']}  objective: {s['objective']} = {s['objective_value']:.6g} "
               f"({s['objective_unit']})  budget used: {s['budget_used']:,.1f} of {s['budget']:,.1f} {unit}  "
               f"required for thresholds: {s['required_budget']:,.1f} {unit}")
    out.append(f"levels: min {m['min_level']:.4f}  max {m['max_level']:.4f}  gini {m['gini']:.4f}  "
               f"below threshold: {m['regions_below_threshold']}  "
               f"budget shadow price: {s['budget_shadow_price']:.4g} per {unit}  "
               f"(HiGHS {s['solver']['version']}, {s['solve_seconds']:.3f} s)")
    return "\n".join(out)

