"""Drivers for objectives that are a sequence of LPs, the soft-threshold phase 1, the
objective options and the price of fairness. Nothing here prints.

    run_direct(data, spec, build, ...)   one LP (+ tie-break), leximin stages, or
                                         min-gini Dinkelbach steps (+ cuts), on highspy
    shortfall_floor(data, build, ...)    phase 1 of soft mode: the least weighted shortfall
    parse_objective_options(raw)         CLI / [objective] values -> typed options
    resolve_thresholds(...)              hard | soft | auto -> hard?
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import highspy
import numpy as np

from models import fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.errors import SolverError, UsageError
from optimizer.metrics import price_of_fairness, total_shortfall
from optimizer.highs import LPSolution, _read, make_highs, solve_lp, to_highs_lp

Build = Callable[[RegionData, str], LinearProgram]
THRESHOLD_MODES = ("hard", "soft", "auto")
SHORTFALL_SLACK = 1e-9       # phase 2 holds sum w s <= S* (1 + slack) + slack
DUAL_TOL = 1e-9              # leximin: a dual or reduced cost above this proves saturation
GINI_TOL = 1e-9              # min-gini: Dinkelbach stops when F(lambda) >= -tol * mu
GINI_CUT_TOL = 1e-9          # min-gini cuts: the epigraph is exact when P(L) - z <= tol * mu
GINI_MAX_LPS = 400


@dataclass
class Run:
    first: LPSolution                   # objective value and duals reported
    second: LPSolution | None           # the solution whose transfers are reported (if not first)
    layout: dict[str, slice]
    build_seconds: float
    info: dict[str, Any] = field(default_factory=dict)   # merged into the summary


# --- options --------------------------------------------------------------------

def _float_list(value: Any, key: str) -> list[float]:
    if isinstance(value, str):
        parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        parts = [value]
    try:
        return [float(p) for p in parts]
    except (TypeError, ValueError):
        raise UsageError(f"{key}: expected a comma-separated list of numbers, got {value!r}") from None


def parse_objective_options(raw: dict[str, Any]) -> dict[str, Any]:
    """Type-check the objective options (from [objective] in instance.toml and the CLI)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if key == "alpha":
            try:
                a = float(value)
            except (TypeError, ValueError):
                raise UsageError(f"alpha: expected a number in (0, 1], got {value!r}") from None
            if not (0.0 < a <= 1.0):
                raise UsageError(f"alpha must be in (0, 1], got {value!r}")
            out["alpha"] = a
        elif key == "weights":
            w = np.array(_float_list(value, "weights"))
            try:
                fm.owa_weights(RegionData(np.zeros(1), np.ones(1), np.zeros(1), np.ones(1), np.zeros(1),
                                          np.ones(1), 0.0, {"weights": w}))
            except ValueError as exc:
                raise UsageError(f"weights: {exc}") from None
            out["weights"] = w.tolist()
        elif key == "breakpoints":
            if isinstance(value, bool) or not float(value) == int(float(value)) or int(float(value)) < 2:
                raise UsageError(f"breakpoints must be an integer >= 2, got {value!r}")
            out["breakpoints"] = int(float(value))
        elif key == "thresholds":
            if value not in THRESHOLD_MODES:
                raise UsageError(f"thresholds must be one of {', '.join(THRESHOLD_MODES)}, got {value!r}")
            out["thresholds"] = value
        elif key == "gini_form":
            if value not in ("auto", "pairwise", "cuts"):
                raise UsageError(f"gini_form must be auto, pairwise or cuts, got {value!r}")
            out["gini_form"] = value
        else:
            out[key] = value   # unknown keys travel along (other objectives or policies may read them)
    return out


def resolve_thresholds(spec: ObjectiveSpec, mode: str | None, hard_feasible: bool) -> tuple[bool, str]:
    """(hard?, mode used). min-shortfall is soft by definition; otherwise 'hard' (default),
    'soft', or 'auto' = hard when the closed-form diagnosis says the thresholds can all hold."""
    if spec.soft_thresholds:
        return False, "soft"
    mode = mode or "hard"
    if mode == "auto":
        return (True, "hard") if hard_feasible else (False, "soft")
    return mode == "hard", mode


# --- helpers --------------------------------------------------------------------

def _layout(lp: LinearProgram) -> dict[str, slice]:
    return {b.name: b.slice for b in lp.col_blocks} | {"rows:" + b.name: b.slice for b in lp.row_blocks}


def _run(h: highspy.Highs, algorithm: str) -> LPSolution:
    t0 = time.perf_counter()
    h.run()
    return _read(h, time.perf_counter() - t0, algorithm)


