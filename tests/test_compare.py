"""``equalize compare`` end to end on real instances (CliRunner, real HiGHS)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from click.testing import CliRunner

from models.objectives import OBJECTIVES
from optimizer.cli import main
from optimizer.core.metrics import gini
from optimizer.engine.solve import SolveOptions
from optimizer.io.load import load_instance
from optimizer.report.plots import lorenz_points
from optimizer.studies.compare import compare


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_compare_all_writes_table_allocations_and_plots(toy3, tmp_path):
    out = tmp_path / "cmp"
    r = run("compare", toy3, "--objectives", "all", "--output", out, "--plot")
    assert r.exit_code == 0, r.output
    for name in OBJECTIVES:
        assert name in r.output
        assert (out / f"allocation-{name}.csv").exists()
    rows = list(csv.DictReader(io.StringIO((out / "compare.csv").read_text())))
    assert [row["objective"] for row in rows] == ["(before)", *OBJECTIVES]
    by = {row["objective"]: row for row in rows}
    # hand values on toy-3 (docs/math.md): maxmin floor .7; max-mean mean .8; PoF of maxmin 1/16
    assert float(by["maxmin"]["objective_value"]) == pytest.approx(0.7)
    assert float(by["max-mean"]["mean_level"]) == pytest.approx(0.8)
    assert float(by["maxmin"]["price_of_fairness"]) == pytest.approx(0.0625)
    assert float(by["max-mean"]["price_of_fairness"]) == pytest.approx(0.0, abs=1e-12)
    for png in ("lorenz.png", "levels.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the table's Gini is the Gini of the written allocation
    alloc = list(csv.DictReader(io.StringIO((out / "allocation-leximin.csv").read_text())))
    lv = np.array([float(a["level_after"]) for a in alloc])
    pop = np.array([float(a["population"]) for a in alloc])
    assert float(by["leximin"]["gini"]) == pytest.approx(gini(lv, pop), abs=1e-12)


def test_compare_infeasible_objective_is_a_row_not_a_crash(toy3, tmp_path):
    r = run("compare", toy3, "--objectives", "maxmin,min-shortfall,min-gini", "--threshold", "0.8",
            "--output", tmp_path)
    assert r.exit_code == 0, r.output
    rows = {row["objective"]: row for row in csv.DictReader(io.StringIO((tmp_path / "compare.csv").read_text()))}
    assert rows["maxmin"]["status"] == "infeasible"
    assert rows["min-gini"]["status"] == "infeasible"
    assert rows["min-shortfall"]["status"] == "optimal"
    assert not (tmp_path / "allocation-maxmin.csv").exists()
    # soft mode makes every objective solvable
    r = run("compare", toy3, "--objectives", "maxmin,min-gini", "--threshold", "0.8", "--thresholds", "soft")
    assert r.exit_code == 0 and "infeasible" not in r.output


def test_compare_unknown_objective_is_a_usage_error(toy3):
    r = run("compare", toy3, "--objectives", "maxmin,nope")
    assert r.exit_code == 2 and "nope" in r.output


def test_compare_min_gini_has_the_least_gini_on_korea(korea17):
    c = compare(load_instance(korea17), ["maxmin", "min-gini", "min-mad", "owa", "log-welfare", "max-mean"],
                SolveOptions())
    t = c.table.set_index("objective")
    assert t.loc["min-gini", "gini"] <= t["gini"].drop("(before)").min() + 1e-9
    assert (t.loc[["maxmin", "min-gini", "owa"], "solve_seconds"] > 0).all()


def test_lorenz_points_end_at_one_and_are_convex():
    x, y = lorenz_points(np.array([3.0, 1.0, 2.0]), np.array([1.0, 1.0, 2.0]))
    assert x[0] == y[0] == 0.0 and x[-1] == pytest.approx(1.0) and y[-1] == pytest.approx(1.0)
    slopes = np.diff(y) / np.diff(x)
    assert np.all(np.diff(slopes) >= -1e-12)


def test_solve_summary_reports_metrics_and_price_of_fairness(toy3, tmp_path):
    r = run("solve", toy3, "-o", "cvar", "--alpha", "0.25", "--output", tmp_path)
    assert r.exit_code == 0, r.output
    assert "price of fairness" in r.output and "atkinson(2)" in r.output
    import json
    s = json.loads((tmp_path / "summary.json").read_text())
    for key in ("gini", "theil", "atkinson_1", "atkinson_2", "cv", "max_min_ratio", "total_shortfall",
                "population_share_below_threshold"):
        assert key in s["metrics_after"] and key in s["metrics_before"]
    assert s["price_of_fairness"]["value"] >= 0
    # alpha .25 = the worst quarter of the population = Alpha (pop 100 of 400): its level
    assert s["objective_value"] == pytest.approx(s["metrics_after"]["min_level"])


def test_compare_reports_the_solves_own_price_of_fairness(korea17):
    """One definition: the figure `solve` writes into summary.json, not a recomputation."""
    from optimizer.engine.solve import solve

    inst = load_instance(korea17)
    c = compare(inst, ["maxmin", "min-shortfall"], SolveOptions())
    t = c.table.set_index("objective")
    for name in ("maxmin", "min-shortfall"):
        own = solve(inst, SolveOptions(objective=name)).summary["price_of_fairness"]["value"]
        assert t.loc[name, "price_of_fairness"] == pytest.approx(own, rel=1e-12)
