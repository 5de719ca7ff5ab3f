"""The price of fairness's max-mean reference when group rows bind: column generation over
the layers of optimizer/fast/policy_mean.py (optimizer/fast/group_mean.py) equals HiGHS on
the max-mean LP of record, or declines (None) and the LP answers; never a wrong value."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.core.groups import Group
from optimizer.core.policy import PolicyConfig
from optimizer.engine.highs import solve_lp
from optimizer.engine.price_of_fairness import MASTER_TOL, reference_data
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round, solve
from optimizer.fast.group_mean import policy_max_mean
from optimizer.fast.policy_mean import chain_max_mean
from optimizer.io.load import load_instance
from tests.policy_helpers import make_instance
from tests.run_folder_helpers import equalize
from tests.test_group_floors import policy_of, random_groups_round


def master_solve(small):
    return solve_lp(small, tolerance=MASTER_TOL)[0]


def reference_pairs(inst, policy):
    """(lp, data, hard, HiGHS's phase 1) for both threshold modes of the max-mean reference."""
    try:
        prep = prepare_round(inst, objective_spec("maxmin"), SolveOptions(objective="maxmin", policy=policy))
    except InfeasibleError:
        return []
    out = []
    for hard in (True, False):
        lp = prep.build(reference_data(prep.data, hard), "max-mean")
        out.append((lp, prep.data, hard, solve_lp(lp, "simplex", None)[0]))
    return out


def check(lp, data, hard, first) -> bool:
    """None or HiGHS's value; True when the column generation answered where the budget's
    bracket alone could not (a group row cuts the relaxation's optimum)."""
    value = policy_max_mean(lp, data, hard, master_solve)
    if first.status != "optimal":
        assert value is None
        return False
    if value is not None:
        assert value == pytest.approx(first.objective, rel=1e-7, abs=1e-9)
    return value is not None and chain_max_mean(lp, data, hard) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6), st.booleans(), st.booleans(), st.booleans(), st.sampled_from([0.0, 0.02, 0.1]))
def test_max_mean_with_group_rows_equals_the_lp(seed, overlap, chain, hold, lift):
    inst, rng = random_groups_round(seed, overlap, lift)
    for lp, data, hard, first in reference_pairs(inst, policy_of(rng, chain, hold)):
        check(lp, data, hard, first)


def test_engages_where_group_rows_bind():
    """The column generation answers most rounds whose group rows cut the bracket's point."""
    engaged = cut = 0
    for seed in range(40):
        inst, rng = random_groups_round(seed, seed % 2 == 0, 0.05)
        for lp, data, hard, first in reference_pairs(inst, policy_of(rng, True, True)):
            if first.status == "optimal" and chain_max_mean(lp, data, hard) is None:
                cut += 1
                engaged += check(lp, data, hard, first)
    assert cut >= 10 and engaged >= 0.8 * cut, (engaged, cut)


def test_hand_solved_group_floor():
    """own 10/30/50, need 100, population 100/100/200 (weights 1/4, 1/4, 1/2), budget 200, no
    thresholds, no-overtaking; group {r0} with min_level 0.5. Max-mean gives every won to r2
    (weight per need 1/200, the largest) except what the floor takes: r0 gets 40 (level 0.5),
    which lifts r1 (level 0.3 before, ranked above r0) to 0.5 too (20), and r2 gets the 140
    left (level 1.9): mean 0.5/4 + 0.5/4 + 1.9/2 = 1.2. The group row binds (without it the
    mean is 0.1/4 + 0.3/4 + 2.5/2 = 1.35)."""
    inst = make_instance([10.0, 30.0, 50.0], [100.0] * 3, pop=[100, 100, 200], budget=200.0, threshold=0.0,
                         groups=[Group("g", "union", ("r0",), min_level=0.5)])
    [(lp, data, hard, first), _] = reference_pairs(inst, PolicyConfig(hold_harmless=0.0, no_overtaking=True))
    assert chain_max_mean(lp, data, hard) is None
    value = policy_max_mean(lp, data, hard, master_solve)
    assert value == pytest.approx(first.objective, rel=1e-9)
    result = solve(inst, SolveOptions(objective="maxmin", policy=PolicyConfig(no_overtaking=True)))
    assert result.summary["price_of_fairness"]["max_mean_level"] == pytest.approx(1.2, rel=1e-9)


