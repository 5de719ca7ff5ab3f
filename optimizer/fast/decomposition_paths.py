"""min-gini, owa and cvar on the bare core (hard thresholds) by the threshold decomposition
(optimizer/fast/decompose.py), accepted only when a KKT certificate proves the levels
optimal; the point is then checked feasible for the LP of record and reported as its
solution (budget dual exact, threshold duals not computed).

Scarcity (soft thresholds as caps, ``d.options["threshold_caps"]``, engine/soft.py): the LP
of record is the soft core ``L_r + s_r >= theta_r``, ``s_r >= 0`` with no cost on s and no
shortfall cap, and t_max already capped. Projecting s out leaves no threshold row at all
(any L is completed by s_r = max(0, theta_r - L_r)), so the feasible levels are the box
``(own + t_min) / need <= L <= (own + cap) / need`` and the budget row: the same bare core
with the thresholds at 0 (``core_of``). The same decomposition and the same KKT test
certify it; the reported point carries s_r = max(0, theta_r - L_r), and the threshold
duals are exactly 0 (a costless s_r >= 0 forces tau_r <= 0 <= tau_r)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

import models.fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from optimizer.core.levels import least_transfer, level_of, shortfall_of
from optimizer.core.metrics import pairwise_ratio, pairwise_sum
from optimizer.core.solution import LPSolution, Run
from optimizer.fast.chain_certificates import GINI_CERT_TOL, gini_bare_certificate, gini_dual_scale, gini_own_scale
from optimizer.fast.cut_certificate import cut_certificate
from optimizer.fast.decompose import CutFunction, budget_price_hint, max_lorenz_bare, min_gini_bare
from optimizer.fast.held_set import held_set, held_set_gain
from optimizer.fast.record_check import chain_check, least_shortfalls, lorenz_check
from optimizer.fast.solutions import core_solution
from optimizer.fast.waterfill import leximin_fill

Build = Callable[[RegionData, str], LinearProgram]


def soft_blocks(d: RegionData) -> set[str]:
    """The extra layout blocks of the LP of record in soft mode: the shortfalls, and the
    held shortfall's row (shortfall-first)."""
    return {"shortfall"} if capped(d) else {"shortfall", "rows:shortfall_cap"} if held(d) else set()


HELD_TOL = 1e-7    # the held shortfall's possible gain, relative: optimizer/fast/certify.py's tolerance


def held(d: RegionData) -> bool:
    """Soft mode with the least shortfall S* held: sum_r w_r s_r <= eps = S* (1 + 1e-9) + 1e-9."""
    return bool(d.options.get("soft_thresholds")) and d.options.get("shortfall_cap") is not None


def held_gain_ok(d: RegionData, level: np.ndarray, lam_b: float, lin_per_w: float, slope: float,
                 tol: float, t: np.ndarray | None = None) -> bool:
    """Shortfall-first with the thresholds reachable (S* = 0): the LP of record is the hard
    one with its thresholds relaxed by a held shortfall sum_r w_r s_r <= eps. Its optimum is
    below the hard optimum v(0) by at most eps kappa, kappa an optimal multiplier of the held
    row at eps = 0 (v is convex in eps), and kappa = max_r tau_r / w_r with tau_r the hard
    threshold multipliers, nonzero only where the threshold row is active (L_r at theta_r,
    theta_r above the t_min level), and each at most the objective's slope in L_r:
    |lin_r| + lam_B n_r + w_r max |Q'|. So the certified hard point (s = 0, feasible) is
    accepted when eps (|lin| / w + max over those r of lam_B n_r / w_r + max |Q'|) <= tol,
    in objective units (eps ~ 1e-9 after scaling; tol: HELD_TOL relative, the tolerance
    certify.py and HiGHS hold the LP of record to). True when nothing is held.

    S* > 0 (the budget binds in the knapsack): ``level`` is the optimum of the held set
    (``core_of``, optimizer/fast/held_set.py); accepted when the point at transfers ``t``
    keeps the held row and ``held_set_gain`` is within tol."""
    if not held(d):
        return True
    eps = float(d.options["shortfall_cap"])
    hs = held_set(d)
    if hs is not None:
        if t is None or float(np.dot(d.weight, shortfall_of(d.threshold, d.own, d.need, t))) > eps:
            return False
        return held_set_gain(hs, level, t, lam_b, lin_per_w, slope) <= tol
    floor = level_of(d.own, d.need, d.t_min)
    active = (d.threshold > floor) & (level <= d.threshold + 1e-9 * np.maximum(1.0, np.abs(d.threshold)))
    if not active.any():
        return True               # no threshold binds: the held row cannot matter (kappa = 0)
    if np.any(d.weight[active] <= 0):
        return eps <= 0
    kappa = abs(lin_per_w) + float(np.max(lam_b * d.need[active] / d.weight[active])) + slope
    return eps * kappa <= tol


