"""Group constraints for regional integration (unions and mergers kept as separate regions).

A group g is a set of region indices M_g (``params['members']``, one int array per group).
Registered as policies in models/policies.py ("group-transfer", "group-level").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.bounds import pyomo_bound, worst
from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import INF, ArrayBuilder, Block


def _bounded(p: dict[str, Any]) -> list[int]:
    lo, hi = np.asarray(p["lower"], dtype=float), np.asarray(p["upper"], dtype=float)
    return [g for g in range(len(p["members"])) if np.isfinite(lo[g]) or np.isfinite(hi[g])]


def group_transfer(m: pyo.ConcreteModel, d: RegionData, p: dict[str, Any]) -> None:
    """lower_g <= sum_{r in M_g} T_r <= upper_g   for every group with a bound.

    A union's (or a would-be merger's) combined transfer kept between bounds.
    """
    gs = _bounded(p)
    if gs:
        m.group_transfer = pyo.Constraint(range(len(gs)), rule=lambda m, k: (
            pyomo_bound(p["lower"][gs[k]]),
            pyo.quicksum(m.transfer[int(r)] for r in p["members"][gs[k]]),
            pyomo_bound(p["upper"][gs[k]])))


def group_transfer_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: dict[str, Any]) -> None:
    gs = _bounded(p)
    if not gs:
        return
    t = blocks["transfer"]
    members = [np.asarray(p["members"][g], dtype=np.int64) for g in gs]
    rows = np.concatenate([np.full(mem.shape[0], k) for k, mem in enumerate(members)])
    cols = t.start + np.concatenate(members)
    lo = np.asarray(p["lower"], dtype=float)[gs]
    hi = np.asarray(p["upper"], dtype=float)[gs]
    b.add_rows("group_transfer", rows, cols, np.ones(cols.shape[0]), lo, hi, size=len(gs))


def _level_groups(p: dict[str, Any]) -> list[int]:
    lv = np.asarray(p["min_level"], dtype=float)
    return [g for g in range(len(p["members"])) if np.isfinite(lv[g])]


def group_level(m: pyo.ConcreteModel, d: RegionData, p: dict[str, Any]) -> None:
    """(sum_{r in M_g} own_r + T_r) / (sum_{r in M_g} N_r) >= lambda_g   for every group with
    a minimum level lambda_g: the group as a whole reaches lambda_g (members may differ).
    """
    gs = _level_groups(p)
    if not gs:
        return

    def rule(m, k):
        mem = [int(r) for r in p["members"][gs[k]]]
        need = float(d.need[mem].sum())
        return pyo.quicksum(m.transfer[r] * (1.0 / need) for r in mem) >= \
            float(p["min_level"][gs[k]]) - float(d.own[mem].sum()) / need

    m.group_level = pyo.Constraint(range(len(gs)), rule=rule)


def group_level_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, p: dict[str, Any]) -> None:
    gs = _level_groups(p)
    if not gs:
        return
    t = blocks["transfer"]
    members = [np.asarray(p["members"][g], dtype=np.int64) for g in gs]
    needs = np.array([float(d.need[mem].sum()) for mem in members])
    owns = np.array([float(d.own[mem].sum()) for mem in members])
    rows = np.concatenate([np.full(mem.shape[0], k) for k, mem in enumerate(members)])
    cols = t.start + np.concatenate(members)
    vals = np.concatenate([np.full(mem.shape[0], 1.0 / needs[k]) for k, mem in enumerate(members)])
    lower = np.asarray(p["min_level"], dtype=float)[gs] - owns / needs
    b.add_rows("group_level", rows, cols, vals, lower, INF, size=len(gs))


def group_transfer_check(t: np.ndarray, d: RegionData, p: dict[str, Any]) -> float:
    """Largest amount by which a group's total transfer leaves [lower_g, upper_g]."""
    gs = _bounded(p)
    sums = np.array([float(t[np.asarray(p["members"][g], dtype=np.int64)].sum()) for g in gs])
    lo, hi = np.asarray(p["lower"], dtype=float)[gs], np.asarray(p["upper"], dtype=float)[gs]
    return max(worst(lo - sums), worst(sums - hi))


def group_level_check(t: np.ndarray, d: RegionData, p: dict[str, Any]) -> float:
    """Largest shortfall of a group's level below its minimum level."""
    gs = _level_groups(p)
    out = 0.0
    for g in gs:
        mem = np.asarray(p["members"][g], dtype=np.int64)
        level = float((d.own[mem] + t[mem]).sum() / d.need[mem].sum())
        out = max(out, float(p["min_level"][g]) - level)
    return out + 0.0
