"""``groups.csv`` (group_id, region_id, kind) and the ``[groups.ID]`` bounds in instance.toml.

kind is ``union`` (regions cooperate but stay separate: group constraints apply) or
``merger`` (a candidate merger: ``--merge-group ID`` or a scenario's ``merges`` replaces
the members by one region). Bounds, all optional, in ``[groups.ID]``:
``min_transfer``, ``max_transfer`` (instance unit) and ``min_level`` (a level).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from optimizer.core import limits as lim
from optimizer.core.errors import Problem
from optimizer.core.groups import BOUND_KEYS, KINDS, Group
from optimizer.io.source import Source
from optimizer.io.validation import unknown_key

GROUPS_FILE = "groups.csv"


def read_groups(src: Source, meta: dict[str, Any], region_ids: Iterable[str],
                problems: list[Problem]) -> list[Group]:
    """Parse groups.csv (absent = no groups) and the [groups.ID] bounds; append problems."""
    table = meta.get("groups", {}) if meta else {}
    tf = src.file("instance.toml")
    read = src.table(GROUPS_FILE, problems, optional=True)
    if read is None:
        if table:
            problems.append(Problem(tf, f"[groups] is given but {GROUPS_FILE} is missing", column="groups"))
        return []
    gf = src.file(GROUPS_FILE)
    header, rows = read
    if not header:
        return []
    for col in ("group_id", "region_id", "kind"):
        if col not in header:
            problems.append(Problem(gf, "required column is missing", 1, col))
    if any(c not in header for c in ("group_id", "region_id", "kind")):
        return []
    members, kinds = read_members(gf, header, rows, set(region_ids), problems)
    if not isinstance(table, dict):
        problems.append(Problem(tf, "[groups] must be a table of [groups.ID] tables", column="groups"))
        table = {}
    groups = []
    for gid in members:
        bounds = parse_bounds(tf, gid, table.get(gid, {}), problems)
        groups.append(Group(gid, kinds[gid], tuple(members[gid]), **bounds))
    for gid in table:
        if gid not in members:
            problems.append(Problem(tf, f"[groups.{gid}] names a group that is not in {GROUPS_FILE}",
                                    column=f"groups.{gid}"))
    return groups


def read_members(gf: str, header: list[str], rows: list[tuple[int, list[str]]], known: set[str],
                 problems: list[Problem]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Group id -> members and group id -> kind from the rows of groups.csv."""
    pos = {c: i for i, c in enumerate(header)}
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
    return members, kinds


def parse_bounds(tf: str, gid: str, node: Any, problems: list[Problem]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    if not isinstance(node, dict):
        problems.append(Problem(tf, f"[groups.{gid}] must be a table", column=f"groups.{gid}"))
        return out
    for key, value in node.items():
        col = f"groups.{gid}.{key}"
        top = lim.LEVEL_MAX if key == "min_level" else lim.MONEY_MAX
        if key not in BOUND_KEYS:
            problems.append(unknown_key(tf, key, BOUND_KEYS, f"groups.{gid}"))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not 0 <= value <= top:
            problems.append(Problem(tf, f"'{col}' must be a finite number between 0 and {top:g}, got {value!r}",
                                    column=col))
        else:
            out[key] = float(value)
    lo, hi = out.get("min_transfer"), out.get("max_transfer")
    if lo is not None and hi is not None and hi < lo:
        problems.append(Problem(tf, f"max_transfer {hi:g} is below min_transfer {lo:g}",
                                column=f"groups.{gid}.max_transfer"))
    return out