def held_note(d: RegionData) -> dict:
    """summary.json's ``held_set`` under shortfall-first with S* > 0: what was solved."""
    hs = held_set(d) if held(d) else None
    if hs is None:
        return {}
    free = 0 if hs.tie_fixed >= 0 else int((~hs.fixed).sum())
    return {"held_set": f"the least-shortfall split's set (optimizer/fast/held_set.py): {d.n - free} regions fixed "
                        f"by the knapsack's duals, {free} sharing the rest at the marginal ratio w/n = {hs.rho:.6g}; "
                        f"the held row's slack can gain at most {HELD_TOL:g} (relative)"}


def capped(d: RegionData) -> bool:
    """Scarcity mode: the thresholds are caps on t_max and bind no row."""
    return bool(d.options.get("threshold_caps"))


def core_of(d: RegionData) -> RegionData:
    """The bare core whose box and KKT test certify ``d``'s LP of record: ``d`` itself
    (hard thresholds), under scarcity caps ``d`` with the thresholds at 0, under
    shortfall-first with S* > 0 the held set at eps = S* (optimizer/fast/held_set.py; its
    slack is bounded by ``held_gain_ok``)."""
    if capped(d):
        return replace(d, threshold=np.zeros(d.n))
    hs = held_set(d) if held(d) else None
    return d if hs is None else hs.core


def point_x(lp: LinearProgram, lay: dict[str, slice], d: RegionData, t: np.ndarray) -> np.ndarray:
    """The LP of record's columns for transfers ``t``: the transfers and, in soft mode, the
    least shortfalls max(0, theta - L)."""
    x = np.zeros(lp.num_col)
    x[lay["transfer"]] = t
    if "shortfall" in lay:
        x[lay["shortfall"]] = shortfall_of(d.threshold, d.own, d.need, t)
    return x


def zero_threshold_duals(sol: LPSolution, lay: dict[str, slice], d: RegionData) -> None:
    """Under scarcity caps the threshold rows' duals are exactly 0 (module docstring)."""
    if capped(d) and "rows:threshold" in lay:
        sol.row_dual[lay["rows:threshold"]] = 0.0


def level_box(d: RegionData) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The bare core in level space: lo = max(threshold, (own + t_min) / need) <= L <= hi =
    (own + t_max) / need, and the least transfers (money) that reach lo; None when the
    thresholds cannot all be met (the LP path then diagnoses the instance)."""
    lo = np.maximum(level_of(d.own, d.need, d.t_min), d.threshold)
    hi = level_of(d.own, d.need, d.t_max)
    least = np.minimum(least_transfer(d.threshold, d.own, d.need, d.t_min), d.t_max)
    if np.any(lo > hi + 1e-12 * np.maximum(1.0, np.abs(hi))) or \
            math.fsum(least) > d.budget * (1 + 1e-12) + 1e-12:
        return None
    return np.minimum(lo, hi), hi, least   # (a threshold met exactly at a cap, to rounding)


def reported(d: RegionData, level: np.ndarray, lo: np.ndarray, least: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(transfers, levels) of the decomposition's levels within the transfer bounds: what
    is reported is what is certified. A transfer is the least one plus n_r (L_r - lo_r):
    exactly the least where L_r = lo_r, where ``L_r n_r - own_r`` rounds by ulp(own_r) (a
    positive 1e-10 of noise at a budget of 0 is an overspend)."""
    t = np.clip(least + d.need * (level - lo), d.t_min, d.t_max)
    return t, level_of(d.own, d.need, t)


SPEND_RTOL = 1e-9   # float rounding of a sum of n transfers, relative to the money they move


def keeps_budget(d: RegionData, t: np.ndarray) -> bool:
    """The budget row to float rounding of the money moved, not only to the LP of record's
    absolute 1e-7 (solver units): beside needs of 1e-7 that lets a level move by 1, so an
    overspend the certificates accept still fails the post-solve check (seed 101)."""
    return math.fsum(t) - d.budget <= SPEND_RTOL * max(math.fsum(np.abs(t)), abs(d.budget))


