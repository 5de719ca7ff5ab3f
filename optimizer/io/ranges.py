"""Range checks on a whole regions table and on the money amounts of a round.

``validation.check_cell`` checks one cell as it is read; this module checks what only the
table as a whole says (the spread of the needs, amounts against the median need) and, for a
table a scenario or a merge has changed, every cell again with the same rules
(``validation.range_message``). The ranges and their reasons: optimizer/core/limits.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from optimizer.core import limits as lim
from optimizer.core.errors import Problem
from optimizer.io import validation as v

MONEY_COLUMNS = ("own_revenue", "prior_transfer", "min_transfer", "max_transfer")


def money_limit(need: np.ndarray) -> float:
    """The largest money amount a round with these fiscal needs accepts."""
    med = float(np.median(need)) if need.size else 1.0
    return min(lim.MONEY_MAX, lim.MONEY_PER_MEDIAN_NEED * med) if med > 0 else lim.MONEY_MAX


def need_spread(frame: pd.DataFrame) -> float:
    need = frame["fiscal_need"].to_numpy(dtype=float) if len(frame) else np.ones(1)
    return float(need.max() / need.min()) if need.min() > 0 else float("inf")


Label = Callable[[int], str]


def _ids(frame: pd.DataFrame, label: Label | None) -> Label:
    return label or (lambda i: str(frame["region_id"].iloc[i]))


def cell_problems(file: str, frame: pd.DataFrame, label: Label | None = None) -> list[Problem]:
    """Every numeric cell against its range (the rules of regions.csv), one problem per cell;
    blank optional cells (NaN) pass as in the file. ``label(i)`` names row i (its id)."""
    out: list[Problem] = []
    ids = _ids(frame, label)
    for col in v.NUMERIC_RULES:
        if col not in frame.columns:
            continue
        x = frame[col].to_numpy(dtype=float)
        required = col in v.REQUIRED_COLUMNS
        for i in np.flatnonzero(~np.isfinite(x) if required else np.isinf(x)):
            out.append(Problem(file, f"must be a finite number, got {x[i]}", column=col, region=ids(int(i))))
        lower, strict, upper, least = v.NUMERIC_RULES[col]
        bad = (x <= lower if strict else x < lower) | (x > upper) | ((x > 0) & (x < least))
        for i in np.flatnonzero(bad & np.isfinite(x)):
            out.append(Problem(file, v.range_message(col, float(x[i])) or "out of range", column=col,
                               region=ids(int(i))))
    return out


def table_problems(file: str, frame: pd.DataFrame, label: Label | None = None) -> list[Problem]:
    """What the table as a whole must satisfy: the spread of the needs, money amounts at most
    ``MONEY_PER_MEDIAN_NEED`` x the median need (one problem per column, the largest amount)."""
    if not len(frame):
        return []
    ids = _ids(frame, label)
    need = frame["fiscal_need"].to_numpy(dtype=float)
    if not np.all(np.isfinite(need)) or need.min() <= 0:
        return []   # reported cell by cell
    out = []
    spread = need_spread(frame)
    if spread > lim.NEED_SPREAD_MAX:
        out.append(Problem(file, f"fiscal_need spans {spread:.1e}x (largest/smallest); at most "
                                 f"{lim.NEED_SPREAD_MAX:g}x is accepted (float64 cannot add needs further "
                                 "apart)", column="fiscal_need", region=ids(int(np.argmin(need)))))
    cap = money_limit(need)
    for col in MONEY_COLUMNS:
        if col not in frame.columns:
            continue
        x = np.nan_to_num(frame[col].to_numpy(dtype=float), nan=0.0, posinf=0.0, neginf=0.0)
        if x.size and x.max() > cap:
            i = int(np.argmax(x))
            out.append(Problem(file, f"{x[i]:g} is above {cap:g} = {lim.MONEY_PER_MEDIAN_NEED:g} x the median "
                                     "fiscal_need (the largest amount the LP represents reliably)",
                               column=col, region=ids(int(i))))
    return out


def money_problem(file: str, where: str | None, value: float, cap: float) -> Problem | None:
    """A money amount of the round (a budget, a bound) against ``cap`` = ``money_limit(need)``;
    ``where`` is its key in ``file`` (None for a flag, whose name is ``file``)."""
    name = f"'{where}' " if where else ""
    if not np.isfinite(value) or value < 0:
        return Problem(file, f"{name}must be a finite number >= 0, got {value}", column=where)
    if value > cap:
        return Problem(file, f"{name}is {value:g}, above {cap:g} (at most {lim.MONEY_MAX:g} and at most "
                             f"{lim.MONEY_PER_MEDIAN_NEED:g} x the median fiscal_need)", column=where)
    return None
