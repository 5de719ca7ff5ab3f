"""Read and validate the ``[policy]`` table (and a scenario's ``policy = {...}``); the same
value and consistency rules check CLI flags and API options after they are merged
(optimizer/io/checks.py)."""

from __future__ import annotations

import math
from typing import Any

from optimizer.core.errors import Problem
from optimizer.core.policy import FIELDS, PolicyConfig
from optimizer.io.validation import unknown_key


def value_message(key: str, value: Any) -> str | None:
    """Why ``value`` is not acceptable for policy option ``key`` (FIELDS), or None."""
    kind, lo, hi, _ = FIELDS[key]
    if kind == "flag":
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    if lo is not None and value < lo:
        return f"must be >= {lo:g}, got {value:g}"
    if hi is not None and value > hi:
        return f"must be between {lo:g} and {hi:g}, got {value:g} (accepted ranges: docs/policies.md)"
    return None


def parse_policy(table: Any, file: str, problems: list[Problem], where: str = "policy",
                 consistent: bool = True) -> PolicyConfig:
    """Validate a ``[policy]`` table; append a Problem per bad key, return what is usable.
    ``consistent=False`` leaves the consistency rules to the caller (a scenario's policy is
    checked merged over the instance's)."""
    if table is None:
        return PolicyConfig()
    if not isinstance(table, dict):
        problems.append(Problem(file, f"[{where}] must be a table", column=where))
        return PolicyConfig()
    values: dict[str, Any] = {}
    for key, value in table.items():
        col = f"{where}.{key}"
        if key not in FIELDS:
            problems.append(unknown_key(file, key, tuple(FIELDS), where, "policy option"))
            continue
        message = value_message(key, value)
        if message:
            problems.append(Problem(file, f"'{col}' {message}", column=col))
            continue
        values[key] = value if FIELDS[key][0] == "flag" else float(value)
    cfg = PolicyConfig(**values)
    if consistent:
        check_consistent(cfg, file, problems, where)
    return cfg


def consistency_messages(cfg: PolicyConfig) -> list[tuple[str, str]]:
    """(key, message) for options that need each other or contradict each other; the one rule
    set for [policy], a scenario merged over it, and the flags merged over both."""
    out = []
    if (cfg.horizontal_level is None) != (cfg.horizontal_share is None):
        key = "horizontal_level" if cfg.horizontal_level is not None else "horizontal_share"
        out.append((key, "horizontal equalization needs both 'horizontal_level' and 'horizontal_share'"))
    if (cfg.per_capita_floor is not None and cfg.per_capita_cap is not None
            and cfg.per_capita_cap < cfg.per_capita_floor):
        out.append(("per_capita_cap", f"'per_capita_cap' {cfg.per_capita_cap:g} is below "
                                      f"'per_capita_floor' {cfg.per_capita_floor:g}"))
    if cfg.equalization_standard is not None and cfg.equalization_rate is None:
        out.append(("equalization_standard", "'equalization_standard' needs 'equalization_rate'"))
    return out


def check_consistent(cfg: PolicyConfig, file: str, problems: list[Problem], where: str = "policy") -> None:
    for key, message in consistency_messages(cfg):
        problems.append(Problem(file, message, column=f"{where}.{key}"))