def leximin_start(d: RegionData, hi: np.ndarray, cut: CutFunction | None, lam: float | None = None
                  ) -> tuple[np.ndarray, float | None]:
    """The leximin levels (closed form, optimizer/fast/waterfill.py) and the budget price
    they suggest (``budget_price_hint``; lam: Dinkelbach's parameter, default their Gini)."""
    lex, z = leximin_levels(d)
    lam = pairwise_ratio(lex, d.weight) if lam is None and cut is None else (lam or 0.0)
    return lex, budget_price_hint(d.weight, d.need, lex, hi, z, lam, cut)


def leximin_levels(d: RegionData) -> tuple[np.ndarray, float]:
    """The leximin levels (closed form, optimizer/fast/waterfill.py) and their floor z."""
    t, z = leximin_fill(d.own, d.need, d.threshold, d.t_min, d.t_max, d.budget)
    return level_of(d.own, d.need, t), z


def gini_start(d: RegionData, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, float | None, float]:
    """Dinkelbach's first point: the leximin levels when their Gini is below that of the
    least levels ``lo`` (any feasible point gives an upper bound G(L) >= G*; the leximin
    split is usually within a few per cent of G*, so the first inner solve is near the
    last), with the budget price they suggest as the search's first bracket, and the
    point's Gini (each Gini once: a sort of n)."""
    lex, z = leximin_levels(d)
    g_lex, g_lo = pairwise_ratio(lex, d.weight), pairwise_ratio(lo, d.weight)
    if g_lex < g_lo:
        return lex, budget_price_hint(d.weight, d.need, lex, hi, z, g_lex, None), g_lex
    return lo, None, g_lo


def gini_run(data: RegionData, build: Build) -> Run | None:
    """min-gini on the bare core (hard thresholds): Dinkelbach over the threshold
    decomposition, accepted only if the bare-core KKT test (``gini_bare_certificate``)
    proves the levels optimal; the LP of record is then the chain LP over the order of
    those levels, at lambda = G*, whose rows are checked in vectors (record_check.py:
    ``build`` is not called)."""
    d = core_of(data)
    if d.options.get("gini_form", "auto") != "auto" or d.n < 2:
        return None
    t0 = time.perf_counter()
    box = level_box(d)
    if box is None:
        return None                       # infeasible: the LP path reports it
    lo, hi, least = box
    start, hint, g_start = gini_start(d, lo, hi)
    sol = min_gini_bare(d.weight, d.need, d.own, lo, hi, d.budget, start, lam_b_hint=hint, spend=math.fsum(least),
                        start_gini=g_start)
    t, level = reported(d, sol.level, lo, least)
    order = np.lexsort((np.arange(d.n), level))
    gscale = float(np.abs(fm.gini_cut(d, order)).max()) + float(d.weight.max())
    ok, _, _, lam_b, _ = gini_bare_certificate(
        level, d.weight, d.need, lo, hi, float(t.sum()) >= d.budget * (1 - 1e-9), sol.lam, sol.lam_b,
        order, GINI_CERT_TOL * gscale, money=np.abs(d.own) + np.abs(t))
    # (held shortfall: the Gini moves by at most the gain / mu, at most HELD_TOL)
    mu0 = float(np.dot(d.weight, level))
    if ok:
        tight = float(t.sum()) >= d.budget * (1 - 1e-9)
        ok, lam_b = gini_own_scale(level, d.weight, d.need, lo, hi, tight, sol.lam, lam_b, order, GINI_CERT_TOL,
                                   money=np.abs(d.own) + np.abs(t))
    if not ok or not held_gain_ok(data, level, lam_b, sol.lam, float(d.weight.sum()), HELD_TOL * mu0, t):
        return None
    if chain_check(data, t, order).violation > 1e-7 or not keeps_budget(d, t):
        return None
    mu = float(np.dot(d.weight, level))
    if mu <= 0:
        return None                       # every level 0: the Gini is a convention; the LP path decides
    # duals, reported as d Gini / d rhs: the budget's is -lam_B / mu (envelope theorem on
    # P - G* mu; 0 at Gini 0); threshold duals are not unique inside tied blocks and are not computed
    gini = pairwise_sum(level, d.weight) / mu
    first, lay = core_solution(t, data.need, gini, -lam_b * gini_dual_scale(gini, mu),
                               time.perf_counter() - t0, least_shortfalls(data, t))
    zero_threshold_duals(first, lay, data)
    info = {"solved_by": "Dinkelbach over the threshold decomposition, certified by the bare-core "
                         "KKT test (optimizer/fast/decompose.py)",
            "gini_form": "decomposition", "gini_dinkelbach_steps": sol.dinkelbach_steps,
            "gini_inner_solves": sol.inner_solves, "gini_lps": 0, "gini_lambda": sol.lam,
            "gini_certificate": "bare-core KKT",
            "duals": "budget: d Gini / d budget; threshold duals not computed on this path "
                     "(not unique inside tied blocks; --no-fast-path gives the chain LP's)"}
    return Run(first, first, lay, 0.0, info | held_note(data))


