"""The verification LP of a group leximin stage (optimizer/fast/stage_verify.py): hand-solved
rounds where a region at the floor can or cannot rise in another optimum of the stage, and the
weak-duality bound it rests on (any multipliers give a valid bound; HiGHS's give a tight one)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import optimizer.fast.group_leximin as group_leximin
from models.lp import LinearProgram
from optimizer.core.groups import Group
from optimizer.core.policy import PolicyConfig
from optimizer.engine.highs import solve_lp
from optimizer.engine.solve import SolveOptions, solve
from optimizer.fast.stage_verify import weak_bound
from tests.policy_helpers import make_instance


def spied_round(monkeypatch, inst, chain: bool):
    """Solve ``inst`` by leximin, recording each stage's (group point, candidates, proved)."""
    seen = []
    real = group_leximin.verified

    def spy(gp, need, M, cand, solve_, tol):
        out = real(gp, need, M, cand, solve_, tol)
        seen.append((gp.level.copy(), gp.z, cand.copy(), out.copy()))
        return out
    monkeypatch.setattr(group_leximin, "verified", spy)
    res = solve(inst, SolveOptions(objective="leximin", policy=PolicyConfig(no_overtaking=chain),
                                   price_of_fairness=False))
    return res, seen


@pytest.mark.parametrize("chain", [False, True])
def test_members_that_can_trade_are_not_fixed(monkeypatch, chain):
    """Levels before 0.1, 0.2, 0.3, 0.3 (need 100 each), budget 110, group {r2, r3} at 0.75 on
    average. Stage 1: 90 goes into the group (150 - 60 own), 20 lifts r0 and r1 to 0.25 (the
    budget binds: neither can rise in any optimum). r2 and r3 share 1.5 of level: every split
    with both >= 0.3 is optimal for stage 1 (0.5 / 1.0 as well as 0.75 / 0.75), so neither is
    fixed there; the next stage makes them equal. Leximin (0.25, 0.25, 0.75, 0.75)."""
    inst = make_instance([10, 20, 30, 30], [100] * 4, budget=110.0, threshold=0.0,
                         groups=[Group("g", "union", ("r2", "r3"), min_level=0.75)])
    res, seen = spied_round(monkeypatch, inst, chain)
    assert "group leximin" in res.summary["solved_by"]
    np.testing.assert_allclose(res.allocation["level_after"].to_numpy(dtype=float), [0.25, 0.25, 0.75, 0.75],
                               atol=1e-9)
    level, z, cand, proved = seen[0]
    assert z == pytest.approx(0.25, abs=1e-12)
    assert not proved[2] and not proved[3]            # they can trade level: not fixed in stage 1
    assert res.summary["leximin_stages"] >= 2


def test_what_is_proved_keeps_its_stage_level(monkeypatch):
    """test_group_leximin's round by hand (leximin (0.25, 0.25, 0.7, 0.8)): every region the
    verification proves in a stage has that stage's level in the leximin answer."""
    inst = make_instance([10, 20, 30, 80], [100] * 4, budget=60.0, threshold=0.0,
                         groups=[Group("g", "union", ("r2", "r3"), min_level=0.75)])
    res, seen = spied_round(monkeypatch, inst, True)
    final = res.allocation["level_after"].to_numpy(dtype=float)
    np.testing.assert_allclose(final, [0.25, 0.25, 0.7, 0.8], atol=1e-9)
    for level, _, cand, proved in seen:
        np.testing.assert_allclose(final[proved & cand], level[proved & cand], atol=1e-7)


def small_lp() -> LinearProgram:
    """min -x0 - 2 x1  s.t.  x0 + x1 <= 4 (budget),  x1 - x0 <= 1,  x >= 0: optimum (1.5, 2.5), -6.5."""
    return LinearProgram(cost=np.array([-1.0, -2.0]), col_lower=np.zeros(2), col_upper=np.full(2, np.inf),
                         A=sp.csc_array(np.array([[1.0, 1.0], [-1.0, 1.0]])),
                         row_lower=np.array([-np.inf, -np.inf]), row_upper=np.array([4.0, 1.0]))


def test_weak_bound_by_hand():
    lp = small_lp()
    sol = solve_lp(lp)[0]
    assert sol.x == pytest.approx([1.5, 2.5])
    bound = weak_bound(lp, sol.row_dual, 0)
    assert bound <= -6.5 and bound == pytest.approx(-6.5, abs=1e-12)
    # any multipliers bound it from below (the infinite upper sides bounded by the budget row)
    for y in ([0.0, 0.0], [-1.0, 0.0], [-3.0, -1.0], [0.5, -0.2]):
        assert weak_bound(lp, np.array(y), 0) <= -6.5 + 1e-12
    assert weak_bound(lp, np.array([-1.5, -0.5]), 0) == pytest.approx(-6.5, abs=1e-12)
