"""The two uses of the group-floor reduction (optimizer/fast/group_floors.py): the max-min
point of a round whose group rows bind, and the policy diagnosis's least spending with group
rows; each certified on its LP of record, None (the caller solves the LP) otherwise."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import LPSolution
from optimizer.fast.certify import certify
from optimizer.fast.group_cuts import SolveLP, cut_loop, first_cuts
from optimizer.fast.group_duals import close, record_duals
from optimizer.fast.group_floors import (
    SOLVED_BY,
    full_levels,
    group_point,
    group_row_slices,
    least_spending_stage,
    record_pair,
    reduce,
)
from optimizer.fast.policy_path import BOUND_ROWS, KEPT_ROWS, Envelope, envelope, supported, transfers_at
from optimizer.fast.solutions import closed_form_solution
from optimizer.fast.waterfill import water_fill


def group_least_spending(lp: LinearProgram, d: RegionData, solve: SolveLP) -> tuple[float, np.ndarray] | None:
    """min sum_r T_r over every row but the budget with group rows (the policy diagnosis's
    min-cost LP ``lp``): the small LP's least spending with z below every level (each
    region at max(M_r, m_r) or, a member, where the small LP puts it), certified; None when
    it does not apply or the certificate fails (the caller solves the LP)."""
    lay = lp.layout()
    rows = {k[5:] for k in lay if k.startswith("rows:")}
    if lp.maximize or not rows <= set(BOUND_ROWS + KEPT_ROWS) - {"floor_rows"} or \
            set(k for k in lay if not k.startswith("rows:")) != {"transfer"}:
        return None
    env = envelope(lp, lay, d, "rows:threshold" in lay)
    if env is None or np.any(env.M > env.U) or not np.all(np.isfinite(env.M)):
        return None
    found = reduce(lp, lay, env, d)
    if found is None:
        return None
    red, small, record_rows = found
    z = float(env.M.min())
    stage = least_spending_stage(small, red, z, d.need)
    sol = cut_loop(stage, red, first_cuts(red, z, env.M), solve)
    if sol is None:
        return None
    level = full_levels(red, sol.x, z, env.M, env.U, env.group)
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = transfers_at(level, env, d)
    yy = record_duals(lp, lay, d, sol.row_dual, record_rows, small.num_row)
    y = record_pair(lp, lay, env, d, level, np.zeros(d.n, dtype=bool), yy)
    if not certify(lp, x, y).ok:
        return None
    return float(x[lay["transfer"]].sum()), x[lay["transfer"]]


def group_floor_solution(lp: LinearProgram, lay: dict[str, slice], d: RegionData, solve: SolveLP
                         ) -> tuple[LPSolution, dict[str, Any]] | None:
    """The certified max-min point of a round whose group rows bind (``lp`` the maxmin LP
    of record, hard thresholds), as an ``LPSolution`` with the summary's notes; None when
    it does not apply or the certificate fails (the caller solves the LP)."""
    t0 = time.perf_counter()
    if not supported(lay) or not group_row_slices(lay):
        return None
    env = envelope(lp, lay, d, "rows:threshold" in lay)
    if env is None or np.any(env.M > env.U):
        return None
    z0 = water_fill(d.own, d.need, env.M, np.full(d.n, -np.inf), env.hi, d.budget).level
    found = group_maxmin(lp, lay, env, d, float(z0), solve)
    if found is None:
        return None
    x, y, z = found
    cert = certify(lp, x, y)
    if not cert.ok:
        return None
    sol = closed_form_solution(lp, x, y, z, time.perf_counter() - t0)
    sol.algorithm = "group floors"
    return sol, {"solved_by": SOLVED_BY, "certificate": {"primal_violation": cert.primal_violation,
                                                          "dual_violation": cert.dual_violation}}


def group_maxmin(lp: LinearProgram, lay: dict[str, slice], env: Envelope, d: RegionData, z0: float,
                 solve: SolveLP) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(x, y in HiGHS's convention for the max problem, z*) of the least-spending max-min
    optimum with group rows (``lp`` the maxmin LP of record); None when the reduction does
    not apply or the small LP does not settle. The caller certifies."""
    found = group_point(lp, lay, env, d, z0, solve)
    if found is None:
        return None
    x, level, z, yy, _ = found
    return x, record_pair(lp, lay, env, d, level, close(level, z), yy), z
