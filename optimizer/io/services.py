"""Read and validate ``services.csv`` (region_id, service, need, threshold[, own_revenue]) and
the ``[services]`` table; the model of services is in optimizer/prepare/services.py."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from optimizer.core.errors import Problem
from optimizer.core.services import FAIRNESS_OVER, SERVICE_ROW_COLUMNS, ServiceOptions
from optimizer.io import validation as v
from optimizer.io.source import Source

SERVICES_FILE = "services.csv"
NEED_RTOL = 1e-3      # service needs must sum to fiscal_need within 0.1 %


def read_services(src: Source, regions: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame | None:
    """Parse and validate services.csv against the regions as loaded: its rows
    (SERVICE_ROW_COLUMNS), None when absent or wrong; append every problem found."""
    n0 = len(problems)
    read = src.table(SERVICES_FILE, problems, optional=True)
    if read is None:
        return None
    sf = src.file(SERVICES_FILE)
    header, rows = read
    if not header:
        return None
    for col in ("region_id", "service", "need", "threshold"):
        if col not in header:
            problems.append(Problem(sf, "required column is missing", 1, col))
    if any(c not in header for c in ("region_id", "service", "need", "threshold")):
        return None
    frame = parse_rows(sf, header, rows, problems)
    check_regions(sf, frame, regions, problems)
    if len(problems) > n0 or frame.empty:
        if frame.empty and len(problems) == n0:
            problems.append(Problem(sf, "has no service rows"))
        return None
    check_sums(sf, frame, regions, problems)
    return None if len(problems) > n0 else frame


def parse_rows(sf: str, header: list[str], rows: list[tuple[int, list[str]]],
               problems: list[Problem]) -> pd.DataFrame:
    """The rows of services.csv (SERVICE_ROW_COLUMNS), each cell checked."""
    pos = {c: i for i, c in enumerate(header)}
    has_own = "own_revenue" in pos
    seen: dict[tuple[str, str], int] = {}
    recs: list[dict[str, Any]] = []
    for line, cells in rows:
        if len(cells) != len(header):
            problems.append(Problem(sf, f"has {len(cells)} fields, the header has {len(header)}", line))
            continue
        rid, svc = cells[pos["region_id"]].strip(), cells[pos["service"]].strip()
        if not svc:
            problems.append(Problem(sf, "is empty; every row needs a service name", line, "service", rid))
        elif (rid, svc) in seen:
            problems.append(Problem(sf, f"duplicate service '{svc}' for region '{rid}' (first on line "
                                        f"{seen[(rid, svc)]})", line, "service", rid))
        else:
            seen[(rid, svc)] = line
        need = v.check_cell(sf, line, rid, "fiscal_need", cells[pos["need"]], problems, required=True)
        if need is None:  # same rule as fiscal_need (> 0), reported under this file's column name
            problems[-1] = dataclasses.replace(problems[-1], column="need")
        thr = v.check_cell(sf, line, rid, "threshold", cells[pos["threshold"]], problems, required=False)
        own = (v.check_cell(sf, line, rid, "own_revenue", cells[pos["own_revenue"]], problems, required=False)
               if has_own else None)
        recs.append({"line": line, "region_id": rid, "service": svc, "need": need,
                     "threshold": np.nan if thr is None else thr, "own_given": own})
    return pd.DataFrame(recs, columns=SERVICE_ROW_COLUMNS)


def check_rows(sf: str, frame: pd.DataFrame, regions: pd.DataFrame, problems: list[Problem]) -> None:
    """The rows against ``regions`` (as loaded, or as a scenario or merge left them): every row
    names a region, every region has services summing to its need (and own revenue)."""
    n0 = len(problems)
    check_regions(sf, frame, regions, problems)
    if len(problems) == n0:
        check_sums(sf, frame, regions, problems)


def check_regions(sf: str, frame: pd.DataFrame, regions: pd.DataFrame, problems: list[Problem]) -> None:
    known = set(regions["region_id"])
    for line, rid in zip(frame["line"], frame["region_id"]):
        if rid not in known:
            problems.append(Problem(sf, f"unknown region '{rid}' (not in regions.csv)", int(line),
                                    "region_id", rid))


def check_sums(sf: str, frame: pd.DataFrame, regions: pd.DataFrame, problems: list[Problem]) -> None:
    for rid, need_r, own_r in zip(regions["region_id"], regions["fiscal_need"], regions["own_revenue"]):
        part = frame[frame["region_id"] == rid]
        if part.empty:
            problems.append(Problem(sf, f"region '{rid}' has no services; every region needs at least one",
                                    column="region_id", region=rid))
            continue
        line = int(part["line"].iloc[0])
        total = float(part["need"].sum())
        if abs(total - need_r) > NEED_RTOL * need_r:
            problems.append(Problem(sf, f"service needs of '{rid}' sum to {total:,.6g}, its fiscal_need is "
                                        f"{need_r:,.6g} (must agree within 0.1%)", line, "need", rid))
        given = part["own_given"].notna()
        if given.any() and not given.all():
            problems.append(Problem(sf, f"own_revenue is given for some services of '{rid}' but not all; "
                                        "give all or none", line, "own_revenue", rid))
        elif given.all():
            own_t = float(part["own_given"].astype(float).sum())
            if abs(own_t - own_r) > NEED_RTOL * max(own_r, 1e-12) + 1e-12:
                problems.append(Problem(sf, f"service own_revenue of '{rid}' sums to {own_t:,.6g}, its "
                                            f"own_revenue is {own_r:,.6g} (must agree within 0.1%)",
                                        line, "own_revenue", rid))


def parse_service_options(table: Any, file: str, problems: list[Problem]) -> ServiceOptions:
    """The ``[services]`` table (earmarked, fairness_over); defaults when absent."""
    if table is None:
        return ServiceOptions()
    if not isinstance(table, dict):
        problems.append(Problem(file, "[services] must be a table", column="services"))
        return ServiceOptions()
    for k, val in table.items():
        col = f"services.{k}"
        if k == "earmarked" and not isinstance(val, bool):
            problems.append(Problem(file, f"'{col}' must be true or false, got {val!r}", column=col))
        elif k == "fairness_over" and val not in FAIRNESS_OVER:
            problems.append(Problem(file, f"'{col}' must be \"regions\" or \"services\", got {val!r}", column=col))
        elif k not in ("earmarked", "fairness_over"):
            problems.append(v.unknown_key(file, k, ("earmarked", "fairness_over"), "services", "services key"))
    earmarked, over = table.get("earmarked", False), table.get("fairness_over", "regions")
    return ServiceOptions(earmarked is True, over if over in FAIRNESS_OVER else "regions")
