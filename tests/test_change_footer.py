"""The change footer prints a real figure for a tiny real change (Australia's formula round
differs from the published transfers by rounding only: -0.001 AUD million in total, which
one decimal showed as "-0.0" and each state as "+0.0 (+0.0%)"), and "no change" when the
change is zero within the solver's tolerance; ordinary changes keep their one decimal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.report.tables import change_footer
from optimizer.report.text import NO_CHANGE, signed_figure

ROOT = Path(__file__).resolve().parents[1]


def solve(*args) -> tuple[str, dict]:
    runner = CliRunner()
    table = runner.invoke(main, ["solve", *map(str, args)], prog_name="equalize")
    data = runner.invoke(main, ["solve", *map(str, args), "--format", "json"], prog_name="equalize")
    assert table.exit_code == 0 and data.exit_code == 0, table.stderr + data.stderr
    return table.stdout, json.loads(data.stdout)["summary"]


@pytest.mark.parametrize("x, tol, shown", [
    (10.0, 0.0, "+10.0"), (-5903.123, 0.0, "-5,903.1"), (0.05001, 0.0, "+0.1"),        # one decimal, as before
    (0.000429678139880707, 0.0, "+0.00043"), (-0.0009999999988394848, 0.0, "-0.0010"),
    (9.266040098110447e-06, 0.0, "+0.0000093"), (-0.04, 0.0, "-0.040"),
    (0.0, 0.0, NO_CHANGE), (-0.0, 1e-6, NO_CHANGE), (3e-7, 1e-6, NO_CHANGE), (-1e-6, 1e-6, NO_CHANGE),
    (2e-6, 1e-6, "+0.0000020"),
])
def test_signed_figure(x, tol, shown):
    assert signed_figure(x, tol) == shown


def test_a_tiny_real_change_is_shown_with_its_digits():
    out, s = solve(ROOT / "instances" / "australia-8", "-o", "australia")
    c = s["change_vs_prior"]
    assert abs(c["total_change"]) > c["tolerance"] * 8      # a real change: rounding in the published figures
    footer = next(line for line in out.splitlines() if line.startswith("change vs last year"))
    total = float(re.search(r"; total ([-+][\d.]+)", footer).group(1))
    assert total == pytest.approx(c["total_change"], rel=0.05) and total != 0
    gains = next(line for line in out.splitlines() if line.startswith("largest gains"))
    assert "+0.0 " not in gains and "-0.0 " not in gains and "(+0.0%)" not in gains
    for e in c["largest_gains"] + c["largest_losses"]:
        m = re.search(rf"\b{e['region']} ([-+][\d.]+) \(([-+][\d.]+)%\)", gains)
        assert m, (e, gains)
        assert float(m.group(1)) == pytest.approx(e["change"], rel=0.05) and float(m.group(1)) != 0
        assert float(m.group(2)) == pytest.approx(e["change_pct"], rel=0.05) and float(m.group(2)) != 0


def test_a_change_within_the_tolerance_is_no_change():
    # year 2 of an unchanged two-year phase-in: every region keeps its transfer
    out, s = solve(ROOT / "instances" / "korea-17", "--years", "2")
    c = s["years"][1]["change_vs_previous"]
    assert c["unchanged"] == 17 and abs(c["total_change"]) <= c["tolerance"] * 17
    year = next(line for line in out.splitlines() if line.startswith(f"{s['years'][1]['year']}:"))
    assert year.endswith("17 unchanged, no change in total")
    assert change_footer({"change_vs_prior": {**c, "largest_gains": [], "largest_losses": []}})[0].endswith(
        "; no change in total")


def test_an_ordinary_change_keeps_one_decimal():
    out, _ = solve(ROOT / "instances" / "toy-3")
    assert ("change vs last year (prior_transfer): 1 up, 0 down, 2 unchanged (within 5e-08); total +10.0; "
            "last year's transfers total 50.0, this round's 60.0 (+20.0%)\nlargest gains: a +10.0 (+25.0%)\n") in out


def test_the_html_report_shows_the_same_figure(tmp_path):
    runner = CliRunner()
    for inst, shown in (("australia-8", "(change -0.0010)"), ("toy-3", "(change 10.0)")):
        out = tmp_path / f"{inst}.html"
        args = ["report", ROOT / "instances" / inst, "--output", out] + (["-o", "australia"] if inst[0] == "a" else [])
        res = runner.invoke(main, [str(a) for a in args], prog_name="equalize")
        assert res.exit_code == 0, res.stderr
        summary = re.search(r'id="change-summary">([^<]*)<', out.read_text()).group(1)
        assert summary.endswith(shown), summary
