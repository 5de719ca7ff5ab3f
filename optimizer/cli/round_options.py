"""Click options of multi-year rounds and services for ``equalize solve`` (declarations only)."""

from __future__ import annotations

import click


def round_options(f):
    f = click.option("--fairness-over", "round_fairness_over", type=click.Choice(["regions", "services"]),
                     default=None, help="With services.csv: apply the objective to region levels (default) "
                     "or to every region-service level (maxmin, min-shortfall, min-cost).")(f)
    f = click.option("--earmarked", "round_earmarked", is_flag=True, default=None,
                     help="With services.csv: transfers are earmarked per service (default: general, "
                          "spent in proportion to need).")(f)
    f = click.option("--years", "round_years", type=click.IntRange(min=1, max=100), default=None,
                     help="Multi-year phase-in over K years (overrides [phasing] years).")(f)
    return f


def round_args(kwargs: dict) -> dict:
    """Pop the round_* entries of a click kwargs dict into solve_round keyword arguments."""
    return {k[len("round_"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("round_")}
