"""owa on the chain form: max h(pi).L over order cones until the certificate holds
(min -OWA = P_G with G = -V), each LP a warm dual-simplex re-solve."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from models import fairness as fm
from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import SolverError
from optimizer.core.solution import LPSolution, Run
from optimizer.engine.drivers.common import GINI_MAX_LPS, Build, levels, scaled_model
from optimizer.engine.highs import HighsModel, hold_and_minimise, solve_lp
from optimizer.fast.chain_certificates import GINI_CERT_TOL, ordered_chain_certificate


@dataclass
class _Chain:
    """The state of the order-cone iteration."""
    d: RegionData
    spec: ObjectiveSpec
    build: Build
    lp: LinearProgram
    build_seconds: float
    time_limit: float | None
    lps: int = 0
    seconds: float = 0.0
    iters: int = 0
    reorders: int = 0
    basis: object = None

    def solve_at(self, order: np.ndarray) -> tuple[LPSolution, HighsModel, float]:
        if self.lps:
            tb = time.perf_counter()
            self.lp = self.build(replace(self.d, options={**self.d.options, "owa_order": order}),
                                 self.spec.name)
            self.build_seconds += time.perf_counter() - tb
        model, sigma = scaled_model(self.lp, "simplex", self.time_limit, self.basis)
        s = model.run()
        self.lps += 1
        self.seconds += s.seconds
        self.iters += s.iterations
        return s, model, sigma

    def certify(self, s: LPSolution, sigma: float, order: np.ndarray) -> tuple[bool, np.ndarray]:
        lay, d = self.lp.layout(), self.d
        # maximisation: HiGHS's duals are d(objective)/d(rhs), <= 0 on binding >= rows
        nu = -s.row_dual[lay["rows:owa_chain"]] / sigma if d.n > 1 else np.zeros(0)
        level = levels(d, s.x, lay["transfer"])
        gscale = float(np.abs(fm.owa_cut(d, order)).max()) + float(d.weight.max())
        V = fm.owa_V(d)
        ok, order, _ = ordered_chain_certificate(level, d.weight, order, nu, GINI_CERT_TOL * gscale,
                                                 lambda b: -V(b))
        return ok, order


def owa_chain_run(data: RegionData, spec: ObjectiveSpec, build: Build, tie_break: bool,
                  time_limit: float | None, t0: float) -> Run:
    d = replace(data, options={**data.options, "owa_order": fm.owa_order(data)})
    lp = build(d, spec.name)
    st = _Chain(d, spec, build, lp, time.perf_counter() - t0, time_limit)
    lay = lp.layout()
    tcol = lay["transfer"]
    order = d.options["owa_order"]
    while True:
        s, model, sigma = st.solve_at(order)
        if s.status == "infeasible" and st.lps == 1 and d.n > 1:
            # the starting cone cuts off every feasible point: start from the min-mad optimum's order
            mad, _ = solve_lp(build(data, "min-mad"), "simplex", None, time_limit=time_limit)
            st.seconds += mad.seconds
            if mad.status != "optimal":
                return Run(mad, None, lay, st.build_seconds, {"owa_form": "chain", "owa_lps": st.lps})
            order = np.argsort(levels(d, mad.x, tcol), kind="stable")
            continue
        if s.status != "optimal":
            if st.lps == 1:
                return Run(s, None, lay, st.build_seconds, {"owa_form": "chain", "owa_lps": st.lps})
            raise SolverError(f"owa: HiGHS status '{s.status}' on chain LP {st.lps}")
        st.basis = model.get_basis()
        ok, order = st.certify(s, sigma, order)
        if ok:
            break
        st.reorders += 1
        if st.lps >= GINI_MAX_LPS:
            raise SolverError(f"owa: chain certificate not reached after {st.lps} LPs")
    return _finish(st, s, model, sigma, tie_break and spec.tie_break, lay)


def _finish(st: _Chain, s: LPSolution, model: HighsModel, sigma: float, tie_break: bool, lay) -> Run:
    lp = st.lp
    first, second = s, None
    if tie_break:
        cost = lp.cost * sigma
        value = float(np.dot(cost, s.x))
        hold_and_minimise(model, cost, value - 1e-12 * max(1.0, abs(value)), True, lay["transfer"])
        second = model.run("simplex")
        if second.status != "optimal":
            second = None
    first.objective = float(np.dot(lp.cost, first.x) + lp.offset)
    first.seconds, first.iterations = st.seconds, st.iters
    info = {"owa_form": "chain", "owa_lps": st.lps, "owa_reorders": st.reorders}
    return Run(first, second, lay, st.build_seconds, info)
