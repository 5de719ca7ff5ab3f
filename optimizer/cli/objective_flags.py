"""Click options of the objectives (shared by ``solve`` and ``compare``); no printing here."""

from __future__ import annotations

from typing import Any

import click

from optimizer.engine.options import THRESHOLD_MODES


def objective_flags(f):
    opts = [
        click.option("--thresholds", type=click.Choice(THRESHOLD_MODES), default=None,
                     help="hard: thresholds are constraints (infeasible -> exit 1 with the diagnosis; "
                          "the default); soft: first minimise the weighted shortfall, then optimise the "
                          "objective with that shortfall held; auto: hard when the closed-form diagnosis "
                          "says the thresholds can all be met, else soft. Also [objective] thresholds."),
        click.option("--alpha", type=float, default=None,
                     help="cvar: worst-off population share in (0, 1] (default 0.1)."),
        click.option("--weights", default=None,
                     help="owa: comma-separated non-increasing weights of equal population slices, "
                          "worst-off first (default 10,9,...,1: deciles)."),
        click.option("--breakpoints", type=int, default=None,
                     help="log-welfare: tangent points per region (default 32)."),
        click.option("--gini-form", type=click.Choice(["auto", "pairwise", "chain"]), default=None,
                     help="min-gini: pairwise LP (n <= 200 by default) or the compact order-cone (chain) form."),
        click.option("--no-price-of-fairness", is_flag=True,
                     help="Skip the extra max-mean solve that gives the price of fairness."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def objective_options_from(thresholds=None, alpha=None, weights=None, breakpoints=None,
                           gini_form=None) -> dict[str, Any]:
    raw = {"thresholds": thresholds, "alpha": alpha, "weights": weights, "breakpoints": breakpoints,
           "gini_form": gini_form}
    return {k: v for k, v in raw.items() if v is not None}
