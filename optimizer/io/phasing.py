"""Read and validate ``[phasing]`` (the multi-year phase-in) of instance.toml."""

from __future__ import annotations

import math
from typing import Any

from optimizer.core.errors import Problem
from optimizer.core.phasing import KEYS, Phasing


def _num(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def parse_phasing(table: Any, file: str, problems: list[Problem]) -> Phasing | None:
    """Validate ``[phasing]``; None when absent. Appends one Problem per bad key."""
    if table is None:
        return None
    if not isinstance(table, dict):
        problems.append(Problem(file, "[phasing] must be a table", column="phasing"))
        return None
    n0 = len(problems)
    vals: dict[str, Any] = {}
    for key, val in table.items():
        col = f"phasing.{key}"
        if key not in KEYS:
            problems.append(Problem(file, f"unknown phasing key '{key}'; known: {', '.join(KEYS)}", column=col))
        elif key in ("years", "guarantee_years"):
            lo = 1 if key == "years" else 0
            if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= 100:
                problems.append(Problem(file, f"'{col}' must be an integer between {lo} and 100, got {val!r}",
                                        column=col))
            else:
                vals[key] = val
        elif key == "budget":
            if not isinstance(val, list) or not val or not all(_num(x) and x >= 0 for x in val):
                problems.append(Problem(file, f"'{col}' must be a list of numbers >= 0 (one per year), "
                                              f"got {val!r}", column=col))
            else:
                vals[key] = tuple(float(x) for x in val)
        elif key.endswith("_growth"):
            if not _num(val) or val <= -1:
                problems.append(Problem(file, f"'{col}' must be a number > -1, got {val!r}", column=col))
            else:
                vals[key] = float(val)
        else:  # change limits
            if not _num(val) or val < 0:
                problems.append(Problem(file, f"'{col}' must be a number >= 0, got {val!r}", column=col))
            else:
                vals[key] = float(val)
    if "budget" in vals and "budget_growth" in vals:
        problems.append(Problem(file, "give either 'phasing.budget' (a list) or 'phasing.budget_growth', "
                                      "not both", column="phasing.budget_growth"))
    years = vals.get("years", len(vals["budget"]) if "budget" in vals else 1)
    if "budget" in vals and len(vals["budget"]) != years:
        problems.append(Problem(file, f"'phasing.budget' has {len(vals['budget'])} entries for "
                                      f"{years} years", column="phasing.budget"))
    if len(problems) > n0:
        return None
    return Phasing(**{**vals, "years": years})
