"""What a solve path hands back before it becomes a ``Result``: one LP solution, and a
run (the LP solutions whose objective, duals and transfers are reported). Plain data, so
the closed forms (optimizer/fast) and the HiGHS drivers (optimizer/engine) share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class LPSolution:
    status: str
    objective: float
    x: np.ndarray
    row_activity: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    seconds: float
    iterations: int
    algorithm: str



@dataclass
class Run:
    first: LPSolution                   # objective value and duals reported
    second: LPSolution | None           # the solution whose transfers are reported (if not first)
    layout: dict[str, slice]
    build_seconds: float
    info: dict[str, Any] = field(default_factory=dict)   # merged into the summary
