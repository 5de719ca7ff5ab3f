"""Read and validate ``[phasing]`` (the multi-year phase-in) of instance.toml."""

from __future__ import annotations

import math
from typing import Any

from optimizer.core import limits as lim
from optimizer.core.errors import Problem
from optimizer.core.phasing import KEYS, Phasing
from optimizer.io.validation import unknown_key


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
            problems.append(unknown_key(file, key, KEYS, "phasing", "phasing key"))
        elif key in ("years", "guarantee_years"):
            lo = 1 if key == "years" else 0
            if isinstance(val, bool) or not isinstance(val, int) or not lo <= val <= lim.YEARS_MAX:
                problems.append(Problem(file, f"'{col}' must be an integer between {lo} and {lim.YEARS_MAX}, "
                                              f"got {val!r}",
                                        column=col))
            else:
                vals[key] = val
        elif key == "budget":
            if not isinstance(val, list) or not val or len(val) > lim.YEARS_MAX \
                    or not all(_num(x) and 0 <= x <= lim.MONEY_MAX for x in val):
                problems.append(Problem(file, f"'{col}' must be a list of numbers between 0 and {lim.MONEY_MAX:g} "
                                              f"(one per year, at most {lim.YEARS_MAX}), got {val!r}", column=col))
            else:
                vals[key] = tuple(float(x) for x in val)
        elif key.endswith("_growth"):
            if not _num(val) or not lim.GROWTH_MIN <= val <= lim.GROWTH_MAX:
                problems.append(Problem(file, f"'{col}' must be a yearly rate between {lim.GROWTH_MIN:g} and "
                                              f"{lim.GROWTH_MAX:g}, got {val!r}", column=col))
            else:
                vals[key] = float(val)
        else:  # change limits
            top = lim.CHANGE_MAX if key == "change_limit" else lim.MONEY_MAX
            if not _num(val) or not 0 <= val <= top:
                problems.append(Problem(file, f"'{col}' must be a number between 0 and {top:g}, got {val!r}",
                                        column=col))
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
