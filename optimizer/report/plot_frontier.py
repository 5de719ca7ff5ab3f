"""The budget (or threshold) frontier of one objective: panels against the swept axis, one
series per value of the other axis, each with its own colour and marker (plots.series_style).

Readable (issue 12): the unit on every axis; the instance's actual budget and the budget the
thresholds require marked as vertical lines; a panel that repeats another (min-shortfall's
value IS the weighted shortfall, maxmin's the min level) is dropped; an infeasible point is an
'x' on the axis floor in its own series' colour, only where that series is infeasible."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.objectives import get_objective
from optimizer.core.instance import Instance
from optimizer.core.levels import required_transfer
from optimizer.core.result import SOLVED_STATUSES
from optimizer.core.scaling import round_data
from optimizer.report.plots import figure_png, new_figure, series_style


def thousands_formatter():
    """Tick labels with thousands separators (59,844, not 59844)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")

PANELS = [("objective_value", "{objective} value"), ("min_level", "lowest level"),
          ("gini", "Gini of levels"), ("weighted_shortfall", "weighted shortfall")]


@dataclass(frozen=True)
class FrontierContext:
    """What the frontier frame does not carry: the instance's name, unit and budget, and the
    budget each swept threshold requires (hard thresholds: sum of max(t_min, theta need - own))."""
    instance: str = ""
    unit: str = ""
    budget: float | None = None
    required: dict[float, float] = field(default_factory=dict)
    objective_unit: str = ""     # "level" or the money unit (summary.json objective_unit)


def frontier_context(inst: Instance, thresholds: list[float], objective: str | None = None) -> FrontierContext:
    """The context of a sweep of ``objective`` over ``inst`` at these thresholds."""
    own = inst.regions["own_revenue"].to_numpy(dtype=float)
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    required = {}
    for thr in dict.fromkeys(float(t) for t in thresholds):
        rd = round_data(inst, inst.budget, thr)
        required[thr] = float(required_transfer(rd.threshold, own, need, rd.t_min).sum())
    try:
        money = get_objective(objective).objective_unit == "money" if objective else False
    except KeyError:
        money = False
    return FrontierContext(inst.name, inst.unit, float(inst.budget), required, inst.unit if money else "level")


def _duplicate(ok: pd.DataFrame, col: str, kept: list[str]) -> bool:
    """A panel whose values equal (within 1e-9) a kept panel's on every solved point."""
    a = pd.to_numeric(ok[col], errors="coerce").to_numpy(dtype=float)
    for other in kept:
        b = pd.to_numeric(ok[other], errors="coerce").to_numpy(dtype=float)
        if a.size and np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True):
            return True
    return False


def _constant(ok: pd.DataFrame, col: str) -> bool:
    a = pd.to_numeric(ok[col], errors="coerce").to_numpy(dtype=float)
    return a.size > 1 and bool(np.allclose(a, a[0], rtol=1e-9, atol=1e-12))


def panels_of(frontier: pd.DataFrame) -> tuple[list[tuple[str, str]], list[str]]:
    """The panels worth drawing, and notes on those left out: a repeat of a kept panel, or a
    metric other than the objective that is the same at every solved point (hard thresholds
    make the weighted shortfall 0 everywhere)."""
    ok = frontier[frontier.status.isin(SOLVED_STATUSES)]
    kept: list[str] = []
    out, notes = [], []
    for col, title in PANELS:
        if _duplicate(ok, col, kept):
            continue
        if col != "objective_value" and _constant(ok, col):
            notes.append(f"{title.split(' {')[0]} {float(ok[col].iloc[0]):.4g} at every solved point")
            continue
        kept.append(col)
        out.append((col, title))
    return out, notes


def _y_label(col: str, ctx: FrontierContext) -> str:
    if col == "objective_value":
        return f"objective value ({ctx.objective_unit or 'objective units'})"
    if col == "gini":
        return "Gini coefficient, 0-1"
    if col == "weighted_shortfall":
        return "population-weighted shortfall, level units"
    return "level (own + transfer) / need"


