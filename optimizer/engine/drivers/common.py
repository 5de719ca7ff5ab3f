"""What the LP drivers share: the LP builder type, levels, scaled chain models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from optimizer.engine.highs import HighsModel

Build = Callable[[RegionData, str], LinearProgram]
GINI_MAX_LPS = 400   # chain forms (min-gini, owa): most LPs before giving up on the certificate


def levels(d: RegionData, x: np.ndarray, t: slice) -> np.ndarray:
    return (d.own + x[t]) / d.need


def scaled_model(lp: LinearProgram, algorithm: str, time_limit: float | None, basis) -> tuple[HighsModel, float]:
    """A model holding ``lp`` with its costs scaled to max |c| = 1 and tight tolerances (the
    chain LPs' weights are ~1/n and HiGHS's dual tolerance is absolute); warm from ``basis``."""
    cmax = float(np.abs(lp.cost).max()) if lp.num_col else 0.0
    sigma = 1.0 / cmax if cmax > 0 else 1.0
    model = HighsModel(lp, algorithm, 1, time_limit, cost_scale=sigma, tolerance=1e-9)
    if basis is not None:
        model.set_basis(basis)
    return model, sigma
