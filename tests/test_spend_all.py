"""Issue 11, point 2: --spend all pays the whole pool out without worsening the objective
(optimizer/engine/surplus.py). Hand-solved surplus rules, blocked surpluses naming what
blocks them, hypothesis on random instances for every objective, multi-year rounds, the
instance key, the CLI and the spend check of equalize verify."""

from __future__ import annotations

import csv
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.cli import main
from optimizer.core.errors import InfeasibleError
from optimizer.core.instance import Instance
from optimizer.core.policy import PolicyConfig
from optimizer.engine.rounds import solve_round
from optimizer.engine.solve import SolveOptions
from optimizer.engine.surplus import fill
from optimizer.io.load import load_instance
from tests.conftest import INSTANCES, write_instance

EQUALIZE = [str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "equalize")]


def cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def instance(own, need, pop=None, budget=100.0, threshold=0.4, cap=None, prior=None) -> Instance:
    n = len(own)
    frame = pd.DataFrame({
        "region_id": [f"r{i}" for i in range(n)], "name": [f"R{i}" for i in range(n)],
        "population": np.asarray(pop if pop is not None else [1] * n, dtype=np.int64),
        "own_revenue": np.asarray(own, dtype=float), "fiscal_need": np.asarray(need, dtype=float),
        "threshold": np.full(n, np.nan),
        "prior_transfer": np.asarray(prior if prior is not None else [np.nan] * n, dtype=float),
        "min_transfer": np.full(n, np.nan),
        "max_transfer": np.asarray(cap if cap is not None else [np.nan] * n, dtype=float),
        "weight": np.full(n, np.nan)})
    return Instance(path=Path("/nonexistent"), name="mem", unit="KRW billion", budget=float(budget),
                    threshold=float(threshold), regions=frame)


def transfers(result) -> np.ndarray:
    return result.allocation["transfer"].to_numpy(dtype=float)


def solve(inst, objective, **kw):
    return solve_round(inst, SolveOptions(objective=objective, **kw))


# --- the rules, hand-solved -----------------------------------------------------------------
# own 20/50/100, need 100/100/200 (levels 0.2, 0.5, 0.5), threshold 0.4, budget 100:
# min-shortfall's optimum (least total) gives r0 20 (to 0.4) and leaves 80.

HAND = dict(own=[20, 50, 100], need=[100, 100, 200], pop=[1, 3, 1])


@pytest.mark.parametrize("rule, expected", [
    # maxmin: r0 first to 0.5 (10), then 70 over need 400: every level 0.675
    ("maxmin", [47.5, 17.5, 35.0]),
    # proportional to need: s = 80 / 400 = 0.2 -> 20, 20, 40 on top of 20, 0, 0
    ("proportional", [40.0, 20.0, 40.0]),
    # per head, population 1/3/1: 80 / 5 = 16 a head -> 16, 48, 16
    ("per-capita", [36.0, 48.0, 16.0]),
])
def test_each_rule_on_a_hand_solved_case(rule, expected):
    base = solve(instance(**HAND), "min-shortfall")
    assert transfers(base) == pytest.approx([20, 0, 0], abs=1e-7)
    r = solve(instance(**HAND), "min-shortfall", spend="all", surplus=rule)
    assert transfers(r) == pytest.approx(expected, abs=1e-6)
    s = r.summary
    assert s["objective_value"] == base.summary["objective_value"] == 0.0
    assert s["budget_used"] == pytest.approx(100.0, abs=1e-9)
    assert s["surplus"] | {} == s["surplus"] and s["surplus"]["rule"] == rule
    assert s["surplus"]["spent"] == pytest.approx(80.0) and s["surplus"]["unspent"] == 0.0
    assert s["surplus"]["blocked_by"] is None and s["verified"]["ok"]


def test_maxmin_rule_with_a_cap_redistributes():
    # r1 capped at 10: r0 to 0.5 (10), then (z - 0.5) 300 = 60 -> z = 0.7 for r0 and r2
    r = solve(instance(**HAND, cap=[np.nan, 10, np.nan]), "min-shortfall", spend="all")
    assert transfers(r) == pytest.approx([50.0, 10.0, 40.0], abs=1e-6)
    assert r.summary["surplus"]["unspent"] == 0.0


