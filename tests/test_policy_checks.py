"""Issue 4 completion: per-policy post-solve checks, policy binding tags read off the LP rows,
phased diagnoses / year shadow prices / merge effect, the Korean services estimate.
Real HiGHS throughout; expected values are worked out by hand in the comments."""

from __future__ import annotations

import csv
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from models.build import build_lp
from models.data import RegionData
from models.objectives import get_objective
from models.policies import POLICIES, ROUND_POLICIES, PolicyTerm, get_policy
from optimizer.cli import main
from optimizer.core.errors import InfeasibleError, SolverError
from optimizer.core.phasing import Phasing
from optimizer.core.policy import PolicyConfig
from optimizer.core.scaling import round_data
from optimizer.engine.highs import solve_lp
from optimizer.engine.phasing import solve_phased
from optimizer.engine.solve import SolveOptions, solve
from optimizer.explain.policy_checks import Tags, unique_rows, with_tags
from optimizer.explain.verify import VerifyExtras, require, verify, verify_round
from optimizer.io.load import load_instance
from optimizer.prepare.policy_round import policy_round
from tests.policy_helpers import KOREA, ROOT, make_instance, run, toy, transfers

NAN, INF = np.nan, np.inf
# own 0.2/0.6/0.9/0.3, need 1: levels before 0.9 > 0.6 > 0.3 > 0.2; budget 1, thresholds 0
D = RegionData(own=np.array([0.2, 0.6, 0.9, 0.3]), need=np.ones(4), threshold=np.zeros(4),
               weight=np.full(4, 0.25), t_min=np.zeros(4), t_max=np.full(4, INF), budget=1.0)
PRIOR = np.array([0.3, 0.1, 0.15, 0.2])

# policy -> (params, a deliberately violated allocation, its violation worked out by hand)
CASES = {
    # T_0 = 0.1 < 1.0 * 0.3
    "hold-harmless": ({"share": 1.0, "prior": PRIOR}, [0.1, 0.1, 0.15, 0.2], 0.2),
    # |0.7 - 0.4| = 0.3 > 0.5 * 0.4 = 0.2 (region 2 has no prior: unconstrained)
    "change-limit": ({"share": 0.5, "absolute": None, "prior": np.array([0.4, 0.2, NAN, 0.2])},
                     [0.7, 0.2, 0.9, 0.2], 0.1),
    # cap 0.5 per head x pop 2 = 1.0 < 1.2
    "per-capita": ({"population": np.array([1.0, 2.0, 1.0, 1.0]), "floor": 0.05, "cap": 0.5},
                   [0.05, 1.2, 0.05, 0.05], 0.2),
    # cap 0.5 * (1 - 0.2) = 0.4 < 0.5
    "equalization-rate": ({"rate": 0.5, "standard": np.ones(4)}, [0.5, 0, 0, 0], 0.1),
    # adjacent pair (3 above 0): L_0 = 0.7 > L_3 = 0.3 by 0.4
    "no-overtaking": ({}, [0.5, 0, 0, 0], 0.4),
    # region 2 may give 0.5 * (0.9 - 0.8) = 0.05 but gives 0.1
    "horizontal": ({"level": 0.8, "share": 0.5}, [0.3, 0, -0.1, 0], 0.05),
    # merged region 2 gets 0.05 < its prior 0.15
    "merger-guarantee": ({"merged": np.array([False, False, True, False]), "prior": PRIOR}, [0, 0, 0.05, 0], 0.1),
    # group {2, 3} gets 0.3 > upper 0.1
    "group-transfer": ({"members": [np.array([0, 1]), np.array([2, 3])], "lower": np.array([0.2, -INF]),
                        "upper": np.array([INF, 0.1])}, [0.1, 0.1, 0.2, 0.1], 0.2),
    # group {0, 3}: (0.5 + 0) / 2 = 0.25 < 0.6
    "group-level": ({"members": [np.array([0, 3]), np.array([1, 2])], "min_level": np.array([0.6, NAN])},
                    [0, 0, 0, 0], 0.35),
    # year 0 spends 0.7 > 0.5
    "year-budget": ({"year": np.array([0, 0, 1, 1]), "budgets": np.array([0.5, 0.7])}, [0.4, 0.3, 0, 0], 0.2),
    # T_2 = 0.6 > 1.1 * T_0 = 0.55
    "phase-change": ({"cur": np.array([2, 3]), "prev": np.array([0, 1]), "share": 0.1, "absolute": None},
                     [0.5, 0.2, 0.6, 0.2], 0.05),
    # floor 0.3 for region 0, which gets 0.1
    "service-floor": ({"floor": np.array([0.3, 0.0, 0.0, 0.1])}, [0.1, 0, 0, 0.1], 0.2),
    # T_0 should be 0.25 (T_0 + T_1) = 0.25, is 0.5
    "general-split": ({"units": [np.array([0, 1])], "shares": [np.array([0.25, 0.75])]}, [0.5, 0.5, 0, 0], 0.25),
}


