"""Value ranges as studies write them: a list as is, or FROM:TO:POINTS / {from, to, points}
spaced linearly; budget ends may be multiples of the instance budget ("0.5x")."""

from __future__ import annotations

from typing import Any

import numpy as np

from optimizer.core.budget import budget_label
from optimizer.core.errors import InputError, Problem, UsageError


def sweep_values(value: Any, key: str, file: str) -> list[Any]:
    """A list as is, or {from, to, points} expanded linearly: multiples as budget labels
    ("1.2x", never "1.2000000000000002x"), other values as floats."""
    if value is None:
        return [None]
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and {"from", "to", "points"} <= set(value):
        lo, hi, k = value["from"], value["to"], int(value["points"])
        mult = isinstance(lo, str) and str(lo).endswith("x")
        a = float(str(lo).rstrip("x")) if mult else float(lo)
        b = float(str(hi).rstrip("x")) if mult else float(hi)
        pts = np.linspace(a, b, k) if k > 1 else np.array([a])
        return [budget_label(p, True) if mult else float(p) for p in pts.tolist()]
    raise InputError([Problem(file, f"'sweep.{key}' must be a list or a table with from, to, points",
                              column=f"sweep.{key}")])


def parse_range(text: str) -> list[str]:
    """'0.5x:2x:20' -> 20 evenly spaced values, as budget strings."""
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"range '{text}' must be FROM:TO:POINTS, e.g. 0.5x:2x:20")
    try:
        values = sweep_values({"from": parts[0], "to": parts[1], "points": int(parts[2])}, "range", "")
    except (ValueError, InputError):
        raise UsageError(f"range '{text}' must be FROM:TO:POINTS, e.g. 0.5x:2x:20") from None
    return [str(v) for v in values]
