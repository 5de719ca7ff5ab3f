"""``--spend all``: the whole pool paid out (issue 11, point 2).

The objective is optimised first (``solve``); ``spend_surplus`` then distributes what is
left, S = B - sum_r T*_r, on top of that optimum without worsening it, by one rule:

* ``maxmin`` (default): lift the lowest levels further (water-filling on top of the optimum):
  e_r = clip(z need_r - own_r - T*_r, 0, room_r), z the common level with sum e = S;
* ``proportional``: in proportion to fiscal need, e_r = clip(s need_r, 0, room_r) (every level
  rises by the same s until a region reaches its cap);
* ``per-capita``: equal per head, e_r = clip(s pop_r, 0, room_r);

room_r = max_transfer_r - T*_r. Every rule is e_r = clip(s a_r - b_r, 0, room_r) with a_r > 0,
so sum e is continuous and nondecreasing in s; ``fill`` finds s by bisection and interpolates
the last step exactly (the rule's closed form).

How the surplus is spent depends on the round, so that no bound, policy row or objective
is given up:

* bare core (no policy rows) and an objective that never worsens when a level rises
  (maxmin, leximin, max-mean, min-shortfall, log-welfare) or min-cost (whose value stays the
  least cost of meeting the thresholds; the surplus is reported beside it): the closed form;
  only the caps can block it;
* policy rows, or an objective given by one LP (min-range, min-mad, owa, cvar): an LP stage.
  Stage A: max sum_r T_r subject to every row of the round's LP, T >= T* and, for an objective
  that can worsen, its value held at the optimum (c'x <= v*, as the tie-break holds it);
  stage B: with sum T >= the stage-A total, the nearest allocation to the rule's closed form
  (least sum_r |T_r - target_r|; the target shares each budget row's amount by the rule).
  Stage A's duals name what blocks the rest;
* an objective solved by a sequence of LPs that can worsen (min-gini, owa in chain form):
  the largest fraction of the rule's closed form that passes the post-solve check.

The result is re-checked by the post-solve check (explain/verify.py) on the original data;
``summary["surplus"]`` = {rule, spent, unspent, blocked_by} (docs/schema.md).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.build import build_lp
from models.lp import Block, LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import UsageError
from optimizer.core.instance import SPEND_MODES, SURPLUS_RULES
from optimizer.core.metrics import level_metrics
from optimizer.core.result import Result
from optimizer.engine.finish import allocation_frame, binding_tags, core_optimality
from optimizer.engine.highs import solve_lp
from optimizer.engine.lastyear import change_summary
from optimizer.explain.objective_values import objective_value
from optimizer.explain.policy_checks import finish_policies
from optimizer.explain.verify import MAXIMISED, MONOTONE, VerifyExtras, require, verify, verify_round

BISECTIONS = 200
HOLD_SLACK = 1e-9   # relative slack on the held objective (the post-solve check allows 1e-6)
RULE_TEXT = {"maxmin": "lift the lowest levels to a common level (water-filling on top of the optimum)",
             "proportional": "in proportion to fiscal need (every level rises by the same amount)",
             "per-capita": "equal per head"}


def spend_mode(inst, opts) -> tuple[bool, str]:
    """(spend all?, surplus rule): the options' values (the fields, else ``spend``/``surplus``
    among the objective options: batch specs) over the instance's [budget] keys."""
    extra = getattr(opts, "objective_options", None) or {}
    spend = getattr(opts, "spend", None) or extra.get("spend") or inst.spend
    rule = getattr(opts, "surplus", None) or extra.get("surplus") or inst.surplus
    for key, value, known in (("spend", spend, SPEND_MODES), ("surplus", rule, SURPLUS_RULES)):
        if value not in known:
            raise UsageError(f"{key}: unknown value {value!r}; choose one of {', '.join(known)}")
    return spend == "all", rule


