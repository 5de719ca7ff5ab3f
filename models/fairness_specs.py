"""Registry entries of the fairness objectives (formulations in models/fairness.py)."""

from __future__ import annotations

from models import fairness as f
from models.objectives import ObjectiveSpec

SPECS = (
    ObjectiveSpec("leximin", "lexicographic max-min: raise the lowest level, then the next lowest, ...",
                  "max", False, f.leximin, f.leximin_arrays, algorithm="simplex", tie_break=False,
                  driver="leximin"),
    ObjectiveSpec("max-mean", "maximise the weighted mean level (utilitarian reference)",
                  "max", False, f.max_mean, f.max_mean_arrays, algorithm="simplex"),
    ObjectiveSpec("min-range", "minimise max level - min level",
                  "min", False, f.min_range, f.min_range_arrays, algorithm="simplex"),
    ObjectiveSpec("min-mad", "minimise the weighted mean absolute deviation from the mean level",
                  "min", False, f.min_mad, f.min_mad_arrays, algorithm="simplex"),
    ObjectiveSpec("min-gini", "minimise the population-weighted Gini coefficient of levels (exact)",
                  "min", False, f.min_gini, f.min_gini_arrays, algorithm="simplex", driver="dinkelbach",
                  options=("gini_form",)),
    ObjectiveSpec("owa", "maximise an ordered weighted average of levels (--weights, worst first)",
                  "max", False, f.owa, f.owa_arrays, algorithm="ipm", options=("weights", "owa_form")),
    ObjectiveSpec("cvar", "maximise the mean level of the worst-off share alpha of the population",
                  "max", False, f.cvar, f.cvar_arrays, algorithm="simplex", options=("alpha",)),
    ObjectiveSpec("log-welfare", "maximise sum w log(level) (proportional fairness, PWL tangents)",
                  "max", False, f.log_welfare, f.log_welfare_arrays, algorithm="simplex",
                  options=("breakpoints",)),
)
