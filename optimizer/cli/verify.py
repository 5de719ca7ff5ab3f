"""``equalize verify``: check an allocation CSV against an instance, independently of the
solver: the levels recomputed from the raw instance, the budget, the transfer bounds, the
thresholds when hard, every policy (explain/verify.py: the post-solve check every solve
runs), and with ``--objective`` optimality where a certificate exists on the bare core
(fast/optimality.py). Never imports models/, the engine or highspy (import-linter).
Exit 0 the allocation holds, 1 a violation or a suboptimal allocation, 2 bad input."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import click
import numpy as np

from optimizer.cli.common import instance_argument, reported_errors
from optimizer.cli.round_flags import CliRound, round_flags, round_from_flags
from optimizer.core.errors import UsageError
from optimizer.core.instance import Instance
from optimizer.core.levels import least_transfer
from optimizer.core.scaling import money_scale, round_data
from optimizer.explain.diagnose import diagnose
from optimizer.explain.formula_check import check_formula
from optimizer.explain.objective_values import OBJECTIVES
from optimizer.explain.verify import Verdict, VerifyRound, Violation, level_lift, verify, with_violation
from optimizer.fast.optimality import Core, Optimality, certify_core, least_shortfall
from optimizer.fast.waterfill import threshold_caps
from optimizer.formulas import is_formula, unknown_objective
from optimizer.io.allocation import read_allocation
from optimizer.io.checks import check_round
from optimizer.io.objective_options import parse_objective_options
from optimizer.prepare.policy_round import policy_round


@click.command("verify")
@instance_argument
@click.argument("allocation", type=click.Path(path_type=Path))
@round_flags(objective_help="Also check optimality under this objective (a certificate exists on the bare core "
             "for maxmin, leximin, min-cost, min-shortfall, max-mean, min-range); a formula's name: check that "
             "the allocation is the formula's. Without it, feasibility only.")
@click.option("--tolerance", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Extra tolerance in the instance unit, e.g. 0.02 for transfers rounded to 0.001.")
def verify_cmd(instance: Path, allocation: Path, tolerance, **flags):
    """Check ALLOCATION.csv (columns region_id and transfer) against INSTANCE.

    \b
    Example:
      equalize solve instances/korea-17 --output out/korea
      equalize verify instances/korea-17 out/korea/allocation.csv --objective maxmin
    Give the options the allocation was made with (scenario, merges, policies, budget,
    threshold). Exit codes: 0 it holds, 1 a violation or a suboptimal allocation, 2 bad input.
    """
    with reported_errors():
        objective = flags.get("objective")
        unknown = unknown_objective(objective, OBJECTIVES) if objective else None
        if unknown:
            raise UsageError(f"--objective: {unknown}")
        rnd = round_from_flags(instance, flags)
        inst = rnd.inst
        if is_formula(objective):   # the formula recomputed (explain/formula_check.py)
            sys.exit(_verify_formula(rnd, allocation, tolerance))
        _refuse_unsupported(inst, rnd.rargs)
        opts = parse_objective_options({**inst.objective_options, **rnd.opts.objective_options})
        vr, core = _round(inst, rnd, opts, tolerance)
        vr = dataclasses.replace(vr, spend_all=(rnd.opts.spend or inst.spend) == "all")
        if opts.get("thresholds") == "auto" and vr.policies:
            click.echo("notice: --thresholds auto with policy rows: thresholds are checked as soft (not as "
                       "constraints); give --thresholds hard to check them", err=True)
        t = read_allocation(allocation, [str(r) for r in inst.regions["region_id"]])
        verdict = verify(vr, t)
        optimality = _optimality(vr, core, t, verdict)
        if optimality.gap is not None and not optimality.certified:
            verdict = with_violation(verdict, _suboptimal(vr, optimality))
        sys.exit(_report(vr, t, verdict, optimality, objective))


def _verify_formula(rnd: CliRound, allocation: Path, tolerance: float) -> int:
    """A formula's allocation: exit 0 when it is the formula's (within the tolerance), else 1."""
    inst, opts = rnd.inst, rnd.opts
    t = read_allocation(allocation, [str(r) for r in inst.regions["region_id"]])
    check = check_formula(inst, opts.objective, t, opts.objective_options.get("formula"), opts.budget,
                          opts.threshold, tolerance)
    click.echo(("verified: " if check.ok else "violation: ") + check.message(inst.unit))
    return 0 if check.ok else 1


def _refuse_unsupported(inst: Instance, rargs: dict) -> None:
    given = rargs.get("years")
    years = given or (inst.phasing.years if inst.phasing is not None else 1)
    if years > 1:
        where = f"--years {years}" if given else f"[phasing] years = {years}"
        raise UsageError(f"{inst.name}: a multi-year round ({where}); verify checks single rounds only")
    if rargs.get("earmarked") or rargs.get("fairness_over") == "services":
        raise UsageError("--earmarked / --fairness-over services: verify checks plain rounds only")
    if inst.services is not None:
        raise UsageError(f"{inst.name}: a round with services.csv; verify checks plain rounds only")


def _round(inst: Instance, rnd: CliRound, opts: dict, tolerance: float) -> tuple[VerifyRound, Core | None]:
    """The round as the check reads it (instance unit), and its bare core when it is one."""
    objective, budget, threshold, policy = rnd.opts.objective, rnd.opts.budget, rnd.opts.threshold, rnd.opts.policy
    check_round(inst, policy, budget, threshold)
    pr = policy_round(inst, policy)
    inst = pr.inst
    rd = pr.adjust(round_data(inst, budget, threshold))
    terms = pr.terms(rd, 1.0)
    own, need = inst.regions["own_revenue"].to_numpy(dtype=float), inst.regions["fiscal_need"].to_numpy(dtype=float)
    mode = opts.get("thresholds", "hard")
    if objective == "min-shortfall":
        hard = False              # its thresholds are the objective
    elif mode == "auto":
        # with policy rows, whether the solve went soft needs its LP diagnosis: checked as soft
        hard = not terms and diagnose(own, need, rd.threshold, rd.t_min, rd.t_max, rd.budget).feasible(True)
    else:
        hard = mode != "soft"
    name = objective or ""
    core = Core(own, need, rd.threshold, rd.t_min, rd.t_max, inst.weights(), rd.budget)
    # --scarcity objective (the default): the thresholds are caps (checked as t_max; with policy
    # rows the solve raises them by an LP, so they are not checked); shortfall-first: the held shortfall
    scarce = (not hard and name not in ("min-shortfall", "min-cost") and opts.get("scarcity") != "shortfall-first"
              and not diagnose(own, need, rd.threshold, rd.t_min, rd.t_max, rd.budget).feasible(True))
    t_max = threshold_caps(rd.threshold, own, need, rd.t_min, rd.t_max) if scarce and not terms else rd.t_max
    held = least_shortfall(core) if not hard and not scarce and name != "min-shortfall" and not terms else None
    if scarce and not terms:   # the scarcity LP is the bare core with these caps, thresholds not binding
        core = Core(own, need, np.zeros_like(own), rd.t_min, t_max, inst.weights(), rd.budget)
    vr = VerifyRound(own=own, need=need, threshold=rd.threshold, t_min=rd.t_min, t_max=t_max,
                     weight=inst.weights(), budget=rd.budget, objective=name, hard=hard, options=opts,
                     policies=tuple(terms), labels=inst.regions["region_id"].to_numpy(),
                     scale=money_scale(need), money_objective=name == "min-cost", unit=inst.unit,
                     tolerance=tolerance, shortfall_cap=held)
    return vr, core if not terms and (hard or scarce or name == "min-shortfall") else None


def _optimality(vr: VerifyRound, core: Core | None, t: np.ndarray, verdict: Verdict) -> Optimality:
    if core is None or not verdict.ok:
        return Optimality(False, None, None)
    tol = vr.tol()
    if vr.spend_all and vr.objective == "min-cost":
        # its value is the least cost of meeting the thresholds, the surplus paid beside it:
        # certify that least-cost allocation, which the allocation covers region by region
        floor = least_transfer(core.threshold, core.own, core.need, core.t_min)
        if np.all(t >= floor - tol.money):
            t = floor
    return certify_core(vr.objective, core, t, tol.money if vr.money_objective else tol.level)


def _suboptimal(vr: VerifyRound, opt: Optimality) -> Violation:
    tol = vr.tol()
    money = vr.money_objective
    return Violation("optimality", opt.region, float(opt.gap), "money" if money else "level",
                     tol.money if money else tol.level, opt.detail)


def _line(verdict: Verdict, v: Violation, unit: str) -> str:
    shown = unit if v.unit == "money" else "in level"
    detail = f": {v.detail}" if v.detail else ""
    what = "suboptimal: short of the optimum" if v.constraint == "optimality" else f"{v.constraint} violated"
    return f"{verdict.where(v)}{what} by {v.amount:.6g} {shown} (tolerance {v.tolerance:.3g}){detail}"


def _report(vr: VerifyRound, t: np.ndarray, verdict: Verdict, opt: Optimality, objective: str | None) -> int:
    used = math.fsum(t)
    if not verdict.ok:
        for v in verdict.violations:
            click.echo(f"violation: {_line(verdict, v, vr.unit)}")
        click.echo(f"not verified: {len(verdict.violations)} violation(s); budget used {used:,.6g} of "
                   f"{vr.budget:,.6g} {vr.unit}")
        return 1
    click.echo(f"feasible: budget used {used:,.6g} of {vr.budget:,.6g} {vr.unit}; largest excess "
               f"{max(0.0, verdict.extra['max_violation']):.3g} of its tolerance (max violation; below 1 holds)")
    if vr.spend_all:
        click.echo(_spend_line(vr, t, verdict))
    if objective is None:
        click.echo("optimality not checked (give --objective)")
        return 0
    value = verdict.objective_recomputed
    click.echo(f"objective {objective} recomputed: {'n/a' if value is None else f'{value:.10g}'}")
    if opt.certified:
        click.echo(f"optimality: certified (gap {opt.gap:.3g}; best {opt.best:.10g})")
    else:
        why = "policy rows or soft thresholds" if opt.best is None and objective in _CERTIFIABLE else "no certificate"
        click.echo(f"feasible, optimality not certified ({why})")
    return 0


_CERTIFIABLE = ("maxmin", "leximin", "min-cost", "min-shortfall", "max-mean", "min-range")


def _spend_line(vr: VerifyRound, t: np.ndarray, verdict: Verdict) -> str:
    """--spend all, the allocation passing: the budget paid out, or why the rest is not."""
    left = verdict.checks.get("unspent", 0.0)
    if not left > vr.tol().money:
        return "spend all: the whole budget is paid out"
    lift = level_lift(vr, t, left)
    if not math.fsum(lift) > vr.tol().money:
        return f"spend all: {left:,.6g} {vr.unit} left, justified: every region is at its max_transfer"
    plain = dataclasses.replace(vr, spend_all=False)
    broken = sorted({v.constraint for v in verify(plain, t + lift, verdict.objective_recomputed).violations})
    return (f"spend all: {left:,.6g} {vr.unit} left, justified: paying it out (every level raised alike) "
            f"breaks {', '.join(broken) or 'the objective'}")
