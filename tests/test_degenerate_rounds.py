"""Degenerate rounds that once crashed with a ZeroDivisionError deep in a driver: every own
revenue 0 (levels start at 0, the Gini's mean is 0), with a zero budget, a zero threshold or
soft thresholds. Every objective must answer (or refuse in one line), never 'internal error';
min-gini's answer, where every level can only be equal, is Gini 0 on every path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.objectives import OBJECTIVES

EQUALIZE = [str(Path(sys.executable).parent / "equalize")]
CASES = (["--threshold", "0"], ["--budget", "0", "--threshold", "0"], ["--budget", "10", "--thresholds", "soft"])


@pytest.fixture(scope="module")
def zero_own(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zero-own")
    (folder / "instance.toml").write_text('name = "zero-own"\nunit = "x"\n[budget]\ntotal = 100\n'
                                          '[threshold]\nlevel = 0.5\n')
    (folder / "regions.csv").write_text("region_id,name,population,own_revenue,fiscal_need\n"
                                        "a,A,10,0,50\nb,B,20,0,60\nc,C,5,0,40\n")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
@pytest.mark.parametrize("extra", CASES, ids=lambda c: "_".join(c))
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "lp"])
def test_zero_own_revenue_never_crashes(zero_own: Path, objective: str, extra: list[str], fast: bool) -> None:
    cmd = EQUALIZE + ["solve", str(zero_own), "-o", objective, "--format", "json", *extra]
    proc = subprocess.run(cmd + ([] if fast else ["--no-fast-path"]), capture_output=True, text=True)
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1, 2), proc.stderr
    if proc.returncode == 0:
        summary = json.loads(proc.stdout)["summary"]
        assert summary["budget_used"] <= summary["budget"] + 1e-9
        if objective == "min-gini":
            assert abs(summary["objective_value"]) <= 1e-9
