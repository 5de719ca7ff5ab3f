"""The ``[policy]`` table: read, validate, merge with CLI flags, compile to model terms.

Every policy option is one entry of ``FIELDS`` (TOML key = CLI flag with dashes). The
config is kept in the instance unit; ``compile_terms`` turns it into the plain solver-unit
parameters of models/policies.py. Revenue counting and horizontal equalization also
change the round's data (own revenue, lower transfer bounds): ``apply_to_instance`` and
``apply_to_round`` do that, before levels are computed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.policies import PolicyTerm, contribution_cap
from optimizer.core.errors import Problem

# key -> (kind, minimum, maximum, help). kind "number" or "flag".
FIELDS: dict[str, tuple[str, float | None, float | None, str]] = {
    "revenue_share": ("number", 0.0, 1.0, "count own revenue at this share before levels are "
                      "computed (Korea 0.8, Japan 0.75)"),
    "hold_harmless": ("number", 0.0, None, "T_r >= h * prior_transfer_r"),
    "change_limit": ("number", 0.0, None, "|T_r - prior_r| <= d * prior_r (relative)"),
    "change_limit_abs": ("number", 0.0, None, "|T_r - prior_r| <= D (instance unit)"),
    "per_capita_floor": ("number", 0.0, None, "T_r / population_r >= f (per-capita unit, e.g. KRW)"),
    "per_capita_cap": ("number", 0.0, None, "T_r / population_r <= c (per-capita unit, e.g. KRW)"),
    "equalization_rate": ("number", 0.0, 1.0, "T_r <= a * max(0, standard_r - own_r)"),
    "equalization_standard": ("number", 0.0, None, "standard level S for the rate cap "
                              "(default: each region's threshold)"),
    "no_overtaking": ("flag", None, None, "levels after keep the order of levels before"),
    "horizontal_level": ("number", 0.0, None, "regions above this level may be asked to contribute"),
    "horizontal_share": ("number", 0.0, 1.0, "... up to this share of their surplus"),
    "merger_guarantee": ("flag", None, None, "a merged region gets at least its members' prior "
                         "transfers"),
}


@dataclass(frozen=True)
class PolicyConfig:
    revenue_share: float | None = None
    hold_harmless: float | None = None
    change_limit: float | None = None
    change_limit_abs: float | None = None
    per_capita_floor: float | None = None
    per_capita_cap: float | None = None
    equalization_rate: float | None = None
    equalization_standard: float | None = None
    no_overtaking: bool | None = None
    horizontal_level: float | None = None
    horizontal_share: float | None = None
    merger_guarantee: bool | None = None

    def merged(self, other: "PolicyConfig | dict[str, Any]") -> "PolicyConfig":
        """This config with every option ``other`` sets (not None) taking precedence."""
        items = other.as_dict() if isinstance(other, PolicyConfig) else other
        return dataclasses.replace(self, **{k: v for k, v in items.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @property
    def active(self) -> bool:
        return bool(self.as_dict())


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


# --- data transforms -----------------------------------------------------------

def count_revenue(regions, share: float | None):
    """Own revenue counted at ``share`` (the full figure kept in own_revenue_full)."""
    if share is None:
        return regions
    out = regions.copy()
    if "own_revenue_full" not in out.columns:
        out["own_revenue_full"] = out["own_revenue"].to_numpy(dtype=float)
    out["own_revenue"] = out["own_revenue_full"].to_numpy(dtype=float) * share
    return out


def contribution_caps(own: np.ndarray, need: np.ndarray, cfg: PolicyConfig) -> np.ndarray:
    if cfg.horizontal_level is None or cfg.horizontal_share is None:
        return np.zeros(own.shape)
    return contribution_cap(own, need, cfg.horizontal_level, cfg.horizontal_share)


def lower_bounds(own: np.ndarray, need: np.ndarray, t_min: np.ndarray, cfg: PolicyConfig) -> np.ndarray:
    """Transfer lower bounds once contributions are allowed: -cap_r for contributors."""
    cap = contribution_caps(own, need, cfg)
    return np.where((cap > 0) & (t_min <= 0), -cap, t_min)


# --- compile to model terms ----------------------------------------------------

@dataclass(frozen=True)
class TermInputs:
    """Per-region data the terms need, in the instance unit (before scaling)."""

    prior: np.ndarray            # prior transfer, NaN where unknown
    population: np.ndarray
    threshold: np.ndarray
    merged: np.ndarray           # bool mask of merged regions
    per_capita_factor: float     # base units per instance unit (1e9 for 'KRW billion')
    group_members: list[np.ndarray] = dataclasses.field(default_factory=list)
    group_lower: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    group_upper: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    group_min_level: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def compile_terms(cfg: PolicyConfig, x: TermInputs, scale: float) -> tuple[PolicyTerm, ...]:
    """The policy terms of ``cfg`` in solver units (money / scale), in a fixed order."""
    prior = x.prior / scale
    terms: list[PolicyTerm] = []
    if cfg.hold_harmless is not None:
        terms.append(PolicyTerm("hold-harmless", {"share": cfg.hold_harmless, "prior": prior}))
    if cfg.change_limit is not None or cfg.change_limit_abs is not None:
        terms.append(PolicyTerm("change-limit", {
            "share": cfg.change_limit, "prior": prior,
            "absolute": None if cfg.change_limit_abs is None else cfg.change_limit_abs / scale}))
    if cfg.per_capita_floor is not None or cfg.per_capita_cap is not None:
        money_per_head = 1.0 / (x.per_capita_factor * scale)
        terms.append(PolicyTerm("per-capita", {
            "population": x.population.astype(float),
            "floor": None if cfg.per_capita_floor is None else cfg.per_capita_floor * money_per_head,
            "cap": None if cfg.per_capita_cap is None else cfg.per_capita_cap * money_per_head}))
    if cfg.equalization_rate is not None:
        std = x.threshold if cfg.equalization_standard is None else np.full(x.threshold.shape,
                                                                            cfg.equalization_standard)
        terms.append(PolicyTerm("equalization-rate", {"rate": cfg.equalization_rate, "standard": std}))
    if cfg.no_overtaking:
        terms.append(PolicyTerm("no-overtaking", {}))
    if cfg.horizontal_level is not None and cfg.horizontal_share is not None:
        terms.append(PolicyTerm("horizontal", {"level": cfg.horizontal_level,
                                               "share": cfg.horizontal_share}))
    if cfg.merger_guarantee and x.merged.any():
        terms.append(PolicyTerm("merger-guarantee", {"merged": x.merged, "prior": prior}))
    if x.group_members:
        lo, hi = x.group_lower / scale, x.group_upper / scale
        if np.isfinite(lo).any() or np.isfinite(hi).any():
            terms.append(PolicyTerm("group-transfer", {"members": x.group_members, "lower": lo,
                                                       "upper": hi}))
        if np.isfinite(x.group_min_level).any():
            terms.append(PolicyTerm("group-level", {"members": x.group_members,
                                                    "min_level": x.group_min_level}))
    return tuple(terms)
