"""Issue 11, point 7: consistent figures. One price of fairness for solve, compare and
batch; solver noise printed as 0; below-threshold counts with the post-solve check's
tolerance; binding and threshold_dual agree in every mode; an infeasible round lists each
conflicting family on its own line with its least relaxation. The real CLI, real HiGHS."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer.core.errors import InfeasibleError
from optimizer.core.metrics import LEVEL_TOL
from optimizer.engine.solve import SolveOptions, solve
from optimizer.explain.verify import FEAS_TOL
from optimizer.io.load import load_instance
from optimizer.studies.compare import compare, compare_text
from tests.policy_helpers import run as policy_run
from tests.policy_helpers import toy
from tests.test_core_lp import SETTINGS, core_instance, rounds

EQUALIZE = Path(sys.executable).parent / "equalize"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(EQUALIZE), *args], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.mark.slow
def test_one_price_of_fairness_in_solve_compare_and_batch(korea17, tmp_path):
    inst = load_instance(korea17)
    cost = solve(inst, SolveOptions(objective="min-cost"))
    short = solve(inst, SolveOptions(objective="min-shortfall"))
    np.testing.assert_allclose(cost.allocation.transfer, short.allocation.transfer, atol=1e-6)
    p_cost, p_short = cost.summary["price_of_fairness"], short.summary["price_of_fairness"]
    # the same allocation, the same reference (thresholds reachable: held in max-mean)
    assert p_cost["max_mean_level"] == pytest.approx(p_short["max_mean_level"], rel=1e-9)
    assert p_short["value"] == pytest.approx(0.032143, abs=1e-6)
    assert p_cost["value"] == pytest.approx(p_short["value"], rel=1e-9)
    table = compare(inst, ["min-cost", "min-shortfall"]).table.set_index("objective")
    assert table.loc["min-shortfall", "price_of_fairness"] == pytest.approx(p_short["value"], rel=1e-12)
    assert table.loc["min-cost", "price_of_fairness"] == pytest.approx(p_cost["value"], rel=1e-12)
    assert "3.2143%" in compare_text(table.reset_index(), inst.unit)
    shown = cli("solve", str(korea17), "-o", "min-shortfall")
    assert "price of fairness 3.2143%" in shown.stdout
    spec = tmp_path / "study.toml"
    spec.write_text(f'instances = ["{korea17}"]\nobjectives = ["min-cost", "min-shortfall"]\n', encoding="utf-8")
    b = cli("batch", str(spec), "--output", str(tmp_path / "out"), "--jobs", "1", "--quiet")
    assert b.returncode == 0, b.stderr
    runs = pd.read_csv(tmp_path / "out" / "runs.csv").set_index("objective")
    assert runs.loc["min-shortfall", "price_of_fairness"] == pytest.approx(p_short["value"], rel=1e-9)
    assert runs.loc["min-cost", "price_of_fairness"] == pytest.approx(p_cost["value"], rel=1e-9)


def test_solver_noise_prints_as_zero_and_below_counts_use_the_check_tolerance(korea17, tmp_path):
    p = cli("solve", str(korea17), "-o", "min-shortfall", "--output", str(tmp_path / "o"))
    assert p.returncode == 0, p.stderr
    assert "objective: min-shortfall = 0 (level)" in p.stdout
    assert "e-1" not in p.stdout.split("status:")[1].split("\n")[0]   # no 7.2e-18 on the status line
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["objective_value"] == 0.0
    # korea-17 at 0.9x, soft maxmin with the shortfall first: Gangwon is short; Jeonnam only by
    # ~1.8e-7 (solver noise)
    inst = load_instance(korea17)
    r = solve(inst, SolveOptions(objective="maxmin", budget=0.9 * inst.budget,
                                 objective_options={"thresholds": "soft", "scarcity": "shortfall-first"}))
    a = r.allocation.set_index("region_id")
    assert 0 < a.loc["jeonnam", "shortfall"] < 1e-6
    assert r.summary["regions_below_threshold"] == 1
    assert r.summary["metrics_after"]["regions_below_threshold"] == 1
    assert LEVEL_TOL == FEAS_TOL   # one rule for the count and the post-solve check


@pytest.mark.slow
@SETTINGS
@given(rounds(max_n=8), st.sampled_from(["maxmin", "min-cost", "min-shortfall", "max-mean", "leximin"]),
       st.sampled_from(["hard", "soft", "auto"]))
def test_binding_and_threshold_dual_agree_in_every_mode(tmp_path, rnd, objective, mode):
    inst = core_instance(tmp_path, *rnd)
    try:
        r = solve(inst, SolveOptions(objective=objective, price_of_fairness=False,
                                     objective_options={"thresholds": mode}))
    except InfeasibleError:
        return
    a = r.allocation
    for row in a.itertuples():
        tags = (row.binding or "").split(";")
        if np.isnan(row.threshold_dual):
            assert r.summary.get("threshold_dual_note"), "an empty dual needs its reason"
            continue
        if abs(row.threshold_dual) > 1e-9 * max(1.0, float(np.nanmax(np.abs(a.threshold_dual)))):
            assert "threshold" in tags or "shortfall" in tags, (row.region_id, row.binding, row.threshold_dual)
    below = a["threshold"] - a["level_after"] > LEVEL_TOL * np.maximum(1.0, a["threshold"].abs())
    assert r.summary["regions_below_threshold"] == int(below.sum())


def test_infeasible_round_lists_each_family_on_its_own_line(korea17, tmp_path):
    p = cli("solve", str(korea17), "--hold-harmless", "0.7", "--no-overtaking", "--output", str(tmp_path / "o"))
    assert p.returncode == 1
    lines = p.stderr.strip().splitlines()
    assert lines[0].startswith("infeasible: ")
    # the missing amount is the need under the policies less the budget, as printed
    needs, budget, missing = (float(x.replace(",", "")) for x in re.search(
        r"needs ([\d,.]+) KRW billion; the budget is ([\d,.]+) KRW billion: ([\d,.]+) KRW billion missing",
        lines[0]).groups())
    assert missing == pytest.approx(needs - budget, abs=0.15)   # each figure rounded to 0.1
    fams = {ln.split()[1]: ln for ln in lines[1:]}
    assert set(fams) == {"budget", "hold_harmless", "no_overtaking"}, lines
    assert all(ln.startswith("  - ") for ln in lines[1:])
    assert re.search(r"no_overtaking by 0\.\d+ level", fams["no_overtaking"])
    assert f"budget by {missing:,.1f} KRW billion" in fams["budget"]
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    relax = {c["family"]: c["relax_by"] for c in s["relaxations"]}
    assert relax["budget"] == pytest.approx(s["missing_budget"], rel=1e-6)


def test_least_relaxation_of_each_family_by_hand():
    # toy, min-cost, budget 30, hold-harmless 1: T_a >= 40, T_b >= 10 (50 > 30). Alone, the budget
    # must rise by 20; the hold-harmless rows must each give way by s with 50 - 2s <= 30: s = 10.
    with pytest.raises(InfeasibleError) as exc:
        policy_run(toy(budget=30), "min-cost", hold_harmless=1.0)
    relax = {c["family"]: c["relax_by"] for c in exc.value.summary["relaxations"]}
    assert relax == {"budget": pytest.approx(20), "hold_harmless": pytest.approx(10)}
    text = str(exc.value).split("\n")
    assert len(text) == 3 and {t.split()[1] for t in text[1:]} == {"budget", "hold_harmless"}