def test_every_region_at_its_cap_leaves_the_rest_unspent_and_says_why():
    r = solve(instance(**HAND, cap=[30, 5, 10]), "min-shortfall", spend="all")
    assert transfers(r) == pytest.approx([30, 5, 10], abs=1e-9)
    su = r.summary["surplus"]
    assert su["unspent"] == pytest.approx(55.0) and su["spent"] == pytest.approx(25.0)
    assert "max_transfer" in su["blocked_by"]
    assert r.summary["budget_used"] == pytest.approx(45.0)


def test_min_cost_keeps_the_least_cost_as_its_value_and_reports_the_surplus():
    base = solve(instance(**HAND), "min-cost")
    r = solve(instance(**HAND), "min-cost", spend="all")
    assert base.summary["objective_value"] == pytest.approx(20.0)
    assert r.summary["objective_value"] == pytest.approx(20.0)       # the least cost, not 100
    assert r.summary["budget_used"] == pytest.approx(100.0)
    assert r.summary["surplus"]["spent"] == pytest.approx(80.0)
    assert transfers(r) == pytest.approx([47.5, 17.5, 35.0], abs=1e-6)


@pytest.mark.parametrize("objective", ["min-range", "min-gini", "min-mad"])
def test_an_objective_that_would_worsen_blocks_the_surplus(objective):
    # r1 cannot receive (cap 0) and sits at 0.9: the best range/Gini lifts r0 to exactly 0.9 (40);
    # any more money raises r0 above r1 and worsens the objective: 60 stays unspent
    inst = instance([50, 90], [100, 100], budget=100, threshold=0.0, cap=[np.nan, 0])
    base = solve(inst, objective)
    r = solve(inst, objective, spend="all")
    assert transfers(r) == pytest.approx([40, 0], abs=1e-5)
    assert r.summary["objective_value"] == pytest.approx(base.summary["objective_value"], abs=1e-7)
    su = r.summary["surplus"]
    assert su["unspent"] == pytest.approx(60.0, abs=1e-4)
    assert "objective" in su["blocked_by"]


def test_a_policy_row_blocks_and_is_named():
    # per-capita cap 30 (KRW billion a head x 1e9 = KRW): one person each, so T_r <= 30
    inst = instance([20, 50, 100], [100, 100, 200], budget=200, threshold=0.4)
    r = solve(inst, "maxmin", spend="all", policy=PolicyConfig(per_capita_cap=30e9))
    assert transfers(r) == pytest.approx([30, 30, 30], abs=1e-6)
    su = r.summary["surplus"]
    assert su["unspent"] == pytest.approx(110.0, abs=1e-5)
    assert su["blocked_by"] == "per-capita"     # its rows; no cap in regions.csv, so not max_transfer


def test_fill_is_the_rule_closed_form():
    a, b = np.array([1.0, 2.0, 1.0]), np.array([0.0, 0.0, 0.0])
    e = fill(a, b, np.array([np.inf, 1.0, np.inf]), 9.0)
    assert e == pytest.approx([4.0, 1.0, 4.0]) and math.fsum(e) == pytest.approx(9.0)
    assert fill(a, b, np.array([1.0, 1.0, 1.0]), 9.0) == pytest.approx([1, 1, 1])


# --- random instances, every objective --------------------------------------------------------

OBJECTIVES = ["maxmin", "leximin", "min-shortfall", "max-mean", "min-range", "min-mad", "min-gini",
              "owa", "cvar", "log-welfare", "min-cost"]


@st.composite
def rounds(draw):
    n = draw(st.integers(3, 7))
    need = np.array(draw(st.lists(st.floats(50, 500), min_size=n, max_size=n)))
    level = np.array(draw(st.lists(st.floats(0.2, 1.2), min_size=n, max_size=n)))
    pop = draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n))
    capped = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    cap = [float(draw(st.floats(5, 300))) if c else np.nan for c in capped]
    own = level * need
    threshold = draw(st.floats(0.3, 0.8))
    least = float(np.sum(np.maximum(0, threshold * need - own)))
    budget = least * draw(st.floats(1.0, 2.5)) + draw(st.floats(1, 200))
    rule = draw(st.sampled_from(["maxmin", "proportional", "per-capita"]))
    # half the rounds with a policy row (the LP stage): a per-capita cap of 0.05-2 KRW billion a head
    policy = PolicyConfig(per_capita_cap=draw(st.floats(0.05, 2.0)) * 1e9) if draw(st.booleans()) else None
    return instance(list(own), list(need), pop, budget, threshold, cap), rule, policy


