"""The policy's data transforms and model terms: revenue counting, contributors' lower bounds
(horizontal equalization), and ``compile_terms``, which turns a ``PolicyConfig`` (instance
unit) into the plain solver-unit parameters of models/policies.py."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from models.policies import PolicyTerm, contribution_cap
from optimizer.core.policy import PolicyConfig

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
