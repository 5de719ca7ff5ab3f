"""Read an instance folder into a validated ``Instance``.

A folder holds ``instance.toml`` (metadata, budget, threshold, default objective) and
``regions.csv`` (one row per region). See docs/instance-format.md.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.objectives import OBJECTIVES
from optimizer.io import validation as v
from optimizer.core.errors import InputError, Problem
from optimizer.core.instance import Instance
from optimizer.io.regions_csv import read_regions_fast

INSTANCE_FILE = "instance.toml"
REGIONS_FILE = "regions.csv"


def file_digest(folder: Path, names: list[str]) -> str:
    h = hashlib.sha256()
    for name in sorted(names):
        p = folder / name
        if p.exists():
            h.update(name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _read_toml(path: Path, problems: list[Problem]) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        problems.append(Problem(str(path), "file is missing"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), f"is not UTF-8 text ({exc.reason})"))
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        col = f"{m.group(2)}" if m else None
        problems.append(Problem(str(path), f"TOML syntax error: {msg}"
                                + (f" (at column {col})" if col else ""), line))
    return {}


def read_csv_rows(path: Path, problems: list[Problem]) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        problems.append(Problem(str(path), "file is missing"))
        return [], []
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), f"is not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return [], []
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, list[str]]] = []
    header: list[str] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not header:
                header = [c.strip() for c in cells]
                continue
            if not cells or all(c.strip() == "" for c in cells):
                continue  # blank lines are allowed (Excel leaves them)
            rows.append((line, cells))
    except csv.Error as exc:
        problems.append(Problem(str(path), f"CSV syntax error: {exc}", reader.line_num))
    if not header:
        problems.append(Problem(str(path), "file is empty; a header row is required"))
    return header, rows


def load_instance(folder: str | Path) -> Instance:
    """Load and validate; raise ``InputError`` listing every problem found."""
    folder = Path(folder)
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InputError([Problem(str(folder), "instance folder does not exist")])
    toml_path, csv_path = folder / INSTANCE_FILE, folder / REGIONS_FILE
    meta = _read_toml(toml_path, problems)
    tf = str(toml_path)

    name = unit = None
    budget = threshold = None
    description, year, sources, objective, objective_options = "", None, [], None, {}
    if meta:
        name = v.check_toml_string(tf, meta, "name", problems, required=True)
        unit = v.check_toml_string(tf, meta, "unit", problems, required=True)
        description = v.check_toml_string(tf, meta, "description", problems, required=False) or ""
        if "year" in meta and (isinstance(meta["year"], bool) or not isinstance(meta["year"], int)):
            problems.append(Problem(tf, f"'year' must be an integer, got {meta['year']!r}", column="year"))
        else:
            year = meta.get("year")
        sources = v.check_sources(tf, meta, problems)
        budget = v.check_toml_number(tf, meta, "budget", "total", problems, required=True)
        threshold = v.check_toml_number(tf, meta, "threshold", "level", problems, required=True)
        obj = meta.get("objective", {})
        if not isinstance(obj, dict):
            problems.append(Problem(tf, "[objective] must be a table", column="objective"))
        else:
            objective = obj.get("name")
            if objective is not None and objective not in OBJECTIVES:
                problems.append(Problem(tf, f"unknown objective '{objective}'; known: "
                                            f"{', '.join(OBJECTIVES)}", column="objective.name"))
            objective_options = {k: val for k, val in obj.items() if k != "name"}

    # A large, plain, valid regions.csv is read vectorised (optimizer/fast_regions.py: the
    # same frame); anything unusual takes the exact path below, which reports problems.
    fast = read_regions_fast(csv_path)
    header, rows = (fast[0], []) if fast else read_csv_rows(csv_path, problems)
    cf = str(csv_path)
    frame = pd.DataFrame()
    extra: list[str] = []
    notices: list[str] = []
    if header:
        v.check_header(cf, header, problems)
        known = set(v.REQUIRED_COLUMNS) | set(v.OPTIONAL_NUMERIC)
        extra = [c for c in header if c not in known and c]
        if extra:
            notices.append(f"{cf}: passing through unknown columns: {', '.join(extra)}")
        if not rows and not fast:
            problems.append(Problem(cf, "has no region rows"))
        frame = fast[1] if fast else _parse_regions(cf, header, rows, extra, problems)
    if meta and len(frame):  # [policy], groups.csv, [groups.*], [scenarios.*]
        from optimizer.io.extensions import check_extensions
        check_extensions(folder, meta, list(frame["region_id"]), problems, regions=frame)
    if problems:
        raise InputError(problems)
    spread = _need_spread(frame)
    if spread > 1e7:
        # one money scale serves ~7 orders of magnitude at HiGHS's 1e-7 tolerances; beyond
        # that the post-solve check may reject a solution (it never reports a wrong one)
        notices.append(f"{csv_path}: fiscal_need spans {spread:.0e}x (largest/smallest); the LP is "
                       "badly scaled and HiGHS may fail the post-solve check")
    return Instance(
        path=folder, name=name or folder.name, unit=unit or "", budget=float(budget),
        threshold=float(threshold), regions=frame, description=description, year=year,
        sources=sources, objective=objective, objective_options=objective_options,
        extra_columns=extra, notices=notices,
        sha256=file_digest(folder, [p.name for p in folder.iterdir() if p.is_file()
                                    and p.suffix in (".toml", ".csv")]),
        raw_toml=meta)


def _need_spread(frame: pd.DataFrame) -> float:
    need = frame["fiscal_need"].to_numpy(dtype=float) if len(frame) else np.ones(1)
    return float(need.max() / need.min()) if need.min() > 0 else float("inf")


def _parse_regions(cf: str, header: list[str], rows: list[tuple[int, list[str]]],
                   extra: list[str], problems: list[Problem]) -> pd.DataFrame:
    pos = {c: i for i, c in enumerate(header)}
    numeric = [c for c in ("population", "own_revenue", "fiscal_need", *v.OPTIONAL_NUMERIC)]
    data: dict[str, list[Any]] = {c: [] for c in ("region_id", "name", *numeric, *extra)}
    seen: dict[str, int] = {}
    for line, cells in rows:
        if len(cells) != len(header):
            problems.append(Problem(cf, f"has {len(cells)} fields, the header has {len(header)}", line))
            continue
        rid = cells[pos["region_id"]].strip() if "region_id" in pos else ""
        if "region_id" in pos:
            v.check_region_id(cf, line, rid, seen, problems)
        data["region_id"].append(rid)
        data["name"].append(cells[pos["name"]].strip() if "name" in pos else "")
        for col in numeric:
            if col not in pos:
                data[col].append(np.nan)
                continue
            val = v.check_cell(cf, line, rid or None, col, cells[pos[col]], problems,
                               required=col in v.REQUIRED_COLUMNS)
            data[col].append(np.nan if val is None else val)
        lo, hi = data["min_transfer"][-1], data["max_transfer"][-1]
        v.check_transfer_bounds(cf, line, rid, None if np.isnan(lo) else lo,
                                None if np.isnan(hi) else hi, problems)
        for col in extra:
            data[col].append(cells[pos[col]])
    frame = pd.DataFrame(data)
    pop = frame["population"].to_numpy(dtype=float)
    if len(frame) and np.all(np.isfinite(pop)) and np.all(pop == np.round(pop)):
        frame["population"] = pop.astype(np.int64)
    if "weight" in pos and len(frame):
        w = frame["weight"].to_numpy(dtype=float)
        w = np.where(np.isnan(w), frame["population"].to_numpy(dtype=float), w)
        v.check_weights(cf, float(np.nansum(w)), problems)
    return frame
