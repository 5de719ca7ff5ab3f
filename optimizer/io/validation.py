"""Checks on instance files, one small function per rule.

Each check appends ``Problem``s instead of raising, so a user sees every problem in
one run. Parsing of the raw CSV cells happens here too, because a cell that does not
parse is itself a problem to report with its line and column.
"""

from __future__ import annotations

import math
from typing import Any

from optimizer.core import limits as lim
from optimizer.core.errors import Problem, nearest

REQUIRED_COLUMNS = ("region_id", "name", "population", "own_revenue", "fiscal_need")
OPTIONAL_NUMERIC = ("threshold", "prior_transfer", "min_transfer", "max_transfer", "weight")
# column -> (lower bound, strict?, upper bound, least positive value) for numeric columns;
# the ranges and their reasons are in optimizer/core/limits.py
NUMERIC_RULES: dict[str, tuple[float, bool, float, float]] = {
    "population": (0.0, True, lim.POPULATION_MAX, lim.POPULATION_MIN),
    "own_revenue": (0.0, False, lim.MONEY_MAX, 0.0),
    "fiscal_need": (0.0, True, lim.MONEY_MAX, lim.NEED_MIN),
    "threshold": (0.0, False, lim.LEVEL_MAX, 0.0),
    "prior_transfer": (0.0, False, lim.MONEY_MAX, 0.0),
    "min_transfer": (0.0, False, lim.MONEY_MAX, 0.0),
    "max_transfer": (0.0, False, lim.MONEY_MAX, 0.0),
    "weight": (0.0, False, lim.WEIGHT_MAX, 0.0),
}
RESERVED_ID_CHARS = "+"   # "+" joins the ids of merged regions ("busan+gyeongnam")


def parse_number(text: str) -> float | None:
    text = text.strip()
    if "_" in text:  # Python's float() accepts "1_000"; a spreadsheet would not
        return None
    try:
        return float(text)
    except ValueError:
        return None


def check_cell(file: str, line: int, region: str | None, column: str, text: str,
               problems: list[Problem], required: bool) -> float | None:
    """Parse one numeric cell; report why it is unusable. Blank optional cells -> None."""
    if text.strip() == "":
        if required:
            problems.append(Problem(file, "is empty; a number is required", line, column, region))
        return None
    value = parse_number(text)
    if value is None:
        problems.append(Problem(file, f"'{text}' is not a number", line, column, region))
        return None
    if math.isnan(value):
        problems.append(Problem(file, "is NaN; a finite number is required", line, column, region))
        return None
    if math.isinf(value):
        problems.append(Problem(file, f"is infinite ('{text}'); a finite number is required",
                                line, column, region))
        return None
    message = range_message(column, value)
    if message:
        problems.append(Problem(file, message, line, column, region))
        return None
    return value


def range_message(column: str, value: float) -> str | None:
    """Why ``value`` is outside the accepted range of ``column`` (NUMERIC_RULES), or None.
    The one rule for a region value, wherever it comes from (file, scenario, merge)."""
    if not math.isfinite(value):
        return f"must be a finite number, got {value}"
    lower, strict, upper, least = NUMERIC_RULES[column]
    if strict and value <= lower:
        return f"must be > {lower:g}, got {value:g}"
    if not strict and value < lower:
        return f"must be >= {lower:g}, got {value:g}"
    if value > upper:
        return f"must be at most {upper:g}, got {value:g} (accepted ranges: docs/instance-format.md)"
    if 0 < value < least:
        return f"must be at least {least:g}, got {value:g} (accepted ranges: docs/instance-format.md)"
    return None


def unknown_key(file: str, key: str, known: list[str] | tuple[str, ...], where: str,
                what: str = "key") -> Problem:
    """An unknown key, named with the nearest known one (a typo such as [budjet])."""
    col = f"{where}.{key}" if where else key
    near = nearest(key, known)
    hint = f"; did you mean '{near}'?" if near else ""
    return Problem(file, f"unknown {what} '{key}'{hint} (known: {', '.join(map(str, known))})", column=col)


def check_header(file: str, header: list[str], problems: list[Problem]) -> None:
    for col in REQUIRED_COLUMNS:
        if col not in header:
            problems.append(Problem(file, "required column is missing", 1, col))
    seen: set[str] = set()
    for col in header:
        if col in seen:
            problems.append(Problem(file, "column appears twice in the header", 1, col))
        seen.add(col)
    if any(c.strip() == "" for c in header):
        problems.append(Problem(file, "header has an empty column name", 1))


def check_region_id(file: str, line: int, rid: str, seen: dict[str, int],
                    problems: list[Problem]) -> None:
    if rid.strip() == "":
        problems.append(Problem(file, "is empty; every region needs an id", line, "region_id"))
    elif any(c in rid for c in RESERVED_ID_CHARS):
        problems.append(Problem(file, f"id '{rid}' contains '+', which is reserved for the ids of merged "
                                      "regions", line, "region_id", rid))
    elif rid in seen:
        problems.append(Problem(file, f"duplicate id '{rid}' (first on line {seen[rid]})",
                                line, "region_id", rid))
    else:
        seen[rid] = line


def check_transfer_bounds(file: str, line: int, rid: str, lo: float | None, hi: float | None,
                          problems: list[Problem]) -> None:
    if lo is not None and hi is not None and hi < lo:
        problems.append(Problem(file, f"max_transfer {hi:g} is below min_transfer {lo:g}",
                                line, "max_transfer", rid))


def check_toml_number(file: str, table: dict[str, Any], section: str, key: str,
                      problems: list[Problem], required: bool, minimum: float | None = 0.0,
                      maximum: float | None = None) -> float | None:
    where = f"{section}.{key}" if section else key
    node = table.get(section, {}) if section else table
    if section and not isinstance(node, dict):
        problems.append(Problem(file, f"[{section}] must be a table", column=section))
        return None
    if key not in node:
        if required:
            problems.append(Problem(file, f"required key '{where}' is missing", column=where))
        return None
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(Problem(file, f"'{where}' must be a number, got {type(value).__name__} "
                                      f"{value!r}", column=where))
        return None
    value = float(value)
    if not math.isfinite(value):
        problems.append(Problem(file, f"'{where}' must be finite, got {value}", column=where))
        return None
    if minimum is not None and value < minimum:
        problems.append(Problem(file, f"'{where}' must be >= {minimum:g}, got {value:g}",
                                column=where))
        return None
    if maximum is not None and value > maximum:
        problems.append(Problem(file, f"'{where}' must be at most {maximum:g}, got {value:g} "
                                      "(accepted ranges: docs/instance-format.md)", column=where))
        return None
    return value


def check_toml_string(file: str, table: dict[str, Any], key: str, problems: list[Problem],
                      required: bool) -> str | None:
    if key not in table:
        if required:
            problems.append(Problem(file, f"required key '{key}' is missing", column=key))
        return None
    value = table[key]
    if not isinstance(value, str):
        problems.append(Problem(file, f"'{key}' must be a string, got {type(value).__name__}",
                                column=key))
        return None
    return value


def check_sources(file: str, table: dict[str, Any], problems: list[Problem]) -> list[str]:
    sources = table.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problems.append(Problem(file, "'sources' must be a list of strings", column="sources"))
        return []
    return list(sources)


def check_weights(file: str, total_weight: float, problems: list[Problem]) -> None:
    if total_weight <= 0:
        problems.append(Problem(file, "weights sum to zero; at least one region needs a "
                                      "positive weight", column="weight"))

