"""The fairness formulations' public helpers in one namespace, for the drivers and fast paths
of optimizer/ (``import models.fairness as fm``). The formulations themselves live by family:
models/spread.py (max-mean, min-range, min-mad), models/lorenz.py (cvar, owa),
models/gini.py (min-gini), models/log_welfare.py, models/core_objectives.py (leximin), on
the shared options and chain form of models/fairness_base.py.

Objectives that need a sequence of LPs (leximin's stages, min-gini's Dinkelbach steps and
order cones, the soft-threshold phase 1) are driven by optimizer/engine/drivers/:
each LP of the sequence is the model written there with the options of that step.
"""

from models.fairness_base import DEFAULTS, chain_order, level_coef, option
from models.gini import gini_cut, gini_form, gini_order
from models.log_welfare import LOG_FLOOR, level_range, log_breakpoints, log_error_bound, log_tangents
from models.lorenz import owa_cut, owa_form, owa_order, owa_terms, owa_V, owa_weights

__all__ = ["DEFAULTS", "LOG_FLOOR", "chain_order", "gini_cut", "gini_form", "gini_order", "level_coef",
           "level_range", "log_breakpoints", "log_error_bound", "log_tangents", "option", "owa_V",
           "owa_cut", "owa_form", "owa_order", "owa_terms", "owa_weights"]
