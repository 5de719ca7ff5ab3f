"""Cell formats of the HTML report: one rule per kind of column (money in the instance unit or
in 억/조, levels to 4 decimals, counts with separators), chosen by the column's name and
falling back on its type, so that a column added to the allocation later (``reason``,
``threshold_dual``) renders without a change here."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from optimizer.report.labels_ko import money_ko, won_factor

MONEY_COLUMNS = ("own_revenue", "fiscal_need", "need", "prior_transfer", "transfer", "change", "shortfall",
                 "transfer_without_merger", "transfer_with_merger", "transfer_change", "required_transfer")
LEVEL_COLUMNS = ("threshold", "level_before", "level_after", "level_without_merger", "level_with_merger")
COUNT_COLUMNS = ("population", "pop65", "transfer_per_capita")
TOTAL_COLUMNS = ("population", "own_revenue", "fiscal_need", "prior_transfer", "transfer", "change", "shortfall",
                 "pop65")


NUMBER_TEXT = re.compile(r"^(?=.*\d)\s*[-+]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?\s*$")   # "605.20", "1,234", "-3"


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False


def is_missing(x: Any) -> bool:
    if x is None or x is pd.NA:
        return True
    return isinstance(x, float) and math.isnan(x)


def money(x: Any, unit: str, lang: str) -> str:
    """An amount in the instance unit; in Korean (and a KRW unit) in 조/억."""
    if is_missing(x):
        return "–"
    x = float(x)
    if lang == "ko" and won_factor(unit) is not None:
        return money_ko(x, unit)
    return f"{x:,.1f}"


def number(x: Any) -> str:
    """A figure of unknown kind: no solver noise (6 significant digits), separators."""
    if is_missing(x):
        return "–"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    x = float(x)
    if not math.isfinite(x):
        return "∞" if x > 0 else "-∞"
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:,.6g}" if abs(x) >= 1e-4 else f"{x:.3g}"


def cell(col: str, x: Any, unit: str, lang: str) -> Cell:
    """The text of one allocation cell and whether it is a number (right-aligned)."""
    if isinstance(x, str):   # pass-through text is shown as given ("605.20" stays "605.20")
        return Cell(x, bool(NUMBER_TEXT.match(x)))
    if not is_missing(x) and not isinstance(x, (int, float, np.number, bool, np.bool_)):
        return Cell(str(x))
    if col in MONEY_COLUMNS:
        return Cell(money(x, unit, lang), True)
    if is_missing(x):
        return Cell("–", True)
    if col in LEVEL_COLUMNS:
        return Cell(f"{float(x):.4f}", True)
    if col == "change_pct":
        return Cell(f"{float(x):+.1f}%", True)
    if col in COUNT_COLUMNS:
        return Cell(f"{float(x):,.0f}", True)
    return Cell(number(x), True)


def frame_rows(frame: pd.DataFrame, unit: str, lang: str) -> list[list[Cell]]:
    cols = list(frame.columns)
    return [[cell(c, v, unit, lang) for c, v in zip(cols, row)] for row in frame.itertuples(index=False)]


def totals_row(frame: pd.DataFrame, unit: str, lang: str, first: str) -> list[Cell]:
    """Sums of the additive columns (population, money); the first cell says what the row is."""
    out = []
    for i, col in enumerate(frame.columns):
        if i == 0:
            out.append(Cell(first))
        elif col in TOTAL_COLUMNS and pd.api.types.is_numeric_dtype(frame[col]):
            out.append(cell(col, float(frame[col].sum(min_count=1)), unit, lang))
        else:
            out.append(Cell(""))
    return out


def level(x: Any) -> str:
    return "–" if is_missing(x) else f"{float(x):.4f}"


def metric(key: str, x: Any, unit: str, lang: str) -> str:
    """A metric of summary.json: money for shortfalls, a count for regions, else 4 decimals."""
    if key == "total_shortfall":
        return money(x, unit, lang)
    if key == "regions_below_threshold":
        return number(x)
    if key in ("population_share_below_threshold", "price_of_fairness"):
        return "–" if is_missing(x) else f"{100 * float(x):.2f}%"
    return level(x)