@pytest.mark.parametrize("objective", OBJECTIVES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=rounds())
def test_spend_all_keeps_the_objective_and_spends_the_budget(objective, case):
    inst, rule, policy = case
    opts = dict(objective=objective, objective_options={"thresholds": "auto"}, policy=policy)
    try:
        base = solve_round(inst, SolveOptions(**opts))
    except InfeasibleError:
        return
    r = solve_round(inst, SolveOptions(**opts, spend="all", surplus=rule))
    s, su = r.summary, r.summary["surplus"]
    tol = 1e-6 * max(1.0, abs(base.summary["objective_value"]))
    if objective == "min-cost":
        tol = 1e-6 * max(1.0, inst.budget)
    assert s["objective_value"] == pytest.approx(base.summary["objective_value"], abs=tol)
    assert np.all(transfers(r) >= transfers(base) - 1e-6)        # on top of the optimum
    money_tol = 1e-6 * max(s["scale"], inst.budget / 1e3)
    if su["unspent"] == 0.0:
        assert s["budget_used"] == pytest.approx(inst.budget, abs=money_tol)
    else:
        assert su["blocked_by"]
        assert s["budget_used"] + su["unspent"] == pytest.approx(inst.budget, abs=money_tol)
    assert s["verified"]["ok"]


# --- multi-year, the instance key, the CLI, verify ----------------------------------------------

def test_multi_year_rounds_pay_out_each_year(tmp_path):
    r = solve_round(load_instance(INSTANCES / "toy-3"),
                    SolveOptions(objective="min-cost", spend="all", threshold=0.5), years=3)
    base = solve_round(load_instance(INSTANCES / "toy-3"), SolveOptions(objective="min-cost", threshold=0.5),
                       years=3)
    assert any(y["budget_used"] < y["budget"] - 1e-6 for y in base.summary["years"])
    for y in r.summary["years"]:
        assert y["budget_used"] == pytest.approx(y["budget"], abs=1e-6)
        assert y["surplus_unspent"] == 0.0
    assert r.summary["objective_value"] == pytest.approx(base.summary["objective_value"], abs=1e-6)


def test_instance_key_and_its_validation(tmp_path):
    rows = [{"region_id": "a", "name": "A", "population": 1, "own_revenue": 20, "fiscal_need": 100},
            {"region_id": "b", "name": "B", "population": 3, "own_revenue": 50, "fiscal_need": 100}]
    folder = tmp_path / "i"
    write_instance(folder, rows, budget=100, threshold=0.4)
    toml = (folder / "instance.toml").read_text().replace("total = 100", 'total = 100\nspend = "all"\n'
                                                                          'surplus = "per-capita"')
    (folder / "instance.toml").write_text(toml)
    inst = load_instance(folder)
    assert (inst.spend, inst.surplus) == ("all", "per-capita")
    r = solve_round(inst, SolveOptions(objective="min-cost"))
    assert r.summary["budget_used"] == pytest.approx(100.0) and r.summary["surplus"]["rule"] == "per-capita"
    r = solve_round(inst, SolveOptions(objective="min-cost", spend="least"))   # the CLI overrides it
    assert r.summary["budget_used"] == pytest.approx(20.0)
    (folder / "instance.toml").write_text(toml.replace('spend = "all"', 'spend = "al"'))
    out = cli("solve", folder)
    assert out.exit_code == 2 and "budget.spend" in out.output and "'all'" in out.output


