"""Results as one Excel workbook (``--output NAME.xlsx`` on solve, compare and sweep).

Every table becomes a sheet of real numbers (never numbers stored as text), each column
with the format of its unit: money with thousands separators and three decimals, levels
to four decimals, head counts as whole numbers; text columns (names, reasons, pass-through
columns such as "605.20") stay text; Korean is written as is. The header row is bold and
frozen, columns are sized to their contents. ``lang="ko"`` gives Korean headings (the labels
of optimizer/report/labels_ko.py) and ``name_ko`` as the region name where the instance has
it. Whatever columns a table has are written (later rounds add ``reason`` and others).
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import numpy as np
import pandas as pd

from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.result import Result
from optimizer.report.labels_ko import label, region_name

MAX_ROWS = 1_048_575            # Excel's sheet limit, less the header
MONEY_FORMAT = "#,##0.000"      # instance units (KRW billion: to the million won)
LEVEL_FORMAT = "0.0000"
COUNT_FORMAT = "#,##0"
SMALL_FORMAT = "0.000E+00"      # prices and duals: tiny and large alike stay readable
MONEY = {"own_revenue", "fiscal_need", "prior_transfer", "transfer", "change", "shortfall", "min_transfer",
         "max_transfer", "budget", "budget_used", "required_budget", "missing_budget", "total_shortfall",
         "weighted_shortfall", "need", "own_given", "total_prior", "total_transfer", "objective_value_money"}
LEVELS = {"threshold", "level_before", "level_after", "min_level", "max_level", "mean_level", "threshold_default",
          "max_mean_level", "level", "objective_value_level"}
COUNTS = {"population", "pop65", "transfer_per_capita", "regions", "regions_below_threshold", "point",
          "iterations", "winners", "losers", "unchanged", "year"}
SMALL = {"threshold_dual", "budget_shadow_price", "dual", "value_price"}
PERCENT = {"change_pct": "0.0"}


def number_format(column: str, unit: str = "") -> str | None:
    """The Excel format of a numeric column, by its name (its last dotted part)."""
    key = column.rsplit(".", 1)[-1]
    if key in PERCENT:
        return PERCENT[key]
    if key in MONEY or column.endswith("_transfer"):
        return MONEY_FORMAT
    if key in LEVELS or key.endswith("_level"):
        return LEVEL_FORMAT
    if key in COUNTS:
        return COUNT_FORMAT
    if key in SMALL or key.endswith("_dual") or key.endswith("shadow_price"):
        return SMALL_FORMAT
    return None


def cell_value(x: Any) -> Any:
    """A cell: numbers as numbers (NaN and infinities blank: Excel has no such numbers),
    numpy scalars as Python ones, lists joined, anything else as text."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, (int, float)):
        return x if math.isfinite(x) else None
    if isinstance(x, (list, tuple)):
        return "; ".join(str(v) for v in x)
    if isinstance(x, dict):
        return "; ".join(f"{k}={v}" for k, v in x.items())
    return str(x)


ROW_KEYS = ("field", "metric", "price")   # a sheet of (name, value) rows: formats by the row's name
DECIMAL = re.compile(r"-?\d+(\.(\d+))?")


def text_numbers(column: pd.Series) -> tuple[pd.Series, str] | None:
    """A text column whose every filled cell is a plain decimal ("605.20", pass-through data)
    as numbers with a format showing as many decimals as the text had; None otherwise."""
    if not (column.dtype == object or pd.api.types.is_string_dtype(column)):
        return None
    texts = ["" if x is None else str(x).strip() for x in column]
    matches = [DECIMAL.fullmatch(t) for t in texts if t]
    if not matches or not all(matches):
        return None
    places = max(len(m.group(2) or "") for m in matches)
    values = pd.Series([float(t) if t else np.nan for t in texts], index=column.index)
    return values, COUNT_FORMAT + ("." + "0" * places if places else "")


def row_formats(ws: Any, frame: pd.DataFrame, lang: str) -> None:
    """A (name, value...) sheet: each row's numbers formatted by its name; names labelled."""
    for cells, name in zip(ws.iter_rows(min_row=2), frame.iloc[:, 0]):
        fmt = number_format(str(name))
        cells[0].value = label(str(name), lang) if lang != "en" else cells[0].value
        for cell in cells[1:]:
            if fmt and isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                cell.number_format = fmt


def write_sheet(ws: Any, frame: pd.DataFrame, lang: str, unit: str) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = [str(c) for c in frame.columns]
    formats = {c: number_format(c, unit) if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c]) else None for c in columns}
    frame = frame.copy()
    frame.columns = columns
    for c in columns:
        numbers = text_numbers(frame[c]) if c not in ("region_id", "name") else None
        if numbers is not None:
            frame[c], formats[c] = numbers
    ws.append([label(c, lang) if lang != "en" else c for c in columns])   # English: the CSV's names
    for row in frame.itertuples(index=False, name=None):
        ws.append([cell_value(x) for x in row])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "B2" if columns and columns[0] in ("region_id", "objective", "point") else "A2"
    if columns and columns[0] in ROW_KEYS:
        row_formats(ws, frame, lang)
    for j, col in enumerate(columns, start=1):
        if formats[col]:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = formats[col]
        texts = [str(ws.cell(row=1, column=j).value)]
        texts += [f"{x:,.4f}" if isinstance(x, float) else str(x) for x in frame[col].head(200)]
        ws.column_dimensions[get_column_letter(j)].width = min(max(len(t) for t in texts) + 2, 60)


