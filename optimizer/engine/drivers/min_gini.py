"""min-gini: Dinkelbach over lambda; at each lambda min P - lambda mu by one pairwise LP,
or by chain LPs over order cones until the certificate holds (``gini_chain_certificate``;
on the bare core the chain-dual-free ``gini_bare_certificate``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from models import fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import SolverError
from optimizer.core.metrics import pairwise_ratio, pairwise_sum
from optimizer.core.solution import LPSolution, Run
from optimizer.engine.drivers.common import GINI_MAX_LPS, Build, levels, scaled_model
from optimizer.engine.highs import HighsModel, hold_and_minimise, solve_lp
from optimizer.fast.chain_certificates import (
    GINI_CERT_TOL,
    GINI_ZERO,
    gini_bare_certificate,
    gini_chain_certificate,
    gini_dual_scale,
)
from optimizer.fast.decompose import min_gini_bare
from optimizer.fast.waterfill import leximin_fill

GINI_TOL = 1e-9   # Dinkelbach stops when F(lambda) >= -tol * mu
MAX_STEPS = 60


@dataclass
class _Dinkelbach:
    """The state of one min-gini solve: lambda, the current order cone and LP, counters."""
    d: RegionData
    spec: ObjectiveSpec
    build: Build
    time_limit: float | None
    lp: LinearProgram
    build_seconds: float
    lam: float = 0.0
    lam_set: bool = False   # lam = G(L) of some feasible L (so F(lam) <= 0)
    lps: int = 0
    steps: int = 0
    reorders: int = 0
    jumps: int = 0
    rejected: int = 0
    seconds: float = 0.0
    iters: int = 0
    basis: object = None
    pending: tuple | None = None   # (P, mu, safe order, basis) while the current order is a jump

    def __post_init__(self) -> None:
        d, lay = self.d, self.lp.layout()
        self.lay, self.tcol, self.w = lay, lay["transfer"], d.weight
        self.form = fm.gini_form(d)
        self.chain = self.form == "chain"
        self.order = d.options.get("gini_order")
        self.gini_jumps = d.options.get("gini_jumps", True)
        self.gini_inexact = d.options.get("gini_inexact", True)
        # bare core (budget, transfer bounds, hard thresholds or soft ones without the cap row,
        # no policy rows): the chain-dual-free certificate ``gini_bare_certificate``; option
        # gini_certificate = "duals" forces the chain-dual one (``gini_chain_certificate``)
        rows = {k[5:] for k in lay if k.startswith("rows:")}
        self.hard = "shortfall" not in lay
        self.bare = (self.chain and d.options.get("gini_certificate", "auto") != "duals"
                     and rows <= {"budget", "threshold", "gini_chain"}
                     and set(lay) - {"transfer", "shortfall"} == {"rows:" + r for r in rows})
        self.lo_lvl = self.hi_lvl = None
        if self.bare:
            lo_lvl = (d.own + d.t_min) / d.need
            self.lo_lvl = np.maximum(lo_lvl, d.threshold) if self.hard else lo_lvl
            self.hi_lvl = (d.own + d.t_max) / d.need

    # --- the starting cone ---
    def leximin_order(self) -> np.ndarray:
        """The order of the leximin levels (closed form on the bare core: always a feasible
        cone), ties by n_r / w_r descending (of two tied regions the one with the larger
        w_r / n_r wants up)."""
        d = self.d
        t_lex, _ = leximin_fill(d.own, d.need, d.threshold if self.hard else np.zeros(d.n), d.t_min,
                                d.t_max, d.budget)
        ratio = d.need / np.maximum(self.w, 1e-300)
        return np.lexsort((-ratio, np.round((d.own + t_lex) / d.need, 12)))

    def decomposition_order(self) -> np.ndarray | None:
        """Warm start from the threshold decomposition's optimum (optimizer/decompose.py):
        its order's cone contains that optimum and lambda starts at its Gini, so when it is
        optimal the first chain LP has F(lambda) = 0 and is certified at once; the LPs
        still decide (and give every dual) whatever the decomposition returned."""
        d, w = self.d, self.w
        lo0 = np.minimum(self.lo_lvl, self.hi_lvl)
        if not (float(np.dot(d.need, lo0) - d.own.sum()) <= d.budget
                and np.all(self.lo_lvl <= self.hi_lvl + 1e-12)):
            return None
        sol0 = min_gini_bare(w, d.need, d.own, lo0, self.hi_lvl, d.budget, lo0)
        self.lam, self.lam_set = pairwise_ratio(sol0.level, w), True
        return np.lexsort((np.arange(d.n), sol0.level))

    def warm_start(self, user_order) -> None:
        start = self.d.options.get("gini_start", "decomposition")
        start_order = None
        if self.bare and user_order is None and start == "leximin":
            start_order = self.leximin_order()
        elif self.bare and self.hard and user_order is None and start == "decomposition":
            start_order = self.decomposition_order()
        if start_order is not None:
            self.order = start_order
            self.rebuild()

    # --- one lambda ---
    def rebuild(self) -> None:
        tb = time.perf_counter()
        options = {**self.d.options, "gini_lambda": self.lam, "gini_order": self.order}
        self.lp = self.build(replace(self.d, options=options), self.spec.name)
        self.build_seconds += time.perf_counter() - tb

    def new_lp(self) -> tuple[HighsModel, np.ndarray, float]:
        """The LP at (lambda, order), costs scaled to max |c| = 1 (HiGHS's dual tolerance
        is absolute; the weights are ~1/n). Warm: the previous basis, if any."""
        if self.lps:
            self.rebuild()
        model, sigma = scaled_model(self.lp, self.spec.algorithm, self.time_limit, self.basis)
        return model, self.lp.cost * sigma, sigma

    def min_mad_order(self) -> LPSolution | None:
        """The starting cone cuts off every feasible point (bounds, thresholds or policies
        cross the order): start instead from the order of the min-mad optimum, a feasible
        point. Returns the min-mad solution when it is not optimal."""
        d = self.d
        mad, _ = solve_lp(self.build(replace(d, options={**d.options}), "min-mad"), "simplex", None,
                          time_limit=self.time_limit)
        self.seconds += mad.seconds
        if mad.status != "optimal":
            return mad
        self.order = np.argsort(levels(d, mad.x, self.tcol), kind="stable")
        return None

    def jump_rejected(self, level: np.ndarray | None) -> bool:
        """After a jump: keep it only if it lowered F(lambda); else back to the safe order."""
        p_prev, mu_prev, safe, safe_basis = self.pending
        f_prev = p_prev - self.lam * mu_prev
        self.pending = None
        f_new, p_new = np.inf, 0.0
        if level is not None:
            p_new = pairwise_sum(level, self.w)
            f_new = p_new - self.lam * float(np.dot(self.w, level))
        if not f_new < f_prev - 1e-12 * max(abs(f_prev), p_new):
            self.order, self.basis = safe, safe_basis
            self.rejected += 1
            return True
        return False

    def certified(self, s: LPSolution, level: np.ndarray, sigma: float) -> bool:
        """The chain certificate at this LP's point; otherwise ``order`` becomes the next cone."""
        d, w, lay = self.d, self.w, self.lay
        gscale = float(np.abs(fm.gini_cut(d, self.order)).max()) + float(w.max())
        if not self.bare:
            nu = s.row_dual[lay["rows:gini_chain"]] / sigma if d.n > 1 else np.zeros(0)
            ok, self.order, _ = gini_chain_certificate(level, w, self.order, nu, GINI_CERT_TOL * gscale)
            return ok
        slack = d.budget - float(s.x[self.tcol].sum())   # bare core: KKT without the chain duals
        lam_b = -float(s.row_dual[lay["rows:budget"]][0]) / sigma
        ok, self.order, _, _, jump = gini_bare_certificate(
            level, w, d.need, self.lo_lvl, self.hi_lvl, slack <= 1e-8 * max(1.0, abs(d.budget)), self.lam,
            lam_b, self.order, GINI_CERT_TOL * gscale, d.options.get("gini_resort", "split"),
            money=np.abs(d.own) + np.abs(s.x[self.tcol]))
        if not ok and jump is not None and self.gini_jumps:
            self.pending = (pairwise_sum(level, w), float(np.dot(w, level)), self.order, self.basis)
            self.order = jump
            self.jumps += 1
        return ok

    def lower_lambda(self, level: np.ndarray) -> None:
        """Inexact Dinkelbach (bare core): any feasible L gives F(G(L)) <= 0, so lambda may
        drop to G(L) of an uncertified LP point (or start there if still unset)."""
        if self.bare and self.gini_inexact:
            g_now = pairwise_ratio(level, self.w)
            if not self.lam_set or g_now < self.lam * (1 - 1e-12):
                self.lam, self.lam_set = g_now, True

    def solve_at(self) -> tuple[LPSolution, HighsModel, np.ndarray]:
        """min P - lam mu: one LP (pairwise) or chain LPs until certified."""
        while True:
            model, cost, sigma = self.new_lp()
            s = model.run()
            self.lps += 1
            self.seconds += s.seconds
            self.iters += s.iterations
            if self.chain and s.status == "infeasible" and self.lps == 1:
                mad = self.min_mad_order()
                if mad is not None:
                    return mad, model, cost
                continue
            level = levels(self.d, s.x, self.tcol) if s.status == "optimal" else None
            if self.pending is not None and self.jump_rejected(level):
                continue
            if s.status != "optimal" or not self.chain:
                return s, model, cost
            self.basis = model.get_basis()
            if self.certified(s, level, sigma):
                return s, model, cost
            self.reorders += 1
            self.lower_lambda(level)
            if self.lps >= GINI_MAX_LPS:
                raise SolverError(f"min-gini: chain certificate not reached after {self.lps} LPs")

    # --- Dinkelbach and the result ---
    def dinkelbach(self) -> tuple[LPSolution, HighsModel, np.ndarray, bool]:
        """Iterate lambda to G*; the last LP, its model and scaled cost, and whether it is optimal."""
        first = None
        while True:
            sol, model, cost = self.solve_at()
            if sol.status != "optimal":
                if first is None:
                    return sol, model, cost, False
                raise SolverError(f"min-gini: HiGHS status '{sol.status}' at lambda = {self.lam}")
            first = sol
            self.steps += 1
            level = levels(self.d, sol.x, self.tcol)
            p, mu = pairwise_sum(level, self.w), float(np.dot(self.w, level))
            if p <= GINI_ZERO * mu:                                       # Gini 0 reached: optimal
                break
            if self.lam_set and p - self.lam * mu >= -GINI_TOL * mu:     # F(lambda_k) = 0: lambda_k = G*
                break
            if self.steps > MAX_STEPS:
                raise SolverError(f"min-gini: Dinkelbach did not converge in {self.steps} steps")
            self.lam, self.lam_set = p / mu, True
        return first, model, cost, True

    def finish(self, first: LPSolution, model: HighsModel, cost: np.ndarray, tie_break: bool) -> Run:
        second = None
        if tie_break:
            # hold the last LP's objective (on the chain form: within the certified cone, where
            # P = g(pi).L, so every point kept is Gini-optimal) and spend the least
            value = float(np.dot(cost, first.x))   # scaled objective without offset
            hold_and_minimise(model, cost, value + 1e-12 * max(1.0, abs(value)), False, self.tcol)
            second = model.run("simplex")
            if second.status != "optimal":
                second = None
        level = levels(self.d, (second or first).x, self.tcol)
        mu = float(np.dot(self.w, level))
        # every level 0 (no own revenue, nothing to spend): all equal, Gini 0
        first.objective = pairwise_sum(level, self.w) / mu if mu > 0 else 0.0
        # duals as d Gini / d rhs: the LP's are those of sigma (P - G* mu) (costs scaled to max
        # |c| = 1); by the envelope theorem dG*/db = (dual of P - G* mu) / mu (0 at Gini 0)
        cmax = float(np.abs(self.lp.cost).max()) if self.lp.num_col else 0.0
        per = (cmax if cmax > 0 else 1.0) * gini_dual_scale(first.objective, mu)
        first.row_dual, first.col_dual = first.row_dual * per, first.col_dual * per
        if second is not None:
            second.seconds, second.iterations = 0.0, 0
        first.seconds, first.iterations = self.seconds, self.iters
        return Run(first, second, self.lay, self.build_seconds, self.info())

    def info(self) -> dict:
        info = {"gini_form": self.form, "gini_dinkelbach_steps": self.steps, "gini_lps": self.lps,
                "gini_lambda": self.lam}
        if self.chain:
            info["gini_reorders"] = self.reorders
            info["gini_certificate"] = "bare-core KKT" if self.bare else "chain duals"
            if self.bare:
                info["gini_jumps"], info["gini_jumps_rejected"] = self.jumps, self.rejected
        return info


def min_gini_run(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool,
                 time_limit: float | None, t0: float) -> Run:
    d = replace(data, options={**data.options, "gini_lambda": 0.0})
    if fm.gini_form(d) == "chain":
        d = replace(d, options={**d.options, "gini_order": fm.gini_order(d)})
    lp = build(d, spec.name)
    st = _Dinkelbach(d, spec, build, time_limit, lp, time.perf_counter() - t0)
    st.warm_start(data.options.get("gini_order"))
    sol, model, cost, ok = st.dinkelbach()
    if not ok:
        return Run(sol, None, st.lay, st.build_seconds, {"gini_lps": st.lps})
    return st.finish(sol, model, cost, tie_break and spec.tie_break)
