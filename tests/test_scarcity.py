"""Scarcity by the chosen principle (--scarcity objective|shortfall-first; docs/objectives.md,
"Scarcity"): soft thresholds as caps, the objective decides who gets the scarce money.

Hand-solved rounds, hypothesis properties on random rounds (the scarcity level equals the
water-filling level of the budget computed here by bisection; no region above its threshold
while another is below; the budget never exceeded; the closed form equals the LP of record),
korea-17, and the CLI (solve, verify, compare, batch) on real files with the real HiGHS.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.core.errors import UsageError
from optimizer.core.policy import PolicyConfig
from optimizer.engine.solve import SolveOptions, objective_spec, prepare_round, safer_run, solve, solve_round
from optimizer.io.load import load_instance
from tests.policy_helpers import KOREA, TOY, make_instance, toy

SOFT = {"thresholds": "soft"}
FIRST = {"thresholds": "soft", "scarcity": "shortfall-first"}


def _solve(inst, objective="maxmin", options=SOFT, **kw):
    return solve(inst, SolveOptions(objective=objective, objective_options=options, **kw))


def _t(result) -> np.ndarray:
    return result.allocation["transfer"].to_numpy(dtype=float)


def _levels(result) -> np.ndarray:
    return result.allocation["level_after"].to_numpy(dtype=float)


# ---- hand-solved ---------------------------------------------------------------------------

def test_toy3_maxmin_lifts_the_poorest_to_the_common_level():
    # own 20/60/90, need 100, threshold .8: gaps 60/20/0 = 80 > budget 60. Water level of the
    # budget: (100z - 20) + (100z - 60) = 60 -> z = .7 (< .8): transfers 50/10/0.
    for fast in (True, False):
        r = _solve(toy(threshold=0.8), fast_path=fast)
        assert _t(r) == pytest.approx([50.0, 10.0, 0.0], abs=1e-6)
        assert r.summary["objective_value"] == pytest.approx(0.7, abs=1e-9)
        assert r.summary["scarcity"]["rule"] == "objective"
        assert r.summary["below_threshold_unfunded"] == []
    assert "solved_by" in _solve(toy(threshold=0.8)).summary   # the certified closed form


def test_toy3_shortfall_first_is_todays_knapsack():
    # weights = population shares .25/.5/.25: Beta's gap closes first (w/n = .005), Alpha gets the rest
    r = _solve(toy(threshold=0.8), options=FIRST)
    assert _t(r) == pytest.approx([40.0, 20.0, 0.0], abs=1e-6)
    assert r.summary["shortfall_held"] == pytest.approx(0.05, abs=1e-9)
    assert r.summary["scarcity"]["rule"] == "shortfall-first"


def test_toy3_max_mean_min_cost_and_min_shortfall():
    inst = toy(threshold=0.8)
    mean = _solve(inst, "max-mean")     # caps 60/20/0; Beta first (w/n .005), then Alpha: 40/20/0
    assert _t(mean) == pytest.approx([40.0, 20.0, 0.0], abs=1e-6)
    assert mean.summary["objective_value"] == pytest.approx(0.25 * 0.6 + 0.5 * 0.8 + 0.25 * 0.9, abs=1e-9)
    # the Pyomo model of record has the same caps (column bounds)
    assert _t(_solve(inst, "max-mean", engine="pyomo")) == pytest.approx([40.0, 20.0, 0.0], abs=1e-6)
    with pytest.raises(UsageError, match="under scarcity"):   # its one-LP tie-break is not the rule
        _solve(inst, "maxmin", engine="pyomo")
    cost = _solve(inst, "min-cost")     # falls back to min-shortfall, said in the summary
    assert _t(cost) == pytest.approx([40.0, 20.0, 0.0], abs=1e-6)
    assert "falls back to min-shortfall" in cost.summary["scarcity"]["note"]
    short = _solve(inst, "min-shortfall")
    assert _t(short) == pytest.approx([40.0, 20.0, 0.0], abs=1e-6)
    assert "shortfall_held" not in short.summary and "note" not in short.summary["scarcity"]


def test_per_region_thresholds_common_level_each_capped():
    # own 10/30/50, need 100, thresholds .9/.35/.9, budget 100 (gaps 80/5/40 = 125).
    # level_r = min(theta_r, max(L0_r, z)): Beta capped at .35 (5), Alpha and Gamma share the
    # rest: (100z - 10) + 5 + (100z - 50) = 100 -> z = .775: transfers 67.5/5/27.5.
    inst = make_instance([10, 30, 50], [100] * 3, budget=100, thresholds=[0.9, 0.35, 0.9])
    for objective in ("maxmin", "leximin"):
        for fast in (True, False):
            r = _solve(inst, objective, fast_path=fast)
            assert _t(r) == pytest.approx([67.5, 5.0, 27.5], abs=1e-6), (objective, fast)
            assert _levels(r) == pytest.approx([0.775, 0.35, 0.775], abs=1e-9)
    # maxmin's value is the least level (Beta at its cap); the split is the leximin one among
    # its optima (the least-spending one would spend 30 and leave 70 unspent)
    r = _solve(inst, "maxmin")
    assert r.summary["objective_value"] == pytest.approx(0.35, abs=1e-9)
    assert r.summary["budget_used"] == pytest.approx(100.0, abs=1e-6)


def test_retry_after_a_failed_check_keeps_the_scarcity_split():
    # the post-solve check's retry of the closed form is the leximin driver, not the
    # least-spending tie-break (which would spend 30 of 100 here)
    inst = make_instance([10, 30, 50], [100] * 3, budget=100, thresholds=[0.9, 0.35, 0.9])
    opts, spec = SolveOptions(objective="maxmin", objective_options=SOFT), objective_spec("maxmin")
    prep = prepare_round(inst, spec, opts)
    run = solve_round(prep, spec, opts)
    assert "solved_by" in run.info
    retry = safer_run(prep, spec, opts, run)
    assert retry.second.x[retry.layout["transfer"]] * prep.scale == pytest.approx([67.5, 5.0, 27.5], abs=1e-6)
    assert retry.first.objective == pytest.approx(0.35, abs=1e-9)


def test_max_transfer_caps_leave_money_unspent_and_name_the_region():
    # gaps 50/50 = 100 = budget, but Alpha may take only 10: thresholds unreachable; under the
    # caps Beta stops at its threshold, 40 stays unspent (documented), Alpha is named only if unfunded
    inst = make_instance([0, 0], [100, 100], budget=100, threshold=0.5)
    inst.regions.loc[0, "max_transfer"] = 10.0
    r = _solve(inst, options={"thresholds": "auto"})
    assert r.summary["thresholds"] == "soft"
    assert _t(r) == pytest.approx([10.0, 50.0], abs=1e-6)
    assert r.summary["budget_used"] == pytest.approx(60.0, abs=1e-6)
    inst.regions.loc[0, "max_transfer"] = 0.0
    r = _solve(inst, options={"thresholds": "auto"})
    assert r.summary["below_threshold_unfunded"] == ["r0"]


def test_policy_rows_raise_the_caps_instead_of_failing():
    # hold-harmless 1.0 of prior 30 for Gamma (above its threshold: cap 0): the cap rises to 30
    inst = make_instance([20, 60, 90], [100] * 3, prior=[0, 0, 30], budget=60, threshold=0.8)
    r = solve(inst, SolveOptions(objective="maxmin", objective_options=SOFT, policy=PolicyConfig(hold_harmless=1.0)))
    t = _t(r)
    assert t[2] == pytest.approx(30.0, abs=1e-6)
    # 30 left: Alpha (.2) rises to .5 before reaching Beta's .6, so it takes all of it
    assert t[:2] == pytest.approx([30.0, 0.0], abs=1e-6)
    assert r.summary["objective_value"] == pytest.approx(0.5, abs=1e-9)


def test_soft_with_reachable_thresholds_is_not_scarce():
    # threshold .5 is reachable with 60 (gap 30): no caps, maxmin lifts Alpha and Beta to .7 as in
    # hard mode (under caps Beta, already above .5, would get nothing and 30 would stay unspent)
    r = _solve(toy(threshold=0.5))
    assert _t(r) == pytest.approx([50.0, 10.0, 0.0], abs=1e-6)
    assert r.summary["scarcity"]["in_effect"].startswith("none: the thresholds can all be met")


def test_bad_scarcity_value_is_a_usage_error():
    with pytest.raises(UsageError, match="scarcity must be one of objective, shortfall-first"):
        _solve(toy(threshold=0.8), options={"thresholds": "soft", "scarcity": "first"})


# ---- random rounds ---------------------------------------------------------------------------

def _waterfill_by_bisection(own, need, threshold, budget) -> float:
    """z with sum_r n_r min(theta, max(L0_r, z)) - o_r = budget, by bisection (independent of
    optimizer/fast)."""
    lo, hi = 0.0, float(threshold)

    def spent(z):
        return float(np.sum(np.maximum(0.0, np.minimum(threshold, np.maximum(own / need, z)) * need - own)))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if spent(mid) <= budget else (lo, mid)
    return lo


rounds = st.integers(3, 8).flatmap(lambda n: st.tuples(
    st.lists(st.floats(1.0, 90.0), min_size=n, max_size=n),   # all own 0: min-gini 0/0 (a known gap)
    st.lists(st.floats(20.0, 200.0), min_size=n, max_size=n),
    st.lists(st.integers(1, 1000), min_size=n, max_size=n),
    st.floats(0.6, 1.2), st.floats(0.05, 0.95)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds)
def test_uniform_thresholds_give_the_water_filling_level(case):
    own, need, pop, theta, share = case
    own, need = np.array(own), np.array(need)
    gap = np.maximum(0.0, theta * need - own)
    if gap.sum() < 1e-3:
        return
    budget = float(share * gap.sum())
    inst = make_instance(own, need, pop=pop, budget=budget, threshold=theta)
    z = _waterfill_by_bisection(own, need, theta, budget)
    fast = _solve(inst, "maxmin")
    lp = _solve(inst, "maxmin", fast_path=False)
    for r in (fast, lp):
        level = _levels(r)
        assert level.min() >= min(z, (own / need).min()) - 1e-7     # no region below z
        assert np.allclose(level, np.maximum(own / need, np.minimum(theta, z)), atol=1e-6)
        assert _t(r).sum() <= budget * (1 + 1e-9) + 1e-9
    assert _t(fast) == pytest.approx(_t(lp), abs=1e-5 * max(1.0, budget))
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], abs=1e-8)
    lex = _solve(inst, "leximin", fast_path=False)     # the leximin LP sequence: the same split
    assert _t(lex) == pytest.approx(_t(fast), abs=1e-5 * max(1.0, budget))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds, st.lists(st.floats(0.5, 1.2), min_size=8, max_size=8))
def test_per_region_thresholds_closed_form_equals_the_lp(case, thetas):
    own, need, pop, _, share = case
    own, need = np.array(own), np.array(need)
    theta = np.array(thetas[:len(own)])
    gap = np.maximum(0.0, theta * need - own)
    if gap.sum() < 1e-3:
        return
    budget = float(share * gap.sum())
    inst = make_instance(own, need, pop=pop, budget=budget, thresholds=theta)
    fast, lp = _solve(inst, "maxmin"), _solve(inst, "maxmin", fast_path=False)
    assert "solved_by" in fast.summary and "solved_by" not in lp.summary
    assert _t(fast) == pytest.approx(_t(lp), abs=1e-5 * max(1.0, budget))
    assert fast.summary["objective_value"] == pytest.approx(lp.summary["objective_value"], abs=1e-8)
    # level_r = max(L0_r, min(theta_r, z)) with one z for all (z read off a region strictly inside)
    level = _levels(fast)
    inside = (level > own / need + 1e-7) & (level < theta - 1e-7)
    if inside.any():
        z = float(level[inside][0])
        assert np.allclose(level, np.maximum(own / need, np.minimum(theta, z)), atol=1e-6)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds, st.sampled_from(["min-gini", "max-mean", "min-range", "leximin", "cvar"]),
       st.lists(st.floats(0.5, 1.2), min_size=8, max_size=8))
def test_no_region_above_its_threshold_while_another_is_below(case, objective, thetas):
    own, need, pop, _, share = case
    own, need = np.array(own), np.array(need)
    theta = np.array(thetas[:len(own)])
    gap = np.maximum(0.0, theta * need - own)
    if gap.sum() < 1e-3:
        return
    budget = float(share * gap.sum())
    r = _solve(make_instance(own, need, pop=pop, budget=budget, thresholds=theta), objective)
    t, level = _t(r), _levels(r)
    assert t.sum() <= budget * (1 + 1e-9) + 1e-9
    lifted_above = (t > 1e-6) & (level > theta + 1e-7)
    assert not lifted_above.any(), (objective, t, level, theta)
    assert r.summary["verified"]["ok"]


# ---- korea-17 ------------------------------------------------------------------------------------

def test_korea17_at_09x_funds_gangwon_and_shortfall_first_reproduces_today():
    inst = load_instance(KOREA)
    budget = 0.9 * inst.budget
    r = _solve(inst, "maxmin", {"thresholds": "auto"}, budget=budget)
    lv = dict(zip(r.allocation.region_id, _levels(r)))
    assert lv["gangwon"] == pytest.approx(0.905612, abs=1e-6)
    assert all(v >= 0.905612 - 1e-6 for v in lv.values())
    old = _solve(inst, "maxmin", {"thresholds": "auto", "scarcity": "shortfall-first"}, budget=budget)
    lv = dict(zip(old.allocation.region_id, _levels(old)))
    assert lv["gangwon"] == pytest.approx(0.727278, abs=1e-6) and lv["busan"] == pytest.approx(0.92, abs=1e-7)


# ---- the CLI ---------------------------------------------------------------------------------------

def _cli(*args) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output


def test_cli_revenue_share_names_the_unfunded_and_records_the_rule(tmp_path):
    code, out = _cli("solve", KOREA, "--revenue-share", "0.8", "--thresholds", "auto",
                     "--scarcity", "shortfall-first", "-O", tmp_path / "old")
    assert code == 0, out
    assert "below threshold with no transfer: gangwon, jeonnam" in out
    s = json.loads((tmp_path / "old" / "summary.json").read_text())
    assert s["below_threshold_unfunded"] == ["gangwon", "jeonnam"] and s["scarcity"]["rule"] == "shortfall-first"
    code, out = _cli("solve", KOREA, "--revenue-share", "0.8", "--thresholds", "auto", "-O", tmp_path / "new")
    alloc = pd.read_csv(tmp_path / "new" / "allocation.csv").set_index("region_id")
    assert alloc.loc["gangwon", "transfer"] > 6000 and alloc.loc["jeonnam", "transfer"] > 6000
    assert "below threshold with no transfer: seoul, sejong" in out   # above the common level, below .92


def test_phased_rounds_name_region_years():
    code, out = _cli("solve", KOREA, "--years", "2", "-b", "0.7x", "--thresholds", "auto",
                     "--scarcity", "shortfall-first")
    assert code == 0 and "below threshold with no transfer: gangwon 2024, jeonnam 2024, gangwon 2025" in out, out


def test_cli_toml_key_and_verify(tmp_path):
    folder = tmp_path / "inst"
    folder.mkdir()
    (folder / "regions.csv").write_bytes((TOY / "regions.csv").read_bytes())
    (folder / "instance.toml").write_text('name = "t"\nunit = "KRW billion"\n[budget]\ntotal = 60\n'
                                          '[threshold]\nlevel = 0.8\n[objective]\nname = "maxmin"\n'
                                          'thresholds = "soft"\nscarcity = "shortfall-first"\n')
    code, out = _cli("solve", folder, "-O", tmp_path / "o", "--format", "csv")
    assert code == 0, out
    assert pd.read_csv(tmp_path / "o" / "allocation.csv")["transfer"].round(6).tolist() == [40.0, 20.0, 0.0]
    code, out = _cli("solve", folder, "--scarcity", "objective", "-O", tmp_path / "p")   # the flag wins
    assert pd.read_csv(tmp_path / "p" / "allocation.csv")["transfer"].round(6).tolist() == [50.0, 10.0, 0.0]
    code, out = _cli("verify", folder, tmp_path / "p" / "allocation.csv", "-o", "maxmin", "--scarcity", "objective")
    assert code == 0 and "optimality: certified" in out, out
    code, out = _cli("verify", folder, tmp_path / "o" / "allocation.csv", "-o", "maxmin", "--scarcity", "objective")
    assert code == 1 and "region 'a', suboptimal" in out, out   # today's knapsack is not the scarcity optimum
    (folder / "instance.toml").write_text(
        (folder / "instance.toml").read_text().replace('"shortfall-first"', '"first"'))
    code, out = _cli("solve", folder)
    assert code == 2 and "scarcity" in out and "Traceback" not in out, out


def test_cli_compare_and_batch_under_soft_mode(tmp_path):
    code, out = _cli("compare", TOY, "--objectives", "maxmin,min-gini,max-mean", "--threshold", "0.8",
                     "--thresholds", "soft")
    assert code == 0 and "maxmin" in out and "min-gini" in out, out
    spec = tmp_path / "b.toml"
    spec.write_text(f'instances = ["{KOREA}"]\n'
                    'objectives = [{name = "maxmin", thresholds = "auto"}, '
                    '{name = "maxmin", thresholds = "auto", scarcity = "shortfall-first"}]\n'
                    '[sweep]\nbudget = ["0.7x"]\n')
    code, out = _cli("batch", spec, "-O", tmp_path / "b", "-j", "1", "-q")
    assert code == 0, out
    runs = pd.read_parquet(tmp_path / "b" / "runs.parquet")[["run_id", "index"]]
    allocs = pd.read_parquet(tmp_path / "b" / "allocations.parquet").merge(runs, on="run_id")
    gw = allocs[allocs.region_id == "gangwon"].sort_values("index")["transfer"].to_numpy()
    assert gw[0] > 1000 and gw[1] == pytest.approx(0.0, abs=1e-2)   # objective funds Gangwon; shortfall-first not
