"""Read and validate ``[scenarios.NAME]`` of instance.toml into ``Scenario`` objects.

    [scenarios.bg-merger]
    description = "Busan and Gyeongnam merge"
    merges = [["busan", "gyeongnam"]]        # or a merger group id: merges = ["busan-gyeongnam"]
    budget = 60000.0                          # or "1.05x" (a multiple of the instance budget)
    threshold = 0.9
    objective = "maxmin"
    policy = { merger_guarantee = true }      # keys of [policy]; merged over the instance's
    groups = { chungcheong = { min_level = 0.95 } }   # bounds of groups.csv groups
    [scenarios.bg-merger.regions.busan]
    own_revenue = { scale = 1.02 }            # or a number, or { add = 12.5 }

Merges naming a merger group are resolved to its members here; optimizer/prepare/scenarios.py
applies a scenario.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pandas as pd

from models.objectives import OBJECTIVES
from optimizer.core import limits as lim
from optimizer.core.budget import split_budget
from optimizer.core.errors import Problem
from optimizer.core.groups import Group, merger_members
from optimizer.core.policy import PolicyConfig
from optimizer.core.scenario import KEYS, REGION_FIELDS, Scenario, override_value
from optimizer.formulas import unknown_objective
from optimizer.io.groups import parse_bounds
from optimizer.io.policy import parse_policy
from optimizer.io.validation import range_message, unknown_key


def _number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def parse_scenarios(meta: dict[str, Any], file: str, region_ids: list[str], groups: list[Group],
                    problems: list[Problem], regions: pd.DataFrame | None = None) -> dict[str, Scenario]:
    """Every [scenarios.NAME]; with ``regions`` (as loaded) each region override is checked
    after it is applied, with the rules of regions.csv."""
    table = meta.get("scenarios", {})
    if not isinstance(table, dict):
        problems.append(Problem(file, "[scenarios] must be a table of [scenarios.NAME] tables",
                                column="scenarios"))
        return {}
    out = {}
    mergers = merger_members(groups)
    for name, node in table.items():
        where = f"scenarios.{name}"
        if not isinstance(node, dict):
            problems.append(Problem(file, f"[{where}] must be a table", column=where))
            continue
        for key in node:
            if key not in KEYS:
                problems.append(unknown_key(file, key, KEYS, where, "scenario key"))
        budget, multiple = _budget(node.get("budget"), file, where, problems)
        out[name] = Scenario(
            name=name,
            description=str(node.get("description", "")),
            regions=_regions(node.get("regions", {}), file, where, region_ids, problems, regions),
            merges=_merges(node.get("merges", []), file, where, region_ids, mergers, problems),
            budget=budget, budget_multiple=multiple,
            threshold=_threshold(node.get("threshold"), file, where, problems),
            policy=_policy(node.get("policy"), file, where, problems),
            groups=_groups(node.get("groups", {}), file, where, groups, problems),
            objective=_objective(node.get("objective"), file, where, problems))
    return out


def _regions(node, file, where, region_ids, problems, regions=None) -> dict[str, dict[str, Any]]:
    if not isinstance(node, dict):
        problems.append(Problem(file, f"[{where}.regions] must be a table", column=f"{where}.regions"))
        return {}
    known, out = set(region_ids), {}
    for rid, fields in node.items():
        col = f"{where}.regions.{rid}"
        if rid not in known:
            problems.append(Problem(file, f"unknown region '{rid}'", column=col, region=rid))
            continue
        if not isinstance(fields, dict):
            problems.append(Problem(file, f"[{col}] must be a table", column=col, region=rid))
            continue
        out[rid] = {}
        for fname, val in fields.items():
            c = f"{col}.{fname}"
            if fname not in REGION_FIELDS:
                problems.append(dataclasses.replace(unknown_key(file, fname, REGION_FIELDS, col, "region field"),
                                                    region=rid))
            elif _number(val) or (isinstance(val, dict) and len(val) == 1 and next(iter(val)) in ("scale", "add")
                                  and _number(next(iter(val.values())))):
                message = _after(regions, rid, fname, val)
                if message:
                    problems.append(Problem(file, f"the override gives {message}", column=c, region=rid))
                else:
                    out[rid][fname] = val
            else:
                problems.append(Problem(file, f"'{c}' must be a number, {{ scale = x }} or {{ add = x }}, "
                                              f"got {val!r}", column=c, region=rid))
    return out


def _after(regions: pd.DataFrame | None, rid: str, fname: str, spec: Any) -> str | None:
    """Why the field's value after the override breaks the rules of regions.csv, or None."""
    if regions is None:
        return None
    old = float(regions.loc[regions["region_id"] == rid, fname].iloc[0])
    new = override_value(old, spec)
    if fname == "population" and math.isfinite(new):
        new = float(round(new))
    message = range_message(fname, new) if not math.isnan(new) else None
    return f"{fname} = {new:g}, which {message.split(', got')[0]}" if message else None


