"""Solve one instance under several objectives and tabulate the inequality metrics.

No printing here: ``compare`` returns the table and the allocations; ``compare_text``
formats the table; ``lorenz_png`` / ``levels_png`` draw the plots (matplotlib, Agg).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from models.objectives import OBJECTIVES
from optimizer.core.errors import InfeasibleError, SolverError, UsageError
from optimizer.core.instance import Instance
from optimizer.core.metrics import level_metrics, price_of_fairness, total_shortfall
from optimizer.engine.solve import SolveOptions, solve

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
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown or not names:
        raise UsageError(f"--objectives: unknown {', '.join(unknown) or '(none given)'}; "
                         f"choose from: all, {', '.join(OBJECTIVES)}")
    return list(dict.fromkeys(names))


def _row(name: str, status: str, value=np.nan, metrics: dict | None = None, budget_used=np.nan,
         seconds=np.nan) -> dict:
    m = metrics or {}
    return {"objective": name, "status": status, "objective_value": value,
            **{c: m.get(c, np.nan) for c in METRIC_COLUMNS},
            "budget_used": budget_used, "price_of_fairness": np.nan, "solve_seconds": seconds}


def compare(inst: Instance, objectives: list[str], opts: SolveOptions = SolveOptions()) -> Comparison:
    base = replace(opts, price_of_fairness=False)
    pop = inst.regions["population"].to_numpy(dtype=float)
    w_pop = pop / pop.sum()
    obj_w = inst.weights()
    own = inst.regions["own_revenue"].to_numpy(dtype=float)
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    rows, allocs = [], {}
    before = None
    for name in objectives:
        t0 = time.perf_counter()
        try:
            r = solve(inst, replace(base, objective=name))
        except InfeasibleError:
            rows.append(_row(name, "infeasible", seconds=time.perf_counter() - t0))
            continue
        except SolverError as exc:
            rows.append(_row(name, f"solver error: {exc}", seconds=time.perf_counter() - t0))
            continue
        s = r.summary
        rows.append(_row(name, s["status"], s["objective_value"], s["metrics_after"], s["budget_used"],
                         time.perf_counter() - t0))
        allocs[name] = r.allocation
        if before is None:
            before = s["metrics_before"]
    if before is None:
        thr = inst.thresholds()
        before = level_metrics(own / need, w_pop, thr)
        before["total_shortfall"] = total_shortfall(own / need, thr, need)
    table = pd.DataFrame([_row("(before)", "input", np.nan, before, 0.0, np.nan)] + rows, columns=COLUMNS)
    # price of fairness against max-mean of the same round (solved once)
    ref = None
    if "max-mean" in allocs:
        ref = allocs["max-mean"]
    else:
        try:
            ref = solve(inst, replace(base, objective="max-mean", tie_break=False)).allocation
        except (InfeasibleError, SolverError):
            ref = None
    if ref is not None:
        ref_mean = float(np.dot(obj_w, ref["level_after"].to_numpy(dtype=float)))
        for i, row in table.iterrows():
            if row["objective"] in allocs:
                mean = float(np.dot(obj_w, allocs[row["objective"]]["level_after"].to_numpy(dtype=float)))
                table.loc[i, "price_of_fairness"] = price_of_fairness(ref_mean, mean)
    return Comparison(table, allocs, w_pop, own / need)


SCENARIO_COLUMNS = ["scenario", "regions", "objective", "status", "objective_value", *METRIC_COLUMNS,
                    "budget", "budget_used", "price_of_fairness", "solve_seconds", "diagnosis"]


def parse_scenario_names(text: str, known: list[str]) -> list[str]:
    """'all' -> every scenario (instance.toml order); 'a,b' -> those (base is always first)."""
    names = list(known) if text.strip() == "all" else [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in known and n != "base"]
    if unknown or not names:
        raise UsageError(f"--scenarios: unknown {', '.join(unknown) or '(none given)'}; the instance has: "
                         f"all, {', '.join(known) or '(no scenarios)'}")
    return [n for n in dict.fromkeys(names) if n != "base"]


def compare_scenarios_table(inst: Instance, names: list[str], opts: SolveOptions = SolveOptions(),
                            solve_one=None) -> Comparison:
    """One row per scenario, 'base' (the instance as loaded) first, with the metric columns of
    the objective comparison. ``opts.objective`` None = each scenario's own objective.
    ``solve_one(instance, opts) -> Result`` (default: optimizer.engine.rounds.solve_round, so phased
    and services instances compare too). Infeasible scenarios are rows with the diagnosis."""
    from optimizer.engine.rounds import solve_round
    from optimizer.prepare.scenarios import apply_scenario, get_scenario

    solve_one = solve_one or solve_round
    rows, allocs = [], {}
    level_before = None
    weights = None
    for name in ["base", *names]:
        sc_inst = inst if name == "base" else apply_scenario(inst, get_scenario(inst, name))
        t0 = time.perf_counter()
        row = {"scenario": name, "regions": sc_inst.n}
        try:
            r = solve_one(sc_inst, opts)
        except InfeasibleError as exc:
            s = exc.summary
            rows.append(row | {"objective": s.get("objective"), "status": "infeasible", "budget": s.get("budget"),
                               "solve_seconds": time.perf_counter() - t0, "diagnosis": s.get("diagnosis", "")})
            continue
        except SolverError as exc:
            rows.append(row | {"status": "solver error", "solve_seconds": time.perf_counter() - t0,
                               "diagnosis": str(exc)})
            continue
        s = r.summary
        pof = s.get("price_of_fairness")
        rows.append(row | {"objective": s["objective"], "status": s["status"],
                           "objective_value": s["objective_value"], **{c: s["metrics_after"].get(c, np.nan)
                                                                     for c in METRIC_COLUMNS},
                           "budget": s["budget"], "budget_used": s["budget_used"],
                           "price_of_fairness": pof.get("value") if isinstance(pof, dict) else np.nan,
                           "solve_seconds": time.perf_counter() - t0, "diagnosis": ""})
        allocs[name] = r.allocation
        if name == "base":
            pop = r.allocation["population"].to_numpy(dtype=float)
            weights, level_before = pop / pop.sum(), r.allocation["level_before"].to_numpy(dtype=float)
    table = pd.DataFrame(rows, columns=SCENARIO_COLUMNS)
    for col in SCENARIO_COLUMNS:
        if col not in ("scenario", "objective", "status", "diagnosis", "regions"):
            table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    table["diagnosis"] = table["diagnosis"].fillna("")
    return Comparison(table, allocs, weights if weights is not None else np.zeros(0),
                      level_before if level_before is not None else np.zeros(0))


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
        return f"{x:.4f}"
    headers = [_SHORT.get(c, c) for c in columns]
    cells = [[fmt(c, row[c]) for c in columns] for _, row in table.iterrows()]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = lambda cs: "  ".join(c.ljust(w) if i < left else c.rjust(w)  # noqa: E731
                                for i, (c, w) in enumerate(zip(cs, widths)))
    out = [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in cells)]
    if "diagnosis" in table.columns:
        out += [f"{row['scenario']}: {row['status']}: {row['diagnosis']}" for _, row in table.iterrows()
                if row["diagnosis"]]
    out.append(f"(levels are own+transfer over need; shortfall and budget in {unit}; PoF = relative "
               f"loss of the mean level against max-mean)")
    return "\n".join(out)


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buf.getvalue()


def lorenz_points(level: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted Lorenz curve of levels: (cumulative population, cumulative level share)."""
    order = np.argsort(level, kind="stable")
    ws, xs = w[order] / w.sum(), level[order]
    share = np.cumsum(ws * xs) / float(np.dot(ws, xs))
    return np.concatenate([[0.0], np.cumsum(ws)]), np.concatenate([[0.0], share])