def quantiles(level: np.ndarray, w: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Levels eta_k maximising beta_k eta - sum_r w_r (eta - L_r)+ (the beta_k-quantiles),
    from one sort."""
    order = np.argsort(level, kind="stable")
    cum = np.cumsum(w[order])
    k = np.minimum(np.searchsorted(cum, np.asarray(beta, dtype=float) * cum[-1] * (1 - 1e-12)), level.size - 1)
    return level[order[k]]


def _lorenz_terms(d: RegionData, objective: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(beta_k, c_k) of sum_k c_k Lorenz(beta_k), or None when the path does not apply."""
    if objective == "owa":
        return fm.owa_terms(d) if fm.owa_form(d) == "slices" else None
    alpha = float(fm.option(d, "alpha"))
    if not 0.0 < alpha <= 1.0:
        return None                       # the LP path reports the bad option
    return np.array([alpha]), np.array([1.0 / alpha])


def lorenz_run(data: RegionData, build: Build, objective: str) -> Run | None:
    """owa (population slices) and cvar on the bare core: sum_k c_k Lorenz(beta_k) by the
    threshold decomposition, accepted only if ``cut_certificate`` proves the levels
    optimal; then the LP of record's point is checked feasible and its objective equal, on
    its rows in vectors (record_check.py: ``build`` is not called)."""
    d = core_of(data)
    terms = _lorenz_terms(d, objective) if d.n >= 2 else None
    if terms is None:
        return None
    beta, c = terms
    t0 = time.perf_counter()
    box = level_box(d)
    if box is None:
        return None
    lo, hi, least = box
    lex, hint = leximin_start(d, hi, CutFunction.lorenz(float(d.weight.sum()), beta, c), 0.0)
    sol = max_lorenz_bare(d.weight, d.need, d.own, lo, hi, d.budget, beta, c, hint, lex, math.fsum(least))
    t, level = reported(d, sol.level, lo, least)
    cert = cut_certificate(level, d.weight, d.need, lo, hi, float(t.sum()) >= d.budget * (1 - 1e-9),
                           np.zeros(d.n), CutFunction.lorenz(float(d.weight.sum()), beta, c),
                           lam_b_hint=sol.lam_b, money=np.abs(d.own) + np.abs(t))
    cut = CutFunction.lorenz(float(d.weight.sum()), beta, c)
    if not cert.ok or not held_gain_ok(data, level, cert.lam_b, 0.0, cut.magnitude() / max(cut.total, 1e-300),
                                       HELD_TOL * max(1.0, abs(sol.value)), t):
        return None
    eta = quantiles(level, d.weight, beta)
    chk = lorenz_check(data, t, level, eta, objective)
    if chk.violation > 1e-7 or abs(chk.value - sol.value) > 1e-9 * max(1.0, abs(chk.value)) or \
            not keeps_budget(d, t):
        return None
    first, lay = core_solution(t, data.need, chk.value, cert.lam_b, time.perf_counter() - t0,
                               least_shortfalls(data, t))
    zero_threshold_duals(first, lay, data)
    info = {"solved_by": "threshold decomposition, certified by the KKT test of "
                         "optimizer/fast/cut_certificate.py (optimizer/fast/decompose.py)",
            "decomposition_inner_solves": sol.inner_solves,
            "certificate": {"violation": cert.violation, "tolerance": cert.tol},
            "duals": "budget: d objective / d budget; threshold duals not computed on this path "
                     "(--no-fast-path gives the LP's)"}
    return Run(first, first, lay, 0.0, info | held_note(data))
