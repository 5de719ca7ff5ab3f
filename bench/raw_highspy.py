"""The equalize LP built directly in numpy + highspy: the independent reference.

Deliberately does not import ``models`` or ``optimizer``: it restates the LP from the
formulation (models/core.py docstring + models/objectives.py) in the compact highspy
idiom, so the benchmark compares the project's path with what a hand-written script
would do, and the equivalence test compares two independent constructions.

Column order: transfer[0..n) [, shortfall[0..n)] [, floor].
Row order:    budget, threshold[0..n) [, floor_rows[0..n)].
Money arrays are given already scaled (the same units HiGHS sees in the project).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

INF = highspy.kHighsInf
ALGORITHM = {"maxmin": "simplex", "min-shortfall": "ipm", "min-cost": "simplex"}


@dataclass
class RawLP:
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    start: np.ndarray      # CSC
    index: np.ndarray
    value: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    maximize: bool

    @property
    def num_col(self) -> int:
        return self.cost.shape[0]

    @property
    def num_row(self) -> int:
        return self.row_lower.shape[0]


def build(objective: str, own, need, threshold, weight, t_min, t_max, budget) -> RawLP:
    """Columnwise arrays of the LP of ``objective`` (scaled money, levels as ratios)."""
    n = own.shape[0]
    inv = 1.0 / need
    t_up = np.where(np.isfinite(t_max), t_max, np.inf)
    idx = np.arange(n, dtype=np.int32)
    # transfer column r: budget row 0 (coef 1), threshold row 1+r (1/need) [, floor row 1+n+r (1/need)]
    if objective == "min-shortfall":
        # columns: T (n), s (n); rows: budget, threshold (n)
        start = np.concatenate([np.arange(0, 2 * n + 1, 2), 2 * n + 1 + np.arange(n)]).astype(np.int32)
        index = np.empty(3 * n, dtype=np.int32)
        value = np.empty(3 * n)
        index[0:2 * n:2], value[0:2 * n:2] = 0, 1.0
        index[1:2 * n:2], value[1:2 * n:2] = 1 + idx, inv
        index[2 * n:], value[2 * n:] = 1 + idx, 1.0
        cost = np.concatenate([np.zeros(n), weight])
        col_lower = np.concatenate([t_min, np.zeros(n)])
        col_upper = np.concatenate([t_up, np.full(n, np.inf)])
        row_lower = np.concatenate([[-np.inf], threshold - own * inv])
        row_upper = np.concatenate([[budget], np.full(n, np.inf)])
        return RawLP(cost, col_lower, col_upper, start, index, value, row_lower, row_upper, False)
    if objective in ("maxmin", "min-cost"):
        k = 3 if objective == "maxmin" else 2
        start = np.arange(0, k * n + 1, k, dtype=np.int32)
        index = np.empty(k * n, dtype=np.int32)
        value = np.empty(k * n)
        index[0::k], value[0::k] = 0, 1.0
        index[1::k], value[1::k] = 1 + idx, inv
        row_lower = [[-np.inf], threshold - own * inv]
        row_upper = [[budget], np.full(n, np.inf)]
        cost = np.zeros(n) if objective == "maxmin" else np.ones(n)
        col_lower, col_upper = t_min, t_up
        if objective == "maxmin":
            index[2::k], value[2::k] = 1 + n + idx, inv
            # floor column z: -1 in every floor row; rows 1+n+r: T_r/need_r - z >= -own_r/need_r
            start = np.concatenate([start, [k * n + n]]).astype(np.int32)
            index = np.concatenate([index, 1 + n + idx])
            value = np.concatenate([value, -np.ones(n)])
            cost = np.concatenate([cost, [1.0]])
            col_lower = np.concatenate([col_lower, [-np.inf]])
            col_upper = np.concatenate([col_upper, [np.inf]])
            row_lower.append(-own / need)  # as models/objectives.py maxmin_arrays
            row_upper.append(np.full(n, np.inf))
        return RawLP(np.asarray(cost, dtype=float), np.asarray(col_lower, dtype=float),
                     np.asarray(col_upper, dtype=float), start, index, value,
                     np.concatenate(row_lower), np.concatenate(row_upper), objective == "maxmin")
    raise KeyError(objective)


def highs(objective: str, threads: int = 1) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("solver", ALGORITHM[objective])
    return h


def pass_lp(h: highspy.Highs, lp: RawLP) -> None:
    m = highspy.HighsLp()
    m.num_col_, m.num_row_ = lp.num_col, lp.num_row
    m.col_cost_, m.col_lower_, m.col_upper_ = lp.cost, lp.col_lower, lp.col_upper
    m.row_lower_, m.row_upper_ = lp.row_lower, lp.row_upper
    m.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    m.a_matrix_.start_, m.a_matrix_.index_, m.a_matrix_.value_ = lp.start, lp.index, lp.value
    m.sense_ = highspy.ObjSense.kMaximize if lp.maximize else highspy.ObjSense.kMinimize
    h.passModel(m)


def solve(objective: str, own, need, threshold, weight, t_min, t_max, budget) -> dict:
    """Build, pass and solve; returns timings, status, objective and the column values."""
    t0 = time.perf_counter()
    lp = build(objective, own, need, threshold, weight, t_min, t_max, budget)
    h = highs(objective)
    pass_lp(h, lp)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    return {"build_seconds": t1 - t0, "solve_seconds": t2 - t1,
            "status": h.modelStatusToString(h.getModelStatus()),
            "objective_value": h.getInfo().objective_function_value,
            "x": np.asarray(h.getSolution().col_value)}


def read_instance(folder) -> dict:
    """The scaled arrays of an instance folder, read with plain pandas + tomllib (no
    validation): money / 10**floor(log10(median need)), default threshold where the
    column is blank, population-share weights where no weight is given."""
    import math
    import tomllib
    from pathlib import Path

    import pandas as pd

    folder = Path(folder)
    meta = tomllib.loads((folder / "instance.toml").read_text(encoding="utf-8-sig"))
    reg = pd.read_csv(folder / "regions.csv", encoding="utf-8-sig")

    def col(name, default):
        return reg[name].to_numpy(dtype=float) if name in reg else np.full(len(reg), default)

    own, need, pop = col("own_revenue", 0.0), col("fiscal_need", 1.0), col("population", 1.0)
    med = float(np.median(need))
    scale = 10.0 ** math.floor(math.log10(med)) if med > 0 else 1.0
    threshold = col("threshold", np.nan)
    threshold = np.where(np.isnan(threshold), float(meta["threshold"]["level"]), threshold)
    weight = col("weight", np.nan)
    weight = np.where(np.isnan(weight), pop, weight)
    t_min = np.nan_to_num(col("min_transfer", np.nan), nan=0.0)
    t_max = col("max_transfer", np.nan)
    t_max = np.where(np.isnan(t_max), np.inf, t_max)
    return {"own": own / scale, "need": need / scale, "threshold": threshold,
            "weight": weight / weight.sum(), "t_min": t_min / scale, "t_max": t_max / scale,
            "budget": float(meta["budget"]["total"]) / scale}
