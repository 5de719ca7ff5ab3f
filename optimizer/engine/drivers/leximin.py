"""Leximin: a sequence of max-min LPs on one warm model. Each stage maximises the floor z
of the free regions, fixes the regions its duals prove saturated, and repeats; capped
regions that would saturate at their own maximum level first are fixed in one go."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models.data import RegionData
from models.lp import LinearProgram
from models.objectives import ObjectiveSpec
from optimizer.core.errors import SolverError
from optimizer.core.solution import LPSolution, Run
from optimizer.engine.drivers.common import Build
from optimizer.engine.highs import INF, HighsModel

DUAL_TOL = 1e-9   # a dual or reduced cost above this proves saturation
# A stage's floor z is read from a primal HiGHS accepts within its primal feasibility
# tolerance (1e-7 by default, absolute; the floor rows are in level units): z can sit up to
# ~1e-7 above what is exactly reachable, and on degenerate rounds (no-overtaking ties: dozens
# of stages at one floor) each stage reads it anew, up to 4e-8 high (issue 14: 10,000
# regions, hold-harmless 0.9 + no-overtaking, "leximin stage 31: HiGHS status 'infeasible'").
# A fixed region is held HOLD_TOL (relative) below its level, exact where HiGHS is; a stage
# declared infeasible is re-solved without presolve, then with tight tolerances, then with
# every hold lowered by HOLD_RELAX (twice the tolerance: each held row is then exactly
# satisfiable) before the failure stands.
HOLD_TOL = 1e-9
HOLD_RELAX = 2e-7
DEFAULT_TOLERANCE = 1e-7   # HiGHS's default feasibility tolerances, restored after a retry
RETRY_TOLERANCE = 1e-9   # a stage declared infeasible is re-solved with these feasibility tolerances


@dataclass
class _Leximin:
    d: RegionData
    lp: LinearProgram
    model: HighsModel
    free: np.ndarray
    floors: list[float] = field(default_factory=list)
    fixed_per_stage: list[int] = field(default_factory=list)
    retries: int = 0
    held: dict[int, float] = field(default_factory=dict)   # floor row -> its lower bound
    seconds: float = 0.0
    iters: int = 0
    probes: int = 0
    capped_jumps: int = 0

    def __post_init__(self) -> None:
        lay = self.lp.layout()
        self.tcol, self.zcol, self.frow = lay["transfer"], lay["floor"].start, lay["rows:floor_rows"]
        self.thr = lay.get("rows:threshold")
        self.hard_thr = not self.d.options.get("soft_thresholds", False)
        d = self.d
        self.inv = 1.0 / d.need
        self.base = d.own * self.inv
        # individual maximum level of each region (own bounds only): a region can never exceed it
        self.mcap = np.where(np.isfinite(d.t_max),
                             (d.own + np.where(np.isfinite(d.t_max), d.t_max, 0.0)) * self.inv, np.inf)
        self.rows_all = np.arange(self.frow.start, self.frow.stop, dtype=np.int32)

    def run(self) -> LPSolution:
        s = self.model.run("simplex")
        self.seconds += s.seconds
        self.iters += s.iterations
        return s

    def run_stage(self) -> LPSolution:
        """One stage; declared infeasible, it is re-solved without presolve (which can call a
        box narrower than its tolerances infeasible), then with tight feasibility tolerances,
        then with the holds relaxed (HOLD_RELAX), before the failure stands. Each retry
        starts cold (the basis is cleared); the options are restored after."""
        sol = self.run()
        if sol.status not in ("infeasible", "unbounded"):
            return sol
        self.retries += 1
        self.model.set_option("presolve", "off")
        for step in ("presolve off", "tight tolerances", "relaxed holds"):
            if step == "tight tolerances":
                self.set_tolerance(RETRY_TOLERANCE)
            elif step == "relaxed holds":
                self.set_tolerance(DEFAULT_TOLERANCE)
                self.relax_holds()
            self.model.clear_solver()
            sol = self.run()
            if sol.status == "optimal":
                break
        self.set_tolerance(DEFAULT_TOLERANCE)
        self.model.set_option("presolve", self.model.presolve)
        return sol

    def set_tolerance(self, tolerance: float) -> None:
        for key in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            self.model.set_option(key, tolerance)

    def probe(self, v: float) -> bool:
        """Can every free region reach min(v, its maximum level) at once (z held at v)?"""
        f = np.flatnonzero(self.free)
        tgt = np.minimum(v, self.mcap[f])
        lo = tgt - 1e-9 * np.maximum(1.0, np.abs(tgt)) - v - self.base[f]
        self.model.set_col_bounds(self.zcol, v, v)
        self.model.set_rows_bounds(self.rows_all[f], lo, np.full(len(f), INF))
        self.probes += 1
        return self.run().status == "optimal"

    def hold_level(self, r: int, level: float) -> None:
        """Region r leaves the floor row: its level stays >= ``level``."""
        row = self.frow.start + int(r)
        self.model.set_coeff(row, self.zcol, 0.0)
        self.held[row] = level - self.base[r]
        self.model.set_row_bounds(row, self.held[row], INF)

    def relax_holds(self) -> None:
        """Lower every hold by HOLD_RELAX of level (the last fallback of ``run_stage``)."""
        if self.held:
            rows = np.fromiter(self.held, dtype=np.int32, count=len(self.held))
            lo = np.fromiter(self.held.values(), dtype=float, count=len(self.held)) - HOLD_RELAX
            self.held = dict(zip(rows.tolist(), lo.tolist(), strict=True))
            self.model.set_rows_bounds(rows, lo, np.full(len(rows), INF))

    def cap_jump(self, z_prev: float) -> None:
        """Fix in one go every free capped region the sequential stages would saturate at
        its own maximum level before any other saturation (exact: see docs/objectives.md).
        Bisection over the sorted distinct maximum levels above the last floor."""
        mcap, free = self.mcap, self.free
        levels = np.unique(mcap[free & np.isfinite(mcap) & (mcap > z_prev)])
        if levels.size < 2:
            return
        lo_k, hi_k = -1, levels.size          # levels[lo_k] feasible, levels[hi_k] not
        while hi_k - lo_k > 1:
            mid = (lo_k + hi_k) // 2
            if self.probe(float(levels[mid])):
                lo_k = mid
            else:
                hi_k = mid
        f = np.flatnonzero(free)
        self.model.set_col_bounds(self.zcol, -INF, INF)
        self.model.set_rows_bounds(self.rows_all[f], -self.base[f], np.full(len(f), INF))
        if lo_k < 0:
            return
        jump = free & (mcap <= levels[lo_k])
        for r in np.flatnonzero(jump):
            self.hold_level(r, float(mcap[r] - 1e-9 * max(1.0, mcap[r])))
            self.model.set_col_bounds(self.tcol.start + int(r), self.d.t_max[r], self.d.t_max[r])
        free[jump] = False
        self.capped_jumps += int(jump.sum())

    def saturated(self, sol: LPSolution, z: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fix, at_floor, at_bound): the free regions this stage's duals prove saturated."""
        free, tcol = self.free, self.tcol
        t = sol.x[tcol]
        ydual = np.abs(sol.row_dual[self.frow])
        rc = np.abs(sol.col_dual[tcol])
        lo, hi = self.lp.col_lower[tcol], self.lp.col_upper[tcol]
        eps = 1e-9 * np.maximum(1.0, np.abs(t))
        at_floor = free & (ydual > DUAL_TOL)
        at_bound = free & ~at_floor & (rc > DUAL_TOL) & ((t <= lo + eps) | (t >= hi - eps))
        at_thr = np.zeros(self.d.n, dtype=bool)
        if self.thr is not None and self.hard_thr:
            at_thr = free & ~at_floor & ~at_bound & (np.abs(sol.row_dual[self.thr]) > DUAL_TOL)
        fix = at_floor | at_bound | at_thr
        if not fix.any():   # degenerate duals: fall back on the regions sitting at the floor
            level = self.base + self.inv * t
            fix = free & (level <= z + 1e-9 * max(1.0, abs(z)))
            at_floor = fix
        return fix, at_floor, at_bound

    def fix_stage(self, sol: LPSolution) -> float:
        """Record the stage's floor and fix its saturated regions; returns the floor."""
        z = float(sol.x[self.zcol])
        t = sol.x[self.tcol]
        fix, at_floor, at_bound = self.saturated(sol, z)
        self.floors.append(z)
        self.fixed_per_stage.append(int(fix.sum()))
        zlow = z - HOLD_TOL * max(1.0, abs(z))
        level_now = self.base + self.inv * t
        lo, hi = self.lp.col_lower[self.tcol], self.lp.col_upper[self.tcol]
        for r in np.flatnonzero(fix):
            if at_floor[r]:
                self.hold_level(r, float(zlow))
            else:   # at a transfer bound or at its threshold: the level stays where it is
                self.hold_level(r, float(level_now[r] - HOLD_TOL * max(1.0, level_now[r])))
                if at_bound[r]:   # on the bound itself, not HiGHS's reading of it (within tolerance)
                    at = float(np.clip(t[r], lo[r], hi[r]))
                    self.model.set_col_bounds(self.tcol.start + int(r), at, at)
        self.free &= ~fix
        return z

    def read_out(self) -> LPSolution:
        """Every region is fixed: any point with all levels >= the fixed ones is the leximin
        vector (it is unique); one feasibility solve (z held at 0) reads it."""
        self.model.set_col_bounds(self.zcol, 0.0, 0.0)
        last = self.run_stage()
        if last.status != "optimal":
            raise SolverError(f"leximin final read-out: HiGHS status '{last.status}'")
        return last


