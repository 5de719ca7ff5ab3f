"""min-range on the bare core in closed form, certified on the LP of record.

Nobody can be lowered, so max L >= M0 = max_r lo_r, and min L <= the water-filling level
z*; both are attained by lifting everyone to m* = min(z*, M0) at the least cost (range
M0 - m*, least spending: every region must reach m*). Duals are built as for max-min (the
floor rows become the range_lower rows, plus -1 on the range_upper row of a region at M0)
and certified like every closed form of optimizer/fast.

Scarcity (thresholds as caps, engine/soft.py): the LP of record is the soft core with the
capped t_max and costless shortfalls, whose threshold rows bind nothing; the same closed
form with the thresholds at 0 (``core_of``) and threshold duals 0 is certified on it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.levels import least_transfer, level_of, transfer_to_level
from optimizer.core.solution import Run
from optimizer.fast.certify import certify
from optimizer.fast.decomposition_paths import core_of, point_x, soft_blocks
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import water_fill

RANGE_LAYOUT = {"transfer", "range_hi", "range_lo", "rows:budget", "rows:threshold", "rows:range_upper",
                "rows:range_lower"}


@dataclass(frozen=True)
class _RangePoint:
    t: np.ndarray           # transfers
    c: np.ndarray           # least transfers (thresholds, t_min)
    lo: np.ndarray          # least levels
    level: np.ndarray
    m0: float               # max_r lo_r
    m_star: float           # min(z*, M0)


def _range_point(d: RegionData) -> _RangePoint | None:
    c = least_transfer(d.threshold, d.own, d.need, d.t_min)
    if np.any(c > d.t_max + 1e-12 * np.maximum(1.0, np.abs(d.t_max))) or float(c.sum()) > d.budget * (1 + 1e-12):
        return None                       # infeasible: the LP path diagnoses it
    c = np.minimum(c, d.t_max)            # a threshold met exactly at the cap (rounding)
    lo = level_of(d.own, d.need, c)
    m0 = float(lo.max())
    wf = water_fill(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    m_star = min(wf.level, m0)
    t = np.minimum(d.t_max, np.maximum(c, transfer_to_level(m_star, d.own, d.need)))
    return _RangePoint(t, c, lo, level_of(d.own, d.need, t), m0, m_star)


def _range_duals(lp: LinearProgram, lay: dict[str, slice], d: RegionData, pt: _RangePoint) -> list[np.ndarray]:
    """Candidate row duals, tried in turn by the certificate."""
    tol = 1e-9 * max(1.0, abs(pt.m0))
    top = int(np.argmax(pt.lo))
    held = np.abs(pt.t - pt.c) <= 1e-12 * np.maximum(1.0, np.abs(pt.c))
    thr_binds = held & (pt.c > d.t_min)
    at_floor = np.abs(pt.level - pt.m_star) <= tol
    upper, lower = lay["rows:range_upper"].start, lay["rows:range_lower"].start
    candidates = []
    if pt.m_star >= pt.m0 - tol:                      # range 0: one region carries both rows
        y = np.zeros(lp.num_row)
        y[upper + top], y[lower + top] = -1.0, 1.0
        candidates.append(y)
    # the budget binds: the regions lifted to m* share its price (if the lift is too small
    # to tell them from the ones already there, as when the budget just covers the
    # thresholds, every region at m* shares it)
    lifted = at_floor & (pt.lo < pt.m_star - tol)
    for active in ([lifted] if lifted.any() else []) + [at_floor]:
        if not active.any():
            continue
        n_a = float(d.need[active].sum())
        y = np.zeros(lp.num_row)
        y[lay["rows:budget"]] = -1.0 / n_a
        y[lower + np.flatnonzero(active)] = d.need[active] / n_a
        y[upper + top] = -1.0
        thr = np.where(thr_binds & ~at_floor, d.need / n_a, 0.0)
        if thr_binds[top]:
            thr[top] = 1.0 + d.need[top] / n_a
        y[lay["rows:threshold"]] = thr
        candidates.append(y)
    capped = at_floor & np.isfinite(d.t_max) & (np.abs(pt.t - d.t_max) <= 1e-12 * np.maximum(1.0, d.t_max))
    if capped.any():                                  # a transfer cap binds
        y = np.zeros(lp.num_row)
        y[lower + int(np.flatnonzero(capped)[0])] = 1.0
        y[upper + top] = -1.0
        if thr_binds[top]:
            y[lay["rows:threshold"].start + top] = 1.0
        candidates.append(y)
    return candidates


def range_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram]) -> Run | None:
    """The certified min-range Run on the bare core, or None (the LP path decides)."""
    t0 = time.perf_counter()
    lp = build(data, "min-range")
    build_seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    lay = lp.layout()
    if set(lay) != RANGE_LAYOUT | soft_blocks(data):
        return None
    core = core_of(data)                  # scarcity caps: the thresholds bind no row
    pt = _range_point(core)
    if pt is None:
        return None
    x = point_x(lp, lay, data, pt.t)
    x[lay["range_hi"]] = float(pt.level.max())
    x[lay["range_lo"]] = float(pt.level.min())
    for y in _range_duals(lp, lay, core, pt):
        cert = certify(lp, x, y)
        if cert.ok:
            break
    else:
        return None
    first = closed_form_solution(lp, x, y, float(pt.level.max() - pt.level.min()), time.perf_counter() - t1)
    info = {"solved_by": "water-filling to min(z*, max lower level), certified optimal for the LP "
                         "(optimizer/fast/range_path.py)",
            "certificate": {"primal_violation": cert.primal_violation, "dual_violation": cert.dual_violation}}
    return Run(first, first, lay, build_seconds, info)
