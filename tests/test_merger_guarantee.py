"""Issue 11, point 5: merger runs say whether the merger guarantee bound and by how much
(summary.json ``merger_guarantee``, one line on screen), on hand-solved cases and korea-17."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.prepare.merge import guarantee_effect, guarantee_text
from tests.conftest import INSTANCES, write_instance


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


ROWS = [{"region_id": "a", "name": "A", "population": 10, "own_revenue": 20, "fiscal_need": 100, "prior_transfer": 30},
        {"region_id": "b", "name": "B", "population": 10, "own_revenue": 60, "fiscal_need": 100, "prior_transfer": 30},
        {"region_id": "c", "name": "C", "population": 10, "own_revenue": 30, "fiscal_need": 100, "prior_transfer": 0}]


def test_the_guarantee_binds_and_says_by_how_much(tmp_path):
    # maxmin, budget 60, threshold 0: merged a+b (own 80, need 200, prior 60) and c (own 30, need 100).
    # Without the guarantee: common level z with (200 z - 80) + (100 z - 30) = 60 -> z = 170/300,
    # T_ab = 200 z - 80 = 33.33..., T_c = 26.66...; the guarantee T_ab >= 60 binds and takes all 60
    # (T_c = 0): it adds 60 - 33.33 = 26.67.
    inst = write_instance(tmp_path / "i", ROWS, budget=60, threshold=0.0)
    out = cli("solve", inst, "--merge", "a,b", "--merger-guarantee", "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    g = json.loads((tmp_path / "o" / "summary.json").read_text())["merger_guarantee"]
    assert len(g) == 1 and g[0]["region_id"] == "a+b" and g[0]["binds"] is True
    assert g[0]["guaranteed"] == pytest.approx(60.0) and g[0]["transfer"] == pytest.approx(60.0)
    assert g[0]["transfer_without_guarantee"] == pytest.approx(200 * 170 / 300 - 80)
    assert g[0]["guarantee_adds"] == pytest.approx(60 - (200 * 170 / 300 - 80))
    lines = [ln for ln in out.output.splitlines() if ln.startswith("merger guarantee:")]
    assert len(lines) == 1 and "binds for a+b" in lines[0] and "+26.7" in lines[0]


def test_a_guarantee_that_does_not_bind_says_how_far_above(tmp_path):
    # budget 200: z with (200 z - 80) + (100 z - 30) = 200 -> z = 310/300, T_ab = 126.67 > 60
    inst = write_instance(tmp_path / "i", ROWS, budget=200, threshold=0.0)
    out = cli("solve", inst, "--merge", "a,b", "--merger-guarantee", "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    g = json.loads((tmp_path / "o" / "summary.json").read_text())["merger_guarantee"][0]
    assert g["binds"] is False and g["guarantee_adds"] == 0.0
    assert g["above_guarantee"] == pytest.approx(200 * 310 / 300 - 80 - 60)
    assert "does not bind for a+b" in out.output and "66.7" in out.output


def test_no_guarantee_no_report(tmp_path):
    inst = write_instance(tmp_path / "i", ROWS, budget=60, threshold=0.0)
    out = cli("solve", inst, "--merge", "a,b", "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    assert "merger_guarantee" not in json.loads((tmp_path / "o" / "summary.json").read_text())
    assert "merger guarantee:" not in out.output


def test_korea17_busan_gyeongnam(tmp_path):
    out = cli("solve", INSTANCES / "korea-17", "--merge", "busan,gyeongnam", "--merger-guarantee",
              "--output", tmp_path / "o")
    assert out.exit_code == 0, out.output
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    g = s["merger_guarantee"][0]
    alloc = pd.read_csv(tmp_path / "o" / "allocation.csv")
    row = alloc[alloc.region_id == "busan+gyeongnam"].iloc[0]
    assert g["guaranteed"] == pytest.approx(row.prior_transfer) and g["transfer"] == pytest.approx(row.transfer)
    assert g["binds"] == (row.transfer <= row.prior_transfer + 1e-6)
    assert "merger guarantee:" in out.output


def test_guarantee_effect_reads_years():
    merged = pd.DataFrame({"year": [1, 1, 2, 2], "region_id": ["a+b", "c"] * 2, "merged_from": ["a+b", ""] * 2,
                           "prior_transfer": [10.0, 5.0, 10.0, 5.0], "transfer": [10.0, 3.0, 12.0, 3.0]})
    free = merged.assign(transfer=[7.0, 6.0, 12.0, 3.0])
    g = guarantee_effect(merged, free, 1e-9)
    assert [(x["year"], x["binds"], x["guarantee_adds"], x["above_guarantee"]) for x in g] == [
        (1, True, 3.0, 0.0), (2, False, 0.0, 2.0)]
    assert "binds for a+b (1)" in guarantee_text(g, "KRW") and "does not bind for a+b (2)" in guarantee_text(g, "KRW")