def _levels(d: RegionData, x: np.ndarray, t: slice) -> np.ndarray:
    return (d.own + x[t]) / d.need


def shortfall_floor(data: RegionData, build: Build, time_limit: float | None) -> tuple[float, LPSolution]:
    """Phase 1 of soft mode: S* = min sum_r w_r s_r (the min-shortfall LP)."""
    lp = build(replace(data, options={**data.options, "soft_thresholds": True, "shortfall_cap": None}),
               "min-shortfall")
    first, _ = solve_lp(lp, "ipm", None, time_limit=time_limit)
    if first.status != "optimal":
        raise SolverError(f"HiGHS stopped with status '{first.status}' on the shortfall phase")
    return max(0.0, first.objective), first


def with_shortfall_cap(data: RegionData, s_star: float) -> RegionData:
    cap = s_star * (1 + SHORTFALL_SLACK) + SHORTFALL_SLACK
    return replace(data, options={**data.options, "soft_thresholds": True, "shortfall_cap": cap})


def _tie_break(h: highspy.Highs, lp_cost: np.ndarray, value: float, maximize: bool, n_col: int,
               tcols: slice) -> None:
    """Hold the current objective at ``value`` (without offset) and minimise sum T."""
    cols = np.flatnonzero(lp_cost)
    lo, hi = (value, np.inf) if maximize else (-np.inf, value)
    h.addRow(lo, hi, len(cols), cols.astype(np.int32), lp_cost[cols])
    cost = np.zeros(n_col)
    cost[tcols] = 1.0
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    h.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), cost)
    h.changeObjectiveOffset(0.0)


# --- entry point ----------------------------------------------------------------

def run_direct(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool = True,
               time_limit: float | None = None,
               tie_cols: Callable[[LinearProgram], Any] | None = None) -> Run:
    """Solve ``spec`` on ``data`` with the LPs ``build`` makes; ``tie_cols(lp)`` gives the
    columns whose sum the tie-break minimises (default: the transfers)."""
    t0 = time.perf_counter()
    try:
        if spec.driver == "leximin":
            return _leximin(data, spec, build, time_limit, t0)
        if spec.driver == "dinkelbach":
            return _min_gini(data, spec, build, tie_break, time_limit, t0)
        lp = build(data, spec.name)
    except ValueError as exc:   # bad option values caught by the formulation
        raise UsageError(f"{spec.name}: {exc}") from None
    build_seconds = time.perf_counter() - t0
    cols = (tie_cols(lp) if tie_cols is not None else lp.col_block("transfer").slice)
    first, second = solve_lp(lp, spec.algorithm, cols if spec.tie_break and tie_break else None,
                             time_limit=time_limit)
    run = Run(first, second, _layout(lp), build_seconds)
    if spec.name == "log-welfare" and first.status == "optimal":
        final = second if second is not None and second.status == "optimal" else first
        level = _levels(data, final.x, run.layout["transfer"])
        true = float(np.dot(data.weight, np.log(np.maximum(level, 1e-300))))
        run.info["log_welfare"] = {
            "lp_value": first.objective, "welfare": true,
            "certified_gap": max(0.0, first.objective - true),
            "a_priori_error_bound": fm.log_error_bound(data),
            "breakpoints": int(fm.option(data, "breakpoints")),
            "note": "the optimum lies in [welfare, welfare + certified_gap]",
        }
        first.objective = true
    return run


# --- leximin --------------------------------------------------------------------

