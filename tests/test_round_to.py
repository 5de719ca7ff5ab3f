"""Issue 11, point 5: --round-to UNIT (largest remainder, total kept, each move below UNIT,
bounds kept, deterministic), re-checked by the post-solve check with a money tolerance of UNIT."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer.engine.rounding import as_money, largest_remainder

EQ = str(Path(sys.executable).with_name("equalize"))
UNITS = st.sampled_from([0.001, 0.01, 0.1, 0.25, 1.0, 5.0, 1000.0])
AMOUNTS = st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=40)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EQ, *args], capture_output=True, text=True, timeout=300)


@settings(max_examples=300, deadline=None)
@given(AMOUNTS, UNITS)
def test_total_kept_moves_below_unit_deterministic(t, unit):
    t = np.asarray(t)
    units, k, relaxed = largest_remainder(t, unit)
    assert relaxed == []
    assert int(units.sum()) == k == math.floor(math.fsum(t) / unit + 1e-9 + 1e-12 * math.fsum(t) / unit)
    assert np.all(np.abs(units * unit - t) < unit * (1 + 1e-9))
    again, k2, _ = largest_remainder(t.copy(), unit)
    assert k2 == k and np.array_equal(again, units)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10 ** 6), min_size=1, max_size=30), UNITS)
def test_a_total_that_is_a_multiple_is_kept_exactly(ks, unit):
    # transfers that sum to a whole number of units, split into uneven pieces
    rng = np.random.default_rng(len(ks))
    total = sum(ks)
    w = rng.random(len(ks)) + 0.01
    t = total * unit * w / w.sum()
    units, k, _ = largest_remainder(t, unit)
    assert k == total and int(units.sum()) == total


@settings(max_examples=200, deadline=None)
@given(AMOUNTS, UNITS, st.data())
def test_bounds_kept_where_possible(t, unit, data):
    t = np.asarray(t)
    lo = np.array([data.draw(st.floats(min_value=0, max_value=x)) for x in t])
    hi = np.array([data.draw(st.floats(min_value=x, max_value=x + 3 * unit)) for x in t])
    units, k, relaxed = largest_remainder(t, unit, lo, hi)
    assert int(units.sum()) == k
    ok = np.setdiff1d(np.arange(t.size), relaxed)
    money = units * unit
    slack = 2e-9 * unit + 1e-12 * (lo + hi)  # bounds within 1e-9 UNIT of a multiple count as on it
    assert np.all(money[ok] >= (lo - slack)[ok]) and np.all(money[ok] <= (hi + slack)[ok])


def test_ties_broken_by_region_order():
    units, k, _ = largest_remainder(np.array([0.5, 0.5, 0.5, 0.5]), 1.0)
    assert k == 2 and units.tolist() == [1, 1, 0, 0]


def test_as_money_has_no_binary_noise():
    assert as_money(np.array([12345]), 0.001).tolist() == [12.345]


def test_korea17_round_to_a_million_krw(korea17, tmp_path):
    out = tmp_path / "o"
    r = run("solve", str(korea17), "--round-to", "0.001", "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert "rounded to multiples of 0.001 KRW billion: largest move" in r.stdout
    s = json.loads((out / "summary.json").read_text())
    rd = s["rounding"]
    alloc = list(csv.DictReader(io.StringIO((out / "allocation.csv").read_text())))
    units = [Decimal(x["transfer"]) / Decimal("0.001") for x in alloc]
    assert all(u == u.to_integral_value() for u in units)            # multiples of the unit
    assert sum(int(u) for u in units) == rd["units"]
    assert rd["units"] == math.floor(rd["total_before"] / 0.001 + 1e-6)   # the total kept
    assert 0 < rd["largest_move"] < 0.001 and rd["verified"]["feasible"]
    assert s["budget_used"] == rd["total_after"]
    for x in alloc:
        assert float(x["change"]) == float(x["transfer"]) - float(x["prior_transfer"])


def test_min_cost_rounding_keeps_the_thresholds(korea17, tmp_path):
    r = run("solve", str(korea17), "-o", "min-cost", "--spend", "least", "--round-to", "0.1", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert all(a["level_after"] >= a["threshold"] - 1e-12 for a in d["allocation"])
    rd = d["summary"]["rounding"]
    assert rd["total_before"] <= rd["total_after"] <= d["summary"]["budget"]   # raised to hold the floors
    assert rd["largest_move"] < 0.1


def test_a_unit_that_no_bound_allows_is_refused(tmp_path):
    from tests.conftest import write_instance
    inst = write_instance(tmp_path / "i", [
        {"region_id": "a", "name": "A", "population": 10, "own_revenue": 10, "fiscal_need": 100,
         "min_transfer": 2, "max_transfer": 3},
        {"region_id": "b", "name": "B", "population": 10, "own_revenue": 10, "fiscal_need": 100,
         "min_transfer": 0, "max_transfer": ""}],
        budget=20, threshold=0.0)
    r = run("solve", str(inst), "--round-to", "5", "--output", str(tmp_path / "o"))
    assert r.returncode == 2 and "--round-to 5" in r.stderr and "region(s): a)" in r.stderr
    assert not (tmp_path / "o").exists()


def test_rounding_off_the_optimum_is_not_a_failure(tmp_path):
    from tests.conftest import write_instance
    inst = write_instance(tmp_path / "i", [
        {"region_id": "a", "name": "A", "population": 10, "own_revenue": 10, "fiscal_need": 100,
         "max_transfer": 3},
        {"region_id": "b", "name": "B", "population": 10, "own_revenue": 10, "fiscal_need": 100}],
        budget=20, threshold=0.0)
    r = run("solve", str(inst), "--round-to", "5", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [a["transfer"] for a in d["allocation"]] == [0.0, 5.0]   # 3 + 3 -> one unit of 5, by order
    assert d["summary"]["rounding"]["units"] == 1


def test_bad_units_are_usage_errors(toy3):
    for bad in ("0", "-1", "nan", "inf", "1e20"):
        r = run("solve", str(toy3), "--round-to", bad)
        assert r.returncode == 2 and r.stderr.startswith("error: --round-to"), (bad, r.stderr)
        assert r.stderr.count("\n") == 1
