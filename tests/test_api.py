"""The public Python API (optimizer/api.py) against the installed CLI on the same files."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import optimizer
from optimizer import BadInputError, InfeasibleError, compare, load_instance, solve, sweep

ROOT = Path(__file__).resolve().parents[1]
KOREA, TOY = ROOT / "instances" / "korea-17", ROOT / "instances" / "toy-3"
EQUALIZE = str(Path(sys.executable).parent / "equalize")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EQUALIZE, *args], capture_output=True, text=True, cwd=ROOT)


def test_solve_matches_the_cli_allocation_and_summary(tmp_path):
    result = solve(KOREA, objective="min-gini", budget="0.95x", hold_harmless=0.5, thresholds="auto")
    run = cli("solve", str(KOREA), "-o", "min-gini", "--budget", "0.95x", "--hold-harmless", "0.5",
              "--thresholds", "auto", "--output", str(tmp_path))
    assert run.returncode == 0, run.stderr
    written = pd.read_csv(tmp_path / "allocation.csv", keep_default_na=False)
    assert list(result.allocation.columns) == list(written.columns)
    pd.testing.assert_series_equal(result.allocation["transfer"], written["transfer"], check_exact=False,
                                   rtol=0, atol=1e-9)
    assert result.status == "optimal"
    summary = pd.read_json(io.StringIO((tmp_path / "summary.json").read_text()), typ="series")
    assert result.summary["objective_value"] == pytest.approx(summary["objective_value"], abs=1e-12)
    assert result.summary["policy"] == {"hold_harmless": 0.5}


def test_an_instance_object_a_path_and_a_string_give_the_same_answer():
    inst = load_instance(TOY)
    a = solve(inst, objective="maxmin", budget=inst.budget / 2)
    b = solve(str(TOY), objective="maxmin", budget="0.5x")
    pd.testing.assert_frame_equal(a.allocation, b.allocation)


def test_scenarios_and_merges_as_on_the_cli():
    scen = solve(KOREA, scenario="chungcheong-union")
    assert scen.summary["applied"]["scenario"]["name"] == "chungcheong-union"
    merged = solve(KOREA, merges=["busan,gyeongnam"])
    assert len(merged.allocation) == 16 and "busan+gyeongnam" in set(merged.allocation["region_id"])


@pytest.mark.parametrize("kwargs, words", [
    (dict(hold_harmles=0.5), "did you mean 'hold_harmless'"),
    (dict(hold_harmless=-1), "must be >= 0"),
    (dict(budget="lots"), "neither a number"),
    (dict(objective="maxmn"), "unknown objective 'maxmn'"),
    (dict(alpha=5), "alpha must be in (0, 1]"),
    (dict(thresholds="sometimes"), "thresholds must be one of hard, soft, auto"),
])
def test_bad_input_raises_one_exception_type_with_the_cli_message(kwargs, words):
    with pytest.raises(BadInputError, match=None) as info:
        solve(TOY, **kwargs)
    assert words in str(info.value)


def test_a_bad_file_is_the_same_exception_type(tmp_path):
    (tmp_path / "instance.toml").write_text('name = "x"\nunit = "u"\n[budget]\ntotal = 1\n[threshold]\nlevel = 1\n')
    (tmp_path / "regions.csv").write_text("region_id,name,population,own_revenue,fiscal_need\na,A,1,1,zero\n")
    with pytest.raises(BadInputError) as info:
        solve(tmp_path)
    run = cli("solve", str(tmp_path))
    assert run.returncode == 2
    assert str(info.value).splitlines()[0] in run.stderr


def test_an_infeasible_round_raises_with_the_diagnosis():
    with pytest.raises(InfeasibleError) as info:
        solve(TOY, objective="maxmin", threshold=0.99, budget=1.0)
    assert info.value.summary["status"] == "infeasible"
    assert info.value.summary["missing_budget"] > 0


def test_compare_and_sweep_tables():
    c = compare(TOY, ["maxmin", "min-gini", "max-mean"])
    assert list(c.table["objective"]) == ["(before)", "maxmin", "min-gini", "max-mean"]
    assert set(c.table["status"]) == {"input", "optimal"}
    s = sweep(TOY, "0.5x:1.5x:3", objective="maxmin")
    base = load_instance(TOY).budget
    assert list(s.frontier["budget"]) == pytest.approx([0.5 * base, base, 1.5 * base])
    # each frontier point is the solve at that budget
    for _, row in s.frontier.iterrows():
        assert row["objective_value"] == pytest.approx(
            solve(TOY, objective="maxmin", budget=row["budget"]).summary["objective_value"], abs=1e-9)


def test_importing_the_package_does_not_load_the_engine():
    code = ("import sys, optimizer; assert 'optimizer.engine.solve' not in sys.modules; "
            "optimizer.solve; assert 'optimizer.engine.solve' in sys.modules; print(optimizer.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == optimizer.__version__


def test_every_summary_says_which_schema_it_follows(tmp_path):
    assert solve(TOY).summary["schema_version"] == optimizer.SCHEMA_VERSION
    run = cli("solve", str(TOY), "--threshold", "0.99", "--budget", "1", "--output", str(tmp_path))
    assert run.returncode == 1
    infeasible = pd.read_json(io.StringIO((tmp_path / "summary.json").read_text()), typ="series")
    assert infeasible["status"] == "infeasible" and infeasible["schema_version"] == optimizer.SCHEMA_VERSION


def test_the_readme_example_runs_as_written(capsys, monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## Python.*?```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})
    assert "did you mean 'hold_harmless'" in capsys.readouterr().out
