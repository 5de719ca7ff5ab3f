"""Apply a scenario of ``[scenarios.NAME]`` (parsed at load, optimizer/io/scenarios.py) and the
CLI merges to an instance: ``prepare`` is the instance a solve sees.

Order (echoed in summary.json under "applied"): 1 region field overrides (on the
original regions), 2 merges, 3 budget, 4 threshold, 5 policy, 6 group bounds,
7 objective. CLI flags (--budget, --threshold, --objective, policy flags, --merge) apply
after the scenario; a budget like "1.1x" is a multiple of the instance's budget.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from optimizer.core.errors import UsageError
from optimizer.core.groups import merger_members
from optimizer.core.instance import Instance
from optimizer.core.scenario import ORDER, Scenario, override_value
from optimizer.prepare.merge import merge_regions


def get_scenario(inst: Instance, name: str) -> Scenario:
    sc = inst.scenarios
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
            new = override_value(old, val)
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
    updates = scenario_updates(inst, sc, steps)
    applied = dict(inst.applied)
    applied["scenario"] = {"name": sc.name, "description": sc.description, "order": list(ORDER), "steps": steps}
    return dataclasses.replace(inst, applied=applied, **updates)


def scenario_updates(inst: Instance, sc: Scenario, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Instance fields the scenario's budget, threshold, policy, group bounds and objective
    replace (steps 3 to 7); each step is appended to ``steps``."""
    updates: dict[str, Any] = {}
    if sc.budget is not None:
        budget = sc.budget * inst.budget if sc.budget_multiple else sc.budget
        updates["budget"] = budget
        steps.append({"step": "budget", "from": inst.budget, "to": budget})
    if sc.threshold is not None:
        updates["threshold"] = sc.threshold
        steps.append({"step": "threshold", "from": inst.threshold, "to": sc.threshold})
    if sc.policy.active:
        updates["policy"] = inst.policy.merged(sc.policy)
        steps.append({"step": "policy", "set": sc.policy.as_dict()})
    if sc.groups:
        updates["groups"] = [dataclasses.replace(g, **sc.groups.get(g.id, {})) for g in inst.groups]
        steps.append({"step": "groups", "set": sc.groups})
    if sc.objective is not None:
        updates["objective"] = sc.objective
        steps.append({"step": "objective", "from": inst.objective, "to": sc.objective})
    return updates


def prepare(inst: Instance, scenario: str | None = None, merges: list[list[str]] = (),
            merge_groups: list[str] = ()) -> Instance:
    """The instance a solve sees: the scenario's overrides (in ``ORDER``), then CLI merges."""
    if scenario is not None:
        inst = apply_scenario(inst, get_scenario(inst, scenario))
    all_merges = [list(m) for m in merges]
    mergers = merger_members(inst.groups)
    for gid in merge_groups:
        if gid not in mergers:
            raise UsageError(f"--merge-group: no merger group '{gid}' in groups.csv "
                             f"(merger groups: {', '.join(mergers) or 'none'})")
        all_merges.append(mergers[gid])
    return merge_regions(inst, all_merges)