def _leximin(data: RegionData, spec: ObjectiveSpec, build: Build, time_limit: float | None,
             t0: float) -> Run:
    d = replace(data, options={**data.options, "leximin_fixed": None})
    lp = build(d, spec.name)
    build_seconds = time.perf_counter() - t0
    lay = _layout(lp)
    tcol, zcol = lay["transfer"], lay["floor"].start
    frow = lay["rows:floor_rows"]
    thr = lay.get("rows:threshold")
    hard_thr = not d.options.get("soft_thresholds", False)
    n = d.n
    inv = 1.0 / d.need
    base = d.own * inv
    h = make_highs("simplex", 1, time_limit)
    h.passModel(to_highs_lp(lp))
    free = np.ones(n, dtype=bool)
    floors: list[float] = []
    fixed_per_stage: list[int] = []
    first = last = None
    seconds, iters = 0.0, 0
    while free.any():
        sol = _run(h, "simplex")
        seconds += sol.seconds
        iters += sol.iterations
        if sol.status != "optimal":
            if first is None:
                return Run(sol, None, lay, build_seconds, {"leximin_stages": 0})
            raise SolverError(f"leximin stage {len(floors) + 1}: HiGHS status '{sol.status}'")
        first = first or sol
        last = sol
        z = float(sol.x[zcol])
        t = sol.x[tcol]
        ydual = np.abs(sol.row_dual[frow])
        rc = np.abs(sol.col_dual[tcol])
        lo, hi = lp.col_lower[tcol], lp.col_upper[tcol]
        eps = 1e-9 * np.maximum(1.0, np.abs(t))
        at_floor = free & (ydual > DUAL_TOL)
        at_bound = free & ~at_floor & (rc > DUAL_TOL) & ((t <= lo + eps) | (t >= hi - eps))
        at_thr = np.zeros(n, dtype=bool)
        if thr is not None and hard_thr:
            at_thr = free & ~at_floor & ~at_bound & (np.abs(sol.row_dual[thr]) > DUAL_TOL)
        fix = at_floor | at_bound | at_thr
        if not fix.any():   # degenerate duals: fall back on the regions sitting at the floor
            level = base + inv * t
            fix = free & (level <= z + 1e-9 * max(1.0, abs(z)))
            at_floor = fix
        floors.append(z)
        fixed_per_stage.append(int(fix.sum()))
        zlow = z - 1e-9 * max(1.0, abs(z))
        level_now = base + inv * t
        for r in np.flatnonzero(fix):
            row = frow.start + int(r)
            h.changeCoeff(row, zcol, 0.0)
            if at_floor[r]:
                h.changeRowBounds(row, float(zlow - base[r]), highspy.kHighsInf)
            else:   # at a transfer bound or at its threshold: the level stays where it is
                h.changeRowBounds(row, float(level_now[r] - 1e-9 * max(1.0, level_now[r]) - base[r]),
                                  highspy.kHighsInf)
                if at_bound[r]:
                    h.changeColBounds(tcol.start + int(r), float(t[r]), float(t[r]))
        free &= ~fix
    assert first is not None and last is not None
    first.objective = floors[0]
    second = None
    if last is not first:
        second = last
        second.seconds, second.iterations = seconds - first.seconds, iters - first.iterations
    info = {"leximin_stages": len(floors), "leximin_floors": floors,
            "leximin_fixed_per_stage": fixed_per_stage,
            "tie_break": "none needed: the leximin levels are unique"}
    return Run(first, second, lay, build_seconds, info)


# --- min-gini -------------------------------------------------------------------

def pairwise_sum(level: np.ndarray, w: np.ndarray) -> float:
    """P(L) = sum_{i<j} w_i w_j |L_i - L_j| in O(n log n)."""
    order = np.argsort(level, kind="stable")
    ws, xs = w[order], level[order]
    before = np.cumsum(ws) - ws
    after = ws.sum() - before - ws
    return float(np.dot(ws * xs, before - after))


