"""Every objective's value recomputed from an allocation, in plain numpy (the post-solve
check's second encoding: explain/verify.py; nothing here imports models/).

maxmin the least level, leximin the first of the sorted levels, min-shortfall the weighted
shortfall, max-mean the weighted mean, min-range, min-mad (about the weighted mean),
min-gini the Gini sum_ij w_i w_j |L_i - L_j| / (2 mu), owa the weighted OWA over m equal
population slices (worst first), cvar the mean level of the worst-off share alpha,
log-welfare the true sum w log L, min-cost the total transfer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

OBJECTIVES = ("maxmin", "leximin", "min-shortfall", "max-mean", "min-range", "min-mad", "min-gini", "owa", "cvar",
              "log-welfare", "min-cost")     # every objective whose value is recomputed here


def _sorted_mass(level: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(level, kind="stable")
    ws = w[order]
    return level[order], ws, np.cumsum(ws)


def lorenz(level: np.ndarray, w: np.ndarray, b: float) -> float:
    """The total level of the worst-off population mass b (weights summing to 1)."""
    ls, ws, cum = _sorted_mass(level, w)
    take = np.clip(b - (cum - ws), 0.0, ws)
    return float(np.dot(take, ls))


def gini(level: np.ndarray, w: np.ndarray) -> float:
    """sum_ij w_i w_j |L_i - L_j| / (2 mu), in O(n log n); 0 when every level is 0 (all equal:
    the engine's convention, engine/drivers/min_gini.py)."""
    ls, ws, cum = _sorted_mass(level, w)
    total = float(cum[-1]) if cum.size else 0.0
    before = cum - ws
    pairs = float(np.dot(ws * ls, before - (total - cum)))
    mu = float(np.dot(w, level))
    return pairs / mu if mu > 0 else 0.0


def owa_value(level: np.ndarray, w: np.ndarray, v) -> float:
    """Weighted OWA: m equal population slices, worst first, weighted v (normalised)."""
    v = np.arange(10, 0, -1, dtype=float) if v is None else np.asarray(v, dtype=float).ravel()
    v = v / v.sum()
    m = v.size
    ls, ws, cum = _sorted_mass(level, w)
    k = np.arange(m)

    def V(b):
        return (v[None, :] * np.clip(m * np.asarray(b).reshape(-1, 1) - k[None, :], 0.0, 1.0)).sum(axis=1)
    return float(np.dot(ls, V(cum) - V(cum - ws)))


def objective_value(name: str, t: np.ndarray, level: np.ndarray, weight: np.ndarray, threshold: np.ndarray,
                    options: Mapping[str, Any] | None) -> float | None:
    """The objective ``name`` at transfers ``t`` (levels ``level``, weights summing to 1),
    None for an unknown objective, or for owa / cvar when ``options`` is None (unknown)."""
    w, opts = weight, options or {}
    simple = {
        "min-cost": lambda: math.fsum(t),
        "maxmin": lambda: float(level.min()),
        "leximin": lambda: float(level.min()),        # the first of the sorted levels
        "min-shortfall": lambda: float(np.dot(w, np.maximum(0.0, threshold - level))),
        "max-mean": lambda: float(np.dot(w, level)),
        "min-range": lambda: float(level.max() - level.min()),
        "min-mad": lambda: float(np.dot(w, np.abs(level - np.dot(w, level)))),
        "min-gini": lambda: gini(level, w),
        "log-welfare": lambda: float(np.dot(w, np.log(np.maximum(level, 1e-300)))),
    }
    if level.size == 0:
        return None
    if name in simple:
        return simple[name]()
    if options is None:
        return None
    if name == "cvar":
        alpha = float(opts.get("alpha") or 0.1)
        return lorenz(level, w, alpha) / alpha
    if name == "owa":
        return owa_value(level, w, opts.get("weights"))
    return None
