"""bench/ratios.py and bench/floor.py: the path and certificate read from real summaries,
and the per-run measurement (time, the child's own peak memory, the cap)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bench.ratios import certificate_of, path_of
from bench.threshold_modes import cells
from optimizer.cli import main

ROOT = Path(__file__).resolve().parent.parent

KOREA = Path(__file__).resolve().parents[1] / "instances" / "korea-17"


def summary(objective: str, *flags: str) -> dict:
    res = CliRunner().invoke(main, ["solve", str(KOREA), "-o", objective, "--format", "json",
                                    "--no-price-of-fairness", *flags], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["summary"]


def test_path_and_certificate_from_real_summaries():
    s = summary("maxmin")
    assert path_of(s).startswith("closed form: water-filling") and certificate_of(s).startswith("yes")
    s = summary("maxmin", "--no-fast-path")
    assert path_of(s) == "LP"
    s = summary("leximin", "--no-fast-path")
    assert path_of(s).startswith("LP (") and "stages" in path_of(s)
    s = summary("min-gini")
    assert path_of(s).startswith("decomposition") and certificate_of(s).startswith("yes")


def test_run_measured_peak_memory_and_cap():
    # measured from a fresh, small parent as the bench runs it: Linux carries the parent's resident
    # set into a fork's ru_maxrss, so inside a large test worker even `python -c pass` reads 300 MB
    probe = r"""
import json, sys
from bench.floor import run_measured
big = run_measured([sys.executable, "-c", "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096])"])
small = run_measured([sys.executable, "-c", "pass"])
slow = run_measured([sys.executable, "-c", "import time; time.sleep(30)"], cap=1.0)
print(json.dumps([big, small, slow]))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    big, small, slow = json.loads(out.stdout)
    assert big["code"] == 0 and big["peak_mb"] >= 200 > small["peak_mb"]
    assert slow["timed_out"] and slow["seconds"] < 10


def test_group_floor_mode_builds_an_instance_whose_group_rows_bind(tmp_path):
    """The hh0.9+no+group mode's copy validates, its group floors are met, and they bind (each is
    above the group's level in the maxmin answer without them; lifting one group can lift another
    through the no-overtaking chain, so not every one need bind)."""
    from bench.ratios import GROUP_SIZE, GROUPS, POLICY, with_groups

    src = tmp_path / "n1000"
    assert CliRunner().invoke(main, ["generate", "--regions", "1000", "--seed", "3", str(src)]).exit_code == 0
    folder = with_groups(src)
    assert folder.name == "n1000-groups" and with_groups(src) == folder   # built once
    members = (folder / "groups.csv").read_text().splitlines()[1:]
    assert len(members) == GROUPS * min(GROUP_SIZE, 10) == len({m.split(",")[1] for m in members})
    res = CliRunner().invoke(main, ["solve", str(folder), "-o", "maxmin", *POLICY, "--no-price-of-fairness",
                                    "--output", str(tmp_path / "out")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    with open(tmp_path / "out" / "allocation.csv", newline="") as f:
        alloc = {r["region_id"]: r for r in csv.DictReader(f)}
    floors = re.findall(r"\[groups\.(g\d)\]\nmin_level = ([0-9.]+)", (folder / "instance.toml").read_text())
    assert len(floors) == GROUPS
    gaps = []
    for g, floor in floors:
        rows = [alloc[m.split(",")[1]] for m in members if m.startswith(f"{g},")]
        level = sum(float(r["own_revenue"]) + float(r["transfer"]) for r in rows) / sum(
            float(r["fiscal_need"]) for r in rows)
        gaps.append(level - float(floor))
    assert min(gaps) >= -1e-6 and sum(abs(gap) <= 1e-6 for gap in gaps) >= 2   # all met, some binding


def test_the_bench_runs_every_lp_objective_and_no_formula():
    from bench.ratios import objectives

    names = objectives()
    assert {"maxmin", "leximin", "min-gini", "owa", "cvar", "min-mad", "log-welfare"} <= set(names)
    assert not {"korea-lst", "canada", "per-capita"} & set(names)


def test_threshold_modes_table_marks_the_2x_target():
    """bench/threshold_modes.py: a row within 2x maxmin (same mode) reads "yes", past it "NO",
    a run past the cap is counted as missed, a failed run shows its path (the error)."""
    ref = {"seconds": 2.0, "peak_mb": 100.0, "timed_out": False, "code": 0}
    ok = {"seconds": 3.9, "peak_mb": 110.0, "timed_out": False, "code": 0, "path": "closed form", "certificate": "yes"}
    slow = dict(ok, seconds=4.1)
    assert cells(ok, ref, 120)[2:4] == ["1.95x / 1.10x", "yes"]
    assert cells(slow, ref, 120)[3] == "NO"
    assert cells(dict(ok, timed_out=True), ref, 120)[0] == "> 120 s"
    assert cells(dict(ok, code=1, path="failed (exit 1): solver error"), ref, 120)[4].startswith("failed")


def test_output_floor_writes_about_allocation_csvs_bytes(tmp_path):
    """The output floor's table (bench/floor.py, decision 70) stands for allocation.csv: on a
    generated instance its CSV is within 15% of the bytes `equalize solve -o maxmin` writes."""
    from bench.floor import FLOOR_CHILD

    src = tmp_path / "n6000"
    assert CliRunner().invoke(main, ["generate", "--regions", "6000", "--seed", "0", str(src)]).exit_code == 0
    res = CliRunner().invoke(main, ["solve", str(src), "-o", "maxmin", "--output", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    kept = tmp_path / "floor.csv"
    subprocess.run([sys.executable, "-c", FLOOR_CHILD, str(src / "regions.csv"), "optimizer.cli", "allocation",
                    str(kept)], check=True, cwd=ROOT)
    real = (tmp_path / "out" / "allocation.csv").stat().st_size
    assert 0.85 * real <= kept.stat().st_size <= 1.15 * real
    with open(kept, newline="") as f:
        header = next(csv.reader(f))
    assert header[-1] == "reason" and len(header) == 17
