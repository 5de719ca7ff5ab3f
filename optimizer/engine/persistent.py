"""One built LP kept in HiGHS and re-solved point after point (the persistent sweep).

Each point changes the budget row's upper bound and the threshold rows' lower bounds
and re-runs dual simplex from the previous point's phase-1 basis. The tie-break (phase
2) adds the hold row and swaps the costs, then both are undone and the phase-1 basis
restored, so every point gives the answer of an independent ``solve``."""

from __future__ import annotations

import time

import numpy as np

from models.build import build_lp
from models.data import RegionData
from models.objectives import ObjectiveSpec
from optimizer.core.solution import LPSolution
from optimizer.engine.highs import INF, HighsModel, budget_binds_for_every_optimum, hold_and_minimise
from optimizer.prepare.policy_round import tie_break_columns


class PersistentModel:
    """The LP of ``spec`` on ``data`` (bare core), re-solved at new budgets and thresholds."""

    def __init__(self, spec: ObjectiveSpec, data: RegionData):
        self.spec = spec
        t0 = time.perf_counter()
        self.lp = build_lp(data, spec.name)
        self.build_seconds = time.perf_counter() - t0
        self.layout = self.lp.layout()
        self.model = HighsModel(self.lp, "simplex")
        # Devex pricing: dual steepest edge recomputes its weights (one BTRAN per row) on
        # every warm start, which cost more than the few hundred pivots between points.
        self.model.set_option("simplex_dual_edge_weight_strategy", 1)
        self.budget_row = self.layout["rows:budget"].start
        thr = self.layout["rows:threshold"]
        self.thr_rows = np.arange(thr.start, thr.stop, dtype=np.int32)
        self.thr_upper = self.lp.row_upper[thr]
        self.own_over_need = data.own / data.need
        self.basis = None
        self.basis2 = None    # phase-2 basis (with the hold row) of the previous point
        self.tcols = tie_break_columns(self.lp)

    def solve(self, budget_scaled: float, threshold: np.ndarray) -> tuple[LPSolution, LPSolution | None]:
        """(phase 1, phase 2 or None) at this budget (scaled) and these thresholds."""
        model, lp = self.model, self.lp
        model.set_row_bounds(self.budget_row, -INF, budget_scaled)
        model.set_rows_bounds(self.thr_rows, threshold - self.own_over_need, self.thr_upper)
        if self.basis is not None:
            model.set_basis(self.basis)
        first = model.run("simplex")
        if first.status != "optimal":
            self.basis = None
            model.clear_solver()
            return first, None
        self.basis = model.get_basis()
        if not self.spec.tie_break:
            return first, None
        if budget_binds_for_every_optimum(lp, first, self.tcols):
            return first, first   # every optimum spends the whole budget: no phase 2 needed
        return first, self._tie_break(first)

    def _tie_break(self, first: LPSolution) -> LPSolution:
        """Phase 2 as ``solve_lp``'s, then undone: the hold row dropped, the objective restored."""
        model, lp = self.model, self.lp
        hold_and_minimise(model, lp.cost, first.objective - lp.offset, lp.maximize, self.tcols)
        if self.basis2 is not None:   # dual feasible for the new point: dual simplex, few pivots
            model.set_basis(self.basis2)
        second = model.run("simplex")
        self.basis2 = model.get_basis() if second.status == "optimal" else None
        model.delete_row(lp.num_row)
        model.restore_objective()
        return second
