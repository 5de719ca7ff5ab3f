"""Hand-solved stages of the group leximin (optimizer/fast/group_leximin.py): a degenerate stage
(its z equal to the previous floor: a region the previous stage could not prove sits at that
floor) is certified and fixes the region it finds blocking; a region at the floor that can rise
in another optimum of its stage, by trading level with a group member, is not fixed there."""

from __future__ import annotations

import numpy as np
import pytest

import optimizer.engine.solve as engine_solve
import optimizer.fast.group_leximin as group_leximin
from optimizer.core.groups import Group
from optimizer.core.policy import PolicyConfig
from optimizer.engine.growing_lp import GrowingLP
from optimizer.engine.solve import SolveOptions, solve
from tests.policy_helpers import make_instance


def round_of(monkeypatch, inst, chain: bool):
    """(the round's data, its leximin LP of record), as the engine hands them to the stages."""
    got = {}

    def grab(data, build):
        got["data"], got["lp"] = data, build(data, "leximin")
        return None                       # the LP stages answer this solve
    monkeypatch.setattr(engine_solve, "group_leximin_run", grab)
    solve(inst, SolveOptions(objective="leximin", policy=PolicyConfig(no_overtaking=chain), price_of_fairness=False))
    return got["data"], got["lp"]


@pytest.mark.parametrize("chain", [False, True])
def test_a_degenerate_stage_is_certified_and_fixes_the_region_it_blocks(monkeypatch, chain):
    """test_group_leximin's round by hand: levels before 0.1, 0.2, 0.3, 0.8 (need 100 each),
    budget 60, group {r2, r3} at 0.75 on average; leximin (0.25, 0.25, 0.7, 0.8), stage 1's floor
    0.25 holding r0 and r1. Suppose stage 1 proved only r0 (at 1e5, 9 small-need regions stayed
    unproved that way). Stage 2's optimum is the same floor: r1 cannot rise (the budget is spent,
    the group takes 40 of it whatever the split between r2 and r3). The stage must be
    certified at z = 0.25 -- with no-overtaking r0 and r1 are one block, and the routing used to
    send r1's demand down to r0's hold, leaving z's column unpriced -- and fix r1 at 0.25."""
    inst = make_instance([10, 20, 30, 80], [100] * 4, budget=60.0, threshold=0.0,
                         groups=[Group("g", "union", ("r2", "r3"), min_level=0.75)])
    data, lp = round_of(monkeypatch, inst, chain)
    lay = lp.layout()
    st = group_leximin.Stages(np.array([False, True, True, True]), np.array([0.25, 0.0, 0.0, 0.0]), [0.25], [1])
    found = group_leximin.stage(lp, lay, data, st, 0.25, GrowingLP(tolerance=1e-9))
    assert found is not None
    lp_k, x, y, gp = found
    assert gp.z == pytest.approx(0.25, abs=1e-12)
    np.testing.assert_allclose(gp.level[:2], [0.25, 0.25], atol=1e-12)     # r2 / r3: any split of 1.5
    fix = group_leximin.pinned(lp_k, lay, data, x, y, st.free)
    fix |= group_leximin.verified(gp, data.need, gp.M, st.free & ~fix & (np.abs(gp.level - gp.z) <= 1e-12),
                                  GrowingLP(tolerance=1e-9), group_leximin.LEVEL_TOL)
    assert fix[1]


@pytest.mark.parametrize("chain", [False, True])
def test_a_region_at_the_floor_that_can_trade_with_a_member_is_not_fixed(monkeypatch, chain):
    """Levels before 0.1, 0.1, 0.6 (need 100 each), budget 40, group {r1, r2} at 0.5 on average
    (L1 + L2 >= 1). Stage 1: z <= L0, L1 and L1 + L2 >= 1 with L2 >= 0.6 cost 100 z + 20 <= 40
    (r1 at z, r2 at 1 - z), so z* = 0.2, and every split of 1.0 between r1 and r2 with r1 in
    [0.2, 0.4] is optimal: r1 can rise by taking r2's level (the money stays in the group).
    At the optimum (0.2, 0.2, 0.8) r1 is a candidate at the floor: the verification must not fix
    it; r0 it must (the budget binds). Leximin (0.2, 0.4, 0.6), in two stages."""
    inst = make_instance([10, 10, 60], [100] * 3, budget=40.0, threshold=0.0,
                         groups=[Group("g", "union", ("r1", "r2"), min_level=0.5)])
    res = solve(inst, SolveOptions(objective="leximin", policy=PolicyConfig(no_overtaking=chain),
                                   price_of_fairness=False))
    assert "group leximin" in res.summary["solved_by"]
    np.testing.assert_allclose(res.allocation["level_after"].to_numpy(dtype=float), [0.2, 0.4, 0.6], atol=1e-9)
    assert res.summary["leximin_floors"][0] == pytest.approx(0.2, abs=1e-12)
    data, lp = round_of(monkeypatch, inst, chain)
    st = group_leximin.Stages(np.ones(3, dtype=bool), np.zeros(3))
    found = group_leximin.stage(lp, lp.layout(), data, st, 0.2, GrowingLP(tolerance=1e-9))
    assert found is not None
    gp = found[3]
    assert gp.z == pytest.approx(0.2, abs=1e-12)
    gp.level = np.array([0.2, 0.2, 0.8])           # the other end of the optimal face
    proved = group_leximin.verified(gp, data.need, gp.M, np.array([True, True, False]), GrowingLP(tolerance=1e-9),
                                    group_leximin.LEVEL_TOL)
    assert proved[0] and not proved[1]
