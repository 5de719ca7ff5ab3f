"""What the fairness formulations share: their options, the level written on the transfer,
and the order-cone (chain) form.

Notation (solver units, see models/core.py): T_r transfer, L_r = (own_r + T_r) / N_r the
level, w_r >= 0 the weights (population shares, sum 1), mu = sum_r w_r L_r the mean level.
Each formulation module (models/spread.py, models/lorenz.py, models/gini.py,
models/log_welfare.py) adds columns, rows and an objective to the core model; its twin adds
the identical columns and rows, in the same order, to an ``ArrayBuilder``. Options come
from ``RegionData.options`` (see ``option``); nothing here does I/O.
"""

from __future__ import annotations

import numpy as np

from models.data import RegionData
from models.lp import INF, ArrayBuilder, Block

DEFAULTS = {
    "alpha": 0.1,              # cvar: the worst-off share of the population
    "weights": None,           # owa: rank weights, worst slice first (None = decile default)
    "breakpoints": 32,         # log-welfare: tangents per region
    "gini_form": "auto",       # min-gini: "pairwise" | "chain" | "auto" (pairwise up to 200)
    "gini_pairwise_max": 200,
    "gini_lambda": 0.0,        # min-gini: Dinkelbach parameter (set by the driver)
    "gini_order": None,        # min-gini chain: the region ordering of the cone (set by the driver)
    "owa_form": "slices",      # owa: "slices" (O(m n), default) | "chain" (order cones, O(n) per LP)
    "owa_order": None,         # owa chain: the region ordering of the cone (set by the driver)
}


def option(d: RegionData, key: str):
    v = d.options.get(key) if d.options else None
    return DEFAULTS[key] if v is None else v


def level_coef(d: RegionData) -> tuple[np.ndarray, np.ndarray]:
    """L_r = base_r + inv_r T_r (base = own * (1/N): the rounding Pyomo's compiler uses)."""
    inv = 1.0 / d.need
    return d.own * inv, inv


def chain_order(d: RegionData, key: str) -> np.ndarray:
    """The ordering of a chain form (option ``key``; default: by level before)."""
    o = option(d, key)
    if o is None:
        return np.argsort(d.own / d.need, kind="stable")
    o = np.asarray(o, dtype=np.int64)
    if o.shape != (d.n,) or not np.array_equal(np.sort(o), np.arange(d.n)):
        raise ValueError(f"{key} must be a permutation of the regions")
    return o


def chain_arrays(b: ArrayBuilder, blocks: dict[str, Block], d: RegionData, order: np.ndarray,
                 coef: np.ndarray, name: str) -> None:
    """Objective sum_r coef_r L_r and the chain rows L_pi(k+1) - L_pi(k) >= 0."""
    n = d.n
    base, inv = level_coef(d)
    t = blocks["transfer"]
    b.set_cost(t, coef * inv)
    b.offset = float(np.dot(coef, base))
    if n > 1:
        lo_r, hi_r = order[:-1], order[1:]
        k = np.arange(n - 1)
        b.add_rows(name, np.concatenate([k, k]), np.concatenate([t.start + hi_r, t.start + lo_r]),
                   np.concatenate([inv[hi_r], -inv[lo_r]]), base[lo_r] - base[hi_r], INF, size=n - 1)