def test_every_policy_has_a_check_and_a_case():
    assert set(CASES) == set(POLICIES) | set(ROUND_POLICIES)
    assert all(get_policy(n).check is not None for n in CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_check_is_zero_on_the_solved_allocation_and_positive_when_violated(name):
    params, bad, violation = CASES[name]
    term = PolicyTerm(name, params)
    lp = build_lp(D, "maxmin", (term,))
    sol, _ = solve_lp(lp, "simplex")
    assert sol.status == "optimal"
    t = sol.x[lp.col_block("transfer").slice]
    check = get_policy(name).check
    assert check(t, D, params) <= 1e-9
    assert check(np.array(bad, dtype=float), D, params) == pytest.approx(violation, abs=1e-12)


def test_policy_checks_reported_on_unscaled_data():
    r = run(toy(), hold_harmless=1.2, change_limit_abs=50.0)   # transfers (48, 12, 0)
    checks = r.summary["checks"]
    assert checks["hold_harmless_violation"] == 0.0 and checks["change_limit_violation"] == 0.0
    assert checks["budget_excess"] == 0.0


def test_violated_policy_raises_solver_error():
    """The post-solve check (explain/verify.py) re-checks every policy on the unscaled data
    and names the region: a gets 40 < 1.2 x 40 = 48, violated by 8."""
    inst = toy()
    cfg = PolicyConfig(hold_harmless=1.2)
    pr = policy_round(inst, cfg)
    rd = round_data(pr.inst, None, None)
    good = solve(inst, SolveOptions(policy=cfg))
    spec = get_objective("maxmin")
    extra = VerifyExtras(policies=pr.terms(rd, 1.0), options={})
    vr = verify_round(pr.inst, rd, spec.name, False, True, 1.0, extra)
    t = good.allocation["transfer"].to_numpy(dtype=float)
    assert verify(vr, t, good.summary["objective_value"]).ok
    bad = verify(vr, np.array([40.0, 20.0, 0.0]))
    assert not bad.ok and bad.checks["hold_harmless_violation"] == pytest.approx(8.0)
    with pytest.raises(SolverError, match="region 'r0', hold-harmless violated by 8 KRW billion"):
        require(bad)


# --- binding tags from the LP's policy rows ---------------------------------------------------

@pytest.mark.parametrize("policy, tags", [
    # T = (44, 9, 0): a at P + 0.1P, b at P - 0.1P, c pinned at its prior 0 (width 0)
    ({"change_limit": 0.1}, ["floor;change_limit", "change_limit", "change_limit"]),
    # T = (48, 12, 0): both hold-harmless rows tight, c has no prior (no row)
    ({"hold_harmless": 1.2}, ["floor;hold_harmless", "hold_harmless", ""]),
    # T = (40, 10, 5): a at the cap (4e8 x 100 people), b and c at the floor
    ({"per_capita_cap": 4e8, "per_capita_floor": 5e7}, ["floor;per_capita_cap", "per_capita_floor",
                                                        "per_capita_floor"]),
    # T = (40, 0, 0): a at 0.5 x (100 - 20)
    ({"equalization_rate": 0.5, "equalization_standard": 1.0}, ["floor;rate_cap", "floor", ""]),
    # T = (52.5, 12.5, -5): c pays its whole allowed share 0.5 x (90 - 80)
    ({"horizontal_level": 0.8, "horizontal_share": 0.5}, ["floor", "floor", "contribution_cap"]),
])
def test_policy_binding_tags_hand_solved(policy, tags):
    assert list(run(toy(), **policy).allocation["binding"]) == tags


@pytest.mark.parametrize("engine", ["direct", "pyomo"])
def test_no_overtaking_tags_both_regions_of_a_tight_pair(engine):
    # min-cost, theta_a 0.95: T = (75, 35, 5), L_a = L_b = L_c = 0.95: both pair rows tight
    inst = toy(budget=200, thresholds=[0.95, NAN, NAN])
    r = run(inst, "min-cost", engine=engine, no_overtaking=True)
    assert list(r.allocation["binding"]) == ["threshold;no_overtaking", "no_overtaking", "no_overtaking"]


def test_merger_guarantee_and_group_tags():
    from optimizer.prepare.merge import merge_regions

    # r1+r2 merged (prior 30, own 150, need 200, level 0.75 > floor): maxmin would give it 0,
    # the guarantee keeps 30 -> tight
    inst = merge_regions(make_instance([20, 60, 90, 30], [100] * 4, prior=[40, 30, 0, 20], budget=60,
                                       threshold=0.0), [["r1", "r2"]])
    r = run(inst, merger_guarantee=True)
    tags = dict(zip(r.allocation["region_id"], r.allocation["binding"]))
    assert transfers(r)[list(r.allocation["region_id"]).index("r1+r2")] == pytest.approx(30)
    assert "merger_guarantee" in tags["r1+r2"].split(";")
    # korea-17 Chungcheong union at level 0.95: the group row binds (the floor drops below 0.95,
    # the union is lifted above it); each of its four members carries the tag, nobody else
    from optimizer.prepare.scenarios import prepare
    k = solve(prepare(load_instance(KOREA), "chungcheong-union"))
    tagged = {rid for rid, b in zip(k.allocation["region_id"], k.allocation["binding"]) if "group_level" in b}
    assert tagged == {"daejeon", "sejong", "chungbuk", "chungnam"}
    assert k.summary["checks"]["group_level_violation"] <= 1e-9


# --- phased rounds -------------------------------------------------------------------------------

def test_phased_diagnosis_names_region_and_year():
    # min-cost, theta 0.7, change limit 5 % a year: r0 needs 50 but may get at most 47.25 in year 1
    inst = make_instance([20, 60, 90], [100, 100, 100], prior=[45, 10, 5], threshold=0.7, budget=70)
    with pytest.raises(InfeasibleError) as exc:
        solve_phased(inst, SolveOptions(objective="min-cost"),
                     Phasing(years=2, change_limit=0.05, budget=(70.0, 80.0)))
    assert "r0 (year 1)" in str(exc.value)
    worst = [w["regions"] for c in exc.value.summary["conflicts"] for w in c["worst"]]
    assert all("(year " in w for w in worst)


def test_phased_budget_shadow_price_per_year():
    # budgets 30 then 100: year 1 alone decides the floor, 100 (z - 0.2) = 30 -> z = 0.5 (b is at
    # 0.6): one more unit in year 1 lifts z by 1/100; year 2 has slack (dual 0).
    inst = make_instance([20, 60, 90], [100, 100, 100], budget=30)
    ph = Phasing(years=2, budget=(30.0, 100.0), change_limit_abs=30.0)
    r = solve_phased(inst, SolveOptions(objective="maxmin"), ph)
    prices = [y["budget_shadow_price"] for y in r.summary["years"]]
    assert prices == pytest.approx([0.01, 0.0], abs=1e-12)
    r2 = solve_phased(inst, SolveOptions(objective="maxmin"), Phasing(years=2, budget=(31.0, 100.0),
                                                                          change_limit_abs=30.0))
    assert r2.summary["objective_value"] - r.summary["objective_value"] == pytest.approx(0.01)
    assert "year_budget_shadow_prices" not in r.summary


def test_phase_change_tag_on_this_years_unit():
    # tests/test_phasing.py hand-solved case: T = (50, 10, 1 | 57, 17, 0.2); c in 2025 sits at
    # 0.2 x its 2024 transfer (the phase-change row), c in 2024 at 0.2 x its prior (change limit)
    inst = make_instance([20, 60, 90], [100, 100, 100], prior=[45, 10, 5], threshold=0.7, budget=70)
    r = solve_phased(inst, SolveOptions(objective="min-cost"),
                     Phasing(years=2, need_growth=0.1, change_limit=0.8, budget=(70.0, 80.0)))
    assert list(r.allocation["binding"]) == ["threshold", "threshold", "change_limit",
                                             "threshold", "threshold", "phase_change"]


def test_merge_with_phasing_writes_the_merge_effect_per_year(tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["solve", str(KOREA), "--years", "2", "--merge", "busan,gyeongnam",
                                    "--merger-guarantee", "-O", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((out / "merge_effect.csv").open()))
    assert len(rows) == 2 * 16 and {r["year"] for r in rows} == {"2024", "2025"}
    merged = [r for r in rows if r["region_id"] == "busan+gyeongnam"]
    assert len(merged) == 2 and all(r["merged"].lower() == "true" for r in merged)
    assert "busan+gyeongnam (2025)" in res.output


# --- Korean services estimate ----------------------------------------------------------------------

def test_korea_services_estimate_sums_to_need_and_leaves_korea17_alone():
    folder = ROOT / "instances" / "korea-17-services"
    assert not (KOREA / "services.csv").exists()
    need = {r["region_id"]: Fraction(r["fiscal_need"]) for r in csv.DictReader((KOREA / "regions.csv").open())}
    total: dict[str, Fraction] = {}
    for r in csv.DictReader((folder / "services.csv").open()):
        total[r["region_id"]] = total.get(r["region_id"], Fraction(0)) + Fraction(r["need"])
    assert total == need      # exactly: "other" takes the rounding remainder
    r = solve(load_instance(folder))   # plain solve (services ignored) = korea-17's answer
    base = solve(load_instance(KOREA))
    assert np.allclose(transfers(r), transfers(base))
    from optimizer.engine.rounds import solve_round
    s = solve_round(load_instance(folder), SolveOptions())
    lv = s.tables["services"]
    assert lv.loc[lv["service"] == "elderly_care", "level_after"].min() >= 0.94 - 1e-9


def test_service_floor_tagged_once():
    # toy-services by hand (docs/policies.md): a's elderly care needs T_a >= 50, maxmin gives 50
    from optimizer.engine.rounds import solve_round
    r = solve_round(load_instance(ROOT / "instances" / "toy-services"), SolveOptions())
    assert list(r.allocation["binding"]) == ["floor;service_floor", "floor", ""]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6))
