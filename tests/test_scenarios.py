"""Scenarios: overrides applied in the documented order, echoed; the Korean scenarios solve."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.core.errors import InputError, UsageError
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from optimizer.prepare.scenarios import ORDER, apply_scenario, get_scenario, prepare
from optimizer.studies.compare import compare_scenarios_table
from tests.policy_helpers import KOREA, TOY


def _toy_folder(tmp_path, extra: str):
    (tmp_path / "regions.csv").write_text((TOY / "regions.csv").read_text())
    (tmp_path / "instance.toml").write_text((TOY / "instance.toml").read_text() + extra)
    return tmp_path


SCEN = """
[scenarios.s]
description = "all overrides"
objective = "min-cost"
budget = "2x"
threshold = 0.6
merges = [["a", "b"]]
policy = { hold_harmless = 1.0 }
[scenarios.s.regions.a]
own_revenue = { add = 10 }
[scenarios.s.regions.b]
fiscal_need = 150
"""


def test_scenario_overrides_applied_in_order(tmp_path):
    inst = load_instance(_toy_folder(tmp_path, SCEN))
    out = apply_scenario(inst, get_scenario(inst, "s"))
    steps = [s["step"] for s in out.applied["scenario"]["steps"]]
    assert steps == [s for s in ORDER if s in steps] == ["regions", "merges", "budget", "threshold",
                                                         "policy", "objective"]
    # region overrides come before the merge: the merged unit sums the overridden figures
    row = out.regions.set_index("region_id").loc["a+b"]
    assert row["own_revenue"] == pytest.approx(30 + 60) and row["fiscal_need"] == pytest.approx(250)
    assert out.budget == pytest.approx(120) and out.threshold == 0.6 and out.objective == "min-cost"
    # hand-solved: min-cost, theta 0.6: a+b needs 150 - 90 = 60, c none; hold-harmless 1.0 on
    # the merged prior 50 (< 60) does not bind -> T = (60, 0)
    r = solve(out)
    assert np.allclose(r.allocation["transfer"], [60, 0])
    assert r.summary["applied"]["scenario"]["name"] == "s"
    assert r.summary["policy"] == {"hold_harmless": 1.0}


def test_cli_flags_come_after_the_scenario(tmp_path):
    inst = prepare(load_instance(_toy_folder(tmp_path, SCEN)), "s")
    from optimizer.core.policy import PolicyConfig
    r = solve(inst, SolveOptions(budget=100.0, policy=PolicyConfig(hold_harmless=1.3)))
    # hold-harmless 1.3 x 50 = 65 now binds
    assert np.allclose(r.allocation["transfer"], [65, 0])


def test_bad_scenarios_report_every_problem(tmp_path):
    bad = """
[scenarios.x]
budget = "lots"
objective = "nope"
merges = [["a", "zz"]]
policy = { hold_harmless = -2 }
colour = "red"
[scenarios.x.regions.q]
own_revenue = 1
"""
    with pytest.raises(InputError) as exc:
        load_instance(_toy_folder(tmp_path, bad))
    cols = {p.column for p in exc.value.problems}
    assert {"scenarios.x.budget", "scenarios.x.objective", "scenarios.x.merges",
            "scenarios.x.policy.hold_harmless", "scenarios.x.colour", "scenarios.x.regions.q"} <= cols


def test_unknown_scenario_is_a_usage_error():
    with pytest.raises(UsageError):
        prepare(load_instance(TOY), "missing")


@pytest.mark.slow
def test_korean_scenarios_all_solve():
    inst = load_instance(KOREA)
    names = list(inst.scenarios)
    assert {"busan-gyeongnam-merger", "daegu-gyeongbuk-merger", "chungcheong-union"} <= set(names)
    table = compare_scenarios_table(inst, names, SolveOptions(), lambda i, o: solve(i, o)).table
    assert list(table["status"]) == ["optimal"] * (len(names) + 1)
    by = {r["scenario"]: r for r in table.to_dict("records")}
    assert by["busan-gyeongnam-merger"]["regions"] == 16 and by["both-mergers"]["regions"] == 15
    # the union's level row costs the others: the floor cannot rise
    assert by["chungcheong-union"]["min_level"] <= by["base"]["min_level"] + 1e-9


@pytest.mark.parametrize("value, budget", [('"0.5X"', 30.0), ("45", 45.0), ('"45"', 45.0), ('" 1.5x "', 90.0)])
def test_scenario_budget_reads_like_the_cli(tmp_path, value, budget):
    # one parser (optimizer/core/budget.py): a scenario's budget means what --budget means
    inst = load_instance(_toy_folder(tmp_path, f"\n[scenarios.b]\nbudget = {value}\n"))
    assert prepare(inst, "b").budget == pytest.approx(budget)


@pytest.mark.parametrize("value", ['"-1x"', "true", '"1.1y"', "-3", '"nan"'])
def test_bad_scenario_budget_is_reported(tmp_path, value):
    with pytest.raises(InputError) as e:
        load_instance(_toy_folder(tmp_path, f"\n[scenarios.b]\nbudget = {value}\n"))
    assert [p.column for p in e.value.problems] == ["scenarios.b.budget"]
