"""Issue 11, point 4: ``equalize explain INSTANCE --region ID [solve options]``, run as the
real CLI on korea-17: the arithmetic with the numbers, the binding constraints and reason,
and the price statements checked by re-solving."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.engine.solve import SolveOptions, solve
from optimizer.io.load import load_instance
from tests.test_prices import with_threshold

EQUALIZE = Path(sys.executable).parent / "equalize"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EQUALIZE), *args], capture_output=True, text=True, timeout=120)


def test_explain_maxmin_region_arithmetic_and_budget_price(korea17):
    p = run("explain", str(korea17), "--region", "gangwon")
    assert p.returncode == 0, p.stderr
    text = p.stdout
    inst = load_instance(korea17)
    r = solve(inst, SolveOptions(objective="maxmin"))
    row = r.allocation.set_index("region_id").loc["gangwon"]
    # the arithmetic, with the solve's own numbers
    assert (f"transfer = level x need - own revenue = {row.level_after:.4f} x {row.fiscal_need:,.1f} - "
            f"{row.own_revenue:,.1f} = {row.transfer:,.1f} KRW billion") in text
    assert abs(row.level_after * row.fiscal_need - row.own_revenue - row.transfer) < 1e-6
    assert "Binding constraints: floor; reason: lifted to the common level 0.9418" in text
    # +1% budget: the sentence's change is what a re-solve gives (maxmin is linear here)
    m = re.search(r"\+1% budget \(598 KRW billion\) raises the minimum level by ([0-9]+\.[0-9]+)", text)
    assert m
    up = solve(inst, SolveOptions(objective="maxmin", budget=1.01 * inst.budget))
    change = up.summary["objective_value"] - r.summary["objective_value"]
    assert float(m.group(1)) == pytest.approx(change, rel=1e-3)


def test_explain_min_cost_threshold_cost_is_a_re_solve(korea17):
    p = run("explain", str(korea17), "--region", "busan", "-o", "min-cost")
    assert p.returncode == 0, p.stderr
    m = re.search(r"raising its threshold by 0\.01 raises the least total transfer by ([0-9,.]+) KRW billion",
                  p.stdout)
    assert m, p.stdout
    inst = load_instance(korea17)
    base = solve(inst, SolveOptions(objective="min-cost")).summary["objective_value"]
    k = list(inst.regions["region_id"]).index("busan")
    raised = solve(with_threshold(inst, k, inst.threshold + 0.01), SolveOptions(objective="min-cost"))
    assert float(m.group(1).replace(",", "")) == pytest.approx(raised.summary["objective_value"] - base, abs=0.06)
    # korea-17 pays the whole pool out (spend = "all"): the surplus comes on top of the threshold
    assert "reason: held at its threshold 0.92; then raised to 0.9418 by its share of the surplus" in p.stdout
    least = run("explain", str(korea17), "--region", "busan", "-o", "min-cost", "--spend", "least")
    assert "Binding constraints: threshold; reason: held at its threshold 0.92." in least.stdout


def test_explain_soft_shortfall_and_solve_options(korea17):
    p = run("explain", str(korea17), "--region", "gangwon", "-o", "min-shortfall", "--budget", "0.9x")
    assert p.returncode == 0, p.stderr
    assert "budget 53,859.6 KRW billion" in p.stdout
    assert "below its threshold 0.92 by 0.1927" in p.stdout
    assert "+1% budget (539 KRW billion) lowers the weighted shortfall by 0.0013" in p.stdout


def test_explain_unknown_region_exit_2_with_nearest(korea17):
    p = run("explain", str(korea17), "--region", "busn")
    assert p.returncode == 2
    assert p.stderr.strip() == "error: --region: unknown region 'busn'; did you mean 'busan'?"
    assert p.stdout == ""
    p = run("explain", str(korea17), "--region", "zzzzzz")
    assert p.returncode == 2 and "unknown region 'zzzzzz'" in p.stderr and "did you mean" not in p.stderr


def test_solve_explain_table(korea17):
    p = run("solve", str(korea17), "-o", "min-cost", "--hold-harmless", "0.5", "--explain")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("per-region prices and reasons"))
    header = lines[start + 1]
    for col in ("region", "level", "threshold", "dual", "binding", "reason"):
        assert col in header
    jeju = next(ln for ln in lines[start:] if ln.startswith("jeju"))
    prior = load_instance(korea17).regions.set_index("region_id").loc["jeju", "prior_transfer"]
    assert "hold_harmless" in jeju and f"hold-harmless: 50% of last year's {prior:,.1f}" in jeju
    busan = next(ln for ln in lines[start:] if ln.startswith("busan"))
    assert "1.219e+04" in busan and "held at its threshold 0.92" in busan


def test_explain_phased_round_one_paragraph_per_year(korea17):
    p = run("explain", str(korea17), "--region", "gangwon", "--years", "2", "--thresholds", "auto")
    assert p.returncode == 0, p.stderr
    paragraphs = p.stdout.strip().split("\n\n")
    assert [q.split(",")[0] for q in paragraphs] == ["gangwon (Gangwon) in 2024", "gangwon (Gangwon) in 2025"]
    # the total budget's row is implied by the year rows: no single price, and it says so
    assert all("no single price for the total budget of a phased round" in q for q in paragraphs)
