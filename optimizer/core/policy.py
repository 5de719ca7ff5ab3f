"""The ``[policy]`` options as plain data: ``FIELDS`` (TOML key = CLI flag with dashes) and the
``PolicyConfig`` every stage passes around (instance unit; models/policies.py gets solver units)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from optimizer.core import limits as lim

# key -> (kind, minimum, maximum, help). kind "number" or "flag". Every number has a maximum
# (core/limits.py): a value such as hold_harmless = 1e300 would overflow the policy rows.
FIELDS: dict[str, tuple[str, float | None, float | None, str]] = {
    "revenue_share": ("number", 0.0, 1.0, "count own revenue at this share before levels are "
                      "computed (Korea 0.8, Japan 0.75)"),
    "hold_harmless": ("number", 0.0, lim.SHARE_MAX, "T_r >= h * prior_transfer_r"),
    "change_limit": ("number", 0.0, lim.CHANGE_MAX, "|T_r - prior_r| <= d * prior_r (relative)"),
    "change_limit_abs": ("number", 0.0, lim.MONEY_MAX, "|T_r - prior_r| <= D (instance unit)"),
    "per_capita_floor": ("number", 0.0, lim.PER_CAPITA_MAX, "T_r / population_r >= f (per-capita unit, e.g. KRW)"),
    "per_capita_cap": ("number", 0.0, lim.PER_CAPITA_MAX, "T_r / population_r <= c (per-capita unit, e.g. KRW)"),
    "equalization_rate": ("number", 0.0, 1.0, "T_r <= a * max(0, standard_r - own_r)"),
    "equalization_standard": ("number", 0.0, lim.LEVEL_MAX, "standard level S for the rate cap "
                              "(default: each region's threshold)"),
    "no_overtaking": ("flag", None, None, "levels after keep the order of levels before"),
    "horizontal_level": ("number", 0.0, lim.LEVEL_MAX, "regions above this level may be asked to contribute"),
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

    def merged(self, other: PolicyConfig | dict[str, Any]) -> PolicyConfig:
        """This config with every option ``other`` sets (not None) taking precedence."""
        items = other.as_dict() if isinstance(other, PolicyConfig) else other
        return dataclasses.replace(self, **{k: v for k, v in items.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @property
    def active(self) -> bool:
        return bool(self.as_dict())
