"""Row-bound helpers shared by the formulations: Pyomo's "no bound" and the largest
violation of a family of rows."""

from __future__ import annotations

import numpy as np


def pyomo_bound(x: float) -> float | None:
    """x as a Pyomo row or variable bound: None (unbounded) when x is infinite."""
    return None if not np.isfinite(x) else float(x)


def worst(v) -> float:
    """The largest entry of v clipped at 0 (infinite bounds give -inf entries, ignored;
    NaN counts as 0); + 0.0 turns a -0.0 into 0.0."""
    v = np.asarray(v, dtype=float)
    return float(np.max(np.where(np.isnan(v), 0.0, v), initial=0.0)) + 0.0
