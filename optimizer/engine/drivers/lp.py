"""The entry point of the LP drivers: one LP (+ tie-break), or the sequence drivers
(leximin stages, min-gini Dinkelbach steps, owa order cones). Nothing here prints."""

from __future__ import annotations

import time
from collections.abc import Callable
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
        run.info["log_welfare"] = log_welfare_info(data, run)
    return run


def log_welfare_info(data: RegionData, run: Run) -> dict[str, Any]:
    """The true welfare sum w log L of the LP's allocation and the gap it certifies; the
    first phase's objective becomes the true welfare (the LP's is the tangent bound)."""
    first, second = run.first, run.second
    final: LPSolution = second if second is not None and second.status == "optimal" else first
    level = levels(data, final.x, run.layout["transfer"])
    true = float(np.dot(data.weight, np.log(np.maximum(level, 1e-300))))
    info = {
        "lp_value": first.objective, "welfare": true,
        "certified_gap": max(0.0, first.objective - true),
        "a_priori_error_bound": fm.log_error_bound(data),
        "breakpoints": int(fm.option(data, "breakpoints")),
        "note": "the optimum lies in [welfare, welfare + certified_gap]",
    }
    first.objective = true
    return info