def lorenz_png(c: Comparison, title: str) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":", label="equality")
    x, y = lorenz_points(c.level_before, c.weights)
    ax.plot(x, y, color="black", lw=1.5, ls="--", label="before")
    for name, a in c.allocations.items():
        x, y = lorenz_points(a["level_after"].to_numpy(dtype=float), c.weights)
        ax.plot(x, y, lw=1.2, label=name)
    ax.set_xlabel("cumulative population share (sorted by level)")
    ax.set_ylabel("cumulative share of level")
    ax.set_title(f"Lorenz curves of service levels: {title}")
    ax.legend(fontsize=8)
    return _figure_png(fig)


def levels_png(c: Comparison, title: str, region_ids: list[str]) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    order = np.argsort(c.level_before, kind="stable")
    n = len(order)
    fig, ax = plt.subplots(figsize=(max(7.0, min(0.35 * n, 18.0)), 5))
    xs = np.arange(n)
    ax.plot(xs, c.level_before[order], color="black", marker="o", ms=3, lw=1.2, ls="--", label="before")
    for name, a in c.allocations.items():
        ax.plot(xs, a["level_after"].to_numpy(dtype=float)[order], marker=".", ms=4, lw=0.9, label=name)
    if n <= 40:
        ax.set_xticks(xs, [region_ids[i] for i in order], rotation=60, ha="right", fontsize=8)
    ax.set_xlabel("region (sorted by level before transfers)")
    ax.set_ylabel("service level (own + transfer) / need")
    ax.set_title(f"Levels by region under each objective: {title}")
    ax.legend(fontsize=8, ncol=2)
    return _figure_png(fig)
