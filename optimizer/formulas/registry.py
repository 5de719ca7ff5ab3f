"""Formulas registered by name: today's allocation rules, the baselines the LP objectives are
compared with. A formula is not an LP: it is a function of the round's data and the
parameters in force (params.py) that returns every region's transfer, the formula's own
headline figure and the intermediate quantities (one column each in allocation.csv, so every
amount has its reason). Adding one = one decorated function in rules_*.py and one TOML file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optimizer.core.errors import UsageError, nearest
from optimizer.core.instance import Instance, unit_per_capita
from optimizer.core.text_columns import format_template
from optimizer.formulas.params import RoundParameters, System, load_system, resolve

KIND = "formula"


@dataclass(frozen=True)
class FormulaInput:
    """One round as a formula reads it, in the instance unit (money) and per head."""
    ids: list[str]
    population: np.ndarray
    own: np.ndarray
    need: np.ndarray
    threshold: np.ndarray
    prior: np.ndarray              # prior_transfer, NaN = none
    merged: np.ndarray             # bool: a region made by a merge of this round
    budget: float
    per_capita_factor: float       # money unit -> base currency (KRW billion -> 1e9)
    regions: pd.DataFrame          # every column, for the formula's own inputs
    year: int | None = None        # instance.toml year (the fiscal year's first calendar year)

    def column(self, name: str, formula: str) -> np.ndarray:
        if name not in self.regions.columns:
            raise UsageError(f"formula '{formula}' needs the column '{name}' in regions.csv "
                             f"(declare it in [regions] extra_columns)")
        values = pd.to_numeric(self.regions[name], errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(values).all():
            bad = self.ids[int(np.flatnonzero(~np.isfinite(values))[0])]
            raise UsageError(f"formula '{formula}': column '{name}' is not a finite number for region '{bad}'")
        return values

    def per_capita_to_money(self, per_capita: np.ndarray) -> np.ndarray:
        return per_capita * self.population / self.per_capita_factor


@dataclass
class Outcome:
    """A formula's answer: the transfers (negative = the region pays), its own figure."""
    transfer: np.ndarray
    figure: float                  # reported as objective_value
    figure_name: str               # what the figure is, in words
    columns: dict[str, np.ndarray] = field(default_factory=dict)   # formula_<name> in allocation.csv
    notes: list[str] = field(default_factory=list)
    within_budget: bool = True     # False: this round the rule set its own total (a given adjustment)
    # each region's amount in the rule's own arithmetic (allocation.csv ``reason``): an
    # auditor reads the law's steps, not an optimiser's words
    reason: pa.Array | None = None


def phrase(template: str, *columns: np.ndarray) -> pa.Array:
    """One text per region: ``template.format`` over float columns (``{:,.1f}`` money,
    ``{:.4f}`` levels); constants are put into the template before."""
    return format_template(template, *columns)


def by_case(default: pa.Array, *cases: tuple[np.ndarray, pa.Array]) -> pa.Array:
    """The text of the last case whose mask holds, else ``default``."""
    out = default
    for mask, text in cases:
        out = pc.if_else(pa.array(np.asarray(mask, dtype=bool)), text, out)
    return out


Rule = Callable[[FormulaInput, RoundParameters], Outcome]


@dataclass(frozen=True)
class FormulaSpec:
    name: str
    system: str                    # the parameter file (parameters/<system>.toml)
    summary: str
    rule: Rule
    payers: bool = False           # negative transfers allowed (horizontal contributions)
    uses_budget: bool = True       # False: the rule sets its own total (Germany's horizontal flows)


FORMULAS: dict[str, FormulaSpec] = {}


def formula(name: str, system: str, summary: str, payers: bool = False, uses_budget: bool = True):
    """Register ``rule`` under ``name`` (the decorator of every rule_*.py function)."""
    def register(rule: Rule) -> Rule:
        FORMULAS[name] = FormulaSpec(name, system, summary, rule, payers, uses_budget)
        return rule
    return register


def is_formula(name: object) -> bool:
    return isinstance(name, str) and name in FORMULAS


def unknown_objective(name: object, lp_objectives: Iterable[str]) -> str | None:
    """None when ``name`` names an LP objective (``lp_objectives``: the caller's list, as the
    independent verifier keeps its own) or a formula; else the one message every source of an
    objective name gives (flag, instance.toml, scenario, batch spec, the Python API)."""
    lp = list(lp_objectives)
    if isinstance(name, str) and (name in lp or name in FORMULAS):
        return None
    near = nearest(str(name), [*lp, *FORMULAS])
    hint = f" (did you mean '{near}'?)" if near else ""
    return (f"unknown objective {name!r}{hint}; objectives: {', '.join(lp)}; formulas: {', '.join(FORMULAS)} "
            "(see 'equalize objectives')")


def get_formula(name: str) -> FormulaSpec:
    if name not in FORMULAS:
        near = nearest(name, FORMULAS)
        raise UsageError(f"unknown formula '{name}'" + (f" (did you mean '{near}'?)" if near else "")
                         + f"; known: {', '.join(FORMULAS)}")
    return FORMULAS[name]


def formula_input(inst: Instance, budget: float | None = None, threshold: float | None = None) -> FormulaInput:
    reg = inst.regions
    merged = (reg["merged_from"].astype(str).str.len() > 0).to_numpy() if "merged_from" in reg.columns \
        else np.zeros(inst.n, dtype=bool)
    return FormulaInput(
        ids=[str(r) for r in reg["region_id"]],
        population=reg["population"].to_numpy(dtype=float),
        own=reg["own_revenue"].to_numpy(dtype=float),
        need=reg["fiscal_need"].to_numpy(dtype=float),
        threshold=inst.thresholds(threshold),
        prior=reg["prior_transfer"].to_numpy(dtype=float),
        merged=merged,
        budget=inst.budget if budget is None else float(budget),
        per_capita_factor=unit_per_capita(inst.unit)[1],
        regions=reg, year=inst.year)


@dataclass
class FormulaRun:
    spec: FormulaSpec
    system: System
    params: RoundParameters
    outcome: Outcome

    def summary(self) -> dict[str, Any]:
        return {"name": self.spec.name, "kind": KIND, "figure": self.outcome.figure,
                "figure_name": self.outcome.figure_name, "payers": self.spec.payers,
                "parameters": self.params.as_summary(self.system), "notes": list(self.outcome.notes)}


def run_formula(inst: Instance, name: str, options: dict[str, Any] | None = None,
                budget: float | None = None, threshold: float | None = None) -> FormulaRun:
    """Apply formula ``name`` to the round (an instance after scenario and merges)."""
    spec = get_formula(name)
    system = load_system(spec.system)
    params = resolve(system, inst.year, options)
    outcome = spec.rule(formula_input(inst, budget, threshold), params)
    if not spec.payers and (outcome.transfer < 0).any():
        raise UsageError(f"formula '{name}' returned a negative transfer; it has no payers")  # a defect, loudly
    return FormulaRun(spec, system, params, outcome)
