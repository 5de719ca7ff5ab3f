"""Budgets as users write them: an amount in the instance unit ("59844", 59844) or a
multiple of the instance's own budget ("0.9x"). One parser for the CLI, scenarios,
sweeps and batch specs, so "1.2x" means the same everywhere."""

from __future__ import annotations

import math
from typing import Any

from optimizer.core.errors import UsageError


def split_budget(value: Any) -> tuple[float, bool]:
    """'0.9x' -> (0.9, True); '1234.5' or 1234.5 -> (1234.5, False). Raises ValueError on
    anything else (bools, non-numbers, NaN, infinities, negatives)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a budget")
    if isinstance(value, (int, float)):
        number, multiple = float(value), False
    elif isinstance(value, str):
        t = value.strip().lower()
        multiple = t.endswith("x")
        number = float(t[:-1] if multiple else t)
    else:
        raise ValueError(f"{value!r} is not a budget")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{value!r} is not a finite number >= 0")
    return number, multiple


def budget_label(number: float, multiple: bool) -> str:
    """The shortest text that reads back as the same budget: 1.2000000000000002 -> '1.2x'."""
    text = f"{number:.12g}"
    return f"{text}x" if multiple else text


def parse_budget(text: Any, base: float, where: str = "--budget") -> float | None:
    """'1234.5' -> absolute; '1.2x' -> a multiple of ``base`` (the instance budget)."""
    if text is None:
        return None
    try:
        number, multiple = split_budget(text)
    except ValueError:
        raise UsageError(f"{where}: '{text}' is neither a number >= 0 nor a multiple like '1.2x'") from None
    value = number * base if multiple else number
    if not math.isfinite(value):
        raise UsageError(f"{where} must be a finite number >= 0, got '{text}'")
    return value