def test_binding_tags_read_in_the_order_they_were_found(seed):
    """with_tags (one text per distinct (binding, tags) pair) equals appending each region's
    tags one event at a time, skipping those it has, as the binding column always read."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    names = ["floor", "hold_harmless", "no_overtaking", "change_limit", "group_level"]
    binding = pd.Series(rng.choice(["", "floor", "threshold", "floor;threshold"], n), dtype=object)
    tags = Tags([], np.zeros((n, 0), dtype=np.int64))
    expected = [[t for t in b.split(";") if t] for b in binding]
    for event in range(int(rng.integers(0, 8))):
        tag = str(rng.choice(names))
        regions = np.unique(rng.integers(0, n, int(rng.integers(0, n + 1))))
        tags.add(regions, tag, event)
        for r in regions:
            if tag not in expected[r]:
                expected[r].append(tag)
    assert list(with_tags(binding, tags)) == [";".join(e) for e in expected]


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([1, 3, 6, 40]))
def test_unique_rows_is_numpys_row_unique(seed, width):
    """unique_rows (one int64 key per row) gives np.unique(axis=0)'s rows and inverse, in its
    order; 40 columns of digits up to 9 do not fit a key and take numpy's own path."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(-1, int(rng.integers(0, 10)), (int(rng.integers(0, 50)), width))
    want, inv = np.unique(rows, axis=0, return_inverse=True)
    got, got_inv = unique_rows(rows)
    assert np.array_equal(got, want) and np.array_equal(got_inv, inv.reshape(-1))
