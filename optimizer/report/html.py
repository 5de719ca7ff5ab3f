"""The HTML report: one self-contained file an analyst can mail (issue 12, point 3).

``render_report(ReportInput) -> str``. Everything is inline: charts as SVG (plots.figure_svg),
the CSS in a <style> element, no script, no link that a browser would fetch; URLs in the data
sources stay text. Jinja2 renders ``templates/report.html.j2`` with autoescaping (region names
and sources are data, never markup). The caller (optimizer/cli/report.py) runs the solve, the
comparison and the sweep and hands their plain results here: report/ sits below studies/."""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np
import pandas as pd

from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.core.version import __version__
from optimizer.report import html_format as fmt
from optimizer.report.labels_ko import label, region_name
from optimizer.report.plot_frontier import FrontierContext, frontier_figure
from optimizer.report.plots import figure_svg, levels_figure, lorenz_figure
from optimizer.report.tables import total_change_figure
from optimizer.report.text import NO_CHANGE

ESTIMATE_WORDS = ("ESTIMATE", "CHOICE", "UNCERTAIN", "ASSUMPTION", "DERIVED", "ILLUSTRATIVE")
METRIC_KEYS = ("mean_level", "min_level", "max_level", "max_min_ratio", "cv", "gini", "theil", "atkinson_1",
               "atkinson_2", "regions_below_threshold", "population_share_below_threshold", "total_shortfall")
COMPARE_KEYS = ("objective", "status", "objective_value", "min_level", "mean_level", "gini", "theil",
                "max_min_ratio", "population_share_below_threshold", "total_shortfall", "budget_used",
                "price_of_fairness")
PACKAGES = ("highspy", "pyomo", "numpy", "pandas", "scipy", "matplotlib", "jinja2")


@dataclass
class ReportInput:
    instance: Instance                      # the round as solved (after scenario and merges)
    result: Result                          # the headline solve
    lang: str = "en"
    comparison: pd.DataFrame | None = None  # optimizer.studies.compare.Comparison.table
    compared: dict[str, pd.DataFrame] = field(default_factory=dict)   # objective -> allocation
    frontier: pd.DataFrame | None = None    # optimizer.studies.sweep.Sweep.frontier
    frontier_mode: str = ""
    frontier_context: FrontierContext | None = None
    command_line: str = ""
    input_files: list[tuple[str, str]] = field(default_factory=list)   # (file, sha256)
    generated: str = ""


def _id_prefixed(svg: str, prefix: str) -> str:
    """Give every id of one inline SVG a prefix (and its url(#..)/href="#.." references), so
    that two charts in one page never share an id."""
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    return re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', svg)


def _chart(key: str, fig, caption: str) -> dict:
    from markupsafe import Markup  # Jinja2's own dependency; marks the SVG as already HTML

    return {"id": f"chart-{key}", "svg": Markup(_id_prefixed(figure_svg(fig), key)), "caption": caption}


def _region_labels(frame: pd.DataFrame, lang: str) -> list[str]:
    return [region_name(r, lang) for r in frame.to_dict("records")]


def _allocation_table(data: ReportInput) -> dict:
    a, unit, lang = data.result.allocation, data.instance.unit, data.lang
    frame = a.copy()
    if lang == "ko" and "name_ko" in frame.columns:   # Korean names in the name column
        frame["name"] = _region_labels(frame, lang)
        frame = frame.drop(columns=["name_ko"])
    headers = [label(c, lang) for c in frame.columns]
    money_unit = "억/조" if lang == "ko" and fmt.won_factor(unit) else unit
    headers = [f"{h} ({money_unit})" if c in fmt.MONEY_COLUMNS else h for c, h in zip(frame.columns, headers)]
    return {"columns": list(frame.columns), "headers": headers, "rows": fmt.frame_rows(frame, unit, lang),
            "total": fmt.totals_row(frame, unit, lang, label("Total", lang))}


def _extra_tables(data: ReportInput) -> list[dict]:
    """The round's further tables (services.csv when services are modelled), rendered as they come."""
    unit, lang = data.instance.unit, data.lang
    return [{"name": name, "id": f"table-{name}", "headers": [label(c, lang) for c in t.columns],
             "rows": fmt.frame_rows(t, unit, lang)} for name, t in data.result.tables.items()]


def _headline(data: ReportInput) -> list[tuple[str, str]]:
    s, unit, lang = data.result.summary, data.instance.unit, data.lang
    m = s.get("metrics_after", {})
    a = data.result.allocation
    low = int(np.argmin(a["level_after"].to_numpy(dtype=float)))
    lowest = f"{m.get('min_level', float('nan')):.4f} ({_region_labels(a.iloc[[low]], lang)[0]})"
    value = s.get("objective_value")
    value_text = "–" if value is None else (fmt.money(value, unit, lang) if s.get("objective_unit") == unit
                                            else f"{value:.6g} ({label(s.get('objective_unit', ''), lang)})")
    money_unit = "" if lang == "ko" and fmt.won_factor(unit) else f" {unit}"
    return [(label("budget", lang), fmt.money(s.get("budget"), unit, lang) + money_unit),
            (label("budget_used", lang), fmt.money(s.get("budget_used"), unit, lang) + money_unit),
            (label("required_budget", lang), fmt.money(s.get("required_budget"), unit, lang) + money_unit),
            (label("objective", lang), f"{s.get('objective')}: {value_text}"),
            (label("min_level", lang), lowest),
            (label("regions_below_threshold", lang),
             f"{m.get('regions_below_threshold', 0)} / {len(a)} ({label('threshold', lang)} "
             f"{s.get('threshold_default', 0):g})")]