def _min_gini(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool,
              time_limit: float | None, t0: float) -> Run:
    d = replace(data, options={**data.options, "gini_lambda": 0.0})
    form = fm.gini_form(d)
    if form == "cuts":
        start = np.argsort(d.own / d.need, kind="stable")
        d = replace(d, options={**d.options, "gini_orders": [start]})
    lp = build(d, spec.name)
    build_seconds = time.perf_counter() - t0
    lay = _layout(lp)
    tcol = lay["transfer"]
    n_col = lp.num_col
    w, inv = d.weight, 1.0 / d.need
    base = d.own * inv
    zcol = lay["gini_z"].start if form == "cuts" else None
    h = make_highs("simplex", 1, time_limit)
    h.passModel(to_highs_lp(lp))
    cost = lp.cost.copy()
    lam, lps, cuts, steps = 0.0, 0, 0, 0
    seconds, iters = 0.0, 0
    sol = None

    cut_cols = None if zcol is None else np.concatenate([[zcol], tcol.start + np.arange(d.n)]).astype(np.int32)

    def add_cut(level: np.ndarray) -> np.ndarray:
        nonlocal cuts
        g = fm.gini_cut(d, np.argsort(level, kind="stable"))
        h.addRow(float(np.dot(g, base)), highspy.kHighsInf, len(cut_cols), cut_cols,
                 np.concatenate([[1.0], -g * inv]))
        cuts += 1
        return g

    def solve_exact() -> LPSolution:
        """Solve; in the cuts form add cuts until z = P(L) at the LP point. Stabilised
        (in-out): the cut is taken at the midpoint of the LP point and the best point so far
        (any ordering's cut is valid), plus the LP point's own cut if the first misses it."""
        nonlocal lps, seconds, iters
        best, best_val = None, np.inf
        while True:
            s = _run(h, "simplex")
            lps += 1
            seconds += s.seconds
            iters += s.iterations
            if s.status != "optimal" or zcol is None:
                return s
            level = _levels(d, s.x, tcol)
            mu = float(np.dot(w, level))
            p_true = pairwise_sum(level, w)
            if p_true - s.x[zcol] <= GINI_CUT_TOL * max(mu, 1e-12):
                return s
            if lps >= GINI_MAX_LPS:
                raise SolverError(f"min-gini: no convergence after {lps} LPs (cuts form)")
            val = p_true - float(np.dot(-cost[tcol], s.x[tcol])) - lam * float(np.dot(w, base))
            if val < best_val:
                best, best_val = level, val
            mid = 0.5 * (level + best)
            g = add_cut(mid)
            if float(np.dot(g, level)) <= s.x[zcol] + GINI_CUT_TOL * max(mu, 1e-12):
                add_cut(level)

    first = None
    while True:
        sol = solve_exact()
        if sol.status != "optimal":
            if first is None:
                return Run(sol, None, lay, build_seconds, {"gini_lps": lps})
            raise SolverError(f"min-gini: HiGHS status '{sol.status}' at lambda = {lam}")
        first = sol
        steps += 1
        level = _levels(d, sol.x, tcol)
        p, mu = pairwise_sum(level, w), float(np.dot(w, level))
        f_val = p - lam * mu
        gini = p / mu
        if p <= GINI_TOL * mu:                        # Gini 0 reached: optimal
            break
        if steps > 1 and f_val >= -GINI_TOL * mu:     # F(lambda_k) = 0: lambda_k = G*
            break
        if steps > 60:
            raise SolverError(f"min-gini: Dinkelbach did not converge in {steps} steps")
        lam = gini
        cost[tcol] = -lam * w * inv
        h.changeColsCost(n_col, np.arange(n_col, dtype=np.int32), cost)
        h.changeObjectiveOffset(-lam * float(np.dot(w, base)))
    second = None
    if tie_break and spec.tie_break:
        value = float(np.dot(cost, sol.x))   # objective without offset
        _tie_break(h, cost, value + 1e-12 * max(1.0, abs(value)), False, n_col, tcol)
        second = solve_exact()
        if second.status != "optimal":
            second = None
    level = _levels(d, (second or first).x, tcol)
    gini = pairwise_sum(level, w) / float(np.dot(w, level))
    first.objective = gini
    info = {"gini_form": form, "gini_dinkelbach_steps": steps, "gini_lps": lps, "gini_cuts": cuts,
            "gini_lambda": lam}
    if second is not None:
        second.seconds, second.iterations = 0.0, 0
    first.seconds, first.iterations = seconds, iters
    return Run(first, second, lay, build_seconds, info)


# --- price of fairness ----------------------------------------------------------

def mean_level_max(data: RegionData, build: Build, time_limit: float | None) -> float | None:
    """The max-mean value of the same round (weighted by the objective weights)."""
    lp = build(data, "max-mean")
    first, _ = solve_lp(lp, "simplex", None, time_limit=time_limit)
    return first.objective if first.status == "optimal" else None


def add_fairness_summary(result, data: RegionData, spec: ObjectiveSpec, build: Build, info: dict,
                         price: bool, time_limit: float | None) -> None:
    """Merge the driver's notes into the summary; add total shortfall (money) to the metrics
    and the price of fairness: (max-mean value - mean level here) / max-mean value, the
    means weighted by the objective weights, max-mean solved on the same round."""
    s, a = result.summary, result.allocation
    need = a["fiscal_need"].to_numpy(dtype=float)
    thr = a["threshold"].to_numpy(dtype=float)
    for key, col in (("metrics_before", "level_before"), ("metrics_after", "level_after")):
        if key in s:
            lv = a[col].to_numpy(dtype=float)
            s[key]["total_shortfall"] = total_shortfall(lv, thr, need)
    level = a["level_after"].to_numpy(dtype=float)
    mean_here = float(np.dot(data.weight, level))
    pof: dict[str, Any] = {"mean_level": mean_here, "max_mean_level": None, "value": None}
    if spec.name == "max-mean":
        pof |= {"max_mean_level": mean_here, "value": 0.0}
    elif price:
        ref = mean_level_max(data, build, time_limit)
        if ref is not None and ref > 0:
            pof |= {"max_mean_level": ref, "value": price_of_fairness(ref, mean_here)}
    s["price_of_fairness"] = pof
    s.update(info)
