"""PNG plots of comparisons and sweeps (matplotlib, imported lazily: start-up time matters).
Figures are built with ``matplotlib.figure.Figure`` (no pyplot global state) and take plain
arrays and frames, so report/ needs nothing from studies/."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd


def new_figure(figsize: tuple[float, float]):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def figure_png(fig, dpi: int, tight: bool = False) -> bytes:
    """PNG bytes without the software stamp, so the same data gives the same file."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None,
                metadata={"Software": None})
    return buf.getvalue()


def lorenz_points(level: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted Lorenz curve of levels: (cumulative population, cumulative level share)."""
    order = np.argsort(level, kind="stable")
    ws, xs = w[order] / w.sum(), level[order]
    share = np.cumsum(ws * xs) / float(np.dot(ws, xs))
    return np.concatenate([[0.0], np.cumsum(ws)]), np.concatenate([[0.0], share])


def lorenz_png(level_before: np.ndarray, weights: np.ndarray, allocations: dict[str, pd.DataFrame],
               title: str) -> bytes:
    fig = new_figure((6.5, 6))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls=":", label="equality")
    x, y = lorenz_points(level_before, weights)
    ax.plot(x, y, color="black", lw=1.5, ls="--", label="before")
    for name, a in allocations.items():
        x, y = lorenz_points(a["level_after"].to_numpy(dtype=float), weights)
        ax.plot(x, y, lw=1.2, label=name)
    ax.set_xlabel("cumulative population share (sorted by level)")
    ax.set_ylabel("cumulative share of level")
    ax.set_title(f"Lorenz curves of service levels: {title}")
    ax.legend(fontsize=8)
    return figure_png(fig, 120, tight=True)


def levels_png(level_before: np.ndarray, allocations: dict[str, pd.DataFrame], title: str,
               region_ids: list[str]) -> bytes:
    order = np.argsort(level_before, kind="stable")
    n = len(order)
    fig = new_figure((max(7.0, min(0.35 * n, 18.0)), 5))
    ax = fig.subplots()
    xs = np.arange(n)
    ax.plot(xs, level_before[order], color="black", marker="o", ms=3, lw=1.2, ls="--", label="before")
    for name, a in allocations.items():
        ax.plot(xs, a["level_after"].to_numpy(dtype=float)[order], marker=".", ms=4, lw=0.9, label=name)
    if n <= 40:
        ax.set_xticks(xs, [region_ids[i] for i in order], rotation=60, ha="right", fontsize=8)
    ax.set_xlabel("region (sorted by level before transfers)")
    ax.set_ylabel("service level (own + transfer) / need")
    ax.set_title(f"Levels by region under each objective: {title}")
    ax.legend(fontsize=8, ncol=2)
    return figure_png(fig, 120, tight=True)


FRONTIER_PANELS = [("objective_value", "{objective} value"), ("min_level", "min level"),
                   ("gini", "Gini of levels"), ("weighted_shortfall", "weighted shortfall")]


def frontier_png(frontier: pd.DataFrame, objective: str, mode: str) -> bytes:
    """Four panels against the budget (or the threshold when only it varies), one line per
    value of the other axis; grey vertical lines at infeasible points."""
    f = frontier
    ok = f[f.status == "optimal"]
    by_budget = f["budget"].nunique() > 1 or f["threshold"].nunique() <= 1
    x, other = ("budget", "threshold") if by_budget else ("threshold", "budget")
    fig = new_figure((10, 7))
    for i, (col, title) in enumerate(FRONTIER_PANELS):
        ax = fig.add_subplot(2, 2, i + 1)
        for key, grp in ok.groupby(other, sort=True):
            ax.plot(grp[x].astype(float), grp[col].astype(float), marker="o", ms=3, label=f"{other} {key:g}")
        for xv in f[f.status != "optimal"][x]:
            ax.axvline(float(xv), color="0.85", lw=0.8, zorder=0)
        ax.set_title(title.format(objective=objective), fontsize=9)
        ax.set_xlabel(x)
        if ok[other].nunique() > 1 and i == 0:
            ax.legend(fontsize=7)
    fig.suptitle(f"{objective} frontier (mode: {mode}; grey lines: infeasible points)", fontsize=10)
    fig.tight_layout()
    return figure_png(fig, 100)
