"""The policy rows re-stated in plain numpy, for the post-solve check (explain/verify.py).

A deliberate second encoding: nothing here imports models/ (the LP rows and their own
``check`` functions live there); a disagreement between the two encodings shows up as a
failed check instead of a silently wrong answer. Each residual function takes the transfers
``t`` and the round's arrays in the instance unit (``own``, ``need``, ``t_min``) and a
policy's parameters (money in the instance unit: the solve passes them unscaled), and
returns (excess, region): one entry per row, the amount by which the row is violated (<= 0
when it holds) and the region the row is reported under.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Residual = tuple[np.ndarray, np.ndarray]
NO_ROWS: Residual = (np.zeros(0), np.zeros(0, dtype=np.int64))


def _rows(excess, region) -> Residual:
    return np.asarray(excess, dtype=float).ravel(), np.asarray(region, dtype=np.int64).ravel()


def _join(*parts: Residual) -> Residual:
    parts = tuple(p for p in parts if p[0].size)
    if not parts:
        return NO_ROWS
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _lower(t, lo, idx) -> Residual:
    return _rows(np.asarray(lo, dtype=float)[idx] - t[idx], idx)


def hold_harmless(t, own, need, t_min, p) -> Residual:
    idx = np.flatnonzero(np.nan_to_num(p["prior"]) > 0)
    return _lower(t, p["share"] * np.asarray(p["prior"], dtype=float), idx)


def change_limit(t, own, need, t_min, p) -> Residual:
    prior = np.asarray(p["prior"], dtype=float)
    width = np.full(prior.shape, np.inf)
    if p.get("share") is not None:
        width = np.minimum(width, p["share"] * prior)
    if p.get("absolute") is not None:
        width = np.minimum(width, p["absolute"])
    idx = np.flatnonzero(np.isfinite(prior))
    return _rows(np.abs(t[idx] - prior[idx]) - width[idx], idx)


def per_capita(t, own, need, t_min, p) -> Residual:
    pop, idx = np.asarray(p["population"], dtype=float), np.arange(t.shape[0])
    lo = _rows(pop * p["floor"] - t, idx) if p.get("floor") is not None else NO_ROWS
    hi = _rows(t - pop * p["cap"], idx) if p.get("cap") is not None else NO_ROWS
    return _join(lo, hi)


def equalization_rate(t, own, need, t_min, p) -> Residual:
    cap = p["rate"] * np.maximum(0.0, np.asarray(p["standard"], dtype=float) * need - own)
    return _rows(t - cap, np.arange(t.shape[0]))


def no_overtaking(t, own, need, t_min, p) -> Residual:
    """Whenever own_i/N_i > own_j/N_j before (12 decimals, as the rule reads them), L_j <= L_i
    after: checked on neighbours of the order before, the largest level after of every
    group of equal levels before against the smallest of the group above."""
    before, after = np.round(own / need, 12), (own + t) / need
    keys, inv = np.unique(before, return_inverse=True)
    if keys.size < 2:
        return NO_ROWS
    lo_after = np.full(keys.size, np.inf)
    np.minimum.at(lo_after, inv, after)
    hi_after = np.full(keys.size, -np.inf)
    np.maximum.at(hi_after, inv, after)
    # group g (lower before) must stay at or below every member of group g + 1
    order = np.lexsort((after, inv))     # by group, then level after: a group's last = its highest
    top = order[np.searchsorted(inv[order], np.arange(keys.size), side="right") - 1]
    return _rows(hi_after[:-1] - lo_after[1:], top[:-1])


def horizontal(t, own, need, t_min, p) -> Residual:
    cap = p["share"] * np.maximum(0.0, own - p["level"] * need)
    idx = np.flatnonzero(t_min <= 0)
    return _rows(-t[idx] - cap[idx], idx)


def merger_guarantee(t, own, need, t_min, p) -> Residual:
    return _lower(t, np.nan_to_num(np.asarray(p["prior"], dtype=float)), np.flatnonzero(p["merged"]))


def _groups(p, keys) -> list[tuple[np.ndarray, list[float]]]:
    vals = [np.asarray(p[k], dtype=float) for k in keys]
    return [(np.asarray(m, dtype=np.int64), [float(v[g]) for v in vals]) for g, m in enumerate(p["members"])]


def group_transfer(t, own, need, t_min, p) -> Residual:
    ex, reg = [], []
    for mem, (lo, hi) in _groups(p, ("lower", "upper")):
        total = float(t[mem].sum())
        ex.append(max(lo - total, total - hi, -np.inf))
        reg.append(int(mem[0]) if mem.size else 0)
    return _rows(ex, reg)


def group_level(t, own, need, t_min, p) -> Residual:
    ex, reg = [], []
    for mem, (lv,) in _groups(p, ("min_level",)):
        if np.isfinite(lv) and mem.size:
            ex.append(lv - float((own[mem] + t[mem]).sum() / need[mem].sum()))
            reg.append(int(mem[np.argmin((own[mem] + t[mem]) / need[mem])]))
    return _rows(ex, reg)


def year_budget(t, own, need, t_min, p) -> Residual:
    year, budgets = np.asarray(p["year"], dtype=np.int64), np.asarray(p["budgets"], dtype=float)
    used = np.bincount(year, weights=t, minlength=budgets.shape[0])
    first = np.array([int(np.flatnonzero(year == y)[0]) if np.any(year == y) else 0 for y in range(budgets.size)])
    return _rows(used - budgets, first)


def phase_change(t, own, need, t_min, p) -> Residual:
    cur, prev = np.asarray(p["cur"], dtype=np.int64), np.asarray(p["prev"], dtype=np.int64)
    step, parts = t[cur] - t[prev], []
    if p.get("share") is not None:
        parts.append(_rows(np.abs(step) - float(p["share"]) * t[prev], cur))
    if p.get("absolute") is not None:
        parts.append(_rows(np.abs(step) - float(p["absolute"]), cur))
    return _join(*parts)


def service_floor(t, own, need, t_min, p) -> Residual:
    floor = np.asarray(p["floor"], dtype=float)
    return _lower(t, floor, np.flatnonzero(floor > t_min))


def general_split(t, own, need, t_min, p) -> Residual:
    """Each unit of a general transfer gets its share of the sum over its units."""
    ex, reg = [], []
    for units, share in zip(p["units"], p["shares"]):
        units, share = np.asarray(units, dtype=np.int64), np.asarray(share, dtype=float)
        total = float(t[units].sum())
        dev = np.abs(t[units] - share * total)
        ex.extend(dev[:-1].tolist())
        reg.extend(units[:-1].tolist())
    return _rows(ex, reg)


# policy name -> (residual, unit of the excess: "money" or "level")
RESIDUALS: dict[str, tuple[Callable[..., Residual], str]] = {
    "hold-harmless": (hold_harmless, "money"), "change-limit": (change_limit, "money"),
    "per-capita": (per_capita, "money"), "equalization-rate": (equalization_rate, "money"),
    "no-overtaking": (no_overtaking, "level"), "horizontal": (horizontal, "money"),
    "merger-guarantee": (merger_guarantee, "money"), "group-transfer": (group_transfer, "money"),
    "group-level": (group_level, "level"), "year-budget": (year_budget, "money"),
    "phase-change": (phase_change, "money"), "service-floor": (service_floor, "money"),
    "general-split": (general_split, "money"),
}


def policy_residual(name: str, params: dict[str, Any], t: np.ndarray, own: np.ndarray, need: np.ndarray,
                    t_min: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """(excess per row, region per row, unit) of one policy; KeyError for an unknown name."""
    fn, unit = RESIDUALS[name]
    ex, reg = fn(np.asarray(t, dtype=float), own, need, t_min, params)
    return np.where(np.isnan(ex), 0.0, ex), reg, unit
