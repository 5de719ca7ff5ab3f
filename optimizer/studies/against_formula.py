"""A formula beside the optimizing objectives, on the formula's own budget: what each LP
objective changes against today's rule (lowest level, regions below threshold, Gini, and
the regions that gain and lose most against the formula). ``equalize compare`` adds this
table when one of its objectives is a formula."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from optimizer.core.instance import Instance
from optimizer.core.metrics import gini
from optimizer.engine.solve import SolveOptions, solve
from optimizer.formulas import is_formula
from optimizer.report.text import text_table

TOP = 3   # regions named per direction
SHOWN = 0.05   # a move below the table's resolution (0.1) is float noise, not a gain or loss


def formula_of(names: list[str]) -> str | None:
    """The first formula among the compared names (the baseline), or None."""
    return next((n for n in names if is_formula(n)), None)


def on_formula_budget(inst: Instance, names: list[str], opts: SolveOptions) -> SolveOptions:
    """``opts`` with the budget the formula spends (its pool, or its own total; with payers the
    receivers' total), so that every objective is compared on the same money; unchanged
    without a formula or with --budget."""
    name = formula_of(names)
    if name is None or opts.budget is not None:
        return opts
    t = solve(inst, replace(opts, objective=name)).allocation["transfer"].to_numpy(dtype=float)
    # with payers (Germany) the money moved is what the receivers get: the LP objectives have
    # no negative transfers, so they distribute that sum (the payers keep theirs)
    spent = float(np.maximum(t, 0.0).sum()) if (t < 0).any() else float(t.sum())
    return replace(opts, budget=max(0.0, spent))


def _moves(ids: np.ndarray, delta: np.ndarray, sign: int) -> str:
    order = np.argsort(-sign * delta, kind="stable")[:TOP]
    shown = [f"{ids[i]} {delta[i]:+,.1f}" for i in order if sign * delta[i] >= SHOWN]
    return ", ".join(shown) or "-"


def against_formula(allocations: dict[str, pd.DataFrame], formula: str) -> pd.DataFrame:
    """One row per allocation (the formula first): lowest level, regions below threshold,
    Gini of levels (population-weighted, as metrics_after), and against the formula the
    total moved and the largest gains and losses (instance unit)."""
    base = allocations[formula]
    ids = base["region_id"].astype(str).to_numpy()
    t0 = base["transfer"].to_numpy(dtype=float)
    rows = []
    for name, a in [(formula, base)] + [(k, v) for k, v in allocations.items() if k != formula]:
        level = a["level_after"].to_numpy(dtype=float)
        below = int((level < a["threshold"].to_numpy(dtype=float) - 1e-9).sum())
        delta = a["transfer"].to_numpy(dtype=float) - t0
        rows.append({"objective": name, "min_level": float(level.min()), "regions_below_threshold": below,
                     "gini": gini(level, a["population"].to_numpy(dtype=float)),
                     "moved": float(np.abs(delta).sum() / 2), "largest_gains": _moves(ids, delta, 1),
                     "largest_losses": _moves(ids, delta, -1)})
    return pd.DataFrame(rows)


def against_formula_text(table: pd.DataFrame, formula: str, unit: str, budget: float) -> str:
    headers = ["objective", "min level", "below thr", "gini", f"moved ({unit})", "largest gains vs formula",
               "largest losses vs formula"]
    cells = [[r.objective, f"{r.min_level:.4f}", str(r.regions_below_threshold), f"{max(r.gini, 0.0):.4f}",
              f"{r.moved:,.1f}", r.largest_gains, r.largest_losses] for r in table.itertuples()]
    out = [f"against the formula '{formula}', on its budget {budget:,.1f} {unit}:",
           *text_table(headers, cells, range(1, 5)),
           f"(moved = half the total absolute change of transfers against the formula, {unit})"]
    return "\n".join(out)
