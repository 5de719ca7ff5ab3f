"""Formula baselines: today's allocation rules (Korea's Local Share Tax, Japan's Local
Allocation Tax, Canada's Equalization, Germany's Finanzkraftausgleich, Australia's GST
distribution, and two reference rules), registered by name so that every command that takes
an objective takes a formula. Parameters are data (parameters/*.toml), by date."""

from optimizer.formulas import rules_federal, rules_grants
from optimizer.formulas.registry import (
    FORMULAS,
    KIND,
    FormulaRun,
    get_formula,
    is_formula,
    run_formula,
    unknown_objective,
)

__all__ = ["FORMULAS", "KIND", "FormulaRun", "get_formula", "is_formula", "run_formula", "rules_federal",
           "rules_grants", "unknown_objective"]
