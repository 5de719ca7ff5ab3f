"""Solve the Pyomo model of record through Pyomo's own HiGHS interface (appsi_highs,
backed by highspy). Slower than the array path; used to check it and for users who
extend the Pyomo model. Returns the same LPSolution layout as the direct engine."""

from __future__ import annotations

import time

import numpy as np

from models.lazy_pyomo import pyo
from models.objectives import ObjectiveSpec
from optimizer.core.solution import LPSolution


def _layout(m: pyo.ConcreteModel, ctype) -> tuple[list, dict[str, slice]]:
    items, layout = [], {}
    for comp in m.component_objects(ctype, active=True, descend_into=True, sort=False):
        start = len(items)
        items.extend(comp.values())
        layout[comp.local_name] = slice(start, len(items))
    return items, layout


def _run(m: pyo.ConcreteModel, obj, spec: ObjectiveSpec, time_limit: float | None) -> tuple[str, float, float]:
    # pyomo's HiGHS interface is imported here, on the one path that needs it: pyomo costs
    # about a second of start-up (models/lazy_pyomo.py)
    from pyomo.contrib.appsi.base import TerminationCondition
    from pyomo.contrib.appsi.solvers.highs import Highs

    solver = Highs()
    solver.config.load_solution = False
    solver.config.stream_solver = False
    solver.highs_options = {"solver": "ipm" if spec.algorithm == "ipm" else "simplex", "threads": 1}
    if time_limit is not None:
        solver.config.time_limit = time_limit
    t0 = time.perf_counter()
    res = solver.solve(m)
    seconds = time.perf_counter() - t0
    cond = res.termination_condition
    if cond != TerminationCondition.optimal:
        return ("infeasible" if "infeasible" in cond.name.lower() else cond.name), float("nan"), seconds
    res.solution_loader.load_vars()
    duals = res.solution_loader.get_duals()
    m.dual.clear()
    m.dual.update(duals)
    return "optimal", float(pyo.value(obj)), seconds


def _collect(m, status, value, seconds, algorithm) -> tuple[LPSolution, dict[str, slice]]:
    vars_, vlay = _layout(m, pyo.Var)
    cons, clay = _layout(m, pyo.Constraint)
    x = np.array([v.value if v.value is not None else 0.0 for v in vars_]) if status == "optimal" else np.zeros(0)
    duals = np.array([m.dual.get(c, 0.0) for c in cons]) if status == "optimal" else np.zeros(0)
    layout = vlay | {"rows:" + k: s for k, s in clay.items()}
    return LPSolution(status, value, x, np.zeros(0), duals, np.zeros(0), seconds, 0, algorithm), layout


def solve_pyomo(m: pyo.ConcreteModel, spec: ObjectiveSpec, opts, t_start: float):
    m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
    build_seconds = time.perf_counter() - t_start
    status, value, seconds = _run(m, m.objective, spec, opts.time_limit)
    first, layout = _collect(m, status, value, seconds, spec.algorithm)
    second = None
    if status == "optimal" and spec.tie_break and opts.tie_break:
        tol = 0.0
        expr = m.objective.expr
        m.objective.deactivate()
        m.hold_optimum = pyo.Constraint(
            expr=expr >= value - tol if spec.sense == "max" else expr <= value + tol)
        gross = pyo.quicksum(m.transfer.values())
        if hasattr(m, "contribution"):  # horizontal equalization: payments + contributions
            gross = gross + 2 * pyo.quicksum(m.contribution.values())
        m.least_spending = pyo.Objective(expr=gross, sense=pyo.minimize)
        status2, value2, seconds2 = _run(m, m.least_spending, spec, opts.time_limit)
        vars_, _ = _layout(m, pyo.Var)
        x2 = np.array([v.value if v.value is not None else 0.0 for v in vars_])
        second = LPSolution(status2, value2, x2, np.zeros(0), np.zeros(0), np.zeros(0), seconds2, 0,
                            "simplex")
    layout["build_seconds"] = build_seconds
    return first, second, layout
