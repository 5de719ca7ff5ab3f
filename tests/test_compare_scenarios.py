"""`equalize compare --scenarios`: one row per scenario (base first), end to end on korea-17
(real HiGHS); each row checked against an independent `solve --scenario`."""

from __future__ import annotations

import csv

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from optimizer.prepare.scenarios import prepare
from optimizer.studies.compare import COLUMNS, SCENARIO_COLUMNS
from tests.policy_helpers import KOREA, TOY


def test_compare_all_korean_scenarios_end_to_end(tmp_path):
    out = tmp_path / "cmp"
    res = CliRunner().invoke(main, ["compare", str(KOREA), "--scenarios", "all", "-O", str(out)])
    assert res.exit_code == 0, res.output
    names = list(load_instance(KOREA).scenarios)
    assert len(names) == 7
    rows = list(csv.DictReader((out / "compare.csv").open()))
    assert [r["scenario"] for r in rows] == ["base", *names]
    # the metric columns of the objective comparison, all present
    metric = [c for c in COLUMNS if c not in ("objective", "status")]
    assert set(metric) <= set(SCENARIO_COLUMNS) and list(rows[0]) == SCENARIO_COLUMNS
    assert all(r["status"] == "optimal" for r in rows)
    for name in ["base", *names]:
        assert (out / f"allocation-{name}.csv").exists()
    by = {r["scenario"]: r for r in rows}
    assert by["both-mergers"]["regions"] == "15" and by["korean-rules"]["objective"] == "min-shortfall"
    # independent: each scenario solved on its own gives the same objective and min level
    for name in ("busan-gyeongnam-merger", "korean-rules"):
        s = solve(prepare(load_instance(KOREA), name), SolveOptions()).summary
        assert float(by[name]["objective_value"]) == pytest.approx(s["objective_value"], rel=1e-9)
        assert float(by[name]["min_level"]) == pytest.approx(s["min_level"], rel=1e-9)
    assert "korean-rules" in res.output and "min-shortfall" in res.output


def test_compare_subset_with_one_objective_and_errors(tmp_path):
    res = CliRunner().invoke(main, ["compare", str(KOREA), "--scenarios", "no-overtaking,chungcheong-union",
                                    "--objectives", "min-cost", "-O", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "compare.csv").open()))
    assert [r["scenario"] for r in rows] == ["base", "no-overtaking", "chungcheong-union"]
    assert {r["objective"] for r in rows} == {"min-cost"}
    for args in (["--scenarios", "nope"], ["--scenarios", "all", "--objectives", "maxmin,min-cost"],
                 ["--scenarios", "all", "--plot", "-O", str(tmp_path)]):
        assert CliRunner().invoke(main, ["compare", str(KOREA), *args]).exit_code == 2


def test_infeasible_scenario_is_a_row(tmp_path):
    # toy-3 (own 20/60/90, need 100): min-cost at threshold 0.8 needs 60 + 20 = 80 > budget 10
    (tmp_path / "regions.csv").write_text((TOY / "regions.csv").read_text())
    (tmp_path / "instance.toml").write_text((TOY / "instance.toml").read_text() + """
[scenarios.broke]
description = "a tenth of the budget"
budget = 10.0
threshold = 0.8
objective = "min-cost"
""")
    out = tmp_path / "o"
    res = CliRunner().invoke(main, ["compare", str(tmp_path), "--scenarios", "all", "-O", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((out / "compare.csv").open()))
    assert [(r["scenario"], r["status"]) for r in rows] == [("base", "optimal"), ("broke", "infeasible")]
    assert "missing" in rows[1]["diagnosis"] and rows[1]["min_level"] == ""
    assert not (out / "allocation-broke.csv").exists()
    assert "broke: infeasible" in res.output


def test_scenarios_compare_still_works():
    res = CliRunner().invoke(main, ["scenarios", str(KOREA), "--compare"])
    assert res.exit_code == 0, res.output
    assert "chungcheong-union" in res.output


def test_scenarios_compare_is_the_scenario_comparison(tmp_path):
    """`scenarios --compare` and `compare --scenarios` share one implementation: same rows."""
    res = CliRunner().invoke(main, ["scenarios", str(KOREA), "--compare", "-O", str(tmp_path / "s")])
    assert res.exit_code == 0, res.output
    listed = list(csv.DictReader((tmp_path / "s" / "scenarios.csv").open()))
    CliRunner().invoke(main, ["compare", str(KOREA), "--scenarios", "all", "-O", str(tmp_path / "c")])
    compared = list(csv.DictReader((tmp_path / "c" / "compare.csv").open()))
    assert [r["scenario"] for r in listed] == [r["scenario"] for r in compared]
    for a, b in zip(listed, compared):
        for col in ("status", "objective", "required_budget", "regions_below_threshold"):
            assert a[col] == b[col], (a["scenario"], col)
        assert float(a["min_level"]) == pytest.approx(float(b["min_level"]), rel=1e-12)
