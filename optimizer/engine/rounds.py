"""Which solve a round needs: plain, multi-year (engine/phasing.py) or with services
(engine/services.py). Nothing here prints; the CLI calls ``solve_round``."""

from __future__ import annotations

from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.engine.phasing import solve_phased
from optimizer.engine.services import solve_with_services
from optimizer.engine.solve import solve
from optimizer.prepare.phasing import phasing_of
from optimizer.prepare.services import service_options, services_frame


def solve_round(inst: Instance, opts, years: int | None = None, earmarked: bool | None = None,
                fairness_over: str | None = None) -> Result:
    ph = phasing_of(inst, years)
    svc = services_frame(inst)
    so = service_options(inst, earmarked, fairness_over)
    if svc is None and (earmarked or fairness_over == "services"):
        raise UsageError("--earmarked / --fairness-over services need a services.csv in the instance")
    if ph is not None and svc is not None:
        raise UsageError("[phasing] and services.csv cannot be combined yet (docs/policies.md)")
    if ph is not None:
        return solve_phased(inst, opts, ph)
    if svc is not None:
        return solve_with_services(inst, opts, svc, so)
    return solve(inst, opts)


def round_table(result: Result, unit: str) -> str:
    """The terminal table: the plain allocation table, a year-by-region table for phased
    rounds, and the per-service table when services are modelled."""
    from optimizer.report.tables import allocation_table

    if "years" in result.summary:
        text = phased_table(result, unit)
    else:
        text = allocation_table(result, unit)
    if "services" in result.tables:
        text += "\n\n" + services_table_text(result.tables["services"])
    return text


def phased_table(result: Result, unit: str) -> str:
    a, s = result.allocation, result.summary
    years = [y["year"] for y in s["years"]]
    ids = list(dict.fromkeys(a["region_id"]))
    headers = ["region"] + [f"T {y}" for y in years] + [f"level {y}" for y in years] + ["binding (last year)"]
    rows = []
    for rid in ids:
        part = a[a["region_id"] == rid]
        rows.append([str(rid)] + [f"{x:,.1f}" for x in part["transfer"]] + [f"{x:.4f}" for x in part["level_after"]]
                    + [part["binding"].iloc[-1] or "-"])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) if i in (0, len(cells) - 1) else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    out = [line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows] + [""]
    for y in s["years"]:
        out.append(f"{y['year']}: budget {y['budget']:,.1f} {unit}, used {y['budget_used']:,.1f}; levels min "
                   f"{y['min_level']:.4f} max {y['max_level']:.4f}; below threshold {y['regions_below_threshold']}")
    out.append(f"status: {s['status']}  objective: {s['objective']} = {s['objective_value']:.6g} "
               f"({s['phasing']['objective_over_years']})")
    return "\n".join(out)


def services_table_text(t) -> str:
    headers = ["region", "service", "need", "threshold", "transfer", "level before", "level after", "binding"]
    rows = [[str(r.region_id), str(r.service), f"{r.need:,.1f}", f"{r.threshold:.3f}", f"{r.transfer:,.1f}",
             f"{r.level_before:.4f}", f"{r.level_after:.4f}", r.binding or "-"] for r in t.itertuples()]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) if i in (0, 1, 7) else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join(["service levels", line(headers), "  ".join("-" * w for w in widths)]
                     + [line(r) for r in rows])
