"""The entry point of the LP drivers: one LP (+ tie-break), or the sequence drivers
(leximin stages, min-gini Dinkelbach steps, owa order cones). Nothing here prints."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from models import fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import UsageError
from optimizer.core.solution import LPSolution, Run
from optimizer.engine.drivers.common import Build, levels
from optimizer.engine.drivers.leximin import leximin_run
from optimizer.engine.drivers.min_gini import min_gini_run
from optimizer.engine.drivers.owa_chain import owa_chain_run
from optimizer.engine.highs import solve_lp
from optimizer.fast.log_welfare import solve_log_welfare


def run_direct(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool = True,
               time_limit: float | None = None,
               tie_cols: Callable[[LinearProgram], Any] | None = None, tolerance: float | None = None) -> Run:
    """Solve ``spec`` on ``data`` with the LPs ``build`` makes; ``tie_cols(lp)`` gives the
    columns whose sum the tie-break minimises (default: the transfers); ``tolerance``
    tightens HiGHS's feasibility tolerances of a single LP (the retry of engine/retry.py)."""
    t0 = time.perf_counter()
    try:
        if spec.driver == "leximin":
            return leximin_run(data, spec, build, time_limit, t0)
        if spec.driver == "dinkelbach":
            return min_gini_run(data, spec, build, tie_break, time_limit, t0)
        if spec.name == "owa" and fm.owa_form(data) == "chain":
            return owa_chain_run(data, spec, build, tie_break, time_limit, t0)
        lp = build(data, spec.name)
    except ValueError as exc:   # bad option values caught by the formulation
        raise UsageError(f"{spec.name}: {exc}") from None
    build_seconds = time.perf_counter() - t0
    cols = (tie_cols(lp) if tie_cols is not None else lp.col_block("transfer").slice)
    first, second = solve_lp(lp, spec.algorithm, cols if spec.tie_break and tie_break else None,
                             time_limit=time_limit, tolerance=tolerance)
    run = Run(first, second, lp.layout(), build_seconds)
    if spec.name == "log-welfare" and first.status == "optimal":
        run.info["log_welfare"] = log_welfare_info(data, run, lp)
    return run


def log_welfare_info(data: RegionData, run: Run, lp: LinearProgram | None = None) -> dict[str, Any]:
    """The tangent LP as the approximation of the exact program (the model of record, sum
    w ln L): the true welfare of the LP's allocation, which becomes the first phase's
    objective (the LP's is the tangent bound), the gap the LP value certifies, and the gap
    to the exact optimum of the bare core (optimizer/fast/log_welfare.py: the same budget,
    transfer bounds and, when hard, thresholds, without policy rows), also an upper bound
    on this round's optimum; with no policy rows it is this round's optimum itself."""
    first, second = run.first, run.second
    final: LPSolution = second if second is not None and second.status == "optimal" else first
    level = levels(data, final.x, run.layout["transfer"])
    true = float(np.dot(data.weight, np.log(np.maximum(level, 1e-300))))
    info: dict[str, Any] = {
        "model": "tangent LP, an approximation of the exact sum w ln L",
        "lp_value": first.objective, "welfare": true,
        "certified_gap": max(0.0, first.objective - true),
        "a_priori_error_bound": fm.log_error_bound(data),
        "breakpoints": int(fm.option(data, "breakpoints")),
        "note": "the optimum lies in [welfare, welfare + certified_gap]",
    }
    core = _bare_core_optimum(data, run.layout, lp)
    if core is not None and level.shape == (data.n,):
        info |= {"bare_core_optimum": core.welfare, "gap_to_bare_core": max(0.0, core.welfare - true)}
        info["certified_gap"] = min(info["certified_gap"], info["gap_to_bare_core"])
    first.objective = true
    return info


def _bare_core_optimum(data: RegionData, layout: dict[str, slice], lp: LinearProgram | None):
    """The exact optimum of the core of ``lp`` without its policy rows: the LP's own transfer
    bounds (a policy such as horizontal equalization lowers them) and budget row, so its
    feasible set contains the round's and its optimum bounds the round's from above."""
    if lp is None or "rows:budget" not in layout or "transfer" not in layout:
        return None
    t = layout["transfer"]
    if t.stop - t.start != data.n:
        return None
    core = replace(data, t_min=lp.col_lower[t], t_max=lp.col_upper[t],
                   budget=float(lp.row_upper[layout["rows:budget"]][0]))
    return solve_log_welfare(core, hard=not data.options.get("soft_thresholds", False))
