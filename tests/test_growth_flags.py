"""Issue 11, point 5: --budget-growth, --need-growth, --revenue-growth (the [phasing] keys on
the CLI, with the TOML keys' ranges) and the phased table (units, year labels, per-year metrics)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EQ = str(Path(sys.executable).with_name("equalize"))


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([EQ, *args], capture_output=True, text=True, timeout=300)


def test_flags_give_the_same_round_as_the_toml_keys(toy3, tmp_path):
    inst = tmp_path / "toy"
    shutil.copytree(toy3, inst)
    with (inst / "instance.toml").open("a", encoding="utf-8") as f:
        f.write("\n[phasing]\nyears = 3\nbudget_growth = 0.1\nneed_growth = 0.05\nown_growth = 0.02\n")
    by_toml = run("solve", str(inst), "--format", "csv")
    by_flags = run("solve", str(toy3), "--years", "3", "--budget-growth", "0.1", "--need-growth", "0.05",
                   "--revenue-growth", "0.02", "--format", "csv")
    assert by_toml.returncode == by_flags.returncode == 0, by_flags.stderr
    assert by_toml.stdout == by_flags.stdout
    flat = run("solve", str(toy3), "--years", "3", "--format", "csv")
    assert flat.stdout != by_flags.stdout


def test_a_flag_overrides_the_toml_key(toy3, tmp_path):
    inst = tmp_path / "toy"
    shutil.copytree(toy3, inst)
    with (inst / "instance.toml").open("a", encoding="utf-8") as f:
        f.write("\n[phasing]\nyears = 2\nbudget_growth = 0.5\n")
    r = run("solve", str(inst), "--budget-growth", "0.1")
    assert r.returncode == 0, r.stderr
    assert "2025: budget 66.0 KRW billion" in r.stdout


@pytest.mark.parametrize("flag,value", [("--budget-growth", "2"), ("--need-growth", "-0.9"),
                                        ("--revenue-growth", "nan"), ("--budget-growth", "inf")])
def test_out_of_range_rates_are_one_line_usage_errors(toy3, tmp_path, flag, value):
    r = run("solve", str(toy3), "--years", "2", flag, value, "--output", str(tmp_path / "o"))
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {flag} must be a yearly rate between -0.5 and 1")
    assert r.stderr.count("\n") == 1 and not (tmp_path / "o").exists()


def test_growth_without_years_is_refused(toy3):
    r = run("solve", str(toy3), "--need-growth", "0.1")
    assert r.returncode == 2 and "need --years or a [phasing] table" in r.stderr


def test_budget_growth_with_a_budget_list_is_refused(toy3, tmp_path):
    inst = tmp_path / "toy"
    shutil.copytree(toy3, inst)
    with (inst / "instance.toml").open("a", encoding="utf-8") as f:
        f.write("\n[phasing]\nyears = 2\nbudget = [60, 70]\n")
    r = run("solve", str(inst), "--budget-growth", "0.1")
    assert r.returncode == 2 and "--budget-growth cannot be combined" in r.stderr


def test_phased_table_units_labels_and_metrics(toy3):
    r = run("solve", str(toy3), "--years", "3", "--budget-growth", "0.1")
    assert r.returncode == 0, r.stderr
    head = r.stdout.splitlines()[0]
    for y in (2024, 2025, 2026):
        assert f"transfer {y} (KRW billion)" in head and f"level {y}" in head
    assert "T 2024" not in r.stdout
    lines = {ln.split(":")[0]: ln for ln in r.stdout.splitlines() if ln[:4].isdigit()}
    assert set(lines) == {"2024", "2025", "2026"}
    for ln in lines.values():
        assert all(w in ln for w in ("levels min", "max", "gini", "below threshold"))
    assert "vs last year: 1 up" in lines["2024"] and "vs transfer 2024" in lines["2025"]