def test_korea17_pays_out_its_ordinary_grant(tmp_path):
    inst = load_instance(INSTANCES / "korea-17")
    assert inst.spend == "all"
    out = cli("solve", INSTANCES / "korea-17", "-o", "min-shortfall", "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["budget_used"] == pytest.approx(s["budget"], abs=1e-6)
    assert s["surplus"]["spent"] == pytest.approx(s["budget"] - 56237.16668, abs=1e-3)
    assert "spend all:" in out.output and "the whole budget is paid out" in out.output
    ver = cli("verify", INSTANCES / "korea-17", tmp_path / "o" / "allocation.csv", "--spend", "all")
    assert ver.exit_code == 0, ver.output
    assert "spend all: the whole budget is paid out" in ver.output


def test_verify_rejects_a_spend_all_allocation_with_money_left(tmp_path):
    out = cli("solve", INSTANCES / "korea-17", "-o", "min-cost", "--spend", "least", "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    alloc = tmp_path / "o" / "allocation.csv"
    left = 59843.956 - sum(float(x["transfer"]) for x in csv.DictReader(alloc.open(encoding="utf-8")))
    assert left > 3000
    plain = cli("verify", INSTANCES / "korea-17", alloc, "--spend", "least")
    assert plain.exit_code == 0, plain.output
    ver = subprocess.run([*EQUALIZE, "verify", str(INSTANCES / "korea-17"), str(alloc)],   # [budget] spend = "all"
                         capture_output=True, text=True)
    assert ver.returncode == 1
    assert "budget not spent" in ver.stdout and f"{left:.6g}" in ver.stdout


def test_batch_spec_spend_key_and_api_value_check(tmp_path):
    from optimizer.studies.batch import load_spec, run_batch

    spec = tmp_path / "spec.toml"
    spec.write_text(f'instances = ["{INSTANCES / "toy-3"}"]\n'
                    'objectives = [{ name = "min-cost", spend = "all", surplus = "proportional" }, "min-cost"]\n'
                    '[sweep]\nthreshold = { from = 0.5, to = 0.5, points = 1 }\n')
    runs, _ = run_batch(load_spec(spec), tmp_path / "out", jobs=1)
    budget = load_instance(INSTANCES / "toy-3").budget
    assert runs.budget_used.iloc[0] == pytest.approx(budget)          # paid out
    assert runs.budget_used.iloc[1] < budget - 1                        # the least cost
    assert runs.objective_value.iloc[0] == pytest.approx(runs.objective_value.iloc[1])
    spec.write_text(spec.read_text().replace('spend = "all"', 'spend = "everything"'))
    with pytest.raises(Exception, match="objectives.min-cost.spend"):
        load_spec(spec)
    with pytest.raises(Exception, match="choose one of least, all"):
        solve_round(load_instance(INSTANCES / "toy-3"), SolveOptions(spend="al"))


def test_compare_and_sweep_take_the_flags():
    out = cli("compare", INSTANCES / "toy-3", "--objectives", "min-cost", "--spend", "all", "-t", "0.5")
    assert out.exit_code == 0, out.output
    row = [ln for ln in out.output.splitlines() if ln.startswith("min-cost")][0].split()
    assert float(row[2]) == pytest.approx(30.0) and float(row[-3]) == pytest.approx(60.0)   # value, budget used
    out = cli("sweep", INSTANCES / "toy-3", "-o", "min-cost", "--budget", "60:100:3", "-t", "0.5", "--spend", "all")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "mode: persistent" in lines[0]     # the persistent model's optimum, then the surplus stage
    used = [float(ln.split()[9]) for ln in lines[2:5]]
    assert used == pytest.approx([60.0, 80.0, 100.0])


def test_verify_justifies_money_the_objective_blocks(tmp_path):
    rows = [{"region_id": "a", "name": "A", "population": 1, "own_revenue": 50, "fiscal_need": 100},
            {"region_id": "b", "name": "B", "population": 1, "own_revenue": 90, "fiscal_need": 100,
             "max_transfer": 0}]
    folder = write_instance(tmp_path / "i", rows, budget=100, threshold=0.0, header=[*rows[1]])
    out = cli("solve", folder, "-o", "min-range", "--spend", "all", "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    # b is at its cap (0) and a cannot rise above b without widening the range: both are named
    assert "60.0 unspent, blocked by max_transfer, objective (spending more would worsen min-range)" in out.output
    alloc = tmp_path / "o" / "allocation.csv"
    ok = cli("verify", folder, alloc, "-o", "min-range", "--spend", "all")
    assert ok.exit_code == 0, ok.output
    assert "spend all: 60 KRW billion left, justified: paying it out (every level raised alike) breaks " \
           "objective value" in ok.output
    # without the objective nothing blocks paying a its 60: the verifier cannot justify the rest
    bad = cli("verify", folder, alloc, "--spend", "all")
    assert bad.exit_code == 1 and "budget not spent" in bad.output