def _notes(s: dict, lang: str) -> list[tuple[str, str]]:
    """The summary's sentences, where the solve wrote them (the budget's price in words, why a
    threshold price is left empty) and the price of fairness."""
    out = [(label(k, lang), str(s[k])) for k in ("budget_shadow_price_text", "threshold_dual_note") if s.get(k)]
    pof = (s.get("price_of_fairness") or {}).get("value") if isinstance(s.get("price_of_fairness"), dict) else None
    if pof is not None:
        out.append((label("price_of_fairness", lang), f"{100 * pof:.2f}%"))
    return out


def _metrics(data: ReportInput) -> list[list[str]]:
    s, unit, lang = data.result.summary, data.instance.unit, data.lang
    b, m = s.get("metrics_before") or {}, s.get("metrics_after") or {}
    return [[label(k, lang), fmt.metric(k, b.get(k), unit, lang), fmt.metric(k, m.get(k), unit, lang)]
            for k in METRIC_KEYS if k in m]


def _compared(key: str, x, unit: str, lang: str) -> str:
    if key == "budget_used":
        return fmt.money(x, unit, lang)
    return fmt.number(x) if key == "objective_value" else fmt.metric(key, x, unit, lang)


def _comparison(data: ReportInput) -> dict | None:
    t = data.comparison
    if t is None:
        return None
    keys = [k for k in COMPARE_KEYS if k in t.columns]
    unit, lang = data.instance.unit, data.lang
    rows = [[fmt.Cell(str(r["objective"])), fmt.Cell(str(r["status"]))]
            + [fmt.Cell(_compared(k, r[k], unit, lang), True) for k in keys[2:]] for _, r in t.iterrows()]
    return {"headers": [label(k, lang) for k in keys], "rows": rows}


def _charts(data: ReportInput) -> dict[str, dict]:
    inst, a = data.instance, data.result.allocation
    objective = data.result.summary.get("objective", "")
    labels = _region_labels(a, data.lang)
    before = a["level_before"].to_numpy(dtype=float)
    charts = {"levels": _chart("levels", levels_figure(before, {objective: a}, inst.name, labels),
                               "levels before and after, threshold line")}
    if data.compared:
        pop = a["population"].to_numpy(dtype=float)
        charts["lorenz"] = _chart("lorenz", lorenz_figure(before, pop / pop.sum(), data.compared, inst.name),
                                  "Lorenz curves; Gini in the legend")
        charts["compare-levels"] = _chart("compare-levels", levels_figure(before, data.compared, inst.name, labels),
                                          "levels under each objective")
    if data.frontier is not None:
        charts["frontier"] = _chart("frontier", frontier_figure(data.frontier, objective, data.frontier_mode,
                                                                data.frontier_context), "budget frontier")
    return charts


def _sources(inst: Instance) -> dict[str, list[str]]:
    estimates = [s for s in inst.sources if s.lstrip().upper().startswith(ESTIMATE_WORDS)]
    return {"sources": [s for s in inst.sources if s not in estimates], "estimates": estimates}


def _versions(summary: dict) -> list[tuple[str, str]]:
    out = [("equalize", __version__), ("HiGHS", str(summary.get("solver", {}).get("version", ""))),
           ("Python", platform.python_version())]
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return out


def report_context(data: ReportInput) -> dict:
    s, inst = data.result.summary, data.instance
    return {"lang": data.lang, "t": lambda key: label(key, data.lang), "inst": inst, "summary": s,
            "headline": _headline(data), "notes": _notes(s, data.lang), "allocation": _allocation_table(data),
            "metrics": _metrics(data), "extra_tables": _extra_tables(data),
            "comparison": _comparison(data), "charts": _charts(data), "sources": _sources(inst),
            "change": s.get("change_vs_prior"), "versions": _versions(s), "input_files": data.input_files,
            "command_line": data.command_line, "generated": data.generated,
            "unit": inst.unit, "money": lambda x: fmt.money(x, inst.unit, data.lang),
            "change_total": _change_total(s.get("change_vs_prior"), inst.unit, data.lang)}


def _change_total(c: dict | None, unit: str, lang: str) -> str:
    """The total change as the text footer shows it (a tiny real change with its digits,
    'unchanged' within the tolerance); an ordinary one in the report's money format."""
    if not c:
        return ""
    shown = total_change_figure(c)
    if shown == NO_CHANGE:
        return label("unchanged", lang)
    return fmt.money(c["total_change"], unit, lang) if shown == f"{c['total_change']:+,.1f}" else shown


def render_report(data: ReportInput) -> str:
    """The report as one HTML document (UTF-8 text)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("optimizer.report", "templates"),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("report.html.j2").render(**report_context(data))
