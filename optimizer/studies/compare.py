"""Solve one instance under several objectives and tabulate the inequality metrics.

No printing here: ``compare`` returns the table and the allocations; ``compare_text``
formats the table (the plots are in optimizer/report/plots.py). The price of fairness is
the solve's own (summary["price_of_fairness"], optimizer.core.metrics.price_of_fairness).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.objectives import OBJECTIVES
from optimizer.core.errors import InfeasibleError, SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.metrics import level_metrics, total_shortfall
from optimizer.core.result import Result
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions, solve
from optimizer.formulas import FORMULAS, is_formula
from optimizer.prepare.scenarios import prepare
from optimizer.report.text import text_table

METRIC_COLUMNS = ["mean_level", "min_level", "max_level", "max_min_ratio", "cv", "gini", "theil",
                  "atkinson_1", "atkinson_2", "population_share_below_threshold", "total_shortfall"]
COLUMNS = ["objective", "status", "objective_value", *METRIC_COLUMNS, "budget_used",
           "price_of_fairness", "solve_seconds"]


@dataclass
class Comparison:
    table: pd.DataFrame                       # one row per objective (+ "before")
    allocations: dict[str, pd.DataFrame]      # objective -> allocation (solved ones only)
    weights: np.ndarray                       # population shares (for the Lorenz curves)
    level_before: np.ndarray


def parse_objectives(text: str) -> list[str]:
    names = list(OBJECTIVES) if text.strip() == "all" else [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in OBJECTIVES and not is_formula(n)]   # a formula is a baseline
    if unknown or not names:
        raise UsageError(f"--objectives: unknown {', '.join(unknown) or '(none given)'}; "
                         f"choose from: all, {', '.join([*OBJECTIVES, *FORMULAS])}")
    return list(dict.fromkeys(names))


def solved_price_of_fairness(summary: dict) -> float:
    """The solve's own price of fairness (NaN when it was not computed)."""
    pof = summary.get("price_of_fairness")
    value = pof.get("value") if isinstance(pof, dict) else None
    return np.nan if value is None else float(value)


def _row(name: str, status: str, value=np.nan, metrics: dict | None = None, budget_used=np.nan,
         seconds=np.nan, pof=np.nan) -> dict:
    m = metrics or {}
    return {"objective": name, "status": status, "objective_value": value,
            **{c: m.get(c, np.nan) for c in METRIC_COLUMNS},
            "budget_used": budget_used, "price_of_fairness": pof, "solve_seconds": seconds}


def _objective_row(inst: Instance, name: str, opts: SolveOptions) -> tuple[dict, Result | None]:
    t0 = time.perf_counter()
    try:
        r = solve(inst, replace(opts, objective=name))
    except InfeasibleError:
        return _row(name, "infeasible", seconds=time.perf_counter() - t0), None
    except SolverError as exc:
        return _row(name, f"solver error: {exc}", seconds=time.perf_counter() - t0), None
    s = r.summary
    return _row(name, s["status"], s["objective_value"], s["metrics_after"], s["budget_used"],
                time.perf_counter() - t0, solved_price_of_fairness(s)), r


def _metrics_before(inst: Instance) -> dict:
    """Used only when no objective solved (every solve reports these itself)."""
    pop = inst.regions["population"].to_numpy(dtype=float)
    own = inst.regions["own_revenue"].to_numpy(dtype=float)
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    thr = inst.thresholds()
    before = level_metrics(own / need, pop / pop.sum(), thr)
    before["total_shortfall"] = total_shortfall(own / need, thr, need)
    return before


def compare(inst: Instance, objectives: list[str], opts: SolveOptions = SolveOptions()) -> Comparison:
    """One row per objective after a "(before)" row; infeasible objectives are rows."""
    pop = inst.regions["population"].to_numpy(dtype=float)
    own = inst.regions["own_revenue"].to_numpy(dtype=float)
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    rows, allocs = [], {}
    before = None
    for name in objectives:
        row, r = _objective_row(inst, name, opts)
        rows.append(row)
        if r is not None:
            allocs[name] = r.allocation
            before = before or r.summary["metrics_before"]
    before = before or _metrics_before(inst)
    table = pd.DataFrame([_row("(before)", "input", np.nan, before, 0.0, np.nan)] + rows, columns=COLUMNS)
    return Comparison(table, allocs, pop / pop.sum(), own / need)


SCENARIO_COLUMNS = ["scenario", "regions", "objective", "status", "objective_value", *METRIC_COLUMNS,
                    "budget", "budget_used", "price_of_fairness", "solve_seconds", "diagnosis",
                    "required_budget", "regions_below_threshold"]
# what `compare --scenarios` prints (the CSV has every column)
SCENARIO_TEXT_COLUMNS = SCENARIO_COLUMNS[:SCENARIO_COLUMNS.index("diagnosis") + 1]
_SCENARIO_TEXT_KEYS = ("scenario", "objective", "status", "diagnosis", "regions")
_SCENARIO_COUNTS = ("regions_below_threshold",)


def parse_scenario_names(text: str, known: list[str]) -> list[str]:
    """'all' -> every scenario (instance.toml order); 'a,b' -> those (base is always first)."""
    names = list(known) if text.strip() == "all" else [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in known and n != "base"]
    if unknown or not names:
        raise UsageError(f"--scenarios: unknown {', '.join(unknown) or '(none given)'}; the instance has: "
                         f"all, {', '.join(known) or '(no scenarios)'}")
    return [n for n in dict.fromkeys(names) if n != "base"]


