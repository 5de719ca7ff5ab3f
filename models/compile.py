"""Compile a Pyomo model of record into a ``LinearProgram`` (arrays for HiGHS).

Uses Pyomo's own standard-form compiler; rows and columns keep declaration order and
are grouped in blocks named after their Pyomo components, so the result can be
compared entry by entry with a vectorised twin.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.lazy_pyomo import pyo
from models.lp import INF, Block, LinearProgram


def _blocks(names: list[str]) -> list[Block]:
    out: list[Block] = []
    for i, name in enumerate(names):
        if out and out[-1].name == name:
            out[-1].stop = i + 1
        else:
            out.append(Block(name, i, i + 1))
    return out


def to_linear_program(m: pyo.ConcreteModel) -> LinearProgram:
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    columns = list(m.component_data_objects(pyo.Var, active=True, descend_into=True, sort=False))
    rows = list(m.component_data_objects(pyo.Constraint, active=True, descend_into=True, sort=False))
    info = LinearStandardFormCompiler().write(
        m, mixed_form=True, set_sense=None, column_order=columns, row_order=rows)
    if len(info.columns) != len(columns):  # a variable in no row or objective is dropped by Pyomo
        columns = list(info.columns)
    A = sp.csr_array(info.A)
    # Merge the two rows Pyomo emits for a ranged constraint back into one.
    keep, lower, upper = [], [], []
    prev = None
    for i, (con, sense) in enumerate(info.rows):
        rhs = float(info.rhs[i])
        if prev is not None and con is prev:
            if sense < 0:
                lower[-1] = rhs
            else:
                upper[-1] = rhs
            continue
        keep.append(i)
        lower.append(rhs if sense <= 0 else -INF)
        upper.append(rhs if sense >= 0 else INF)
        prev = con
    A = sp.csc_array(A[keep])
    A.sort_indices()
    obj = info.objectives[0]
    cost = np.asarray(info.c.toarray()[0], dtype=float)
    col_lower = np.array([-INF if v.lb is None else float(v.lb) for v in columns])
    col_upper = np.array([INF if v.ub is None else float(v.ub) for v in columns])
    row_names = [info.rows[i][0].parent_component().local_name for i in keep]
    col_names = [v.parent_component().local_name for v in columns]
    return LinearProgram(
        cost=cost, col_lower=col_lower, col_upper=col_upper, A=A,
        row_lower=np.array(lower), row_upper=np.array(upper),
        maximize=obj.sense == pyo.maximize, offset=float(info.c_offset[0]),
        col_blocks=_blocks(col_names), row_blocks=_blocks(row_names))
