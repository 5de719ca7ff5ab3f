"""Issue 11, point 5: change against last year (change, change_pct, change_vs_prior), on
hand-computed cases: toy-3 (prior 40, 10, 0), korea-17, services and phased rounds."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.engine.lastyear import change_columns, change_summary
from optimizer.io.load import load_instance

EQ = str(Path(sys.executable).with_name("equalize"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EQ, *args], capture_output=True, text=True, timeout=300)


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_toy3_change_columns_by_hand(toy3, tmp_path):
    # maxmin on toy-3: transfers 50, 10, 0 (level 0.7 for a and b); prior 40, 10, 0
    r = run("solve", str(toy3), "--output", str(tmp_path / "o"), "--format", "csv")
    assert r.returncode == 0, r.stderr
    got = rows(r.stdout)
    assert [float(x["change"]) for x in got] == [10.0, 0.0, 0.0]
    assert [x["change_pct"] for x in got] == ["25", "0", ""]      # empty where the prior is 0
    header = r.stdout.splitlines()[0].split(",")
    assert header.index("change") == header.index("transfer") + 1
    assert header.index("change_pct") == header.index("change") + 1
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    c = s["change_vs_prior"]
    assert (c["winners"], c["losers"], c["unchanged"]) == (1, 0, 2)
    assert c["largest_gains"] == [{"region": "a", "change": 10.0, "change_pct": 25.0}]
    assert c["largest_losses"] == []
    assert c["total_change"] == 10.0 and c["tolerance"] > 0


def test_toy3_table_footer(toy3):
    r = run("solve", str(toy3))
    assert r.returncode == 0, r.stderr
    assert "change vs last year (prior_transfer): 1 up, 0 down, 2 unchanged" in r.stdout
    assert "largest gains: a +10.0 (+25.0%)" in r.stdout


def test_korea17_change_matches_its_prior(korea17, tmp_path):
    r = run("solve", str(korea17), "--output", str(tmp_path / "o"), "--format", "csv")
    assert r.returncode == 0, r.stderr
    got = rows(r.stdout)
    prior = {x["region_id"]: float(x["prior_transfer"])
             for x in csv.DictReader((korea17 / "regions.csv").open(encoding="utf-8"))}
    for x in got:
        ch = float(x["transfer"]) - prior[x["region_id"]]
        assert float(x["change"]) == pytest.approx(ch, abs=1e-9)
        assert float(x["change_pct"]) == pytest.approx(100 * ch / prior[x["region_id"]], rel=1e-9)
    s = json.loads((tmp_path / "o" / "summary.json").read_text())["change_vs_prior"]
    changes = sorted(((float(x["change"]), x["region_id"]) for x in got), reverse=True)
    assert s["winners"] == sum(c > 0 for c, _ in changes)
    assert s["losers"] == sum(c < 0 for c, _ in changes)
    assert s["winners"] + s["losers"] + s["unchanged"] == 17
    assert [g["region"] for g in s["largest_gains"]] == [rid for _, rid in changes[:3]]
    # like for like (SOURCES.md): the prior is on the ordinary-grant basis, so the changes only
    # redistribute a pool of the same size (17 figures rounded to 0.001 each)
    assert abs(s["total_change"]) < 17 * 0.0005 + 0.002
    assert [g["region"] for g in s["largest_losses"]] == [rid for _, rid in changes[::-1][:3]]
    assert s["total_prior"] == pytest.approx(sum(prior.values()))
    assert s["total_change"] == pytest.approx(s["total_transfer"] - s["total_prior"])


def test_change_pct_empty_where_prior_missing_or_zero():
    ch, pct = change_columns([5.0, 5.0, 5.0], [0.0, float("nan"), 4.0])
    assert ch[0] == 5.0 and math.isnan(ch[1]) and ch[2] == 1.0
    assert math.isnan(pct[0]) and math.isnan(pct[1]) and pct[2] == 25.0
    s = change_summary(["x", "y", "z"], [5.0, 5.0, 5.0], [0.0, float("nan"), 4.0])
    assert (s["winners"], s["losers"], s["unchanged"], s["without_prior"]) == (2, 0, 0, 1)
    assert s["largest_gains"][0] == {"region": "x", "change": 5.0, "change_pct": None}
    assert change_summary(["x"], [1.0], [float("nan")]) is None


def test_ties_in_the_largest_gains_follow_region_order():
    s = change_summary(["a", "b", "c", "d"], [3.0, 3.0, 3.0, 3.0], [1.0, 1.0, 1.0, 1.0])
    assert [g["region"] for g in s["largest_gains"]] == ["a", "b", "c"]


def test_services_round_has_the_change(tmp_path):
    inst = Path(__file__).resolve().parent.parent / "instances" / "toy-services"
    r = run("solve", str(inst), "--output", str(tmp_path / "o"), "--format", "csv")
    assert r.returncode == 0, r.stderr
    for x in rows(r.stdout):
        assert float(x["change"]) == pytest.approx(float(x["transfer"]) - float(x["prior_transfer"]))
    assert "change_vs_prior" in json.loads((tmp_path / "o" / "summary.json").read_text())


def test_phased_change_first_year_vs_prior_then_year_over_year(toy3, tmp_path):
    r = run("solve", str(toy3), "--years", "3", "--budget-growth", "0.1", "--output", str(tmp_path / "o"),
            "--format", "csv")
    assert r.returncode == 0, r.stderr
    got = rows(r.stdout)
    by = {(x["year"], x["region_id"]): float(x["transfer"]) for x in got}
    prior = {"a": 40.0, "b": 10.0, "c": 0.0}
    for x in got:
        y, rid = int(x["year"]), x["region_id"]
        prev = prior[rid] if y == 2024 else by[(str(y - 1), rid)]
        assert float(x["change"]) == pytest.approx(by[(x["year"], rid)] - prev, abs=1e-9)
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["change_vs_prior"] == s["years"][0]["change_vs_previous"]
    assert s["years"][0]["change_vs_previous"]["against"] == "prior_transfer"
    assert s["years"][1]["change_vs_previous"]["against"] == "transfer 2024"
    yoy = s["years"][2]["change_vs_previous"]
    assert yoy["total_change"] == pytest.approx(s["years"][2]["budget_used"] - s["years"][1]["budget_used"])


def test_the_footer_says_when_the_pools_differ_in_size():
    """korea-17's prior_transfer is on its ordinary-grant basis (SOURCES.md: the revealed
    transfer of all kinds scaled to the pool), so a round at the instance's budget compares like
    with like and the footer adds no totals; at 1.2x the pools differ by 20% and it says so."""
    from click.testing import CliRunner

    from optimizer.cli import main

    root = Path(__file__).resolve().parents[1]
    korea = root / "instances" / "korea-17"
    prior = sum(float(x["prior_transfer"]) for x in csv.DictReader((korea / "regions.csv").open(encoding="utf-8")))
    budget = load_instance(korea).budget
    assert prior == pytest.approx(budget, abs=0.01)          # like for like (rounding of 17 figures)
    out = CliRunner().invoke(main, ["solve", str(korea)]).output
    assert "change vs last year" in out and "last year's transfers total" not in out
    out = CliRunner().invoke(main, ["solve", str(korea), "--budget", "1.2x"]).output
    pct = 100 * (1.2 * budget - prior) / prior
    assert f"last year's transfers total {prior:,.1f}, this round's {1.2 * budget:,.1f} ({pct:+.1f}%)" in out
    toy = CliRunner().invoke(main, ["solve", str(root / "instances" / "toy-3"), "--budget", "50"]).output
    assert "change vs last year" in toy and "last year's transfers total" not in toy   # same pool size