def rule_weights(rule: str, own: np.ndarray, need: np.ndarray, pop: np.ndarray, t: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the rule e_r = clip(s a_r - b_r, 0, room_r)."""
    if rule == "maxmin":
        return need, own + t
    if rule == "proportional":
        return need, np.zeros_like(need)
    if rule == "per-capita":
        return pop.astype(float), np.zeros_like(need)
    raise ValueError(f"unknown surplus rule '{rule}'")


def fill(a: np.ndarray, b: np.ndarray, room: np.ndarray, amount: float) -> np.ndarray:
    """e = clip(s a - b, 0, room) with sum e = min(amount, sum room): the rule's closed form."""
    if amount <= 0 or a.size == 0:
        return np.zeros_like(a, dtype=float)
    if math.fsum(room) <= amount:        # every region reaches its cap (all finite)
        return room.astype(float).copy()

    def share(s: float) -> np.ndarray:
        return np.clip(s * a - b, 0.0, room)
    lo = float(np.min(b / a))
    fin = np.isfinite(room)
    hi = float(np.max(b / a)) + amount / float(np.min(a))
    if fin.all():
        hi = min(hi, float(np.max((b + room) / a)))
    for _ in range(BISECTIONS):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if math.fsum(share(mid)) < amount else (lo, mid)
    e_lo, e_hi = share(lo), share(hi)
    s_lo, s_hi = math.fsum(e_lo), math.fsum(e_hi)
    frac = 0.0 if s_hi <= s_lo else (amount - s_lo) / (s_hi - s_lo)
    return e_lo + frac * (e_hi - e_lo)


def spend_surplus(prep, spec: ObjectiveSpec, opts, result: Result, extra: VerifyExtras) -> Result:
    """``result`` (the verified optimum of a prepared round) with the budget left over spent
    by the surplus rule as far as the round allows; unchanged without --spend all."""
    spend_all, rule = spend_mode(prep.inst, opts)
    if not spend_all:
        return result
    t0 = result.allocation["transfer"].to_numpy(dtype=float)
    left = prep.rd.budget - math.fsum(t0)
    tol = verify_round(prep.inst, prep.rd, spec.name, False, prep.hard, prep.scale, extra).tol().money
    info: dict[str, Any] = {"rule": rule, "rule_text": RULE_TEXT[rule],
                            "left_after_optimum": left if left > tol else 0.0}   # noise is not a figure
    if left <= tol:
        return _with_info(result, info | {"spent": 0.0, "unspent": 0.0, "blocked_by": None})
    linear = spec.driver == "lp" and not (spec.name == "owa" and prep.data.options.get("owa_form") == "chain")
    keeps = keeps_free(spec)
    x, layout = None, None
    if keeps and not prep.terms:
        t, blocked = _closed_form(prep, rule, t0, left)
    elif linear or keeps:
        t, blocked, x, layout = _lp_stage(prep, spec, rule, t0, result, hold=not keeps)
    else:
        t, blocked = _ray(prep, spec, rule, t0, left, result, extra)
    spent = math.fsum(t) - math.fsum(t0)
    unspent = max(0.0, prep.rd.budget - math.fsum(t))
    info |= {"spent": spent, "unspent": unspent if unspent > tol else 0.0,
             "blocked_by": blocked if unspent > tol else None}
    return _rebuild(prep, spec, result, t, extra, info, x, layout)


def surplus_text(info: dict, unit: str) -> str:
    """One line for the screen: what was left after the optimum, how it was paid out, what not."""
    if not info["left_after_optimum"]:
        return "spend all: the optimum already pays out the whole budget"
    head = (f"spend all: {info['left_after_optimum']:,.1f} {unit} left after the optimum; "
            f"{info['spent']:,.1f} paid out by the {info['rule']} rule ({info['rule_text']})")
    if info.get("unspent"):
        return head + f"; {info['unspent']:,.1f} unspent, blocked by {info['blocked_by']}"
    return head + "; the whole budget is paid out"


def _with_info(result: Result, info: dict) -> Result:
    return dataclasses.replace(result, summary=dict(result.summary) | {"surplus": info})


def _arrays(prep) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reg = prep.inst.regions
    return (reg["own_revenue"].to_numpy(dtype=float), reg["fiscal_need"].to_numpy(dtype=float),
            reg["population"].to_numpy(dtype=float))


def upper_bounds(prep) -> np.ndarray:
    """Each transfer's upper bound in the instance unit: max_transfer, and under --scarcity
    objective the threshold caps the round was solved with (prep.data, scaled)."""
    if prep.data.options.get("threshold_caps"):
        return prep.data.t_max * prep.scale
    return prep.rd.t_max


def _closed_form(prep, rule: str, t0: np.ndarray, left: float) -> tuple[np.ndarray, str | None]:
    own, need, pop = _arrays(prep)
    cap = upper_bounds(prep)
    room = np.where(np.isfinite(cap), np.maximum(0.0, cap - t0), np.inf)
    a, b = rule_weights(rule, own, need, pop, t0)
    e = fill(a, b, room, left)
    blocked = None
    if math.fsum(e) < left:
        blocked = ("the threshold caps of --scarcity objective (no region is lifted above its threshold while "
                   "another is below it) and max_transfer" if prep.data.options.get("threshold_caps")
                   else "max_transfer (every region is at its cap)")
    return t0 + e, blocked


def _ray(prep, spec: ObjectiveSpec, rule: str, t0: np.ndarray, left: float, result: Result,
         extra: VerifyExtras) -> tuple[np.ndarray, str | None]:
    """The largest fraction of the rule's closed form that passes the post-solve check with
    the objective held (an objective solved by a sequence of LPs: no hold row to add); what
    that leaves, by the proportional rule (levels raised alike: the direction the spend
    check of explain/verify.py tries)."""
    vr = verify_round(prep.inst, prep.rd, spec.name, spec.objective_unit == "money", prep.hard, prep.scale, extra)
    reported = result.summary["objective_value"]
    t, blocked = t0, None
    for r in dict.fromkeys((rule, "proportional")):
        rest = prep.rd.budget - math.fsum(t)
        if rest <= vr.tol().money:
            break
        t_full, blocked = _closed_form(prep, r, t, rest)
        t, why = _largest_step(vr, reported, t, t_full)
        blocked = why or blocked
    return t, blocked


def _largest_step(vr, reported, t0: np.ndarray, t1: np.ndarray) -> tuple[np.ndarray, str | None]:
    """t0 + lam (t1 - t0) for the largest lam in [0, 1] that keeps every check and the
    objective within HOLD_SLACK of ``reported`` (bisection), and the names of what the next
    step breaks (None when lam = 1)."""
    slack = HOLD_SLACK * max(1.0, abs(reported))

    def failures(lam: float) -> set[str]:
        t = t0 + lam * (t1 - t0)
        out = {v.constraint for v in verify(vr, t, None).violations if v.constraint != "optimality"}
        value = objective_value(vr.objective, t, (vr.own + t) / vr.need, vr.weight, vr.threshold, vr.options)
        if value is not None and (value < reported - slack if vr.objective in MAXIMISED else value > reported + slack):
            out.add(f"objective (spending more would worsen {vr.objective})")
        return out
    if not failures(1.0):
        return t1, None
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if not failures(mid) else (lo, mid)
    return t0 + lo * (t1 - t0), ", ".join(sorted(failures(hi)))


def _with_rows(lp: LinearProgram, name: str, rows: sp.csr_array, lower, upper) -> LinearProgram:
    k = rows.shape[0]
    A = sp.vstack([lp.A, rows], format="csc")
    block = Block(name, lp.num_row, lp.num_row + k)
    return dataclasses.replace(lp, A=A, row_lower=np.concatenate([lp.row_lower, np.broadcast_to(lower, (k,))]),
                               row_upper=np.concatenate([lp.row_upper, np.broadcast_to(upper, (k,))]),
                               row_blocks=[*lp.row_blocks, block])


def _stage_a(prep, spec: ObjectiveSpec, t0: np.ndarray, result: Result, hold: bool) -> LinearProgram:
    """The round's LP with T >= T* and (``hold``) the objective held: max sum T."""
    # without a hold only the rows matter (the cost is replaced): a sequence driver's
    # objective (leximin) is built as the maxmin LP, whose rows are the round's
    lp = prep.build(prep.data, _lp_name(spec, hold))
    tc = lp.col_block("transfer").slice
    lower = lp.col_lower.copy()
    lower[tc] = np.minimum(np.maximum(lower[tc], t0 / prep.scale), lp.col_upper[tc])
    lp = dataclasses.replace(lp, col_lower=lower)
    if hold:
        v = float(result.summary["objective_value"]) - lp.offset
        slack = HOLD_SLACK * max(1.0, abs(v))
        row = sp.csr_array(lp.cost.reshape(1, -1))
        lp = _with_rows(lp, "objective_held", row, v - slack if lp.maximize else -np.inf,
                        np.inf if lp.maximize else v + slack)
    cost = np.zeros(lp.num_col)
    cost[tc] = 1.0
    return dataclasses.replace(lp, cost=cost, maximize=True, offset=0.0)


def keeps_free(spec: ObjectiveSpec) -> bool:
    """The objective never worsens when a level rises (or is min-cost, reported beside)."""
    return spec.name in MONOTONE or spec.name == "min-cost"


def _lp_name(spec: ObjectiveSpec, hold: bool) -> str:
    return spec.name if hold or spec.driver == "lp" else "maxmin"


def _groups(lp: LinearProgram, n: int) -> list[np.ndarray]:
    """The transfer indices of each budget row (a phased round: one per year)."""
    if not lp.has_row_block("year_budget"):
        return [np.arange(n)]
    tc = lp.col_block("transfer").slice
    rows = lp.A.tocsr()[lp.row_block("year_budget").slice][:, tc]
    return [rows[[i]].tocoo().col for i in range(rows.shape[0])]


def _lp_stage(prep, spec: ObjectiveSpec, rule: str, t0: np.ndarray, result: Result, hold: bool):
    lp_a = _stage_a(prep, spec, t0, result, hold)
    first, _ = solve_lp(lp_a, "simplex")
    if first.status != "optimal":   # the held optimum is not reproducible within tolerance: keep T*
        return t0, f"objective (the LP with {spec.name} held could not spend more: {first.status})", None, None
    tc = lp_a.col_block("transfer").slice
    t_a = np.maximum(first.x[tc] * prep.scale, t0)
    own, need, pop = _arrays(prep)
    target = t0.copy()
    cap = upper_bounds(prep)
    room = np.where(np.isfinite(cap), np.maximum(0.0, cap - t0), np.inf)
    for g in _groups(lp_a, t0.size):
        a, b = rule_weights(rule, own[g], need[g], pop[g], t0[g])
        target[g] = t0[g] + fill(a, b, room[g], math.fsum(t_a[g]) - math.fsum(t0[g]))
    second = _stage_b(lp_a, target / prep.scale, float(np.sum(first.x[tc])))
    x = second.x if second.status == "optimal" else first.x
    t = np.maximum(x[tc] * prep.scale, t0)
    own_rows = {b.name for b in build_lp(prep.data, _lp_name(spec, hold=not keeps_free(spec)), ()).row_blocks}
    return t, _blockers(lp_a, first, spec, own_rows), x[:lp_a.num_col], lp_a.layout()


def _stage_b(lp: LinearProgram, target: np.ndarray, total: float):
    """min sum |T - target| with sum T >= total (less a hair): columns d >= |T - target|."""
    n, m = target.size, lp.num_col
    tc = lp.col_block("transfer").slice
    start = tc.start or 0
    eye_t = sp.csr_array((np.ones(n), (np.arange(n), start + np.arange(n))), shape=(n, m + n))
    eye_d = sp.csr_array((np.ones(n), (np.arange(n), m + np.arange(n))), shape=(n, m + n))
    A = sp.hstack([lp.A, sp.csc_array((lp.num_row, n))], format="csc")
    base = dataclasses.replace(lp, A=A, cost=np.concatenate([np.zeros(m), np.ones(n)]), maximize=False,
                               col_lower=np.concatenate([lp.col_lower, np.zeros(n)]),
                               col_upper=np.concatenate([lp.col_upper, np.full(n, np.inf)]),
                               col_blocks=[*lp.col_blocks, Block("deviation", m, m + n)])
    base = _with_rows(base, "above_target", eye_t - eye_d, -np.inf, target)
    base = _with_rows(base, "below_target", eye_t + eye_d, target, np.inf)
    total_row = sp.csr_array((np.ones(n), (np.zeros(n, dtype=np.int64), start + np.arange(n))), shape=(1, m + n))
    base = _with_rows(base, "spent", total_row, total - HOLD_SLACK * max(1.0, abs(total)), np.inf)
    second, _ = solve_lp(base, "simplex")
    return second


def _blockers(lp: LinearProgram, sol, spec: ObjectiveSpec, own_rows: set[str]) -> str | None:
    """What stage A's duals say stops the spending: the caps, the held objective and the
    policy row families with a dual (not the objective's own rows, ``own_rows``)."""
    names = []
    tc = lp.col_block("transfer").slice
    up = lp.col_upper[tc]
    at_cap = np.isfinite(up) & (sol.x[tc] >= np.where(np.isfinite(up), up, 0.0) - 1e-9 * np.maximum(1.0, np.abs(up)))
    if np.any(at_cap & (np.abs(sol.col_dual[tc]) > 1e-9)):   # not the T >= T* bounds
        names.append("max_transfer")
    for b in lp.row_blocks:
        if b.name in own_rows or b.name == "year_budget" or not np.any(np.abs(sol.row_dual[b.slice]) > 1e-9):
            continue
        names.append(f"objective (spending more would worsen {spec.name})" if b.name == "objective_held"
                     else b.name.replace("_", "-"))
    return ", ".join(names) or None


def surplus_tags(optimum: pd.DataFrame, t: np.ndarray, now: list[str]) -> list[str]:
    """The binding tags of the optimum (they carry its duals: a region held at its threshold by
    min-cost keeps `threshold` and its dual), plus `surplus` where the surplus added money; the
    bounds that bind only after it (max_transfer) are taken from ``now``."""
    t0 = optimum["transfer"].to_numpy(dtype=float)
    got = t - t0 > 1e-9 * max(1.0, float(np.abs(t).max(initial=0.0)))
    out = []
    for before, after, g in zip(optimum["binding"].fillna("").astype(str), now, got.tolist()):
        tags = [x for x in before.split(";") if x] if g else [x for x in after.split(";") if x]
        if g:
            tags += [x for x in after.split(";") if x in ("max_transfer",) and x not in tags] + ["surplus"]
        out.append(";".join(tags))
    return out


def _rebuild(prep, spec: ObjectiveSpec, result: Result, t: np.ndarray, extra: VerifyExtras, info: dict,
             x: np.ndarray | None, layout: dict | None) -> Result:
    """``result`` with transfers ``t``: re-checked (the objective value against the optimum's,
    min-cost's feasibility only), allocation.csv rebuilt by the one builder, tags, metrics."""
    money = spec.objective_unit == "money"
    vr = verify_round(prep.inst, prep.rd, spec.name, money, prep.hard, prep.scale,
                      dataclasses.replace(extra, spend_all=True))
    check = dataclasses.replace(vr, objective="", money_objective=False) if spec.name == "min-cost" else vr
    verdict = require(verify(check, t, None if spec.name == "min-cost" else result.summary["objective_value"]))
    inst, rd = prep.inst, prep.rd
    own, need, pop = _arrays(prep)
    level = (own + t) / need
    old = result.allocation
    floor = result.summary.get("min_level") if spec.name == "maxmin" else None
    a = allocation_frame(inst, rd.threshold, t, old["threshold_dual"].to_numpy(),
                         surplus_tags(old, t, binding_tags(t, level, rd, prep.hard, floor, prep.scale)))
    m = level_metrics(level, pop / pop.sum(), rd.threshold)
    tol = verdict.tolerance
    optimality = result.summary["verified"].get("optimality") if spec.name == "min-cost" else \
        core_optimality(vr, t, tol.money if money else tol.level).status
    s = dict(result.summary) | {
        "budget_used": math.fsum(t), "min_level": m["min_level"], "max_level": m["max_level"],
        "metrics_after": m, "regions_below_threshold": m["regions_below_threshold"],
        "budget_binding": info["unspent"] == 0.0, "surplus": info,
        "checks": {k: v for k, v in verdict.checks.items() if k != "objective_gap"},
        "verified": verdict.as_summary() | {"optimality": optimality}}
    if spec.name == "min-cost":
        s["verified"]["objective_reported"] = result.summary["objective_value"]
        s["verified"]["note"] = ("objective_value is the least cost of meeting the thresholds; "
                                 "the surplus is paid on top of it (surplus.spent)")
    change = change_summary(a["region_id"], t, a["prior_transfer"])
    if change is not None:
        s["change_vs_prior"] = change
    out = Result(a, s)
    if prep.terms and x is not None:
        out = finish_policies(out, prep.data, prep.terms, x, layout)
    return prep.pr.annotate(out)