def _merges(node, file, where, region_ids, mergers, problems) -> list[list[str]]:
    col = f"{where}.merges"
    if not isinstance(node, list):
        problems.append(Problem(file, f"'{col}' must be a list", column=col))
        return []
    out = []
    for item in node:
        if isinstance(item, str) and item in mergers:
            out.append(mergers[item])
        elif isinstance(item, list) and all(isinstance(x, str) for x in item):
            out.append(list(item))
        else:
            problems.append(Problem(file, f"'{col}': {item!r} is neither a list of region ids nor a "
                                          f"merger group of groups.csv ({', '.join(mergers) or 'none'})",
                                    column=col))
    for msg in check_merges(out, region_ids):
        problems.append(Problem(file, msg, column=col))
    return out


def _budget(val, file, where, problems) -> tuple[float | None, bool]:
    if val is None:
        return None, False
    col = f"{where}.budget"
    try:
        number, multiple = split_budget(val)
    except ValueError:
        problems.append(Problem(file, f"'{col}' must be a number >= 0 or a multiple like '1.1x', got {val!r}",
                                column=col))
        return None, False
    if number > (lim.MONEY_MAX if not multiple else lim.MONEY_PER_MEDIAN_NEED):
        problems.append(Problem(file, f"'{col}' must be at most {lim.MONEY_MAX:g} (or a multiple at most "
                                      f"{lim.MONEY_PER_MEDIAN_NEED:g}x), got {val!r}", column=col))
        return None, False
    return number, multiple


def _threshold(val, file, where, problems):
    if val is None:
        return None
    if _number(val) and 0 <= val <= lim.LEVEL_MAX:
        return float(val)
    problems.append(Problem(file, f"'{where}.threshold' must be a number between 0 and {lim.LEVEL_MAX:g}, "
                                  f"got {val!r}",
                            column=f"{where}.threshold"))
    return None


def _policy(val, file, where, problems) -> PolicyConfig:
    if val is None:
        return PolicyConfig()
    n = len(problems)
    cfg = parse_policy(val, file, problems, where=f"{where}.policy", consistent=False)
    return cfg if len(problems) == n else PolicyConfig()


def _groups(node, file, where, groups, problems) -> dict[str, dict[str, float]]:
    if not isinstance(node, dict):
        problems.append(Problem(file, f"'{where}.groups' must be a table", column=f"{where}.groups"))
        return {}
    known, out = {g.id for g in groups}, {}
    for gid, bounds in node.items():
        if gid not in known:
            problems.append(Problem(file, f"unknown group '{gid}' (not in groups.csv)",
                                    column=f"{where}.groups.{gid}"))
            continue
        n = len(problems)
        parsed = parse_bounds(file, gid, bounds, problems)
        if len(problems) == n:
            out[gid] = parsed
    return out


def _objective(val, file, where, problems):
    if val is None:
        return None
    unknown = unknown_objective(val, OBJECTIVES)
    if unknown is None:
        return val
    problems.append(Problem(file, unknown, column=f"{where}.objective"))
    return None


def check_merges(merges: list[list[str]], region_ids: list[str]) -> list[str]:
    """Messages for unknown, repeated or overlapping members (empty = fine)."""
    known, seen, out = set(region_ids), {}, []
    for k, members in enumerate(merges):
        if len(members) < 2:
            out.append(f"merge {k + 1} needs at least two regions, got {members}")
        for rid in members:
            if rid not in known:
                out.append(f"merge {k + 1}: unknown region '{rid}'")
            elif rid in seen:
                out.append(f"merge {k + 1}: region '{rid}' is already in merge {seen[rid] + 1}")
            else:
                seen[rid] = k
    return out
