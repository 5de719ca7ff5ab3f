"""Value lists as studies write them, one set of rules for batch specs, ``equalize sweep`` and the
API: a list, one value, or a linear range (FROM:TO:POINTS on the command line, a table
{from, to, points} in a spec).

Rules (docs/batch.md "Ranges and limits"):

* each end of a range is parsed on its own, budgets with optimizer/core/budget.py: both ends
  multiples of the instance budget ("0.5x") or both amounts; a range mixing the two is an error
  (its meaning would depend on each instance's budget, and "0.5x" to 60 read as 0.5x to 60x
  was the silent wrong answer of issue 10);
* thresholds are plain numbers >= 0 (no "x");
* POINTS is an integer from 1 to ``MAX_POINTS``; one point only when FROM = TO;
* a list holds 1 to ``MAX_POINTS`` values of the same kinds; one value alone means a
  one-element list.

Errors are ``RangeError`` (a ValueError) with a message that does not say where; the callers
add the file and key (spec) or the option name (CLI).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from optimizer.core.budget import budget_label, split_budget
from optimizer.core.errors import nearest

MAX_POINTS = 10_000    # values in one range or list, and points in one sweep
RANGE_KEYS = ("from", "to", "points")
KINDS = ("budget", "threshold")


class RangeError(ValueError):
    """A value, list or range that breaks the rules above; the message names no place."""


def did_you_mean(word: str, valid: list[str] | tuple[str, ...]) -> str:
    """"did you mean 'objectives'?" (the nearest valid word), else the list of valid words."""
    near = nearest(word, valid, cutoff=0.5)
    return f"did you mean '{near}'?" if near else f"valid: {', '.join(valid)}"


def unknown_key(key: str, valid: list[str] | tuple[str, ...]) -> str:
    """"unknown key 'objectivs' (did you mean 'objectives'?)" for every unknown-key error."""
    return f"unknown key '{key}' ({did_you_mean(key, valid)})"


def budget_value(value: Any) -> tuple[float, bool]:
    """(number, is_multiple) of one budget; RangeError when it is not a budget."""
    try:
        return split_budget(value)
    except ValueError:
        raise RangeError(f"{value!r} is neither an amount >= 0 nor a multiple like '1.2x'") from None


def level_value(value: Any) -> float:
    """One threshold level: a finite number >= 0 (a numeric string is accepted on the CLI)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RangeError(f"{value!r} is not a threshold level (a number >= 0)")
    try:
        number = float(value)
    except ValueError:
        raise RangeError(f"{value!r} is not a threshold level (a number >= 0)") from None
    if not math.isfinite(number) or number < 0:
        raise RangeError(f"{value!r} is not a finite number >= 0")
    return number


def points_value(value: Any) -> int:
    """POINTS: an integer 1..MAX_POINTS (not a float, not a bool; digits on the CLI)."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RangeError(f"points must be an integer from 1 to {MAX_POINTS:,}, got {value!r}")
    if not 1 <= value <= MAX_POINTS:
        raise RangeError(f"points must be from 1 to {MAX_POINTS:,}, got {value:,}")
    return value


def one_value(value: Any, kind: str) -> Any:
    """A budget as its label (the text as written, a number without float noise); a level as a float."""
    if kind == "threshold":
        return level_value(value)
    number, multiple = budget_value(value)
    return value.strip() if isinstance(value, str) else budget_label(number, multiple)


def linear(lo: Any, hi: Any, points: Any, kind: str) -> list[Any]:
    """POINTS values from LO to HI, evenly spaced: budgets as labels ("1.2x", never
    "1.2000000000000002x"), levels as floats."""
    if kind == "threshold":
        a, b, multiple = level_value(lo), level_value(hi), False
    else:
        (a, ma), (b, mb) = budget_value(lo), budget_value(hi)
        if ma != mb:
            raise RangeError(f"range from {lo!r} to {hi!r} mixes a multiple and an amount; write both "
                             "ends as multiples (e.g. '0.5x') or both as amounts")
        multiple = ma
    k = points_value(points)
    if k == 1 and a != b:
        raise RangeError(f"one point from {lo!r} to {hi!r}: give points >= 2 for a range, or from = to")
    values = np.linspace(a, b, k).tolist()
    return [budget_label(v, True) if multiple else (budget_label(v, False) if kind == "budget" else v)
            for v in values]


def expand(value: Any, kind: str) -> list[Any]:
    """A spec value: None -> [None] (the instance's own), one value, a list, or {from, to, points}."""
    if value is None:
        return [None]
    if isinstance(value, dict):
        for key in value:
            if key not in RANGE_KEYS:
                raise RangeError(unknown_key(str(key), RANGE_KEYS))
        missing = [k for k in RANGE_KEYS if k not in value]
        if missing:
            raise RangeError(f"a range needs from, to and points; '{missing[0]}' is missing")
        return linear(value["from"], value["to"], value["points"], kind)
    items = value if isinstance(value, list) else [value]
    if not items:
        raise RangeError("the list is empty")
    if len(items) > MAX_POINTS:
        raise RangeError(f"the list has {len(items):,} values; at most {MAX_POINTS:,}")
    return [one_value(v, kind) for v in items]


def parse_cli(text: str, kind: str) -> list[Any]:
    """'0.5x:2x:20' (FROM:TO:POINTS) or one value ('1.2x', '1000', '0.9')."""
    if ":" not in text:
        return [one_value(text, kind)]
    parts = text.split(":")
    if len(parts) != 3:
        raise RangeError(f"'{text}' must be FROM:TO:POINTS, e.g. "
                         + ("0.5x:2x:20" if kind == "budget" else "0.8:0.95:4"))
    return linear(parts[0].strip(), parts[1].strip(), parts[2], kind)
