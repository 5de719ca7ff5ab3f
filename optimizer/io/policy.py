"""Read and validate the ``[policy]`` table (and a scenario's ``policy = {...}``)."""

from __future__ import annotations

import math
from typing import Any

from optimizer.core.errors import Problem
from optimizer.core.policy import FIELDS, PolicyConfig


def parse_policy(table: Any, file: str, problems: list[Problem], where: str = "policy") -> PolicyConfig:
    """Validate a ``[policy]`` table; append a Problem per bad key, return what is usable."""
    if table is None:
        return PolicyConfig()
    if not isinstance(table, dict):
        problems.append(Problem(file, f"[{where}] must be a table", column=where))
        return PolicyConfig()
    values: dict[str, Any] = {}
    for key, value in table.items():
        col = f"{where}.{key}"
        if key not in FIELDS:
            problems.append(Problem(file, f"unknown policy option '{key}'; known: {', '.join(FIELDS)}",
                                    column=col))
            continue
        kind, lo, hi, _ = FIELDS[key]
        if kind == "flag":
            if not isinstance(value, bool):
                problems.append(Problem(file, f"'{col}' must be true or false, got {value!r}", column=col))
                continue
            values[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            problems.append(Problem(file, f"'{col}' must be a finite number, got {value!r}", column=col))
            continue
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"between {lo:g} and {hi:g}" if hi is not None else f">= {lo:g}"
            problems.append(Problem(file, f"'{col}' must be {rng}, got {value:g}", column=col))
            continue
        values[key] = float(value)
    cfg = PolicyConfig(**values)
    check_consistent(cfg, file, problems, where)
    return cfg


def check_consistent(cfg: PolicyConfig, file: str, problems: list[Problem], where: str = "policy") -> None:
    if (cfg.horizontal_level is None) != (cfg.horizontal_share is None):
        problems.append(Problem(file, "horizontal equalization needs both 'horizontal_level' and "
                                      "'horizontal_share'", column=f"{where}.horizontal_level"))
    if (cfg.per_capita_floor is not None and cfg.per_capita_cap is not None
            and cfg.per_capita_cap < cfg.per_capita_floor):
        problems.append(Problem(file, f"'per_capita_cap' {cfg.per_capita_cap:g} is below "
                                      f"'per_capita_floor' {cfg.per_capita_floor:g}",
                                column=f"{where}.per_capita_cap"))
    if cfg.equalization_standard is not None and cfg.equalization_rate is None:
        problems.append(Problem(file, "'equalization_standard' needs 'equalization_rate'",
                                column=f"{where}.equalization_standard"))
