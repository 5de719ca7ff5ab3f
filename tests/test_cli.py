"""The CLI end to end: CliRunner for the commands, one real subprocess of the installed
``equalize``."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimizer.cli import main
from optimizer.core.version import __version__
from optimizer.io.load import load_instance

SUMMARY_KEYS = {"status", "objective", "objective_value", "budget", "budget_used", "min_level",
                "max_level", "regions_below_threshold", "required_budget", "solver", "solve_seconds",
                "instance"}
ALLOC_KEYS = ["region_id", "name", "population", "own_revenue", "fiscal_need", "threshold", "transfer",
              "transfer_per_capita", "level_before", "level_after", "shortfall"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_solve_table(toy3):
    res = run("solve", toy3)
    assert res.exit_code == 0
    assert "status: optimal" in res.output and "maxmin = 0.7" in res.output
    assert "TOTAL" in res.output and "Alpha" in res.output


def test_solve_output_files(korea17, tmp_path):
    res = run("solve", korea17, "--output", tmp_path)
    assert res.exit_code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["status"] == "optimal" and summary["solver"]["name"] == "HiGHS"
    assert summary["instance"]["sha256"] == load_instance(korea17).sha256
    rows = list(csv.DictReader(io.StringIO((tmp_path / "allocation.csv").read_text())))
    assert list(rows[0])[: len(ALLOC_KEYS) + 1][:3] == ALLOC_KEYS[:3]
    assert set(ALLOC_KEYS) <= set(rows[0])
    assert [r["region_id"] for r in rows] == list(load_instance(korea17).regions.region_id)
    assert sum(float(r["transfer"]) for r in rows) == pytest.approx(summary["budget_used"])
    assert "name_ko" in rows[0]  # unknown input columns pass through


def test_same_input_byte_identical(korea17, tmp_path):
    for obj in ("maxmin", "min-shortfall"):
        run("solve", korea17, "-o", obj, "--threshold", "0.9", "--output", tmp_path / "a")
        run("solve", korea17, "-o", obj, "--threshold", "0.9", "--output", tmp_path / "b")
        assert (tmp_path / "a" / "allocation.csv").read_bytes() == (tmp_path / "b" / "allocation.csv").read_bytes()


def test_infeasible_exit_1_with_summary(toy3, tmp_path):
    (tmp_path / "allocation.csv").write_text("stale")
    res = CliRunner().invoke(main, ["solve", str(toy3), "--threshold", "0.8", "--output", str(tmp_path)])
    assert res.exit_code == 1
    assert "20 KRW billion missing" in res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "infeasible" and summary["required_budget"] == pytest.approx(80)
    assert not (tmp_path / "allocation.csv").exists()


def test_formats(toy3):
    out = run("solve", toy3, "--format", "csv").output
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [float(r["transfer"]) for r in rows] == pytest.approx([50, 10, 0])
    payload = json.loads(run("solve", toy3, "--format", "json").output)
    assert payload["summary"]["objective_value"] == pytest.approx(0.7)
    assert len(payload["allocation"]) == 3


def test_budget_multiple(toy3):
    payload = json.loads(run("solve", toy3, "--budget", "0.5x", "--format", "json").output)
    assert payload["summary"]["budget"] == pytest.approx(30)


def test_other_commands(tmp_path):
    assert "maxmin" in run("objectives").output
    assert __version__ in run("--version").output
    for cmd in ("solve", "validate", "objectives", "generate"):
        assert "Example" in run(cmd, "--help").output
    res = run("generate", "--regions", "50", "--seed", "3", tmp_path / "g")
    assert res.exit_code == 0
    inst = load_instance(tmp_path / "g")
    assert inst.n == 50
    assert "ok:" in run("validate", tmp_path / "g").output
    run("generate", "--regions", "50", "--seed", "3", tmp_path / "h")
    assert (tmp_path / "g" / "regions.csv").read_bytes() == (tmp_path / "h" / "regions.csv").read_bytes()
    assert run("solve", tmp_path / "g").exit_code == 0


def test_installed_console_script(korea17, tmp_path):
    exe = Path(sys.executable).with_name("equalize")
    assert exe.exists(), "the package must be installed (make install)"
    proc = subprocess.run([str(exe), "solve", str(korea17), "--output", str(tmp_path), "--format", "csv"],
                          capture_output=True, text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith("region_id,name,population")
    assert "Running HiGHS" not in proc.stdout  # the banner must not corrupt CSV on stdout
    assert (tmp_path / "allocation.csv").read_text() == proc.stdout
    bad = subprocess.run([str(exe), "solve", str(tmp_path / "missing")], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_no_fast_path_gives_the_same_answer_through_the_lp(korea17):
    fast = json.loads(run("solve", korea17, "--format", "json").stdout)["summary"]
    lp = json.loads(run("solve", korea17, "--format", "json", "--no-fast-path").stdout)["summary"]
    assert fast["solved_by"].startswith("water-filling") and "solved_by" not in lp
    assert fast["objective_value"] == pytest.approx(lp["objective_value"], rel=1e-12)
    assert fast["budget_shadow_price"] == pytest.approx(lp["budget_shadow_price"], rel=1e-9)


@pytest.mark.parametrize("command, files", [
    (["sweep", "--budget", "0.5x:1.5x:5", "--plot"], ["frontier.csv", "allocations.parquet", "frontier.png"]),
    (["compare", "--objectives", "maxmin,min-cost", "--plot"], ["compare.csv", "lorenz.png", "levels.png"]),
    (["solve"], ["allocation.csv", "summary.json"]),
])
def test_files_are_written_before_stdout_is_used(tmp_path, command, files):
    """`equalize sweep ... --output DIR | head`: a reader that closes the pipe early must not
    cost the files (they are written before anything is printed)."""
    exe = Path(sys.executable).with_name("equalize")
    out = tmp_path / "out"
    args = [str(exe), command[0], str(Path(__file__).parents[1] / "instances" / "toy-3"), *command[1:],
            "--output", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdout.close()   # the reader is gone before the command prints anything
    proc.wait(timeout=120)
    for name in files:
        assert (out / name).exists(), name
