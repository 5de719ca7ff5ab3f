"""The priced cut loop of the group-floor small LP (optimizer/fast/group_floors.py
``priced_loop``): when the max-z cut loop chases the members from one vertex of its optimal
face to the next and does not settle (1e5 stage 7 of the bench round: 42 rounds, then HiGHS
'error'), the loop is run with the spending priced at PRICE / (total need) beside -z. Its z must
be the max-min of the LP of record (checked against HiGHS on that LP) and the duals it returns
(one solve of the plain max-z LP with every tangent) must certify the least-spending point on
the LP of record, as the plain loop's do."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.engine.growing_lp import GrowingLP
from optimizer.engine.highs import solve_lp
from optimizer.fast.certify import certify
from optimizer.fast.group_cuts import cut_loop, first_cuts
from optimizer.fast.group_duals import close, record_duals
from optimizer.fast.group_floors import group_row_slices, group_stage, priced_loop, record_pair, reduce
from optimizer.fast.policy_path import envelope
from tests.test_group_floors import binding_case, maxmin_lp_of, policy_of, random_groups_round


def priced_and_plain(lp, lay, d):
    """(priced z, priced duals, plain z, the plain group point) on the round's small LP, or None."""
    env = envelope(lp, lay, d, "rows:threshold" in lay)
    if env is None or np.any(env.M > env.U):
        return None
    found = reduce(lp, lay, env, d)
    if found is None:
        return None
    red, small, _ = found
    red.cut_tol = 1e-13
    solve = GrowingLP(tolerance=1e-9)
    cuts = first_cuts(red, float(env.M.min()), env.M)
    first, duals = priced_loop(small, red, cuts, solve, d.need)
    plain = cut_loop(small, red, first_cuts(red, float(env.M.min()), env.M), GrowingLP(tolerance=1e-9))
    gp = group_stage(lp, lay, env, d, float(env.M.min()), GrowingLP(tolerance=1e-9), None, 1e-13)
    if first is None or plain is None or gp is None:
        return None
    return float(first.x[0]), duals, small, env, gp


def check(lp, lay, d) -> bool:
    got = priced_and_plain(lp, lay, d)
    if got is None:
        return False
    z, duals, small, env, gp = got
    record = solve_lp(lp)[0]
    assert record.status == "optimal"
    assert z == pytest.approx(record.objective, rel=1e-9, abs=1e-9)        # the LP of record's max-min
    rows = np.concatenate([np.arange(s.start, s.stop) for s in group_row_slices(lay)])
    yy = record_duals(lp, lay, d, duals, rows, small.num_row)
    at_z = close(gp.level, gp.z)
    plain = certify(lp, gp.x, record_pair(lp, lay, env, d, gp.level, at_z, gp.yy.copy())).ok
    priced = certify(lp, gp.x, record_pair(lp, lay, env, d, gp.level, at_z, yy)).ok
    assert priced or not plain            # its duals certify the point wherever the plain loop's do
    return True


def test_priced_loop_on_the_binding_case():
    """Five regions in a chain, a group {r0, r4} at 0.8 on average that binds (test_group_floors)."""
    lp, lay, d, _ = binding_case()
    assert check(lp, lay, d)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.booleans(), st.booleans(), st.sampled_from([0.0, 0.02, 0.1]))
def test_priced_loop_gives_the_lps_max_min_and_certified_duals(seed, overlap, chain, hold, lift):
    inst, rng = random_groups_round(seed, overlap, lift)
    try:
        lp, lay, d, _ = maxmin_lp_of(inst, policy_of(rng, chain, hold))
    except InfeasibleError:          # a round the policy makes infeasible: nothing to compare
        return
    check(lp, lay, d)


def test_priced_loop_engages():
    """Not vacuous: most random rounds with binding group rows reach the comparison."""
    done = feasible = 0
    for seed in range(40):
        inst, rng = random_groups_round(seed, seed % 2 == 0, 0.05)
        try:
            lp, lay, d, _ = maxmin_lp_of(inst, policy_of(rng, True, seed % 3 == 0))
        except InfeasibleError:
            continue
        feasible += 1
        done += check(lp, lay, d)
    assert feasible >= 5 and done >= 0.8 * feasible, (done, feasible)
