"""How a policy row family is registered (``PolicySpec``) and requested (``PolicyTerm``);
the registries are in models/policies.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.data import RegionData
from models.lazy_pyomo import pyo
from models.lp import ArrayBuilder, Block

Params = dict[str, Any]
PyomoPolicy = Callable[["pyo.ConcreteModel", RegionData, Params], None]
ArrayPolicy = Callable[[ArrayBuilder, dict[str, Block], RegionData, Params], None]
# check(t, d, params) -> the largest violation (>= 0) of the policy's rows by transfers t, in the
# policy's unit; t, d and params in one consistent money unit (the solve calls it unscaled).
PolicyCheck = Callable[[np.ndarray, RegionData, Params], float]


@dataclass(frozen=True)
class PolicyTerm:
    """One policy to apply: its registered name and its parameters (solver units)."""

    name: str
    params: Params = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySpec:
    name: str
    summary: str
    rows: str                   # name of the row block (constraint family) it adds
    unit: str                   # "money" or "level": unit of one unit of row violation
    pyomo: PyomoPolicy
    arrays: ArrayPolicy | None  # vectorised twin; None = compile the Pyomo model
    check: PolicyCheck | None = None  # max violation of an allocation, in ``unit`` (post-solve check)