def workbook_bytes(sheets: dict[str, pd.DataFrame], unit: str = "", lang: str = "en") -> bytes:
    """One workbook, a sheet per frame (sheet names cut to Excel's 31 characters). A frame
    longer than Excel's row limit is a ``UsageError`` (write a folder: Parquet holds it)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, frame in sheets.items():
        if len(frame) > MAX_ROWS:
            raise UsageError(f"--output: sheet '{name}' would have {len(frame):,} rows and Excel holds "
                             f"{MAX_ROWS:,}; give an --output folder instead")
        write_sheet(book.create_sheet(name[:31]), frame, lang, unit)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def localized(alloc: pd.DataFrame, lang: str) -> pd.DataFrame:
    """``name`` from ``name_ko`` where present when Korean is asked for."""
    if lang != "ko" or "name_ko" not in alloc.columns or "name" not in alloc.columns:
        return alloc
    out = alloc.copy()
    out["name"] = [region_name(r, lang) for r in alloc[["name", "name_ko"]].to_dict("records")]
    return out


def summary_frame(summary: dict[str, Any]) -> pd.DataFrame:
    """The summary as (field, value) rows, nested fields dotted; metrics have their own sheet."""
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            rows.append((prefix, cell_value(node)))

    walk("", {k: v for k, v in summary.items() if k not in ("metrics_before", "metrics_after")})
    return pd.DataFrame(rows, columns=["field", "value"]).astype({"value": object})


def metrics_frame(summary: dict[str, Any]) -> pd.DataFrame:
    before, after = summary.get("metrics_before") or {}, summary.get("metrics_after") or {}
    keys = list(dict.fromkeys([*before, *after]))
    return pd.DataFrame({"metric": keys, "before": [before.get(k, np.nan) for k in keys],
                         "after": [after.get(k, np.nan) for k in keys]})


def prices_frame(result: Result) -> pd.DataFrame:
    """What one more unit buys: the budget's shadow price, the price of fairness, and each
    region's threshold dual (objective change per unit rise of its threshold)."""
    s, a = result.summary, result.allocation
    rows = [("budget_shadow_price", "", s.get("budget_shadow_price"),
             f"objective change per one {s.get('unit', 'unit')} of budget"),
            ("price_of_fairness", "", (s.get("price_of_fairness") or {}).get("value"),
             "mean level given up against max-mean")]
    if "threshold_dual" in a.columns:
        rows += [("threshold_dual", str(r), d, "objective change per unit rise of this region's threshold")
                 for r, d in zip(a["region_id"], a["threshold_dual"])]
    frame = pd.DataFrame(rows, columns=["price", "region_id", "value", "meaning"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def sources_frame(inst: Instance) -> pd.DataFrame:
    """Where the instance's figures come from: its metadata and every source line, the
    estimates and choices marked by their first word."""
    rows = [("instance", inst.name), ("description", inst.description), ("unit", inst.unit),
            ("year", "" if inst.year is None else str(inst.year)), ("input SHA-256", inst.sha256)]
    rows += [(s.split(":", 1)[0] if s.split(":", 1)[0].isupper() else "source", s) for s in inst.sources]
    return pd.DataFrame(rows, columns=["kind", "text"])


def solve_workbook(result: Result, inst: Instance, lang: str = "en",
                   extra: dict[str, pd.DataFrame] | None = None) -> bytes:
    """allocation, summary, metrics, prices, sources (+ any further table: services, the merge
    effect). An infeasible solve: its summary (the diagnosis) and the sources."""
    if not result.solved:
        return workbook_bytes({"summary": summary_frame(result.summary), "sources": sources_frame(inst)},
                              inst.unit, lang)
    sheets = {"allocation": localized(result.allocation, lang), "summary": summary_frame(result.summary),
              "metrics": metrics_frame(result.summary), "prices": prices_frame(result)}
    sheets.update({name: table for name, table in getattr(result, "tables", {}).items()})
    sheets.update(extra or {})
    sheets["sources"] = sources_frame(inst)
    return workbook_bytes(sheets, inst.unit, lang)


def compare_workbook(table: pd.DataFrame, allocations: dict[str, pd.DataFrame], inst: Instance,
                     lang: str = "en") -> bytes:
    """compare (one row per objective or scenario), allocation-<name> each, sources."""
    sheets = {"compare": table}
    sheets.update({f"allocation-{name}": localized(a, lang) for name, a in allocations.items()})
    sheets["sources"] = sources_frame(inst)
    return workbook_bytes(sheets, inst.unit, lang)


def sweep_workbook(frontier: pd.DataFrame, allocations: pd.DataFrame, inst: Instance, lang: str = "en") -> bytes:
    """frontier (one row per point), allocations (one row per point and region), sources."""
    return workbook_bytes({"frontier": frontier, "allocations": localized(allocations, lang),
                           "sources": sources_frame(inst)}, inst.unit, lang)
