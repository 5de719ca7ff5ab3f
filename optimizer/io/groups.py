"""``groups.csv`` (group_id, region_id, kind) and the ``[groups.ID]`` bounds in instance.toml.

kind is ``union`` (regions cooperate but stay separate: group constraints apply) or
``merger`` (a candidate merger: ``--merge-group ID`` or a scenario's ``merges`` replaces
the members by one region). Bounds, all optional, in ``[groups.ID]``:
``min_transfer``, ``max_transfer`` (instance unit) and ``min_level`` (a level).
After a merge, members are mapped to the merged region (column ``merged_from``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.core.errors import Problem
from optimizer.io.load import read_csv_rows

GROUPS_FILE = "groups.csv"
KINDS = ("union", "merger")
BOUND_KEYS = ("min_transfer", "max_transfer", "min_level")


@dataclass(frozen=True)
class Group:
    id: str
    kind: str
    members: tuple[str, ...]
    min_transfer: float | None = None
    max_transfer: float | None = None
    min_level: float | None = None

    @property
    def constrained(self) -> bool:
        return any(v is not None for v in (self.min_transfer, self.max_transfer, self.min_level))


def read_groups(folder: Path, meta: dict[str, Any], region_ids: list[str],
                problems: list[Problem]) -> list[Group]:
    """Parse groups.csv (absent = no groups) and the [groups.ID] bounds; append problems."""
    path = folder / GROUPS_FILE
    table = meta.get("groups", {}) if meta else {}
    tf = str(folder / "instance.toml")
    if not path.exists():
        if table:
            problems.append(Problem(tf, f"[groups] is given but {GROUPS_FILE} is missing", column="groups"))
        return []
    gf = str(path)
    header, rows = read_csv_rows(path, problems)
    if not header:
        return []
    for col in ("group_id", "region_id", "kind"):
        if col not in header:
            problems.append(Problem(gf, "required column is missing", 1, col))
    if any(c not in header for c in ("group_id", "region_id", "kind")):
        return []
    pos = {c: i for i, c in enumerate(header)}
    known = set(region_ids)
    members: dict[str, list[str]] = {}
    kinds: dict[str, str] = {}
    for line, cells in rows:
        if len(cells) != len(header):
            problems.append(Problem(gf, f"has {len(cells)} fields, the header has {len(header)}", line))
            continue
        gid, rid, kind = (cells[pos[c]].strip() for c in ("group_id", "region_id", "kind"))
        if not gid:
            problems.append(Problem(gf, "is empty; every row needs a group id", line, "group_id"))
            continue
        if rid not in known:
            problems.append(Problem(gf, f"unknown region '{rid}' (not in regions.csv)", line, "region_id", rid))
            continue
        if kind not in KINDS:
            problems.append(Problem(gf, f"kind must be one of {', '.join(KINDS)}, got '{kind}'", line, "kind"))
            continue
        if gid in kinds and kinds[gid] != kind:
            problems.append(Problem(gf, f"group '{gid}' is given kind '{kind}' here and '{kinds[gid]}' "
                                        "before", line, "kind"))
            continue
        if rid in members.get(gid, []):
            problems.append(Problem(gf, f"region '{rid}' is listed twice in group '{gid}'", line,
                                    "region_id", rid))
            continue
        kinds[gid] = kind
        members.setdefault(gid, []).append(rid)
    if not isinstance(table, dict):
        problems.append(Problem(tf, "[groups] must be a table of [groups.ID] tables", column="groups"))
        table = {}
    groups = []
    for gid in members:
        bounds = _bounds(tf, gid, table.get(gid, {}), problems)
        groups.append(Group(gid, kinds[gid], tuple(members[gid]), **bounds))
    for gid in table:
        if gid not in members:
            problems.append(Problem(tf, f"[groups.{gid}] names a group that is not in {GROUPS_FILE}",
                                    column=f"groups.{gid}"))
    return groups


def _bounds(tf: str, gid: str, node: Any, problems: list[Problem]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    if not isinstance(node, dict):
        problems.append(Problem(tf, f"[groups.{gid}] must be a table", column=f"groups.{gid}"))
        return out
    for key, value in node.items():
        col = f"groups.{gid}.{key}"
        if key not in BOUND_KEYS:
            problems.append(Problem(tf, f"unknown key '{key}'; known: {', '.join(BOUND_KEYS)}", column=col))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < 0:
            problems.append(Problem(tf, f"'{col}' must be a finite number >= 0, got {value!r}", column=col))
        else:
            out[key] = float(value)
    lo, hi = out.get("min_transfer"), out.get("max_transfer")
    if lo is not None and hi is not None and hi < lo:
        problems.append(Problem(tf, f"max_transfer {hi:g} is below min_transfer {lo:g}",
                                column=f"groups.{gid}.max_transfer"))
    return out


def member_index(groups: list[Group], regions: pd.DataFrame) -> list[np.ndarray]:
    """Row indices of each group's members in ``regions``, through merges (merged_from)."""
    ids = list(regions["region_id"])
    where = {rid: i for i, rid in enumerate(ids)}
    if "merged_from" in regions.columns:
        for i, src in enumerate(regions["merged_from"]):
            for rid in str(src or "").split("+"):
                if rid:
                    where[rid] = i
    return [np.array(sorted({where[r] for r in g.members if r in where}), dtype=np.int64) for g in groups]


def group_arrays(groups: list[Group], regions: pd.DataFrame):
    """(members, lower, upper, min_level) arrays of the constrained groups."""
    gs = [g for g in groups if g.constrained]
    members = member_index(gs, regions)

    def arr(vals, missing):
        return np.array([missing if v is None else v for v in vals], dtype=float)

    return (members, arr([g.min_transfer for g in gs], -np.inf), arr([g.max_transfer for g in gs], np.inf),
            arr([g.min_level for g in gs], np.nan))
