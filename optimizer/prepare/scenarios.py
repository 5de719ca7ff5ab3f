"""``[scenarios.NAME]`` in instance.toml: named sets of overrides, applied in a fixed order.

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

Order (echoed in summary.json under "applied"): 1 region field overrides (on the
original regions), 2 merges, 3 budget, 4 threshold, 5 policy, 6 group bounds,
7 objective. CLI flags (--budget, --threshold, --objective, policy flags, --merge) apply
after the scenario; a budget like "1.1x" is a multiple of the instance's budget.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.objectives import OBJECTIVES
from optimizer.core.errors import InputError, Problem, UsageError
from optimizer.io.groups import Group
from optimizer.core.instance import Instance
from optimizer.prepare.merge import check_merges, merge_regions
from optimizer.prepare.policy_config import parse_policy

ORDER = ("regions", "merges", "budget", "threshold", "policy", "groups", "objective")
KEYS = ("description", *ORDER)
REGION_FIELDS = ("population", "own_revenue", "fiscal_need", "threshold", "prior_transfer",
                 "min_transfer", "max_transfer", "weight")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)   # rid -> field -> number | {scale|add}
    merges: list[list[str]] = field(default_factory=list)
    budget: float | str | None = None
    threshold: float | None = None
    policy: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)  # group id -> bounds
    objective: str | None = None


def _number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def parse_scenarios(meta: dict[str, Any], file: str, region_ids: list[str], groups: list[Group],
                    problems: list[Problem]) -> dict[str, Scenario]:
    table = meta.get("scenarios", {})
    if not isinstance(table, dict):
        problems.append(Problem(file, "[scenarios] must be a table of [scenarios.NAME] tables",
                                column="scenarios"))
        return {}
    out = {}
    mergers = {g.id: list(g.members) for g in groups if g.kind == "merger"}
    for name, node in table.items():
        where = f"scenarios.{name}"
        if not isinstance(node, dict):
            problems.append(Problem(file, f"[{where}] must be a table", column=where))
            continue
        for key in node:
            if key not in KEYS:
                problems.append(Problem(file, f"unknown scenario key '{key}'; known: {', '.join(KEYS)}",
                                        column=f"{where}.{key}"))
        out[name] = Scenario(
            name=name,
            description=str(node.get("description", "")),
            regions=_regions(node.get("regions", {}), file, where, region_ids, problems),
            merges=_merges(node.get("merges", []), file, where, region_ids, mergers, problems),
            budget=_budget(node.get("budget"), file, where, problems),
            threshold=_threshold(node.get("threshold"), file, where, problems),
            policy=_policy(node.get("policy"), file, where, problems),
            groups=_groups(node.get("groups", {}), file, where, groups, problems),
            objective=_objective(node.get("objective"), file, where, problems))
    return out


def _regions(node, file, where, region_ids, problems) -> dict[str, dict[str, Any]]:
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
                problems.append(Problem(file, f"cannot override '{fname}'; allowed: {', '.join(REGION_FIELDS)}",
                                        column=c, region=rid))
            elif _number(val) or (isinstance(val, dict) and len(val) == 1 and next(iter(val)) in ("scale", "add")
                                  and _number(next(iter(val.values())))):
                out[rid][fname] = val
            else:
                problems.append(Problem(file, f"'{c}' must be a number, {{ scale = x }} or {{ add = x }}, "
                                              f"got {val!r}", column=c, region=rid))
    return out


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


def _budget(val, file, where, problems):
    col = f"{where}.budget"
    if val is None:
        return None
    if _number(val) and val >= 0:
        return float(val)
    if isinstance(val, str) and val.strip().lower().endswith("x"):
        try:
            if float(val.strip()[:-1]) >= 0:
                return val.strip().lower()
        except ValueError:
            pass
    problems.append(Problem(file, f"'{col}' must be a number >= 0 or a multiple like '1.1x', got {val!r}",
                            column=col))
    return None


def _threshold(val, file, where, problems):
    if val is None:
        return None
    if _number(val) and val >= 0:
        return float(val)
    problems.append(Problem(file, f"'{where}.threshold' must be a number >= 0, got {val!r}",
                            column=f"{where}.threshold"))
    return None


def _policy(val, file, where, problems) -> dict[str, Any]:
    if val is None:
        return {}
    n = len(problems)
    cfg = parse_policy(val, file, problems, where=f"{where}.policy")
    return cfg.as_dict() if len(problems) == n else {}


def _groups(node, file, where, groups, problems) -> dict[str, dict[str, float]]:
    from optimizer.io.groups import _bounds

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
        parsed = _bounds(file, gid, bounds, problems)
        if len(problems) == n:
            out[gid] = parsed
    return out


def _objective(val, file, where, problems):
    if val is None:
        return None
    if isinstance(val, str) and val in OBJECTIVES:
        return val
    problems.append(Problem(file, f"unknown objective {val!r}; known: {', '.join(OBJECTIVES)}",
                            column=f"{where}.objective"))
    return None


def scenarios_of(inst: Instance) -> dict[str, Scenario]:
    from optimizer.prepare.policy_round import instance_groups

    problems: list[Problem] = []
    out = parse_scenarios(inst.raw_toml, str(inst.path / "instance.toml"), list(inst.regions["region_id"]),
                          instance_groups(inst), problems)
    if problems:
        raise InputError(problems)
    return out


def get_scenario(inst: Instance, name: str) -> Scenario:
    sc = scenarios_of(inst)
    if name not in sc:
        raise UsageError(f"unknown scenario '{name}'; the instance has: {', '.join(sc) or 'none'}")
    return sc[name]


def override_regions(inst: Instance, overrides: dict[str, dict[str, Any]]) -> tuple[Instance, list[str]]:
    reg = inst.regions.copy()
    log = []
    ids = list(reg["region_id"])
    for rid, fields in overrides.items():
        i = ids.index(rid)
        for fname, val in fields.items():
            old = float(reg.at[i, fname])
            if isinstance(val, dict):
                (op, x), = val.items()
                new = old * x if op == "scale" else (0.0 if np.isnan(old) else old) + x
            else:
                new = float(val)
            if fname == "population":
                reg[fname] = reg[fname].astype(np.int64)
                new = int(round(new))
            reg.at[i, fname] = new
            log.append(f"{rid}.{fname}: {old:g} -> {new:g}")
    return dataclasses.replace(inst, regions=reg), log


def apply_scenario(inst: Instance, sc: Scenario) -> Instance:
    """The instance as the scenario sees it (steps in ``ORDER``), with the steps echoed."""
    steps: list[dict[str, Any]] = []
    if sc.regions:
        inst, log = override_regions(inst, sc.regions)
        steps.append({"step": "regions", "changes": log})
    if sc.merges:
        inst = merge_regions(inst, sc.merges)
        steps.append({"step": "merges", "merges": sc.merges})
    updates: dict[str, Any] = {}
    if sc.budget is not None:
        budget = float(sc.budget[:-1]) * inst.budget if isinstance(sc.budget, str) else sc.budget
        updates["budget"] = budget
        steps.append({"step": "budget", "from": inst.budget, "to": budget})
    if sc.threshold is not None:
        updates["threshold"] = sc.threshold
        steps.append({"step": "threshold", "from": inst.threshold, "to": sc.threshold})
    raw = dict(inst.raw_toml)
    if sc.policy:
        base = raw.get("policy", {}) if isinstance(raw.get("policy"), dict) else {}
        raw["policy"] = base | sc.policy
        steps.append({"step": "policy", "set": sc.policy})
    if sc.groups:
        base = raw.get("groups", {}) if isinstance(raw.get("groups"), dict) else {}
        raw["groups"] = base | {gid: dict(base.get(gid, {})) | b for gid, b in sc.groups.items()}
        steps.append({"step": "groups", "set": sc.groups})
    if sc.objective is not None:
        updates["objective"] = sc.objective
        steps.append({"step": "objective", "from": inst.objective, "to": sc.objective})
    applied = dict(inst.applied)
    applied["scenario"] = {"name": sc.name, "description": sc.description, "order": list(ORDER), "steps": steps}
    return dataclasses.replace(inst, raw_toml=raw, applied=applied, **updates)


def prepare(inst: Instance, scenario: str | None = None, merges: list[list[str]] = (),
            merge_groups: list[str] = ()) -> Instance:
    """The instance a solve sees: the scenario's overrides (in ``ORDER``), then CLI merges."""
    if scenario is not None:
        inst = apply_scenario(inst, get_scenario(inst, scenario))
    all_merges = [list(m) for m in merges]
    if merge_groups:
        from optimizer.prepare.policy_round import instance_groups

        mergers = {g.id: list(g.members) for g in instance_groups(inst) if g.kind == "merger"}
        for gid in merge_groups:
            if gid not in mergers:
                raise UsageError(f"--merge-group: no merger group '{gid}' in groups.csv "
                                 f"(merger groups: {', '.join(mergers) or 'none'})")
            all_merges.append(mergers[gid])
    return merge_regions(inst, all_merges)


def compare_scenarios(inst: Instance, names: list[str], solve_one) -> list[dict[str, Any]]:
    """One row per scenario ('base' = the instance as loaded): status and headline figures.
    ``solve_one(instance) -> Result`` is the caller's solve (same options for all)."""
    from optimizer.core.errors import InfeasibleError

    rows = []
    for name in ["base", *names]:
        sc_inst = inst if name == "base" else apply_scenario(inst, get_scenario(inst, name))
        try:
            s = solve_one(sc_inst).summary
        except InfeasibleError as exc:
            s = exc.summary
        after = s.get("metrics_after", {})
        rows.append({"scenario": name, "regions": len(sc_inst.regions), "status": s["status"],
                     "objective": s["objective"], "objective_value": s.get("objective_value"),
                     "budget": s["budget"], "budget_used": s.get("budget_used"),
                     "required_budget": s.get("required_budget"), "min_level": after.get("min_level"),
                     "gini": after.get("gini"),
                     "regions_below_threshold": after.get("regions_below_threshold"),
                     "diagnosis": s.get("diagnosis", "")})
    return rows