def grouped_folder(tmp_path, n: int = 400):
    """``equalize generate`` plus 3 groups whose floors sit 0.001 above their level in the
    policy round's maxmin answer (so the group rows bind), as bench/ratios.py builds them."""
    base, run = tmp_path / "inst", tmp_path / "run0"
    assert equalize("generate", "--regions", n, "--seed", "0", base).returncode == 0
    policy = ["--hold-harmless", "0.9", "--no-overtaking", "--thresholds", "auto"]
    assert equalize("solve", base, "-o", "maxmin", *policy, "--no-price-of-fairness", "--output", run).returncode == 0
    with open(base / "regions.csv", newline="") as f:
        regions = {r["region_id"]: r for r in csv.DictReader(f)}
    with open(run / "allocation.csv", newline="") as f:
        transfer = {r["region_id"]: float(r["transfer"]) for r in csv.DictReader(f)}
    picked = sorted(regions)[::7][:60]
    groups = {f"g{k}": picked[k::3] for k in range(3)}
    (base / "groups.csv").write_text("group_id,region_id,kind\n" + "".join(
        f"{g},{m},union\n" for g, ms in groups.items() for m in ms))
    with open(base / "instance.toml", "a") as f:
        for g, ms in groups.items():
            level = sum(float(regions[m]["own_revenue"]) + transfer[m] for m in ms) / \
                sum(float(regions[m]["fiscal_need"]) for m in ms)
            f.write(f"\n[groups.{g}]\nmin_level = {level + 0.001:.6f}\n")
    return base, policy


@pytest.mark.slow
def test_cli_price_of_fairness_with_binding_group_floors(tmp_path):
    """`equalize solve` reports the price of fairness on a round with binding group floors (it
    was "not computed" when the max-mean LP ran out of time at 1e5 regions), and its max-mean
    level is HiGHS's optimum of the max-mean LP of record."""
    base, policy = grouped_folder(tmp_path)
    out = tmp_path / "run"
    done = equalize("solve", base, "-o", "maxmin", *policy, "--output", out)
    assert done.returncode == 0, done.stderr
    pof = json.loads((out / "summary.json").read_text())["price_of_fairness"]
    assert pof["value"] is not None and "note" not in pof
    pairs = reference_pairs(load_instance(base), PolicyConfig(hold_harmless=0.9, no_overtaking=True))
    lp, data, hard, first = pairs[0]
    assert first.status == "optimal" and chain_max_mean(lp, data, hard) is None   # the group rows bind
    assert pof["max_mean_level"] == pytest.approx(first.objective, rel=1e-7)
    assert pof["value"] == pytest.approx((first.objective - pof["mean_level"]) / first.objective, rel=1e-6)
    assert np.isfinite(pof["value"]) and pof["value"] > 0


def test_a_wrong_master_never_gives_a_wrong_value():
    """The master LP answered by HiGHS on a different LP (its costs scrambled): the point may be
    anything, but the answer is None or HiGHS's value on the LP of record (the bracket's dual
    bound comes from the exact oracle, the point is checked on every row)."""
    rng = np.random.default_rng(5)

    def scrambled(small):
        small.cost = small.cost * rng.uniform(0.5, 1.5, small.cost.shape[0])
        return solve_lp(small, tolerance=MASTER_TOL)[0]

    cut = 0
    for seed in range(30):
        inst, prng = random_groups_round(seed, seed % 2 == 0, 0.05)
        for lp, data, hard, first in reference_pairs(inst, policy_of(prng, True, True)):
            if first.status == "optimal" and chain_max_mean(lp, data, hard) is None:
                cut += 1
                value = policy_max_mean(lp, data, hard, scrambled)
                assert value is None or value == pytest.approx(first.objective, rel=1e-7, abs=1e-9)
    assert cut >= 3
