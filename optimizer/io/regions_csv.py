"""Vectorised reading of a large, plain, valid regions.csv.

``optimizer.io.load`` parses regions.csv cell by cell so that every bad cell is
reported with its file, line and column; at 1e6 rows that costs tens of seconds and
over a gigabyte. This module is a fast path for the common case only: a file with no
quotes, no NUL, no lone CR, the same number of fields on every non-empty line, and no
cell that the exact checks would reject. It returns the very DataFrame the exact path
builds (same columns, dtypes and values: numbers go through Python's ``float`` like
``validation.parse_number``), or ``None`` as soon as anything is unusual, in which case
the caller runs the exact path, which stays the specification and reports problems.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimizer.io import validation as v

FAST_MIN_BYTES = 256 * 1024   # smaller files take the exact path (it is fast enough there)
_CSV_FIELD_LIMIT = 131072     # csv module default field_size_limit


def read_regions_fast(path: Path, min_bytes: int = FAST_MIN_BYTES) -> tuple[list[str], pd.DataFrame] | None:
    """(header, frame) as ``load_instance`` would build them, or None (use the exact path)."""
    lines = plain_lines(path, min_bytes)
    if lines is None:
        return None
    header = [c.strip() for c in lines[0].split(",")]
    problems: list = []
    v.check_header("", header, problems)
    if problems:
        return None
    cells = cell_matrix(lines, len(header))
    del lines
    if cells is None:
        return None
    frame = regions_frame(header, cells)
    return None if frame is None else (header, frame)


def plain_lines(path: Path, min_bytes: int) -> list[str] | None:
    """The lines of a large file without quotes, NUL or lone CR (header first), or None."""
    try:
        if path.stat().st_size < min_bytes:
            return None
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if '"' in text or "\0" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    lines = text.split("\n")
    del text
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or lines[0] == "":
        return None
    return lines


def cell_matrix(lines: list[str], k: int) -> np.ndarray | None:
    """The body's cells as an (m, k) object array, or None unless every line has k fields."""
    body = [ln for ln in lines[1:] if ln]           # empty lines are skipped by both paths
    if not body:
        return None
    if max(map(len, body)) > _CSV_FIELD_LIMIT:
        return None
    counts = np.fromiter(map(str.count, body, [","] * len(body)), dtype=np.int64, count=len(body))
    if np.any(counts != k - 1):
        return None  # wrong field count or a whitespace-only line: the exact path decides
    m = len(body)
    cells = np.array(",".join(body).split(","), dtype=object)
    del body
    if cells.shape[0] != m * k:
        return None
    return cells.reshape(m, k)


def regions_frame(header: list[str], cells: np.ndarray) -> pd.DataFrame | None:
    """The exact path's frame from the cells, or None if any cell would be reported."""
    m = cells.shape[0]
    pos = {c: i for i, c in enumerate(header)}
    ids = [s.strip() for s in cells[:, pos["region_id"]]]
    if any(not s for s in ids) or len(set(ids)) != m or any("+" in s for s in ids):
        return None
    names = [s.strip() for s in cells[:, pos["name"]]]
    numeric = ("population", "own_revenue", "fiscal_need", *v.OPTIONAL_NUMERIC)
    data: dict[str, object] = {"region_id": ids, "name": names}
    for col in numeric:
        if col not in pos:
            data[col] = np.full(m, np.nan)
            continue
        values = _numbers(cells[:, pos[col]], col, required=col in v.REQUIRED_COLUMNS)
        if values is None:
            return None
        data[col] = values
    lo, hi = data["min_transfer"], data["max_transfer"]
    if np.any(hi < lo):  # NaN compares False: a blank bound never conflicts
        return None
    known = set(v.REQUIRED_COLUMNS) | set(v.OPTIONAL_NUMERIC)
    for col in (c for c in header if c not in known and c):
        data[col] = cells[:, pos[col]].tolist()
    frame = pd.DataFrame(data)
    pop = frame["population"].to_numpy(dtype=float)
    if np.all(pop == np.round(pop)):
        frame["population"] = pop.astype(np.int64)
    if "weight" in pos:
        w = frame["weight"].to_numpy(dtype=float)
        w = np.where(np.isnan(w), frame["population"].to_numpy(dtype=float), w)
        if not float(np.nansum(w)) > 0:
            return None
    return frame


def _numbers(texts: np.ndarray, col: str, required: bool) -> np.ndarray | None:
    """float64 values of one column with the exact path's rules, or None if any cell would be
    reported (blank required, not a number, underscore, NaN, infinite, out of its range)."""
    if "_" in "".join(texts):
        return None
    blank = texts == ""
    if np.any(blank):
        if required:
            return None
        texts = np.where(blank, "nan", texts)
    try:
        values = texts.astype(float)          # Python's float(), as validation.parse_number
    except (ValueError, TypeError):
        return None
    if not np.all(np.isfinite(values[~blank])):
        return None
    lower, strict, upper, least = v.NUMERIC_RULES[col]
    ok = (values > lower if strict else values >= lower) & (values <= upper) & ((values >= least) | (values <= 0))
    if not np.all(ok | blank):
        return None
    return values
