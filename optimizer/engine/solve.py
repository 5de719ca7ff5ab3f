"""Solve orchestration: Instance -> scaled RegionData -> LP -> HiGHS -> Result.

Nothing here prints. Three named steps: ``prepare_round`` (policies, scaling, the
diagnosis, hard or soft thresholds), ``solve_round`` (the soft phase 1, then the fast
path, the parametric max-min or the LP drivers; or the Pyomo model of record), and
``finish_round`` (the checked Result, policy tags, price of fairness). The default
engine builds the LP with the vectorised twin of the Pyomo model (identical LP,
tested) and hands arrays to highspy; ``engine="pyomo"`` solves the Pyomo model of
record through Pyomo's own HiGHS interface, as an independent check and for users who
extend the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from models.build import build_lp, build_pyomo
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec, get_objective
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.memory import give_back
from optimizer.core.policy import PolicyConfig
from optimizer.core.result import Result
from optimizer.core.scaling import RoundData, money_scale, round_data, to_region_data
from optimizer.core.solution import Run
from optimizer.engine.conflicts import PolicyDiagnosis
from optimizer.engine.drivers.group_leximin import group_leximin_run
from optimizer.engine.drivers.lp import run_direct
from optimizer.engine.drivers.parametric import parametric_maxmin_run
from optimizer.engine.finish import base_summary, build_result, check_status, raise_infeasible
from optimizer.engine.formula_round import solve_formula
from optimizer.engine.options import parse_objective_options, resolve_thresholds
from optimizer.engine.price_of_fairness import add_fairness_summary
from optimizer.engine.pyomo_engine import solve_pyomo
from optimizer.engine.soft import (
    caps_apply,
    exact_floor,
    scarcity_summary,
    shortfall_floor,
    unfunded_below_threshold,
    with_shortfall_cap,
    with_threshold_caps,
)
from optimizer.engine.surplus import spend_surplus
from optimizer.explain.diagnose import Diagnosis, diagnose
from optimizer.explain.policy_checks import finish_policies
from optimizer.explain.verify import Tolerance, VerificationError, VerifyExtras
from optimizer.fast.fastpath import SCARCE_MAXMIN_TIE_BREAK, fast_core_run
from optimizer.formulas import is_formula
from optimizer.io.checks import check_round
from optimizer.prepare.policy_round import PolicyRound, policy_round, tie_break_columns, unit_labels

DEFAULT_OBJECTIVE = "maxmin"


# Leximin with binding group rows by certified stages (optimizer/fast/group_leximin.py): on.
# A stage fixes a region only where approximate complementary slackness proves every optimum
# holds it within 1e-7 (optimizer/fast/slack_bound.py); off, the LP stages answer (CI had found a
# round where the earlier rule, "a dual above 1e-9 of its scale", fixed regions wrongly).
GROUP_LEXIMIN_STAGES = True


@dataclass(frozen=True)
class SolveOptions:
    objective: str | None = None
    budget: float | None = None
    threshold: float | None = None
    engine: str = "direct"           # "direct" (arrays -> highspy) or "pyomo"
    tie_break: bool = True
    time_limit: float | None = None
    policy: PolicyConfig | None = None   # overrides of the instance's [policy] (CLI flags, scenarios)
    objective_options: dict | None = None   # alpha, weights, breakpoints, thresholds, ... (over [objective])
    price_of_fairness: bool = True   # also solve max-mean to report the price of fairness
    extra_terms: object = None   # callable (RoundData, scale) -> policy terms (optimizer/phasing.py, services.py)
    fast_path: bool = True   # certified water-filling for maxmin/leximin on the core (optimizer/fastpath.py)
    spend: str | None = None     # "least" | "all" (None: the instance's [budget] spend); engine/surplus.py
    surplus: str | None = None   # the surplus rule under spend "all" (None: [budget] surplus)


@dataclass
class PreparedRound:
    """One round ready to solve: the policy round, the scaled data and the diagnosis."""
    pr: PolicyRound
    inst: Instance
    rd: RoundData
    diag: Diagnosis | PolicyDiagnosis
    hard: bool
    scale: float
    data: RegionData
    terms: tuple
    base: dict
    info: dict[str, Any] = field(default_factory=dict)   # the drivers' notes for the summary

    def build(self, d: RegionData, objective: str) -> LinearProgram:
        return build_lp(d, objective, self.terms)


def objective_spec(name: str) -> ObjectiveSpec:
    try:
        return get_objective(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def solve(inst: Instance, opts: SolveOptions = SolveOptions()) -> Result:
    name = opts.objective or inst.objective or DEFAULT_OBJECTIVE
    if is_formula(name):   # today's rule, not an LP (optimizer/formulas, engine/formula_round.py)
        return solve_formula(inst, name, opts.budget, opts.threshold, opts.objective_options, opts.policy)
    spec = objective_spec(name)
    if opts.threshold is not None and (not np.isfinite(opts.threshold) or opts.threshold < 0):
        raise UsageError(f"--threshold must be a finite number >= 0, got {opts.threshold}")
    prep = prepare_round(inst, spec, opts)
    give_back(prep.inst.n)   # each stage's freed memory back before the next: the peak is one stage's, not their sum
    run = solve_round(prep, spec, opts)
    for sol in (run.first, run.second):   # A x and the reduced costs: read by the drivers only, 24 MB at 1e6
        if sol is not None:
            sol.row_activity, sol.col_dual = np.zeros(0), np.zeros(0)
    give_back(prep.inst.n)
    result = finish_round(prep, spec, opts, run)
    return spend_surplus(prep, spec, opts, result, verify_extras(prep, opts))   # --spend all


def _terms(pr: PolicyRound, opts: SolveOptions, rd: RoundData, scale: float) -> tuple:
    return pr.terms(rd, scale) + (tuple(opts.extra_terms(rd, scale)) if opts.extra_terms else ())


def prepare_round(inst: Instance, spec: ObjectiveSpec, opts: SolveOptions) -> PreparedRound:
    """Policies and groups, the round's data scaled, the diagnosis (closed form on the core,
    LPs with policy rows) and the threshold mode; raises InfeasibleError when it says so."""
    check_round(inst, opts.policy, opts.budget, opts.threshold)   # every value, wherever it came from
    pr = policy_round(inst, opts.policy)     # [policy], groups; revenue counting
    inst = pr.inst
    rd = pr.adjust(round_data(inst, opts.budget, opts.threshold))
    need = inst.regions["fiscal_need"].to_numpy(dtype=float)
    diag = diagnose(inst.regions["own_revenue"].to_numpy(dtype=float), need, rd.threshold, rd.t_min,
                    rd.t_max, rd.budget)
    fopts = parse_objective_options({**inst.objective_options, **(opts.objective_options or {})})
    hard, threshold_mode = resolve_thresholds(spec, fopts.get("thresholds"), diag.feasible(True))
    scale = money_scale(need)
    data = replace(to_region_data(inst, rd, scale), options={**fopts, "soft_thresholds": not hard})
    terms = _terms(pr, opts, rd, scale)
    if terms:  # the closed form knows only the core: diagnose with LPs
        labels = unit_labels(inst.regions)
        diag = PolicyDiagnosis(data, terms, scale, labels, hard)
        if fopts.get("thresholds") == "auto" and hard and not diag.feasible(True):
            # auto: the policies make the thresholds unreachable, so go soft after all
            hard, threshold_mode = False, "soft"
            data = replace(data, options={**data.options, "soft_thresholds": True})
            diag = PolicyDiagnosis(data, terms, scale, labels, hard)
    data, scarcity = _scarcity(spec, hard, diag.feasible(True), fopts, data, terms, scale, inst)
    base = base_summary(inst, spec, rd, diag)
    if not diag.feasible(hard):
        raise_infeasible(inst, spec, diag, base, hard)
    return PreparedRound(pr, inst, rd, diag, hard, scale, data, terms, base,
                         {"thresholds": threshold_mode, "scarcity": scarcity})


def _scarcity(spec: ObjectiveSpec, hard: bool, reachable: bool, fopts: dict, data: RegionData, terms: tuple,
              scale: float, inst: Instance) -> tuple[RegionData, dict]:
    """Soft rounds whose thresholds cannot all be met, under ``--scarcity objective``: the
    thresholds become transfer caps (engine/soft.py; a soft round whose thresholds can all
    be met keeps phase 1, whose held shortfall 0 makes them hold as in hard mode). With
    policy rows each cap is raised to what the least-spending split meeting the rows gives
    the region (thresholds 0: a hold-harmless floor above a region's gap), so the caps
    never make the round infeasible."""
    capped = caps_apply(spec, hard or reachable, fopts)
    if capped:
        floor = None
        if terms:
            zero = replace(data, threshold=np.zeros(data.n))
            floor = PolicyDiagnosis(zero, terms, scale, unit_labels(inst.regions), True).required_transfer / scale
        data = with_threshold_caps(data, floor)
    return data, scarcity_summary(spec, hard, fopts, capped, reachable)


def solve_round(prep: PreparedRound, spec: ObjectiveSpec, opts: SolveOptions) -> Run:
    """The soft phase 1 (if any), then the engine: the fast path, the parametric max-min,
    the LP drivers, or the Pyomo model of record. ``prep.data`` gets the shortfall cap."""
    capped = bool(prep.data.options.get("threshold_caps"))
    if not prep.hard and not spec.soft_thresholds and not capped:  # shortfall-first: phase 1
        s_star, phase1 = shortfall_floor(prep.data, prep.build, opts.time_limit)
        prep.data = with_shortfall_cap(prep.data, s_star, exact_floor(phase1))
        prep.info["shortfall_held"] = s_star
    t0 = time.perf_counter()
    if opts.engine == "pyomo" and (spec.driver != "lp" or spec.name == "maxmin" and capped):
        raise UsageError(f"'{spec.name}' solves a sequence of LPs{' under scarcity' if capped else ''}; "
                         f"use --engine direct")
    if opts.engine == "pyomo":
        first, second, layout = solve_pyomo(build_pyomo(prep.data, spec.name, prep.terms), spec, opts, t0)
        run = Run(first, second, layout, layout.pop("build_seconds"))
        _note_unfunded(prep, run)
        return run
    if opts.engine != "direct":
        raise UsageError(f"unknown engine '{opts.engine}'; choose direct or pyomo")
    run = _direct_run(prep, spec, opts)
    prep.info |= run.info
    _note_unfunded(prep, run)
    return run


def _note_unfunded(prep: PreparedRound, run: Run) -> None:
    """summary.json ``below_threshold_unfunded``: the regions left below their threshold
    with no transfer (the CLI prints them under the table)."""
    final = run.second if run.second is not None and run.second.status == "optimal" else run.first
    if final.status != "optimal" or "transfer" not in run.layout:
        return
    reg = prep.inst.regions
    t = final.x[run.layout["transfer"]] * prep.scale
    ids = reg["region_id"].astype(str)   # stacked region-years (engine/phasing.py): "gangwon 2025"
    ids = (ids + " " + reg["year"].astype(str)) if "year" in reg.columns else ids
    prep.info["below_threshold_unfunded"] = unfunded_below_threshold(
        ids.array, reg["own_revenue"].to_numpy(dtype=float),
        reg["fiscal_need"].to_numpy(dtype=float), prep.rd.threshold, t, Tolerance.of(prep.rd.budget, prep.scale).money)


def _direct_run(prep: PreparedRound, spec: ObjectiveSpec, opts: SolveOptions) -> Run:
    data, build, hard, terms = prep.data, prep.build, prep.hard, prep.terms
    run = fast_core_run(data, spec.name, build, hard, bool(terms)) if opts.fast_path else None
    if run is None and opts.fast_path and spec.name == "maxmin" and hard and terms:
        run = parametric_maxmin_run(data, build, tie_break_columns, opts.time_limit)
        if run is not None and not (spec.tie_break and opts.tie_break):
            run.second = None
    if run is None and GROUP_LEXIMIN_STAGES and opts.fast_path and spec.name == "leximin" and hard and \
            any(t.name in ("group-level", "group-transfer") for t in terms):
        run = group_leximin_run(data, build)     # binding group rows: certified stages
    if run is None and spec.name == "maxmin" and data.options.get("threshold_caps"):
        # scarcity: among the max-min optima the leximin split, level_r = min(theta_r, max(L0_r, z));
        # the least-spending one would leave money unspent when a capped region sets the minimum
        run = run_direct(data, replace(spec, driver="leximin"), build, opts.tie_break, opts.time_limit)
        run.info["tie_break"] = SCARCE_MAXMIN_TIE_BREAK
    if run is None:
        run = run_direct(data, spec, build, opts.tie_break, opts.time_limit, tie_break_columns)
    return run


def finish_round(prep: PreparedRound, spec: ObjectiveSpec, opts: SolveOptions, run: Run) -> Result:
    """The verified Result (explain/verify.py; one retry on a safer path when the check
    fails); with policy rows their tags; the price of fairness (the max-mean reference)
    and the drivers' notes; the policy echo."""
    try:
        result = _verified_result(prep, spec, opts, run)
    except VerificationError as exc:
        retry = safer_run(prep, spec, opts, run)
        if retry is None:
            raise
        try:
            result = _verified_result(prep, spec, opts, retry)
        except VerificationError as again:
            raise VerificationError(exc.verdict, f"; a retry by {retry.info.get('retry_path')} failed too "
                                                 f"({again.verdict.message()})") from None
        for key in set(run.info) - set(retry.info):   # the first path's notes (solved_by, ...) are not the answer's
            prep.info.pop(key, None)
        prep.info |= retry.info
        result.summary["verified"]["retried"] = f"the first answer failed ({exc.verdict.message()}); " \
                                                f"re-solved by {retry.info.get('retry_path', 'a safer path')}"
    # the max-mean reference is auxiliary: with policy rows its LP can cost far more than
    # the allocation itself (no-overtaking, 1e5 regions: 130 s), so it gets a time budget
    main_seconds = result.summary["build_seconds"] + result.summary["solve_seconds"]
    pof_limit = opts.time_limit if opts.time_limit is not None else max(10.0, 3.0 * main_seconds)
    add_fairness_summary(result, prep.data, spec, prep.build, prep.info,
                         opts.price_of_fairness and opts.engine == "direct", pof_limit,
                         closed_form=not prep.terms)
    pof = result.summary.get("price_of_fairness")
    if isinstance(pof, dict) and pof.get("value") is None and opts.price_of_fairness and prep.terms:
        pof["note"] = f"not computed: the max-mean reference LP did not finish within {pof_limit:.0f} s"
    return prep.pr.annotate(result)


def verify_extras(prep: PreparedRound, opts: SolveOptions) -> VerifyExtras:
    """What the post-solve check needs of a prepared round beyond the instance: the weights
    and options the LP used, the policy terms unscaled, the shortfall held in soft mode."""
    # scarcity: the thresholds are caps, checked as bounds (instance unit)
    caps = prep.data.t_max * prep.scale if prep.data.options.get("threshold_caps") else None
    return VerifyExtras(weight=prep.data.weight, options=dict(prep.data.options),
                        policies=_terms(prep.pr, opts, prep.rd, 1.0) if prep.terms else (),
                        shortfall_cap=prep.data.options.get("shortfall_cap"), t_max=caps)


def _verified_result(prep: PreparedRound, spec: ObjectiveSpec, opts: SolveOptions, run: Run) -> Result:
    inst, rd, scale = prep.inst, prep.rd, prep.scale
    first, second = run.first, run.second
    check_status(inst, spec, prep.diag, prep.base, prep.hard, first)
    final = second if second is not None and second.status == "optimal" else first
    result = build_result(inst, spec, rd, prep.base, scale, first, final, second, run.layout,
                          run.build_seconds, prep.hard, verify_extras(prep, opts))
    if prep.terms:
        result = _finish_policies(prep, spec, run, result)
    return result


def _finish_policies(prep: PreparedRound, spec: ObjectiveSpec, run: Run, result: Result) -> Result:
    """Policy rows: binding tags read off the LP rows (verified already, unscaled)."""
    final = run.second if run.second is not None and run.second.status == "optimal" else run.first
    result = finish_policies(result, prep.data, prep.terms, final.x, run.layout)
    if "rows:year_budget" in run.layout:  # phased rounds: one budget row per year, scaled as the budget's
        per = 1.0 if spec.objective_unit == "money" else 1 / prep.scale
        y_dual = run.first.row_dual[run.layout["rows:year_budget"]] * per
        result.summary["year_budget_shadow_prices"] = [float(v) + 0.0 for v in y_dual]
    return result


RETRY_TOLERANCE = 1e-10   # HiGHS's primal and dual feasibility tolerances on the retry (default 1e-7)


def safer_run(prep: PreparedRound, spec: ObjectiveSpec, opts: SolveOptions, run: Run) -> Run | None:
    """One retry after a failed post-solve check, on a path that fails differently: a closed
    form's answer is re-solved as the LP with tight tolerances (a sequence driver's objective:
    by its LPs of record); an LP's answer by the min-shortfall knapsack when it applies, else
    by the same single LP with tight tolerances. None when there is no safer path (a sequence
    driver's own answer, the Pyomo engine)."""
    if opts.engine != "direct":
        return None
    closed_form = "solved_by" in run.info
    if not closed_form and opts.fast_path is not False and spec.name == "min-shortfall":
        retry = fast_core_run(prep.data, spec.name, prep.build, prep.hard, bool(prep.terms))
        if retry is not None:
            retry.info["retry_path"] = "the min-shortfall knapsack (closed form)"
            return retry
    if closed_form and spec.name == "maxmin" and prep.data.options.get("threshold_caps"):
        retry = run_direct(prep.data, replace(spec, driver="leximin"), prep.build, opts.tie_break, opts.time_limit)
        retry.info |= {"retry_path": "the leximin driver on the maxmin LP", "tie_break": SCARCE_MAXMIN_TIE_BREAK}
        return retry
    if closed_form and spec.driver != "lp":   # the sequence drivers' LPs of record, fast paths off
        retry = run_direct(prep.data, spec, prep.build, opts.tie_break, opts.time_limit, tie_break_columns)
        retry.info["retry_path"] = f"the LP path of record (the {spec.driver} driver, no closed form)"
        return retry
    if spec.driver != "lp" or (spec.name == "owa" and prep.data.options.get("owa_form") == "chain"):
        return None
    retry = run_direct(prep.data, spec, prep.build, opts.tie_break, opts.time_limit, tie_break_columns,
                       tolerance=RETRY_TOLERANCE)
    retry.info["retry_path"] = f"the LP with HiGHS feasibility tolerances {RETRY_TOLERANCE:g}"
    return retry
