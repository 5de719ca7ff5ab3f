"""An allocation CSV read back for ``equalize verify``: only ``region_id`` and ``transfer``
are needed (and ``year`` for multi-year rounds, which the verifier refuses), so an
allocation made elsewhere (a formula, a spreadsheet) can be checked. Every problem is one
``Problem`` naming the file, the line and the column (exit 2)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optimizer.core.errors import InputError, Problem
from optimizer.io.read import read_csv_rows

REQUIRED = ("region_id", "transfer")


def _transfer(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _years(path: Path, header: list[str], rows: list, problems: list[Problem]) -> None:
    if "year" not in header:
        return
    col = header.index("year")
    years = {cells[col].strip() for _, cells in rows if col < len(cells)}
    if len(years) > 1:
        problems.append(Problem(str(path), f"a multi-year allocation ({len(years)} years); verify checks one "
                                           "round: give one year's rows", 1, "year"))


def read_allocation(path: Path, region_ids: Sequence[str]) -> np.ndarray:
    """The transfers of ``path`` in the order of ``region_ids``; raises ``InputError``."""
    problems: list[Problem] = []
    header, rows = read_csv_rows(path, problems)
    missing = [c for c in REQUIRED if header and c not in header]
    problems += [Problem(str(path), "required column is missing", 1, c) for c in missing]
    if problems:
        raise InputError(problems)
    _years(path, header, rows, problems)
    ic, tc = header.index("region_id"), header.index("transfer")
    where = {str(r): k for k, r in enumerate(region_ids)}
    out = np.full(len(where), np.nan)
    seen: dict[str, int] = {}
    for line, cells in rows:
        rid = cells[ic].strip() if ic < len(cells) else ""
        if rid not in where:
            problems.append(Problem(str(path), f"unknown region id '{rid}' (not in the instance)", line, "region_id"))
            continue
        if rid in seen:
            problems.append(Problem(str(path), f"duplicate region id '{rid}' (first on line {seen[rid]})", line,
                                    "region_id"))
            continue
        seen[rid] = line
        value = _transfer(cells[tc]) if tc < len(cells) else None
        if value is None:
            shown = cells[tc] if tc < len(cells) else ""
            problems.append(Problem(str(path), f"transfer '{shown}' is not a finite number", line, "transfer"))
            continue
        out[where[rid]] = value
    problems += [Problem(str(path), f"region '{r}' of the instance has no row", None, "region_id")
                 for r in where if r not in seen]
    if problems:
        raise InputError(problems)
    return out
