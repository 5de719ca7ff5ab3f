"""The accepted ranges of every input value (docs/instance-format.md, docs/reliability.md).

One table for every source: regions.csv, instance.toml, a scenario's overrides, CLI flags,
batch specs and the Python API. Why these numbers:

- money amounts (instance unit) are finite and at most ``MONEY_MAX`` = 1e15: float64 holds
  whole numbers exactly up to 9e15, so an amount keeps sub-unit resolution, and a sum over a
  million regions (<= 1e21) stays finite;
- the LP works in units of a power of ten near the median need (core/scaling.py) and HiGHS
  treats 1e20 as infinite with absolute tolerances near 1e-7: a money amount of at most
  ``MONEY_PER_MEDIAN_NEED`` = 1e12 times the median need is at most 1e13 solver units, seven
  orders below HiGHS's infinity (a budget of 1e25 used to come back as "unbounded");
- fiscal needs divide every level: at least ``NEED_MIN`` and within ``NEED_SPREAD_MAX`` = 1e15
  of the largest (beyond float64's resolution a small need vanishes in any sum with the
  largest); spreads over ``NEED_SPREAD_NOTICE`` get a notice (HiGHS may then fail the
  post-solve check, exit 1, never a wrong answer);
- population (heads) in [1, 1e10] (int64 sums stay exact; per-capita figures stay finite);
- service levels (thresholds, group min_level, policy levels) in [0, ``LEVEL_MAX``];
- multi-year growth rates in [``GROWTH_MIN``, ``GROWTH_MAX``] over at most ``YEARS_MAX`` years,
  and every grown amount within the money range again;
- log-welfare tangents per region at most ``BREAKPOINTS_MAX`` (the LP has n x breakpoints rows);
  cvar's alpha at least ``ALPHA_MIN`` (its costs are weight / alpha); owa weights finite and at
  most ``OWA_WEIGHT_MAX`` (their sum must stay finite).
"""

from __future__ import annotations

MONEY_MAX = 1e15
MONEY_PER_MEDIAN_NEED = 1e12
NEED_MIN = 1e-9
NEED_SPREAD_MAX = 1e15
NEED_SPREAD_NOTICE = 1e7
POPULATION_MIN = 1.0
POPULATION_MAX = 1e10
WEIGHT_MAX = 1e15
LEVEL_MAX = 10.0
SHARE_MAX = 10.0          # hold_harmless: a multiple of the prior transfer
CHANGE_MAX = 100.0        # change_limit: a relative change
PER_CAPITA_MAX = 1e15     # per-capita floor / cap, base currency per person
GROWTH_MIN = -0.5
GROWTH_MAX = 1.0
YEARS_MAX = 100
BREAKPOINTS_MAX = 1000
ALPHA_MIN = 1e-6          # cvar: the worst-off share; the LP's costs are weight / alpha
OWA_WEIGHT_MAX = 1e15     # owa: rank weights (normalised to sum 1)
