"""The documentation an instance workbook carries: its ``README`` sheet (every sheet and every
column explained) and the data validation Excel applies while an analyst types."""

from __future__ import annotations

from typing import Any

from models.objectives import OBJECTIVES
from optimizer.core import limits as lim
from optimizer.core.groups import KINDS
from optimizer.formulas import FORMULAS
from optimizer.io import workbook_format as f
from optimizer.io.validation import NUMERIC_RULES

# sheet -> [(column, required?, meaning)]; the rules are those of docs/instance-format.md
COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    f.SETTINGS: [
        ("key", "yes", "a key of instance.toml, dotted for tables: name, unit, description, year, sources, "
                       "budget.total, threshold.level, objective.name, objective.<option>, "
                       "regions.extra_columns, services.earmarked, services.fairness_over, groups.<ID>.min_level "
                       "(also policy.<key>, phasing.<key>, scenarios.<name>.<key>, or use those sheets)"),
        ("value", "yes", "the value: text, a number, TRUE/FALSE; a list (sources, regions.extra_columns, "
                         "objective.weights, phasing.budget) in one cell, items separated by ';' "
                         "(an item holding ';' in double quotes)"),
    ],
    f.REGIONS: [
        ("region_id", "yes", "unique, non-empty text without '+'; the key used in every output"),
        ("name", "yes", "display name"),
        ("population", "yes", f"residents, in [1, {lim.POPULATION_MAX:g}]; default objective weight"),
        ("own_revenue", "yes", f"own-source revenue in the instance unit, in [0, {lim.MONEY_MAX:g}]"),
        ("fiscal_need", "yes", f"cost of the standard service basket in the unit, in [{lim.NEED_MIN:g}, "
                               f"{lim.MONEY_MAX:g}]"),
        ("threshold", "no", f"per-region threshold level in [0, {lim.LEVEL_MAX:g}] (blank = threshold.level)"),
        ("prior_transfer", "no", "last round's transfer in the unit (reported; used by policies)"),
        ("min_transfer", "no", "lower bound on the transfer (blank = 0)"),
        ("max_transfer", "no", "upper bound on the transfer, at least min_transfer (blank = none)"),
        ("weight", "no", "objective weight (blank = population); normalised to sum 1"),
        ("(any other)", "no", "passed through to the outputs as text; declare it in regions.extra_columns"),
    ],
    f.GROUPS: [
        ("group_id", "yes", "group name; bounds in settings as groups.<ID>.min_transfer, max_transfer, min_level"),
        ("region_id", "yes", "a region of the regions sheet"),
        ("kind", "yes", "union (constraints on the group) or merger (candidate merger, --merge-group ID)"),
    ],
    f.SERVICES: [
        ("region_id", "yes", "a region of the regions sheet; every region needs at least one service"),
        ("service", "yes", "service name"),
        ("need", "yes", "the service's need; a region's needs sum to its fiscal_need (within 0.1%)"),
        ("threshold", "no", "the service's threshold level (blank = the region's)"),
        ("own_revenue", "no", "own revenue of the service; all or none of a region's, summing to its own"),
    ],
    f.POLICY: [("key", "yes", "a [policy] option (docs/policies.md), e.g. hold_harmless, no_overtaking"),
               ("value", "yes", "a number, or TRUE/FALSE for a rule")],
    f.PHASING: [("key", "yes", "a [phasing] key: years, budget (a ';' list), budget_growth, own_growth, "
                               "need_growth, change_limit, change_limit_abs, guarantee_years"),
                ("value", "yes", "a number (budget: one amount per year, ';'-separated)")],
    f.SCENARIOS: [("scenario", "yes", "the scenario's name (equalize solve --scenario NAME)"),
                  ("key", "yes", "description, budget (an amount or '1.05x'), threshold, objective, merges "
                                 "(merger group ids, or region ids joined by '+', ';'-separated), "
                                 "policy.<key>, groups.<ID>.<bound>, regions.<region_id>.<column> "
                                 "(a number, or .scale / .add)"),
                  ("value", "yes", "the value")],
}
SHEET_TEXT = {
    f.SETTINGS: "instance.toml: one row per key. Required: name, unit, budget.total, threshold.level.",
    f.REGIONS: "regions.csv: one row per region, header in row 1.",
    f.GROUPS: "groups.csv (optional sheet): unions and candidate mergers.",
    f.SERVICES: "services.csv (optional sheet): per-service needs and thresholds.",
    f.POLICY: "[policy] (optional sheet): allocation rules.",
    f.PHASING: "[phasing] (optional sheet): multi-year phase-in.",
    f.SCENARIOS: "[scenarios.NAME] (optional sheet): one row per scenario key.",
}


def readme_rows() -> list[tuple[str, str, str, str]]:
    """(sheet, column, required, meaning) rows of the README sheet."""
    rows = [("sheet", "column", "required", "meaning"),
            ("(all)", "", "", "A key lives in one place only; problems name the sheet, row and column "
                              "(equalize validate FILE.xlsx). Formulas are read by their saved values.")]
    for sheet, cols in COLUMNS.items():
        rows.append((sheet, "", "", SHEET_TEXT[sheet]))
        rows.extend((sheet, col, req, text) for col, req, text in cols)
    return rows


def add_readme(book: Any) -> None:
    """The README sheet, first in the workbook."""
    from openpyxl.styles import Alignment, Font

    ws = book.create_sheet(f.README, 0)
    for row in readme_rows():
        ws.append(list(row))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCD", (12, 18, 10, 110)):
        ws.column_dimensions[col].width = width
    for (cell,) in ws.iter_rows(min_row=2, min_col=4, max_col=4):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"


def add_validation(book: Any, rows: int = 2000) -> None:
    """Data validation on the input sheets: numeric ranges on the regions and services columns,
    the group kinds, the objective names in settings (Excel checks as the analyst types)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    def rule(ws: Any, ref: str, **kw: Any) -> None:
        dv = DataValidation(allow_blank=True, showErrorMessage=True, **kw)
        dv.add(ref)
        ws.add_data_validation(dv)

    for sheet, numeric in ((f.REGIONS, NUMERIC_RULES), (f.SERVICES, {"need": NUMERIC_RULES["fiscal_need"],
                           "threshold": NUMERIC_RULES["threshold"], "own_revenue": NUMERIC_RULES["own_revenue"]})):
        if sheet not in book.sheetnames:
            continue
        ws = book[sheet]
        header = [c.value for c in ws[1]]
        for col, (lo, _strict, hi, _least) in numeric.items():
            if col in header:
                letter = f.column_letter(header.index(col))
                rule(ws, f"{letter}2:{letter}{rows}", type="decimal", operator="between", formula1=str(lo),
                     formula2=str(hi), error=f"{col}: a number between {lo:g} and {hi:g}")
    if f.GROUPS in book.sheetnames:
        rule(book[f.GROUPS], f"C2:C{rows}", type="list", formula1='"' + ",".join(KINDS) + '"')
    ws = book[f.SETTINGS]
    for (key,) in ws.iter_rows(min_row=2, max_col=1):
        if key.value == "objective.name":
            # the LP objectives, then today's formulas (a baseline round): what objective.name takes
            rule(ws, f"B{key.row}", type="list", formula1='"' + ",".join([*OBJECTIVES, *FORMULAS]) + '"')
