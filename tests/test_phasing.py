"""Multi-year phase-in: K = 1 equals a single solve, hand-solved K = 2, the change limit as a
property, the Pyomo model of record equals the vectorised twin (real HiGHS, no mocks)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.build import build_arrays, build_pyomo
from models.compile import to_linear_program
from models.data import RegionData
from models.policies import PolicyTerm
from optimizer.cli import main
from optimizer.core.errors import InputError, Problem, UsageError
from optimizer.core.phasing import Phasing
from optimizer.core.policy import PolicyConfig
from optimizer.engine.phasing import solve_phased
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.phasing import parse_phasing
from tests.policy_helpers import TOY, make_instance, toy


@pytest.mark.parametrize("objective", ["maxmin", "min-shortfall", "min-cost"])
def test_one_year_equals_a_single_solve(objective):
    inst = toy(threshold=0.6 if objective != "maxmin" else 0.5)
    single = solve(inst, SolveOptions(objective=objective))
    phased = solve_phased(inst, SolveOptions(objective=objective), Phasing(years=1))
    assert np.allclose(phased.allocation["transfer"], single.allocation["transfer"], atol=1e-9)
    assert phased.summary["objective_value"] == pytest.approx(single.summary["objective_value"])
    assert list(phased.allocation["year"]) == [1, 1, 1]


def test_hand_solved_two_years_min_cost_with_change_limit_and_need_growth():
    # own 20/60/90, need 100 growing 10 %, threshold 0.7, prior 45/10/5, d = 0.8.
    # 2024: T_a >= 50, T_b >= 10, T_c in [1, 9] (change limit) -> 50, 10, 1
    # 2025: need 110: T_a >= 57, T_b >= 17, T_c >= 0.2 * T_c,2024 = 0.2 -> 57, 17, 0.2
    inst = make_instance([20, 60, 90], [100, 100, 100], prior=[45, 10, 5], threshold=0.7, budget=70)
    r = solve_phased(inst, SolveOptions(objective="min-cost"),
                     Phasing(years=2, need_growth=0.1, change_limit=0.8, budget=(70.0, 80.0)))
    assert np.allclose(r.allocation["transfer"], [50, 10, 1, 57, 17, 0.2], atol=1e-7)
    assert r.summary["objective_value"] == pytest.approx(135.2)
    assert [y["budget_used"] for y in r.summary["years"]] == pytest.approx([61.0, 74.2])
    assert np.allclose(r.allocation["fiscal_need"], [100] * 3 + [110] * 3)


def test_hand_solved_two_years_maxmin_is_the_lowest_over_region_years():
    # budgets 40 then 100, |T_y - T_{y-1}| <= 30 (absolute), prior unknown in year 1.
    # 2024 alone: 100(z-0.2) + 100(z-0.6) = 40 -> z = 0.6 (T = 40, 0, 0); year 2 cannot lower the
    # minimum, the tie-break spends least: T_2025 = T_2024.
    inst = make_instance([20, 60, 90], [100, 100, 100], budget=40)
    r = solve_phased(inst, SolveOptions(objective="maxmin"),
                     Phasing(years=2, budget=(40.0, 100.0), change_limit_abs=30.0))
    assert r.summary["objective_value"] == pytest.approx(0.6)
    assert np.allclose(r.allocation["transfer"], [40, 0, 0, 40, 0, 0], atol=1e-7)


def test_year_budget_binds_and_is_checked():
    inst = make_instance([20, 60, 90], [100, 100, 100], threshold=0.0, budget=60)
    r = solve_phased(inst, SolveOptions(objective="min-shortfall", threshold=0.8),
                     Phasing(years=2, budget_growth=0.5))
    used = [y["budget_used"] for y in r.summary["years"]]
    assert used[0] == pytest.approx(60.0) and used[1] <= 90.0 + 1e-7
    assert r.summary["checks"]["year_budget_excess"] <= 1e-9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(1, 90), st.floats(50, 150), st.floats(1, 60)), min_size=2, max_size=5),
       st.integers(2, 3), st.floats(0.0, 0.5), st.sampled_from(["maxmin", "min-shortfall"]),
       st.floats(0.0, 0.1))
def test_change_limit_holds_every_year(rows, k, d, objective, growth):
    own, need, prior = (np.array(c) for c in zip(*rows))
    inst = make_instance(own, need, prior=prior, threshold=0.0, budget=float(prior.sum()))
    r = solve_phased(inst, SolveOptions(objective=objective), Phasing(years=k, change_limit=d, need_growth=growth))
    t = r.allocation["transfer"].to_numpy().reshape(k, len(rows))
    prev = np.vstack([prior, t[:-1]])
    assert np.all(np.abs(t - prev) <= d * prev + 1e-6 * max(1.0, prev.max()))
    # year budgets hold to the solver tolerance (1e-7 of the money scale), see docs/policies.md
    assert np.all(t.sum(axis=1) <= prior.sum() * (1 + 1e-6) + 1e-7)


def test_merger_guarantee_covers_four_years():
    from optimizer.prepare.merge import merge_regions

    inst = merge_regions(make_instance([20, 60, 90, 30], [100, 100, 100, 100], prior=[40, 30, 0, 20],
                                       budget=60, threshold=0.0), [["r1", "r2"]])
    r = solve_phased(inst, SolveOptions(objective="maxmin", policy=PolicyConfig(merger_guarantee=True)),
                     Phasing(years=5))
    merged = r.allocation[r.allocation["region_id"] == "r1+r2"]
    t = merged["transfer"].to_numpy()
    assert np.all(t[:4] >= 30 - 1e-7)      # merger year and three more: >= the members' prior 30 + 0
    assert t[4] <= 1e-7                     # year 5: the unit (level 0.75) gets what maxmin gives, 0


def test_twin_equals_compiled_pyomo_with_year_rows():
    d = RegionData(own=np.array([0.2, 0.6, 0.9, 0.3]), need=np.ones(4), threshold=np.full(4, 0.5),
                   weight=np.full(4, 0.25), t_min=np.zeros(4), t_max=np.full(4, np.inf), budget=1.2)
    terms = (PolicyTerm("year-budget", {"year": np.array([0, 0, 1, 1]), "budgets": np.array([0.5, 0.7])}),
             PolicyTerm("phase-change", {"cur": np.array([2, 3]), "prev": np.array([0, 1]), "share": 0.1,
                                         "absolute": 0.05}))
    for obj in ("maxmin", "min-shortfall"):
        a, p = build_arrays(d, obj, terms), to_linear_program(build_pyomo(d, obj, terms))
        assert np.allclose(a.A.toarray(), p.A.toarray())
        assert np.array_equal(a.row_lower, p.row_lower) and np.array_equal(a.row_upper, p.row_upper)
        assert [b.name for b in a.row_blocks] == [b.name for b in p.row_blocks]


def test_bad_phasing_table_reports_every_problem():
    problems: list[Problem] = []
    parse_phasing({"years": 0, "budget": [1, -2], "own_growth": -1, "typo": 1}, "i.toml", problems)
    cols = {p.column for p in problems}
    assert {"phasing.years", "phasing.budget", "phasing.own_growth", "phasing.typo"} <= cols
    problems = []
    parse_phasing({"years": 3, "budget": [1, 2]}, "i.toml", problems)
    assert problems and problems[0].column == "phasing.budget"


def test_refused_objective_and_policy_are_usage_errors():
    with pytest.raises(UsageError, match="not supported over several years"):
        solve_phased(toy(), SolveOptions(objective="leximin"), Phasing(years=2))
    with pytest.raises(UsageError, match="no_overtaking"):
        solve_phased(toy(), SolveOptions(objective="maxmin", policy=PolicyConfig(no_overtaking=True)),
                     Phasing(years=2))


def test_cli_years_writes_long_form(tmp_path):
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["solve", str(TOY), "--years", "2", "--change-limit", "0.5", "-O", str(out)])
    assert res.exit_code == 0, res.output
    lines = (out / "allocation.csv").read_text().splitlines()
    assert lines[0].startswith("year,region_id") and len(lines) == 7
    assert [ln.split(",")[0] for ln in lines[1:]] == ["2024"] * 3 + ["2025"] * 3
    bad = CliRunner().invoke(main, ["solve", str(TOY), "--years", "2", "-o", "min-gini"])
    assert bad.exit_code == 2


def test_instance_phasing_is_validated_at_load(tmp_path):
    from optimizer.io.load import load_instance

    for f in ("regions.csv",):
        (tmp_path / f).write_text((TOY / f).read_text())
    (tmp_path / "instance.toml").write_text((TOY / "instance.toml").read_text() + "\n[phasing]\nyears = -1\n")
    with pytest.raises(InputError) as e:
        load_instance(tmp_path)
    assert any(p.column == "phasing.years" for p in e.value.problems)
