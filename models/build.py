"""Assemble core + objective, in Pyomo (model of record) or as arrays (fast twin)."""

from __future__ import annotations

import pyomo.environ as pyo

from models.compile import to_linear_program
from models.core import build_core, core_arrays
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import get_objective


def build_pyomo(d: RegionData, objective: str) -> pyo.ConcreteModel:
    spec = get_objective(objective)
    m = build_core(d, soft=spec.soft_thresholds)
    spec.pyomo(m, d)
    return m


def build_arrays(d: RegionData, objective: str) -> LinearProgram:
    spec = get_objective(objective)
    b, blocks = core_arrays(d, soft=spec.soft_thresholds)
    spec.arrays(b, blocks, d)
    return b.build()


def build_lp(d: RegionData, objective: str) -> LinearProgram:
    """The LP of ``objective`` as arrays: the vectorised twin when the objective has
    one, else the compiled Pyomo model (identical by construction and by test)."""
    spec = get_objective(objective)
    if spec.arrays is not None:
        return build_arrays(d, objective)
    return to_linear_program(build_pyomo(d, objective))