def _mark_budgets(ax, ctx: FrontierContext, thresholds: list[float], first: bool) -> None:
    unit = f" {ctx.unit}" if ctx.unit else ""
    if ctx.budget is not None:
        ax.axvline(ctx.budget, color="black", lw=1.2, gid="actual-budget",
                   label=f"actual budget {ctx.budget:,.0f}{unit}" if first else None)
    for i, thr in enumerate(thresholds):
        req = ctx.required.get(float(thr))
        if req is not None:
            colour = series_style(i)[0] if len(thresholds) > 1 else "#B22222"
            ax.axvline(req, color=colour, lw=1.0, ls=":", gid="required-budget",
                       label=f"required for threshold {thr:g}: {req:,.0f}{unit}" if first else None)


def _series(ax, f: pd.DataFrame, x: str, other: str, col: str, first: bool) -> list[float]:
    """One line per value of ``other``: solved points joined (the swept axis is numeric),
    infeasible ones as 'x' on the axis floor in the series' colour."""
    keys = sorted(f[other].dropna().unique())
    for i, key in enumerate(keys):
        colour, marker = series_style(i)
        grp = f[f[other] == key].sort_values(x)
        ok = grp[grp.status.isin(SOLVED_STATUSES)]
        name = f"{other} {key:,.4g}"
        wider = len(keys) - 1 - i   # series that coincide stay visible: earlier ones drawn larger, below
        ax.plot(ok[x].astype(float), ok[col].astype(float), color=colour, marker=marker, ms=4 + 2.5 * wider,
                lw=1.1 + 1.2 * wider, zorder=2 + i, label=name if first else None, gid=f"series-{i}")
        bad = grp[~grp.status.isin(SOLVED_STATUSES)]
        if len(bad):
            ax.plot(bad[x].astype(float), np.zeros(len(bad)), ls="none", marker="x", color=colour, ms=7,
                    mew=1.6, clip_on=False, transform=ax.get_xaxis_transform(), gid=f"infeasible-{i}",
                    label=f"{name}: infeasible" if first else None)
    return [float(k) for k in keys]


def frontier_figure(frontier: pd.DataFrame, objective: str, mode: str, ctx: FrontierContext | None = None):
    ctx = ctx or FrontierContext()
    f = frontier
    by_budget = f["budget"].nunique() > 1 or f["threshold"].nunique() <= 1
    x, other = ("budget", "threshold") if by_budget else ("threshold", "budget")
    panels, notes = panels_of(f)
    cols = 2 if len(panels) > 1 else 1
    rows = (len(panels) + 1) // 2
    fig = new_figure((10 if cols == 2 else 6.5, 3.6 * rows + 1.4))
    for i, (col, title) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        keys = _series(ax, f, x, other, col, i == 0)
        if by_budget:
            _mark_budgets(ax, ctx, keys, i == 0)
        ax.set_title(title.format(objective=objective), fontsize=9)
        ax.set_xlabel(f"budget ({ctx.unit})" if x == "budget" and ctx.unit else
                      "budget" if x == "budget" else "threshold level (own + transfer) / need")
        ax.set_ylabel(_y_label(col, ctx), fontsize=8)
        if x == "budget":
            ax.xaxis.set_major_formatter(thousands_formatter())
        if i == 0:   # one legend for every panel, below them
            fig.legend(loc="lower center", ncol=2, fontsize=7, frameon=False)
    name = f"{ctx.instance}: " if ctx.instance else ""
    fig.suptitle(f"{name}{objective} frontier against the {x} (mode: {mode})"
                 + (f"\n{'; '.join(notes)}" if notes else ""), fontsize=10)
    legend_rows = (len(fig.legends[0].get_texts()) + 1) // 2 if fig.legends else 0
    height = fig.get_figheight()
    fig.tight_layout(rect=(0, min(0.4, (0.17 * legend_rows + 0.1) / height), 1, 1))
    return fig


def frontier_png(frontier: pd.DataFrame, objective: str, mode: str, ctx: FrontierContext | None = None) -> bytes:
    return figure_png(frontier_figure(frontier, objective, mode, ctx), dpi=100)
