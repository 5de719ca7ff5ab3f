"""Registry entries of the fairness objectives (formulations: models/spread.py,
models/lorenz.py, models/gini.py, models/log_welfare.py; leximin in models/core_objectives.py)."""

from __future__ import annotations

from models import core_objectives, gini, log_welfare, lorenz, spread
from models.spec import ObjectiveSpec

SPECS = (
    ObjectiveSpec("leximin", "lexicographic max-min: raise the lowest level, then the next lowest, ...",
                  "max", False, core_objectives.leximin, core_objectives.leximin_arrays, algorithm="simplex",
                  tie_break=False, driver="leximin"),
    ObjectiveSpec("max-mean", "maximise the weighted mean level (utilitarian reference)",
                  "max", False, spread.max_mean, spread.max_mean_arrays, algorithm="simplex"),
    ObjectiveSpec("min-range", "minimise max level - min level",
                  "min", False, spread.min_range, spread.min_range_arrays, algorithm="simplex"),
    ObjectiveSpec("min-mad", "minimise the weighted mean absolute deviation from the mean level",
                  "min", False, spread.min_mad, spread.min_mad_arrays, algorithm="simplex"),
    ObjectiveSpec("min-gini", "minimise the population-weighted Gini coefficient of levels (exact)",
                  "min", False, gini.min_gini, gini.min_gini_arrays, algorithm="simplex", driver="dinkelbach",
                  options=("gini_form",)),
    ObjectiveSpec("owa", "maximise an ordered weighted average of levels (--weights, worst first)",
                  "max", False, lorenz.owa, lorenz.owa_arrays, algorithm="ipm", options=("weights", "owa_form")),
    ObjectiveSpec("cvar", "maximise the mean level of the worst-off share alpha of the population",
                  "max", False, lorenz.cvar, lorenz.cvar_arrays, algorithm="simplex", options=("alpha",)),
    ObjectiveSpec("log-welfare", ("maximise sum w log(level) (proportional fairness; exact by KKT on the bare core, "
                  "tangent LP with policy rows)"),
                  "max", False, log_welfare.log_welfare, log_welfare.log_welfare_arrays, algorithm="simplex",
                  options=("breakpoints",)),
)
