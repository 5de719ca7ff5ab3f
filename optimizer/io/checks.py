"""One validation of the round a solve sees, whatever set its values.

Values reach a solve from regions.csv and instance.toml (checked at load), a scenario's
overrides and merges (optimizer/prepare/scenarios.py), CLI flags, batch specs and API
keywords (``SolveOptions``). ``check_round`` runs at the start of every solve
(optimizer/engine/solve.py ``prepare_round``) on the prepared Instance and the merged policy,
with the rules of the loader (optimizer/io/validation.py, ranges.py, policy.py), so no value
escapes them by coming from elsewhere; each problem names where the value came from. The
loader runs ``round_problems`` on the base round too, so ``equalize validate`` reports what
only the round as a whole says (the budget and group bounds against the needs, the transfer
a per-capita floor implies).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optimizer.core import limits as lim
from optimizer.core.errors import InputError, Problem
from optimizer.core.instance import Instance, unit_per_capita
from optimizer.core.policy import FIELDS, PolicyConfig
from optimizer.io.policy import consistency_messages, value_message
from optimizer.io.ranges import cell_problems, money_limit, money_problem, table_problems


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _scenario(inst: Instance) -> dict[str, Any]:
    return inst.applied.get("scenario") or {}


def _scenario_sets(inst: Instance, step: str) -> dict[str, Any] | None:
    for s in _scenario(inst).get("steps", []):
        if s.get("step") == step:
            return s
    return None


def regions_label(inst: Instance) -> str:
    """regions.csv, and what changed it since it was read."""
    label = str(inst.path / "regions.csv")
    changed = []
    if _scenario(inst):
        changed.append(f"scenario '{_scenario(inst)['name']}'")
    if inst.applied.get("merges"):
        changed.append("merges")
    if "year" in inst.regions.columns:
        changed.append("[phasing] growth")
    return label + (f" (after {', '.join(changed)})" if changed else "")


def policy_source(inst: Instance, override: PolicyConfig | None, key: str) -> str:
    """Where the merged policy's ``key`` came from: a flag (or API option), the scenario, [policy]."""
    if override is not None and getattr(override, key) is not None:
        return f"{flag(key)} (option '{key}')"
    step = _scenario_sets(inst, "policy")
    if step is not None and key in step.get("set", {}):
        return f"{inst.path / 'instance.toml'}, [scenarios.{_scenario(inst)['name']}] policy.{key}"
    return f"{inst.path / 'instance.toml'}, [policy] {key}"


def budget_source(inst: Instance, budget: float | None) -> tuple[str, str | None]:
    if budget is not None:
        return "--budget", None
    if "year" in inst.regions.columns:
        return str(inst.path / "instance.toml"), "phasing year budgets (summed)"
    if _scenario_sets(inst, "budget") is not None:
        return str(inst.path / "instance.toml"), f"scenarios.{_scenario(inst)['name']}.budget"
    return str(inst.path / "instance.toml"), "budget.total"


def region_problems(inst: Instance) -> list[Problem]:
    reg, label = inst.regions, regions_label(inst)
    if not len(reg):
        return [Problem(label, "has no regions")]
    ids = reg["region_id"].to_numpy()
    years = reg["year"].to_numpy() if "year" in reg.columns else None

    def labels(i: int) -> str:
        return str(ids[i]) if years is None else f"{ids[i]} (year {years[i]})"

    out = cell_problems(label, reg, labels)
    lo, hi = reg["min_transfer"].to_numpy(dtype=float), reg["max_transfer"].to_numpy(dtype=float)
    for i in np.flatnonzero(hi < lo):
        out.append(Problem(label, f"max_transfer {hi[i]:g} is below min_transfer {lo[i]:g}",
                           column="max_transfer", region=labels(int(i))))
    w = reg["weight"].to_numpy(dtype=float)
    if not out and not np.nansum(np.where(np.isnan(w), reg["population"].to_numpy(dtype=float), w)) > 0:
        out.append(Problem(label, "weights sum to zero; at least one region needs a positive weight",
                           column="weight"))
    return out + (table_problems(label, reg, labels) if not out else [])


def policy_problems(inst: Instance, override: PolicyConfig | None, cap: float) -> list[Problem]:
    out = []
    if override is not None:   # flags and API options: the value rules of [policy]
        for key, value in override.as_dict().items():
            message = value_message(key, value) if key in FIELDS else "is not a policy option"
            if message:
                out.append(Problem(flag(key), message))
    if out:
        return out
    cfg = inst.policy if override is None else inst.policy.merged(override)
    for key, message in consistency_messages(cfg):
        out.append(Problem(policy_source(inst, override, key), message + " (in the policy merged from "
                                                                          "[policy], the scenario and the flags)"))
    pop = inst.regions["population"].to_numpy(dtype=float)
    factor = unit_per_capita(inst.unit)[1]
    for key in ("per_capita_floor", "per_capita_cap"):
        value = getattr(cfg, key)
        if value is not None and pop.size and value * float(pop.max()) / factor > cap:
            out.append(Problem(policy_source(inst, override, key),
                               f"{key} {value:g} per person means transfers of {value * pop.max() / factor:g} "
                               f"{inst.unit} for the largest region, above {cap:g} (accepted ranges: "
                               "docs/instance-format.md)"))
    return out


def group_problems(inst: Instance, cap: float) -> list[Problem]:
    out = []
    for g in inst.groups:
        for key in ("min_transfer", "max_transfer"):
            value = getattr(g, key)
            if value is not None:
                p = money_problem(str(inst.path / "instance.toml"), f"groups.{g.id}.{key}", value, cap)
                out += [p] if p else []
        if g.min_level is not None and not 0 <= g.min_level <= lim.LEVEL_MAX:
            out.append(Problem(str(inst.path / "instance.toml"), f"min_level must be between 0 and "
                               f"{lim.LEVEL_MAX:g}, got {g.min_level:g}", column=f"groups.{g.id}.min_level"))
    return out


def round_problems(inst: Instance, policy: PolicyConfig | None = None, budget: float | None = None,
                   threshold: float | None = None) -> list[Problem]:
    """Every problem of the round: region values (after scenario, merges, growth), the budget,
    the default threshold, the merged policy and the group bounds."""
    out = region_problems(inst) if inst.checked_regions is not inst.regions else []
    if out:
        return out
    file, where = budget_source(inst, budget)
    value = inst.budget if budget is None else float(budget)
    cap = money_limit(inst.regions["fiscal_need"].to_numpy(dtype=float))
    p = money_problem(file, where, value, cap)
    out += [p] if p else []
    if threshold is not None and not (math.isfinite(threshold) and 0 <= threshold <= lim.LEVEL_MAX):
        out.append(Problem("--threshold", f"must be a number between 0 and {lim.LEVEL_MAX:g}, got {threshold}"))
    return out + policy_problems(inst, policy, cap) + group_problems(inst, cap)


def check_round(inst: Instance, policy: PolicyConfig | None = None, budget: float | None = None,
                threshold: float | None = None) -> None:
    """Raise ``InputError`` listing every problem of the round (exit 2), naming each source."""
    problems = round_problems(inst, policy, budget, threshold)
    if problems:
        raise InputError(problems)