def leximin_run(data: RegionData, spec: ObjectiveSpec, build: Build, time_limit: float | None,
                t0: float) -> Run:
    lp = build(data, spec.name)
    build_seconds = time.perf_counter() - t0
    lay = lp.layout()
    st = _Leximin(data, lp, HighsModel(lp, "simplex", 1, time_limit), np.ones(data.n, dtype=bool))
    first = last = None
    z_prev = -np.inf
    while st.free.any():
        if first is not None:
            st.cap_jump(z_prev)
            if not st.free.any():
                last = st.read_out()
                break
        sol = st.run_stage()
        if sol.status != "optimal":
            if first is None:
                return Run(sol, None, lay, build_seconds, {"leximin_stages": 0})
            raise SolverError(f"leximin stage {len(st.floors) + 1}: HiGHS status '{sol.status}'")
        first = first or sol
        last = sol
        z_prev = st.fix_stage(sol)
    assert first is not None and last is not None
    return _finish(st, first, last, lay, build_seconds)


def _finish(st: _Leximin, first: LPSolution, last: LPSolution, lay, build_seconds: float) -> Run:
    first.objective = st.floors[0]
    second = None
    if last is not first:
        second = last
        second.seconds, second.iterations = st.seconds - first.seconds, st.iters - first.iterations
    info = {"leximin_stages": len(st.floors), "leximin_floors": st.floors,
            "leximin_fixed_per_stage": st.fixed_per_stage,
            "leximin_probe_lps": st.probes, "leximin_stage_retries": st.retries,
            "leximin_fixed_at_cap_in_one_go": st.capped_jumps,
            "tie_break": "none needed: the leximin levels are unique"}
    return Run(first, second, lay, build_seconds, info)
