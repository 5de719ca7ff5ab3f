"""Assemble core + policies + objective, in Pyomo (model of record) or as arrays (fast twin).

Policies (models/policies.py) are applied after the core and before the objective, in
the order given, in both constructions, so rows and columns keep the same order."""

from __future__ import annotations

from models.compile import to_linear_program
from models.core import build_core, core_arrays
from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import LinearProgram
from models.objectives import get_objective
from models.policies import PolicyTerm, apply_arrays, apply_pyomo, has_twins


def build_pyomo(d: RegionData, objective: str, policies: tuple[PolicyTerm, ...] = ()) -> pyo.ConcreteModel:
    spec = get_objective(objective)
    m = build_core(d, soft=spec.soft_thresholds)
    apply_pyomo(m, d, policies)
    spec.pyomo(m, d)
    return m


def build_arrays(d: RegionData, objective: str, policies: tuple[PolicyTerm, ...] = ()) -> LinearProgram:
    spec = get_objective(objective)
    b, blocks = core_arrays(d, soft=spec.soft_thresholds)
    apply_arrays(b, blocks, d, policies)
    spec.arrays(b, blocks, d)
    return b.build()


def build_lp(d: RegionData, objective: str, policies: tuple[PolicyTerm, ...] = ()) -> LinearProgram:
    """The LP of ``objective`` as arrays: the vectorised twin when the objective has
    one, else the compiled Pyomo model (identical by construction and by test)."""
    spec = get_objective(objective)
    if spec.arrays is not None and has_twins(policies):
        return build_arrays(d, objective, policies)
    return to_linear_program(build_pyomo(d, objective, policies))