SolveOne = Callable[[Instance, SolveOptions], Result]


def _scenario_row(sc_inst: Instance, name: str, opts: SolveOptions, solve_one: SolveOne) -> tuple[dict, Result | None]:
    t0 = time.perf_counter()
    row = {"scenario": name, "regions": sc_inst.n}
    try:
        r = solve_one(sc_inst, opts)
    except InfeasibleError as exc:
        s = exc.summary
        return row | {"objective": s.get("objective"), "status": "infeasible", "budget": s.get("budget"),
                      "required_budget": s.get("required_budget"), "solve_seconds": time.perf_counter() - t0,
                      "diagnosis": s.get("diagnosis", "")}, None
    except SolverError as exc:
        return row | {"status": "solver error", "solve_seconds": time.perf_counter() - t0,
                      "diagnosis": str(exc)}, None
    s, after = r.summary, r.summary["metrics_after"]
    return row | {"objective": s["objective"], "status": s["status"], "objective_value": s["objective_value"],
                  **{c: after.get(c, np.nan) for c in METRIC_COLUMNS}, "budget": s["budget"],
                  "budget_used": s["budget_used"], "price_of_fairness": solved_price_of_fairness(s),
                  "solve_seconds": time.perf_counter() - t0, "diagnosis": "",
                  "required_budget": s.get("required_budget"),
                  "regions_below_threshold": after.get("regions_below_threshold")}, r


def compare_scenarios_table(inst: Instance, names: list[str], opts: SolveOptions = SolveOptions(),
                            solve_one: SolveOne = solve_round) -> Comparison:
    """One row per scenario, 'base' (the instance as loaded) first, with the metric columns of
    the objective comparison. ``opts.objective`` None = each scenario's own objective.
    ``solve_one(instance, opts) -> Result`` (default: optimizer.engine.rounds.solve_round, so phased
    and services instances compare too). Infeasible scenarios are rows with the diagnosis."""
    rows, allocs = [], {}
    level_before, weights = np.zeros(0), np.zeros(0)
    for name in ["base", *names]:
        sc_inst = inst if name == "base" else prepare(inst, scenario=name)
        row, r = _scenario_row(sc_inst, name, opts, solve_one)
        rows.append(row)
        if r is None:
            continue
        allocs[name] = r.allocation
        if name == "base":
            pop = r.allocation["population"].to_numpy(dtype=float)
            weights, level_before = pop / pop.sum(), r.allocation["level_before"].to_numpy(dtype=float)
    table = pd.DataFrame(rows, columns=SCENARIO_COLUMNS)
    for col in SCENARIO_COLUMNS:
        if col in _SCENARIO_COUNTS:   # a count: an integer, empty when the scenario did not solve
            table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
        elif col not in _SCENARIO_TEXT_KEYS:
            table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    table["diagnosis"] = table["diagnosis"].fillna("")
    return Comparison(table, allocs, weights, level_before)


def compare_csv(table: pd.DataFrame) -> str:
    out = table.copy()
    for col in out.columns:
        if pd.api.types.is_float_dtype(out[col]):
            out[col] = ["" if not np.isfinite(x) and np.isnan(x) else repr(float(x) + 0.0) for x in out[col]]
    return out.to_csv(index=False, lineterminator="\n")


_SHORT = {"objective_value": "value", "mean_level": "mean", "min_level": "min", "max_level": "max",
          "max_min_ratio": "max/min", "atkinson_1": "atk(1)", "atkinson_2": "atk(2)",
          "population_share_below_threshold": "pop<thr", "total_shortfall": "shortfall",
          "budget_used": "budget used", "price_of_fairness": "PoF", "solve_seconds": "seconds"}


def compare_text(table: pd.DataFrame, unit: str, columns: list[str] | None = None) -> str:
    columns = [c for c in (columns or COLUMNS) if c != "diagnosis"]
    left = sum(1 for c in columns if c in ("scenario", "regions", "objective", "status")) or 2

    def fmt(col, x):
        if isinstance(x, str):
            return x
        if x is None or (isinstance(x, float) and np.isnan(x)):
            return "-"
        if col == "regions":
            return str(int(x))
        if col in ("budget", "budget_used", "total_shortfall"):
            return f"{x:,.1f}"
        if col == "solve_seconds":
            return f"{x:.3f}"
        if col == "price_of_fairness":   # as solve prints it (one definition: engine/price_of_fairness.py)
            return f"{x:.4%}"
        return f"{x:.4f}"
    headers = [_SHORT.get(c, c) for c in columns]
    cells = [[fmt(c, row[c]) for c in columns] for _, row in table.iterrows()]
    out = text_table(headers, cells, range(left, len(columns)))
    if "diagnosis" in table.columns:
        out += [f"{row['scenario']}: {row['status']}: {row['diagnosis']}" for _, row in table.iterrows()
                if row["diagnosis"]]
    out.append(f"(levels are own+transfer over need; shortfall and budget in {unit}; PoF = relative "
               f"loss of the mean level against max-mean of the same round, thresholds held when reachable)")
    return "\n".join(out)
