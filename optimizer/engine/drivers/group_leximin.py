"""Leximin with binding group rows by certified stages (optimizer/fast/group_leximin.py):
the engine side, which supplies HiGHS for the small LPs (fast/ cannot import highs)."""

from __future__ import annotations

import time
from collections.abc import Callable

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.solution import Run
from optimizer.engine.growing_lp import GrowingLP
from optimizer.fast.group_leximin import group_leximin


def group_leximin_run(data: RegionData, build: Callable[[RegionData, str], LinearProgram]) -> Run | None:
    """The leximin Run of a hard round with policy and group rows, or None (the LP stages)."""
    t0 = time.perf_counter()
    lp = build(data, "leximin")
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    # the small LPs at feasibility tolerances 1e-9 (HiGHS's default 1e-7 left group rows 1e-7
    # off their bound at a non-zero dual: that residual is part of the eps that decides which
    # regions a stage may fix, and at 1e-7 later stages fixed nothing)
    found = group_leximin(lp, lay, data, GrowingLP(tolerance=1e-9))
    if found is None:
        return None
    first, second, info = found
    return Run(first, second, lay, build_seconds, info)
